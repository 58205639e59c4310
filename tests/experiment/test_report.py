"""report.html of a run directory: self-contained, rebuilt from the files alone (marlkit report), errors."""

from __future__ import annotations

import base64
import html.parser
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from marlkit import __version__
from marlkit.cli import main
from marlkit.diagnose.report import diagnose
from marlkit.diagnose.results import CRITERION_TITLES
from marlkit.experiment.report import game_of_run, read_run, render_run_report
from marlkit.experiment.sweep import run_point

# shapes shared by every test module here (one compiled loop per process): 2x2 game, IQL, 1000 steps, 2 seeds
CONFIG = {"name": "tiny", "game": "matching-pennies", "learners": "iql", "steps": 1000, "log_every": 10, "seeds": 2}


class _Page(html.parser.HTMLParser):
    """Collects what a self-contained page must not have (external references) and its images."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.external: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        for name in ("src", "href"):
            link = values.get(name)
            if link and not link.startswith("data:"):
                self.external.append((tag, link))
        if tag in ("script", "link", "iframe"):
            self.external.append((tag, str(values)))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("report") / "run"
    run_point(CONFIG, str(directory))
    return directory


def test_verdicts_on_the_page_match_a_fresh_diagnosis(run_dir: Path) -> None:
    run = read_run(run_dir)
    report = diagnose(run.history, game_of_run(run))
    text = render_run_report(run_dir, pictures=False).read_text(encoding="utf-8")
    for name, result in report.results.items():
        counts = report.verdict_counts(name)
        assert (
            f"{counts['converged']} / {counts['not converged']} / {counts['inconclusive']} of {len(result.verdicts)}"
            in text
        )


def test_marlkit_report_rerenders_a_self_contained_page_without_training(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import marlkit.train.loop as loop

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("marlkit report must not train")

    monkeypatch.setattr(loop, "train", refuse)
    monkeypatch.setattr(loop, "advance", refuse)
    (run_dir / "report.html").unlink(missing_ok=True)
    assert main(["report", str(run_dir)]) == 0
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert page.external == []
    assert len(page.images) >= 4  # criteria grid, six seed fans, trajectories, non-stationarity
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        picture = imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")
        assert picture.ndim == 3 and picture.shape[0] > 100 and picture.shape[1] > 100
    for title in CRITERION_TITLES.values():
        assert title in text
    assert "matching-pennies" in text and "log_every: 10" in text  # the config, as YAML
    assert f"marlkit {__version__}" in text
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]  # atomic: no temp file left


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "absent", "no such run directory"),
        (lambda tmp: tmp, "no config.yaml"),
    ],
)
def test_report_of_a_non_run_fails_in_one_line(tmp_path: Path, make, message: str, capsys) -> None:
    assert main(["report", str(make(tmp_path))]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_report_of_an_unfinished_run_says_so(tmp_path: Path, capsys) -> None:
    (tmp_path / "config.yaml").write_text("game: matching-pennies\n")
    assert main(["report", str(tmp_path)]) == 2
    assert "no history.npz yet" in capsys.readouterr().err


def test_page_facts_are_the_runs(run_dir: Path) -> None:
    """Issue 14 item 4: the page said "marlkit version: 1" (the summary format's version) and "wall time: -"."""
    import json

    from marlkit.experiment.report import run_facts

    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    facts = dict(run_facts(read_run(run_dir)))
    assert facts["marlkit version"] == summary["marlkit"] == __version__
    assert facts["wall time"] == f"{summary['training_seconds']:.1f} s"
    assert facts["steps per seed"] == str(summary["steps"]) and facts["game"] == summary["game"]
    text = render_run_report(run_dir, pictures=False).read_text(encoding="utf-8")
    assert f"<td>marlkit version</td><td>{__version__}</td>" in text and "<td>wall time</td><td>-</td>" not in text


def test_report_of_a_task_run_shows_learning_curves_and_no_diagnosis(tmp_path: Path, capsys) -> None:
    """A deep run on a task (MPE, LBF) has no exact game: `marlkit report` writes a page with the learning curves
    (no verdicts), and `compare` shows its returns without convergence rows (issue 17 item 4; before it, compare
    refused task runs)."""
    (tmp_path / "config.yaml").write_text("name: spread\nenv: simple_spread\nlearners: ippo\nsteps: 4096\n")
    (tmp_path / "summary.json").write_text('{"kind": "run", "game": null, "env": "simple_spread"}')
    from marlkit.history import History

    _, history = _task_history()
    returns = np.random.default_rng(0).normal(-50, 10, history.episode_return.shape).astype(np.float32)
    returns[1, -1] = np.nan  # seed 1 finished no episode in the last window: its final return is the one before
    history = replace(history, episode_return=returns)
    history.save(tmp_path / "history.npz")
    assert main(["compare", "--json", str(tmp_path), str(tmp_path)]) == 0
    import json

    from marlkit.diagnose.seeds import bootstrap_ci, iqm

    metrics = json.loads(capsys.readouterr().out)["metrics"]
    finals = [float(returns[0, -1].mean()), float(returns[1, -2].mean())]  # each seed's last finished window
    assert metrics[0]["fractions"] == {} and metrics[0]["nash_conv_final"] is None
    assert metrics[0]["final_return"]["iqm"] == pytest.approx(iqm(finals))
    assert [metrics[0]["final_return"][k] for k in ("low", "high")] == pytest.approx(list(bootstrap_ci(finals)))
    assert metrics[0]["tail_return"] == pytest.approx([(returns[0, -1, i] + returns[1, -2, i]) / 2 for i in range(3)])
    assert main(["compare", str(tmp_path), str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "final return (IQM, 95% CI)" in table and "converged" not in table and "NashConv" not in table
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "<h2>learning</h2>" in page and "final return" in page and "verdicts" not in page
    assert f"IQM {iqm(finals):.3g}, 95% bootstrap interval [{bootstrap_ci(finals)[0]:.3g}, " in page
    assert page.count("data:image/png;base64,") == 1  # the learning curves (this History has no learner metrics)
    with_metrics = replace(history, metrics={"loss/value": np.abs(returns), "entropy": np.ones_like(returns)})
    with_metrics.save(tmp_path / "history.npz")
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64,") == 2  # + the metrics panels
    history.save(tmp_path / "history.npz")
    for final in (returns[0, -1].mean(), returns[1, -2].mean()):
        assert f'<td class="num">{final:.3g}</td>' in page
    # fairness of the agents' final returns (seed 1's last window has none: its window before counts)
    from marlkit.human.fairness import fairness

    per_agent = (returns[0, -1] + returns[1, -2]) / 2
    assert "<h2>fairness</h2>" in page and f"normalised Gini {fairness(per_agent).gini:.4f}" in page
    assert History.load(tmp_path / "history.npz").meta["env"] == "simple_spread"


def _task_history():
    """A History shaped like a deep run's on a task: no policy table (zero states), meta naming the env."""
    import numpy as np

    from marlkit.history import History

    seeds, windows, agents = 2, 3, 3
    return None, History(
        steps=np.array([1365, 2730, 4096]),
        seeds=np.arange(seeds),
        policy=np.zeros((seeds, windows, agents, 0, 5), np.float32),
        average_policy=np.zeros((seeds, windows, agents, 0, 5), np.float32),
        has_average_policy=np.zeros(agents, bool),
        joint_counts=np.zeros((seeds, windows, 0), np.int32),
        episode_return=np.zeros((seeds, windows, agents), np.float32),
        episode_count=np.ones((seeds, windows), np.int32),
        reward_mean=np.zeros((seeds, windows, agents), np.float32),
        meta={"env": "simple_spread", "learners": ["ippo"], "steps": 4096},
    )


def test_a_runs_diagnosis_uses_its_own_copy_of_the_game(tmp_path: Path) -> None:
    """A run on a game file keeps the game it trained on (game.npz): moving or editing the file afterwards changes
    neither the game the report judges against nor the verdicts (review of issue 22: the run page said 'no such
    file', and `marlkit report` silently re-judged an edited game)."""
    from marlkit.games import load_game, save_game
    from marlkit.games.catalog import make

    game_file = tmp_path / "mine.json"
    save_game(make("matching-pennies"), game_file)
    directory = tmp_path / "run"
    run_point({**CONFIG, "game": {"file": str(game_file)}}, str(directory))
    trained_on = load_game(game_file)
    save_game(make("prisoners-dilemma"), game_file)  # edited: another game under the same name
    assert np.array_equal(game_of_run(read_run(directory)).payoffs, trained_on.payoffs)
    game_file.unlink()  # moved away
    assert np.array_equal(game_of_run(read_run(directory)).payoffs, trained_on.payoffs)
