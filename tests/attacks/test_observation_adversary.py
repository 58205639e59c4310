"""The adversarial-policy target of Lin et al. 2020 (marlkit.attacks.adversary), without training (the training is
marlkit's deep trainer on this env; its end-to-end numbers are in /work/notes/obsattack.md): the victim's seat env
passes the victim's action through, puts the frozen team's greedy actions in the other seats and pays minus the
team reward; the attack pushes the victim towards the adversary's greedy action exactly as a fixed-target attack
would, and leaves the other agents alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import marlkit.envs as envs
from marlkit.agents.deep.attacks import Ball, TargetedAttack
from marlkit.agents.deep.base import Observation
from marlkit.attacks.adversary import AdversaryTargetedAttack, VictimControl
from marlkit.attacks.linear import linear_softmax
from marlkit.errors import InvalidGameError
from marlkit.games.uncertainty import ObservationBall


@dataclass(frozen=True)
class LinearTeam:
    """A frozen feed-forward team: linear-softmax policies, state = (W [n, A, d], b [n, A])."""

    def initial_memory(self, spec: Any, num_envs: int) -> Any:
        return ()

    def policy(self, state: Any, observation: Observation, memory: Any) -> Any:
        return linear_softmax(state, observation.obs)


def test_victim_seat_env() -> None:
    env = envs.make("simple_spread", n_agents=2, max_episode_steps=5)
    spec = env.spec
    rng = np.random.default_rng(1)
    team: Any = LinearTeam()
    state = (rng.normal(size=(2, spec.max_actions, spec.obs_shape[0])), rng.normal(size=(2, spec.max_actions)))
    seat = VictimControl(env, team, state, 1)
    assert seat.spec.n_agents == 1 and seat.spec.num_actions == (env.spec.num_actions[1],)
    key = jax.random.key(3)
    obs, s = seat.reset(key)
    full, inner = env.reset(key)
    np.testing.assert_array_equal(obs, full[1:2])
    info = env.state_info(inner)
    observation = Observation(full[None], info["action_mask"][None], info["global_state"][None], jnp.zeros(1, bool))
    greedy = int(jnp.argmax(team.policy(state, observation, ())[0, 0]))
    seat_step, env_step = jax.jit(seat.step), jax.jit(env.step)
    for action in range(env.spec.num_actions[1]):
        k = jax.random.key(10 + action)
        o, _, r, done, i = seat_step(k, s, jnp.array([action], jnp.int32))
        o2, _, r2, done2, _ = env_step(k, inner, jnp.array([greedy, action], jnp.int32))
        np.testing.assert_array_equal(o, o2[1:2])
        np.testing.assert_allclose(r, [-float(np.mean(r2))], rtol=1e-6)
        assert bool(done) == bool(done2) and i["action_mask"].shape == (1, env.spec.max_actions)
        assert seat.state_info(s)["action_mask"].shape == (1, env.spec.max_actions)
    with pytest.raises(InvalidGameError, match="victim 2"):
        VictimControl(env, team, state, 2)


@dataclass(frozen=True)
class Preferring:
    """A stand-in adversarial policy: softmax of fixed logits ``state [A]`` (W = 0), whatever it observes."""

    def policy(self, state: Any, observation: Observation, memory: Any) -> Any:
        E, n = observation.obs.shape[:2]
        return jax.nn.softmax(jnp.broadcast_to(state, (E, n, state.shape[0])), axis=-1)


def test_adversarial_target_is_the_adversary_greedy_action() -> None:
    rng = np.random.default_rng(0)
    n, A, d, E = 3, 4, 5, 8
    W, b = jnp.asarray(rng.normal(size=(n, A, d)), jnp.float32), jnp.asarray(rng.normal(size=(n, A)), jnp.float32)
    obs = jnp.asarray(rng.normal(size=(E, n, d)), jnp.float32)

    def probs_fn(o: jax.Array) -> jax.Array:
        return linear_softmax((W, b), o)

    ball = Ball.of(ObservationBall(0.5, (1,)), n)
    wanted = 2
    logits = jnp.asarray(np.eye(A)[wanted] * 3.0, jnp.float32)
    attack = AdversaryTargetedAttack(ball, logits, Preferring(), victim=1, steps=5)
    fixed = TargetedAttack(ball, jnp.array([0, wanted, 0], jnp.int32), steps=5)
    key = jax.random.key(0)
    out, ref = attack(key, obs, probs_fn), fixed(key, obs, probs_fn)
    np.testing.assert_allclose(out, ref, atol=1e-6)
    np.testing.assert_array_equal(out[:, [0, 2]], obs[:, [0, 2]])  # only the victim is perturbed
    before = np.asarray(probs_fn(obs))[:, 1, wanted]
    after = np.asarray(probs_fn(out))[:, 1, wanted]
    assert np.all(after >= before - 1e-6) and np.any(after > before + 1e-3)
