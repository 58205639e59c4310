"""The six criteria on synthetic Histories whose metrics, z0 and targets are worked out by hand.

Every History here is built directly (no learner): T = 100 logging points 100 steps apart, policies chosen so that
the distances have closed forms. For two agents who both play action 0 with probability p in a 2x2 game:

* TV(joint of (p, 1-p) x (p, 1-p), uniform joint) = d + d² with d = p - 1/2 (expand the four cells);
* TV(that joint, the point mass on (1, 1)) = 1 - (1 - p)².
"""

import numpy as np
import pytest

from marlkit.diagnose.criteria import (
    CRITERION_FUNCTIONS,
    DEFAULT_EPS,
    average_return,
    averaged_joint_policy,
    default_eps,
    empirical_distribution,
    evaluate,
    expected_return,
    joint_policy,
    set_of_solutions,
)
from marlkit.diagnose.results import CRITERIA, Verdict
from marlkit.diagnose.solution_sets import FiniteSolutionSet, NashConvSet, solution_set
from marlkit.errors import InvalidGameError, UnknownNameError
from marlkit.games import NormalFormGame, StochasticGame, catalog, repeated_game
from marlkit.history import History

T, EVERY = 100, 100
STEPS = np.arange(1, T + 1) * EVERY


def _history(p: np.ndarray, window_counts: np.ndarray | None = None, returns: np.ndarray | None = None) -> History:
    """Two agents in a one-state 2x2 game, both playing action 0 with probability ``p [N, T]``.

    ``window_counts [N, T, 2, 2]`` joint actions played per window (default: 100 plays of (0, 0) per window);
    ``returns [N, T, 2]`` the mean episode return per window (one play per episode; NaN: no episode finished).
    """
    p = np.asarray(p, dtype=np.float64)
    N = p.shape[0]
    row = np.stack([p, 1.0 - p], axis=-1)  # [N, T, 2]
    policy = np.stack([row, row], axis=2)[:, :, :, None, :]  # [N, T, n=2, S=1, A=2]
    if window_counts is None:
        window_counts = np.zeros((N, T, 2, 2), dtype=np.int64)
        window_counts[..., 0, 0] = EVERY
    if returns is None:
        returns = np.zeros((N, T, 2))
    episodes = np.where(np.isnan(returns[..., 0]), 0, EVERY)
    return History(
        steps=STEPS,
        seeds=np.arange(N),
        policy=policy.astype(np.float32),
        average_policy=np.full(policy.shape, np.nan, dtype=np.float32),
        has_average_policy=np.zeros(2, dtype=bool),
        joint_counts=np.cumsum(window_counts, axis=1)[:, :, None],
        episode_return=returns,
        episode_count=episodes,
        reward_mean=np.nan_to_num(returns),
    )


def _step_down(k0: int, before: float, after: float) -> np.ndarray:
    return np.where(np.arange(T) < k0, before, after)


# ---------------------------------------------------------------------------- converging at a known z0
@pytest.fixture(scope="module")
def pennies():
    game = catalog.make("matching-pennies")
    return game, solution_set(game)


def test_joint_policy_converging_at_known_z0(pennies):
    game, nash = pennies
    k0 = np.array([10, 30])
    p = np.stack([_step_down(k, 0.9, 0.5) for k in k0])  # far from the mixed equilibrium, then exactly on it
    result = joint_policy(_history(p), game, nash)
    d = 0.4
    assert np.allclose(result.metric[0, :10], d + d * d) and np.allclose(result.metric[0, 10:], 0.0, atol=1e-7)
    for seed, k in enumerate(k0):
        v = result.verdicts[seed]
        assert v.verdict is Verdict.CONVERGED and v.z0 == STEPS[k] and v.target == 0
    assert result.eps == DEFAULT_EPS["joint_policy"] and result.criterion == "joint_policy"


def test_expected_return_converging_at_known_z0(pennies):
    game, nash = pennies
    result = expected_return(_history(_step_down(25, 0.9, 0.5)[None]), game, nash)
    # U_0 at p = 0.9 for both: 0.81 - 2 * 0.09 + 0.01 = 0.64; the value of matching pennies is 0
    assert np.allclose(result.metric[0, :25], 0.64) and np.allclose(result.metric[0, 25:], 0.0, atol=1e-7)
    assert result.eps == pytest.approx(0.05 * 2.0)  # 5% of the payoff range [-1, 1]
    assert result.verdicts[0].verdict is Verdict.CONVERGED and result.verdicts[0].z0 == STEPS[25]


def _first_below(metric: np.ndarray, eps: float) -> int:
    return int(np.flatnonzero(metric < eps)[0])


def test_empirical_distribution_and_set_from_the_window_weighted_average(pennies):
    game, nash = pennies
    k0 = 3
    history = _history(_step_down(k0, 0.9, 0.5)[None])
    # joint average: window t is played by snapshot t - 1 (window 0 by snapshot 0), so windows 0..k0 play the
    # p = 0.9 product J and the rest the uniform joint U; TV(a J + (1 - a) U, U) = a TV(J, U) = a (d + d²), d = 0.4
    a = np.minimum(k0 + 1, np.arange(T) + 1) / (np.arange(T) + 1)
    expected = a * (0.4 + 0.4**2)
    for criterion in (empirical_distribution, set_of_solutions):
        result = criterion(history, game, nash)
        assert np.allclose(result.metric[0], expected, atol=1e-6)
        v = result.verdicts[0]
        assert v.verdict is Verdict.CONVERGED and v.z0 == STEPS[_first_below(expected, 0.05)] and v.target == 0
    assert any("left end" in note for note in empirical_distribution(history, game, nash).notes)
    # source="product": the product of the per-agent averages, p̄ = 0.5 + 0.4 k0 / (t + 1) once t >= k0 (snapshot
    # t closes window t), so TV = d + d² with d = p̄ - 1/2
    d = 0.4 * np.minimum(k0, np.arange(T) + 1) / (np.arange(T) + 1)
    for criterion in (empirical_distribution, set_of_solutions):
        product = criterion(history, game, nash, source="product")
        assert np.allclose(product.metric[0], d + d * d, atol=1e-6)
        assert any("deviation" in note for note in product.notes)


def test_the_joint_average_is_correlated_where_the_product_of_averages_is_not():
    """Both agents switch together between the pure equilibria (0, 0) and (1, 1) of stag hunt every window: the
    time-average of the joint policy is ½ (0,0) + ½ (1,1), a correlated distribution inside the CE polytope (a mix
    of equilibria), while the product of the per-agent averages is uniform over the four cells, outside it (TV 0.2
    from the polytope by the LP). Review finding M1: a product of averages is never correlated."""
    game = catalog.make("stag-hunt")
    ce = solution_set(game, "ce")
    assert ce.contains(np.array([0.5, 0.0, 0.0, 0.5])) and not ce.contains(np.full(4, 0.25))
    p = np.where(np.arange(T) % 2 == 0, 1.0, 0.0)[None]  # both play 0 at even points, 1 at odd points
    history = _history(p)
    joint = empirical_distribution(history, game, ce)
    product = empirical_distribution(history, game, ce, source="product")
    assert joint.metric[0, -1] == pytest.approx(0.0, abs=1e-9)  # T even: equal weight on both profiles
    uniform_distance = ce.measure(np.full((1, 1, 4), 0.25), np.ones(1), "tv")[0][0]
    assert uniform_distance > 0.1 and product.metric[0, -1] == pytest.approx(uniform_distance, abs=1e-6)


def test_empirical_distribution_reads_the_learners_own_average_where_kept(pennies):
    game, nash = pennies
    history = _history(np.full((1, T), 0.9))  # snapshots far from equilibrium at every point ...
    average = np.full(history.policy.shape, 0.5, dtype=np.float32)  # ... but the learner's own average is on it
    kept = History(**{**history.__dict__, "average_policy": average, "has_average_policy": np.ones(2, dtype=bool)})
    assert empirical_distribution(history, game, nash, source="product").verdicts[0].verdict is Verdict.NOT_CONVERGED
    result = empirical_distribution(kept, game, nash, source="product")
    assert np.allclose(result.metric, 0.0, atol=1e-7) and result.verdicts[0].z0 == STEPS[0]
    assert any("own running average" in note for note in result.notes)
    # the default joint average reads the snapshots, not the learner's per-agent average
    assert empirical_distribution(kept, game, nash).verdicts[0].verdict is Verdict.NOT_CONVERGED


def test_averaged_joint_policy_from_play_frequencies(pennies):
    game, nash = pennies
    k0 = 3
    counts = np.zeros((1, T, 2, 2), dtype=np.int64)
    counts[0, :k0, 0, 0] = EVERY
    counts[0, k0:] = EVERY // 4  # every joint action equally often from window k0 on
    history = _history(np.full((1, T), 0.5), window_counts=counts)
    result = averaged_joint_policy(history, game, nash, eps=0.04)  # 0.05 would meet the metric exactly at t = 45
    # frequency of (0,0) = 1/4 + (3/4) k0 / t, each other cell 1/4 - k0 / (4 t) after t windows: TV = 0.75 k0 / t
    t = np.arange(T) + 1.0
    expected = 0.75 * np.minimum(k0, t) / t
    assert np.allclose(result.metric[0], expected)
    assert result.verdicts[0].verdict is Verdict.CONVERGED and result.verdicts[0].z0 == STEPS[56]  # 2.25/57 < 0.04


def test_average_return_running_mean_skips_windows_without_episodes(pennies):
    game, nash = pennies
    k0 = 3
    returns = np.zeros((1, T, 2))
    returns[0, :k0] = [1.0, -1.0]  # agent 0 wins every play at first, then breaks even
    returns[0, 50:55] = np.nan  # no episode finished in these windows: they carry no weight
    result = average_return(_history(np.full((1, T), 0.5), returns=returns), game, nash)
    windows = np.cumsum(np.where(np.isnan(returns[0, :, 0]), 0, 1))  # windows with episodes, 100 plays each
    assert np.allclose(result.metric[0], np.minimum(k0, windows) / windows)
    assert result.eps == pytest.approx(0.1)
    assert result.verdicts[0].z0 == STEPS[30]  # 3 / 31 < 0.1 <= 3 / 30


# ---------------------------------------------------------------------------------------- oscillating
def test_oscillating_history_is_not_converged(pennies):
    game, nash = pennies
    on = (np.arange(T) // 5) % 2 == 0  # five windows on the equilibrium, five far from it, and again
    results = evaluate(_history(np.where(on, 0.5, 0.9)[None]), game, nash, criteria=CRITERIA[:3])
    for name in ("joint_policy", "expected_return"):
        v = results[name].verdicts[0]
        assert v.verdict is Verdict.NOT_CONVERGED and v.evidence.crossings >= 19, (name, v.reason)
    # the joint average mixes the uniform joint and the p = 0.9 product about half and half: TV ½ (0.4 + 0.4²)
    # = 0.28 (at the end 49 of the 100 windows were played by p = 0.9 snapshots: 0.2744)
    v = results["empirical_distribution"].verdicts[0]
    assert v.verdict is Verdict.NOT_CONVERGED and v.evidence.final == pytest.approx(0.2744, abs=1e-6)


# -------------------------------------------------------------------- the second of two equilibria
def test_converging_to_the_second_of_two_pure_equilibria_names_it():
    game = catalog.make("stag-hunt")  # (stag, stag) pays 4, (hare, hare) pays 3, and a mixed equilibrium
    nash = solution_set(game)
    hare = int(np.flatnonzero(np.isclose(nash.joints[:, 0, 3], 1.0))[0])  # the member that is (1, 1) for sure
    stag = int(np.flatnonzero(np.isclose(nash.joints[:, 0, 0], 1.0))[0])
    assert hare == 1 and stag == 0  # pure equilibria first, in lexicographic order: hare is the second
    k0 = 2
    results = evaluate(_history(_step_down(k0, 0.6, 0.0)[None]), game, nash)
    policy = results["joint_policy"]
    assert np.allclose(policy.metric[0, :k0], 1 - 0.4**2) and np.allclose(policy.metric[0, k0:], 0.0)
    assert policy.verdicts[0].target == hare and policy.verdicts[0].z0 == STEPS[k0]
    returns = results["expected_return"]  # U at p = 0.6: 0.36 * 4 + 0.24 * 3 + 0.16 * 3 = 2.64 against 3
    assert np.allclose(returns.metric[0, :k0], 0.36) and returns.verdicts[0].target == hare
    assert returns.eps == pytest.approx(0.2) and returns.verdicts[0].z0 == STEPS[k0]
    # joint average: windows 0..k0 are played by the p = 0.6 product J (TV(J, hare) = 1 - 0.4² = 0.84), the rest by
    # the point mass on hare, so TV = a 0.84 with a the share of the former
    expected = 0.84 * np.minimum(k0 + 1, np.arange(T) + 1) / (np.arange(T) + 1)
    for name in ("empirical_distribution", "solution_set"):
        v = results[name].verdicts[0]
        assert v.target == hare and v.z0 == STEPS[_first_below(expected, 0.05)], name
    assert results["average_return"].verdicts[0].target == hare


def test_a_run_on_a_non_extreme_equilibrium_of_a_degenerate_game_says_so():
    """Review finding M2: the column player's L is strictly dominant and the row player is indifferent against L,
    so every (x, 1 - x) x L is an equilibrium; vertex enumeration lists only the extreme ones, x = 0 and x = 1. A
    run sitting on x = ½ (NashConv exactly 0) is at TV 0.5 from both: not converged against the listed set, and
    its reason and the notes must say that NashConv is 0 (the verdict itself is kept)."""
    game = NormalFormGame(np.stack([np.array([[1.0, 0.0], [1.0, 2.0]]), np.array([[2.0, 0.0], [2.0, 1.0]])]))
    nash = solution_set(game)
    assert len(nash.labels) == 2 and not nash.complete
    policy = np.zeros((1, T, 2, 1, 2))
    policy[..., 0, 0, :] = [0.5, 0.5]
    policy[..., 1, 0, :] = [1.0, 0.0]
    counts = np.zeros((1, T, 1, 2, 2), dtype=np.int64)
    counts[0, :, 0, 0, 0] = counts[0, :, 0, 1, 0] = EVERY // 2
    base = _history(np.full((1, T), 0.5))
    history = History(**{**base.__dict__, "policy": policy.astype(np.float32), "joint_counts": np.cumsum(counts, 1)})
    results = evaluate(history, game, nash, criteria=["joint_policy", "empirical_distribution", "solution_set"])
    for name, result in results.items():
        v = result.verdicts[0]
        assert v.verdict is Verdict.NOT_CONVERGED and np.allclose(result.metric, 0.5), name
        assert "NashConv at the end is 0" in v.reason, (name, v.reason)
        assert any("lists only some equilibria" in note for note in result.notes), name
    # a complete set gets no such note, and a run far from equilibrium gets no such reason
    far = History(**{**history.__dict__, "policy": np.roll(policy, 1, axis=-1).astype(np.float32)})
    v = joint_policy(far, game, nash).verdicts[0]
    assert v.verdict is Verdict.NOT_CONVERGED and "NashConv" not in v.reason
    pennies = catalog.make("matching-pennies")
    assert not any(
        "lists only some" in n
        for n in joint_policy(_history(np.full((1, T), 0.9)), pennies, solution_set(pennies)).notes
    )


# ------------------------------------------------------------------------------ other kinds of set
def test_polytope_set_gives_the_projection_distance_and_no_target(pennies):
    game, nash = pennies
    ce = solution_set(game, "ce")  # matching pennies has one correlated equilibrium: the uniform joint
    history = _history(_step_down(10, 0.9, 0.5)[None])
    finite, polytope = joint_policy(history, game, nash), joint_policy(history, game, ce)
    assert np.allclose(polytope.metric, finite.metric, atol=1e-7)
    assert polytope.verdicts[0].target is None and polytope.verdicts[0].z0 == STEPS[10]
    assert expected_return(history, game, ce).verdicts[0].verdict is Verdict.NOT_APPLICABLE


def test_nash_conv_set_measures_nash_conv_with_a_payoff_scaled_eps(pennies):
    game, _ = pennies
    result = joint_policy(_history(_step_down(10, 0.9, 0.5)[None]), game, NashConvSet(game))
    # p = 0.9 for both: player 0 gains 0.8 - 0.64 = 0.16 by deviating, player 1 gains 0.8 + 0.64 = 1.44
    assert np.allclose(result.metric[0, :10], 1.6) and np.allclose(result.metric[0, 10:], 0.0, atol=1e-6)
    assert result.eps == pytest.approx(0.1) and result.metric_name.startswith("NashConv")
    assert result.verdicts[0].target is None and result.verdicts[0].z0 == STEPS[10]


# ------------------------------------------------------------------------------------ stochastic games
def _two_state_game() -> StochasticGame:
    """Two states, 2x2 actions; play stays in state 0 whatever happens (state 1 is never visited from s0)."""
    transitions = np.zeros((2, 2, 2, 2))
    transitions[..., 0] = 1.0
    rewards = np.stack([np.ones((2, 2, 2)), -np.ones((2, 2, 2))])
    return StochasticGame(transitions=transitions, rewards=rewards, initial=np.array([1.0, 0.0]), gamma=0.9)


def test_stochastic_game_frequencies_are_conditioned_on_the_state_and_unvisited_states_dropped():
    game = _two_state_game()
    target = np.full((1, 2, 4), 0.25)
    member = FiniteSolutionSet(joints=target, labels=("uniform",), values=None, name="uniform")
    counts = np.zeros((1, T, 2, 2, 2), dtype=np.int64)
    counts[0, :, 0, 0, 0] = EVERY  # only (0, 0), only in state 0
    base = _history(np.full((1, T), 0.5))
    history = History(
        **{**base.__dict__, "policy": np.repeat(base.policy, 2, axis=3), "joint_counts": np.cumsum(counts, axis=1)}
    )
    history = History(**{**history.__dict__, "average_policy": np.full(history.policy.shape, np.nan)})
    # the default visitation weights give s1 (never visited) weight 0; uniform ones would drop it as unvisited too
    result = averaged_joint_policy(history, game, member)
    assert np.allclose(result.metric, 0.75)  # TV(point mass, uniform over 4) in state 0 alone
    assert any("conditioned on the state" in note for note in result.notes)
    assert expected_return(history, game, member).verdicts[0].verdict is Verdict.NOT_APPLICABLE
    na = average_return(history, game, member)
    assert na.verdicts[0].verdict is Verdict.NOT_APPLICABLE and "discounted" in na.verdicts[0].reason
    assert np.all(np.isnan(na.metric))


def test_stochastic_games_weigh_states_by_visitation_by_default():
    """Review finding M3: with uniform weights a policy that is an equilibrium where play happens but arbitrary in a
    state that is never reached was judged far from the solution. The default for multi-state games is the
    visitation weighting; one-state games keep uniform (trivially)."""
    game = _two_state_game()  # state 1 is never reached
    member = FiniteSolutionSet(joints=np.full((1, 2, 4), 0.25), labels=("uniform",), values=None, name="uniform")
    base = _history(np.full((1, T), 0.5))  # uniform in state 0, where all play happens ...
    policy = np.repeat(base.policy, 2, axis=3)
    policy[:, :, :, 1] = [1.0, 0.0]  # ... and pure in the unreachable state 1
    counts = np.zeros((1, T, 2, 2, 2), dtype=np.int64)
    counts[0, :, 0] = EVERY // 4  # every joint action equally often, only in state 0
    history = History(
        **{
            **base.__dict__,
            "policy": policy,
            "average_policy": np.full(policy.shape, np.nan, dtype=np.float32),
            "joint_counts": np.cumsum(counts, axis=1),
        }
    )
    default = joint_policy(history, game, member)
    assert np.allclose(default.metric, 0.0) and default.verdicts[0].verdict is Verdict.CONVERGED
    assert any("[1, 0]" in note for note in default.notes)  # the weights used are stated
    uniform = joint_policy(history, game, member, weights="uniform")
    assert np.allclose(uniform.metric, 0.5 * 0.75)  # half the weight on a state at TV 0.75 from the member


def test_repeated_game_compares_per_play_returns_with_the_stage_value():
    game = repeated_game(NormalFormGame(np.stack([np.ones((2, 2)), -np.ones((2, 2))])), 0.5)  # pays (1, -1) always
    # a one-state zero-sum game's discounted value U = u / (1 - gamma) = (2, -2), as Shapley iteration reports it
    member = FiniteSolutionSet(
        joints=np.full((1, 1, 4), 0.25), labels=("uniform",), values=np.array([[2.0, -2.0]]), name="uniform"
    )
    history = _history(np.full((1, T), 0.5), returns=np.tile([1.0, -1.0], (1, T, 1)))
    assert np.allclose(expected_return(history, game, member).metric, 0.0)  # exact U = 2 against 2
    assert np.allclose(average_return(history, game, member).metric, 0.0)  # per play 1 against (1 - 0.5) * 2


# ------------------------------------------------------------------------------------------- evaluate
def test_evaluate_runs_every_criterion_in_order_with_eps_per_criterion(pennies):
    game, nash = pennies
    history = _history(_step_down(10, 0.9, 0.5)[None])
    results = evaluate(history, game, nash, eps={"joint_policy": 0.6})
    assert tuple(results) == CRITERIA == tuple(CRITERION_FUNCTIONS)
    assert results["joint_policy"].eps == 0.6 and results["joint_policy"].verdicts[0].z0 == STEPS[0]
    assert results["expected_return"].eps == default_eps("expected_return", game, nash)
    assert {r.eps for r in evaluate(history, game, nash, eps=0.2).values()} == {0.2}
    for r in results.values():
        assert r.metric.shape == (1, T) and len(r.verdicts) == 1 and r.to_dict()["criterion"] == r.criterion


def test_evaluate_rejects_unknown_names_and_mismatched_games(pennies):
    game, nash = pennies
    history = _history(np.full((1, T), 0.5))
    with pytest.raises(UnknownNameError):
        evaluate(history, game, nash, criteria=["joint_policies"])
    with pytest.raises(UnknownNameError):
        evaluate(history, game, nash, eps={"joint": 0.1})
    with pytest.raises(UnknownNameError):
        set_of_solutions(history, game, nash, source="average")
    with pytest.raises(InvalidGameError):
        joint_policy(history, catalog.make("rock-paper-scissors"), nash)
    with pytest.raises(InvalidGameError):
        joint_policy(history, game, nash, eps=-1.0)


# ---------------------------------------------------------------- the exact LP is reached through the criteria
@pytest.mark.parametrize("distance", ["tv", "l1"])
def test_criteria_project_tv_and_l1_on_a_polytope_by_the_exact_lp(distance, monkeypatch):
    """The criteria hand the resolved distance *function* to the set; before the fix the set saw the name
    "total_variation" and ran SLSQP per point (14-26 s on an 8-seed RPS run instead of < 1 s)."""
    from marlkit.diagnose.solution_sets import PolytopeSolutionSet

    def no_slsqp(*args, **kwargs):
        raise AssertionError("TV / L1 must be projected by the exact LP, not the convex program")

    monkeypatch.setattr(PolytopeSolutionSet, "_convex", no_slsqp)
    game = catalog.make("chicken")
    ce = solution_set(game, "ce")
    p = np.stack([_step_down(k, 0.95, 0.6) for k in (10, 30)])  # (0,0) mass 0.9025 -> 0.36: outside, then ...
    results = evaluate(_history(p), game, ce, distance=distance, criteria=["joint_policy", "solution_set"])
    assert all(np.isfinite(r.metric).all() for r in results.values())
    assert results["joint_policy"].distance == distance


def test_a_user_callable_named_like_a_builtin_is_not_replaced_by_the_lp():
    """A user function called ``l1`` that is not the built-in must go through the generic convex program."""
    from marlkit.diagnose.solution_sets import PolytopeSolutionSet

    def l1(p, q):  # squared L1: a different distance with a colliding name
        return np.abs(np.asarray(p) - np.asarray(q)).sum(axis=-1) ** 2

    game = catalog.make("chicken")
    ce = solution_set(game, "ce")
    assert isinstance(ce, PolytopeSolutionSet)
    point = np.array([[0.7, 0.1, 0.1, 0.1]])  # mostly (0, 0): outside the CE polytope of chicken
    lp = ce.project(point, "l1")[0]
    assert 0.1 < lp < 0.9  # so that lp and lp² differ
    user = ce.project(point, l1)[0]
    assert user == pytest.approx(lp**2, rel=1e-5)  # min of a monotone transform: the square of the L1 projection
    result = joint_policy(_history(np.full((1, T), 1.0)), game, ce, distance=l1)
    assert result.distance == "l1 (user)"
