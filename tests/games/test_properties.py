"""Game properties: utility classes, symmetric games / weak and strong homogeneity, the GameType descriptor.

Definitions checked here: Shoham & Leyton-Brown 2009 (SLB), Defs. 3.2.2-3.2.3 (common-payoff, constant-sum) and
§3.4.3 (dominance); Albrecht, Christianos & Schäfer 2024 (ACS), §3.1 (zero-sum / common-reward / general-sum) and
§9.7 (weakly / strongly homogeneous agents); Nash 1951, section "Symmetries of games".
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, ObservationModel, StochasticGame, catalog, repeated_game
from marlkit.games.properties import (
    GameKind,
    Method,
    Relation,
    Utility,
    describe,
    dominant_strategies,
    is_symmetric,
    optimal_values,
    require_common_payoff,
    require_fully_observable,
    require_players,
    require_two_player_zero_sum,
    require_unconstrained,
    strongly_homogeneous,
    utility_class,
    weakly_homogeneous,
)

# Payoffs [player, row action, column action].
PRISONERS_DILEMMA = [[[3, 0], [5, 1]], [[3, 5], [0, 1]]]  # C/D, Axelrod 1984 (T=5, R=3, P=1, S=0)
MATCHING_PENNIES = [[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]]  # SLB §3.2.3
BATTLE_OF_SEXES = [[[2, 0], [0, 1]], [[1, 0], [0, 2]]]  # SLB §3.2.3
COORDINATION = [[[1, 0], [0, 1]], [[1, 0], [0, 1]]]
ANTI_COORDINATION = [[[0, 1], [1, 0]], [[0, 1], [1, 0]]]
# Climbing game (Claus & Boutilier 1998, Table 1): common payoff, not symmetric (6 at (b, c), 0 at (c, b)).
CLIMBING = [[11, -30, 0], [-30, 7, 6], [0, 0, 5]]


def game(payoffs, name: str = "") -> NormalFormGame:
    return NormalFormGame(np.asarray(payoffs, dtype=float), name=name)


def common(matrix) -> NormalFormGame:
    m = np.asarray(matrix, dtype=float)
    return NormalFormGame(np.stack([m] * 2))


def public_goods(n: int = 3, r: float = 1.5) -> NormalFormGame:
    """Linear public-goods game (Ledyard 1995): contribute (1) or keep (0) an endowment of 1; u_i = 1 - a_i + r·Σa/n."""
    payoffs = np.zeros((n,) + (2,) * n)
    for a in itertools.product((0, 1), repeat=n):
        for i in range(n):
            payoffs[(i, *a)] = 1 - a[i] + r * sum(a) / n
    return NormalFormGame(payoffs, name="public goods")


def swap(sigma, joint):
    """a^σ with a^σ_σ(j) = a_j (agent σ(j) plays what j played)."""
    out = [0] * len(sigma)
    for j, a in enumerate(joint):
        out[sigma[j]] = a
    return tuple(out)


def permuted_profile(sigma, profile):
    """π^σ: agent σ(i) plays π_i."""
    out = [None] * len(sigma)
    for i, p in enumerate(profile):
        out[sigma[i]] = p
    return out


def brute_force_symmetric(g: NormalFormGame) -> bool:
    """The definition (ACS §9.7, group-action reading) checked on every pure profile and every permutation."""
    n = g.n_players
    for sigma in itertools.permutations(range(n)):
        for a in itertools.product(*(range(m) for m in g.num_actions)):
            u, v = g.payoffs[(slice(None), *a)], g.payoffs[(slice(None), *swap(sigma, a))]
            if any(abs(v[sigma[i]] - u[i]) > 1e-9 for i in range(n)):
                return False
    return True


def one_state(rewards, gamma=0.0) -> StochasticGame:
    return repeated_game(game(rewards), gamma)


# ---------------------------------------------------------------------------------------------- utility
@pytest.mark.parametrize(
    ("payoffs", "utility", "relation", "payoff_sum"),
    [
        (MATCHING_PENNIES, Utility.ZERO_SUM, Relation.COMPETITIVE, 0.0),
        ([[[2, 0], [1, 3]], [[1, 3], [2, 0]]], Utility.CONSTANT_SUM, Relation.COMPETITIVE, 3.0),  # u1 + u2 = 3
        (COORDINATION, Utility.COMMON_PAYOFF, Relation.COOPERATIVE, None),
        (PRISONERS_DILEMMA, Utility.GENERAL_SUM, Relation.MIXED, None),
    ],
)
def test_utility_classes(payoffs, utility, relation, payoff_sum) -> None:
    # SLB Defs. 3.2.2-3.2.3; relation names ACS §3.1 (common reward = cooperative, zero-sum = competitive).
    cls = utility_class(game(payoffs))
    assert (cls.utility, cls.relation, cls.payoff_sum) == (utility, relation, payoff_sum)
    assert cls.relation == RELATION_NAMES[utility]


RELATION_NAMES = {
    Utility.ZERO_SUM: "competitive",
    Utility.CONSTANT_SUM: "competitive",
    Utility.COMMON_PAYOFF: "cooperative",
    Utility.GENERAL_SUM: "mixed",
}


def test_tolerance_is_1e_minus_9_absolute() -> None:
    mp = np.asarray(MATCHING_PENNIES, dtype=float)
    assert utility_class(game(mp + np.array([1e-12, 0])[:, None, None])).utility == Utility.ZERO_SUM
    assert utility_class(game(mp + np.array([1e-6, 0])[:, None, None])).utility == Utility.CONSTANT_SUM
    noisy = mp.copy()
    noisy[0, 0, 0] += 1e-6
    assert utility_class(game(noisy)).utility == Utility.GENERAL_SUM


def scaled_pennies(scale: float, deviation: float, everywhere: bool) -> NormalFormGame:
    """Matching pennies times ``scale`` with B = −A + ``deviation`` (at every outcome, or at outcome (0, 0) only)."""
    A = scale * np.asarray(MATCHING_PENNIES[0], dtype=float)
    shift = np.full((2, 2), deviation) if everywhere else np.array([[deviation, 0.0], [0.0, 0.0]])
    return NormalFormGame(np.stack([A, -A + shift]), name="scaled pennies")


@pytest.mark.parametrize("everywhere", [True, False])
def test_scaled_matching_pennies_has_one_class_for_properties_cli_and_solvers(
    everywhere: bool, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Matching pennies scaled by 1e6 with B = −A + 1e-4 is **zero-sum**, for every reader of the class (issue 13).

    Why zero-sum: (1) a change of unit changes no strategic property, so the class must not depend on it; divided by
    1e6 this game is matching pennies with B = −A + 1e-10, zero-sum under the absolute 1e-9 by any rule.
    (2) The deviation 1e-4 is 5e-11 of the payoff range 2e6, far below what the float64 LP behind minimax resolves
    (~1e-9 relative), so no computation on the game can tell it from zero-sum: the minimax pair of the zero-sum
    game is an ε-equilibrium of this one with ε <= 2e-4. The one rule (tolerance 1e-9 · max(1, largest |payoff|),
    :func:`constant_sum_total`) says so; before, ``classify`` (absolute 1e-9) called the one-outcome variant
    general-sum and the everywhere variant constant-sum (1e-4), while the minimax check (relative) accepted both
    as constant-sum games. A deviation above the tolerance (1e-2 > 1e-3) is refused by all of them alike.
    """
    from marlkit.cli import main
    from marlkit.games import save_game
    from marlkit.games.properties import constant_sum_total
    from marlkit.solve.zero_sum import maximin

    g = scaled_pennies(1e6, 1e-4, everywhere)
    unit = scaled_pennies(1.0, 1e-10, everywhere)
    assert utility_class(g) == utility_class(unit) == utility_class(game(MATCHING_PENNIES))
    assert (utility_class(g).utility, utility_class(g).payoff_sum) == (Utility.ZERO_SUM, 0.0)
    assert describe(g).utility == Utility.ZERO_SUM and describe(g).payoff_sum == 0.0
    assert constant_sum_total(g) == 0.0
    assert require_two_player_zero_sum(g, "minimax", allow_constant_sum=True).utility == Utility.ZERO_SUM
    eq = maximin(g)
    np.testing.assert_allclose(eq.values, [0.0, 0.0], atol=1e-3)
    path = save_game(g, tmp_path / "scaled.json")
    assert main(["show", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["properties"]["utility"] == "zero-sum"
    assert main(["solve", str(path), "--concept", "minimax", "--json"]) == 0
    capsys.readouterr()

    far = scaled_pennies(1e6, 1e-2, everywhere)  # above 1e-9 · 1e6
    expected = Utility.CONSTANT_SUM if everywhere else Utility.GENERAL_SUM
    assert utility_class(far).utility == describe(far).utility == expected
    assert (constant_sum_total(far) is None) == (not everywhere)
    if not everywhere:
        with pytest.raises(NotApplicableError, match="general-sum"):
            maximin(far)
        path = save_game(far, tmp_path / "far.json")
        assert main(["show", str(path), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["properties"]["utility"] == "general-sum"
        assert main(["solve", str(path), "--concept", "minimax", "--json"]) == 2


def test_one_player_and_trivial_games() -> None:
    solo = NormalFormGame(np.array([[3.0, 1.0, 2.0]]))
    t = describe(solo)
    assert (t.utility, t.relation) == (Utility.COMMON_PAYOFF, Relation.COOPERATIVE)  # trivially one interest
    assert t.weakly_homogeneous.holds and t.strongly_homogeneous.holds
    # All payoffs zero: zero-sum and common-payoff at once; reported common-payoff, the zero sum kept.
    zero = utility_class(game(np.zeros((2, 2, 2))))
    assert zero.utility == Utility.COMMON_PAYOFF and zero.zero_sum and zero.payoff_sum == 0.0
    assert require_two_player_zero_sum(game(np.zeros((2, 2, 2))), "test").zero_sum


def test_stochastic_classes_ignore_terminal_states_and_illegal_joint_actions() -> None:
    # States: 0 live, 1 terminal. In state 0 action 1 of agent 1 is illegal; its reward (5, 5) and the
    # terminal state's rewards would break zero-sum but are never paid.
    T = np.zeros((2, 2, 2, 2))
    T[..., 1] = 1.0
    R = np.zeros((2, 2, 2, 2))
    R[0, 0] = [[1, 5], [-1, 5]]
    R[1, 0] = [[-1, 5], [1, 5]]
    R[:, 1] = 7.0
    mask = np.array([[[1, 1], [1, 1]], [[1, 0], [1, 1]]], dtype=bool)
    g = StochasticGame(T, R, [1.0, 0.0], 0.9, terminal=[False, True], action_mask=mask)
    assert utility_class(g).utility == Utility.ZERO_SUM
    assert describe(g).kind == GameKind.STOCHASTIC


def test_bad_input_is_rejected() -> None:
    with pytest.raises(InvalidGameError, match="expected a NormalFormGame or StochasticGame"):
        describe(np.zeros((2, 2, 2)))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- weak homogeneity (NF)
@pytest.mark.parametrize("payoffs", [PRISONERS_DILEMMA, COORDINATION, ANTI_COORDINATION])
def test_two_player_symmetric_games_are_weakly_homogeneous(payoffs) -> None:
    verdict = weakly_homogeneous(game(payoffs))
    assert (verdict.holds, verdict.method) == (True, Method.EXACT)
    assert is_symmetric(game(payoffs))


def test_asymmetric_game_has_a_checkable_counterexample() -> None:
    g = game(BATTLE_OF_SEXES)
    verdict = weakly_homogeneous(g)
    assert (verdict.holds, verdict.method) == (False, Method.EXACT)
    ex = verdict.counterexample
    sigma, i = ex["permutation"], ex["player"]
    # The pure profile ex["joint_action"] is a counterexample to U_σ(i)(π^σ) = U_i(π).
    assert tuple(ex["permuted_joint_action"]) == swap(sigma, ex["joint_action"])
    u = g.pure_utility(ex["joint_action"])[i]
    v = g.pure_utility(ex["permuted_joint_action"])[sigma[i]]
    assert (u, v) == (ex["utility"], ex["permuted_utility"]) and u != v
    assert not brute_force_symmetric(g)


def test_three_player_public_goods_is_symmetric() -> None:
    # Linear public-goods games are symmetric: u_i depends on a_i and Σa only (Ledyard 1995).
    g = public_goods()
    assert brute_force_symmetric(g)
    assert (weakly_homogeneous(g).holds, weakly_homogeneous(g).method) == (True, Method.EXACT)


def test_index_convention_group_action_not_the_literal_reading() -> None:
    """ACS §9.7 read literally (agent j gets π_σ(j), utility U_σ(i)) fails the symmetric public-goods game."""
    g, rng = public_goods(), np.random.default_rng(3)
    profile = [rng.dirichlet(np.ones(2)) for _ in range(3)]
    cycle = (1, 2, 0)
    U = g.expected_utility(profile)
    literal = g.expected_utility([profile[cycle[j]] for j in range(3)])
    group = g.expected_utility(permuted_profile(cycle, profile))
    assert any(abs(literal[cycle[i]] - U[i]) > 1e-6 for i in range(3))  # literal reading violated
    assert all(abs(group[cycle[i]] - U[i]) < 1e-12 for i in range(3))  # the convention we implement holds


def test_three_player_game_invariant_under_a_transposition_but_not_the_cycle() -> None:
    # u_0 = u_1 = a_2 (player 2's action), u_2 = 0: invariant under swapping players 0 and 1 only.
    payoffs = np.zeros((3, 2, 2, 2))
    for a in itertools.product((0, 1), repeat=3):
        payoffs[(0, *a)] = payoffs[(1, *a)] = a[2]
    g = NormalFormGame(payoffs)
    a = (0, 1, 1)
    assert all(g.pure_utility(swap((1, 0, 2), a))[[1, 0, 2][i]] == g.pure_utility(a)[i] for i in range(3))
    verdict = weakly_homogeneous(g)
    assert verdict.holds is False and verdict.counterexample["permutation"] == [1, 2, 0]
    assert not brute_force_symmetric(g)


def test_different_action_counts_are_never_weakly_homogeneous() -> None:
    g = NormalFormGame(np.zeros((2, 2, 3)))
    verdict = weakly_homogeneous(g)
    assert (verdict.holds, verdict.method) == (False, Method.EXACT)
    assert verdict.counterexample == {"num_actions": [2, 3]}


@st.composite
def symmetric_games(draw):
    """A random symmetric game: symmetrise a random tensor by averaging its images under all permutations."""
    n = draw(st.integers(2, 3))
    m = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(n,) + (m,) * n)
    sym = np.zeros_like(raw)
    for sigma in itertools.permutations(range(n)):
        for a in itertools.product(range(m), repeat=n):
            b = swap(sigma, a)
            for i in range(n):
                sym[(sigma[i], *b)] += raw[(i, *a)]
    sym /= math.factorial(n)
    return NormalFormGame(sym), NormalFormGame(raw), rng


@settings(max_examples=40, deadline=None)
@given(symmetric_games())
def test_permuting_players_of_a_symmetric_game_permutes_utilities(case) -> None:
    g, raw, rng = case
    n, m = g.n_players, g.num_actions[0]
    assert (weakly_homogeneous(g).holds, weakly_homogeneous(g).method) == (True, Method.EXACT)
    for _ in range(3):
        profile = [rng.dirichlet(np.full(m, 0.5)) if m > 1 else np.ones(1) for _ in range(n)]
        U = g.expected_utility(profile)
        for sigma in itertools.permutations(range(n)):
            V = g.expected_utility(permuted_profile(sigma, profile))
            np.testing.assert_allclose([V[sigma[i]] for i in range(n)], U, atol=1e-10)
    # The unsymmetrised tensor is generically asymmetric, and its verdict agrees with brute force.
    assert weakly_homogeneous(raw).holds == brute_force_symmetric(raw)


# ----------------------------------------------------------------------------- weak homogeneity (SG)
def chain_game(reward_s0, reward_s2, mask=None) -> StochasticGame:
    """State 0 (initial) -> state 1 (terminal) under every joint action; state 2 is unreachable (self-loop)."""
    T = np.zeros((3, 2, 2, 3))
    T[0, ..., 1] = 1.0
    T[2, ..., 2] = 1.0
    R = np.zeros((2, 3, 2, 2))
    R[:, 0], R[:, 2] = reward_s0, reward_s2
    return StochasticGame(T, R, [1.0, 0.0, 0.0], 0.9, terminal=[False, True, False], action_mask=mask)


def test_tensor_check_ignores_an_unreachable_asymmetric_state() -> None:
    g = chain_game(PRISONERS_DILEMMA, BATTLE_OF_SEXES)
    verdict = weakly_homogeneous(g)
    assert (verdict.holds, verdict.method) == (True, Method.EXACT)
    assert "1 reachable" in verdict.reason
    assert weakly_homogeneous(chain_game(BATTLE_OF_SEXES, PRISONERS_DILEMMA)).holds is False


def test_masks_that_differ_at_a_reachable_state_make_policies_unswappable() -> None:
    mask = np.ones((2, 3, 2), dtype=bool)
    mask[1, 2, 1] = False  # unreachable state: ignored
    assert weakly_homogeneous(chain_game(PRISONERS_DILEMMA, PRISONERS_DILEMMA, mask)).holds is True
    mask[1, 0, 1] = False  # reachable state 0: agent 1 cannot play action 1
    verdict = weakly_homogeneous(chain_game(PRISONERS_DILEMMA, PRISONERS_DILEMMA, mask))
    assert (verdict.holds, verdict.method) == (False, Method.EXACT)
    assert verdict.counterexample["state"] == 0


def test_sampling_confirms_homogeneity_the_tensor_test_cannot_prove() -> None:
    # Two equally likely initial states paying (1, 0) and (0, 1) whatever is played, then a terminal state:
    # U_0 = U_1 = 1/2 for every policy, although R is not invariant at either state.
    T = np.zeros((3, 2, 2, 3))
    T[:2, ..., 2] = 1.0
    T[2, ..., 2] = 1.0
    R = np.zeros((2, 3, 2, 2))
    R[0, 0], R[1, 1] = 1.0, 1.0
    g = StochasticGame(T, R, [0.5, 0.5, 0.0], 0.5, terminal=[False, False, True])
    verdict = weakly_homogeneous(g, samples=8)
    assert (verdict.holds, verdict.method, verdict.samples) == (True, Method.SAMPLED, 8)
    assert "evidence" in verdict.reason


def test_sampled_counterexample_is_a_real_counterexample() -> None:
    g = one_state(BATTLE_OF_SEXES, gamma=0.9)  # repeated battle of the sexes: asymmetric
    verdict = weakly_homogeneous(g, seed=7)
    assert (verdict.holds, verdict.method) == (False, Method.SAMPLED)
    ex = verdict.counterexample
    sigma, i, policy = ex["permutation"], ex["player"], ex["policy"]
    U = g.expected_return(policy)
    V = g.expected_return(policy[[sigma.index(k) for k in range(2)]])
    assert U[i] == pytest.approx(ex["utility"]) and V[sigma[i]] == pytest.approx(ex["permuted_utility"])
    assert abs(U[i] - V[sigma[i]]) > 1e-6
    assert weakly_homogeneous(g, seed=7).to_dict() == verdict.to_dict()  # reproducible


def test_repeated_symmetric_game_and_forced_sampling() -> None:
    g = one_state(PRISONERS_DILEMMA, gamma=0.9)
    assert weakly_homogeneous(g).method == Method.EXACT and weakly_homogeneous(g).holds
    forced = weakly_homogeneous(g, max_exact_entries=0, samples=4)
    assert (forced.holds, forced.method, forced.samples) == (True, Method.SAMPLED, 4)
    assert "too large" in forced.reason


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(2, 3))
def test_symmetrised_stochastic_games_are_exactly_homogeneous(seed, S, m) -> None:
    # Symmetrise T over the joint-action axes and R over players + action axes (2 players), then check the
    # definition directly on random policies with StochasticGame.expected_return.
    rng = np.random.default_rng(seed)
    T = rng.dirichlet(np.ones(S), size=(S, m, m))
    T = 0.5 * (T + T.transpose(0, 2, 1, 3))
    R = rng.normal(size=(2, S, m, m))
    R = 0.5 * (R + R[::-1].transpose(0, 1, 3, 2))
    g = StochasticGame(T, R, rng.dirichlet(np.ones(S)), 0.9)
    verdict = weakly_homogeneous(g)
    assert (verdict.holds, verdict.method) == (True, Method.EXACT)
    policy = rng.dirichlet(np.ones(m), size=(2, S))
    np.testing.assert_allclose(g.expected_return(policy[::-1])[::-1], g.expected_return(policy), atol=1e-9)
    if S > 1:  # break T's symmetry at a reachable state: the exact tensor test must notice
        T[0, 0, 1], T[0, 1, 0] = np.eye(S)[0], np.eye(S)[-1]
        assert weakly_homogeneous(StochasticGame(T, R, g.initial, 0.9), samples=2).method == Method.SAMPLED


def test_three_player_stochastic_games_use_both_generators() -> None:
    repeated = repeated_game(public_goods(), 0.9)
    assert (weakly_homogeneous(repeated).holds, weakly_homogeneous(repeated).method) == (True, Method.EXACT)
    payoffs = np.zeros((3, 2, 2, 2))
    for a in itertools.product((0, 1), repeat=3):
        payoffs[(0, *a)] = payoffs[(1, *a)] = a[2]
    verdict = weakly_homogeneous(repeated_game(NormalFormGame(payoffs), 0.9))
    assert (verdict.holds, verdict.method) == (False, Method.SAMPLED)
    assert verdict.counterexample["permutation"] == [1, 2, 0]  # only the cycle breaks it


# --------------------------------------------------------------------------------- strong homogeneity
def test_coordination_with_diagonal_optimum_is_strongly_homogeneous() -> None:
    verdict = strongly_homogeneous(common([[4, 0], [0, 1]]))
    assert (verdict.holds, verdict.method) == (True, Method.EXACT)


def test_anti_coordination_is_weakly_but_not_strongly_homogeneous() -> None:
    t = describe(game(ANTI_COORDINATION))
    assert t.weakly_homogeneous.holds is True
    assert (t.strongly_homogeneous.holds, t.strongly_homogeneous.method) == (False, Method.EXACT)
    ex = t.strongly_homogeneous.counterexample
    assert (ex["team_optimum"], ex["identical_policy_optimum"]) == (1.0, 0.0)
    # Identical mixed policies x = (p, 1-p) get 2p(1-p) <= 1/2 < 1 (hand-computed).
    p = np.linspace(0, 1, 101)
    assert np.max(2 * p * (1 - p)) < 1.0


def test_strong_homogeneity_needs_common_payoff_and_weak_homogeneity() -> None:
    assert strongly_homogeneous(game(PRISONERS_DILEMMA)).method == Method.NOT_DECIDED
    assert strongly_homogeneous(game(PRISONERS_DILEMMA)).holds is None
    climbing = strongly_homogeneous(common(CLIMBING))
    assert climbing.holds is False and "not weakly homogeneous" in climbing.reason


def test_strong_homogeneity_in_stochastic_games() -> None:
    # Repeated anti-coordination, γ = 1/2: team optimum 1/(1 - γ) = 2, identical deterministic policies get 0.
    anti = strongly_homogeneous(one_state(ANTI_COORDINATION, gamma=0.5))
    assert (anti.holds, anti.method) == (False, Method.EXACT)
    assert anti.counterexample["team_optimum"] == pytest.approx(2.0)
    assert anti.counterexample["identical_policy_optimum"] == pytest.approx(0.0)
    assert strongly_homogeneous(one_state(COORDINATION, gamma=0.5)).holds is True


def test_strong_homogeneity_uses_the_dynamics() -> None:
    # State 0: a diagonal joint action pays 0 and moves to state 1 (which pays 10 on the diagonal, then ends);
    # an off-diagonal one pays 1 and ends. Team optimum 0 + γ·10 = 9 is reached by identical policies.
    T = np.zeros((3, 2, 2, 3))
    T[0, 0, 0, 1] = T[0, 1, 1, 1] = 1.0
    T[0, 0, 1, 2] = T[0, 1, 0, 2] = 1.0
    T[1, ..., 2] = 1.0
    T[2, ..., 2] = 1.0
    R = np.zeros((2, 3, 2, 2))
    R[:, 0] = [[0, 1], [1, 0]]
    R[:, 1] = [[10, 0], [0, 10]]
    g = StochasticGame(T, R, [1.0, 0.0, 0.0], 0.9, terminal=[False, False, True])
    assert strongly_homogeneous(g).holds is True
    R[:, 1] = [[0, 10], [10, 0]]  # now the best continuation is off the diagonal
    g2 = StochasticGame(T, R, [1.0, 0.0, 0.0], 0.9, terminal=[False, False, True])
    verdict = strongly_homogeneous(g2)
    assert verdict.holds is False
    # Team: diagonal now, off-diagonal later, 0 + 0.9·10 = 9 (> 1); identical policies: 0 + 0.9·0 = 0.
    assert verdict.counterexample["team_optimum"] == pytest.approx(9.0)
    assert verdict.counterexample["identical_policy_optimum"] == pytest.approx(0.0)


def test_posg_and_constrained_games_are_decided_on_the_state_game() -> None:
    base = one_state(COORDINATION, gamma=0.5)
    obs = ObservationModel((np.ones((1, 1)), np.ones((1, 1))))
    posg = StochasticGame(base.transitions, base.rewards, base.initial, 0.5, observations=obs)
    verdict = strongly_homogeneous(posg)
    assert verdict.holds is True and "underlying state-based game" in verdict.reason
    t = describe(posg)
    assert t.partially_observable and not t.constrained


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.integers(1, 4))
def test_policy_iteration_matches_value_iteration(seed, S, J) -> None:
    # Oracle: value iteration to convergence (γ = 0.8, 300 sweeps: error <= 0.8^300·max|R|/(1-γ) < 1e-25).
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(S, J))
    T = rng.dirichlet(np.ones(S), size=(S, J))
    allowed = rng.random((S, J)) < 0.7
    allowed[np.arange(S), rng.integers(0, J, S)] = True
    terminal = np.zeros(S, dtype=bool)
    V = np.zeros(S)
    for _ in range(300):
        V = np.where(allowed, R + 0.8 * T @ V, -np.inf).max(axis=1)
    values, policy = optimal_values(R, T, allowed, 0.8, terminal)
    np.testing.assert_allclose(values, V, atol=1e-9)
    assert allowed[np.arange(S), policy].all()


# ------------------------------------------------------------------------------------------ dominance
def test_dominant_strategies() -> None:
    assert dominant_strategies(game(PRISONERS_DILEMMA)) == (1, 1)  # defect (SLB §3.4.3)
    assert dominant_strategies(game(MATCHING_PENNIES)) == (None, None)
    # Row's action 0 strictly dominates; column's payoffs tie in one column, so no strict dominance.
    assert dominant_strategies(game([[[2, 3], [1, 0]], [[1, 1], [0, 2]]])) == (0, None)
    assert dominant_strategies(NormalFormGame(np.zeros((2, 1, 2)))) == (0, None)  # a lone action, vacuously
    with pytest.raises(NotApplicableError, match="NormalFormGame"):
        dominant_strategies(one_state(PRISONERS_DILEMMA))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------- descriptor
def test_descriptor_fields_and_json() -> None:
    t = describe(game(PRISONERS_DILEMMA, "pd"))
    assert (t.n_players, t.num_actions, t.num_states, t.kind) == (2, (2, 2), 1, GameKind.NORMAL_FORM)
    assert (t.utility, t.relation, t.payoff_sum) == (Utility.GENERAL_SUM, Relation.MIXED, None)
    data = json.loads(json.dumps(t.to_dict()))
    expected = {
        "n_players", "num_actions", "num_states", "kind", "partially_observable", "constrained", "utility",
        "payoff_sum", "relation", "weakly_homogeneous", "strongly_homogeneous",
    }  # fmt: skip
    assert set(data) == expected  # docs/cli-json.md, plus payoff_sum
    assert data["utility"] == "general-sum" and data["kind"] == "normal-form"
    assert set(data["weakly_homogeneous"]) >= {"holds", "method", "reason", "counterexample"}
    assert data["strongly_homogeneous"]["method"] == "not-decided"
    with pytest.raises(AttributeError):
        t.n_players = 3  # type: ignore[misc]


def test_large_counterexample_arrays_are_summarised_in_json() -> None:
    T = np.zeros((200, 2, 2, 200))
    T[..., 0] = 1.0
    R = np.broadcast_to(np.asarray(BATTLE_OF_SEXES, dtype=float)[:, None], (2, 200, 2, 2))
    verdict = weakly_homogeneous(StochasticGame(T, R, np.full(200, 1 / 200), 0.9))
    assert verdict.holds is False and verdict.counterexample["policy"].shape == (2, 200, 2)
    assert "omitted" in json.dumps(verdict.to_dict())


def test_requirements_say_what_applies_instead() -> None:
    assert require_two_player_zero_sum(game(MATCHING_PENNIES), "minimax-Q").payoff_sum == 0.0
    with pytest.raises(NotApplicableError, match=r"minimax-Q needs a two-player zero-sum game.*general-sum.*Nash"):
        require_two_player_zero_sum(game(PRISONERS_DILEMMA), "minimax-Q")
    with pytest.raises(NotApplicableError, match="has 3 players"):
        require_two_player_zero_sum(public_goods(), "minimax-Q")
    constant = game([[[2, 0], [1, 3]], [[1, 3], [2, 0]]])
    with pytest.raises(NotApplicableError, match=r"summing to 3.*Subtract the constant"):
        require_two_player_zero_sum(constant, "Shapley iteration")
    assert require_two_player_zero_sum(constant, "LP", allow_constant_sum=True).payoff_sum == 3.0
    assert require_common_payoff(common(CLIMBING), "VDN").common_payoff
    with pytest.raises(NotApplicableError, match=r"common-payoff.*zero-sum"):
        require_common_payoff(game(MATCHING_PENNIES), "VDN")
    require_players(game(MATCHING_PENNIES), "LH", 2)
    with pytest.raises(NotApplicableError, match="2-player"):
        require_players(public_goods(), "LH", 2)
    obs = ObservationModel((np.ones((1, 1)), np.ones((1, 1))))
    base = one_state(COORDINATION)
    posg = StochasticGame(base.transitions, base.rewards, base.initial, 0.0, observations=obs)
    require_fully_observable(base, "Nash-Q")
    with pytest.raises(NotApplicableError, match="partially observable"):
        require_fully_observable(posg, "Nash-Q")
    costly = StochasticGame(
        base.transitions, base.rewards, base.initial, 0.0, costs=np.ones((2, 1, 1, 2, 2)), limits=np.ones((2, 1))
    )
    require_unconstrained(base, "Q-learning")
    with pytest.raises(NotApplicableError, match="cost constraint"):
        require_unconstrained(costly, "Q-learning")
    assert describe(costly).constrained


# -------------------------------------------------------------------------------------------- catalog
def test_catalog_games_have_the_expected_types() -> None:
    pd = describe(catalog.make("prisoners-dilemma"))
    assert pd.weakly_homogeneous.holds and pd.utility == Utility.GENERAL_SUM  # symmetric (Nash 1951)
    assert is_symmetric(catalog.make("prisoners-dilemma"))
    mp = describe(catalog.make("matching-pennies"))
    assert (mp.utility, mp.relation, mp.weakly_homogeneous.holds) == (Utility.ZERO_SUM, Relation.COMPETITIVE, False)
    climbing = describe(catalog.make("climbing"))  # Claus & Boutilier 1998
    assert (climbing.utility, climbing.relation) == (Utility.COMMON_PAYOFF, Relation.COOPERATIVE)
    soccer = describe(catalog.make("soccer"))  # Littman 1994: zero-sum
    assert (soccer.utility, soccer.relation, soccer.num_states) == (Utility.ZERO_SUM, Relation.COMPETITIVE, 761)
    assert soccer.weakly_homogeneous.holds is False  # the players attack opposite goals


def test_every_catalog_entry_can_be_described() -> None:
    for name, entry in catalog.CATALOG.items():
        t = describe(entry.factory())
        json.dumps(t.to_dict())
        assert t.relation == RELATION_NAMES[t.utility], name
        if t.utility != Utility.COMMON_PAYOFF:
            assert t.strongly_homogeneous.method == Method.NOT_DECIDED, name


# ---------------------------------------------------------------------------------------- constrained games
# Issue 18: parameter sharing must not be licensed where the agents' constraints differ. The rewards and
# transitions of these games are symmetric; only the costs or the limits break the symmetry.


def _resource_game(costs: np.ndarray | None, limits: np.ndarray | None) -> StochasticGame:
    base = catalog.make("resource-sharing")
    return StochasticGame(
        transitions=base.transitions,
        rewards=base.rewards,
        initial=base.initial,
        gamma=base.gamma,
        costs=costs,
        limits=limits,
    )


def test_constrained_game_with_symmetric_costs_and_limits_is_weakly_homogeneous():
    verdict = weakly_homogeneous(catalog.make("resource-sharing"))
    assert verdict.holds is True and verdict.method == "exact"
    assert "cost channel" in verdict.reason


def test_costs_on_one_agent_only_break_weak_homogeneity():
    base = catalog.make("resource-sharing")
    costs = base.costs.copy()
    costs[1] = 0.0  # agent 1's high use is free, agent 0's is not
    verdict = weakly_homogeneous(_resource_game(costs, base.limits))
    assert verdict.holds is False
    assert verdict.reason.startswith("cost 0:")
    assert weakly_homogeneous(_resource_game(None, None)).holds is True  # without costs the game is symmetric


def test_different_limits_break_weak_homogeneity_and_strong_follows():
    base = catalog.make("resource-sharing")
    game = _resource_game(base.costs, np.array([[4.0], [2.0]]))
    verdict = weakly_homogeneous(game)
    assert verdict.holds is False and verdict.method == "exact"
    assert "limits differ" in verdict.reason
    assert strongly_homogeneous(game).holds is not True
