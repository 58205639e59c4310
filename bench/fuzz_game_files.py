"""The fuzz campaign against game files (issue 15): the test suite's fuzzer, run at campaign size.

    python bench/fuzz_game_files.py                      # 1,000 cases per kind, seed 1: about 5 minutes
    python bench/fuzz_game_files.py --examples 3000 --seed 7

It runs ``tests/fuzz/test_game_files.py`` (valid games, malformed JSON, malformed NPZ; each case through
``marlkit show`` and ``marlkit solve`` in-process, under a per-case time limit) with ``MARLKIT_FUZZ_EXAMPLES``
cases per kind and the reproducible seed ``MARLKIT_FUZZ_SEED``, on one core, and prints pytest's summary: zero
failures means no traceback, internal error, hang, RuntimeWarning, silently accepted invalid file, refused valid
file or uncertified equilibrium in that many cases. A failure prints the case and a ``@reproduce_failure`` blob.
Not a test: the suite runs the same fuzzer at a fixed, small, derandomized budget.
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
    parser.add_argument("--examples", type=int, default=1000, help="cases per kind (valid, JSON, NPZ)")
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
        "tests/fuzz/test_game_files.py",
    ]
    start = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    print(f"{3 * args.examples} cases (seed {args.seed}) in {time.perf_counter() - start:.0f} s: exit {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
