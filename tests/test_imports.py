"""What the first commands import (docs/architecture.md, Performance: heavy modules load on first use).

Each check runs in a fresh interpreter and looks at ``sys.modules``: the import graph, never a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _loaded_after(code: str) -> list[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=dict(os.environ)
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _heavy(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in names or any(m == n or m.startswith(n + ".") for n in names)]


def test_help_and_the_catalog_listing_import_no_jax_scipy_or_matplotlib_and_no_solver() -> None:
    modules = _loaded_after(
        "import contextlib, io\nfrom marlkit.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--help']); main(['games'])"
    )
    assert not _heavy(modules, ("jax", "scipy", "matplotlib", "flax"))
    # the concept table names its solvers as strings (the help text lists the concepts); no solver is loaded
    assert {m for m in modules if m.startswith("marlkit.solve")} <= {
        "marlkit.solve",
        "marlkit.solve.concepts",
        "marlkit.solve.results",
    }


def test_the_trainers_import_no_scipy_matplotlib_or_solvers() -> None:
    modules = _loaded_after("import marlkit.train")
    assert "jax" in modules  # the check sees real imports
    assert not _heavy(modules, ("scipy", "matplotlib", "marlkit.solve"))


def test_a_first_tabular_run_imports_no_scipy_or_matplotlib() -> None:
    # what `marlkit learn matching-pennies --learner fp ...` loads: the feasibility check of constrained games, the
    # learner, the trainer and the summary's NashConv (SciPy is imported where an LP is solved, not on import)
    modules = _loaded_after(
        "from marlkit.cli.context import resolve_game\nfrom marlkit.agents.tabular.registry import make_learner\n"
        "from marlkit.train import train\nfrom marlkit.diagnose import summarize\n"
        "from marlkit.solve.constrained import require_feasible\n"
        "game = resolve_game('matching-pennies')\nrequire_feasible(game, 'limits')\n"
        "history = train(game, make_learner('fp', game), 200, seeds=2, log_every=100)\nsummarize(history, game)"
    )
    assert "marlkit.diagnose.solution_sets" in modules and "jax" in modules  # the check sees real imports
    assert not _heavy(modules, ("scipy", "matplotlib"))
