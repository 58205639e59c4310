"""Dominance and saddle gaps of a deterministic target policy in an estimated game, and their worst case over the
learner's reward box (Wu, McMahan, Zhu & Xie, AAAI 2023; Wu et al. 2023 for the zero-sum variant).

**The gaps.** Fix a deterministic target π† (one joint action t(s) per state) and the estimated transitions P̂. The
continuation values of π† are V_i = (I - γ P̂_†)^{-1} R_i^† with P̂_†(s, s') = P̂(s'|s, t(s)) and
R_i^†(s) = R_i(s, t(s)), and

    Q_i(s, a) = R_i(s, a) + γ Σ_s' P̂(s'|s, a) V_i(s').

π† is an **ι-strict Markov perfect dominant strategy equilibrium** (MPDSE) when at every state s, for every agent i,
every other action a_i ≠ π†_i(s) and every a_-i (legal):

    g = Q_i(s, (π†_i(s), a_-i)) - Q_i(s, (a_i, a_-i)) >= ι.                                  (dominant)

In a two-player zero-sum game (R_1 = -R_0) π† is the **unique** Markov perfect Nash equilibrium when at every state
it is a strict saddle of Q_0 (the same inequalities with a_-i = π†_-i(s) only):

    Q_0(s, t) - Q_0(s, (a_0, t_1)) >= ι   and   Q_0(s, (t_0, a_1)) - Q_0(s, t) >= ι          (saddle)

(a strict saddle of a zero-sum matrix game is its only equilibrium: any optimal strategy of player 0 must be a best
response to t_1, which is t_0 alone; then V^{π†} solves Shapley's equation, so Q_0 above is Q* and every Markov
perfect equilibrium plays the unique saddle of Q*(s)).

**Linearity.** With P̂ fixed, M = (I - γ P̂_†)^{-1} >= 0 and each gap is linear in the reward table:
g = w · R_i with w = e_b - e_c + γ (P̂(s, b) - P̂(s, c))^T M placed on the target entries (s', t(s')). Over the box
|R - R̂| <= r (a product of intervals) the minimum of a linear function is attained coordinate by coordinate:

    min_{R in box} w · R = w · R̂ - |w| · r,

exact, with the worst game R̂ - sign(w) r. A row with w ≠ 0 on an unbounded interval has worst case -inf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.offline.estimate import EstimatedGame

CONCEPTS = ("dominant", "saddle")
"""``dominant``: ι-strict MPDSE for every agent; ``saddle``: ι-strict saddle (two-player zero-sum: unique NE)."""


def check_target(
    target: object,
    num_states: int,
    num_actions: tuple[int, ...],
    legal: np.ndarray,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """A deterministic target ``[S, n]`` of action indices (a ``[n]`` profile is used in every state), legal at the
    states ``where [S]`` (default every state; the attack checks the states the data visits)."""
    t = np.asarray(target)
    n = len(num_actions)
    if t.dtype.kind not in "iu":
        raise InvalidGameError(f"target: expected integer action indices, got {t.dtype}")
    if t.shape == (n,):
        t = np.broadcast_to(t, (num_states, n))
    if t.shape != (num_states, n):
        raise InvalidGameError(
            f"target: expected {n} actions (one per agent) or [S={num_states}, n={n}], got {list(t.shape)}"
        )
    for i, m in enumerate(num_actions):
        bad = np.flatnonzero((t[:, i] < 0) | (t[:, i] >= m))
        if bad.size:
            raise InvalidGameError(
                f"target: agent {i} has {m} actions; got action {int(t[bad[0], i])} (state {int(bad[0])})"
            )
    flat = np.ravel_multi_index(tuple(t.T), num_actions)
    checked = np.ones(num_states, dtype=bool) if where is None else np.asarray(where, dtype=bool)
    illegal = np.flatnonzero(~legal[np.arange(num_states), flat] & checked)
    if illegal.size:
        raise InvalidGameError(
            f"target: the joint action {t[illegal[0]].tolist()} is illegal in state {int(illegal[0])}"
        )
    return t.astype(np.int64)


def profiles_text(
    actions: np.ndarray, visited: np.ndarray, names: tuple[tuple[str, ...], ...] = (), limit: int = 8
) -> str:
    """A pure profile per visited state as text: ``(C, C)`` for one state, ``(A, A)@0 (B, B)@1`` for a few, and
    ``(N, N) at 745 states, (S, N) at 5 states (4, 178, ...)`` when there are more than ``limit``."""

    def joint(row: np.ndarray) -> str:
        return "(" + ", ".join(names[i][a] if names else str(a) for i, a in enumerate(map(int, row))) + ")"

    states = np.flatnonzero(visited)
    if len(visited) == 1:
        return joint(actions[0])
    if states.size <= limit:
        return " ".join(f"{joint(actions[s])}@{s}" for s in states)
    groups: dict[str, list[int]] = {}
    for s in states:
        groups.setdefault(joint(actions[s]), []).append(int(s))
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    parts = []
    for text, where in ordered[:4]:
        shown = "" if len(where) > 3 else f" ({', '.join(map(str, where))})"
        parts.append(f"{text} at {len(where)} state{'s' if len(where) > 1 else ''}{shown}")
    more = "" if len(ordered) <= 4 else f", {len(ordered) - 4} other profiles"
    return ", ".join(parts) + more


def resolve_concept(concept: str, model: EstimatedGame) -> str:
    """``auto`` -> ``saddle`` for zero-sum two-player data, else ``dominant``; check a named one applies."""
    if concept == "auto":
        return "saddle" if model.zero_sum else "dominant"
    if concept not in CONCEPTS:
        raise InvalidGameError(f"concept: expected one of {['auto', *CONCEPTS]}, got {concept!r}")
    if concept == "saddle" and not model.zero_sum:
        raise NotApplicableError(
            "concept 'saddle' (unique Nash equilibrium) needs two-player zero-sum data; use 'dominant'"
        )
    return concept


def continuation(model: EstimatedGame, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(target joint index per state ``[S]``, M = (I - γ P̂_†)^{-1} ``[S, S]``)."""
    S = model.num_states
    t = np.ravel_multi_index(tuple(np.asarray(target).T), model.num_actions)
    P_dagger = model.transitions[np.arange(S), t]
    M = np.linalg.solve(np.eye(S) - model.gamma * P_dagger, np.eye(S))
    return t, M


@dataclass(frozen=True, eq=False)
class GapRows:
    """The gap inequalities of a target: row k reads ``coef[k] · R_{stream[k]} >= ι`` (R flattened ``[S*J]``).

    ``state``, ``agent``, ``better`` (the target's joint action b) and ``worse`` (the deviation c, flat joint
    indices) say which comparison a row is; in the saddle concept ``stream`` is 0 for both agents (R_1 = -R_0).
    """

    coef: Any  # scipy.sparse.csr_matrix [m, S*J]
    stream: np.ndarray
    state: np.ndarray
    agent: np.ndarray
    better: np.ndarray
    worse: np.ndarray
    concept: str
    target: np.ndarray

    @property
    def num_rows(self) -> int:
        return int(self.stream.shape[0])


def comparisons(model: EstimatedGame, target: np.ndarray, concept: str, legal: np.ndarray) -> tuple[np.ndarray, ...]:
    """Arrays (state, agent, better b, worse c) of every comparison the concept needs at visited states."""
    shape = model.num_actions
    J, n = model.num_joint_actions, model.n_players
    joint = np.array(np.unravel_index(np.arange(J), shape)).T  # [J, n]
    out: list[list[int]] = [[], [], [], []]
    for s in np.flatnonzero(model.visited_states()):
        t = target[s]
        for i in range(n):
            others = np.delete(joint, i, axis=1)
            keep = (joint[:, i] != t[i]) & legal[s]
            if concept == "saddle":
                keep &= np.all(others == np.delete(t, i), axis=1)
            for c in np.flatnonzero(keep):
                b = joint[c].copy()
                b[i] = t[i]
                bj = int(np.ravel_multi_index(tuple(b), shape))
                if not legal[s, bj]:
                    continue
                for k, v in enumerate((int(s), i, bj, int(c))):
                    out[k].append(v)
    return tuple(np.asarray(o, dtype=np.int64) for o in out)


def gap_rows(model: EstimatedGame, target: np.ndarray, concept: str, legal: np.ndarray) -> GapRows:
    """The linear gap rows ``w`` of the module docstring, as a sparse matrix."""
    from scipy import sparse

    S, J = model.num_states, model.num_joint_actions
    t, M = continuation(model, target)
    state, agent, b, c = comparisons(model, target, concept, legal)
    m = state.shape[0]
    Kc = model.gamma * (model.transitions.reshape(S * J, S) @ M)  # [S*J, S]: coefficient of R(s', t(s'))
    xb, xc = state * J + b, state * J + c
    cont = Kc[xb] - Kc[xc]  # [m, S]
    rows = np.concatenate([np.arange(m), np.arange(m), np.repeat(np.arange(m), S)])
    cols = np.concatenate([xb, xc, np.tile(np.arange(S) * J + t, m)])
    vals = np.concatenate([np.ones(m), -np.ones(m), cont.ravel()])
    sign = np.ones(m)
    if concept == "saddle":
        sign = np.where(agent == 1, -1.0, 1.0)  # agent 1's gap in R_1 = -R_0
        vals = vals * np.concatenate([sign, sign, np.repeat(sign, S)])
    coef = sparse.csr_matrix((vals, (rows, cols)), shape=(m, S * J))
    coef.sum_duplicates()
    coef.data[np.abs(coef.data) < 1e-15] = 0.0
    coef.eliminate_zeros()
    stream = np.zeros(m, dtype=np.int64) if concept == "saddle" else agent.copy()
    return GapRows(coef, stream, state, agent, b, c, concept, np.asarray(target))


@dataclass(frozen=True, eq=False)
class Margins:
    """Worst-case gaps of a target over a learner's reward box: ``margin`` = min over rows (``inf`` when there is
    no row), ``rows`` the per-row worst gaps; ``worst`` describes the row that attains the minimum."""

    rows: np.ndarray
    margin: float
    worst: dict[str, Any]
    concept: str

    def to_json(self) -> dict[str, Any]:
        return {"margin": _finite(self.margin), "concept": self.concept, "worst": self.worst}


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def direct_gaps(model: EstimatedGame, target: np.ndarray, means: np.ndarray, rows: GapRows) -> np.ndarray:
    """Gaps of ``means [n, S, J]`` by direct policy evaluation (a linear solve per agent, no coefficient rows):
    V_i = (I - γ P̂_†)^{-1} R_i^†, Q_i = R_i + γ P̂ V_i, g = Q_i(s, b) - Q_i(s, c) (sign of agent 1 in the saddle)."""
    S = model.num_states
    t = np.ravel_multi_index(tuple(np.asarray(target).T), model.num_actions)
    P_dagger = model.transitions[np.arange(S), t]
    V = np.linalg.solve(np.eye(S) - model.gamma * P_dagger, means[:, np.arange(S), t].T).T  # [n, S]
    Q = means + model.gamma * np.einsum("sjt,it->isj", model.transitions, V)
    stream = rows.stream
    g = Q[stream, rows.state, rows.better] - Q[stream, rows.state, rows.worse]
    if rows.concept == "saddle":
        g = np.where(rows.agent == 1, -g, g)
    return g


def worst_margins(model: EstimatedGame, rows: GapRows, num_actions: tuple[int, ...]) -> Margins:
    """min over the box of every gap: the direct gap at R̂ minus |w| · radius (``-inf`` on an unbounded entry)."""
    center = direct_gaps(model, rows.target, model.means, rows)
    absw = abs(rows.coef)
    radius = model.radius.ravel()
    finite_r = np.where(np.isfinite(radius), radius, 0.0)
    penalty = absw @ finite_r
    unbounded = (absw @ (~np.isfinite(radius)).astype(np.float64)) > 0
    per_row = np.where(unbounded, -np.inf, center - penalty)
    if per_row.size == 0:
        return Margins(per_row, float("inf"), {}, rows.concept)
    k = int(np.argmin(per_row))
    worst = {
        "state": int(rows.state[k]),
        "agent": int(rows.agent[k]),
        "target": [int(a) for a in np.unravel_index(int(rows.better[k]), num_actions)],
        "deviation": [int(a) for a in np.unravel_index(int(rows.worse[k]), num_actions)],
        "gap": _finite(float(per_row[k])),
        "unbounded": bool(unbounded[k]),
    }
    return Margins(per_row, float(per_row[k]), worst, rows.concept)


__all__ = [
    "CONCEPTS",
    "GapRows",
    "Margins",
    "check_target",
    "comparisons",
    "continuation",
    "direct_gaps",
    "gap_rows",
    "profiles_text",
    "resolve_concept",
    "worst_margins",
]
