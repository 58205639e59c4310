"""The compiled loop: reproducibility, seed independence of batching, History contents, composition, bad input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.agents.tabular import CQL, IQL, PHC, LearnerConfigError, WoLFPHC
from marlkit.errors import GameFileError, InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.train import History, assign, train

PD = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]], name="prisoner's dilemma")
MP = NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]], name="matching pennies")
LEARNER = IQL(step_size=0.2)
STEPS, LOG = 400, 100


def run(seeds=4, key=0, **kw) -> History:
    return train(PD, LEARNER, STEPS, seeds=seeds, key=key, log_every=LOG, **kw)


def assert_same(a: History, b: History) -> None:
    for name in ("steps", "policy", "average_policy", "joint_counts", "episode_return", "episode_count", "reward_mean"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.metrics.keys() == b.metrics.keys()
    for name in a.metrics:
        np.testing.assert_array_equal(a.metrics[name], b.metrics[name], err_msg=name)


def test_same_config_and_key_is_bit_identical_and_seeds_differ() -> None:
    first, second = run(), run()
    assert_same(first, second)
    assert not np.array_equal(first.joint_counts[0], first.joint_counts[1])  # seeds are different runs
    assert not np.array_equal(run(key=1).joint_counts, first.joint_counts)


def test_a_seed_alone_equals_the_same_seed_in_a_batch() -> None:
    batch = run(seeds=8)
    for i in (0, 3, 7):
        assert_same(train(PD, LEARNER, STEPS, seeds=[i], key=0, log_every=LOG), batch.select_seeds(slice(i, i + 1)))
    # Chunking the vmap differently (and padding 8 seeds to 3 chunks of 3) changes nothing either.
    assert_same(run(seeds=8, seed_chunk=3), batch)


def test_history_layout() -> None:
    h = run(seeds=3)
    T = STEPS // LOG
    assert h.steps.tolist() == [100, 200, 300, 400] and h.seeds.tolist() == [0, 1, 2]
    assert h.policy.shape == (3, T, 2, 1, 2) and h.average_policy.shape == (3, T, 2, 1, 2)
    np.testing.assert_allclose(h.policy.sum(-1), 1.0, rtol=1e-6)
    assert np.all(np.isnan(h.average_policy)) and not h.has_average_policy.any()  # IQL keeps no average
    assert h.joint_counts.shape == (3, T, 1, 2, 2) and h.joint_counts.dtype == np.int64
    np.testing.assert_array_equal(h.joint_counts.sum(axis=(2, 3, 4)), np.broadcast_to(h.steps, (3, T)))
    np.testing.assert_array_equal(h.window_counts().sum(axis=(2, 3, 4)), LOG)
    # One play per episode in a normal-form game: the episode return is the stage payoff.
    np.testing.assert_array_equal(h.episode_count, LOG)
    np.testing.assert_allclose(h.episode_return, h.reward_mean, rtol=1e-6)
    # The mean reward of a window equals the payoffs weighted by that window's joint-action counts.
    counts = h.window_counts()[:, :, 0].reshape(3, T, 4)
    expected = np.einsum("stj,ij->sti", counts, PD.payoffs.reshape(2, 4)) / LOG
    np.testing.assert_allclose(h.reward_mean, expected, rtol=1e-5)
    assert h.metrics["td_error"].shape == (3, T, 2) and np.all(h.metrics["td_error"] >= 0)
    assert h.meta["learners"] == [repr(LEARNER)] * 2 and h.meta["max_episode_steps"] == 1


def test_save_and_load_round_trip(tmp_path) -> None:
    h = train(MP, [WoLFPHC(), IQL()], STEPS, seeds=2, key=0, log_every=LOG)
    path = h.save(tmp_path / "runs" / "h.npz")
    assert [p.name for p in path.parent.iterdir()] == ["h.npz"]  # no temp file left behind
    loaded = History.load(path)
    assert_same(h, loaded)
    np.testing.assert_array_equal(loaded.has_average_policy, [True, False])
    assert loaded.meta == h.meta and loaded.metrics.keys() == {"td_error", "winning"}
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    with pytest.raises(GameFileError):
        History.load(tmp_path / "bad.npz")
    with pytest.raises(GameFileError, match="no such file"):
        History.load(tmp_path / "missing.npz")


def test_wolf_against_iql_in_one_game() -> None:
    h = train(MP, [WoLFPHC(), IQL()], STEPS, seeds=2, key=0, log_every=LOG)
    assert h.meta["groups"] == [[0], [1]]
    assert not np.isnan(h.average_policy[:, :, 0]).any() and np.isnan(h.average_policy[:, :, 1]).all()
    # WoLF reports "winning", IQL does not: NaN for agent 1.
    assert np.isnan(h.metrics["winning"][:, :, 1]).all() and not np.isnan(h.metrics["winning"][:, :, 0]).any()
    np.testing.assert_allclose(h.reward_mean.sum(-1), 0.0, atol=1e-6)  # zero-sum


def test_assignment_forms() -> None:
    assert assign(IQL(), 3) == assign([IQL(), IQL(), IQL()], 3)  # equal independent learners are batched
    groups = assign([IQL(), PHC(), IQL()], 3)
    assert [g.agents for g in groups] == [(0, 2), (1,)]
    assert [g.agents for g in assign(CQL(), 2)] == [(0, 1)]
    assert [g.agents for g in assign([(CQL(), [0, 2]), (IQL(), [1])], 3)] == [(0, 2), (1,)]


def test_cql_on_a_team_through_the_loop() -> None:
    team = NormalFormGame([[[2, 0], [0, 1]], [[2, 0], [0, 1]]], name="coordination")
    h = train(team, CQL(), STEPS, seeds=2, key=0, log_every=LOG)
    assert h.meta["groups"] == [[0, 1]] and h.policy.shape == (2, 4, 2, 1, 2)


def test_stochastic_game_with_terminal_states_records_episode_returns() -> None:
    # A corridor: from state 0 every joint action moves to 1, from 1 to the terminal state 2 with reward 1 each.
    T = np.zeros((3, 2, 2, 3))
    T[0, ..., 1] = T[1, ..., 2] = T[2, ..., 2] = 1.0
    R = np.zeros((2, 3, 2, 2))
    R[:, 1] = 1.0
    game = StochasticGame(T, R, [1.0, 0.0, 0.0], 0.9, terminal=[False, False, True])
    h = train(game, IQL(), STEPS, seeds=2, key=0, log_every=LOG)
    np.testing.assert_array_equal(h.episode_count, LOG // 2)  # two steps per episode
    np.testing.assert_array_equal(h.episode_return, 1.0)
    assert h.joint_counts[:, -1, 2].sum() == 0  # no action is taken in the terminal state


def test_bad_input_is_rejected_before_compiling() -> None:
    with pytest.raises(InvalidGameError, match="at least 1 seed"):
        train(PD, IQL(), 100, seeds=0)
    with pytest.raises(InvalidGameError, match=r"does not divide steps=100.*nearby"):
        train(PD, IQL(), 100, log_every=30)
    with pytest.raises(InvalidGameError, match="steps"):
        train(PD, IQL(), 0)
    with pytest.raises(InvalidGameError, match="distinct"):
        train(PD, IQL(), 100, seeds=[1, 1])
    with pytest.raises(InvalidGameError, match="key"):
        train(PD, IQL(), 100, key="zero")  # type: ignore[arg-type]
    with pytest.raises(LearnerConfigError, match="2 agents but 3 learners"):
        train(PD, [IQL(), IQL(), IQL()], 100)
    with pytest.raises(LearnerConfigError, match="tabular learner"):
        train(PD, [IQL(), object()], 100)  # type: ignore[list-item]
    with pytest.raises(LearnerConfigError, match="exactly once"):
        train(PD, [(IQL(), [0]), (IQL(), [0])], 100)
    with pytest.raises(NotApplicableError, match="common-payoff"):
        train(PD, CQL(), 100)
    with pytest.raises(NotApplicableError, match="initial_policy has 3 entries"):
        train(PD, PHC(initial_policy=(0.2, 0.3, 0.5)), 100)
    with pytest.raises(InvalidGameError, match="NormalFormGame or StochasticGame"):
        train("pd", IQL(), 100)  # type: ignore[arg-type]


def test_jax_key_is_accepted() -> None:
    h1 = train(PD, LEARNER, STEPS, seeds=4, key=jax.random.key(0), log_every=LOG)
    assert_same(h1, run())  # an integer key k is jax.random.key(k)


@dataclass(frozen=True)
class FixedMixed:
    """A minimal contract learner without the act_uniform fast path that reads ``batch.policies``."""

    p0: float = 0.25
    joint: ClassVar[bool] = False
    needs_policies: ClassVar[bool] = True

    def init(self, key, spec):
        return jnp.broadcast_to(jnp.asarray([self.p0, 1 - self.p0]), (len(spec.agents), spec.num_states, 2))

    def act(self, key, state, obs):
        return jax.random.bernoulli(key, 1 - self.p0, obs.shape).astype(jnp.int32), None

    def update(self, state, batch):
        return state, {"opponent_p0": jnp.broadcast_to(batch.policies[1, 0, 0], batch.obs.shape)}

    def policy(self, state, obs):
        return state[jnp.arange(obs.shape[0]), obs]


def test_key_based_learner_and_policies_in_the_batch() -> None:
    h = train(MP, [FixedMixed(0.25), IQL(step_size=0.2)], STEPS, seeds=2, key=0, log_every=LOG)
    # Agent 0 sees agent 1's current IQL policy each step; its window mean is a probability.
    assert np.all((h.metrics["opponent_p0"][:, :, 0] > 0) & (h.metrics["opponent_p0"][:, :, 0] < 1))
    assert np.isnan(h.metrics["opponent_p0"][:, :, 1]).all()
    np.testing.assert_allclose(h.policy[:, :, 0, 0], np.broadcast_to([0.25, 0.75], (2, 4, 2)))
    # Agent 0 plays action 0 with probability 0.25: 400 plays per seed, SE = sqrt(.25 * .75 / 400) = 0.022, z = 4.5.
    plays = h.joint_counts[:, -1, 0].sum(-1)  # [seeds, A_0]
    assert np.all(np.abs(plays[:, 0] / STEPS - 0.25) < 4.5 * np.sqrt(0.25 * 0.75 / STEPS))
