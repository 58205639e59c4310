"""The ``marlkit`` command (typer): the app, the global options and the one error boundary.

Exit codes: 0 success; 2 bad input — every :class:`~marlkit.errors.MarlkitError` (a bad file, config, name or
option) prints ``error: <message>`` on one line (control characters escaped, at most
:data:`MAX_ERROR_LENGTH` characters) and usage errors are typer's own; 1 an internal error — any other exception
prints one line ``error: internal error: <type>: <message>; this is a marlkit bug: please report it ...`` and
never a traceback unless ``--debug`` is given (then the traceback comes first); 130 interrupted (Ctrl-C).

Commands live in small modules (``games.py``, ``solve.py``); this module builds the app, the global options
(``--version``, ``--debug``) and the error boundary, and turns on JAX's persistent compilation cache for every
command (:mod:`marlkit.compile_cache`: ``~/.cache/marlkit/jax``; ``MARLKIT_JAX_CACHE`` moves it, ``=off``
turns it off).
"""

from __future__ import annotations

import sys
import traceback
from functools import cache

import typer

from marlkit import __version__
from marlkit.cli import attack as attack_commands
from marlkit.cli import check_env as check_env_commands
from marlkit.cli import diagnose as diagnose_commands
from marlkit.cli import eval as eval_commands
from marlkit.cli import experiments as experiment_commands
from marlkit.cli import explain as explain_commands
from marlkit.cli import games as games_commands
from marlkit.cli import human as human_commands
from marlkit.cli import learn as learn_commands
from marlkit.cli import render_episode as render_episode_commands
from marlkit.cli import robust as robust_commands
from marlkit.cli import run as run_commands
from marlkit.cli import serve as serve_commands
from marlkit.cli import solve as solve_commands
from marlkit.cli.context import STATE, command_group
from marlkit.compile_cache import enable_compilation_cache
from marlkit.errors import MarlkitError
from marlkit.strict import clip

MAX_ERROR_LENGTH = 2000
"""Longest ``error:`` line the CLI prints (a longer message is cut, with its length)."""
INTERNAL_ERROR = 1
"""Exit code of an unexpected exception (a marlkit bug); bad input exits 2."""

app = command_group(
    "marlkit", "Multi-agent RL where learning meets game theory: exact games, solution concepts and learners."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"marlkit {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="Show a full traceback when a command fails."),
) -> None:
    """marlkit: describe a game, solve it, and learn in it."""
    STATE.debug = debug
    enable_compilation_cache()  # every command that compiles reuses earlier runs' programs (imports no JAX)


games_commands.register(app)
solve_commands.register(app)
learn_commands.register(app)
run_commands.register(app)
diagnose_commands.register(app)
robust_commands.register(app)
attack_commands.register(app)
human_commands.register(app)
explain_commands.register(app)
experiment_commands.register(app)
render_episode_commands.register(app)
check_env_commands.register(app)
eval_commands.register(app)
serve_commands.register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and return its exit code (see the module docstring): a MarlkitError prints
    ``error: <message>`` on one line and returns 2; any other exception prints one ``error: internal error: ...``
    line (a traceback only with ``--debug``) and returns 1. Usage errors (an unknown option, a missing argument)
    are reported by typer itself with exit code 2."""
    STATE.debug = "--debug" in (sys.argv[1:] if argv is None else argv)  # known before the callback has run
    try:
        result = _command().main(args=argv, prog_name="marlkit", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except typer.TyperException as exc:  # usage errors, formatted as typer formats them
        from typer import rich_utils

        rich_utils.rich_format_error(exc)  # type: ignore[arg-type]
        return int(exc.exit_code)
    except typer.Abort as exc:  # typer turns EOFError into Abort; KeyboardInterrupt returns 130
        cause = exc.__cause__
        if isinstance(cause, Exception):
            return _internal(cause)
        typer.echo("Aborted.", err=True)
        return 1
    except MarlkitError as exc:
        if STATE.debug:
            traceback.print_exc()
        typer.echo(f"error: {one_line(str(exc))}", err=True)
        return 2
    except Exception as exc:
        return _internal(exc)
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


@cache
def _command() -> typer.core.TyperGroup:
    """The click command of :data:`app`, built once per process (typer rebuilds it on every call, ~0.3 s, which
    in-process callers such as the test suite's fuzzing pay per call)."""
    return typer.main.get_command(app)  # type: ignore[return-value]


def one_line(message: str) -> str:
    """A message as one terminal-safe line: newlines and control characters escaped, at most
    :data:`MAX_ERROR_LENGTH` characters."""
    return clip(message, MAX_ERROR_LENGTH)


def _internal(exc: BaseException) -> int:
    """Report an unexpected exception (a marlkit bug) on one line; the traceback only with ``--debug``."""
    if STATE.debug:
        traceback.print_exception(exc)
    text = f"{type(exc).__name__}: {clip(str(exc), 200)}" if str(exc) else type(exc).__name__
    typer.echo(
        f"error: internal error: {one_line(text)}; this is a marlkit bug: please report it with the output of the "
        "same command run with --debug (marlkit --debug ...)",
        err=True,
    )
    return INTERNAL_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
