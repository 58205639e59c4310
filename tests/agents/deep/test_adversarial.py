"""Adversarial training against learned observation adversaries (marlkit.agents.deep.adversarial): the registry,
bad input, the alternation schedule, what each phase changes inside the compiled trainer, the perturbation the team
acts on — and the issue's acceptance test on simple spread (ATLA-MAPPO vs MAPPO under attack, several seeds)."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

import marlkit.envs as envs
from marlkit.agents.deep.adversarial import ATLAIPPO, ATLAMAPPO, AdversarialTraining
from marlkit.agents.deep.base import Observation
from marlkit.agents.deep.ppo import IPPO, MAPPO
from marlkit.agents.deep.registry import make_deep_learner
from marlkit.errors import InvalidGameError, LearnerConfigError
from marlkit.train.deep import prepare


def test_registry_names_and_bad_input() -> None:
    atla = make_deep_learner("atla-mappo", epsilon=0.2)
    assert isinstance(atla, ATLAMAPPO) and isinstance(atla.inner, MAPPO) and atla.epsilon == 0.2
    assert isinstance(make_deep_learner("atla_ippo").inner, IPPO) and isinstance(
        make_deep_learner("atla_ippo"), ATLAIPPO
    )
    assert isinstance(make_deep_learner("adversarial-mappo"), ATLAMAPPO)
    assert ATLAMAPPO().rollout_length == MAPPO().rollout_length
    assert ATLAMAPPO(rollout_length=25).inner.rollout_length == 25
    with pytest.raises(LearnerConfigError, match="inner"):
        AdversarialTraining(inner="mappo")
    with pytest.raises(LearnerConfigError, match="epsilon"):
        ATLAMAPPO(epsilon=-0.1)
    with pytest.raises(LearnerConfigError, match="period"):
        ATLAMAPPO(period=0)
    spread = envs.make("simple_spread", n_agents=2)
    with pytest.raises(InvalidGameError, match="attacked"):
        prepare(spread, ATLAMAPPO(attacked=(2,)), steps=16 * 128).start()
    with pytest.raises(InvalidGameError, match="not real vectors"):
        ATLAMAPPO().init(jax.random.key(0), dataclasses.replace(spread.spec, obs_shape=(3, 4)), 1)  # image-like


def test_phase_schedule() -> None:
    updates = np.arange(8)
    team = np.asarray(ATLAMAPPO(period=2, adversary_period=1).team_phase(updates))
    assert team.tolist() == [True, True, False, True, True, False, True, True]
    first = np.asarray(ATLAMAPPO(period=2, adversary_period=1, adversary_first=True).team_phase(updates))
    assert first.tolist() == [False, True, True, False, True, True, False, True]
    assert not np.asarray(ATLAMAPPO(train_team=False).team_phase(updates)).any()


# ------------------------------------------------------------------------- inside the compiled trainer

EPS = 0.25


@pytest.fixture(scope="module")
def windows():
    """A tiny ATLA-IPPO run (2 agents, agent 1 attacked, period 2 / adversary period 1), one update per window, 2
    seeds: the learner state after every window and the records."""
    env = envs.make("simple_spread", n_agents=2, max_episode_steps=5)
    inner = IPPO(rollout_length=5, hidden=(8,), num_minibatches=1, update_epochs=1, lr=1e-2)
    learner = ATLAIPPO(inner=inner, epsilon=EPS, attacked=(1,), period=2, adversary_period=1, adversary_lr=1e-2)
    plan = prepare(env, learner, steps=4 * 5 * 6, seeds=2, key=1, log_every=4 * 5, num_envs=4)
    state = plan.start()
    states, records = [state.carry.learner], []
    for w in range(plan.num_logs):
        state, record = plan.advance(state, w, 1)
        states.append(state.carry.learner)
        records.append(record)
    return env, plan, states, plan.to_history(records)


def _changed(a, b) -> bool:
    return any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def test_each_phase_changes_only_its_side(windows) -> None:
    _, _, states, history = windows
    team = [True, True, False, True, True, False]
    np.testing.assert_array_equal(history.metrics["adversary/phase"][:, :, 0], np.broadcast_to(~np.array(team), (2, 6)))
    for w, trains_team in enumerate(team):
        before, after = states[w], states[w + 1]
        assert _changed(before.inner.params, after.inner.params) == trains_team, w
        assert _changed(before.adversary, after.adversary) == (not trains_team), w
    assert np.all(history.metrics["adversary/perturbation_norm"] <= EPS + 1e-6)


def test_the_team_acts_on_perturbed_observations_inside_the_ball(windows) -> None:
    env, plan, states, _ = windows
    state = jax.tree.map(lambda x: x[0], states[-1])
    obs, env_state = jax.vmap(env.reset)(jax.random.split(jax.random.key(2), 8))
    info = jax.vmap(env.state_info)(env_state)
    observation = Observation(obs, info["action_mask"], info["global_state"], np.ones(8, bool))
    _, aux, _ = jax.jit(plan.learner.act)(jax.random.key(3), state, observation, ())
    delta = np.asarray(aux.obs - obs)
    np.testing.assert_array_equal(delta[:, 0], 0.0)  # agent 0 is not attacked
    assert 0 < np.abs(delta[:, 1]).max() <= EPS + 1e-6
    np.testing.assert_allclose(  # policy(): the team on clean observations
        plan.learner.policy(state, observation, ()), plan.learner.inner.policy(state.inner, observation, ())
    )
