"""Compiled evaluation (marlkit.train.evaluate): fixed keys give identical results, the greedy mode equals a plain
Python rollout, ε = 0 attacks change nothing, shapes (one state, stacked seeds), robustness curves, bad input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import marlkit.envs as envs
from marlkit.agents.deep.attacks import Ball, GradientAttack, RandomAttack
from marlkit.agents.deep.base import Observation
from marlkit.agents.deep.ppo import MAPPO
from marlkit.errors import InvalidGameError
from marlkit.games.uncertainty import ObservationBall
from marlkit.train.evaluate import episode_keys, evaluate, learned_attack, robustness_curve

EPISODES, STEPS = 6, 5


@pytest.fixture(scope="module")
def setup():
    """A 2-agent, 5-step simple spread and two MAPPO states (untrained: a stochastic policy whose greedy action
    varies with the observation), stacked on a seed axis."""
    env = envs.make("simple_spread", n_agents=2, max_episode_steps=STEPS)
    learner = MAPPO(hidden=(16,), sharing="none", rollout_length=4, num_minibatches=1)
    states = jax.vmap(lambda k: learner.init(k, env.spec, 1))(jax.random.split(jax.random.key(0), 2))
    one = jax.tree.map(lambda x: x[0], states)
    return env, learner, states, one


def test_fixed_keys_give_identical_results_and_shapes(setup) -> None:
    env, learner, states, one = setup
    a = evaluate(env, learner, one, episodes=EPISODES, key=3)
    b = evaluate(env, learner, one, episodes=EPISODES, key=3)
    c = evaluate(env, learner, one, episodes=EPISODES, key=4)
    assert a.returns.shape == (EPISODES, 2) and a.team_returns.shape == (EPISODES,) and a.mean.shape == ()
    np.testing.assert_array_equal(a.returns, b.returns)
    assert not np.array_equal(a.returns, c.returns)
    stacked = evaluate(env, learner, states, episodes=EPISODES, key=3, stacked=True)
    assert stacked.returns.shape == (2, EPISODES, 2) and stacked.mean.shape == (2,)
    np.testing.assert_allclose(stacked.returns[0], a.returns, rtol=1e-6)  # seed 0 sliced == seed 0 of the stack


def test_greedy_mode_equals_a_python_rollout(setup) -> None:
    """The oracle: each episode stepped by hand with the documented keys, each agent taking the argmax of
    ``learner.policy``, rewards summed until the first ``done``."""
    env, learner, _, one = setup
    result = evaluate(env, learner, one, episodes=EPISODES, key=5, mode="greedy")
    keys = episode_keys(5, EPISODES, STEPS)

    @jax.jit
    def greedy_step(key, obs, state):
        info = env.state_info(state)
        observation = Observation(obs[None], info["action_mask"][None], info["global_state"][None], jnp.ones(1, bool))
        actions = jnp.argmax(learner.policy(one, observation, ())[0], axis=-1).astype(jnp.int32)
        return env.step(key, state, actions)

    for e in range(3):
        obs, state = env.reset(keys.reset[e])
        total = np.zeros(2)
        for t in range(STEPS):
            obs, state, reward, done, _ = greedy_step(keys.env[t, e], obs, state)
            total += np.asarray(reward)
            if bool(done):
                break
        np.testing.assert_allclose(result.returns[e], total, rtol=1e-5)
    stochastic = evaluate(env, learner, one, episodes=EPISODES, key=5)
    assert not np.allclose(stochastic.returns, result.returns)


def test_attacks_of_radius_zero_change_nothing_and_attacks_apply(setup) -> None:
    env, learner, _, one = setup
    clean = evaluate(env, learner, one, episodes=EPISODES, key=2, mode="greedy")
    zero = Ball.of(ObservationBall(0.0, (0, 1)), 2)
    for attack in (RandomAttack(zero), GradientAttack(zero, steps=2)):
        attacked = evaluate(env, learner, one, episodes=EPISODES, key=2, mode="greedy", attack=attack)
        np.testing.assert_array_equal(attacked.returns, clean.returns)
    big = evaluate(
        env,
        learner,
        one,
        episodes=EPISODES,
        key=2,
        mode="greedy",
        attack=GradientAttack(Ball.of(ObservationBall(2.0, (0, 1)), 2), steps=2),
    )
    assert not np.array_equal(big.returns, clean.returns)


def test_robustness_curve_shapes_gap_and_json(setup) -> None:
    env, learner, states, _ = setup
    curve = robustness_curve(
        env, learner, states, [0.0, 0.5], [(0,), (0, 1)], episodes=EPISODES, key=1, gradient_steps=2, stacked=True
    )
    assert curve.clean.shape == (2,)
    for name in ("random", "gradient"):
        assert curve.attacked[name].shape == (2, 2, 2)
        np.testing.assert_allclose(curve.attacked[name][0], np.broadcast_to(curve.clean, (2, 2)), rtol=1e-6)  # ε = 0
        np.testing.assert_allclose(curve.gap(name), curve.clean - curve.attacked[name])
    data = curve.to_json()
    assert data["epsilons"] == [0.0, 0.5] and data["attacked_sets"] == [[0], [0, 1]]
    assert np.asarray(data["attacks"]["gradient"]["gap"]).shape == (2, 2, 2)


def test_bad_input_is_one_clear_error(setup) -> None:
    env, learner, _, one = setup
    game = envs.make("game:prisoners-dilemma")
    attack = RandomAttack(Ball.of(ObservationBall(0.1), 2))
    with pytest.raises(InvalidGameError, match="not real vectors"):
        evaluate(game, learner, one, attack=attack)
    with pytest.raises(InvalidGameError, match="not real vectors"):
        robustness_curve(game, learner, one, [0.1], [(0,)])
    with pytest.raises(InvalidGameError, match="mode"):
        evaluate(env, learner, one, mode="argmax")
    with pytest.raises(InvalidGameError, match="attacked"):
        robustness_curve(env, learner, one, [0.1], [(2,)])
    with pytest.raises(InvalidGameError, match="epsilon"):
        robustness_curve(env, learner, one, [-0.1], [(0,)])
    with pytest.raises(InvalidGameError, match="unknown attack"):
        robustness_curve(env, learner, one, [0.1], [(0,)], attacks=("optimal",))


def test_learned_attack_trains_adversaries_against_the_fixed_team(setup) -> None:
    """ATLA's optimal attack in miniature: adversaries trained (2 updates) against the fixed team of each seed; their
    perturbation stays in the ball, on agent 1 only, and one adversary per seed attacks its own seed's team."""
    env, learner, states, _ = setup
    ball = ObservationBall(0.4, (1,))
    attack = learned_attack(
        env, learner, states, ball, steps=4 * 4 * 2, key=0, stacked=True, num_envs=4, adversary_epochs=1
    )
    assert attack.per_seed and jax.tree.leaves(attack.params)[0].shape[0] == 2
    obs = jax.random.normal(jax.random.key(1), (8, 2, env.spec.obs_shape[0]))
    for seed in range(2):
        params = jax.tree.map(lambda x, s=seed: x[s], attack.params)
        delta = np.asarray(attack.replace(params=params, per_seed=False)(jax.random.key(0), obs, None) - obs)
        np.testing.assert_array_equal(delta[:, 0], 0.0)
        assert 0 < np.abs(delta[:, 1]).max() <= 0.4 + 1e-6
    attacked = evaluate(env, learner, states, episodes=EPISODES, key=2, stacked=True, attack=attack)
    assert attacked.returns.shape == (2, EPISODES, 2)
