"""The first minute: how long a new user waits for ``marlkit --help``, ``marlkit games`` and a first small run.

Every command runs as a fresh process (``python -m marlkit.cli ...``), as a user runs it; the rounds interleave the
commands (harness). The CPU time is the child processes' (``getrusage``). ``learn ... (cold)`` gets a new, empty
persistent compilation cache (``MARLKIT_JAX_CACHE``) every round, so it traces, lowers and compiles its program;
``learn ... (warm)`` reuses one cache filled before the clock (it still imports JAX and traces and lowers its
program to find the cache entry). For context, the same rounds time the floor every JAX program pays,
``python -c "import jax"``, and ``import marlkit.train``.

Targets (issue 16, on an idle 2-core machine): ``marlkit learn matching-pennies --learner fp --steps 10000
--seeds 8`` <= 3 s cold and <= 1.5 s warm; ``marlkit --help`` and ``marlkit games`` <= 1 s. There is no peer:
the rows record marlkit alone, with the target. Not a test: nothing asserts on time.

    python bench/first_minute.py [--rounds N] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable

import harness

LEARN = ["learn", "matching-pennies", "--learner", "fp", "--steps", "10000", "--seeds", "8"]
COMMANDS: dict[str, tuple[list[str], str]] = {
    "marlkit --help": (["-m", "marlkit.cli", "--help"], "<= 1 s"),
    "marlkit games": (["-m", "marlkit.cli", "games"], "<= 1 s"),
    "marlkit " + " ".join(LEARN) + " (cold)": (["-m", "marlkit.cli", *LEARN], "<= 3 s"),
    "marlkit " + " ".join(LEARN) + " (warm)": (["-m", "marlkit.cli", *LEARN], "<= 1.5 s"),
    'python -c "import jax" (context: the floor)': (["-c", "import jax, jax.numpy"], ""),
    'python -c "import marlkit.train" (context)': (["-c", "import marlkit.train"], ""),
}
"""Row name -> (python arguments, target)."""


def command_runner(args: list[str], cache: Callable[[], str]) -> Callable[[int], None]:
    def run(_: int) -> None:
        env = {**os.environ, "MARLKIT_JAX_CACHE": cache()}
        subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_arguments(parser, rounds=5)
    args = parser.parse_args()
    report = harness.Report("first_minute", harness.command_line())
    with tempfile.TemporaryDirectory() as tmp:
        warm = os.path.join(tmp, "warm")
        fresh = iter(range(10**6))
        runs = {}
        for name, (arguments, _) in COMMANDS.items():
            cold = name.endswith("(cold)")
            cache = (lambda: os.path.join(tmp, f"cold-{next(fresh)}")) if cold else (lambda: warm)
            runs[name] = command_runner(arguments, cache)
        timings = harness.interleave(runs, args.rounds)  # the warm-up call fills the warm cache
    for name, (_, target) in COMMANDS.items():
        timings[name].name = "marlkit" if target else "python"
        skipped = f"no peer; target {target}" if target else "context, no target"
        report.compare(name, timings[name], None, "target" if target else "context", unit="call", skipped=skipped)
    report.finish(args.json)


if __name__ == "__main__":
    main()
