"""The play pages of the web app: a person plays a catalog game with a partner in the browser.

Routes (errors are a page with one clear line, or JSON ``{"error": ...}``, never a stack trace):

* ``GET /play``: pick a game, a seat and a partner (a human model, a tabular learner that keeps learning, or a
  trained policy found in the runs folder);
* ``POST /play``: start a session (form fields ``game``, ``seat``, ``partner`` = ``model`` / ``learner`` /
  ``policy`` and the field of that name holding its spec), then redirect to its board; a bad choice re-shows the
  form with the message (400, 404 for an unknown game);
* ``POST /play/api/sessions``: the same from JSON ``{"game", "seat", "partner": {"kind", "spec"}, "seed"}`` ->
  201 and the session's view;
* ``GET /play/{id}``: the board; ``GET /play/{id}/state``: its view as JSON; ``POST /play/{id}/act`` with JSON
  ``{"action": k}``: play a round (400 for an action out of range or illegal, 404 for an unknown session);
  ``GET /play/{id}/frame.png``: the current state's picture; ``GET /play/{id}/log``: the play log so far.

Sessions are :class:`marlkit.serve.play_session.PlaySession` objects in one bounded store per app; their logs go
under ``context.play_dir``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from marlkit.errors import MarlkitError, UnknownNameError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from marlkit.serve.context import ServeContext
    from marlkit.serve.play_session import PlaySession, SessionStore

MAX_BODY = 64 * 1024
"""The largest request body a play route reads (bytes)."""
MAX_POLICY_CHOICES = 200
"""Policy files and run directories listed on the form (the first found, sorted)."""


def status_of(error: Exception) -> int:
    """The HTTP status of a refused request: the error's own ``status`` where it has one (a policy path outside the
    runs folder 403, a missing one or an unknown session 404), 404 for an unknown name (game, model, learner), else
    400."""
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return status
    return 404 if isinstance(error, UnknownNameError) else 400


def message_of(error: Exception) -> str:
    """The one line a person reads (KeyError's repr quotes are dropped)."""
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return str(text).splitlines()[0] if str(text) else type(error).__name__


def _readable_summary(path: Path) -> bool:
    """Whether a run's summary is a JSON object (a corrupt run is not offered as a partner)."""
    import json

    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False


def policy_choices(runs_dir: Path) -> list[str]:
    """Policy files (``*.mkp``) and finished run directories (with ``config.yaml`` and ``summary.json``) under
    ``runs_dir`` (links not followed), relative to it, sorted; at most :data:`MAX_POLICY_CHOICES`."""
    import os

    from marlkit.experiment.rundir import CONFIG

    found: list[str] = []
    root = runs_dir.resolve()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        here = Path(folder)
        if CONFIG in files and "summary.json" in files and _readable_summary(here / "summary.json"):
            found.append(str(here.relative_to(root)) + "/")
        found += [str((here / f).relative_to(root)) for f in sorted(files) if f.endswith(".mkp")]
        if len(found) >= MAX_POLICY_CHOICES:
            break
    return sorted(found[:MAX_POLICY_CHOICES])


def form_options() -> dict[str, Any]:
    """What the form lists: games (with seats), human models and tabular learners."""
    from marlkit.agents.tabular.registry import LEARNERS
    from marlkit.human.models import HUMAN_MODELS
    from marlkit.serve.play_session import playable_games
    from marlkit.serve.play_task import task_names

    tasks = [
        {
            "name": name,
            "kind": "task",
            "description": "Overcooked (Carroll et al. 2019): two chefs cook onion soups and serve them for 20 each; "
            "arrow keys move, space interacts",
            "n_players": 2,
            "num_actions": [6, 6],
            "player_names": ["chef_0", "chef_1"],
        }
        for name in task_names()
    ]
    return {
        "games": [c.to_json() for c in playable_games()] + tasks,
        "models": [e.name for e in HUMAN_MODELS.entries().values() if e.name != "population"],
        "learners": [{"name": e.name, "description": e.description} for e in LEARNERS.entries().values()],
    }


async def read_body(request: Request) -> bytes:
    from marlkit.serve.play_session import SessionError

    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise SessionError(f"request body over {MAX_BODY} bytes")
    return body


def locked(session: PlaySession, method: Any, *args: Any) -> Any:
    """``method(*args)`` under the session's lock (one move at a time per session)."""
    with session.lock:
        return method(*args)


def start_session(store: SessionStore, context: ServeContext, fields: dict[str, Any]) -> PlaySession:
    """A new session from the form's or the API's fields (``game``, ``seat``, ``partner``, ``spec``, ``seed``)."""
    from marlkit.errors import InvalidGameError

    def integer(name: str, value: Any, default: int | None) -> int | None:
        """A form's digits or a JSON integer, >= 0 (no booleans, floats or infinities)."""
        if value is None or value == "":
            return default
        if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 20:
            return int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64:
            return value
        raise InvalidGameError(f"{name}: expected an integer >= 0, got {str(value)[:40]!r}")

    game = str(fields.get("game") or "").strip()
    if not game:
        raise InvalidGameError("game: pick a game")
    seat = integer("seat", fields.get("seat"), 0)
    seed = integer("seed", fields.get("seed"), None)
    return store.create(
        game,
        seat,
        str(fields.get("partner") or ""),
        str(fields.get("spec") or ""),
        runs_dir=context.runs_dir,
        log_dir=context.play_dir,
        seed=seed,
    )


def routes(context: ServeContext) -> list[BaseRoute]:
    """This module's routes (module docstring), over one session store."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
    from starlette.routing import Route

    from marlkit.serve.play_session import SessionError, SessionStore

    store = SessionStore()
    templates = context.templates

    def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(active="play", **values), status_code=status)

    def form_page(status: int = 200, error: str | None = None, fields: dict[str, Any] | None = None) -> HTMLResponse:
        options = form_options()
        return page(
            "play.html",
            status,
            error=error,
            fields=fields or {},
            options=options,
            policies=policy_choices(context.runs_dir),
            runs_dir=context.runs_dir.name,
        )

    def json_error(error: Exception) -> JSONResponse:
        return JSONResponse({"error": message_of(error)}, status_code=status_of(error))

    async def new(request: Request) -> Response:
        return await run_in_threadpool(form_page)  # the first call imports the learners (JAX): off the event loop

    async def create(request: Request) -> Response:
        try:
            body = await read_body(request)
            query = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        except MarlkitError as error:
            return await run_in_threadpool(form_page, status_of(error), message_of(error))
        fields = {key: values[-1] for key, values in query.items()}
        kind = fields.get("partner", "")
        fields["spec"] = fields.get(kind, "") if kind in ("model", "learner", "policy") else ""
        try:
            session = await run_in_threadpool(start_session, store, context, fields)
        except (MarlkitError, KeyError, ValueError) as error:
            return await run_in_threadpool(form_page, status_of(error), message_of(error), fields)
        return RedirectResponse(f"/play/{session.id}", status_code=303)

    async def create_api(request: Request) -> Response:
        try:
            data = json.loads(await read_body(request) or b"{}")
            if not isinstance(data, dict):
                raise SessionError("expected a JSON object {game, seat, partner: {kind, spec}}")
            partner = data.get("partner") or {}
            if not isinstance(partner, dict):
                raise SessionError('partner: expected {"kind": "model" | "learner" | "policy", "spec": ...}')
            fields = {**data, "partner": partner.get("kind", ""), "spec": partner.get("spec", "")}
            session = await run_in_threadpool(start_session, store, context, fields)
        except json.JSONDecodeError:
            return JSONResponse({"error": "the request body is not JSON"}, status_code=400)
        except (MarlkitError, KeyError, ValueError) as error:
            return json_error(error)
        return JSONResponse(session.view(), status_code=201)

    async def board(request: Request) -> Response:
        try:
            session = store.get(request.path_params["session"])
        except MarlkitError as error:
            return page("play_missing.html", status_of(error), error=message_of(error))
        return page("play_board.html", session=session.view(), runs_dir=context.runs_dir.name)

    async def state(request: Request) -> Response:
        try:
            session = store.get(request.path_params["session"])
            return JSONResponse(await run_in_threadpool(locked, session, session.view))
        except MarlkitError as error:
            return json_error(error)

    async def act(request: Request) -> Response:
        try:
            session = store.get(request.path_params["session"])
            try:
                data = json.loads(await read_body(request) or b"{}")
            except json.JSONDecodeError:
                raise SessionError('expected JSON {"action": k}') from None
            if not isinstance(data, dict) or "action" not in data:
                raise SessionError('expected JSON {"action": k}')
            return JSONResponse(await run_in_threadpool(locked, session, session.play, data["action"]))
        except MarlkitError as error:
            return json_error(error)

    async def frame(request: Request) -> Response:
        from starlette.responses import Response as Plain

        try:
            session = store.get(request.path_params["session"])
            png = await run_in_threadpool(locked, session, session.frame_png)
        except MarlkitError as error:
            return json_error(error)
        return Plain(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def log(request: Request) -> Response:
        try:
            session = store.get(request.path_params["session"])
        except MarlkitError as error:
            return json_error(error)
        return FileResponse(session.log_path, media_type="application/x-ndjson", filename=session.log_path.name)

    return [
        Route("/play", new, methods=["GET"], name="play"),
        Route("/play", create, methods=["POST"], name="play_create"),
        Route("/play/api/sessions", create_api, methods=["POST"], name="play_api_create"),
        Route("/play/{session}", board, methods=["GET"], name="play_board"),
        Route("/play/{session}/state", state, methods=["GET"], name="play_state"),
        Route("/play/{session}/act", act, methods=["POST"], name="play_act"),
        Route("/play/{session}/frame.png", frame, methods=["GET"], name="play_frame"),
        Route("/play/{session}/log", log, methods=["GET"], name="play_log"),
    ]


__all__ = ["MAX_BODY", "form_options", "message_of", "policy_choices", "routes", "start_session", "status_of"]
