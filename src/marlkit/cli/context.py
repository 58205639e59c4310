"""Shared CLI state (the global options) and helpers every command uses."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from marlkit.errors import InvalidGameError, MarlkitError
from marlkit.games import Game, load_game
from marlkit.strict import clip, loads_json


@dataclass
class CliState:
    debug: bool = False


STATE = CliState()

GameArgument = Annotated[str, typer.Argument(help="A catalog name (see `marlkit games`) or a .json/.npz game file.")]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", "-p", help="Catalog game parameter key=value (repeatable).")
]


def command_group(name: str, help: str) -> typer.Typer:
    """A typer app (the ``marlkit`` command or one of its groups) with marlkit's settings: help when called bare,
    no shell-completion commands, plain tracebacks (the error boundary in :func:`marlkit.cli.main` prints one line)."""
    return typer.Typer(name=name, help=help, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def save_and_show(run_dir: Path, file: str, data: dict[str, object], lines: list[str], json_output: bool) -> Path:
    """A command's result written into a run directory (``experiment.report.save_run_result``: atomic JSON, the page
    re-rendered), then shown: ``data`` as JSON, or ``lines`` and where it was written."""
    from marlkit.experiment.report import save_run_result

    clean = finite(data)
    path = save_run_result(run_dir, file, clean)  # type: ignore[arg-type]
    if json_output:
        print_json(clean)
        return path
    out = console()
    for line in lines:
        out.print(line, markup=False, highlight=False)
    out.print(f"wrote {path}", markup=False)
    return path


def show(data: dict[str, object], lines: list[str], json_output: bool) -> None:
    """A command's result: ``data`` as JSON, or ``lines`` as plain text (user strings never read as markup)."""
    if json_output:
        print_json(finite(data))
        return
    out = console()
    for line in lines:
        out.print(line, markup=False, highlight=False)


def console() -> Console:
    """A rich console that reads no markup, emoji codes or highlighting in what it prints: user strings (game,
    player and action names) are shown as written — ``my PD[/bold]`` is text, not a markup error; styled output
    uses :func:`styled`. When output is not a terminal (a pipe, CI, a file) tables get 120 columns, not 80."""
    plain = Console(markup=False, emoji=False, highlight=False)
    return plain if plain.is_terminal else Console(width=120, markup=False, emoji=False, highlight=False)


def plain(text: object, limit: int = 200) -> str:
    """A user's string for the terminal: control characters (ANSI escapes) escaped, at most ``limit`` characters
    (:func:`marlkit.strict.clip`)."""
    return clip(str(text), limit)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Styled terminal text from plain parts (``("name", "bold")``), never parsed as markup: user strings in it
    are safe (control characters escaped by :func:`plain`)."""
    return Text.assemble(*((plain(p[0]), p[1]) if isinstance(p, tuple) else plain(p, 10_000) for p in parts))


def parse_params(items: list[str] | None, option: str = "--param") -> dict[str, object]:
    """Parse ``key=value`` parameters given with ``option``; values are read as strict JSON (numbers, lists;
    :mod:`marlkit.strict`) or kept as strings when they are not JSON. A key given twice is an error."""
    params: dict[str, object] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InvalidGameError(f"{option} {item!r}: expected key=value, e.g. {option} k=-20")
        if key in params:
            raise InvalidGameError(f"{option} {clip(key)}: given twice ({params[key]!r} and {raw!r}); give it once")
        try:
            json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw  # not JSON: a string
        else:  # JSON, read strictly: no NaN / Infinity / overflowing numbers, duplicate keys or deep nesting
            try:
                params[key] = loads_json(raw, InvalidGameError, "the value")
            except InvalidGameError as exc:
                raise InvalidGameError(f"{option} {clip(key)}: {exc}") from None
    return params


def resolve_game(spec: str, params: list[str] | None = None) -> Game:
    """A catalog name (with ``--param key=value``) or a path to a ``.json`` / ``.npz`` game file."""
    path = Path(spec)
    if path.suffix in (".json", ".npz") or path.is_file():
        if params:
            raise InvalidGameError("--param applies to catalog games, not to game files")
        return load_game(path)
    from marlkit.games.catalog import make

    return make(spec, **parse_params(params))


def plots_folder(plots: str) -> Path:
    """A ``--plots`` folder, created (with its parents) and checked writable before any compute."""
    folder = Path(plots)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MarlkitError(f"--plots {plots}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MarlkitError(f"--plots {plots}: the folder is not writable; choose another folder")
    return folder


def print_json(data: object) -> None:
    """Print ``data`` as strict JSON on stdout (no rich markup, so it pipes into jq). JSON has no NaN or infinity:
    a number without a value (e.g. the return of a seed in which no episode ended) is written as ``null``; the
    command says why next to it."""
    print(json.dumps(finite(data), indent=2, default=_jsonable, allow_nan=False))


def finite(value: object) -> object:
    """``value`` with every non-finite float (NumPy arrays and scalars included) replaced by ``None``."""
    import numpy as np

    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def _jsonable(value: object) -> object:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
