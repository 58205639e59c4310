"""Distances between probability vectors, product joints of per-agent policies, and state-weighted distances.

Every distance in :data:`DISTANCES` maps two arrays of probability vectors ``p, q [..., K]`` (the last axis is the
distribution; leading axes broadcast) to ``[...]``. The argument order is **(learned, target)**: the diagnostics
always pass what learning produced first and the solution it is compared with second. Only KL is asymmetric.

* ``"tv"`` — total variation ``½ Σ_k |p_k - q_k|`` in [0, 1] (Levin, Peres & Wilmer 2009, *Markov Chains and
  Mixing Times*, Prop. 4.2).
* ``"l1"`` — ``Σ_k |p_k - q_k|`` in [0, 2] (= 2 TV).
* ``"l2"`` — Euclidean ``(Σ_k (p_k - q_k)²)^½`` in [0, √2].
* ``"kl"`` — Kullback-Leibler divergence of the *learned* distribution from the *target*,
  ``KL(q ‖ p) = Σ_k q_k ln(q_k / p_k)`` in nats (Cover & Thomas 2006, *Elements of Information Theory*, §2.3),
  i.e. KL(target ‖ learned). This direction is finite whenever the learned distribution covers the target's
  support, so a mixed policy approaching a pure equilibrium gets a finite divergence that tends to 0. Terms with
  q_k = 0 are 0 (0 ln 0 = 0); the learned p is clipped below at :data:`KL_FLOOR`, which caps the divergence at
  ``ln(1 / KL_FLOOR)`` ≈ 27.6 nats instead of +inf when the learned policy drops a target action. Not a metric.
* ``"js"`` — Jensen-Shannon divergence ``½ KL(p ‖ m) + ½ KL(q ‖ m)``, m = (p + q)/2, in nats, in [0, ln 2]
  (Lin 1991, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37:145-151, Thm. 4).
  Symmetric and finite for any pair; its square root is a metric (Endres & Schindelin 2003).

Negative entries (float32 rounding in a learner's policy) are clipped to 0 for KL and JS; TV, L1 and L2 use the
values as given. NaN propagates (an unvisited state's empirical distribution is NaN; see
:func:`weighted_distance`).

A *joint distribution per state* is ``[..., S, J]`` with J = Π_i A_i in C order of (A_1, ..., A_n), the order of
``History.joint_counts.reshape(N, T, S, -1)``. States are weighted by :func:`state_weights`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from marlkit.errors import InvalidGameError, UnknownNameError
from marlkit.games import NormalFormGame, StochasticGame, num_states

if TYPE_CHECKING:
    from marlkit.history import History

Distance = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(learned [..., K], target [..., K]) -> [...]."""

KL_FLOOR = 1e-12
"""Floor on the learned probabilities inside KL(target ‖ learned): caps the divergence at ln(1e12) ≈ 27.6 nats."""


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Total variation distance ``½ Σ_k |p_k - q_k|`` over the last axis."""
    return 0.5 * l1(p, q)


def l1(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """L1 distance ``Σ_k |p_k - q_k|`` over the last axis."""
    return np.abs(np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)).sum(axis=-1)


def l2(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Euclidean distance over the last axis."""
    d = np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)
    return np.sqrt((d * d).sum(axis=-1))


def _clean(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return np.where(p < 0.0, 0.0, p)  # keeps NaN (np.clip would too, this states it)


def kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(target ‖ learned) = ``Σ_k q_k ln(q_k / max(p_k, KL_FLOOR))`` in nats; ``p`` learned, ``q`` target."""
    from scipy.special import rel_entr  # on first use: the CLI's help lists this registry

    p, q = _clean(p), _clean(q)
    return rel_entr(q, np.maximum(p, KL_FLOOR)).sum(axis=-1)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in nats (symmetric, in [0, ln 2])."""
    from scipy.special import rel_entr  # on first use: the CLI's help lists this registry

    p, q = _clean(p), _clean(q)
    m = 0.5 * (p + q)
    return 0.5 * (rel_entr(p, m).sum(axis=-1) + rel_entr(q, m).sum(axis=-1))


DISTANCES: dict[str, Distance] = {
    "tv": total_variation,
    "l1": l1,
    "l2": l2,
    "kl": kl,
    "js": jensen_shannon,
}
"""The built-in distances by name (see the module docstring for each one's definition and range)."""


DISTANCE_BOUNDS: dict[str, float] = {
    "tv": 1.0,
    "l1": 2.0,
    "l2": float(np.sqrt(2.0)),
    "kl": float(np.log(1.0 / KL_FLOOR)),
    "js": float(np.log(2.0)),
}
"""The largest value each built-in distance takes between two probability vectors (point masses on different
outcomes reach it; KL's is its cap, ``ln(1 / KL_FLOOR)``, as q ln q <= 0). A state-weighted mean of such distances
(:func:`weighted_distance`) and a distance to a set (a minimum over members, or to a projection) are bounded alike."""


def builtin_name(name: str, fn: Distance) -> str | None:
    """``name`` when ``fn`` is the built-in function registered under it (by identity), else ``None``."""
    return name if DISTANCES.get(name) is fn else None


def resolve_distance(distance: str | Distance) -> tuple[str, Distance]:
    """``(name, function)`` for a built-in name or a user callable ``f(learned [..., K], target [..., K]) -> [...]``.

    A built-in function object (e.g. :func:`total_variation`) is mapped back to its registry name by identity, so
    solvers keyed on the name (the exact LP projection for ``"tv"`` / ``"l1"``) recognise it. A user callable is
    named by its ``__name__`` (or its ``repr`` when it has none), with `` (user)`` appended when that collides with
    a built-in name, so a user function called ``l1`` is never taken for the built-in; it must broadcast over
    leading axes like the built-ins.
    """
    if isinstance(distance, str):
        try:
            return distance, DISTANCES[distance]
        except KeyError:
            raise UnknownNameError(
                f"distance: unknown {distance!r}; choose one of {', '.join(DISTANCES)} or pass a callable "
                "f(learned, target) over the last axis"
            ) from None
    if callable(distance):
        for name, builtin in DISTANCES.items():
            if distance is builtin:
                return name, builtin
        name = str(getattr(distance, "__name__", repr(distance)))
        return (f"{name} (user)" if name in DISTANCES else name), distance
    raise UnknownNameError(
        f"distance: expected a name ({', '.join(DISTANCES)}) or a callable f(learned, target), "
        f"got {type(distance).__name__}"
    )


# ------------------------------------------------------------------------------------------- joints
def joint_from_policy(policy: np.ndarray, num_actions: Sequence[int]) -> np.ndarray:
    """The product joint ``[..., S, J]`` of per-agent policies ``[..., n, S, A_max]`` (agents independent).

    ``num_actions[i]`` is agent i's action count (its first ``num_actions[i]`` entries are read); J = Π_i A_i in C
    order of (A_1, ..., A_n). With no agents (``n = 0``) the joint is the point mass ``[..., S, 1]``. float64.
    """
    policy = np.asarray(policy, dtype=np.float64)
    n = len(num_actions)
    if policy.ndim < 3 or policy.shape[-3] != n:
        raise InvalidGameError(f"policy: expected per-agent policies [..., n={n}, S, A_max], got shape {policy.shape}")
    joint = np.ones((*policy.shape[:-3], policy.shape[-2], 1))
    for i, m in enumerate(num_actions):
        if m > policy.shape[-1]:
            raise InvalidGameError(f"policy: agent {i} has {m} actions but the policy has only {policy.shape[-1]}")
        joint = (joint[..., :, None] * policy[..., i, :, None, :m]).reshape(*joint.shape[:-1], -1)
    return joint


def playable(game: StochasticGame, policies: np.ndarray) -> np.ndarray:
    """Recorded per-agent policies ``[..., n, S, A_max]`` as valid ones for exact evaluation: NaN and illegal
    entries dropped, rows renormalised, and rows with no mass (a terminal state no learner fills, an unvisited
    state) replaced by the uniform policy over the legal actions. float64."""
    policies = np.asarray(policies, dtype=np.float64)
    mask = np.asarray(game.action_mask, dtype=bool)
    clean = np.where(mask & np.isfinite(policies), np.clip(np.nan_to_num(policies), 0.0, None), 0.0)
    totals = clean.sum(axis=-1, keepdims=True)
    return np.where(totals > 0, clean / np.where(totals > 0, totals, 1.0), game.uniform_policy())


# --------------------------------------------------------------------------------------- state weights
def _uniform(game: NormalFormGame | StochasticGame, history: History | None) -> np.ndarray:
    if isinstance(game, NormalFormGame):
        return np.ones(1)
    live = (~np.asarray(game.terminal, dtype=bool)).astype(np.float64)
    return live / live.sum()


def _visitation(game: NormalFormGame | StochasticGame, history: History | None) -> np.ndarray:
    if history is None:
        raise InvalidGameError("state weights 'visitation' need the History (pass history=...)")
    counts = np.asarray(history.joint_counts)[:, -1]  # cumulative counts at the end of the run [N, S, A..]
    visits = counts.reshape(counts.shape[0], counts.shape[1], -1).sum(axis=(0, 2)).astype(np.float64)
    if visits.shape != (num_states(game),):
        raise InvalidGameError(
            f"history: joint_counts cover {visits.shape[0]} states but the game has {num_states(game)}; "
            "pass the game the History was recorded on"
        )
    if visits.sum() <= 0:
        raise InvalidGameError("state weights 'visitation': the History records no visits; use 'uniform'")
    return visits / visits.sum()


def _initial(game: NormalFormGame | StochasticGame, history: History | None) -> np.ndarray:
    if isinstance(game, NormalFormGame):
        return np.ones(1)
    return np.asarray(game.initial, dtype=np.float64) / float(np.sum(game.initial))


STATE_WEIGHTS: dict[str, Callable[[NormalFormGame | StochasticGame, History | None], np.ndarray]] = {
    "uniform": _uniform,
    "visitation": _visitation,
    "initial": _initial,
}
"""Named state weightings: ``"uniform"`` over non-terminal states, ``"visitation"`` the empirical state frequency
pooled over seeds and the whole run (from ``History.joint_counts``), ``"initial"`` the initial distribution."""


def default_weights(game: NormalFormGame | StochasticGame) -> str:
    """The default state weighting: ``"uniform"`` for a one-state game, ``"visitation"`` for a multi-state one.

    Uniform weights over all live states count states the run never reaches, where any play is as good as any
    other: a review found a policy with NashConv 0 measured at TV 0.5 from the Shapley policy because of its
    arbitrary play off the path. Visitation weights measure where the run actually played. (Per-state minimax polytopes,
    which would make off-path states irrelevant by construction, are not implemented.)
    """
    return "uniform" if num_states(game) == 1 else "visitation"


def state_weights(
    game: NormalFormGame | StochasticGame, kind: str | np.ndarray | None = "uniform", history: History | None = None
) -> np.ndarray:
    """State weights ``[S]`` summing to 1: a name from :data:`STATE_WEIGHTS`, a user array, or ``None`` for
    :func:`default_weights`.

    A user array must have one finite, non-negative entry per state and a positive sum; it is normalised.
    """
    if kind is None:
        kind = default_weights(game)
    if isinstance(kind, str):
        try:
            return STATE_WEIGHTS[kind](game, history)
        except KeyError:
            raise UnknownNameError(
                f"weights: unknown state weighting {kind!r}; choose one of {', '.join(STATE_WEIGHTS)} "
                "or pass an array with one weight per state"
            ) from None
    try:
        w = np.array(kind, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGameError(f"weights: expected a name or an array of real numbers ({exc})") from None
    S = num_states(game)
    if w.shape != (S,):
        raise InvalidGameError(f"weights: expected one weight per state, shape ({S},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise InvalidGameError("weights: expected finite, non-negative weights with a positive sum")
    return w / w.sum()


def weighted_distance(p: np.ndarray, q: np.ndarray, weights: np.ndarray, distance: str | Distance = "tv") -> np.ndarray:
    """``Σ_s w(s) d(p(s), q(s)) / Σ_{s visited} w(s)`` for joints ``p [..., S, J]`` and ``q`` (broadcastable).

    States where ``p`` is NaN (never visited, so no empirical distribution) are dropped and the remaining weights
    renormalised; where no weighted state is left the result is NaN.
    """
    _, fn = resolve_distance(distance)
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    per_state = np.asarray(fn(p, q), dtype=np.float64)  # [..., S]
    visited = ~np.isnan(p).any(axis=-1)  # [..., S]
    visited = np.broadcast_to(visited, per_state.shape)
    mass = np.where(visited, w, 0.0)
    total = mass.sum(axis=-1)
    weighted = np.where(visited & (w > 0), per_state * w, 0.0).sum(axis=-1)
    return np.where(total > 0, weighted / np.where(total > 0, total, 1.0), np.nan)


__all__ = [
    "DISTANCES",
    "DISTANCE_BOUNDS",
    "KL_FLOOR",
    "STATE_WEIGHTS",
    "Distance",
    "builtin_name",
    "default_weights",
    "jensen_shannon",
    "joint_from_policy",
    "kl",
    "l1",
    "l2",
    "num_states",
    "playable",
    "resolve_distance",
    "state_weights",
    "total_variation",
    "weighted_distance",
]
