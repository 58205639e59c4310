"""The fuzz campaign against run folders (issue 15): the test suite's run-folder fuzzer, run at campaign size.

    python bench/fuzz_run_folders.py                      # 1,000 cases per command (resume, report), seed 1
    python bench/fuzz_run_folders.py --examples 3000 --seed 7

It runs ``tests/fuzz/test_run_folders.py`` (a small real run, a killed copy and another run trained once; each case
copies a folder, damages one file — truncated, bit-flipped, a JSON value of the wrong type / huge / NaN / negative,
unknown or duplicate keys, deleted, a link, a folder, empty, random bytes, another run's file — and runs
``marlkit resume`` / ``marlkit report`` in-process and the web app's runs index, under a per-case time limit) with
``MARLKIT_FUZZ_EXAMPLES`` cases per command and the reproducible seed ``MARLKIT_FUZZ_SEED``, on one core, and prints
pytest's summary: zero failures means no traceback, internal error, hang or result different from the clean run's
in that many cases. A failure prints the case and a ``@reproduce_failure`` blob. Not a test: the suite runs the same
fuzzer at a fixed, small, derandomized budget.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="cases per command (resume, report)")
    parser.add_argument("--seed", type=int, default=1, help="hypothesis seed (reproducible)")
    args = parser.parse_args()
    env = {**os.environ, "MARLKIT_FUZZ_EXAMPLES": str(args.examples), "MARLKIT_FUZZ_SEED": str(args.seed)}
    env.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-n",
        "0",
        "-p",
        "no:cacheprovider",
        "--hypothesis-show-statistics",
        "tests/fuzz/test_run_folders.py",
    ]
    start = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    print(f"{2 * args.examples} cases (seed {args.seed}) in {time.perf_counter() - start:.0f} s: exit {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
