"""Progress in library use (issue 17 item 4): ``train(..., progress=...)`` and ``deep.train(..., progress=...)``
report after equal chunks of windows and give the same History, bit for bit, as a quiet run."""

from __future__ import annotations

import numpy as np

from marlkit.agents.tabular import make_learner
from marlkit.games.catalog import make
from marlkit.train import train
from marlkit.train.protocol import PROGRESS_CHUNKS, mean_return


def test_tabular_progress_reports_and_changes_nothing(capsys) -> None:
    game = make("matching-pennies")
    quiet = train(game, make_learner("wolf-phc", game), 10_000, seeds=2, key=3)
    calls: list[tuple[int, int, float | None]] = []
    loud = train(
        game,
        make_learner("wolf-phc", game),
        10_000,
        seeds=2,
        key=3,
        progress=lambda done, total, records: calls.append((done, total, mean_return(records))),
    )
    assert [c[0] for c in calls] == list(range(100 // PROGRESS_CHUNKS, 101, 100 // PROGRESS_CHUNKS))  # 5, 10, ..
    assert all(total == 100 for _, total, _ in calls)
    assert calls[-1][2] == float(np.asarray(quiet.episode_return, np.float64)[:, -1].mean())
    for name in ("policy", "average_policy", "joint_counts", "episode_return", "reward_mean"):
        np.testing.assert_array_equal(getattr(loud, name), getattr(quiet, name))
    train(game, make_learner("wolf-phc", game), 10_000, seeds=2, key=3, progress=True)
    assert "100/100" in capsys.readouterr().err  # the bar on stderr


def test_mean_return_skips_windows_without_episodes() -> None:
    from types import SimpleNamespace

    returns = np.full((2, 1, 2), np.nan)
    assert mean_return(SimpleNamespace(episode_return=returns)) is None
    returns[0, 0] = [1.0, 3.0]
    assert mean_return(SimpleNamespace(episode_return=returns)) == 2.0
