"""The end of a learning run in game-theoretic terms: final and average policies, returns, and their NashConv.

The *average policy* of an agent is its learner's own average (e.g. WoLF-PHC's π̄, fictitious play's empirical
play) when the learner keeps one, and otherwise the empirical frequency of the agent's actions per state over the
whole run (the "empirical distribution" of Albrecht et al. 2024, §5.2) — which one is used is reported per agent.
In states an agent never visited the empirical frequency is undefined and the final policy stands in for it.

NashConv (Lanctot et al. 2017) is computed exactly on the game: on the stage game for a normal-form game, and on
the stochastic game (stationary policies, exact best responses) otherwise. On a constrained game it is the
constrained NashConv (each agent's best *feasible* deviation, :func:`marlkit.solve.constrained.constrained_nash_conv`)
plus the policy's own violations ``Σ max(0, J - c)``: the unconstrained NashConv would count the gain of breaking
a limit (``nash_conv_kind`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marlkit.diagnose.distances import playable
from marlkit.diagnose.solution_sets import ConstrainedNashConvSet, NashConvSet
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.solve.best_response import nash_conv

Game = NormalFormGame | StochasticGame


@dataclass(frozen=True, eq=False)
class LearningSummary:
    """Per seed: final policy, average policy, mean return over the run's tail, NashConv of both policies."""

    final_policy: np.ndarray  # [N, n, S, A_max]
    average_policy: np.ndarray  # [N, n, S, A_max]
    average_kind: tuple[str, ...]  # per agent: "learner average" | "empirical frequency"
    tail_return: np.ndarray  # [N, n]: mean episode return over the last tail_fraction of logging points
    nash_conv_final: np.ndarray  # [N]
    nash_conv_average: np.ndarray  # [N]
    tail_fraction: float
    nash_conv_kind: str = "NashConv"

    def to_dict(self) -> dict[str, object]:
        return {
            "final_policy": self.final_policy.tolist(),
            "average_policy": self.average_policy.tolist(),
            "average_kind": list(self.average_kind),
            "tail_return": self.tail_return.tolist(),
            "tail_fraction": self.tail_fraction,
            "nash_conv_final": self.nash_conv_final.tolist(),
            "nash_conv_average": self.nash_conv_average.tolist(),
            "nash_conv_kind": self.nash_conv_kind,
        }


def empirical_marginals(joint_counts: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Per-agent action frequencies ``[N, n, S, A_max]`` from cumulative joint counts ``[N, S, A_1..A_n]``."""
    n = fallback.shape[1]
    out = fallback.copy()
    counts = joint_counts.astype(np.float64)
    for i in range(n):
        others = tuple(2 + j for j in range(n) if j != i)
        marginal = counts.sum(axis=others)  # [N, S, A_i]
        totals = marginal.sum(axis=-1, keepdims=True)
        visited = totals[..., 0] > 0
        frequencies = marginal / np.where(totals > 0, totals, 1.0)
        m = marginal.shape[-1]
        out[:, i, :, :m] = np.where(visited[..., None], frequencies, fallback[:, i, :, :m])
    return out


def _nash_conv(game: Game, policy: np.ndarray) -> float:
    if isinstance(game, NormalFormGame):
        profile = [policy[i, 0, :m] / policy[i, 0, :m].sum() for i, m in enumerate(game.num_actions)]
        return float(nash_conv(game, profile))
    judge = ConstrainedNashConvSet(game) if game.is_constrained else NashConvSet(game)
    return judge.point_gap(playable(game, policy))


def tail_return(history, tail_fraction: float = 0.1) -> np.ndarray:
    """Mean episode return per seed and agent ``[N, n]`` over the last ``tail_fraction`` of logging points, weighted
    by the episodes each window finished (NaN where none did). Needs no game: deep runs on tasks report it too."""
    tail = max(1, round(history.num_logs * tail_fraction))
    returns = history.episode_return[:, -tail:]
    weights = history.episode_count[:, -tail:, None] * np.isfinite(returns)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(np.nan_to_num(returns) * weights, axis=1) / weights.sum(axis=1)


def summarize(history, game: Game, tail_fraction: float = 0.1) -> LearningSummary:
    """Summarise a History of a run on ``game`` (see the module docstring)."""
    final = np.asarray(history.policy[:, -1], dtype=np.float64)
    empirical = empirical_marginals(history.joint_counts[:, -1], final)
    has_average = np.asarray(history.has_average_policy, dtype=bool)
    average = np.where(has_average[None, :, None, None], np.nan_to_num(history.average_policy[:, -1]), empirical)
    kinds = tuple("learner average" if flag else "empirical frequency" for flag in has_average)
    return LearningSummary(
        final_policy=final,
        average_policy=average,
        average_kind=kinds,
        tail_return=tail_return(history, tail_fraction),
        nash_conv_final=np.array([_nash_conv(game, p) for p in final]),
        nash_conv_average=np.array([_nash_conv(game, p) for p in average]),
        tail_fraction=tail_fraction,
        nash_conv_kind=nash_conv_kind(game),
    )


def nash_conv_kind(game: Game) -> str:
    """What the summary's NashConv is on ``game`` (see the module docstring)."""
    constrained = isinstance(game, StochasticGame) and game.is_constrained
    return "constrained NashConv plus violations" if constrained else "NashConv"
