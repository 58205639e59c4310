"""The game an offline learner estimates from data, and its confidence set (a reward box around the estimate).

From a dataset (:mod:`marlkit.offline.dataset`) with counts N(s, a):

* rewards: R̂_i(s, a) = the mean logged reward of agent i at (s, a) (certainty equivalence; Wu et al. 2023, §3);
* transitions: P̂(s'|s, a) = #(s, a, s', not done) / N(s, a) — the maximum-likelihood estimate, with the mass of
  terminating steps removed (their continuation is 0);
* the confidence set (Hoeffding-style, as Wu, McMahan, Zhu & Xie, AAAI 2023, §4 "uncertainty-aware learners"):

      CI(s, a) = { R : |R_i(s, a) - R̂_i(s, a)| <= ρ / sqrt(N(s, a)) }   for every agent i,

  a product of intervals (a box). ρ = 0 is the certainty-equivalence learner (the set is the point R̂).

Unvisited (s, a) (N = 0): the estimate is R̂ = 0 and P̂(·|s, a) = 0 (the step ends the episode), and the interval
is unbounded when ρ > 0 — nothing is known — unless a reward bound b is given, which makes it [-b, b]. Transitions
are taken at their MLE: this module (and the attack built on it) does not put a confidence set on P, which Wu et
al. also consider; see docs/attacks.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.offline.dataset import DatasetError, OfflineDataset


@dataclass(frozen=True, eq=False)
class EstimatedGame:
    """A game estimated from data with its reward box; shapes flatten joint actions (J = Π_i A_i, C order).

    Attributes:
        means: ``[n, S, J]`` R̂ (0 where unvisited).
        counts: ``[S, J]`` N(s, a).
        radius: ``[S, J]`` half-width of every agent's interval at (s, a) (``inf`` where unbounded).
        transitions: ``[S, J, S]`` P̂ of continuing (rows of unvisited (s, a) are 0).
        gamma: the discount.
        num_actions: actions per agent.
        rho: the confidence radius ρ.
        zero_sum: two agents with zero-sum data (agent 1's rewards are agent 0's negated).
    """

    means: np.ndarray
    counts: np.ndarray
    radius: np.ndarray
    transitions: np.ndarray
    gamma: float
    num_actions: tuple[int, ...]
    rho: float
    zero_sum: bool

    @property
    def n_players(self) -> int:
        return len(self.num_actions)

    @property
    def num_states(self) -> int:
        return int(self.counts.shape[0])

    @property
    def num_joint_actions(self) -> int:
        return int(self.counts.shape[1])

    def visited_states(self) -> np.ndarray:
        """``[S]`` bool: states with at least one logged step (the states a learner decides in)."""
        return self.counts.sum(axis=1) > 0

    def lower(self) -> np.ndarray:
        """``[n, S, J]`` lower confidence bounds R̂ - radius (``-inf`` where unbounded)."""
        return self.means - self.radius[None]


def check_radius(rho: float, name: str = "radius") -> float:
    """A confidence radius: a finite number >= 0."""
    if isinstance(rho, bool) or not isinstance(rho, int | float | np.floating) or not (0 <= rho < np.inf):
        raise InvalidGameError(f"{name}: expected a finite number >= 0, got {rho!r}")
    return float(rho)


def confidence_radius(counts: np.ndarray, rho: float, bound: float | None = None) -> np.ndarray:
    """ρ / sqrt(N) where N > 0; where N = 0: ``bound`` if given, else ``inf`` (ρ > 0) or 0 (ρ = 0)."""
    N = np.asarray(counts, dtype=np.float64)
    unseen = np.inf if rho > 0 else 0.0
    if bound is not None:
        unseen = check_radius(bound, "reward bound")
    return np.where(N > 0, rho / np.sqrt(np.maximum(N, 1.0)), unseen)


def estimate(dataset: OfflineDataset, rho: float = 0.0, *, bound: float | None = None) -> EstimatedGame:
    """The estimated game and its reward box of radius ρ / sqrt(N(s, a)) (module docstring)."""
    rho = check_radius(rho)
    if dataset.num_steps == 0:
        raise DatasetError("dataset: no logged steps; record some before estimating a game from it")
    S, J, n = dataset.num_states, dataset.num_joint_actions, dataset.n_players
    counts = dataset.counts().reshape(S, J)
    return EstimatedGame(
        means=dataset.reward_means().reshape(n, S, J),
        counts=counts,
        radius=confidence_radius(counts, rho, bound),
        transitions=dataset.transitions().reshape(S, J, S),
        gamma=dataset.gamma,
        num_actions=dataset.num_actions,
        rho=rho,
        zero_sum=dataset.zero_sum,
    )


__all__ = ["EstimatedGame", "check_radius", "confidence_radius", "estimate"]
