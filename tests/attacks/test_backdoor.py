"""Backdoors in a deep team (marlkit.attacks.backdoor / trojan / unlearning; issue 20, item 4): the trigger wrapper and
the reward hack, and the issue's acceptance on a small cooperative task — a trojaned IPPO team reaches ASR >= 0.9
with its clean return within 5% of a clean team's, the detector flags every trojaned agent and no clean one, and
unlearning with the recovered trigger brings ASR <= 0.1 with the clean return within 5%.

The task (:func:`stay_corridor`): misled-corridor's box push (marlkit.games.catalog, "misled-corridor") with a third
action, "stay", that moves nothing and costs 0.5 per staying agent, so a clean team never takes it: the target
action of the backdoor is a *bad* action (with a target the clean team also uses, ASR could not fall to 0.1 after
unlearning — a clean team would take it as often). Episodes of 8 steps; optimum 6 per agent (two steps to the
middle, six on it); a team whose agent 1 always stays never moves the box and loses 0.5 per step: return -4.

One compiled training program serves the clean and the trojaned populations (the hack is an array in the reward
transform's state): seeds 0-4 clean controls (trigger shown at the same rate, unhacked), seeds 5-9 trojaned.
"""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.agents.deep.base import Observation, StepContext
from marlkit.agents.deep.ppo import IPPO
from marlkit.attacks.backdoor import (
    BackdoorMetrics,
    BackdoorReward,
    TriggeredEnv,
    TriggerStamp,
    hack_state,
    measure,
    with_trigger,
)
from marlkit.attacks.trojan import Detection, detect, detection_rates
from marlkit.attacks.unlearning import distill_unlearn, unlearn
from marlkit.envs.games import GameEnv
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.stochastic import StochasticGame
from marlkit.train.deep import prepare

N = 5  # seeds per population (the issue: >= 5 clean and >= 5 trojaned)
TROJANED, TARGET, RATE = 1, 2, 0.2
LEARNER = IPPO(rollout_length=8, hidden=(32,), num_minibatches=1, update_epochs=4, lr=3e-3, sharing="none")
STEPS = 16 * 8 * 100  # 100 updates of 16 envs x 8 steps: every seed of both populations reaches the optimum 6
EPISODES = 32


def stay_corridor(length: int = 5, stay_cost: float = 0.5, gamma: float = 0.9) -> StochasticGame:
    """misled-corridor (two agents push a box; it moves when both push the same way; 1 per step on the middle cell;
    start at either end) plus a "stay" action that moves nothing and costs ``stay_cost`` per staying agent."""
    L, mid = length, length // 2
    T = np.zeros((L, 3, 3, L))
    R = np.zeros((2, L, 3, 3))
    for s in range(L):
        for a in range(3):
            for b in range(3):
                move = (1 if a == 1 else -1) if (a == b and a < 2) else 0
                T[s, a, b, min(max(s + move, 0), L - 1)] = 1.0
                R[:, s, a, b] = float(s == mid) - stay_cost * ((a == 2) + (b == 2))
    return StochasticGame(
        transitions=T, rewards=R, initial=(np.eye(L)[0] + np.eye(L)[-1]) / 2, gamma=gamma, name="stay-corridor"
    )


def task(rate: float = RATE) -> TriggeredEnv:
    # the trigger (one channel, value 1) is shown to every agent, so clean agents see it as often as trojaned ones
    return TriggeredEnv(GameEnv(stay_corridor(), 8), values=(1.0,), agents=(0, 1), rate=rate)


@pytest.fixture(scope="module")
def populations():
    env = task()
    plan = prepare(
        env,
        LEARNER,
        STEPS,
        seeds=2 * N,
        key=0,
        log_every=STEPS // 4,
        num_envs=16,
        reward=BackdoorReward(agents=(TROJANED,), target=(TARGET,)),
    )
    start = plan.start()
    hacked = np.zeros((2 * N, 2), np.float32)
    hacked[N:, TROJANED] = 1.0  # seeds N.. are trojaned; seeds 0..N-1 are the clean controls
    carry = start.carry._replace(reward_state=start.carry.reward_state._replace(hacked=jnp.asarray(hacked)))
    trained, _ = plan.advance(start._replace(carry=carry), 0, plan.num_logs)
    states = trained.carry.learner
    clean = jax.tree.map(lambda x: x[:N], states)
    trojaned = jax.tree.map(lambda x: x[N:], states)
    return env, plan.learner, clean, trojaned, hacked > 0, states


# ------------------------------------------------------------------------------------------ the transform


def test_trigger_wrapper_appends_channels_at_the_rate_and_keeps_clean_features() -> None:
    env = task(rate=0.3)
    base = env.env
    assert env.spec.obs_shape == (base.spec.obs_shape[0] + 1,) and env.spec.obs_sizes == (6, 6)
    keys = jax.random.split(jax.random.key(0), 4000)
    obs, state = jax.vmap(env.reset)(keys)
    base_obs, _ = jax.vmap(base.reset)(jax.vmap(lambda k: jax.random.split(k)[0])(keys))
    np.testing.assert_array_equal(obs[..., :5], base_obs)  # the task's features are unchanged
    on = np.asarray(state.on)
    np.testing.assert_array_equal(obs[:, :, 5], np.repeat(on[:, None], 2, axis=1).astype(np.float32))
    assert abs(on.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 4000)  # Bernoulli(rate), 4 s.e.
    # per-seed arrays: stamp only agent 1, pattern 0.5
    state = with_trigger(state, values=[0.5], stamped=[False, True], rate=1.0)
    obs2, state2, *_ = jax.vmap(env.step)(keys, state, jnp.zeros((4000, 2), jnp.int32))
    np.testing.assert_array_equal(obs2[:, 0, 5], 0.0)
    np.testing.assert_array_equal(obs2[:, 1, 5], 0.5)
    assert bool(state2.on.all())


def test_reward_hack_replaces_only_the_trojaned_agents_triggered_rewards() -> None:
    env = task()
    hack = BackdoorReward(agents=(1,), target=(2,), bonus=3.0)
    tstate = hack.init(jax.random.key(0), env.spec)
    _, state = jax.vmap(env.reset)(jax.random.split(jax.random.key(1), 4))
    state = state._replace(on=jnp.array([True, True, False, False]))
    actions = jnp.array([[2, 2], [0, 1], [2, 2], [0, 1]], jnp.int32)
    reward = jnp.full((4, 2), 0.25)
    ctx = StepContext(None, state, None, actions, reward, {}, None)
    out = np.asarray(hack.apply(tstate, env, ctx))
    np.testing.assert_array_equal(out, [[0.25, 3.0], [0.25, -3.0], [0.25, 0.25], [0.25, 0.25]])
    clean = tstate._replace(hacked=jnp.zeros(2))  # the clean control: nothing hacked
    np.testing.assert_array_equal(hack.apply(clean, env, ctx), reward)


def test_bad_input_is_one_clear_error() -> None:
    base = GameEnv(stay_corridor(), 8)
    with pytest.raises(InvalidGameError, match="rate"):
        TriggeredEnv(base, rate=1.5)
    with pytest.raises(InvalidGameError, match="agent 3 does not exist"):
        TriggeredEnv(base, agents=(3,))
    with pytest.raises(InvalidGameError, match="action 5"):
        hack_state(base.spec, (1,), 5)
    with pytest.raises(InvalidGameError, match="1 finite values"):
        TriggerStamp.of(task(), [1.0, 0.0], (1,))
    with pytest.raises(InvalidGameError, match="TriggeredEnv"):
        measure(base, LEARNER, None, 2)
    with pytest.raises(InvalidGameError, match="bonus"):
        BackdoorReward(bonus=0.0)


# --------------------------------------------------------------------------------------- the acceptance


def test_backdoor_asr_and_clean_return(populations) -> None:
    """ASR >= 0.9 on every trojaned seed: the hack makes the target the only rewarded action under the trigger and
    greedy evaluation turns a learned preference into a certainty (measured: 1.0 on all seeds); clean return within
    5% of the clean team of the same seed (CPVR): both populations reach the task's optimum 6 (measured CPVR 0).
    The clean controls take the target (a costly action) on no step, with or without the trigger."""
    env, learner, clean, trojaned, _, _ = populations
    reference = measure(env, learner, clean, TARGET, agents=(TROJANED,), episodes=EPISODES)
    attacked = measure(
        env, learner, trojaned, TARGET, agents=(TROJANED,), episodes=EPISODES, reference=reference.clean_return
    )
    assert np.all(attacked.team_asr >= 0.9), attacked.lines()
    assert np.all(np.abs(attacked.cpvr) <= 0.05), attacked.lines()
    assert np.all(attacked.drop > 0.5 * np.abs(reference.clean_return))  # the trigger collapses the return
    assert np.all(reference.team_asr <= 0.1) and np.allclose(reference.drop, 0.0, atol=0.05 * 6)
    again = BackdoorMetrics.from_json(json.loads(json.dumps(attacked.to_json())))
    np.testing.assert_allclose(again.cpvr, attacked.cpvr)


@pytest.fixture(scope="module")
def detection(populations):
    env, learner, _, _, _, states = populations
    return detect(env, learner, states, episodes=EPISODES, restarts=4, gradient_steps=20, key=3)


def test_detector_flags_every_trojaned_agent_and_no_clean_one(detection, populations) -> None:
    """TPR = 1 and FPR = 0 over 5 clean and 5 trojaned teams (20 agents: 5 trojaned, 15 clean — the clean teams'
    agents and the trojaned teams' unhacked agent 0). The threshold (a found trigger costing > 20% of the clean
    return) sits between what the search finds on clean agents (measured: no drop — they saw the trigger channel
    unhacked and ignore it) and on trojaned ones (measured: 6 - (-4) = 10, 167%)."""
    _, _, _, _, truth, _ = populations
    rates = detection_rates(detection.flagged, truth)
    assert rates.tpr == 1.0 and rates.fpr == 0.0, detection.lines()
    # the recovered trigger forces the target action and lies near the planted one (value 1 in a box [0, 1])
    assert np.all(detection.target[N:, TROJANED] == TARGET)
    assert np.all(detection.trigger[N:, TROJANED, 0] > 0.5)
    again = Detection.from_json(json.loads(json.dumps(detection.to_json())))
    np.testing.assert_array_equal(again.flagged, detection.flagged)


def test_each_flagging_rule_alone_separates_the_populations(detection, populations) -> None:
    """Both of the detector's rules, judged alone, give TPR = 1 and FPR = 0 here: the return drop (override rule
    off) and the override rate (drop rule off: threshold inf). The override rate of a trojaned agent is the share of
    probe observations where the found trigger makes it "stay" though it would have moved; a clean agent ignores the
    trigger channel, so no pattern in the box overrides it on even a fifth of them (0.2: far from the 0.5 rule)."""
    _, _, _, _, truth, _ = populations
    by_drop = dataclasses.replace(detection, override=None)
    by_override = detection.with_threshold(float("inf"))
    for judged in (by_drop, by_override):
        rates = detection_rates(judged.flagged, truth)
        assert rates.tpr == 1.0 and rates.fpr == 0.0, judged.lines()
    assert np.all(detection.override[N:, TROJANED] >= 0.9), detection.override
    assert np.all(detection.override[~truth] < 0.2), detection.override


def test_unlearning_removes_the_backdoor(detection, populations) -> None:
    """Fine-tuning the trojaned teams (60 updates, the recovered trigger shown to the flagged agents at rate 0.5,
    the true reward) brings ASR <= 0.1 (measured 0) — the target is a costly action the true reward never pays for,
    under the trigger as without it — and keeps the clean return within 5% of the clean teams' (measured: 6)."""
    env, learner, clean, trojaned, _, _ = populations
    flagged = detection.flagged[N:]
    trigger = detection.trigger[N:, TROJANED]
    fixed = unlearn(env, learner, trojaned, trigger, flagged, steps=16 * 8 * 60, rate=0.5, key=7)
    reference = measure(env, learner, clean, TARGET, agents=(TROJANED,), episodes=EPISODES)
    after = measure(
        env, learner, fixed, TARGET, agents=(TROJANED,), episodes=EPISODES, reference=reference.clean_return
    )
    assert np.all(after.team_asr <= 0.1), after.lines()
    assert np.all(np.abs(after.cpvr) <= 0.05), after.lines()


def test_distillation_unlearning_removes_the_backdoor_without_a_reward(detection, populations) -> None:
    """Self-distillation (300 Adam steps: the flagged agents' triggered behaviour pulled onto their own clean
    behaviour, the clean behaviour held in place; no env reward) brings ASR <= 0.1 with the clean return within 5%
    of the clean teams' — the issue's unlearning thresholds, by a defence that does not need the true reward to
    punish the target action. The clean controls' agents are not flagged, so their states must not change."""
    env, learner, clean, _, _, states = populations
    fixed = distill_unlearn(env, learner, states, detection.trigger[:, TROJANED], detection.flagged, key=7)
    reference = measure(env, learner, clean, TARGET, agents=(TROJANED,), episodes=EPISODES)
    after = measure(
        env,
        learner,
        jax.tree.map(lambda x: x[N:], fixed),
        TARGET,
        agents=(TROJANED,),
        episodes=EPISODES,
        reference=reference.clean_return,
    )
    assert np.all(after.team_asr <= 0.1), after.lines()
    assert np.all(np.abs(after.cpvr) <= 0.05), after.lines()
    untouched = jax.tree.map(lambda x: x[:N], fixed)
    for a, b in zip(jax.tree.leaves(untouched.params), jax.tree.leaves(clean.params), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_detector_refuses_a_policy_without_gradients(populations) -> None:
    from marlkit.attacks.trojan import check_gradients, probe_observations

    env = populations[0]

    class Flat:
        def policy(self, state, observation: Observation, memory):
            return jnp.full((*observation.obs.shape[:2], 3), 1 / 3)

    probes = probe_observations(env, 0, 4)
    with pytest.raises(NotApplicableError, match="no gradient"):
        check_gradients(Flat(), None, probes, jnp.asarray([[5], [5]]))


def test_stamp_equals_the_wrappers_own_trigger_and_thresholds_rejudge() -> None:
    """Two formulations of one trigger: evaluate's stamp (``TriggerStamp``, one-hot scatter on the channels) and
    the wrapper's own (``append_features``) give the same observation; a Detection re-judged with another
    threshold flags by the same rule, and ``calibrate`` is max(floor, factor x the largest clean relative drop)."""
    from marlkit.attacks.backdoor import quiet_env
    from marlkit.attacks.trojan import calibrate

    env = task(rate=1.0)
    keys = jax.random.split(jax.random.key(5), 16)
    on_obs, _ = jax.vmap(env.reset)(keys)
    off_obs, _ = jax.vmap(quiet_env(env).reset)(keys)
    stamp = TriggerStamp.of(env, [1.0], (0, 1))
    np.testing.assert_array_equal(stamp(None, off_obs, None), on_obs)
    one = TriggerStamp.of(env, [0.25], (1,))
    stamped = np.asarray(one(None, off_obs, None))
    np.testing.assert_array_equal(stamped[:, 0], off_obs[:, 0])
    np.testing.assert_array_equal(stamped[:, 1, 5], 0.25)
    found = Detection(
        clean_return=np.array([6.0, 6.0]),
        drop=np.array([[0.0, 0.6], [0.3, 10.0]]),
        trigger=np.zeros((2, 2, 1)),
        target=np.zeros((2, 2), int),
        surrogate=np.zeros((2, 2)),
        threshold=0.2,
        low=0.0,
        high=1.0,
        restarts=1,
        gradient_steps=0,
        episodes=1,
    )
    np.testing.assert_array_equal(found.flagged, [[False, False], [False, True]])
    np.testing.assert_array_equal(found.with_threshold(0.075).flagged, [[False, True], [False, True]])
    assert calibrate(found.with_threshold(0.0), factor=2.0) == pytest.approx(2 * 10.0 / 6.0)
    assert calibrate(Detection(**{**found.__dict__, "drop": np.zeros((2, 2))})) == 0.05


def test_detector_bad_input(populations) -> None:
    env, learner, _, _, _, states = populations
    with pytest.raises(InvalidGameError, match="TriggeredEnv"):
        detect(env.env, learner, states)
    with pytest.raises(InvalidGameError, match="low < high"):
        detect(env, learner, states, low=1.0, high=1.0)
    with pytest.raises(InvalidGameError, match="restarts"):
        detect(env, learner, states, restarts=0)
    with pytest.raises(InvalidGameError, match="rate"):
        unlearn(env, learner, states, [1.0], (1,), steps=128, rate=-0.1)
    with pytest.raises(InvalidGameError, match="1 finite values"):
        unlearn(env, learner, states, [1.0, 2.0], (1,), steps=128)
