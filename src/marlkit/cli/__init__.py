"""The ``marlkit`` command (typer). Errors marlkit raises on purpose print one line and exit 2.

Commands live in small modules (``games.py``, ``solve.py``); this module builds the app, the global options
(``--version``, ``--debug``) and the error boundary, and turns on JAX's persistent compilation cache for every
command (:mod:`marlkit.compile_cache`: ``~/.cache/marlkit/jax``; ``MARLKIT_JAX_CACHE`` moves it, ``=off``
turns it off).
"""

from __future__ import annotations

import sys
import traceback

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
    """Entry point: run the app; a MarlkitError prints ``error: <message>`` on one line and exits 2.

    Usage errors (an unknown option, a missing argument) are reported by typer itself, also with exit code 2.
    """
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except MarlkitError as exc:
        if STATE.debug:
            traceback.print_exc()
        typer.echo(f"error: {exc}", err=True)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
