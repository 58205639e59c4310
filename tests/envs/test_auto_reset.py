"""The cheap auto-reset (``envs.base.reset_where``) gives exactly the values of the plain select it replaces.

Oracle: the pre-issue-16 formulation of ``Env.step``'s auto-reset, written out below — split the step's key,
draw ``reset_env(key_reset)`` for every env at every step and select it where ``done``. The new step computes the
draw only when some env of the batch is done (``lax.cond`` under a ``custom_vmap`` rule); the trajectories must be
bit-for-bit equal, unbatched, under one ``vmap`` (envs) and under two (seeds x envs), on envs whose episodes end
together (MPE: time limit) and apart (LBF: random termination by eating food; the time limit after a random start
offset).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.envs import make
from marlkit.envs.base import TimeState


def plain_step(env, key, state, actions):
    """The oracle: the auto-reset as a select over a reset drawn at every step."""
    key_step, key_reset = jax.random.split(key)
    actions, _ = env.legalise(state, actions)
    obs, inner, reward, terminated, _ = env.step_env(key_step, state.inner, actions)
    time = state.time + 1
    done = terminated | ((time >= env.spec.max_episode_steps) & ~terminated)
    reset_obs, reset_inner = env.reset_env(key_reset)
    inner = jax.tree_util.tree_map(lambda r, s: jnp.where(done, r, s), reset_inner, inner)
    return jnp.where(done, reset_obs, obs), TimeState(inner, jnp.where(done, 0, time).astype(jnp.int32)), reward, done


def rollout(step, env, batch: tuple[int, ...], steps: int):
    """``steps`` random joint steps of ``prod(batch)`` envs with ``len(batch)`` nested vmaps; returns the history."""
    one = lambda k, s, a: step(env, k, s, a)[:4]  # noqa: E731
    reset = env.reset
    for _ in batch:
        one, reset = jax.vmap(one), jax.vmap(reset)

    def run(key):
        k0, key = jax.random.split(key)
        keys = jax.random.split(k0, int(np.prod(batch))).reshape(batch)
        _, state = reset(keys)
        # start the envs at different times so their time limits fall on different steps
        state = state._replace(time=(jnp.arange(np.prod(batch)).reshape(batch) % 7).astype(jnp.int32))

        def body(carry, k):
            state = carry
            ka, ks = jax.random.split(k)
            actions = jax.random.randint(ka, (*batch, env.spec.n_agents), 0, env.spec.max_actions)
            keys = jax.random.split(ks, int(np.prod(batch))).reshape(batch)
            obs, state, reward, done = one(keys, state, actions)
            return state, (obs, reward, done)

        return jax.lax.scan(body, state, jax.random.split(key, steps))

    return jax.jit(run)(jax.random.key(3))


def new_step(env, key, state, actions):
    return env.step(key, state, actions)


@pytest.mark.parametrize(
    "name,params,batch",
    [
        ("simple_spread", {"n_agents": 3, "max_episode_steps": 9}, (2, 3)),  # nested vmap: the rule's recursion
        ("lbf", {"n_agents": 2, "max_episode_steps": 11}, (6,)),  # envs end on different steps
    ],
)
def test_auto_reset_matches_plain_select(name, params, batch):
    env = make(name, **params)
    ours = rollout(new_step, env, batch, 30)
    oracle = rollout(plain_step, env, batch, 30)
    assert int(np.asarray(oracle[1][2]).sum()) > 0  # episodes did end (and reset) in the window
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(oracle), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
