"""``marlkit check-env TARGET``: check an env against marlkit's env contract before training on it.

``TARGET`` is your env class, ``package.module:ClassName`` (importable: installed or on ``PYTHONPATH``), or a
built-in task name (``simple_spread``, ``lbf``, ``game:soccer``, ...); ``--param key=value`` builds it. Every rule
of :func:`marlkit.envs.check_env` is checked and every problem listed; the command exits 2 when there is one.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from marlkit.cli.context import ParamOption, console, parse_params, print_json
from marlkit.errors import InvalidGameError


def check_env_command(
    target: Annotated[str, typer.Argument(help="Your env class 'package.module:ClassName', or a task name.")],
    param: ParamOption = None,
    steps: Annotated[
        int | None, typer.Option("--steps", help="Random legal steps to play (default: two episodes' worth).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="The key of every draw.")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Check an env against the env contract (spaces, shapes, info keys, auto-reset, determinism, jit, vmap,
    render) and list every problem."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.envs.check import check_env, load_env_target

    if steps is not None and steps < 1:
        raise InvalidGameError(f"--steps must be >= 1, got {steps}")
    params = parse_params(param)
    if ":" in target and not target.lower().startswith("game:"):
        env = load_env_target(target, params, "TARGET")
    else:
        from marlkit.envs.registry import make

        env = make(target, **params)
    result = check_env(env, seed, steps, strict=False)
    if json_output:
        print_json(result.to_json())
    else:
        out = console()
        for line in result.lines():
            out.print(line, markup=False, highlight=False)
    if not result.ok:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("check-env")(check_env_command)


__all__ = ["check_env_command", "register"]
