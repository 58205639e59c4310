"""The shared runner of the fuzz campaigns (bench/fuzz_game_files.py, fuzz_configs.py, fuzz_run_folders.py): one
of the suite's fuzz modules run at campaign size, on one core, with ``MARLKIT_FUZZ_EXAMPLES`` cases and the
reproducible hypothesis seed ``MARLKIT_FUZZ_SEED``; prints pytest's summary and ``N cases (seed S) in T s: exit C``
(exit 0: no failure in that many cases)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def campaign(description: str, module: str, *, default: int, per_example: int, unit: str, what: str) -> int:
    """Parse ``--examples`` and ``--seed``, run ``module`` (a path under tests/) with them, return pytest's exit
    code. ``per_example`` cases are run per example (e.g. one per command or kind); ``what`` says what an example
    counts (for ``--help``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--examples", type=int, default=default, help=what)
    parser.add_argument("--seed", type=int, default=1, help="hypothesis seed (reproducible)")
    args = parser.parse_args()
    env = {**os.environ, "MARLKIT_FUZZ_EXAMPLES": str(args.examples), "MARLKIT_FUZZ_SEED": str(args.seed)}
    env.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider"]
    command += ["--hypothesis-show-statistics", module]
    start = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    seconds = time.perf_counter() - start
    print(f"{per_example * args.examples} {unit} (seed {args.seed}) in {seconds:.0f} s: exit {code}")
    return code
