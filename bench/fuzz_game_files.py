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

import sys

from fuzz_campaign import campaign  # bench/ is on the path of a script run from it


def main() -> int:
    return campaign(
        __doc__.splitlines()[0],
        "tests/fuzz/test_game_files.py",
        default=1000,
        per_example=3,
        unit="cases",
        what="cases per kind (valid, JSON, NPZ)",
    )


if __name__ == "__main__":
    sys.exit(main())
