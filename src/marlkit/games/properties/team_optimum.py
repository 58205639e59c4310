"""Strongly homogeneous agents: weakly homogeneous, and an optimal joint policy of identical policies exists.

Albrecht, Christianos & Schäfer 2024, §9.7: agents are *strongly homogeneous* when they are weakly homogeneous and
the optimal joint policy consists of identical policies, π*_1 = ... = π*_N. An optimal joint policy needs a single
objective, so the property is decided for **common-payoff** games only (the team's reward); for other games the
verdict is ``"not-decided"`` with the reason.

**Normal form.** Strongly homogeneous iff weakly homogeneous and max_a u(a, ..., a) = max_a u(a). If the diagonal
attains the maximum M, the identical pure profile (a*, ..., a*) is optimal. Conversely, if an identical mixed profile
(x, ..., x) attains M, then U(x, ..., x) = Σ_a Π_j x(a_j) u(a) is an average of values <= M, so every joint action
in its support has u = M, and the support contains the diagonal (b, ..., b) for each b in supp(x).

**Stochastic games.** The team faces an MDP over joint actions. We compute its optimal value V* and the optimal
value V_= of the MDP restricted to *diagonal* joint actions (a, ..., a) (every agent plays the same action, legal
for all), both by Howard's policy iteration with exact linear-solve evaluation (Puterman 1994, §6.4; it terminates
in finitely many steps with the exact optimum, where value iteration would only approach it), and decide
strongly homogeneous iff μ_0·V_= = μ_0·V* within tolerance. Then the optimal deterministic diagonal policy is an
identical policy that is optimal. Conversely, if identical stationary policies π = (x_s, ..., x_s) attain V*,
then by the performance-difference lemma (Kakade & Langford 2002, Lemma 6.1), μ_0·V* - μ_0·V^π =
Σ_s d^π(s) Σ_a π(a|s) (V*(s) - Q*(s, a)) with every term >= 0, so every joint action π plays at a state it reaches
is Q*-optimal, including the diagonal ones (b, ..., b), b in supp(x_s). The deterministic diagonal policy that plays
one such b reaches only states π reaches, so it attains V* too, and V_= = V*. At unreachable states without a
diagonal action legal for all agents, any legal joint action is allowed (such states never affect μ_0·V).

Partially observable and constrained games are decided on the underlying state-based game (agents see the state;
costs are ignored), and the reason says so.
"""

from __future__ import annotations

import numpy as np

from marlkit.games.properties._tabular import DEFAULT_TOLERANCE, Game, TabularView, game_label, tabular_view
from marlkit.games.properties.symmetry import weakly_homogeneous
from marlkit.games.properties.utility import UtilityClass, classify
from marlkit.games.properties.verdict import Method, Verdict
from marlkit.games.stochastic import StochasticGame

MAX_POLICY_ITERATIONS = 1000


def optimal_values(
    rewards: np.ndarray,
    transitions: np.ndarray,
    allowed: np.ndarray,
    gamma: float,
    terminal: np.ndarray,
    tol: float = DEFAULT_TOLERANCE,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal values and a deterministic optimal policy of a finite discounted MDP, by policy iteration.

    Args:
        rewards: ``[S, J]`` expected reward of each (state, action).
        transitions: ``[S, J, S']``.
        allowed: ``[S, J]`` actions allowed in each state (at least one per non-terminal state).
        gamma: discount in [0, 1).
        terminal: ``[S]`` absorbing states of value 0.
        tol: an action replaces the current one only if it improves Q by more than ``tol`` (no cycling on ties).

    Returns:
        ``(V [S], policy [S])``. Howard's policy iteration (Puterman 1994, §6.4.1).
    """
    S = rewards.shape[0]
    rows = np.arange(S)
    live = ~terminal
    masked = np.where(allowed, rewards, -np.inf)
    policy = np.argmax(masked, axis=1)
    for _ in range(MAX_POLICY_ITERATIONS):
        P = transitions[rows, policy] * live[:, None]
        r = np.where(live, rewards[rows, policy], 0.0)
        values = np.linalg.solve(np.eye(S) - gamma * P, r)
        Q = masked + gamma * (transitions @ values)
        better = live & (Q.max(axis=1) > Q[rows, policy] + tol)
        if not better.any():
            return values, policy
        policy = np.where(better, np.argmax(Q, axis=1), policy)
    raise RuntimeError(f"policy iteration did not stop within {MAX_POLICY_ITERATIONS} iterations (a bug)")


def _diagonal(view: TabularView) -> np.ndarray:
    """Flat indices of the diagonal joint actions (a, ..., a)."""
    m, n = view.num_actions[0], view.n_players
    return np.ravel_multi_index((np.arange(m),) * n, view.num_actions)


def _normal_form(view: TabularView, tol: float) -> Verdict:
    u = view.rewards[0, 0]
    best, diagonal = float(u.max()), u.reshape(-1)[_diagonal(view)]
    best_identical = float(diagonal.max())
    example = {
        "team_optimum": best,
        "identical_policy_optimum": best_identical,
        "optimal_joint_action": [int(k) for k in np.unravel_index(int(np.argmax(u)), u.shape)],
        "best_identical_action": int(np.argmax(diagonal)),
    }
    if best_identical >= best - tol:
        return Verdict(
            True,
            Method.EXACT,
            f"weakly homogeneous, and every agent playing action {example['best_identical_action']} attains the "
            f"maximal common payoff {best:g}",
        )
    return Verdict(
        False,
        Method.EXACT,
        f"the maximal common payoff {best:g} (at {example['optimal_joint_action']}) is not attained by identical "
        f"policies, whose best is {best_identical:g}",
        example,
    )


def _stochastic(view: TabularView, tol: float) -> Verdict:
    game = view.game
    assert isinstance(game, StochasticGame) and view.transitions is not None
    S = view.num_states
    R = view.rewards[0].reshape(S, -1)
    T = view.transitions.reshape(S, R.shape[1], S)
    live = view.live.reshape(S, -1)
    diagonal = np.zeros_like(live)
    diagonal[:, _diagonal(view)] = live[:, _diagonal(view)]
    diagonal = np.where(diagonal.any(axis=1, keepdims=True), diagonal, live)
    team, _ = optimal_values(R, T, live, game.gamma, view.terminal, tol)
    identical, _ = optimal_values(R, T, diagonal, game.gamma, view.terminal, tol)
    v_team, v_identical = float(view.initial @ team), float(view.initial @ identical)
    scale = max(1.0, float(np.abs(R[live]).max(initial=0.0)) / (1.0 - game.gamma))
    if v_identical >= v_team - tol * scale:
        return Verdict(
            True,
            Method.EXACT,
            f"the best identical deterministic policy attains the team optimum {v_team:.6g} from the initial "
            "distribution (policy iteration)",
        )
    return Verdict(
        False,
        Method.EXACT,
        f"the team optimum from the initial distribution is {v_team:.6g}, but identical policies reach at most "
        f"{v_identical:.6g} (policy iteration)",
        {"team_optimum": v_team, "identical_policy_optimum": v_identical},
    )


def _caveats(game: Game) -> str:
    notes = []
    if isinstance(game, StochasticGame) and game.is_partially_observable:
        notes.append("decided on the underlying state-based game (agents see the state), not the POSG")
    if isinstance(game, StochasticGame) and game.is_constrained:
        notes.append("costs and limits ignored (reward optimum)")
    return "".join(f"; {note}" for note in notes)


def strongly_homogeneous(
    game: Game,
    *,
    weak: Verdict | None = None,
    utility: UtilityClass | None = None,
    seed: int = 0,
    tol: float = DEFAULT_TOLERANCE,
) -> Verdict:
    """Decide whether the agents of ``game`` are strongly homogeneous (module docstring).

    Args:
        game: a normal-form or stochastic game.
        weak: the weak-homogeneity verdict, if already computed (else computed with ``seed``).
        utility: the utility class, if already computed.
        seed: seed for the weak-homogeneity sampling.
        tol: absolute payoff tolerance (values from the initial distribution are compared within ``tol`` times
            ``max(1, max|R| / (1 - γ))``).

    Returns:
        A :class:`Verdict`: ``"not-decided"`` unless the game is common-payoff; ``"sampled"`` when weak homogeneity
        rested on sampling; else ``"exact"``.
    """
    view = tabular_view(game, "strongly_homogeneous")
    utility = utility or classify(view, tol)
    caveats = _caveats(game)
    if not utility.common_payoff:
        return Verdict(
            None,
            Method.NOT_DECIDED,
            f"{game_label(game)} is {utility.utility} ({utility.relation}): an optimal joint policy needs a single "
            "objective, so strong homogeneity is decided for common-payoff games only",
        )
    weak = weak or weakly_homogeneous(game, seed=seed, tol=tol)
    if weak.holds is not True:
        return Verdict(False, weak.method, f"not weakly homogeneous: {weak.reason}{caveats}", weak.counterexample)
    if view.n_players == 1:
        return Verdict(True, Method.EXACT, "one agent: its optimal policy is trivially identical to itself")
    verdict = _normal_form(view, tol) if view.is_normal_form else _stochastic(view, tol)
    if weak.method == Method.SAMPLED:
        return Verdict(
            verdict.holds,
            Method.SAMPLED,
            f"{verdict.reason}; weak homogeneity rests on sampling ({weak.samples} comparisons){caveats}",
            verdict.counterexample,
            weak.samples,
        )
    return Verdict(verdict.holds, verdict.method, verdict.reason + caveats, verdict.counterexample)
