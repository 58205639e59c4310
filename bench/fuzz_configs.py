"""The fuzz campaign against experiment configs (issue 15): the test suite's config fuzzer, run at campaign size.

    python bench/fuzz_configs.py                      # 2,000 valid + 2,000 invalid configs, seed 1
    python bench/fuzz_configs.py --examples 5000 --seed 7

It runs ``tests/fuzz/test_configs.py`` (valid configs drawn from the schema; invalid ones made from them by one
labelled mutation each: wrong types, out-of-range values, unknown keys, missing keys, huge integers, hostile YAML,
bad names, unknown names, vacuous eps; each through ``marlkit run`` in-process, stopped right after validation,
under a per-case time limit) with ``MARLKIT_FUZZ_EXAMPLES`` cases per test (the invalid cases shared equally by
the mutations) and the reproducible seed ``MARLKIT_FUZZ_SEED``, on one core, and prints pytest's summary: zero
failures means no traceback, internal error, hang, RuntimeWarning, silently accepted invalid config, refused
valid config, over-long message or message not naming the field in that many cases. A failure prints the case and
a ``@reproduce_failure`` blob. Not a test: the suite runs the same fuzzer at a fixed, small, derandomized budget.
"""

from __future__ import annotations

import sys

from fuzz_campaign import campaign  # bench/ is on the path of a script run from it


def main() -> int:
    return campaign(
        __doc__.splitlines()[0],
        "tests/fuzz/test_configs.py",
        default=2000,
        per_example=2,
        unit="configs",
        what="valid configs, and invalid configs in all",
    )


if __name__ == "__main__":
    sys.exit(main())
