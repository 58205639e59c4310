"""Unit tests of the learners' equations, the shared pieces (schedules, exploration, sampling) and their checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.agents.tabular import (
    CQL,
    IQL,
    PHC,
    Boltzmann,
    Constant,
    EpsilonGreedy,
    ExponentialDecay,
    Greedy,
    GroupSpec,
    InverseTime,
    LearnerConfigError,
    PowerCount,
    Transition,
    WoLFPHC,
)
from marlkit.agents.tabular.base import sample
from marlkit.agents.tabular.hill_climbing import hill_climb
from marlkit.errors import NotApplicableError
from marlkit.games import NormalFormGame, as_stochastic


def spec(k: int = 1, S: int = 2, A: int = 3, gamma: float = 0.9, legal: np.ndarray | None = None) -> GroupSpec:
    legal = np.ones((k, S, A), bool) if legal is None else legal
    return GroupSpec(tuple(range(k)), k, S, (A,) * k, A, gamma, jnp.asarray(legal))


def transition(s, a, r, s2, terminated=False, A=3) -> Transition:
    k = len(s)
    return Transition(
        obs=jnp.asarray(s, jnp.int32),
        actions=jnp.asarray(a, jnp.int32),
        rewards=jnp.asarray(r, jnp.float32),
        next_obs=jnp.asarray(s2, jnp.int32),
        terminated=jnp.bool_(terminated),
        truncated=jnp.bool_(False),
        legal=jnp.ones((k, A), bool),
        next_legal=jnp.ones((k, A), bool),
        joint_actions=jnp.asarray(a, jnp.int32),
        joint_rewards=jnp.asarray(r, jnp.float32),
        policies=None,
    )


def test_schedules() -> None:
    step, count = jnp.int32(100), jnp.int32(4)
    assert float(Constant(0.3)(step, count)) == pytest.approx(0.3)
    assert float(PowerCount(1.0, 0.5)(step, count)) == pytest.approx(0.5)  # 1/sqrt(4)
    assert float(PowerCount()(step, jnp.int32(0))) == pytest.approx(1.0)  # count 0 read as 1
    assert float(ExponentialDecay(2.0, 0.99, 0.5)(step, count)) == pytest.approx(max(0.5, 2 * 0.99**100), rel=1e-5)
    # Bowling & Veloso (2002, §5) form: 1 / (10 + t / 10000)
    assert float(InverseTime(10.0, 10000.0)(jnp.int32(50_000), count)) == pytest.approx(1 / 15)


def test_exploration_distributions() -> None:
    q = jnp.asarray([[1.0, 3.0, 3.0]])
    legal = jnp.asarray([[True, True, True]])
    t, n = jnp.int32(0), jnp.int32(0)
    np.testing.assert_allclose(Greedy()(q, legal, t, n), [[0.0, 0.5, 0.5]])  # ties split evenly
    np.testing.assert_allclose(EpsilonGreedy(0.3)(q, legal, t, n), [[0.1, 0.45, 0.45]], rtol=1e-6)
    boltz = np.asarray(Boltzmann(2.0)(q, legal, t, n))[0]
    expected = np.exp(np.array([1.0, 3.0, 3.0]) / 2.0)
    np.testing.assert_allclose(boltz, expected / expected.sum(), rtol=1e-6)
    masked = jnp.asarray([[True, False, True]])
    assert float(Boltzmann(1.0)(q, masked, t, n)[0, 1]) == 0.0
    assert float(EpsilonGreedy(0.5)(q, masked, t, n)[0, 1]) == 0.0


def test_sampling_frequencies_and_zero_probabilities() -> None:
    probs = jnp.asarray([0.2, 0.0, 0.5, 0.3, 0.0])
    u = jax.random.uniform(jax.random.key(0), (40_000,))
    draws = np.asarray(jax.vmap(lambda x: sample(x, probs))(u))
    freq = np.bincount(draws, minlength=5) / draws.size
    se = np.sqrt(np.asarray(probs) * (1 - np.asarray(probs)) / draws.size)
    assert np.all(np.abs(freq - np.asarray(probs)) <= 4.5 * se + 1e-12)  # z = 4.5, see the env tests
    assert freq[1] == 0 and freq[4] == 0
    # u just below 1 with a cumulative sum that ends below 1 in float32 must not pick the zero tail.
    assert int(sample(jnp.float32(1 - 2**-24), jnp.asarray([0.3, 0.7 - 1e-7, 0.0]))) == 1


def test_iql_update_is_watkins_equation() -> None:
    learner = IQL(step_size=0.5, initial_q=1.0)
    state = learner.init(jax.random.key(0), spec(k=2, gamma=0.9))
    state, metrics = learner.update(state, transition([0, 1], [2, 0], [3.0, -1.0], [1, 0]))
    # Q(s,a) = 1 + 0.5 (r + 0.9 · max Q(s') − 1), all entries start at 1.
    assert float(state.q[0, 0, 2]) == pytest.approx(1 + 0.5 * (3 + 0.9 - 1))
    assert float(state.q[1, 1, 0]) == pytest.approx(1 + 0.5 * (-1 + 0.9 - 1))
    np.testing.assert_allclose(metrics["td_error"], [2.9, 1.1], rtol=1e-6)
    assert int(state.visits[0, 0, 2]) == 1 and int(state.step) == 1
    # A terminal next state is not bootstrapped.
    state, _ = IQL(step_size=1.0, initial_q=5.0).update(
        IQL(initial_q=5.0).init(jax.random.key(0), spec()), transition([0], [0], [2.0], [1], terminated=True)
    )
    assert float(state.q[0, 0, 0]) == pytest.approx(2.0)


def test_iql_visit_count_step_size_averages_rewards() -> None:
    learner = IQL(step_size=PowerCount(1.0, 1.0), gamma=0.0)  # α = 1/n(s,a): the sample mean
    state = learner.init(jax.random.key(0), spec())
    for r in (1.0, 2.0, 6.0):
        state, _ = learner.update(state, transition([0], [1], [r], [0]))
    assert float(state.q[0, 0, 1]) == pytest.approx(3.0)


def test_cql_learns_joint_values_and_reports_marginals() -> None:
    learner = CQL(step_size=1.0, exploration=EpsilonGreedy(0.0), team_reward="sum")
    state = learner.init(jax.random.key(0), GroupSpec((0, 1), 2, 1, (2, 3), 3, 0.0, jnp.ones((2, 1, 3), bool)))
    state, _ = learner.update(state, transition([0, 0], [1, 2], [4.0, 1.0], [0, 0], A=3))
    assert float(state.tables.q[0, 0, 1 * 3 + 2]) == pytest.approx(5.0)  # C-order flat index, team reward = sum
    np.testing.assert_allclose(learner.policy(state, jnp.asarray([0, 0])), [[0, 1, 0], [0, 0, 1]])
    actions, _ = learner.act(jax.random.key(1), state, jnp.asarray([0, 0]))
    assert actions.tolist() == [1, 2]


def test_cql_common_reward_needs_a_common_payoff_game() -> None:
    A = np.array([[1.0, 0.0], [0.0, 1.0]])
    CQL().check(as_stochastic(NormalFormGame(np.stack([A, A]))), (0, 1))
    with pytest.raises(NotApplicableError, match="team_reward='sum'"):
        CQL().check(as_stochastic(NormalFormGame(np.stack([A, -A]))), (0, 1))
    CQL(team_reward="sum").check(as_stochastic(NormalFormGame(np.stack([A, -A]))), (0, 1))
    with pytest.raises(LearnerConfigError, match="team_reward"):
        CQL(team_reward="max")


def test_phc_step_matches_table_1() -> None:
    pi = jnp.asarray([0.5, 0.3, 0.2])
    q = jnp.asarray([0.0, 1.0, 0.5])
    out = np.asarray(hill_climb(pi, q, jnp.ones(3, bool), jnp.float32(0.3)))
    # δ_sa = min(π, δ/(|A|-1)) = min(π, 0.15): action 0 loses 0.15, action 2 loses 0.15, greedy action 1 gains 0.3.
    np.testing.assert_allclose(out, [0.35, 0.6, 0.05], atol=1e-6)
    out = np.asarray(hill_climb(pi, q, jnp.ones(3, bool), jnp.float32(0.5)))  # clipped at π(2) = 0.2
    np.testing.assert_allclose(out, [0.25, 0.75, 0.0], atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.01, 1.0), min_size=4, max_size=4),
    st.lists(st.floats(-5, 5), min_size=4, max_size=4),
    st.lists(st.booleans(), min_size=4, max_size=4),
    st.floats(0.0, 1.0),
)
def test_hill_climb_stays_a_distribution_over_legal_actions(weights, q, legal, delta) -> None:
    legal = np.array(legal)
    legal[0] |= not legal.any()
    pi = np.where(legal, weights, 0.0)
    pi = pi / pi.sum()
    out = np.asarray(hill_climb(jnp.asarray(pi, jnp.float32), jnp.asarray(q, jnp.float32), jnp.asarray(legal), delta))
    assert np.all(out >= 0) and abs(out.sum() - 1) < 1e-5
    assert np.all(out[~legal] == 0)
    q_legal = np.where(legal, q, -np.inf)
    greedy = np.flatnonzero(np.asarray(q_legal, np.float32) >= np.float32(q_legal.max()))
    assert out[greedy].sum() >= pi[greedy].sum() - 1e-5  # never moves away from the greedy set


def test_wolf_uses_delta_win_when_winning_and_delta_lose_when_losing() -> None:
    learner = WoLFPHC(step_size=1.0, delta=0.1, delta_lose=0.4, gamma=0.0)
    s = spec(S=1, A=2)
    state = learner.init(jax.random.key(0), s)
    # First visit: π̄ becomes π (uniform), so Σπ Q = Σπ̄ Q: not winning, δ_l applies.
    state, metrics = learner.update(state, transition([0], [0], [1.0], [0], A=2))
    assert float(metrics["winning"][0]) == 0.0
    np.testing.assert_allclose(state.policy[0, 0], [0.9, 0.1], atol=1e-6)  # 0.5 + min(0.5, 0.4)
    np.testing.assert_allclose(state.average[0, 0], [0.5, 0.5], atol=1e-6)
    # Second visit: π̄ = (0.7, 0.3) < π on the better action 0, so winning: δ_w = 0.1.
    state, metrics = learner.update(state, transition([0], [0], [1.0], [0], A=2))
    assert float(metrics["winning"][0]) == 1.0
    np.testing.assert_allclose(state.average[0, 0], [0.7, 0.3], atol=1e-6)
    np.testing.assert_allclose(state.policy[0, 0], [1.0, 0.0], atol=1e-6)  # 0.1 clipped at π(1) = 0.1


def test_phc_initial_policy_and_average() -> None:
    learner = PHC(initial_policy=(0.8, 0.2), epsilon=0.1)
    state = learner.init(jax.random.key(0), spec(S=1, A=2))
    np.testing.assert_allclose(learner.average_policy(state, jnp.asarray([0])), [[0.8, 0.2]])
    np.testing.assert_allclose(learner.policy(state, jnp.asarray([0])), [[0.77, 0.23]], atol=1e-6)  # ε-mixed
    with pytest.raises(NotApplicableError, match="initial_policy has 2 entries"):
        learner.check(as_stochastic(NormalFormGame(np.zeros((2, 3, 3)))), (0,))


def test_learner_config_errors() -> None:
    with pytest.raises(LearnerConfigError, match="delta_lose"):
        WoLFPHC(delta=0.1, delta_lose=0.05)
    with pytest.raises(LearnerConfigError, match="schedule"):
        IQL(step_size="fast")  # type: ignore[arg-type]
    with pytest.raises(LearnerConfigError, match="gamma"):
        IQL(gamma=1.0)
    with pytest.raises(LearnerConfigError, match="distribution"):
        PHC(initial_policy=(0.5, 0.6)).check(as_stochastic(NormalFormGame(np.zeros((2, 2, 2)))), (0,))


def test_learners_are_hashable_static_configs() -> None:
    assert IQL() == IQL() and hash(IQL()) == hash(IQL())
    assert WoLFPHC(delta=0.01) != WoLFPHC(delta=0.02)
    assert IQL(step_size=0.1) == IQL(step_size=Constant(0.1))
