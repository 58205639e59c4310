"""Non-stationarity made visible: how fast each agent's environment (the other agents) moves while it learns.

From agent i's point of view the other learners are part of its environment, which therefore changes as they
learn — the moving-target problem of MARL (Albrecht, Christianos & Schäfer 2024, *Multi-Agent Reinforcement
Learning*, §5.4.1; Hernandez-Leal et al. 2017, "A survey of learning in multiagent environments: dealing with
non-stationarity", arXiv:1707.09183). For every seed, logging point t and agent i this module reports

* ``others_movement[t, i] = Σ_s w(s) d(π_{-i}^t(s), π_{-i}^{t-1}(s))`` — the distance between successive
  snapshots of the *other* agents' joint policy π_{-i} (the product of their behaviour policies), under a distance
  of :mod:`marlkit.diagnose.distances` and state weights w;
* ``own_movement[t, i]`` — the same for agent i's own policy;
* ``own_return[t, i]`` — agent i's episode return in window t (``History.episode_return``), its learning curve.

The first logging point has no predecessor, so its movements are NaN. Movements are per logging interval, not per
step: with evenly spaced logging points (the training loop's default) they are comparable along z.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from marlkit.diagnose.distances import Distance, joint_from_policy, resolve_distance, state_weights, weighted_distance
from marlkit.errors import InvalidGameError
from marlkit.games import NormalFormGame, StochasticGame

if TYPE_CHECKING:
    from marlkit.history import History


def _as_list(x: np.ndarray) -> list:
    """Nested lists with NaN as None (JSON has no NaN)."""
    a = np.asarray(x, dtype=np.float64)
    return np.where(np.isnan(a), np.array(None, dtype=object), a).tolist()


@dataclass(frozen=True, eq=False)
class Nonstationarity:
    """Per seed, logging point and agent: the others' and the agent's own policy movement, and its return.

    ``z [T]`` environment steps at the logging points; ``others_movement``, ``own_movement`` and ``own_return``
    are ``[N, T, n]`` (movements NaN at t = 0); ``distance`` names the distance; ``weights [S]`` the state weights.
    """

    z: np.ndarray
    others_movement: np.ndarray
    own_movement: np.ndarray
    own_return: np.ndarray
    distance: str
    weights: np.ndarray | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "distance": self.distance,
            "weights": None if self.weights is None else np.asarray(self.weights, dtype=np.float64).tolist(),
            "z": np.asarray(self.z, dtype=np.float64).tolist(),
            "others_movement": _as_list(self.others_movement),
            "own_movement": _as_list(self.own_movement),
            "own_return": _as_list(self.own_return),
        }


def _successive(snapshots: np.ndarray, weights: np.ndarray, distance: Distance) -> np.ndarray:
    """``[N, T]`` weighted distance between snapshots t and t-1 of ``[N, T, S, K]``; NaN at t = 0."""
    moves = weighted_distance(snapshots[:, 1:], snapshots[:, :-1], weights, distance)
    return np.concatenate([np.full((snapshots.shape[0], 1), np.nan), moves], axis=1)


def nonstationarity(
    history: History,
    game: NormalFormGame | StochasticGame,
    *,
    distance: str | Distance = "tv",
    weights: str | np.ndarray | None = None,
) -> Nonstationarity:
    """Movement of the other agents' and each agent's own policy between logging points (module docstring).

    Args:
        history: a :class:`marlkit.history.History` recorded on ``game``.
        game: the game.
        distance: a name of :data:`marlkit.diagnose.distances.DISTANCES` or a callable.
        weights: state weights (a name of :data:`~marlkit.diagnose.distances.STATE_WEIGHTS` or an array);
            ``None`` means :func:`~marlkit.diagnose.distances.default_weights` (uniform for one state, visitation
            for a multi-state game).
    """
    name, fn = resolve_distance(distance)
    w = state_weights(game, weights, history)  # None: default_weights
    policy = np.asarray(history.policy, dtype=np.float64)  # [N, T, n, S, A_max]
    num_actions = tuple(game.num_actions)
    n = len(num_actions)
    if policy.ndim != 5 or policy.shape[2] != n or policy.shape[3] != w.shape[0]:
        raise InvalidGameError(
            f"history: policy has shape {policy.shape}, expected [N, T, n={n}, S={w.shape[0]}, A_max] for this game"
        )
    others = np.empty(policy.shape[:3])
    own = np.empty(policy.shape[:3])
    for i in range(n):
        rest = [j for j in range(n) if j != i]
        others_joint = joint_from_policy(policy[:, :, rest], [num_actions[j] for j in rest])  # [N, T, S, J_-i]
        others[:, :, i] = _successive(others_joint, w, fn)
        own[:, :, i] = _successive(policy[:, :, i, :, : num_actions[i]], w, fn)
    return Nonstationarity(
        z=np.asarray(history.steps),
        others_movement=others,
        own_movement=own,
        own_return=np.asarray(history.episode_return, dtype=np.float64),
        distance=name,
        weights=w,
    )


__all__ = ["Nonstationarity", "nonstationarity"]
