"""The robust (max-min) agent policy of a small state-adversarial game, over stochastic policies.

Han, Chen & Li 2024 ("What is the solution for state-adversarial multi-agent RL?", TMLR, §4) show that optimal
policies and robust equilibria of a state-adversarial game need not exist, and define the *robust agent policy*

    π* ∈ argmax_π min_ν Σ_i w_i J_i(π, ν),                                                        (R)

ν ranging over state adversaries (:mod:`marlkit.solve.robust.state_adversary`), π over stationary **stochastic**
per-agent policies ``π_i(a_i | ŝ_i)`` of the perceived state. The maximum exists (a continuous function on a
compact set) and may need randomisation (catalog game ``perception-guess``: 35/3 against 10 for every
deterministic policy). (R) is solved here as follows.

* **LP** (``method="lp"``, exact) when the dynamics do not depend on the actions (T(·|s, a) = T(·|s) at every live
  state, e.g. one-step or i.i.d. games) and there is one agent. The discounted occupancy ``d = μ_0 (I - γ T)^{-1}``
  is then fixed, the adversary's choice only changes the immediate reward, and

      max_π Σ_s d(s) min_{ŝ ∈ B(s)} Σ_a π(a|ŝ) R(s, a)
      = max Σ_s d(s) t_s   s.t.   t_s <= Σ_a π(a|ŝ) R(s, a)  (ŝ ∈ B(s)),  π(·|ŝ) ∈ Δ(A),

  a linear program (HiGHS). With several agents and action-independent dynamics the same LP over *joint*
  distributions ``μ(a | ŝ_1, .., ŝ_n)`` of the perceived-state tuple is a relaxation (product policies are a special
  case), so its value is a valid upper bound.
* **Certified bounds** (``method="bounds"``) otherwise: ``lower`` is the exact worst-case value of the best
  candidate found (every deterministic policy when there are at most ``max_deterministic``; then projected
  supergradient ascent from several starts, the gradient of J(π, ν*) at the current optimal adversary ν*, Danskin;
  then, when exactly one agent is unattacked, its exact best reply to the others under the worst adversary, a
  Shapley value of a zero-sum game between it and the adversary, :func:`unattacked_best_response`);
  ``upper`` is the least of the valid bounds available: the nominal team optimum ``max_π Σ_i w_i J_i(π, no
  attack)`` (the adversary may leave every state alone, and joint policies include product ones) and, for
  action-independent dynamics, the correlated relaxation above. ``upper - lower`` says how tight the answer is;
  ``exact`` is True when it is at most ``tol``.

Every ``lower`` is the value of the returned policy against its exact optimal adversary (not an estimate).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linprog

from marlkit.errors import NotApplicableError
from marlkit.games.properties import optimal_values
from marlkit.games.stochastic import StochasticGame
from marlkit.games.uncertainty import StateUncertainty
from marlkit.solve.robust.state_adversary import (
    AdversaryResult,
    adversary_actions,
    joint_rows,
    objective_weights,
    worst_case_evaluation,
)
from marlkit.solve.shapley import STAGE_SOLVERS

__all__ = [
    "DeterministicRobustPolicy",
    "RobustPolicyResult",
    "deterministic_robust_policy",
    "robust_agent_policy",
    "unattacked_best_response",
]

DEFAULT_TOLERANCE = 1e-9
HIGHS_TOLERANCE = 1e-10
MAX_HOFFMAN_KARP = 100


@dataclass(frozen=True, eq=False)
class DeterministicRobustPolicy:
    """The best deterministic policy against its optimal adversary, by enumeration.

    Attributes:
        policy: ``[n, S, A_max]`` one-hot rows (uniform on rows no adversary can make an agent use).
        value: its worst-case objective.
        candidates: how many deterministic policies were evaluated.
    """

    policy: np.ndarray
    value: float
    candidates: int

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy.tolist(), "value": float(self.value), "candidates": int(self.candidates)}


@dataclass(frozen=True, eq=False)
class RobustPolicyResult:
    """A robust agent policy of (R) with certified bounds (module docstring).

    Attributes:
        policy: ``[n, S, A_max]`` the best policy found.
        lower: its exact worst-case objective (a lower bound on max_π min_ν).
        upper: a valid upper bound on max_π min_ν.
        exact: ``upper - lower <= tol``.
        method: ``"lp"`` or ``"bounds"``.
        upper_source: which bound gave ``upper`` (``"lp"``, ``"correlated-relaxation"``, ``"nominal-optimum"``).
        deterministic_value: the best deterministic policy's worst-case objective, or None when skipped.
        deterministic_policy: that policy, or None.
        deterministic_note: why the enumeration was skipped ("" when it ran).
        attack: the optimal adversary against ``policy`` (:class:`AdversaryResult`).
    """

    policy: np.ndarray
    lower: float
    upper: float
    exact: bool
    method: str
    upper_source: str
    deterministic_value: float | None
    deterministic_policy: np.ndarray | None
    deterministic_note: str
    attack: AdversaryResult

    @property
    def gap(self) -> float:
        return self.upper - self.lower

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy.tolist(),
            "lower": float(self.lower),
            "upper": float(self.upper),
            "gap": float(self.gap),
            "exact": bool(self.exact),
            "method": self.method,
            "upper_source": self.upper_source,
            "deterministic_value": self.deterministic_value,
            "deterministic_policy": None if self.deterministic_policy is None else self.deterministic_policy.tolist(),
            "deterministic_note": self.deterministic_note,
            "attack": self.attack.to_json(),
        }


# ------------------------------------------------------------------------------------------------ pieces
def _used_rows(game: StochasticGame, uncertainty: StateUncertainty) -> list[tuple[int, int]]:
    """(agent, perceived state) rows some live true state can make the agent use."""
    live = np.flatnonzero(~game.terminal)
    used = uncertainty.allowed[:, live, :].any(axis=1)  # [n, S]
    return [(int(i), int(s)) for i, s in np.argwhere(used)]


def _count(count: int) -> str:
    """``count`` in words short enough for one line (``about 10^50`` for huge ones)."""
    return str(count) if count < 10**12 else f"about 10^{len(str(count)) - 1}"


def deterministic_robust_policy(
    game: StochasticGame, uncertainty: StateUncertainty, weights: Any = None, *, max_candidates: int = 4096
) -> DeterministicRobustPolicy:
    """The best deterministic policy of (R), by enumerating every deterministic choice on the used rows.

    Raises:
        NotApplicableError: more than ``max_candidates`` deterministic policies.
    """
    rows = _used_rows(game, uncertainty)
    options = [np.flatnonzero(game.action_mask[i, s]) for i, s in rows]
    count = math.prod(len(o) for o in options)
    if count > max_candidates:
        raise NotApplicableError(
            f"deterministic robust policy: {_count(count)} deterministic policies exceed "
            f"max_candidates={max_candidates}; "
            "raise it or use robust_agent_policy's bounds"
        )
    base = game.uniform_policy()
    best_value, best_policy = -np.inf, base
    for combo in itertools.product(*options):
        policy = base.copy()
        for (i, s), a in zip(rows, combo, strict=True):
            policy[i, s] = 0.0
            policy[i, s, a] = 1.0
        value = worst_case_evaluation(game, policy, uncertainty, weights).value
        if value > best_value:
            best_value, best_policy = value, policy
    return DeterministicRobustPolicy(best_policy, float(best_value), count)


def _action_independent(game: StochasticGame) -> bool:
    S = game.num_states
    T = game.transitions.reshape(S, -1, S)
    legal = game.legal_joint_actions().reshape(S, -1)
    for s in np.flatnonzero(~game.terminal):
        rows = T[s, legal[s]]
        if not np.array_equal(rows, np.broadcast_to(rows[0], rows.shape)):
            return False
    return True


def _relaxation_lp(
    game: StochasticGame, uncertainty: StateUncertainty, w: np.ndarray
) -> tuple[float, dict[tuple[int, ...], np.ndarray]]:
    """The LP of the module docstring over joint distributions μ(a | perceived tuple); (value, μ by tuple)."""
    S, n = game.num_states, game.n_players
    live = np.flatnonzero(~game.terminal)
    T = game.transitions.reshape(S, -1, S)
    legal = game.legal_joint_actions().reshape(S, -1)
    J = legal.shape[1]
    P = np.zeros((S, S))
    for s in live:
        P[s] = T[s, int(np.argmax(legal[s]))]
    d = np.linalg.solve((np.eye(S) - game.gamma * P).T, game.initial)  # discounted occupancy
    R = np.tensordot(w, game.rewards, axes=1).reshape(S, J)
    tuples: dict[tuple[int, ...], int] = {}
    allowed_joint: dict[tuple[int, ...], np.ndarray] = {}
    per_state: list[list[tuple[int, ...]]] = []
    for s in live:
        sets = [uncertainty.perceivable(i, int(s)) for i in range(n)]
        here = list(itertools.product(*sets))
        per_state.append(here)
        for x in here:
            tuples.setdefault(x, len(tuples))
            allowed_joint[x] = allowed_joint.get(x, np.ones(J, bool)) & legal[s]
    nx, nt = len(tuples), len(live)
    nvar = nx * J + nt
    c = np.zeros(nvar)
    c[nx * J :] = -d[live]
    A_ub, b_ub = [], []
    for k, s in enumerate(live):
        for x in per_state[k]:
            row = np.zeros(nvar)
            row[nx * J + k] = 1.0
            row[tuples[x] * J : (tuples[x] + 1) * J] = -R[s]
            A_ub.append(row)
            b_ub.append(0.0)
    A_eq = np.zeros((nx, nvar))
    for k in tuples.values():
        A_eq[k, k * J : (k + 1) * J] = 1.0
    bounds = [(0.0, None if allowed_joint[x][a] else 0.0) for x in tuples for a in range(J)] + [(None, None)] * nt
    res = linprog(
        c,
        A_ub=np.array(A_ub),
        b_ub=b_ub,
        A_eq=A_eq,
        b_eq=np.ones(nx),
        bounds=bounds,
        method="highs",
        options={"primal_feasibility_tolerance": HIGHS_TOLERANCE, "dual_feasibility_tolerance": HIGHS_TOLERANCE},
    )
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the robust-policy LP: {res.message}")
    mu = {x: np.maximum(res.x[k * J : (k + 1) * J], 0.0) for x, k in tuples.items()}
    return float(-res.fun), mu


def _nominal_optimum(game: StochasticGame, w: np.ndarray) -> float:
    S = game.num_states
    R = np.tensordot(w, game.rewards, axes=1).reshape(S, -1)
    V, _ = optimal_values(
        R,
        game.transitions.reshape(S, -1, S),
        game.legal_joint_actions().reshape(S, -1),
        game.gamma,
        game.terminal,
        1e-12,
    )
    return float(game.initial @ V)


def _project(v: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of ``v`` onto the simplex of its legal entries."""
    out = np.zeros_like(v)
    for k in range(v.shape[0]):
        x = v[k, legal[k]]
        u = np.sort(x)[::-1]
        css = np.cumsum(u) - 1.0
        rho = np.flatnonzero(u - css / np.arange(1, len(u) + 1) > 0)[-1]
        out[k, legal[k]] = np.maximum(x - css[rho] / (rho + 1), 0.0)
    return out


def _supergradient(game: StochasticGame, policy: np.ndarray, attack: AdversaryResult) -> np.ndarray:
    """∂ J_w(π, ν*) / ∂ π_i(b | ŝ) at the optimal adversary ν* (``[n, S, A_max]``; Danskin's theorem)."""
    S, n = game.num_states, game.n_players
    live = ~game.terminal
    joint = attack.perceived_policy.reshape(S, -1)
    T = game.transitions.reshape(S, -1, S)
    P = np.einsum("sj,sjt->st", joint, T) * live[:, None]
    d = np.linalg.solve((np.eye(S) - game.gamma * P).T, game.initial)
    Rw = np.tensordot(attack.weights, game.rewards, axes=1)
    Q = (Rw + game.gamma * (game.transitions @ attack.state_values)) * live.reshape((S,) + (1,) * n)
    grad = np.zeros_like(policy)
    for i, m in enumerate(game.num_actions):
        M = Q
        for k in reversed(range(n)):  # contract the other agents' perceived policies
            if k == i:
                continue
            eff = attack.adversary[k] @ policy[k, :, : game.num_actions[k]]  # [S, m_k]
            M = np.einsum("s...a,sa->s...", np.moveaxis(M, k + 1, -1), eff)
        M = M.reshape(S, m)  # [S, m_i]
        grad[i, :, :m] = attack.adversary[i].T @ (d[:, None] * M)
    return grad


def unattacked_best_response(
    game: StochasticGame, uncertainty: StateUncertainty, policy: np.ndarray, weights: Any = None
) -> np.ndarray | None:
    """The exact best reply of the one unattacked agent to the attacked agents' policies, against the adversary.

    With the attacked agents' policies fixed and exactly one agent i unattacked (it sees the true state), agent i
    and the adversary play a two-player zero-sum stochastic game: i picks a_i, the adversary the perceived-state
    tuple ŝ, the payoff is Σ_a_att q_ŝ(a_att) R_w(s, a_i, a_att). Its max-min over stationary policies is the
    Shapley value (Shapley 1953), so i's stationary maximin policy is i's best reply to the attacked agents under
    the worst adversary; it is found by Hoffman & Karp's (1966) policy iteration (stage maximin LPs at V, then the
    adversary's exact best reply by policy iteration, until V stops rising). Returns the policy with row i
    replaced, or None when the game has not exactly one unattacked agent.
    """
    n, S = game.n_players, game.num_states
    free = [i for i in range(n) if i not in uncertainty.attacked]
    if len(free) != 1 or n < 2:
        return None
    i = free[0]
    w = objective_weights(game, weights)
    actions = adversary_actions(uncertainty)
    K, m, st = actions.width, game.num_actions[i], actions.state
    own_first = lambda x: np.moveaxis(x, 1 + i, 1)  # noqa: E731  (state, a_i, others..., ...)
    R = own_first(np.tensordot(w, game.rewards, axes=1)).reshape(S, m, -1)  # [S, m, J_others]
    T = own_first(game.transitions).reshape(S, m, -1, S)
    others = [k for k in range(n) if k != i]
    q = joint_rows(policy[others], actions.perceived[:, others], tuple(game.num_actions[o] for o in others))
    q = q.reshape(len(st), -1)  # [N, J_others]: the others' joint action under each adversary action
    rewards = np.zeros((S, m, K))
    transitions = np.full((S, m, K, S), 1.0 / S)  # unused slots: any distribution (masked out)
    mask = np.zeros((2, S, max(m, K)), dtype=bool)
    mask[0, :, :m] = game.action_mask[i, :, :m]
    rewards[st, :, actions.slot] = np.einsum("naj,nj->na", R[st], q)
    transitions[st, :, actions.slot] = np.einsum("najt,nj->nat", T[st], q)
    mask[1, st, actions.slot] = True
    live = ~game.terminal
    rows, cols = mask[0, live, :m], mask[1, live, :K]
    V = np.zeros(S)
    x = np.zeros((S, m))
    for _ in range(MAX_HOFFMAN_KARP):  # Hoffman & Karp 1966: stage maximin at V, then the adversary's exact reply
        Q = rewards + game.gamma * (transitions @ V)
        _, x_live, _ = STAGE_SOLVERS["lp"](Q[live], rows, cols)
        x[live] = x_live
        r = np.einsum("sa,sak->sk", x, rewards)
        P = np.einsum("sa,sakt->skt", x, transitions)
        values, _ = optimal_values(-r, P, mask[1, :, :K], game.gamma, game.terminal, 1e-12)
        if np.max(np.abs(-values - V)) <= 1e-12 * max(1.0, float(np.abs(values).max())):
            break
        V = -values
    improved = policy.copy()
    improved[i] = 0.0
    improved[i, :, :m] = np.where(live[:, None], x, game.uniform_policy()[i, :, :m])
    return game.check_policy(improved)


def _ascent(
    game: StochasticGame,
    uncertainty: StateUncertainty,
    weights: Any,
    start: np.ndarray,
    steps: int,
    step_size: float,
) -> tuple[float, np.ndarray]:
    """Projected supergradient ascent, then a polish from the best point with steps ten times smaller."""
    policy, best_value, best_policy = start, -np.inf, start
    legal = game.action_mask.reshape(-1, game.max_actions)
    for phase, (count, size) in enumerate(((steps, step_size), (max(steps // 3, 1), step_size / 10))):
        if phase == 1:
            policy = best_policy
        for t in range(count):
            attack = worst_case_evaluation(game, policy, uncertainty, weights)
            if attack.value > best_value:
                best_value, best_policy = attack.value, policy
            g = _supergradient(game, policy, attack)
            scale = float(np.abs(g).max())
            if scale == 0.0:
                break
            step = size / math.sqrt(t + 1) / scale
            policy = _project((policy + step * g).reshape(-1, game.max_actions), legal).reshape(policy.shape)
    return best_value, best_policy


def robust_agent_policy(
    game: StochasticGame,
    uncertainty: StateUncertainty,
    weights: Any = None,
    *,
    max_deterministic: int = 4096,
    starts: int = 6,
    steps: int = 150,
    step_size: float = 2.0,
    polish: int = 8,
    seed: int = 0,
    tol: float = DEFAULT_TOLERANCE,
) -> RobustPolicyResult:
    """The robust agent policy of (R), exact by LP where the structure allows, else with certified bounds.

    Args:
        game, uncertainty: a fully observable stochastic game and its state uncertainty.
        weights: the objective's weights (default the mean: the team return of a common-payoff game).
        max_deterministic: enumerate every deterministic policy when there are at most this many (else skip it).
        starts, steps, step_size, seed: the local search of the bounds method (starts: uniform, the best
            deterministic policy, then Dirichlet(1) draws).
        polish: how many of the best candidates get the unattacked agent's exact best reply
            (:func:`unattacked_best_response`, when exactly one agent is unattacked).
        tol: ``exact`` is ``upper - lower <= tol * max(1, |upper|)``.
    """
    w = objective_weights(game, weights)
    worst_case_evaluation(game, game.uniform_policy(), uncertainty, w)  # validates the inputs once
    try:
        det: DeterministicRobustPolicy | None = deterministic_robust_policy(
            game, uncertainty, w, max_candidates=max_deterministic
        )
        note = ""
    except NotApplicableError as exc:
        det, note = None, str(exc)
    independent = _action_independent(game)
    upper, source = _nominal_optimum(game, w), "nominal-optimum"
    if independent and game.n_players == 1:
        value, mu = _relaxation_lp(game, uncertainty, w)
        policy = game.uniform_policy()
        for (s,), row in mu.items():
            policy[0, s] = row / row.sum()
        method, upper, source = "lp", value, "lp"
        candidates = [policy]
    else:
        method = "bounds"
        if independent:
            relaxed, _ = _relaxation_lp(game, uncertainty, w)
            if relaxed < upper:
                upper, source = relaxed, "correlated-relaxation"
        rng = np.random.default_rng(seed)
        inits = [game.uniform_policy()] + ([det.policy] if det is not None else [])
        while len(inits) < max(starts, 1):
            draw = rng.dirichlet(np.ones(game.max_actions), size=game.action_mask.shape[:2]) * game.action_mask
            inits.append(draw / draw.sum(axis=2, keepdims=True))
        candidates = [_ascent(game, uncertainty, w, init, steps, step_size)[1] for init in inits[: max(starts, 1)]]
        if det is not None:
            candidates.append(det.policy)
        ranked = sorted(candidates, key=lambda p: -worst_case_evaluation(game, p, uncertainty, w).value)
        for policy in ranked[:polish]:  # the unattacked agent's exact best reply to the best candidates
            improved = unattacked_best_response(game, uncertainty, policy, w)
            if improved is not None:
                candidates.append(improved)
    attacks = [worst_case_evaluation(game, p, uncertainty, w) for p in candidates]
    best = int(np.argmax([a.value for a in attacks]))
    lower = attacks[best].value
    upper = max(upper, lower)  # an LP's rounding can leave it a hair below the exact value of its own solution
    exact = upper - lower <= tol * max(1.0, abs(upper))
    return RobustPolicyResult(
        candidates[best],
        lower,
        upper,
        bool(exact),
        method,
        source,
        None if det is None else det.value,
        None if det is None else det.policy,
        note,
        attacks[best],
    )
