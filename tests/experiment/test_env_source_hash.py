"""Issue 15, integrity: the config hash covers a user env class's source (``env: {target: ...}``), as it covers a
game's content, so a run is not resumed after the user edited the env (its checkpoint was made by other code).

The env lives in a package written to a temporary folder (``hashpkg``: a base class in ``hashpkg.base``, the env in
``hashpkg.envs``); nothing here compiles (the resumed run's state is shaped by ``jax.eval_shape``)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.experiment import rundir, runner
from marlkit.experiment.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from marlkit.experiment.config import config_hash, dump_config, load_config
from marlkit.experiment.env_target import target_source_digest, target_source_files
from marlkit.experiment.trainers import plan_for

BASE = textwrap.dedent(
    '''
    """The user's base class: the ring's observation."""
    import jax.numpy as jnp

    from marlkit.envs.base import Env


    class RingBase(Env):
        def observe(self, x):
            return (x.astype(jnp.float32) / self.size)[:, None]
    '''
)

ENVS = textwrap.dedent(
    '''
    """A walk on a ring: agents step back / stay / forward; each is paid 1 on cell 0."""
    from dataclasses import dataclass, field
    from typing import NamedTuple

    import jax
    import jax.numpy as jnp

    from hashpkg.base import RingBase
    from marlkit.envs.base import MultiAgentSpec


    class Ring(NamedTuple):
        x: jax.Array


    @dataclass(frozen=True)
    class Walk(RingBase):
        n_agents: int = 2
        size: int = 5
        spec: MultiAgentSpec = field(init=False, repr=False, compare=False)

        def __post_init__(self):
            n = self.n_agents
            spec = MultiAgentSpec("walk", n, tuple(f"w{i}" for i in range(n)), (1,), (1,) * n, (3,) * n, n, 6)
            object.__setattr__(self, "spec", spec)

        def reset_env(self, key):
            x = jax.random.randint(key, (self.n_agents,), 0, self.size)
            return self.observe(x), Ring(x)

        def step_env(self, key, state, actions):
            x = (state.x + actions - 1) % self.size
            return self.observe(x), Ring(x), (x == 0).astype(jnp.float32), jnp.bool_(False), {}

        def global_state(self, state):
            return self.observe(state.x)[:, 0]
    '''
)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("user-env")
    (folder / "hashpkg").mkdir()
    (folder / "hashpkg" / "__init__.py").write_text("", encoding="utf-8")
    (folder / "hashpkg" / "base.py").write_text(BASE, encoding="utf-8")
    (folder / "hashpkg" / "envs.py").write_text(ENVS, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        yield folder / "hashpkg"


CONFIG = {
    "name": "walk",
    "env": {"target": "hashpkg.envs:Walk"},
    "learners": {"name": "ippo", "params": {"rollout_length": 6, "hidden": [8], "update_epochs": 1}},
    "num_envs": 4,
    "steps": 48,
    "seeds": 1,
}


def test_the_hash_covers_the_env_module_and_the_users_base_classes(package: Path) -> None:
    files = target_source_files("hashpkg.envs:Walk")
    assert files == {"hashpkg.envs": package / "envs.py", "hashpkg.base": package / "base.py"}  # not marlkit's
    config = load_config(CONFIG)
    before = config_hash(config)
    for name in ("envs.py", "base.py"):
        path = package / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text + "\n# edited\n", encoding="utf-8")  # a comment is an edit: the bytes are hashed
        assert config_hash(config) != before and target_source_digest("hashpkg.envs:Walk") != before
        path.write_text(text, encoding="utf-8")
        assert config_hash(config) == before
    other = load_config({**CONFIG, "env": {"name": "simple_spread"}})
    assert config_hash(other) == config_hash(other)  # a built-in task: no source to read, the hash is stable


def _zeros(like: object) -> object:
    """A state of ``like``'s shapes (PRNG keys included) without running the trainer's init."""

    def leaf(s: jax.ShapeDtypeStruct) -> object:
        if jax.dtypes.issubdtype(s.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(jnp.zeros((*s.shape, 2), jnp.uint32))
        return np.zeros(s.shape, s.dtype)

    return jax.tree_util.tree_map(leaf, like)


def test_a_run_is_not_resumed_after_its_env_was_edited(package: Path, tmp_path: Path) -> None:
    """A run directory as the runner leaves it after its first checkpoint (config, metrics, checkpoint); editing
    the env's source makes ``resume`` refuse the checkpoint as one of another config, as for a swapped game."""
    config = load_config(CONFIG)
    plan, game = plan_for(config)
    path = rundir.create(tmp_path, "walk", 0)
    (path / rundir.METRICS).write_text("", encoding="utf-8")
    dump_config(config, path / rundir.CONFIG)
    like = jax.eval_shape(plan.start)
    info = {"metrics_bytes": 0, "elapsed_s": 0.0}
    save_checkpoint(
        path / rundir.CHECKPOINT, _zeros(like), config_hash=config_hash(config, game), windows_done=1, info=info
    )

    saved = load_config(path / rundir.CONFIG)  # what resume reads: the same hash while the source is unchanged
    assert load_checkpoint(path / rundir.CHECKPOINT, like, config_hash=config_hash(saved)).windows_done == 1
    source = package / "envs.py"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("x == 0", "x == 1"), encoding="utf-8")  # pays on another cell now
    try:
        with pytest.raises(CheckpointError, match="checkpoint of another config"):
            runner.resume(path, progress=False)
    finally:
        source.write_text(text, encoding="utf-8")
    assert load_checkpoint(path / rundir.CHECKPOINT, like, config_hash=config_hash(saved)).windows_done == 1
