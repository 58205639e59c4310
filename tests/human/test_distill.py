"""Decision-tree distillation (VIPER with DAgger, Bastani et al. 2018): a tree reproduces a known deterministic
tabular policy exactly (and a too-shallow one provably cannot), and on a trained MPE team the kept trees agree with
the teacher's greedy action on their own state distribution at least FIDELITY of the time; gradient saliency of the
same team, and its refusal on an ε-greedy Q policy. The team is the session's small trained team (tests/conftest.py:
IPPO, 2-agent 10-step simple spread, 16k steps, 3 seeds), trained once and also attacked in
tests/attacks/test_observation_deep.py."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

import marlkit.envs as envs
from marlkit.agents.deep.value_based import IDQN
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.experiment.runner import load_trained
from marlkit.games import StochasticGame
from marlkit.human.distill import Distillation, distill_deep, distill_tabular, state_bits
from marlkit.human.saliency import Saliency, saliency

DEPTH, ROUNDS, EPISODES = 4, 4, 64
FIDELITY = 0.45
DECISIVE = 0.55
"""Depth-4 trees, 4 DAgger rounds of 64 ten-step episodes (2,560 labelled (step, agent) pairs), kept by fidelity.
Measured fidelity per (seed, agent): 0.52 / 0.57, 0.56 / 0.73, 0.62 / 0.55; on the decisive states (teacher margin
>= 0.1, 70-80% of the steps): 0.60 / 0.63, 0.62 / 0.76, 0.66 / 0.65. The teacher is a weakly trained IPPO team
(16k steps) whose greedy action is a near-tie between two of the five moves on ~45% of the states it visits (its
mean top probability is 0.45-0.49), so agreement with its argmax is bounded well below 1 for any imitator; and
its action is a function of the *direction* to a landmark, which axis-aligned splits approximate coarsely. 0.45
(2.25x chance, 1/5) and 0.55 on decisive states are a margin of ~0.07 under the smallest measured value."""


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
def trained(small_spread_run):
    return load_trained(small_spread_run)  # tests/conftest.py: one trained team for the session


def seed_state(trained, seed: int):
    return jax.tree.map(lambda x: x[seed], trained.state.carry.learner)


def test_viper_fidelity_on_a_trained_mpe_team(trained) -> None:
    from marlkit.human.distill import host_rollout

    plan = trained.plan
    env = plan.env
    rng = np.random.default_rng(0)
    uniform = host_rollout(env, lambda o, m, g: rng.integers(0, 5, size=m.shape[:2]), EPISODES, 0).returns.mean()
    for seed in range(3):
        result = distill_deep(env, plan.learner, seed_state(trained, seed), DEPTH, rounds=ROUNDS, episodes=EPISODES,
                              key=seed)  # fmt: skip
        print(seed, result.lines(), "uniform team", uniform)
        assert result.weights == "uniform"  # IPPO has V, not Q: VIPER's Q-gap weights are undefined
        assert all(f >= FIDELITY for f in result.fidelity)
        assert all(f is not None and f >= DECISIVE for f in result.decisive_fidelity or ())
        assert all(1 <= d <= DEPTH for d in result.tree_depth) and all(k <= 2 ** (DEPTH + 1) - 1 for k in result.nodes)
        # the trees act like the team: measured |tree - teacher| <= 0.35 per seed (mean return per agent and
        # episode, the same 64 episodes); a uniformly random team scores ~ -8.5 on them, the teacher -6.3 to -7.4
        assert abs(result.tree_return - result.teacher_return) < 1.0
        assert result.tree_return > uniform + 0.5
    with pytest.raises(InvalidGameError, match="depth"):
        distill_deep(env, plan.learner, seed_state(trained, 0), 0)


def test_saliency_on_the_trained_team(trained) -> None:
    plan = trained.plan
    result = saliency(plan.env, plan.learner, seed_state(trained, 0), episodes=EPISODES, key=0)  # shares programs
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
    policy = jax.jit(lambda o: plan.learner.policy(state, observation._replace(obs=o), ()))
    probs = np.asarray(policy(observation.obs))
    greedy = probs.argmax(-1)
    h = 1e-2
    for k in range(0, d, max(1, d // 4)):
        step = np.zeros_like(obs)
        step[:, :, k] = h
        up = np.asarray(policy(jax.numpy.asarray(obs + step)))
        down = np.asarray(policy(jax.numpy.asarray(obs - step)))
        pick = lambda p: np.log(np.take_along_axis(p, greedy[..., None], -1)[..., 0])  # noqa: E731
        numeric = (pick(up) - pick(down)) / (2 * h)
        np.testing.assert_allclose(grads[:, :, k], numeric, rtol=2e-2, atol=1e-2)
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert Saliency.from_json(data).to_json() == data
    env = envs.make("simple_spread", n_agents=2, max_episode_steps=5)
    with pytest.raises(NotApplicableError, match="epsilon-greedy"):
        saliency(env, IDQN(), None)


def test_cli_on_the_deep_run(trained, capsys: pytest.CaptureFixture[str]) -> None:
    """`marlkit explain` on the task run: exact Shapley over the 4 coalitions (v by the compiled evaluation, 3 seeds x
    64 episodes), efficiency, the trained team above the uniform one (measured v(N) - v(∅) ~ 1.1), fairness of the
    (shared-reward, so equal) returns, trees and saliency; explain.json written; bad depth: exit 2."""
    from marlkit.cli import main
    from marlkit.experiment.report import EXPLAIN_FILE

    path = trained.path
    argv = ["explain", str(path), "--depth", str(DEPTH), "--rounds", str(ROUNDS), "--episodes", str(EPISODES), "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert json.loads((path / EXPLAIN_FILE).read_text()) == data
    credit = data["shapley"]
    print(credit, data["returns"])
    assert credit["method"] == "exact" and credit["evaluations"] == 4
    assert sum(credit["values"]) == pytest.approx(credit["full"] - credit["empty"], abs=1e-9)
    assert credit["full"] - credit["empty"] > 0.3 and all(v > 0 for v in credit["values"])
    assert np.mean(data["returns"]) == pytest.approx(credit["full"], abs=1e-6)
    assert data["fairness"]["gini"] == pytest.approx(0.0, abs=1e-6)  # simple spread's reward is shared
    assert data["distillation"]["depth"] == DEPTH and len(data["saliency"]["top"]) == 2
    assert main(["explain", str(path), "--depth", "0"]) == 2
    assert "--depth must be an integer >= 1" in capsys.readouterr().err


def test_q_gap_weights_of_a_value_based_teacher(trained) -> None:
    """VIPER's weights ℓ(o) = max_a Q(o, a) - min_a Q(o, a) for a Q-learner (here an untrained IDQN: the weights are
    a function of its network, whatever it learned), checked against the learner's own Q-values."""
    from marlkit.human.distill import greedy_chooser, has_q_values, host_rollout, teacher_labels

    env = trained.plan.env  # the trained team's env and episode count: the rollout programs are shared
    learner = IDQN(sharing="none", buffer_size=256)
    state = learner.init(jax.random.PRNGKey(0), env.spec, 4)
    rollout = host_rollout(env, greedy_chooser(env, learner, state), EPISODES, 0)
    greedy, weights, _ = teacher_labels(env, learner, state, rollout)
    q = np.asarray(learner.q_values(state.static, state.params.agent, jax.numpy.asarray(rollout.obs)))
    np.testing.assert_allclose(weights, q.max(-1) - q.min(-1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(greedy, q.argmax(-1))
    np.testing.assert_array_equal(rollout.actions, greedy)  # the teacher rollout plays the greedy action
    assert has_q_values(learner) and not has_q_values(trained.plan.learner)  # distill_deep's "q-gap" / "uniform"
