"""Training runs shared by the diagnose tests (session scope: each run is trained once per test session)."""

from __future__ import annotations

import pytest

FP_PENNIES_SEEDS, FP_PENNIES_STEPS, FP_PENNIES_LOG_EVERY = 8, 10_000, 10


@pytest.fixture(scope="session")
def fp_pennies_run():
    """Fictitious play in self-play on matching pennies: 8 seeds, 10,000 steps, logged every 10 steps (1,000
    points). Fine logging on purpose: FP's current play switches every few steps, and the joint average of
    criterion 3 is built from the snapshots (see tests/diagnose/test_learner_convergence.py). Used by the
    learner-convergence, report and plot tests. Returns ``(game, history)``."""
    from marlkit.agents.tabular import make_learner
    from marlkit.games import catalog
    from marlkit.train import train

    game = catalog.make("matching-pennies")
    history = train(
        game,
        make_learner("fp", game),
        FP_PENNIES_STEPS,
        seeds=FP_PENNIES_SEEDS,
        key=0,
        log_every=FP_PENNIES_LOG_EVERY,
    )
    return game, history
