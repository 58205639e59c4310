"""report.html of a run directory: self-contained, rebuilt from the files alone (marlkit report), errors."""

from __future__ import annotations

import base64
import html.parser
import io
from pathlib import Path

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
