"""Checkpoints: a training state (with PRNG keys) round-trips exactly; corrupt, truncated and foreign files are
refused with a clear one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
import pytest

from marlkit.agents.tabular import make_learner
from marlkit.experiment import checkpoint
from marlkit.experiment.checkpoint import CheckpointError, load_checkpoint, read_header, save_checkpoint
from marlkit.games.catalog import make
from marlkit.train import prepare, start

GAME = make("matching-pennies")


def state_of(learner: str = "wolf-phc", seeds: int = 2):
    plan = prepare(GAME, make_learner(learner, GAME), 400, seeds=seeds, key=3, log_every=100)
    return start(plan)


def like(state):
    return jax.eval_shape(lambda: state)


def leaves_bytes(state) -> list[tuple[str, bytes]]:
    out = []
    for leaf in jax.tree_util.tree_leaves(state):
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out.append((str(leaf.dtype), np.asarray(leaf).tobytes()))
    return out


def test_round_trip_is_exact_keys_included(tmp_path: Path) -> None:
    state = state_of()
    path = save_checkpoint(tmp_path / "c.npz", state, config_hash="abc", windows_done=2, info={"metrics_bytes": 7})
    loaded = load_checkpoint(path, like(state), config_hash="abc")
    assert jax.tree_util.tree_structure(loaded.state) == jax.tree_util.tree_structure(state)
    assert leaves_bytes(loaded.state) == leaves_bytes(state)
    assert jax.dtypes.issubdtype(loaded.state.window_keys.dtype, jax.dtypes.prng_key)
    assert (loaded.windows_done, loaded.config_hash, loaded.info) == (2, "abc", {"metrics_bytes": 7})
    header = read_header(path)
    assert header["format"] == "marlkit.checkpoint" and header["version"] == checkpoint.VERSION
    paths = [leaf["path"] for leaf in header["leaves"]]
    assert ".window_keys" in paths and any(p.startswith(".carry.learners[0]") for p in paths)
    with np.load(path, allow_pickle=False) as archive:  # plain arrays only: no pickle needed to read it
        assert all(archive[name].dtype != object for name in archive.files)


def test_a_new_checkpoint_replaces_the_old_atomically(tmp_path: Path) -> None:
    state = state_of()
    path = tmp_path / "c.npz"
    save_checkpoint(path, state, config_hash="abc", windows_done=2)
    save_checkpoint(path, state, config_hash="abc", windows_done=4)
    assert read_header(path)["windows_done"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]  # no temp files left behind


@pytest.fixture
def saved(tmp_path: Path):
    state = state_of()
    return save_checkpoint(tmp_path / "c.npz", state, config_hash="abc", windows_done=2), state


def test_truncated_and_corrupt_files_are_refused(saved) -> None:
    path, state = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated checkpoint"):
        load_checkpoint(path, like(state))
    # one flipped byte inside the first array's data: the zip CRC or the SHA-256 digest catches it
    start_of_array = data.index(b"leaf_00000.npy") + 200
    flipped = bytearray(data)
    flipped[start_of_array] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path, like(state))
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(path, like(state))
    with pytest.raises(CheckpointError, match="no checkpoint there"):
        load_checkpoint(path.with_name("none.npz"), like(state))


def test_foreign_checkpoints_are_refused(saved, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, state = saved
    with pytest.raises(CheckpointError, match="another config"):
        load_checkpoint(path, like(state), config_hash="xyz")
    with pytest.raises(CheckpointError, match=r"does not match this run \(leaf .carry"):
        load_checkpoint(path, like(state_of("iql")))  # another learner's state
    with pytest.raises(CheckpointError, match="does not match this run"):
        load_checkpoint(path, like(state_of(seeds=3)))
    other = tmp_path / "other.npz"
    np.savez(other, __header__=np.array(json.dumps({"format": "marlkit.history", "version": 1})))
    with pytest.raises(CheckpointError, match="not a marlkit checkpoint"):
        load_checkpoint(other, like(state))
    np.savez(other, x=np.zeros(3))
    with pytest.raises(CheckpointError, match="no __header__"):
        load_checkpoint(other, like(state))
    monkeypatch.setattr(checkpoint, "VERSION", 99)
    future = save_checkpoint(tmp_path / "future.npz", state, config_hash="abc", windows_done=2)
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match=r"format version 99; this marlkit .* reads version 1"):
        load_checkpoint(future, like(state))
