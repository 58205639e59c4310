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

import sys

from fuzz_campaign import campaign  # bench/ is on the path of a script run from it


def main() -> int:
    return campaign(
        __doc__.splitlines()[0],
        "tests/fuzz/test_run_folders.py",
        default=1000,
        per_example=2,
        unit="cases",
        what="cases per command (resume, report)",
    )


if __name__ == "__main__":
    sys.exit(main())
