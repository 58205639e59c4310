"""The evaluation protocol of trained policies: fixed evaluation episodes, per-episode returns (and costs), mean and
IQM with bootstrap intervals.

Protocol (docs/policies.md):

* **Episodes and keys.** ``episodes`` whole episodes run in parallel in one compiled program
  (:func:`marlkit.train.evaluate.evaluate`, which this module calls — no second rollout loop). Every random draw
  is fixed by the evaluation seed alone (:func:`marlkit.train.evaluate.episode_keys`): the key is
  ``fold_in(PRNGKey(seed), 0x5EED)``, split into one reset key per episode and, per step ``t``, one acting key
  (shared by the episodes' batch) and one env key per episode. Training never draws from this salted key, so
  evaluation is independent of training; every policy and line-up evaluated with one seed sees the same episodes
  (common random numbers: differences between policies are not env noise).
* **Mode.** ``stochastic``: every agent samples from its learner's policy (what it trained with — a value-based
  learner keeps its exploration); ``greedy``: every agent takes its most probable legal action.
* **Return.** An episode's return is the undiscounted sum of each agent's rewards up to and including the
  episode's first ``done``; on a constrained task its cost likewise sums ``info["cost"]`` (``[n, m]``). The *team
  return* of an episode is its return averaged over the agents.
* **Statistics** (over the episodes of one line-up): the mean and the interquartile mean (IQM, Agarwal et al. 2021)
  of the team return, each with a 95% percentile-bootstrap interval (Efron & Tibshirani 1993, §13.3; 2000
  resamples, resampling seed 0), through :func:`marlkit.diagnose.seeds.iqm` / :func:`~marlkit.diagnose.seeds.
  bootstrap_ci`; the mean return of each agent with its interval; the mean cost per agent and constraint. Several
  training seeds of one run are evaluated on the same episodes, each a row, and pooled: the IQM over the seeds'
  mean team returns with a bootstrap interval over seeds (rliable's recommendation for few runs).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from marlkit.atomic import write_with
from marlkit.diagnose.seeds import bootstrap_ci, iqm
from marlkit.envs.base import MultiAgentEnv
from marlkit.errors import InvalidGameError
from marlkit.policies.partners import Lineup
from marlkit.train.evaluate import MODES, evaluate

CONFIDENCE = 0.95
RESAMPLES = 2000


def interval(values: np.ndarray, statistic: Any = np.mean) -> list[float]:
    """The 95% percentile-bootstrap interval ``[low, high]`` of ``statistic`` over ``values`` (resampling seed 0)."""
    low, high = bootstrap_ci(np.asarray(values, np.float64), statistic, CONFIDENCE, RESAMPLES, 0)
    return [low, high]


def summarise(values: np.ndarray) -> dict[str, Any]:
    """``{"mean", "mean_ci", "iqm", "iqm_ci"}`` of a sample (module docstring)."""
    x = np.asarray(values, np.float64)
    return {"mean": float(x.mean()), "mean_ci": interval(x), "iqm": iqm(x), "iqm_ci": interval(x, iqm)}


def team_returns(returns: np.ndarray) -> np.ndarray:
    """``returns [..., n]`` averaged over the agents, in float64 (the team return of each episode)."""
    return np.asarray(returns, np.float64).mean(axis=-1)


def evaluate_lineup(
    env: MultiAgentEnv, players: Lineup, *, episodes: int = 100, seed: int = 0, mode: str = "stochastic"
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-episode returns ``[episodes, n]`` (and costs ``[episodes, n, m]`` on a constrained task, else None) of a
    line-up on ``env`` (module docstring)."""
    if mode not in MODES:
        raise InvalidGameError(f"--mode: expected one of {list(MODES)}, got {mode!r}")
    team: Any = players.team
    result = evaluate(env, team, players.state, episodes=episodes, key=seed, mode=mode)
    return result.returns, result.costs


@dataclass(frozen=True)
class EvaluationRow:
    """One line-up's episodes: who played each agent (``seats``), ``returns [episodes, n]``, ``costs [episodes, n,
    m]`` or None."""

    label: str
    seats: tuple[str, ...]
    returns: np.ndarray
    costs: np.ndarray | None

    @property
    def team_returns(self) -> np.ndarray:
        """Each episode's return averaged over the agents ``[episodes]`` (float64)."""
        return team_returns(self.returns)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "label": self.label,
            "seats": list(self.seats),
            "team_return": summarise(self.team_returns),
            "agents": [{"mean": float(r.mean()), "mean_ci": interval(r)} for r in self.returns.T],
        }
        if self.costs is not None:
            data["costs"] = self.costs.mean(axis=0).tolist()  # [n, m]
        return data


@dataclass(frozen=True)
class PolicyEvaluation:
    """The result of ``marlkit eval``: one row per evaluated line-up (a run's seeds, or one policy file), the
    protocol's settings, and the pooled statistics over rows (module docstring)."""

    env: str
    agents: tuple[str, ...]
    mode: str
    seed: int
    episodes: int
    rows: tuple[EvaluationRow, ...]
    notes: tuple[str, ...] = ()

    def pooled(self) -> dict[str, Any] | None:
        """IQM over the rows' mean team returns with a bootstrap interval over rows (None for one row)."""
        if len(self.rows) < 2:
            return None
        means = np.asarray([r.team_returns.mean() for r in self.rows])
        return {"rows": len(self.rows), "iqm": iqm(means), "iqm_ci": interval(means, iqm), "mean": float(means.mean())}

    def to_json(self) -> dict[str, Any]:
        """JSON schema ``policy-evaluation`` (docs/cli-json.md)."""
        return {
            "schema": "policy-evaluation",
            "env": self.env,
            "agents": list(self.agents),
            "mode": self.mode,
            "seed": self.seed,
            "episodes": self.episodes,
            "rows": [r.to_json() for r in self.rows],
            "pooled": self.pooled(),
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """What the CLI prints."""
        out = [
            f"{self.env}: {self.episodes} episodes per line-up, {self.mode} actions, evaluation seed {self.seed} "
            "(independent of training); team return = mean over agents, 95% bootstrap intervals"
        ]
        for row in self.rows:
            data = row.to_json()
            team = data["team_return"]
            seats = ", ".join(f"{a}={s}" for a, s in zip(self.agents, row.seats, strict=True))
            out.append(f"  {row.label}  [{seats}]")
            out.append(
                f"    team return  mean {team['mean']:.3f} [{team['mean_ci'][0]:.3f}, {team['mean_ci'][1]:.3f}]"
                f"  IQM {team['iqm']:.3f} [{team['iqm_ci'][0]:.3f}, {team['iqm_ci'][1]:.3f}]"
            )
            per_agent = "  ".join(
                f"{a} {s['mean']:.3f} [{s['mean_ci'][0]:.3f}, {s['mean_ci'][1]:.3f}]"
                for a, s in zip(self.agents, data["agents"], strict=True)
            )
            out.append(f"    per agent    {per_agent}")
            if "costs" in data:
                costs = "  ".join(
                    f"{a} {np.round(c, 3).tolist()}" for a, c in zip(self.agents, data["costs"], strict=True)
                )
                out.append(f"    mean cost    {costs}")
        pooled = self.pooled()
        if pooled is not None:
            out.append(
                f"  over {pooled['rows']} training seeds: IQM of the seeds' mean team returns {pooled['iqm']:.3f} "
                f"[{pooled['iqm_ci'][0]:.3f}, {pooled['iqm_ci'][1]:.3f}]"
            )
        out.extend(f"note: {note}" for note in self.notes)
        return out

    def write_episodes(self, path: str | os.PathLike[str]) -> Path:
        """Every episode's returns (and costs) to ``path`` (atomic): ``.npz`` — arrays ``returns [R, episodes, n]``,
        ``costs [R, episodes, n, m]`` (constrained tasks), ``labels [R]``, ``seats [R, n]``, ``agents [n]`` and
        ``meta`` (this result's settings as a JSON string); any other suffix — JSON lines, one per episode:
        ``{"row", "label", "seats", "episode", "returns" [n], "team_return", "costs" [n][m] (constrained),
        "env", "mode", "seed"}``."""
        target = Path(path)
        if target.suffix == ".npz":
            arrays: dict[str, Any] = {
                "returns": np.stack([r.returns for r in self.rows]).astype(np.float32),
                "labels": np.asarray([r.label for r in self.rows]),
                "seats": np.asarray([list(r.seats) for r in self.rows]),
                "agents": np.asarray(self.agents),
                "meta": np.asarray(json.dumps({k: v for k, v in self.to_json().items() if k != "rows"})),
            }
            if self.rows and self.rows[0].costs is not None:
                arrays["costs"] = np.stack([r.costs for r in self.rows if r.costs is not None]).astype(np.float32)

            def write_npz(handle: IO[Any]) -> None:
                np.savez(handle, **arrays)

            return write_with(target, write_npz)
        lines = []
        for k, row in enumerate(self.rows):
            for e in range(row.returns.shape[0]):
                record: dict[str, Any] = {
                    "row": k,
                    "label": row.label,
                    "seats": list(row.seats),
                    "episode": e,
                    "returns": row.returns[e].tolist(),
                    "team_return": float(row.team_returns[e]),
                    "env": self.env,
                    "mode": self.mode,
                    "seed": self.seed,
                }
                if row.costs is not None:
                    record["costs"] = row.costs[e].tolist()
                lines.append(json.dumps(record))
        text = "\n".join(lines) + "\n"

        def write_jsonl(handle: IO[Any]) -> None:
            handle.write(text.encode("utf-8"))

        return write_with(target, write_jsonl)


def evaluate_lineups(
    env: MultiAgentEnv,
    lineups: Sequence[tuple[str, Lineup]],
    *,
    env_label: str | None = None,
    episodes: int = 100,
    seed: int = 0,
    mode: str = "stochastic",
) -> PolicyEvaluation:
    """Evaluate each ``(label, line-up)`` on the same episodes of ``env`` (module docstring); a note for every
    trained policy evaluated on an env of another name than its own."""
    from marlkit.policies.spec import other_env_note

    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise InvalidGameError(f"--episodes must be an integer >= 1, got {episodes!r}")
    rows = []
    notes: dict[str, None] = {}
    for label, players in lineups:
        for player in players.players:
            if player.policy is not None:
                note = other_env_note(player.policy.spec, env.spec, f"policy {player.label}")
                if note:
                    notes[note] = None
        returns, costs = evaluate_lineup(env, players, episodes=episodes, seed=seed, mode=mode)
        rows.append(EvaluationRow(label, players.labels(), returns, costs))
    return PolicyEvaluation(
        env_label or env.spec.name, env.spec.agent_names, mode, int(seed), episodes, tuple(rows), tuple(notes)
    )


def evaluate_policy(
    policy: Any,
    env: MultiAgentEnv | None = None,
    *,
    episodes: int = 100,
    seed: int = 0,
    mode: str | None = None,
) -> PolicyEvaluation:
    """Evaluate one :class:`~marlkit.policies.files.Policy` (every agent) on ``env`` (default: the env it was
    trained on), in ``mode`` (default: the policy's)."""
    from marlkit.policies.partners import check_policy_fits, lineup, player_of

    env = policy.make_env() if env is None else env
    check_policy_fits(policy, env)
    players = lineup(env.spec.n_agents, player_of(policy), ())
    return evaluate_lineups(env, [(policy.label, players)], episodes=episodes, seed=seed, mode=mode or policy.mode)


__all__ = [
    "CONFIDENCE",
    "RESAMPLES",
    "EvaluationRow",
    "PolicyEvaluation",
    "evaluate_lineup",
    "evaluate_lineups",
    "evaluate_policy",
    "interval",
    "summarise",
    "team_returns",
]
