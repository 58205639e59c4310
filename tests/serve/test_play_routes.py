"""The play page's routes through Starlette's TestClient: the form, a session started by the form and by JSON,
moves as JSON, the frame of a grid game, the log, and clear 400/403/404 answers (never a stack trace)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from marlkit.human.playlog import read_play_log

starlette_testclient = pytest.importorskip("starlette.testclient", reason="starlette's TestClient needs httpx")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder with a link that leads out of it (``link -> ..``)."""
    folder = tmp_path_factory.mktemp("runs")
    (folder / "link").symlink_to(folder.parent, target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def client(runs: Path) -> Iterator[object]:
    from marlkit.serve.app import create_app

    with starlette_testclient.TestClient(create_app(runs), raise_server_exceptions=False) as c:
        yield c


def start(client: object, **form: str) -> str:
    response = client.post("/play", data=form, follow_redirects=False)  # type: ignore[attr-defined]
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_the_form_lists_games_seats_and_partners(client: object) -> None:
    page = client.get("/play")  # type: ignore[attr-defined]
    assert page.status_code == 200
    for text in (
        "matching-pennies",
        "public-goods",
        "grid-game-1",
        "cooking-cramped_room",
        "boltzmann",
        "fictitious play",
        "Your seat",
    ):
        assert text in page.text
    assert "No policy files or finished runs" in page.text


def test_a_session_started_by_the_form_is_played_as_json_and_logged(client: object, runs: Path) -> None:
    board = start(client, game="matching-pennies", seat="1", partner="learner", learner="fp", seed="0")
    page = client.get(board)  # type: ignore[attr-defined]
    assert page.status_code == 200 and "matching-pennies" in page.text and "column" in page.text
    for a in (0, 1, 1):
        response = client.post(board + "/act", json={"action": a})  # type: ignore[attr-defined]
        assert response.status_code == 200
    view = response.json()
    assert view["rounds"] == 3 and view["seat"] == 1 and view["last"]["actions"][1] == 1
    assert len(view["picture"]["nash_conv"]) == 3
    state = client.get(board + "/state").json()  # type: ignore[attr-defined]
    assert state["rounds"] == 3
    log = read_play_log(runs / "play" / view["log"])
    assert log.n_decisions == 3 and log.actions[:, 1].tolist() == [0, 1, 1]
    download = client.get(board + "/log")  # type: ignore[attr-defined]
    assert download.status_code == 200 and download.text == (runs / "play" / view["log"]).read_text()


def test_the_json_api_starts_a_grid_game_with_a_frame(client: object) -> None:
    response = client.post(  # type: ignore[attr-defined]
        "/play/api/sessions", json={"game": "grid-game-2", "seat": 0, "partner": {"kind": "learner", "spec": "iql"}}
    )
    assert response.status_code == 201
    view = response.json()
    assert view["kind"] == "stochastic" and view["action_names"][0] == ["up", "down", "left", "right"]
    frame = client.get(f"/play/{view['id']}/frame.png")  # type: ignore[attr-defined]
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/png"
    assert frame.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"game": "no-such-game", "partner": "model", "model": "boltzmann"}, 404, "unknown game"),
        ({"game": "stag-hunt", "partner": "model", "model": "boltzman?beta=2"}, 404, "boltzmann"),
        ({"game": "stag-hunt", "seat": "5", "partner": "model", "model": "boltzmann"}, 400, "seat: pick a player"),
        (
            {"game": "stag-hunt", "seat": "x", "partner": "model", "model": "boltzmann"},
            400,
            "seat: expected an integer",
        ),
        ({"game": "stag-hunt", "partner": "policy", "policy": "../../etc/passwd"}, 404, "outside the runs folder"),
        ({"game": "stag-hunt", "partner": "policy", "policy": "/etc/passwd"}, 404, "outside the runs folder"),
        ({"game": "stag-hunt", "partner": "policy", "policy": "link/x.mkp"}, 403, "outside the runs folder"),
        ({"game": "stag-hunt", "partner": "policy", "policy": "nothing.mkp"}, 404, "no such run directory"),
        ({"game": "soccer", "partner": "model", "model": "boltzmann"}, 400, "normal-form"),
    ],
)
def test_bad_choices_reshow_the_form_with_one_line(client: object, form: dict, status: int, message: str) -> None:
    response = client.post("/play", data=form, follow_redirects=False)  # type: ignore[attr-defined]
    assert response.status_code == status
    assert message in response.text and 'id="play-error"' in response.text
    assert "Traceback" not in response.text
    api = client.post(  # type: ignore[attr-defined]
        "/play/api/sessions",
        json={
            "game": form["game"],
            "seat": form.get("seat", 0),
            "partner": {"kind": form["partner"], "spec": form[form["partner"]]},
        },
    )
    assert api.status_code == status and message in api.json()["error"]


@pytest.mark.parametrize("body", ['"seed": 1e400', '"seed": -1', '"seed": 1.5', '"seat": true', '"seed": "x"'])
def test_bad_numbers_in_the_json_api_are_a_400_naming_the_field(client: object, body: str) -> None:
    """Review: a seed of 1e400 was a 500 page (OverflowError), a seat of true was seat 1."""
    text = '{"game": "stag-hunt", "partner": {"kind": "learner", "spec": "fp"}, ' + body + "}"
    response = client.post(  # type: ignore[attr-defined]
        "/play/api/sessions", content=text.encode(), headers={"content-type": "application/json"}
    )
    field = body.split('"')[1]
    assert response.status_code == 400 and response.json()["error"].startswith(f"{field}: expected an integer")


def test_bad_moves_and_unknown_sessions(client: object) -> None:
    board = start(client, game="rock-paper-scissors", seat="0", partner="model", model="boltzmann?beta=1")
    for body, message in (
        ({"action": 3}, "not a legal action"),
        ({"action": -1}, "not a legal action"),
        ({"action": "1"}, "an integer"),
        ({"move": 1}, '{"action": k}'),
    ):
        response = client.post(board + "/act", json=body)  # type: ignore[attr-defined]
        assert response.status_code == 400 and message in response.json()["error"]
    response = client.post(board + "/act", content=b"not json")  # type: ignore[attr-defined]
    assert response.status_code == 400
    assert client.get(board + "/state").json()["rounds"] == 0  # type: ignore[attr-defined]
    for path in ("/play/unknown-session", "/play/unknown-session/state", "/play/unknown-session/frame.png"):
        response = client.get(path)  # type: ignore[attr-defined]
        assert response.status_code == 404 and "no play session" in response.text
    response = client.post("/play/unknown-session/act", json={"action": 0})  # type: ignore[attr-defined]
    assert response.status_code == 404


def test_the_form_offers_finished_runs_and_policy_files_not_corrupt_runs(tmp_path: Path) -> None:
    """Review: a run whose summary.json is unreadable was the form's first (default) policy."""
    from marlkit.serve.play import policy_choices

    for name, summary in (("done", "{}"), ("corrupt", "{not json")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text("name: x\n")
        (tmp_path / name / "summary.json").write_text(summary)
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "config.yaml").write_text("name: y\n")
    (tmp_path / "p.mkp").write_bytes(b"MKPOLICY")
    assert policy_choices(tmp_path) == ["done/", "p.mkp"]
