"""marlkit's Threefry-2x32 (:mod:`marlkit.threefry`): the published known-answer vectors, and JAX's random draws
under marlkit's unrolled CPU lowering equal, bit for bit, those of a process that runs JAX's own lowering."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from marlkit.threefry import ROLLED_ENV_VAR, hash_2x32, use_unrolled_lowering

# Known-answer vectors of Threefry-2x32, 20 rounds, from the Random123 distribution's kat_vectors (Salmon et al.
# 2011), as JAX's own tests use them: (key, counter) -> output.
KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]

# The script prints each draw's bytes as hex (JSON), and whether the hash was lowered as a rolled loop.
DRAWS = """
import json, sys
import jax, jax.numpy as jnp, numpy as np
key = jax.random.key(20261207)
draws = {
    "bits": lambda k: jax.random.bits(k, (7, 5)),
    "normal": lambda k: jax.random.normal(jax.random.fold_in(k, 3), (4, 9)),
    "split": lambda k: jax.random.key_data(jax.random.split(k, 6)),
    "permutation": lambda k: jax.random.permutation(k, 40),
    "vmapped": lambda k: jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(k, i), (3,)))(jnp.arange(4)),
}
out = {name: np.asarray(jax.jit(draw)(key)).tobytes().hex() for name, draw in draws.items()}
out["normal/eager"] = np.asarray(draws["normal"](key)).tobytes().hex()
out["rolled loop"] = "stablehlo.while" in jax.jit(draws["bits"]).lower(key).as_text()
print(json.dumps(out))
"""


@pytest.mark.parametrize(("key", "counter", "expected"), KAT)
def test_known_answer_vectors(key, counter, expected) -> None:
    u = np.uint32
    y0, y1 = hash_2x32(u(key[0]), u(key[1]), np.array([counter[0]], u), np.array([counter[1]], u))
    assert (int(y0[0]), int(y1[0])) == expected


def test_draws_equal_jax_own_lowering() -> None:
    assert use_unrolled_lowering()  # this JAX has the extension points: the lowering is marlkit's in this process
    # the oracle: a fresh process that imports marlkit.threefry but keeps JAX's own lowering
    code = "import marlkit.threefry\n" + DRAWS
    env = {**os.environ, ROLLED_ENV_VAR: "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    jax_own = json.loads(done.stdout.strip().splitlines()[-1])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(DRAWS, {})  # the same draws here, under marlkit's lowering
    unrolled = json.loads(printed.getvalue().strip().splitlines()[-1])
    # the two processes did lower the hash differently: JAX's rolled loop, marlkit's straight-line rounds
    assert jax_own.pop("rolled loop") is True and unrolled.pop("rolled loop") is False
    assert set(jax_own) == set(unrolled) and len(jax_own) == 6
    assert jax_own == unrolled
