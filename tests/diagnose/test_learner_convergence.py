"""The criteria on real learning runs whose behaviour the literature settles (issue 5, "Done when").

* Fictitious play in matching pennies: the empirical frequencies converge to the mixed equilibrium (Robinson 1951,
  two-player zero-sum games), while the current play is a pure best response that keeps switching — so criteria
  3 and 5 converge and criterion 1 does not (Albrecht, Christianos & Schäfer 2024, §5.2 and §6.3).
* Fictitious play in Shapley's game: the empirical frequencies cycle and do not converge to the unique (uniform)
  equilibrium (Shapley 1964, "Some topics in two-person games"), so criterion 5 does not converge.
* WoLF-PHC in self-play in rock-paper-scissors: the policies themselves converge to the uniform equilibrium
  (Bowling & Veloso 2002, AIJ 136, §5), so criterion 1 converges — with a target that is the uniform profile.

Measured here (8 seeds each, default eps 0.05 TV): FP matching pennies, 10,000 steps logged every 10 — criteria 3
and 5 (the time-average of the *joint* policy, from the snapshots) end at TV 0.0025-0.009 with z0 = 240-950 for
all seeds; criterion 1 stays at 0.75 (a pure joint vs the uniform one). The logging is fine on purpose: FP's
current play is a pure best response that switches every few steps early on, and the joint average is computed
from the snapshots, each standing for its whole window; logged every 100 steps the snapshots alias the switches
(final TV up to 0.07, one seed of four "inconclusive"), logged every 10 they track the policy. That is the
documented requirement of the snapshot average, not a weaker test.
FP Shapley, 5,000 / 10,000 / 20,000 steps — criterion 5 ends at 0.22-0.26 and is "not converged" for 16 of 16
seeds at each length (measured with the product of the per-agent averages); the test runs 5,000 steps logged
every 50 and judges the joint average of the definition, which ends at 0.38-0.42 TV, not converged for 8 of 8
(the joint average keeps the correlation of the cycle, so it is farther from the uniform joint than the
product of the averages). WoLF-PHC
(settings below), 400,000 steps — criterion 1 converged for 8 of 8 seeds, z0
16,000-128,000, final 0.009-0.027, at most 0.045 over the last 30% of the run; plain PHC with the same schedule
(always the losing rate) was converged for 0 of 8 (final 0.33-0.48).
"""

import numpy as np
import pytest

from marlkit.agents.tabular import InverseTime, WoLFPHC, make_learner
from marlkit.diagnose.criteria import evaluate
from marlkit.diagnose.results import Verdict
from marlkit.diagnose.solution_sets import solution_set
from marlkit.games import catalog
from marlkit.train import train

SEEDS = 8


def _verdicts(result) -> list[Verdict]:
    return [v.verdict for v in result.verdicts]


@pytest.fixture(scope="module")
def fp_pennies(fp_pennies_run):
    game, history = fp_pennies_run  # 8 seeds, 10,000 steps logged every 10 (tests/diagnose/conftest.py)
    assert history.policy.shape[0] == SEEDS
    criteria = ["joint_policy", "empirical_distribution", "solution_set"]
    results = evaluate(history, game, solution_set(game), criteria=criteria)
    return history, results


def test_fictitious_play_matching_pennies_averages_converge(fp_pennies):
    _, results = fp_pennies
    for name in ("empirical_distribution", "solution_set"):
        result = results[name]
        # every seed: Robinson's theorem, and the measured final distances sit at a tenth of eps (see above)
        assert _verdicts(result) == [Verdict.CONVERGED] * SEEDS, name
        assert np.all(result.metric[:, -1] < 0.02) and all(v.target == 0 for v in result.verdicts)


def test_fictitious_play_matching_pennies_current_play_does_not_converge(fp_pennies):
    history, results = fp_pennies
    assert _verdicts(results["joint_policy"]) == [Verdict.NOT_CONVERGED] * SEEDS
    # the current play keeps switching: agent 0's best response changes many times over the run in every seed
    switches = np.count_nonzero(np.diff(np.argmax(history.policy[:, :, 0, 0], axis=-1), axis=1), axis=1)
    assert np.all(switches >= 10)


def test_fictitious_play_shapley_game_set_criterion_does_not_converge():
    game = catalog.make("shapley")
    history = train(game, make_learner("fp", game), 5_000, seeds=SEEDS, log_every=50)
    result = evaluate(history, game, solution_set(game), criteria=["solution_set"])["solution_set"]
    assert _verdicts(result) == [Verdict.NOT_CONVERGED] * SEEDS
    assert np.all(result.metric[:, -1] > 0.15)  # the cycle keeps the average far from uniform (measured 0.38-0.42)


def _wolf(start: tuple[float, ...]) -> WoLFPHC:
    """WoLF-PHC with the schedules' form of Bowling & Veloso (2002, §5) — α = 1/(10 + t/s), δ_w = 1/(d + t),
    δ_l = 4 δ_w, ε = 0.05 — but offsets chosen here for a 400,000-step budget (s = 1,000, d = 500; the paper's
    s = 10,000, d = 20,000 move the policy too little: criterion 1 ends near 0.3 TV after 100,000 steps)."""
    return WoLFPHC(
        step_size=InverseTime(10.0, 1000.0),
        delta=InverseTime(500.0),
        delta_lose=InverseTime(500.0, 1.0, 4.0),
        epsilon=0.05,
        initial_policy=start,
    )


@pytest.mark.slow  # 400,000 steps x 8 seeds plus compilation: 15-40 s on a shared 2-core machine
def test_wolf_phc_self_play_rock_paper_scissors_policy_converges_to_uniform():
    game = catalog.make("rock-paper-scissors")
    nash = solution_set(game)
    uniform = int(np.flatnonzero(np.all(np.isclose(nash.joints[:, 0], 1 / 9), axis=1))[0])
    # Different starts, away from equilibrium. From one shared start the two copies move in lockstep at first,
    # both "winning" against their own averages, and converge less reliably (measured: 6 of 8 seeds at 400,000
    # steps); these distinct starts gave 8 of 8.
    learners = [_wolf((0.8, 0.1, 0.1)), _wolf((0.1, 0.8, 0.1))]
    history = train(game, learners, 400_000, seeds=SEEDS, log_every=4_000)
    result = evaluate(history, game, nash, criteria=["joint_policy"])["joint_policy"]
    # still far from the equilibrium at the first logging point (measured 0.29-0.49): the test can fail
    assert np.all(result.metric[:, 0] > 0.2)
    converged = [v for v in result.verdicts if v.verdict is Verdict.CONVERGED]
    # WoLF-PHC keeps a noise floor of 0.01-0.03 TV (Q-value noise decides the greedy action near equilibrium); a
    # late excursion above 0.05 would reset z0 of a seed, so one seed of eight may miss
    assert len(converged) >= SEEDS - 1, [v.reason for v in result.verdicts]
    assert all(v.target == uniform for v in result.verdicts)
    assert np.all(result.metric[:, -1] < 0.05)
