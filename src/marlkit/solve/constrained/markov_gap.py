"""The constrained correlated-equilibrium gap of a correlated joint policy in a Markov game, by one LP per agent.

A stationary correlated policy π(a | s) recommends a_i to agent i each step. Agent i deviates with a stationary
stochastic modification φ(a_i' | s, a_i) (Markovian stochastic modifications suffice for the constrained CE of a
Markov game: Ni, Maddux & Kamgarpour 2025, arXiv:2507.03502; Chen, Ma & Zhou 2022 on why deterministic ones do not).
Its problem is a constrained MDP on the augmented state (s, a_i) — the recommendation is drawn afresh from
ρ(a_i | s) = Σ_{a_-i} π(a_i, a_-i | s) on entering s — and in occupancy form (Altman 1999, §3) over
y(s, a_i, a_i') = Σ_t γ^t Pr(s_t = s, recommended a_i, plays a_i'):

    max_y  Σ r(s, a, a') y(s, a, a')
    s.t.   Σ_{a,a'} y(s', a, a') − γ Σ_{s,a,a'} P(s' | s, a, a') y(s, a, a') = μ_0(s')          (flow)
           Σ_{a'} y(s, a, a') = ρ(a | s) Σ_{b,b'} y(s, b, b')                                  (the recommendations)
           Σ C_j(s, a, a') y(s, a, a') <= c_j^i                                               (agent i's own limits)

with the others following π conditioned on the recommendation: P(s'|s, a, a') = Σ_{a_-i} π(a_-i | s, a)
T(s' | s, a', a_-i), and r, C_j alike. Summing the recommendation rows over a gives back the flow of the augmented
chain, so the LP is exactly the augmented CMDP. The gain of agent i is its optimum minus J_r^i(π); the policy is a
constrained CE when it is feasible and every gain is <= tol. On one-state games this equals
:func:`marlkit.solve.constrained.constrained_ce_gaps` (per-step modification LP), which the tests check.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from marlkit.solve.constrained.occupancy import (
    OccupancyProblem,
    constrained_game,
    joint_values,
    solve_occupancy,
)


def markov_constrained_ce_gaps(game: object, joint: object) -> np.ndarray:
    """Each agent's best gain (discounted return) from a stationary modification that keeps its own limits, given a
    correlated joint policy ``joint [S, A_1..A_n]`` (module docstring); ``-inf`` where no modification of the agent
    meets its limits."""
    model = constrained_game(game, "markov_constrained_ce_gaps")
    pi = model.check_joint_policy(np.asarray(joint, dtype=np.float64))
    assert model.costs is not None and model.limits is not None
    S, n = model.num_states, model.n_players
    current = joint_values(model, pi, model.rewards)
    gains = np.zeros(n)
    for i in range(n):
        m = model.num_actions[i]
        own = np.moveaxis(pi, 1 + i, 1).reshape(S, m, -1)  # [S, A_i, R]
        rho = own.sum(axis=2)  # [S, A_i]
        cond = np.divide(own, rho[..., None], out=np.zeros_like(own), where=rho[..., None] > 0)

        R_ = cond.shape[2]
        others = np.moveaxis(model.transitions, 1 + i, 1).reshape(S, m, R_, S)  # [S, a', r, S']
        T = np.einsum("sar,sbrt->sabt", cond, others)  # [S, a, a', S']
        tables = np.concatenate([model.rewards[i][None], model.costs[i]])  # [1 + m_i, S, A..]
        moved = np.moveaxis(tables, 2 + i, 2).reshape(tables.shape[0], S, m, R_)
        folded = np.einsum("sar,ksbr->ksab", cond, moved)  # [1 + m_i, S, a, a']
        r, C = folded[0], folded[1:]
        legal = np.broadcast_to(model.action_mask[i, :, None, :m], (S, m, m))
        problem = OccupancyProblem(
            transitions=T.reshape(S, m * m, S),
            reward=r.reshape(S, m * m),
            costs=C.reshape(C.shape[0], S, m * m),
            limits=model.limits[i],
            legal=legal.reshape(S, m * m),
            initial=model.initial,
            gamma=model.gamma,
            terminal=model.terminal,
        )
        # Σ_a' y(s, a, a') − ρ(a|s) Σ_{b,b'} y(s, b, b') = 0 for every state s and recommendation a
        s_, a_, b_, c_ = np.indices((S, m, m, m)).reshape(4, -1)
        own_rows = np.indices((S, m, m)).reshape(3, -1)
        coupling = sparse.coo_matrix(
            (
                np.r_[-rho[s_, a_], np.ones(own_rows.shape[1])],
                (
                    np.r_[s_ * m + a_, own_rows[0] * m + own_rows[1]],
                    np.r_[(s_ * m + b_) * m + c_, (own_rows[0] * m + own_rows[1]) * m + own_rows[2]],
                ),
            ),
            shape=(S * m, S * m * m),
        ).tocsr()
        solution = solve_occupancy(problem, coupling=coupling)
        gains[i] = solution.value - current[i] if solution.feasible else -np.inf
    return gains
