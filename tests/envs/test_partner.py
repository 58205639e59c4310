"""A frozen partner inside the env (WithPartner): the learners see their own agents only; the partner acts by its
policy as part of the step (Carroll et al. 2019's human-aware training set-up)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.envs import make
from marlkit.envs.partner import FunctionPartner, TablePartner, with_partner
from marlkit.errors import InvalidGameError


def test_the_learners_see_their_agents_and_the_partner_acts_by_its_table() -> None:
    env = make("game:stag-hunt")  # stag-stag 4, hare 3 whatever the other does, stag alone 0
    table = np.zeros((2, 1, 2), np.float32)
    table[1, 0] = [0.25, 0.75]  # the partner (column) plays stag with probability 1/4
    wrapped = with_partner(env, TablePartner(table), [1])
    assert wrapped.spec.n_agents == 1 and wrapped.spec.agent_names == ("row",)
    assert wrapped.spec.num_actions == (2,) and wrapped.learners == (0,)
    obs, state = wrapped.reset(jax.random.key(0))
    assert obs.shape == (1, 1) and wrapped.state_info(state)["action_mask"].shape == (1, 2)

    def play(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        _, _, reward, _, info = wrapped.step(key, state, jnp.array([0]))  # the learner plays stag
        return reward[0], info["partner_reward"][0]

    rewards, partner = jax.jit(jax.vmap(play))(jax.random.split(jax.random.key(1), 4_000))
    # stag meets stag with probability 1/4: reward 4, else 0 (binomial s.e. of the mean 0.0068: 4 s.e. allowed)
    assert float(jnp.mean(rewards == 4.0)) == pytest.approx(0.25, abs=0.028)
    assert set(np.unique(np.asarray(rewards))) <= {0.0, 4.0} and set(np.unique(np.asarray(partner))) <= {3.0, 4.0}
    _, _, _, _, info = wrapped.step(jax.random.key(2), state, jnp.array([1]))
    assert info["action_mask"].shape == (1, 2) and info["illegal_action"].shape == (1,)
    assert info["final_obs"].shape == (1, 1) and info["global_state"].shape == (env.spec.global_state_size,)


def test_a_function_partner_and_jit() -> None:
    env = make("game:stag-hunt")

    def always(key, state, obs, mask, action):
        return jnp.full((2,), action, jnp.int32)

    wrapped = with_partner(env, FunctionPartner(always, (1,)), [0])  # the row player always plays hare
    _, state = wrapped.reset(jax.random.key(0))
    step = jax.jit(wrapped.step)
    _, _, reward, _, info = step(jax.random.key(1), state, jnp.array([0]))  # column plays stag alone
    assert float(reward[0]) == 0.0 and float(info["partner_reward"][0]) == 3.0
    assert with_partner(env, FunctionPartner(always, (1,)), [0]) == wrapped  # equal by value: one compiled program


def test_bad_partner_agents_are_refused() -> None:
    env = make("game:stag-hunt")
    table = np.full((2, 1, 2), 0.5, np.float32)
    for agents in ([], [0, 1], [2], [-1]):
        with pytest.raises(InvalidGameError, match=r"partner agents must be a non-empty proper subset of 0\.\.1"):
            with_partner(env, TablePartner(table), agents)
    with pytest.raises(InvalidGameError, match="policy table"):
        TablePartner(np.ones((2, 2)))


def test_the_cooking_tasks_greedy_human_is_a_partner() -> None:
    """Human-aware training's set-up on the cooking task: one chef learns, the greedy human model drives the other
    as part of the env (Carroll et al. 2019, §5). With the learner standing still, the partner alone puts onions
    into the pot: its shaping reward (3 per onion) reaches the team's reward."""
    from marlkit.envs.cooking import Cooking, GreedyHuman

    env = Cooking(max_episode_steps=400)
    wrapped = with_partner(env, GreedyHuman(env, beta_goal=float("inf"), beta_action=float("inf")), [1])
    assert wrapped.spec.n_agents == 1
    _, state = wrapped.reset(jax.random.key(0))
    assert wrapped.can_render and np.array_equal(wrapped.render(state), env.render(state.env_state))
    stay = jnp.array([4])  # up, down, right, left, stay, interact

    def step(state, key):
        _, state, reward, _, info = wrapped.step(key, state, stay)
        return state, (reward[0], info["partner_reward"][0])

    _, (reward, partner) = jax.lax.scan(step, state, jax.random.split(jax.random.key(1), 60))
    assert float(jnp.sum(reward)) >= 6.0  # two onions placed by the partner within 60 steps (shared reward)
    assert np.array_equal(np.asarray(reward), np.asarray(partner))  # the team reward is shared


def test_a_partner_on_a_box_action_task() -> None:
    """Continuous simple spread: the wrapper keeps the learners' Box bounds and steps the env with float actions;
    a partner that stands still (the zero action) leaves its agent where it started."""
    env = make("simple_spread", n_agents=2, max_episode_steps=5, continuous_actions=True)

    def still(key, state, obs, mask):
        return jnp.zeros((2, env.spec.max_actions), jnp.float32)

    wrapped = with_partner(env, FunctionPartner(still), [1])
    assert wrapped.spec.continuous and wrapped.spec.action_low == (env.spec.action_low[0],)
    assert wrapped.spec.action_space(0) == env.spec.action_space(0)
    _, state = wrapped.reset(jax.random.key(0))
    move = jnp.zeros((1, env.spec.max_actions), jnp.float32).at[0, 1].set(1.0)  # mpe2's [no-op, -x, +x, -y, +y]
    _, after, _, _, info = jax.jit(wrapped.step)(jax.random.key(1), state, move)
    assert info["action_mask"].shape == (1, env.spec.max_actions)
    velocity = np.asarray(after.env_state.inner.vel)  # [n, 2]: MPE moves positions by the step's old velocity
    assert velocity[0, 0] < 0 and velocity[0, 1] == 0  # the learner's push (mpe2: u_x = a[2] - a[1])
    np.testing.assert_array_equal(velocity[1], [0.0, 0.0])  # the partner's agent, given zero force, stays at rest


def test_a_partner_built_for_another_env_is_refused_at_once() -> None:
    from marlkit.envs.cooking import Cooking, GreedyHuman

    with pytest.raises(
        InvalidGameError, match=r"cannot act on lbf\S*'s state \(AttributeError.* built for another env"
    ):
        with_partner(make("lbf"), GreedyHuman(Cooking()), [1])

    def one_action(key, state, obs, mask):
        return jnp.zeros((), jnp.int32)

    with pytest.raises(InvalidGameError, match=r"must return actions of shape \(2,\)"):
        with_partner(make("game:stag-hunt"), FunctionPartner(one_action), [1])
