"""Cross-play: how well trained policies play with partners they never trained with.

Convention. For policies ``P_1 .. P_K`` trained on one env, cell ``(r, c)`` of the matrix is the evaluation of the
line-up in which ``P_r`` plays the *row agents* and ``P_c`` plays every other agent (the *column agents*). By
default the row agents are agent 0 alone — for a two-agent task, ``P_r``'s ``agent_0`` with ``P_c``'s ``agent_1``
— or, on an env whose spec has several agent groups (teams, e.g. simple tag's adversaries and good agents), the
first group's agents: team against team. ``row_agents`` chooses any other split. The diagonal ``(r, r)`` is
self-play: the policy alone, on the same episodes as every other cell (the line-up of ``P_r`` in both seats acts
exactly as ``P_r`` alone, :class:`~marlkit.policies.actors.Team`).

Each cell holds the mean team return (the episode's return averaged over all agents) with its 95% bootstrap
interval and IQM, and the mean return of the row agents and of the column agents; every cell is evaluated on the
same episodes (:mod:`marlkit.policies.evaluate`'s protocol). Cross-play in the sense of Hu et al. 2020
("Other-Play for Zero-Shot Coordination", ICML): the gap between the diagonal and the off-diagonal cells measures
how much a policy relies on conventions only its own training partners share.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from marlkit.diagnose.seeds import iqm
from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec
from marlkit.errors import InvalidGameError
from marlkit.policies.evaluate import evaluate_lineup, interval, team_returns
from marlkit.policies.files import Policy
from marlkit.policies.partners import Lineup, Player, check_policy_fits, player_of


def default_row_agents(spec: MultiAgentSpec) -> tuple[int, ...]:
    """The row side's agents (module docstring): the first group's with several groups, else agent 0."""
    if len(spec.groups) > 1 and len(spec.groups[0].agents) < spec.n_agents:
        return tuple(spec.groups[0].agents)
    return (0,)


@dataclass(frozen=True)
class CrossPlay:
    """A cross-play matrix (module docstring): ``K`` labels, the row agents' and column agents' names, and per cell
    ``team [K, K]`` (mean team return), ``team_ci [K, K, 2]``, ``team_iqm [K, K]``, ``row_return [K, K]`` and
    ``column_return [K, K]`` (mean return of the row / column agents)."""

    labels: tuple[str, ...]
    agents: tuple[str, ...]
    row_agents: tuple[int, ...]
    team: np.ndarray
    team_ci: np.ndarray
    team_iqm: np.ndarray
    row_return: np.ndarray
    column_return: np.ndarray
    env: str
    mode: str
    seed: int
    episodes: int

    @property
    def column_agents(self) -> tuple[int, ...]:
        return tuple(i for i in range(len(self.agents)) if i not in self.row_agents)

    @property
    def self_play(self) -> np.ndarray:
        """The diagonal ``[K]``."""
        return np.diag(self.team).copy()

    @property
    def cross_play(self) -> float:
        """The mean of the off-diagonal cells (NaN for one policy)."""
        k = len(self.labels)
        off = self.team[~np.eye(k, dtype=bool)]
        return float(off.mean()) if off.size else float("nan")

    def to_json(self) -> dict[str, Any]:
        """JSON schema ``crossplay`` (docs/cli-json.md)."""
        names = self.agents
        return {
            "schema": "crossplay",
            "env": self.env,
            "mode": self.mode,
            "seed": self.seed,
            "episodes": self.episodes,
            "labels": list(self.labels),
            "row_agents": [names[i] for i in self.row_agents],
            "column_agents": [names[i] for i in self.column_agents],
            "team_return": self.team.tolist(),
            "team_return_ci": self.team_ci.tolist(),
            "team_return_iqm": self.team_iqm.tolist(),
            "row_return": self.row_return.tolist(),
            "column_return": self.column_return.tolist(),
            "self_play_mean": float(self.self_play.mean()),
            "cross_play_mean": None if len(self.labels) < 2 else self.cross_play,
        }

    def lines(self) -> list[str]:
        """A text table of the mean team returns with intervals."""
        rows = ", ".join(self.agents[i] for i in self.row_agents)
        cols = ", ".join(self.agents[i] for i in self.column_agents)
        out = [
            f"cross-play on {self.env}: row policy plays {rows}; column policy plays {cols}; "
            f"{self.episodes} episodes per cell, {self.mode}, evaluation seed {self.seed}",
            "mean team return [95% bootstrap interval]",
        ]
        width = max(len(x) for x in self.labels)
        cells = [
            [
                f"{self.team[r, c]:.3f} [{self.team_ci[r, c, 0]:.3f}, {self.team_ci[r, c, 1]:.3f}]"
                for c in range(len(self.labels))
            ]
            for r in range(len(self.labels))
        ]
        cell = max(max(len(x) for x in row) for row in cells)
        head = " " * width + "  " + "  ".join(f"{i + 1:>{cell}}" for i in range(len(self.labels)))
        out.append(head)
        for r, label in enumerate(self.labels):
            out.append(f"{label:<{width}}  " + "  ".join(f"{x:>{cell}}" for x in cells[r]))
        if not np.allclose(self.row_return, self.column_return):  # not a shared reward: show each side's return
            sides = [
                [f"{self.row_return[r, c]:.3f} / {self.column_return[r, c]:.3f}" for c in range(len(self.labels))]
                for r in range(len(self.labels))
            ]
            side = max(max(len(x) for x in row) for row in sides)
            out.append("mean return of the row agents / of the column agents")
            out.append(" " * width + "  " + "  ".join(f"{i + 1:>{side}}" for i in range(len(self.labels))))
            for r, label in enumerate(self.labels):
                out.append(f"{label:<{width}}  " + "  ".join(f"{x:>{side}}" for x in sides[r]))
        out.append("columns: " + "; ".join(f"{i + 1} = {x}" for i, x in enumerate(self.labels)))
        if len(self.labels) > 1:
            out.append(f"self-play mean {self.self_play.mean():.3f}; cross-play mean {self.cross_play:.3f}")
        return out

    def plot(self, path: str | os.PathLike[str] | None = None, ax: Any = None) -> Any:
        """A heat map of the mean team returns (cells annotated with mean and interval); saved to ``path`` when
        given. Returns the matplotlib figure."""
        import matplotlib

        if ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        k = len(self.labels)
        if ax is None:
            fig, ax = plt.subplots(figsize=(1.8 + 1.6 * k, 1.4 + 1.3 * k))
        else:
            fig = ax.figure
        image = ax.imshow(self.team, cmap="viridis")
        fig.colorbar(image, ax=ax, label="mean team return")
        ax.set_xticks(range(k), self.labels, rotation=30, ha="right")
        ax.set_yticks(range(k), self.labels)
        rows = ", ".join(self.agents[i] for i in self.row_agents)
        ax.set_ylabel(f"row policy ({rows})")
        ax.set_xlabel("column policy (the other agents)")
        ax.set_title(f"cross-play on {self.env.split()[0]} ({self.mode})")
        middle = (np.nanmax(self.team) + np.nanmin(self.team)) / 2
        for r in range(k):
            for c in range(k):
                colour = "black" if self.team[r, c] > middle else "white"
                ax.text(
                    c, r, f"{self.team[r, c]:.2f}\n[{self.team_ci[r, c, 0]:.2f}, {self.team_ci[r, c, 1]:.2f}]",
                    ha="center", va="center", fontsize=8, color=colour,
                )  # fmt: skip
        fig.tight_layout()
        if path is not None:
            from marlkit.atomic import write_with

            write_with(Path(path), lambda handle: fig.savefig(handle, format=Path(path).suffix[1:] or "png"))
        return fig


def crossplay(
    env: MultiAgentEnv,
    players: Sequence[Player | Policy],
    *,
    row_agents: Sequence[int] | None = None,
    episodes: int = 100,
    seed: int = 0,
    mode: str = "stochastic",
    env_label: str | None = None,
) -> CrossPlay:
    """The cross-play matrix of ``players`` on ``env`` (module docstring): trained policies (each checked against
    the env: :func:`marlkit.policies.partners.check_policy_fits`) or players (fixed policies, human models).

    Raises:
        InvalidGameError: fewer than one player, bad row agents (none, all, out of range), bad episodes or mode.
    """
    spec = env.spec
    if not players:
        raise InvalidGameError("--crossplay: give at least one policy")
    for p in players:
        if isinstance(p, Policy):
            check_policy_fits(p, env)
    seats = [player_of(p) if isinstance(p, Policy) else p for p in players]
    rows = default_row_agents(spec) if row_agents is None else tuple(sorted({int(a) for a in row_agents}))
    if not rows or len(rows) >= spec.n_agents or any(not 0 <= a < spec.n_agents for a in rows):
        raise InvalidGameError(
            f"cross-play: the row agents {list(rows)} must be some, not all, of agents 0..{spec.n_agents - 1}"
        )
    columns = [i for i in range(spec.n_agents) if i not in rows]
    k = len(seats)
    team = np.zeros((k, k))
    ci = np.zeros((k, k, 2))
    team_iqm = np.zeros((k, k))
    row_return = np.zeros((k, k))
    column_return = np.zeros((k, k))
    for r, row in enumerate(seats):
        for c, column in enumerate(seats):
            seated = Lineup((row, column), tuple(0 if i in rows else 1 for i in range(spec.n_agents)))
            returns, _ = evaluate_lineup(env, seated, episodes=episodes, seed=seed, mode=mode)
            episode_team = team_returns(returns)
            team[r, c] = episode_team.mean()
            ci[r, c] = interval(episode_team)
            team_iqm[r, c] = iqm(episode_team)
            row_return[r, c] = np.asarray(returns[:, list(rows)], np.float64).mean()
            column_return[r, c] = np.asarray(returns[:, columns], np.float64).mean()
    return CrossPlay(
        tuple(p.label for p in seats),
        spec.agent_names,
        rows,
        team,
        ci,
        team_iqm,
        row_return,
        column_return,
        env_label or spec.name,
        mode,
        int(seed),
        int(episodes),
    )


__all__ = ["CrossPlay", "crossplay", "default_row_agents"]
