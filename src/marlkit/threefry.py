"""Threefry-2x32, the hash behind JAX's default PRNG, written once for NumPy and for XLA's CPU backend.

Threefry-2x32 with 20 rounds (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as easy as 1, 2, 3",
SC'11, §3 and Table 4): a key pair ``(k0, k1)`` and the key-schedule word ``k2 = k0 ^ k1 ^ 0x1BD11BDA``; the counter
pair ``(x0, x1)`` gets ``(k0, k1)`` added, then five groups of four rounds ``x0 += x1; x1 = rotl(x1, r) ^ x0``
(rotations 13, 15, 26, 6 and 17, 29, 16, 24, alternating), each group followed by the injection of the key words
``(k_{g mod 3}, k_{(g+1) mod 3} + g)`` for group ``g = 1..5``. :func:`hash_2x32` is that, in uint32 arithmetic
(wrapping) on NumPy or JAX arrays alike.

Two uses:

* **On the host**: :func:`marlkit.train.inputs.seed_keys` computes a run's per-seed keys (JAX's ``fold_in``) in
  NumPy, so that starting a run compiles no small eager programs.
* **On XLA's CPU backend** (:func:`use_unrolled_lowering`, installed when this module is imported): JAX lowers the
  hash for CPU as a *rolled* loop (a ``fori_loop`` over the five groups), and XLA compiles each such loop slowly —
  about 0.3 s of CPU for one ``jax.random.normal`` draw against 0.07 s for the straight-line rounds that JAX emits
  for other backends. marlkit registers the straight-line rounds for CPU (JAX's public extension points
  ``jax.extend.random.threefry2x32_p`` and ``jax.interpreters.mlir.register_lowering``). The values are the same
  bit for bit (the same hash; ``tests/test_threefry.py`` compares draws against a process running JAX's own
  lowering, and the hash against the published known-answer vectors). Measured on the 2-core CI machine
  (process CPU time, ``python bench/compile_time.py``): a tabular run's program (matching pennies, 8 seeds) compiles
  in 1.6-2.0 s instead of 2.6-2.9 s, IPPO's update program on simple spread in 4.8 s instead of 6.5 s; IPPO's
  start program (network initialisation, many small draws) in 4.5 s instead of 3.5-4.0 s. The lowering applies to
  every program lowered in the process after the import, marlkit's or not (only how fast XLA compiles them
  changes); set ``MARLKIT_ROLLED_THREEFRY=1`` to keep JAX's own.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
"""The rotation constants of Threefry-2x32 (Salmon et al. 2011, Table 4), used alternately by the round groups."""
KEY_SCHEDULE_PARITY = 0x1BD11BDA
"""The key-schedule constant of Threefish/Threefry (Salmon et al. 2011, §3)."""
ROLLED_ENV_VAR = "MARLKIT_ROLLED_THREEFRY"
"""Set to a non-empty value to keep JAX's own (rolled) CPU lowering of the hash."""


def hash_2x32(k0: Any, k1: Any, x0: Any, x1: Any) -> tuple[Any, Any]:
    """Threefry-2x32 (20 rounds) of the counter pairs ``(x0, x1)`` under the key ``(k0, k1)``: uint32 NumPy or
    JAX arrays (broadcast against each other), returned as the two output words."""
    ks = (k0, k1, k0 ^ k1 ^ np.uint32(KEY_SCHEDULE_PARITY))
    x0 = x0 + ks[0]
    x1 = x1 + ks[1]
    for group in range(1, 6):
        for r in ROTATIONS[(group - 1) % 2]:
            x0 = x0 + x1
            x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        x0 = x0 + ks[group % 3]
        x1 = x1 + ks[(group + 1) % 3] + np.uint32(group)
    return x0, x1


def _lowering_rule(key1: Any, key2: Any, x1: Any, x2: Any) -> list[Any]:
    return list(hash_2x32(key1, key2, x1, x2))


_installed = False


def use_unrolled_lowering(again: bool = False) -> bool:
    """Register :func:`hash_2x32`'s straight-line rounds as the CPU lowering of JAX's ``threefry2x32`` primitive
    (once per process, or ``again`` after something registered another rule; module docstring). False when
    :data:`ROLLED_ENV_VAR` is set or this JAX lacks the extension points (JAX's own lowering stays: only compile
    time differs)."""
    global _installed
    if _installed and not again:
        return True
    if os.environ.get(ROLLED_ENV_VAR):
        return False
    try:
        from jax.extend.random import threefry2x32_p
        from jax.interpreters import mlir
    except ImportError:  # pragma: no cover - older JAX: keep its lowering
        return False
    mlir.register_lowering(threefry2x32_p, mlir.lower_fun(_lowering_rule, multiple_results=True), platform="cpu")
    _installed = True
    return True


use_unrolled_lowering()

__all__ = ["KEY_SCHEDULE_PARITY", "ROLLED_ENV_VAR", "ROTATIONS", "hash_2x32", "use_unrolled_lowering"]
