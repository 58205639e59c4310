"""Test-session setup shared by every test module."""

import gc
import os
import shutil
import tempfile

# XLA's default CPU threading once deadlocked a vmapped run on a 2-core machine (docs/architecture.md,
# Performance); this must be set before JAX is first imported.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

from marlkit.compile_cache import ENV_VAR, enable_compilation_cache  # imports no JAX

# One persistent compilation cache for the whole session, in a fresh temp folder (removed at the end): a program
# that several modules use is compiled once even though every module drops JAX's in-memory caches (below), and
# the `marlkit` processes CLI tests start read and fill the same folder (they inherit MARLKIT_JAX_CACHE and
# call enable_compilation_cache like every entry point). A loaded entry is the program XLA compiled (the key
# covers the program, options, flags and versions), so results are bit-for-bit those of a fresh compile.
# Under pytest-xdist (the suite runs one worker per core) the workers inherit the controller's folder, so every
# worker reads and fills the same cache; only the process that made the folder removes it.
if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get(ENV_VAR, "off") != "off":
    JAX_CACHE, OWNS_JAX_CACHE = os.environ[ENV_VAR], False
else:
    JAX_CACHE, OWNS_JAX_CACHE = tempfile.mkdtemp(prefix="marlkit-tests-jax-cache-"), True
os.environ[ENV_VAR] = JAX_CACHE
enable_compilation_cache()

import jax  # noqa: E402 (after XLA_FLAGS and the cache settings)
import pytest  # noqa: E402


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's compilation cache (the process that made it)."""
    if OWNS_JAX_CACHE:
        shutil.rmtree(JAX_CACHE, ignore_errors=True)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after every test module.

    Each compiled XLA:CPU program keeps its machine code in its own memory mappings (a large program such as a PPO
    trainer holds hundreds), and JAX's jit caches keep every program alive for the life of the process. Run in one
    process, the suite's ~1,200 tests passed Linux's default limit of 65,530 mappings per process
    (``vm.max_map_count``) in ``tests/solve`` and the next compile died with a segmentation fault (CI, issue 8).
    Clearing the caches between modules keeps the count at what one module needs; programs a later module uses
    again are loaded from the session's persistent compilation cache (``JAX_CACHE``) instead of compiled again.
    """
    yield
    jax.clear_caches()
    gc.collect()


SMALL_SPREAD_RUN = {
    "name": "small-spread",
    "env": {"name": "simple_spread", "params": {"n_agents": 2, "max_episode_steps": 10}},
    "learners": {
        "name": "ippo",
        "params": {"rollout_length": 10, "update_epochs": 4, "num_minibatches": 2, "hidden": [32], "lr": 3e-3},
    },
    "num_envs": 16,
    "steps": 16_000,
    "log_every": 8_000,
    "seeds": 3,
    "key": 0,
}
"""A small trained deep team (IPPO, 2-agent 10-step simple spread, 3 seeds): what the attack, explanation and
distillation tests measure. Trained once per session (~15 s); each module reads it with ``load_trained``."""


@pytest.fixture(scope="session")
def small_spread_run(tmp_path_factory: pytest.TempPathFactory):
    """The run directory of :data:`SMALL_SPREAD_RUN` (commands may add result files to it, never change its team)."""
    from marlkit.experiment.runner import run

    return run(
        {**SMALL_SPREAD_RUN, "output": {"root": str(tmp_path_factory.mktemp("small-spread"))}}, progress=False
    ).path
