"""Test-session setup shared by every test module."""

import gc
import os

# XLA's default CPU threading once deadlocked a vmapped run on a 2-core machine (docs/architecture.md,
# Performance); this must be set before JAX is first imported.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax  # after XLA_FLAGS
import pytest


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after every test module.

    Each compiled XLA:CPU program keeps its machine code in its own memory mappings (a large program such as a PPO
    trainer holds hundreds), and JAX's jit caches keep every program alive for the life of the process. Run in one
    process, the suite's ~1,200 tests passed Linux's default limit of 65,530 mappings per process
    (``vm.max_map_count``) in ``tests/solve`` and the next compile died with a segmentation fault (CI, issue 8).
    Clearing the caches between modules keeps the count at what one module needs; programs a later module uses
    again are compiled again.
    """
    yield
    jax.clear_caches()
    gc.collect()
