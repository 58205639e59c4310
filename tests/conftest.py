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
