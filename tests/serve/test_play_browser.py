"""The play page in a real browser (Debian's headless Chromium through Playwright, tests/serve/conftest.py): a person
picks a matrix game and a learning partner on the form, plays by clicking the payoff table and by the keyboard, and
the session's play log is valid and holds exactly those moves. Screenshots go to the test's output folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from marlkit.games.catalog import make
from marlkit.human.playlog import read_play_log


def test_a_matrix_game_played_by_clicking_writes_a_valid_play_log(
    tmp_path: Path, live_server: Callable[..., str], browser_page: object, shots: Path
) -> None:
    page: object = browser_page
    runs = tmp_path / "runs"
    runs.mkdir()
    url = live_server(runs)
    page.goto(url + "/play")  # type: ignore[attr-defined]
    page.select_option("#game", "rock-paper-scissors")  # type: ignore[attr-defined]
    page.select_option("#seat", "1")  # type: ignore[attr-defined]
    page.check("input[name=partner][value=learner]")  # type: ignore[attr-defined]
    page.fill("input[name=learner]", "fp")  # type: ignore[attr-defined]
    page.fill("input[name=seed]", "7")  # type: ignore[attr-defined]
    page.screenshot(path=str(shots / "play-form.png"), full_page=True)  # type: ignore[attr-defined]
    page.click("#start")  # type: ignore[attr-defined]
    page.wait_for_selector("table.payoffs tr.action-row")  # type: ignore[attr-defined]
    moves = [0, 2, 1, 1, 2, 0, 0, 1]
    for k, a in enumerate(moves[:5], start=1):  # clicks on the rows of the payoff table
        page.click(f"tr.action-row[data-action='{a}']")  # type: ignore[attr-defined]
        page.wait_for_selector(f"body[data-rounds='{k}']")  # type: ignore[attr-defined]
    for k, a in enumerate(moves[5:], start=6):  # keys 1..3
        page.keyboard.press(str(a + 1))  # type: ignore[attr-defined]
        page.wait_for_selector(f"body[data-rounds='{k}']")  # type: ignore[attr-defined]
    page.wait_for_function("document.querySelectorAll('#plot-nash .scatterlayer .trace').length == 2")  # type: ignore[attr-defined]
    assert page.locator(".bar-row").count() == 3  # type: ignore[attr-defined]
    assert "Last round" in page.inner_text("#last")  # type: ignore[attr-defined]
    page.screenshot(path=str(shots / "play-board.png"), full_page=True)  # type: ignore[attr-defined]

    logs = list((runs / "play").glob("*.jsonl"))
    assert len(logs) == 1
    log = read_play_log(logs[0], make("rock-paper-scissors"))
    assert log.actions[:, 1].tolist() == moves
    assert log.human[:, 1].all() and not log.human[:, 0].any()
    assert "partner learner fp" in log.header["source"]

    page.keyboard.press("9")  # type: ignore[attr-defined]  # no 9th action: ignored, nothing sent
    page.evaluate("fetch(location.pathname + '/act', {method: 'POST', body: JSON.stringify({action: 7})})")  # type: ignore[attr-defined]
    page.goto(url + "/play/no-such-session")  # type: ignore[attr-defined]
    assert "no play session" in page.inner_text("body")  # type: ignore[attr-defined]
    assert read_play_log(logs[0]).n_decisions == len(moves)


def test_a_grid_game_is_played_with_the_arrow_keys(
    tmp_path: Path, live_server: Callable[..., str], browser_page: object, shots: Path
) -> None:
    """Hu & Wellman's grid game 1 (actions up, down, left, right): arrow keys pick the action of that name, and the
    board shows the state's picture (the env's render)."""
    page: object = browser_page
    runs = tmp_path / "runs"
    runs.mkdir()
    url = live_server(runs)
    page.goto(url + "/play")  # type: ignore[attr-defined]
    page.select_option("#game", "grid-game-1")  # type: ignore[attr-defined]
    page.check("input[name=partner][value=learner]")  # type: ignore[attr-defined]
    page.fill("input[name=learner]", "iql")  # type: ignore[attr-defined]
    page.click("#start")  # type: ignore[attr-defined]
    page.wait_for_selector("#frame:not(.hidden)")  # type: ignore[attr-defined]
    keys = ["ArrowUp", "ArrowRight", "ArrowLeft", "ArrowDown"]
    for k, key in enumerate(keys, start=1):
        page.keyboard.press(key)  # type: ignore[attr-defined]
        page.wait_for_selector(f"body[data-rounds='{k}']")  # type: ignore[attr-defined]
    page.wait_for_function("document.getElementById('frame').naturalWidth > 0")  # type: ignore[attr-defined]
    page.screenshot(path=str(shots / "play-grid.png"), full_page=True)  # type: ignore[attr-defined]
    log = read_play_log(next((runs / "play").glob("*.jsonl")), make("grid-game-1"))
    assert log.actions[:, 0].tolist() == [0, 3, 2, 1]  # up, right, left, down in the game's action order
