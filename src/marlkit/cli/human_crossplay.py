"""``marlkit human crossplay SETTINGS``: the human-AI cross-play table (docs/human.md).

Trains agents from a deep run config — by self-play, with each human model, with their population — for the
config's steps and seeds, and evaluates each with its training partner, each human model and held-out models in
the human seats (:mod:`marlkit.experiment.crossplay_table`). ``--save RUN_DIR`` writes the table into a run
directory (``human-crossplay.json``), whose page then shows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from marlkit.cli.context import console, save_and_show, show


def crossplay(
    settings: Annotated[Path, typer.Argument(help="The cross-play settings (YAML): run, agents, humans, held_out.")],
    episodes: Annotated[int | None, typer.Option("--episodes", help="Override the evaluation episodes.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Save the heat map here (.png, .svg, .pdf).")] = None,
    save: Annotated[
        Path | None, typer.Option("--save", help="Also write the table into this run directory (its page shows it).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Cross-play table: agents trained by self-play / with human models / with a population x human partners."""
    from dataclasses import replace

    from marlkit.experiment.config import load_config
    from marlkit.experiment.crossplay_table import read_settings
    from marlkit.experiment.crossplay_task import any_crossplay_table
    from marlkit.experiment.report import CROSSPLAY_FILE
    from marlkit.experiment.rundir import open_run
    from marlkit.schema import ConfigError

    parsed, folder = read_settings(settings)
    if episodes is not None:
        if episodes < 1:
            raise ConfigError(f"--episodes: expected an integer >= 1, got {episodes}")
        parsed = replace(parsed, episodes=episodes)
    if save is not None:
        open_run(save)
    base = load_config(folder / parsed.run)
    out = console()
    table = any_crossplay_table(base, parsed, None if json_output else lambda text: out.print(text, markup=False))
    if plot is not None:
        table.plot(plot)
    if save is not None:
        save_and_show(save, CROSSPLAY_FILE, table.to_json(), table.lines(), json_output)
    else:
        show(table.to_json(), table.lines(), json_output)
    if plot is not None and not json_output:
        out.print(f"wrote {plot}", markup=False)


def register(human_app: typer.Typer) -> None:
    """Add this module's command to the ``human`` group."""
    human_app.command("crossplay")(crossplay)
