"""A population of partners drawn per episode (marlkit.envs.partner.PopulationPartner) on the cooking task.

The member draws are checked against the documented key schedule itself (an independent recomputation from the
keys) and against the weights by a chi-square test; a one-member population against its member, bit for bit. No
training here: the population row of the cross-play table is tested beside the other rows in
tests/human/test_crossplay_task.py (they share compiled programs); the learning claim (the population-trained agent
with held-out partners) is measured in bench/human_population_task.py."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.envs.cooking import Cooking
from marlkit.envs.partner import MEMBER_STREAM, PopulationPartner, WithPartner, member_key
from marlkit.experiment.config import PartnerConfig
from marlkit.experiment.partner import partner_env
from marlkit.schema import ConfigError, parse

ENV = Cooking(max_episode_steps=4)  # short episodes: many resets in a short rollout
LOW, HIGH = "greedy-human?beta_goal=0.5", "greedy-human?beta_goal=5"


def wrapped(policy: str | list[str], weights: list[float] | None = None) -> WithPartner:
    section: dict[str, Any] = {"agents": [1], "policy": policy}
    if weights is not None:
        section["weights"] = weights
    return partner_env(parse(PartnerConfig, section, "partner"), ENV)


def rollout(env: WithPartner, key: jax.Array, steps: int) -> dict[str, jax.Array]:
    """``steps`` steps with random learner actions: every step's key, joint action, reward, done, obs and member
    (the member the step was taken with)."""

    def body(state: Any, k: jax.Array) -> tuple[Any, dict[str, jax.Array]]:
        k_act, k_step = jax.random.split(k)
        actions = jax.random.randint(k_act, (env.spec.n_agents,), 0, env.spec.max_actions)
        _, joint = env.joint_actions(k_step, state, actions)
        obs, nxt, reward, done, _ = env.step(k_step, state, actions)
        member = jnp.int32(-1) if state.member is None else state.member
        return nxt, {"key": jax.random.key_data(k_step), "joint": joint, "reward": reward, "done": done,
                     "obs": obs, "member": member}  # fmt: skip

    _, state = env.reset(key)
    return jax.lax.scan(body, state, jax.random.split(key, steps))[1]


ROLLOUT = jax.jit(rollout, static_argnums=(0, 2))


def test_the_member_drawn_per_episode_follows_the_weights() -> None:
    weights = [0.2, 0.5, 0.3]
    env = wrapped([LOW, HIGH, "greedy-human?beta_goal=0"], weights)
    assert isinstance(env.partner, PopulationPartner) and env.partner.weights == tuple(weights)
    keys = jax.random.split(jax.random.key(7), 6000)
    members = np.asarray(jax.jit(jax.vmap(lambda k: env.reset(k)[1].member))(keys))
    # the documented schedule, recomputed: categorical(fold_in(reset key, MEMBER_STREAM), log w)
    expected = jax.vmap(
        lambda k: jax.random.categorical(jax.random.fold_in(k, MEMBER_STREAM), jnp.log(jnp.asarray(weights)))
    )(keys)
    assert np.array_equal(members, np.asarray(expected))
    from scipy.stats import chisquare

    counts = np.bincount(members, minlength=3)
    # counts ~ Multinomial(6000, w): the chi-square statistic's p-value under the weights (a fixed seed: this draw's
    # p is what it is; 1e-3 rejects a wrong draw, e.g. uniform weights give chi2 ~ 470, p ~ 1e-100)
    assert chisquare(counts, 6000 * np.asarray(weights)).pvalue > 1e-3, counts
    # the same seed, the same members
    again = np.asarray(jax.jit(jax.vmap(lambda k: env.reset(k)[1].member))(keys))
    assert np.array_equal(members, again)


def test_a_one_member_population_is_that_partner_bit_for_bit() -> None:
    plain = ROLLOUT(wrapped(LOW), jax.random.key(3), 24)
    assert np.all(np.asarray(plain["member"]) == -1)
    # one member; two members of one class with weights (1, 0) (parameter arrays); two of different classes with
    # weights (1, 0) (lax.switch): every one the same episodes, bit for bit
    for policy, weights in (([LOW], None), ([LOW, HIGH], [1.0, 0.0]), ([LOW, "fixed:uniform"], [1.0, 0.0])):
        other = ROLLOUT(wrapped(policy, weights), jax.random.key(3), 24)
        assert np.all(np.asarray(other["member"]) == 0), policy
        for name in ("joint", "reward", "done", "obs"):
            assert np.array_equal(np.asarray(plain[name]), np.asarray(other[name])), (policy, name)


def test_the_member_is_constant_within_an_episode_and_redrawn_at_auto_reset() -> None:
    # fixed partners reveal the member: member 0 always plays action 2, member 1 action 4 (lax.switch members)
    env = wrapped(["fixed:action?index=2", "fixed:action?index=4"], [0.5, 0.5])
    keys = jax.random.split(jax.random.key(11), 6)
    out = jax.jit(jax.vmap(lambda k: rollout(env, k, 40)))(keys)
    member, done = np.asarray(out["member"]), np.asarray(out["done"])  # [6 envs, 40 steps]
    assert np.array_equal(np.asarray(out["joint"])[..., 1], np.where(member == 0, 2, 4))
    stays = ~done[:, :-1]
    assert np.array_equal(member[:, 1:][stays], member[:, :-1][stays])  # no change within an episode
    # at each episode's end the next member is drawn from fold_in(split(key_env)[1], MEMBER_STREAM), key_env =
    # split(step key)[1]: the documented schedule recomputed from the step keys
    step_keys = jax.random.wrap_key_data(jnp.asarray(out["key"]))

    def next_member(k: jax.Array) -> jax.Array:
        return env.partner.draw(member_key(jax.random.split(jax.random.split(k)[1])[1]))

    drawn = np.asarray(jax.vmap(jax.vmap(next_member))(step_keys))
    ends = done[:, :-1]
    assert ends.sum() == 6 * 9  # episodes of 4 steps: 9 ends within 39 steps per env
    assert np.array_equal(member[:, 1:][ends], drawn[:, :-1][ends])
    assert 0 < member.mean() < 1 and np.any(member[:, 1:][ends] != member[:, :-1][ends])  # redrawn, both members


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"policy": [LOW, HIGH], "weights": [0.5, 0.6]}, "partner.weights: weights must sum to 1"),
        ({"policy": [LOW, HIGH], "weights": [0.5, 0.25, 0.25]}, "partner.weights: expected 2 weights"),
        ({"policy": [LOW, HIGH], "weights": [1.5, -0.5]}, "partner.weights"),
        ({"policy": [LOW, "boltzmann?beta=1"]}, "partner.policy[1]: human models act in matrix games"),
        ({"policy": [LOW, "greedy-humann"]}, "partner.policy[1]"),
    ],
)
def test_bad_population_input_is_one_line(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError if "weights" in section else Exception) as info:
        partner_env(parse(PartnerConfig, {"agents": [1], **section}, "partner"), ENV)
    text = str(info.value)
    assert message in text and "\n" not in text, text
