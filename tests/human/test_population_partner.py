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
from marlkit.envs.games import GameEnv
from marlkit.envs.partner import (
    MEMBER_STREAM,
    FunctionPartner,
    PopulationPartner,
    WithPartner,
    member_key,
    with_partner,
)
from marlkit.experiment.config import PartnerConfig
from marlkit.experiment.partner import make_partner, partner_env
from marlkit.games import NormalFormGame
from marlkit.schema import ConfigError, parse

ENV = Cooking(max_episode_steps=4)  # short episodes: many resets in a short rollout
LOW, HIGH = "greedy-human?beta_goal=0.5", "greedy-human?beta_goal=5"
# a 3x3 matrix game repeated for 4 steps: cheap to compile, for what needs no cooking (the member draws)
GAME = GameEnv(NormalFormGame(np.arange(18.0).reshape(2, 3, 3), name="3x3"), 4, observation="one-hot")
FIXED = ["fixed:action?index=0", "fixed:action?index=1", "fixed:action?index=2"]


def wrapped(policy: str | list[str], weights: list[float] | None = None, env: Any = ENV) -> WithPartner:
    section: dict[str, Any] = {"agents": [1], "policy": policy}
    if weights is not None:
        section["weights"] = weights
    return partner_env(parse(PartnerConfig, section, "partner"), env)


def partner_of(spec: str) -> Any:
    """The partner of a source on the cooking task (no wrapper built)."""
    return make_partner(parse(PartnerConfig, {"agents": [1], "policy": spec}, "partner"), ENV)[0]


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


def test_the_member_drawn_per_episode_follows_the_weights() -> None:
    weights = [0.2, 0.5, 0.3]
    env = wrapped(FIXED, weights, GAME)
    assert isinstance(env.partner, PopulationPartner) and env.partner.weights == tuple(weights)
    keys = jax.random.split(jax.random.key(7), 6000)

    @jax.jit
    def members_and_schedule(keys: jax.Array) -> tuple[Any, jax.Array]:
        # the env's draws, and the documented schedule recomputed: categorical(fold_in(reset key, MEMBER_STREAM), log w)
        log_w = jnp.log(jnp.asarray(weights))
        drawn = jax.vmap(lambda k: env.reset(k)[1].member)(keys)
        return drawn, jax.vmap(lambda k: jax.random.categorical(jax.random.fold_in(k, MEMBER_STREAM), log_w))(keys)

    members, expected = (np.asarray(x) for x in members_and_schedule(keys))
    assert np.array_equal(members, expected)
    from scipy.stats import chisquare

    counts = np.bincount(members, minlength=3)
    # counts ~ Multinomial(6000, w): the chi-square statistic's p-value under the weights (a fixed seed: this draw's
    # p is what it is; 1e-3 rejects a wrong draw, e.g. uniform weights give chi2 ~ 470, p ~ 1e-100)
    assert chisquare(counts, 6000 * np.asarray(weights)).pvalue > 1e-3, counts
    assert np.array_equal(members, np.asarray(members_and_schedule(keys)[0]))  # the same seed, the same members


def softmax_partner(key: jax.Array, state: Any, obs: jax.Array, mask: jax.Array, beta: Any) -> jax.Array:
    """A partner with one number: agent i plays softmax(beta * (0, 1, 2)) (a parameter-array member)."""
    logits = beta * jnp.arange(3.0)
    return jax.random.categorical(key, jnp.broadcast_to(logits, (2, 3))).astype(jnp.int32)


def test_a_one_member_population_is_that_partner_bit_for_bit() -> None:
    member = FunctionPartner(softmax_partner, (0.5,))
    # the partner alone; a one-member population; two members of one class with weights (1, 0) (parameter arrays
    # [M], as every greedy population): the same episodes, bit for bit (lax.switch members: the next test)
    envs = [
        with_partner(GAME, partner, [1])
        for partner in (
            member,
            PopulationPartner((member,), (1.0,)),
            PopulationPartner((member, FunctionPartner(softmax_partner, (2.0,))), (1.0, 0.0)),
        )
    ]
    plain, *others = jax.jit(lambda k: [rollout(env, k, 24) for env in envs])(jax.random.key(3))  # one program
    assert np.all(np.asarray(plain["member"]) == -1)
    for other in others:
        assert np.all(np.asarray(other["member"]) == 0)
        for name in ("joint", "reward", "done", "obs"):
            assert np.array_equal(np.asarray(plain[name]), np.asarray(other[name])), name
    # the greedy humans' parameter arrays: member m acts as greedy human m alone, bit for bit
    low, high = (partner_of(spec) for spec in (LOW, HIGH))
    greedy = PopulationPartner((low, high), (0.5, 0.5))
    keys = jax.random.split(jax.random.key(1), 64)

    @jax.jit
    def both(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
        obs, state = ENV.reset(jax.random.key(0))
        mask = ENV.state_info(state)["action_mask"]

        def ours(k: jax.Array) -> jax.Array:
            return jnp.stack([greedy.act_member(jnp.int32(m), k, state, obs, mask) for m in (0, 1)])

        def theirs(k: jax.Array) -> jax.Array:
            return jnp.stack([p.act(k, state, obs, mask) for p in (low, high)])

        return jax.vmap(ours)(keys), jax.vmap(theirs)(keys)

    ours, theirs = both(keys)
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))


def test_the_member_is_constant_within_an_episode_and_redrawn_at_auto_reset() -> None:
    # fixed partners reveal the member: member m always plays action m (lax.switch members)
    env = wrapped(FIXED[1:], [0.5, 0.5], GAME)
    population = env.population
    assert population is not None
    keys = jax.random.split(jax.random.key(11), 6)

    @jax.jit
    def run(keys: jax.Array) -> tuple[dict[str, jax.Array], jax.Array]:
        # the rollouts, and the documented schedule recomputed from their step keys: at each episode's end the next
        # member is drawn from fold_in(split(key_env)[1], MEMBER_STREAM), key_env = split(step key)[1]
        def next_member(k: jax.Array) -> jax.Array:
            return population.draw(member_key(jax.random.split(jax.random.split(k)[1])[1]))

        out = jax.vmap(lambda k: rollout(env, k, 40))(keys)
        return out, jax.vmap(jax.vmap(next_member))(jax.random.wrap_key_data(out["key"]))

    out, next_members = run(keys)
    member, done = np.asarray(out["member"]), np.asarray(out["done"])  # [6 envs, 40 steps]
    assert np.array_equal(np.asarray(out["joint"])[..., 1], member + 1)
    stays = ~done[:, :-1]
    assert np.array_equal(member[:, 1:][stays], member[:, :-1][stays])  # no change within an episode
    drawn = np.asarray(next_members)
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


def test_members_whose_number_must_be_static_act_by_branches() -> None:
    def policy(key: jax.Array, state: Any, obs: Any, mask: Any, k: int) -> jax.Array:
        return jnp.zeros(2, jnp.int32) + jnp.arange(k)[-1]  # k sets a shape: no parameter array can carry it

    population = PopulationPartner((FunctionPartner(policy, (2,)), FunctionPartner(policy, (4,))), (0.5, 0.5))
    none: Any = None
    act = jax.jit(lambda m: population.act_member(m, jax.random.key(0), none, none, none))
    assert act(jnp.int32(0)).tolist() == [1, 1] and act(jnp.int32(1)).tolist() == [3, 3]
