"""JAL-AM and the empirical models of the others: exact oracles, the climbing game, stochastic games, bad input."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.agents.tabular import IQL, Boltzmann, ExponentialDecay, LearnerConfigError
from marlkit.agents.tabular.agent_modelling import JALAM, StagePayoffs, flat_others, others_index, product_belief
from marlkit.games import NormalFormGame, catalog
from marlkit.train import train


@settings(max_examples=12, deadline=None)
@given(
    actions=st.lists(st.integers(1, 3), min_size=1, max_size=4),
    data=st.data(),
)
def test_payoff_tables_and_beliefs_match_the_game(actions: list[int], data: st.DataObject) -> None:
    """The flat a_-i layout of ``StagePayoffs.tables`` and of ``product_belief`` / ``flat_others`` agree with
    the game's payoff tensor and with an outer product of the marginals (padding actions carry weight 0)."""
    n, a_max = len(actions), max(actions)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    game = NormalFormGame(rng.normal(size=(n, *actions)))
    agents = tuple(range(n))
    tables = StagePayoffs.of(game).tables(agents, a_max)
    others = others_index(agents, n, a_max)
    joint = tuple(int(rng.integers(m)) for m in actions)
    flat = np.asarray(flat_others(others, jnp.asarray(joint, dtype=jnp.int32)))
    for i in agents:
        assert tables[i, 0, joint[i], flat[i]] == np.float32(game.payoffs[(i, *joint)])
    marginals = np.zeros((n, a_max))
    for j, m in enumerate(actions):
        marginals[j, :m] = rng.dirichlet(np.ones(m))
    belief = np.asarray(product_belief(others, jnp.asarray(np.broadcast_to(marginals, (n, n, a_max)), jnp.float32)))
    for i in agents:
        theirs = [marginals[j] for j in agents if j != i]
        expected = np.ones(1)
        for m in theirs:
            expected = np.multiply.outer(expected, m).reshape(-1)
        np.testing.assert_allclose(belief[i], expected, atol=1e-6)
        # Expected payoffs through the tables equal the game's own contraction.
        values = tables[i, 0] @ belief[i]
        profile = [marginals[j, : actions[j]] for j in agents]
        for a in range(actions[i]):
            pure = np.zeros(actions[i])
            pure[a] = 1.0
            u = game.expected_utility([pure if j == i else profile[j] for j in agents])[i]
            assert values[a] == pytest.approx(u, abs=1e-5)


def test_jalam_acts_on_model_weighted_joint_action_values() -> None:
    """Exact oracle (Albrecht et al. 2024, Alg. 6): with α = 1 and γ = 0, Q(a_i, a_-i) is the payoff of every
    joint action tried so far (0 for the rest), the models are the others' empirical frequencies, and the policy
    is the Boltzmann distribution of AV(a_i) = Σ_{a_-i} Q(a_i, a_-i) π̂(a_-i) — all recomputable from the recorded
    joint counts."""
    game = catalog.make("random-general-sum", seed=5)
    tau = 2.0
    h = train(game, JALAM(step_size=1.0, exploration=Boltzmann(tau)), 200, seeds=4, key=0, log_every=5)
    counts = h.joint_counts[:, :, 0].astype(np.float64)  # [N, T, 3, 3]
    for seed in range(4):
        for t in range(h.num_logs):
            c = counts[seed, t]
            for i in range(2):
                q = np.where(c > 0, game.payoffs[i], 0.0)
                q, theirs = (q, c.sum(0)) if i == 0 else (q.T, c.sum(1))  # own action first
                values = q @ (theirs / theirs.sum())
                expected = np.exp((values - values.max()) / tau)
                np.testing.assert_allclose(h.policy[seed, t, i, 0], expected / expected.sum(), atol=2e-5)
    assert np.all(h.metrics["td_error"] >= 0)


def test_jalam_in_the_climbing_game_against_iql() -> None:
    """Claus & Boutilier (1998) climbing game, both learners with Boltzmann τ = 16 · 0.999^t (floor 0.05), α = 0.1,
    5,000 plays, 64 seeds, key 0 — the settings under which IQL reaches the optimum (a, a) = 11 in 6/64 seeds.

    Measured: JAL-AM reaches (a, a) in **0/64** seeds (key 0; 0/64 with key 1 too) and ends on (b, c) (17/64) or
    (c, c) (47/64). It does *not* beat IQL here, and this test asserts that honestly. Why: AV(a) = 11 π̂(a) −
    30 π̂(b) + 0 π̂(c) needs a confident model of the other playing a, but the models are the whole-history
    empirical frequencies, which the hot early exploration keeps near uniform — under a uniform model AV = (−6.3,
    −5.7, 1.7), so both agents drift to the safe action c, and the models then follow them there (mean model of
    the other at the end: π̂(a) = 0.07, π̂(c) = 0.67). No tuning was done to change this.
    """
    game = catalog.make("climbing")
    explore = Boltzmann(ExponentialDecay(16.0, 0.999, 0.05))
    seeds = 64
    jal = train(game, JALAM(step_size=0.1, exploration=explore), 5_000, seeds=seeds, key=0, log_every=500)
    iql = train(game, IQL(step_size=0.1, exploration=explore), 5_000, seeds=seeds, key=0, log_every=500)

    def joint_greedy(h) -> np.ndarray:
        a = h.policy[:, -1, :, 0].argmax(-1)
        return a[:, 0] * 3 + a[:, 1]

    jal_joint, iql_joint = joint_greedy(jal), joint_greedy(iql)
    optimum = 0
    # Measured with key 0: IQL 6/64 (8/64 with key 1), as in the IQL-vs-CQL test; that test's bound (optimum on at
    # most 30% of seeds) applies here too. JAL-AM's 0/64: a true rate of 5% would give 0/64 with probability
    # 0.95^64 = 3.7%, so "<= 3/64" holds unless JAL-AM's behaviour really changed; and it is not above IQL's rate.
    assert np.sum(iql_joint == optimum) <= 0.3 * seeds
    assert np.sum(jal_joint == optimum) <= 3
    assert np.sum(jal_joint == optimum) <= np.sum(iql_joint == optimum)
    # Where JAL-AM ends: the joint actions around the safe action c ((b, c), (c, b), (c, c)), never a -30 cell.
    assert set(np.unique(jal_joint)) <= {5, 7, 8}
    # Its final models put most weight on c (the other agent's empirical frequency of c, from the counts).
    counts = jal.joint_counts[:, -1, 0].astype(np.float64)
    assert np.mean(counts.sum(axis=1)[:, 2] / counts.sum(axis=(1, 2))) > 0.5


def test_jalam_runs_on_a_stochastic_game() -> None:
    """Grid game 1 (Hu & Wellman 2003): a multi-state general-sum game with discount 0.9 and terminal states."""
    game = catalog.make("grid-game-1")
    h = train(game, JALAM(step_size=0.2, exploration=Boltzmann(1.0)), 2_000, seeds=2, key=0, log_every=200)
    legal = game.action_mask.astype(bool)
    assert np.all(np.isfinite(h.policy))
    np.testing.assert_allclose(h.policy.sum(-1), 1.0, atol=1e-5)
    assert np.all(h.policy[:, :, ~legal] == 0)
    assert h.episode_count.sum() > 0
    assert np.all(np.isfinite(h.metrics["td_error"]))


def test_bad_input() -> None:
    with pytest.raises(LearnerConfigError, match="discount in"):
        JALAM(gamma=1.5)
    with pytest.raises(LearnerConfigError, match="exploration"):
        JALAM(exploration=0.1)  # type: ignore[arg-type]
    with pytest.raises(LearnerConfigError, match="schedule"):
        JALAM(step_size="fast")  # type: ignore[arg-type]
