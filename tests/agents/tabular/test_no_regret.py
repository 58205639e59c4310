"""Regret matching (unconditional and conditional) and Hedge: the no-regret guarantees, through the compiled loop.

The empirical joint distribution of play μ_T is read from ``History.empirical_joint``. For player i, the CCE gain
max_k U_i(k, μ_-i) − U_i(μ) of μ_T *is* i's average realised external regret after T plays, so

* unconditional regret matching and Hedge (no external regret) drive the **CCE gap** to 0 (Hannan 1957; Hart &
  Mas-Colell 2000, 2001; Freund & Schapire 1999), at rate O(sqrt(1/T));
* conditional regret matching (no internal regret) drives the **CE gap** to 0 (Hart & Mas-Colell 2000, Main
  Theorem).
"""

from __future__ import annotations

import numpy as np
import pytest

import marlkit.train.loop as loop
from marlkit.agents.tabular import LearnerConfigError
from marlkit.agents.tabular.fictitious_play import FictitiousPlay
from marlkit.agents.tabular.no_regret import ConditionalRegretMatching, Hedge, RegretMatching
from marlkit.errors import NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame, catalog
from marlkit.solve.gaps import cce_gap_per_player, ce_gap
from marlkit.train import train

SEEDS, STEPS, LOG = 8, 20_000, 200

GAMES = {
    "chicken": catalog.make("chicken"),
    "rock-paper-scissors": catalog.make("rock-paper-scissors"),
    "random-3x3": catalog.make("random-general-sum", seed=3),  # general-sum, payoffs uniform in [-1, 1]
}


def cce_gains(game: NormalFormGame, history, points) -> np.ndarray:
    """``[N, len(points), n]``: each player's CCE gain (= average realised external regret) of the empirical
    joint distribution from the start up to each logging point."""
    mu = history.empirical_joint()[:, :, 0]
    return np.array([[cce_gap_per_player(game, mu[s, t]) for t in points] for s in range(history.n_seeds)])


def payoff_range(game: NormalFormGame) -> np.ndarray:
    return np.ptp(game.payoffs.reshape(game.n_players, -1), axis=1)


@pytest.mark.parametrize(
    "name",
    [
        "rock-paper-scissors",
        pytest.param("chicken", marks=pytest.mark.slow),
        pytest.param("random-3x3", marks=pytest.mark.slow),
    ],
)
def test_regret_matching_drives_the_cce_gap_to_zero(name: str) -> None:
    game = GAMES[name]
    h = train(game, RegretMatching(game), STEPS, seeds=SEEDS, key=0, log_every=LOG)
    gains = cce_gains(game, h, [0, h.num_logs - 1])  # after 200 plays and after 20,000
    # Blackwell's argument for regret matching (Hart & Mas-Colell 2000; Cesa-Bianchi & Lugosi 2006, §2.1):
    # E ||R_T^+||^2 <= T · |A_i| · range_i^2, so E[max_k R_T(k)^+] / T <= range_i · sqrt(|A_i| / T) for each
    # player — a bound on the mean over seeds. Measured (key 0, 8 seeds, T = 20,000), per-player means:
    # chicken 0.0002 (bound 0.070), RPS 0.0078 / 0.0058 (bound 0.0245), random 0.0008 / 0.0010 (bound 0.018).
    bound = payoff_range(game) * np.sqrt(np.array(game.num_actions) / STEPS)
    assert np.all(gains[:, -1].mean(axis=0) <= bound)
    # ... and well below the gap after the first 200 plays (measured ratio of the seed means 0.01-0.1).
    early, late = gains[:, 0].max(-1).mean(), gains[:, -1].max(-1).mean()
    assert late <= 0.25 * early
    assert np.all(h.metrics["regret"][:, -1] <= 3 * bound)  # the learner's own regret metric agrees in size
    if name == "rock-paper-scissors":
        # Characterisation, measured (not a theorem): unconditional regret matching goes to the coarse set, not
        # to the correlated equilibria — in RPS its CE gap stays at 0.08 on average while the CCE gap falls.
        mu = h.empirical_joint()[:, -1, 0]
        assert np.mean([ce_gap(game, mu[s]) for s in range(SEEDS)]) >= 0.03


def test_full_information_regret_matching_uses_the_others_policies() -> None:
    game = GAMES["chicken"]
    learner = RegretMatching(game, feedback="expected")
    assert learner.needs_policies and not RegretMatching(game).needs_policies
    h = train(game, learner, STEPS, seeds=SEEDS, key=0, log_every=LOG)
    # Regrets against the others' mixed policies: the learner's own (expected) average regret metric is at most
    # range · sqrt(|A| / t) by the same Blackwell argument, deterministically (measured 1e-4 at the end).
    bound = payoff_range(game)[0] * np.sqrt(2 / STEPS)
    assert np.all(h.metrics["regret"][:, -1] <= bound)
    # The realised play adds sampling noise of order range / sqrt(T) to the empirical joint's CCE gap (measured
    # mean 0.0073 at 20,000 plays vs 0.084 after 200).
    gains = cce_gains(game, h, [0, h.num_logs - 1]).max(-1).mean(axis=0)
    assert gains[1] <= 0.25 * gains[0] and gains[1] <= 0.02


@pytest.mark.parametrize(
    "name",
    [
        "rock-paper-scissors",
        pytest.param("chicken", marks=pytest.mark.slow),
        pytest.param("random-3x3", marks=pytest.mark.slow),
    ],
)
def test_hedge_regret_falls_like_sqrt_log_actions_over_t(name: str) -> None:
    game = GAMES[name]
    h = train(game, Hedge(game), STEPS, seeds=SEEDS, key=0, log_every=LOG)
    points = np.array([9, 24, 49, 99])  # after 2,000 / 5,000 / 10,000 / 20,000 plays
    T = h.steps[points].astype(np.float64)
    gains = cce_gains(game, h, points)  # [N, 4, n] average realised regret
    # Cesa-Bianchi & Lugosi (2006), Thm. 2.3, anytime η_t = sqrt(8 ln N / t) on payoffs scaled to [0, 1]: the
    # regret against the mixtures played is <= range · (sqrt(2 T ln N) + sqrt(ln N / 8)), pathwise (the
    # opponent may adapt). The realised own payoff differs from the mixture's by a martingale with increments in
    # an interval of width `range`, <= range · sqrt(T ln(1/δ) / 2) w.p. 1 − δ (Hoeffding-Azuma); δ = 1e-4 per
    # seed, player and checkpoint. Measured: the gains sit 5-50x below this bound.
    n_actions = np.array(game.num_actions, dtype=np.float64)
    scale = payoff_range(game)[None, None, :]
    hedge = np.sqrt(2 * np.log(n_actions) / T[:, None]) + np.sqrt(np.log(n_actions) / 8) / T[:, None]
    azuma = np.sqrt(np.log(1e4) / (2 * T[:, None]))
    assert np.all(gains <= scale * (hedge + azuma)[None])
    # The O(T^-1/2) decay itself: 10x more plays cut the mean regret by sqrt(10) = 3.2x at that rate; measured
    # ratios (20,000 vs 2,000 plays) 0.35 (RPS), 0.10 (chicken), 0.34 (random). Asserted <= 0.6.
    mean = gains.max(-1).mean(axis=0)
    assert mean[-1] <= 0.6 * mean[0]


@pytest.mark.parametrize(
    "name",
    [
        "chicken",
        pytest.param("rock-paper-scissors", marks=pytest.mark.slow),
        pytest.param("random-3x3", marks=pytest.mark.slow),
    ],
)
def test_conditional_regret_matching_drives_the_ce_gap_to_zero(name: str) -> None:
    game = GAMES[name]
    h = train(game, ConditionalRegretMatching(game), STEPS, seeds=SEEDS, key=0, log_every=LOG)
    mu = h.empirical_joint()[:, :, 0]
    gaps = np.array([[ce_gap(game, mu[s, t]) for t in (0, h.num_logs - 1)] for s in range(SEEDS)])
    # Hart & Mas-Colell (2000), Main Theorem: the empirical joint converges to the set of correlated equilibria
    # (a.s.; no rate is stated, and the inertia μ = 2 M |A| slows the start). Measured CE gaps, mean over 8 seeds
    # after 200 -> 20,000 plays: chicken 0.058 -> 0.0006 (max 0.0016), RPS 0.41 -> 0.070 (max 0.11), random
    # 0.059 -> 0.0085 (max 0.034). Thresholds ~2-6x the measured means and well below the early gap.
    limit = {"chicken": 0.005, "rock-paper-scissors": 0.15, "random-3x3": 0.03}[name]
    assert gaps[:, 1].mean() <= limit
    assert gaps[:, 1].mean() <= 0.3 * gaps[:, 0].mean()


def test_regret_matching_per_state_in_a_multi_state_game_with_discount_zero() -> None:
    """With γ = 0 every state is its own stage game: regrets are kept per state, and the per-state CCE gaps fall.
    State 0 is matching pennies, state 1 is chicken; the next state is drawn uniformly."""
    mp, chicken = catalog.make("matching-pennies"), GAMES["chicken"]
    rewards = np.stack([mp.payoffs, chicken.payoffs], axis=1)  # [n, S, 2, 2]
    game = StochasticGame(
        transitions=np.full((2, 2, 2, 2), 0.5), rewards=rewards, initial=np.array([1.0, 0.0]), gamma=0.0, name="two"
    )
    h = train(game, RegretMatching(game), STEPS, seeds=4, key=0, log_every=LOG)
    mu = h.empirical_joint()[:, -1]  # [N, S, 2, 2]
    visits = h.joint_counts[:, -1].sum(axis=(-1, -2))
    assert np.all(visits > 0.45 * STEPS)
    for s, stage in enumerate((mp, chicken)):
        gains = np.array([cce_gap_per_player(stage, mu[seed, s]) for seed in range(4)])
        # The same Blackwell bound with T = the state's visits (~10,000): range · sqrt(2 / T) = 0.028 (MP) and
        # 0.099 (chicken) on the mean; measured 0.004 and 0.0002.
        bound = payoff_range(stage) * np.sqrt(2 / visits.min())
        assert np.all(gains.mean(axis=0) <= bound)


@pytest.mark.slow
def test_regret_matching_has_no_regret_against_fictitious_play() -> None:
    """No-regret is a guarantee against any opponent, here an adaptive, nearly deterministic one (FP) in RPS: the
    regret matcher's own average regret obeys the same Blackwell bound as in self-play (measured mean 0.0072 vs
    bound 0.0245; FP's own regret happens to be small too, 0.006, so neither exploits the other here)."""
    game = GAMES["rock-paper-scissors"]
    h = train(game, [RegretMatching(game), FictitiousPlay(game)], STEPS, seeds=SEEDS, key=0, log_every=LOG)
    gains = cce_gains(game, h, [h.num_logs - 1])[:, 0]  # [N, 2]
    bound = 2.0 * np.sqrt(3 / STEPS)
    assert gains[:, 0].mean() <= bound
    assert np.isfinite(h.average_policy).all() and h.has_average_policy.all()


def test_bad_input_fails_before_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_compile(*args, **kwargs):
        raise AssertionError("the loop compiled although the learner should have been rejected")

    monkeypatch.setattr(loop, "_run", no_compile)
    soccer = catalog.make("soccer")
    for learner in (RegretMatching(soccer), Hedge(soccer), ConditionalRegretMatching(soccer)):
        with pytest.raises(NotApplicableError, match=r"has \d+ states and gamma = [0-9.]+.*Use JALAM"):
            train(soccer, learner, 10)
    chicken = GAMES["chicken"]
    with pytest.raises(LearnerConfigError, match=r"construct it with the game, e.g. Hedge\(game\)"):
        train(chicken, Hedge(), 10)
    with pytest.raises(LearnerConfigError, match="feedback: unknown 'bandit'"):
        RegretMatching(chicken, feedback="bandit")
    with pytest.raises(LearnerConfigError, match="must exceed 2 M"):
        train(chicken, ConditionalRegretMatching(chicken, inertia=1.0), 10)
    with pytest.raises(LearnerConfigError, match="learning_rate"):
        Hedge(chicken, learning_rate="fast")  # type: ignore[arg-type]
