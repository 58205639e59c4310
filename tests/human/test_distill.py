"""Decision-tree distillation (VIPER with DAgger, Bastani et al. 2018): a tree reproduces a known deterministic
tabular policy exactly (and a too-shallow one provably cannot), and on a trained MPE team the kept trees agree with
the teacher's greedy action on their own state distribution at least FIDELITY of the time; gradient saliency of the
same team, and its refusal on an ε-greedy Q policy. The team is the one of tests/attacks/test_observation_deep.py
(same config: IPPO, 2-agent 10-step simple spread, 16k steps, 3 seeds), so its compiled programs are shared."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

import marlkit.envs as envs
from marlkit.agents.deep.value_based import IDQN
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.experiment.runner import load_trained, run
from marlkit.games import StochasticGame
from marlkit.human.distill import Distillation, distill_deep, distill_tabular, state_bits
from marlkit.human.saliency import Saliency, saliency

CONFIG = {
    "name": "attack-deep",
    "env": {"name": "simple_spread", "params": {"n_agents": 2, "max_episode_steps": 10}},
    "learners": {"name": "ippo", "params": {"rollout_length": 10, "update_epochs": 4, "num_minibatches": 2,
                                            "hidden": [32], "lr": 3e-3}},
    "num_envs": 16,
    "steps": 16_000,
    "log_every": 8_000,
    "seeds": 3,
    "key": 0,
}  # fmt: skip
FIDELITY = 0.7
"""Depth-4 trees on 2 x 32 episodes x 10 steps, 3 DAgger rounds: measured fidelity per (seed, agent)
(see test output) well above; simple spread's greedy IPPO action among 5 is mostly 'move towards the nearest
landmark', a few axis-aligned splits on the relative landmark positions. 0.7 is ~3.5x chance (1/5)."""


def chain_game(S: int, n: int = 2) -> StochasticGame:
    """A chain of S states, every joint action moves to the next state (the last one is terminal); 3 actions."""
    A = 3
    T = np.zeros((S, *([A] * n), S))
    for s in range(S):
        T[s, ..., min(s + 1, S - 1)] = 1.0
    rng = np.random.default_rng(0)
    R = rng.normal(size=(n, S, *([A] * n)))
    terminal = np.zeros(S, bool)
    terminal[-1] = True
    return StochasticGame(T, R, np.eye(S)[0], 0.9, terminal=terminal)


def test_tree_reproduces_a_deterministic_tabular_policy() -> None:
    """8 live states (0..7) of 9: trees on the 4 binary digits of the state index reproduce any deterministic
    policy at depth 4 (distill.py's docstring: each path splits on distinct bits); on the live states bit 3 is 0, so
    depth 3 suffices here. The parity policy a(s) = bit0 ^ bit1 ^ bit2 needs all three bits: every leaf of a depth-2
    tree holds two live states of opposite parity, so its fidelity is exactly 1/2."""
    game = chain_game(9)
    rng = np.random.default_rng(3)
    for trial in range(5):
        actions = rng.integers(0, 3, size=(2, 9))
        policy = np.eye(3)[actions]
        exact = distill_tabular(game, policy, depth=4 if trial % 2 else 3)
        assert exact.fidelity == (1.0, 1.0) and exact.samples == 8
        assert exact.tree_return == pytest.approx(exact.teacher_return, abs=1e-12)
        assert all(d <= 3 for d in exact.tree_depth)
        assert exact.teacher_return == pytest.approx(float(np.mean(game.expected_return(policy))), abs=1e-12)
        for i in range(2):  # the tree's actions are the policy's: check with the fitted trees directly
            np.testing.assert_array_equal(exact.trees[i].predict(state_bits(np.arange(8), 4)), actions[i, :8])
    s = np.arange(9)
    parity = np.eye(3)[np.tile((s ^ (s >> 1) ^ (s >> 2)) & 1, (2, 1))]
    assert distill_tabular(game, parity, depth=2).fidelity == (0.5, 0.5)
    assert distill_tabular(game, parity, depth=3).fidelity == (1.0, 1.0)
    data = json.loads(json.dumps(exact.to_json(), allow_nan=False))
    assert Distillation.from_json(data).to_json() == data
    with pytest.raises(InvalidGameError, match="depth"):
        distill_tabular(game, policy, depth=0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    path = run({**CONFIG, "output": {"root": str(tmp_path_factory.mktemp("explain"))}}, progress=False).path
    return load_trained(path)


def seed_state(trained, seed: int):
    return jax.tree.map(lambda x: x[seed], trained.state.carry.learner)


def test_viper_fidelity_on_a_trained_mpe_team(trained) -> None:
    plan = trained.plan
    for seed in range(3):
        result = distill_deep(plan.env, plan.learner, seed_state(trained, seed), 4, rounds=3, episodes=32, key=seed)
        print(seed, result.lines())
        assert result.weights == "uniform"  # IPPO has V, not Q: VIPER's Q-gap weights are undefined
        assert all(f >= FIDELITY for f in result.fidelity)
        assert all(1 <= d <= 4 for d in result.tree_depth) and all(k <= 31 for k in result.nodes)
        # the trees imitate the team: their return is within 1.5 of the teacher's (both on the same episodes;
        # a uniformly random team scores ~ -13 here, the teacher ~ -7)
        assert abs(result.tree_return - result.teacher_return) < 1.5
    with pytest.raises(InvalidGameError, match="depth"):
        distill_deep(plan.env, plan.learner, seed_state(trained, 0), 0)


def test_saliency_on_the_trained_team(trained) -> None:
    plan = trained.plan
    result = saliency(plan.env, plan.learner, seed_state(trained, 0), episodes=8, key=0)
    values = np.asarray(result.values)
    assert values.shape == (2, int(np.prod(plan.env.spec.obs_shape))) and np.all(values >= 0)
    assert np.all(values.sum(axis=1) > 0)
    print(result.lines())
    # the gradient against central finite differences of log π_j(a*_j | o) on a few observations (float32 policy:
    # step 1e-2, agreement to 2e-2 relative plus 1e-2 absolute)
    from marlkit.agents.deep.base import Observation
    from marlkit.human.saliency import log_prob_gradients

    state = seed_state(trained, 0)
    d = int(np.prod(plan.env.spec.obs_shape))
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(4, 2, d)).astype(np.float32)
    mask = np.ones((4, 2, plan.env.spec.max_actions), bool)
    observation = Observation(
        jax.numpy.asarray(obs),
        jax.numpy.asarray(mask),
        jax.numpy.zeros((4, plan.env.spec.global_state_size)),
        jax.numpy.zeros(4, bool),
    )
    grads = np.asarray(log_prob_gradients(plan.learner, state, observation))
    probs = np.asarray(plan.learner.policy(state, observation, ()))
    greedy = probs.argmax(-1)
    h = 1e-2
    for k in range(0, d, max(1, d // 4)):
        step = np.zeros_like(obs)
        step[:, :, k] = h
        up = np.asarray(plan.learner.policy(state, observation._replace(obs=jax.numpy.asarray(obs + step)), ()))
        down = np.asarray(plan.learner.policy(state, observation._replace(obs=jax.numpy.asarray(obs - step)), ()))
        pick = lambda p: np.log(np.take_along_axis(p, greedy[..., None], -1)[..., 0])  # noqa: E731
        numeric = (pick(up) - pick(down)) / (2 * h)
        np.testing.assert_allclose(grads[:, :, k], numeric, rtol=2e-2, atol=1e-2)
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert Saliency.from_json(data).to_json() == data
    env = envs.make("simple_spread", n_agents=2, max_episode_steps=5)
    with pytest.raises(NotApplicableError, match="epsilon-greedy"):
        saliency(env, IDQN(), None)
