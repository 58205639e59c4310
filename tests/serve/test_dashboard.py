"""The dashboard in a real browser (Debian's Chromium through Playwright) and over HTTP.

One tiny tabular run (matching pennies, WoLF-PHC, 2 seeds, 10 logging points: a few seconds) is trained per module
with the experiment runner; the "running" run of the live test is made from its files (its config and its first
logging points, no summary.json), and its next logging point is appended while the page is open — the curve must
show it without a reload. Screenshots go to the test's tmp folder (``shots``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from marlkit.experiment.runner import run

CONFIG = {
    "name": "mp-wolf",
    "game": "matching-pennies",
    "learners": "wolf-phc",
    "steps": 60_000,
    "log_every": 6_000,
    "checkpoint_every": 2,
    "seeds": 2,
    "key": 0,
}
"""The shape of tests/experiment/test_runner.py's run (10 logging points, segments of 2): in the suite the compiled
program comes from the shared persistent compilation cache."""
WINDOWS = CONFIG["steps"] // CONFIG["log_every"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run directory in its own runs folder (diagnosed, as every finished run on a game; its static
    report.html, whose matplotlib pictures take seconds and which the dashboard does not read, is not drawn)."""
    from marlkit.experiment import report

    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report, "render_run_report", lambda directory, **options: Path(directory) / "report.html")
        return run({**CONFIG, "output": {"root": str(root)}}, progress=False).path


def running_copy(finished: Path, target: Path, points: int) -> list[str]:
    """``target``: a run directory that looks mid-training — the finished run's config and its first ``points``
    logging points (2 seeds each), no checkpoint, history or summary. Returns the lines of the later points."""
    target.mkdir(parents=True)
    shutil.copy(finished / "config.yaml", target / "config.yaml")
    lines = (finished / "metrics.jsonl").read_text().splitlines(keepends=True)
    seeds = CONFIG["seeds"]
    (target / "metrics.jsonl").write_text("".join(lines[: points * seeds]))
    return lines[points * seeds :]


def test_runs_page_lists_run_and_corrupt_run(finished_run: Path, tmp_path: Path, live_server, browser_page, shots):
    runs = tmp_path / "runs"
    shutil.copytree(finished_run, runs / finished_run.name)
    (runs / "broken").mkdir()
    (runs / "broken" / "config.yaml").write_text("name: [unclosed\n")
    url = live_server(runs)
    page = browser_page
    page.goto(url + "/")
    row = page.locator(f"tr[data-name='{finished_run.name}']")
    assert row.locator(".badge").inner_text() == "finished"
    assert "matching-pennies" in row.inner_text() and "wolf-phc" in row.inner_text()
    assert row.locator(".chip").count() == 6  # one verdict chip per criterion
    broken = page.locator("tr[data-name='broken']")
    assert broken.locator(".badge").inner_text() == "corrupt"
    assert "config.yaml unreadable" in broken.inner_text()
    page.fill("#filter", "matching")  # client-side filter hides the corrupt run
    assert broken.is_hidden() and row.is_visible()
    page.fill("#filter", "")
    page.screenshot(path=str(shots / "runs.png"), full_page=True)

    page.click(f"tr[data-name='{finished_run.name}'] a")
    page.wait_for_selector("#criteria-grid .cell .main-svg")
    assert page.locator("#criteria-grid .cell").count() == 6
    assert "converged" in page.locator("section:has(h2:text('Verdicts')) table").inner_text()
    page.wait_for_selector("#curve-return .main-svg")
    page.wait_for_selector("#trajectories .main-svg")
    page.screenshot(path=str(shots / "run.png"), full_page=True)


def test_running_run_updates_live(finished_run: Path, tmp_path: Path, live_server, browser_page, shots):
    runs = tmp_path / "runs"
    later = running_copy(finished_run, runs / "live", points=3)
    url = live_server(runs)
    page = browser_page
    page.goto(url + "/run/live")
    assert page.locator("#status").inner_text() == "running"
    page.wait_for_function("document.getElementById('points').textContent.startsWith('3 logging points')")
    x_count = "document.getElementById('curve-return').data.find(t => t.name && t.name.startsWith('IQM')).x.length"
    assert page.evaluate(x_count) == 3
    with open(runs / "live" / "metrics.jsonl", "a") as handle:  # the runner appends a segment: 2 points, 2 seeds
        handle.write("".join(later[:4]))
    page.wait_for_function("document.getElementById('points').textContent.startsWith('5 logging points')", timeout=8000)
    assert page.evaluate(x_count) == 5
    assert page.locator("#progress").inner_text() == f"5 / {WINDOWS}"
    steps = page.evaluate(x_count.replace(".x.length", ".x"))
    every = CONFIG["log_every"]
    assert steps == [every * (k + 1) for k in range(5)] and json.loads(later[2])["step"] == steps[-1]
    page.screenshot(path=str(shots / "live.png"), full_page=True)


def test_compare_and_game_pages(finished_run: Path, tmp_path: Path, live_server, browser_page, shots):
    runs = tmp_path / "runs"
    shutil.copytree(finished_run, runs / "a")
    running_copy(finished_run, runs / "b", points=5)
    url = live_server(runs)
    page = browser_page
    page.goto(url + "/")
    page.check("input.pick[value='a']")
    page.check("input.pick[value='b']")
    page.click("#compare-button")
    page.wait_for_selector("#compare-curve .main-svg")
    assert sorted(page.url.split("?")[1].split("&")) == ["run=a", "run=b"]
    page.screenshot(path=str(shots / "compare.png"), full_page=True)
    page.goto(url + "/game/matching-pennies")
    assert "heads: 0.5, tails: 0.5" in page.locator("section:has(h2:text('Solutions'))").inner_text()
    page.screenshot(path=str(shots / "game.png"), full_page=True)


# ---------------------------------------------------------------------------------------------- over HTTP
def client(runs: Path, token: str | None = None):
    from starlette.testclient import TestClient

    from marlkit.serve.app import create_app

    return TestClient(create_app(runs, token=token), raise_server_exceptions=False, follow_redirects=False)


def test_token_required_off_loopback(tmp_path: Path):
    token = "s3cret-token"
    with client(tmp_path, token=token) as http:
        refused = http.get("/")
        assert refused.status_code == 403 and "token required" in refused.text
        api = http.get("/api/runs")  # the JSON API answers in JSON, as its other errors
        assert api.status_code == 403 and api.json()["error"].startswith("token required")
        assert http.get("/static/dashboard.css").status_code == 403
        assert http.get("/?token=wrong").status_code == 403
        assert http.get("/?token=%C3%A9t%C3%A9").status_code == 403  # non-ASCII: refused, not a server error
        assert http.get("/", headers={"Cookie": 'marlkit_token=wrong; x="unclosed'}).status_code == 403
        assert http.get("/", headers={"X-Marlkit-Token": token}).status_code == 200
        assert http.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        first = http.get(f"/?token={token}")  # the query token once: a redirect that sets an HttpOnly cookie
        assert first.status_code == 303 and first.headers["location"] == "/"
        assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=Strict" in first.headers["set-cookie"]
        assert http.get("/").status_code == 200  # the client now sends the cookie
    with client(tmp_path) as http:  # loopback: no token asked
        assert http.get("/").status_code == 200


def test_traversal_refused(finished_run: Path, tmp_path: Path):
    runs = tmp_path / "runs"
    shutil.copytree(finished_run, runs / "ok")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "config.yaml").write_text("name: secret\n")
    (outside / "report.html").write_text("SECRET")
    (runs / "escape").symlink_to(outside, target_is_directory=True)
    with client(runs) as http:
        assert http.get("/run/ok").status_code == 200
        for path in (
            "/run/../secret",
            "/run/..%2fsecret",
            "/run/%2e%2e/secret",
            "/report/..%2f..%2fsecret",
            "/run//etc",
            "/api/curves/%2e%2e%2fsecret",
            "/game-of/..%2fsecret",
            "/run/ok%00",
            "/run/..\\secret",
        ):
            response = http.get(path)
            assert response.status_code in (403, 404), path
            assert "SECRET" not in response.text and "Traceback" not in response.text
        symlinked = http.get("/report/escape")
        assert symlinked.status_code == 403 and "SECRET" not in symlinked.text
        assert http.get("/run/escape").status_code == 403
        assert "escape" not in http.get("/api/runs").text  # the index does not follow it either
        missing = http.get("/run/nope")
        assert missing.status_code == 404 and "<h1>404" in missing.text


def test_runs_api_statuses(finished_run: Path, tmp_path: Path):
    """finished / running / killed / corrupt, decided from the files alone."""
    import os
    import time

    runs = tmp_path / "runs"
    shutil.copytree(finished_run, runs / "done")
    running_copy(finished_run, runs / "training", points=2)
    running_copy(finished_run, runs / "stopped", points=2)
    old = time.time() - 3 * 3600
    for path in (runs / "stopped").iterdir():
        os.utime(path, (old, old))
    (runs / "badsummary").mkdir()
    shutil.copy(finished_run / "config.yaml", runs / "badsummary" / "config.yaml")
    (runs / "badsummary" / "summary.json").write_text("{not json")
    with client(runs) as http:
        rows = {r["path"]: r for r in http.get("/api/runs").json()["runs"]}
    assert {k: v["status"] for k, v in rows.items()} == {
        "done": "finished",
        "training": "running",
        "stopped": "killed",
        "badsummary": "corrupt",
    }
    assert rows["done"]["fractions"] and rows["done"]["progress"] == [WINDOWS, WINDOWS]
    assert rows["training"]["progress"] == [2, WINDOWS]  # from metrics.jsonl (no checkpoint yet)


def test_curves_match_the_report_statistics(finished_run: Path):
    """The live feed's IQM and band at every point are those of diagnose.curves.iqm_curve on the History's team
    return (the static report's computation), whether read at once or line by line."""
    import numpy as np

    from marlkit.diagnose.curves import iqm_curve
    from marlkit.history import History
    from marlkit.serve.run_data import RETURN_SERIES, MetricsFeed

    history = History.load(finished_run / "history.npz")
    centre, low, high = iqm_curve(history.team_return())
    whole = MetricsFeed(finished_run / "metrics.jsonl", 2)
    whole.update()
    curves = whole.curves(budget_s=None)
    series = next(s for s in curves["series"] if s["name"] == RETURN_SERIES)
    np.testing.assert_allclose(np.array(series["iqm"], float), centre, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.array(series["low"], float), low, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.array(series["high"], float), high, rtol=1e-6, atol=1e-7)
    assert curves["steps"] == history.steps.tolist()
    # read piecewise (a half-written line waits for its end), the numbers are the same
    data = (finished_run / "metrics.jsonl").read_bytes()
    partial = finished_run.parent / "partial"
    partial.mkdir()
    feed = MetricsFeed(partial / "metrics.jsonl", 2)
    for cut in range(0, len(data), 997):
        (partial / "metrics.jsonl").write_bytes(data[: cut + 997])
        feed.update()
        feed.curves(budget_s=0.0)  # no time for bands: IQM only, bands pending
    assert feed.pending > 0
    while feed.pending:  # later requests fill in the bands: the same numbers as at once
        feed.curves(budget_s=0.05)
    assert feed.curves()["series"] == curves["series"]


def test_damaged_runs_and_groups_stay_up(finished_run: Path, tmp_path: Path):
    """A corrupt run's page, a finished run with a torn history.npz, and a sweep with its point: pages, not 500s."""
    runs = tmp_path / "runs"
    (runs / "broken").mkdir(parents=True)
    (runs / "broken" / "config.yaml").write_text(": : :\n  - [\n")
    shutil.copytree(finished_run, runs / "torn")
    (runs / "torn" / "history.npz").write_bytes((finished_run / "history.npz").read_bytes()[:200])
    sweep = runs / "sweep-x"
    (sweep / "points").mkdir(parents=True)
    (sweep / "config.yaml").write_text(
        "kind: sweep\nbackend: local\ngrid:\n  steps: [60000]\nbase:\n  game: matching-pennies\n"
        "  learners: wolf-phc\n  steps: 60000\n  seeds: 2\n"
    )
    shutil.copytree(finished_run, sweep / "points" / "0-steps=60000")
    with client(runs) as http:
        broken = http.get("/run/broken")
        assert broken.status_code == 200 and "corrupt" in broken.text
        torn = http.get("/run/torn")
        assert torn.status_code == 200 and "could not be read" in torn.text and "Traceback" not in torn.text
        rows = {r["path"]: r for r in http.get("/api/runs").json()["runs"]}
        assert rows["sweep-x"]["kind"] == "sweep" and rows["sweep-x"]["children"] == 1
        assert rows["sweep-x/points/0-steps=60000"]["parent"] == "sweep-x"
        group = http.get("/run/sweep-x")
        assert group.status_code == 200 and "0-steps=60000" in group.text
        assert http.get("/api/curves/broken").json()["points"] == 0


def test_a_bug_gives_a_plain_error_page(finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An exception inside a route is a 500 page with one line (HTML, or JSON under /api/), never a traceback."""
    from marlkit.serve import dashboard

    runs = tmp_path / "runs"
    shutil.copytree(finished_run, runs / "ok")

    def broken(directory: Path) -> None:
        raise RuntimeError("deliberate failure\nsecond line")

    monkeypatch.setattr(dashboard, "run_diagnosis", broken)
    monkeypatch.setattr(dashboard.Feeds, "get", lambda self, directory, seeds: broken(directory))
    with client(runs) as http:
        page = http.get("/run/ok")
        assert page.status_code == 500
        assert "RuntimeError: deliberate failure" in page.text and "Traceback" not in page.text
        assert "second line" not in page.text and 'File "' not in page.text
        api = http.get("/api/curves/ok")
        assert api.status_code == 500 and api.json()["error"].startswith("RuntimeError: deliberate failure")


def test_a_run_stopped_by_the_guard_is_listed_as_stopped(finished_run: Path, tmp_path: Path):
    """Not "finished": the NaN / inf guard stopped it (``summary.json``'s ``stopped``); the reason and how to continue
    it are shown on the runs page and the API."""
    from marlkit.experiment.runfiles import summary_digest

    runs = tmp_path / "runs"
    target = runs / "diverged"
    shutil.copytree(finished_run, target)
    summary = json.loads((target / "summary.json").read_text())
    for key in ("learning", "diagnosis", "safety"):
        summary.pop(key, None)
    stopped = {"reason": "non-finite", "learner": "iql", "window": 3, "seed": 1, "key": "reward_mean", "agent": 0}
    summary.update(stopped={**stopped, "value": "nan"}, windows=3)
    summary["digest"] = summary_digest(summary)  # as the runner writes a stopped run's summary
    (target / "summary.json").write_text(json.dumps(summary))
    with client(runs) as http:
        (entry,) = http.get("/api/runs").json()["runs"]
        assert entry["status"] == "stopped" and entry["progress"] == [3, WINDOWS]
        assert "nan in reward_mean of learner iql, seed 1, window 3" in entry["problem"]
        assert "marlkit resume diverged --set learners.params.KEY=VALUE" in entry["problem"]
        page = http.get("/").text
        assert "1 stopped" in page and "stopped by the NaN / inf guard" in page
