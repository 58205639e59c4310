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
    with pytest.raises(CheckpointError, match=r"format version 99; this marlkit .* reads versions 1, 2"):
        load_checkpoint(future, like(state))


def rewrite_header(path: Path, edit) -> None:
    """Rewrite a checkpoint's JSON header in place, as a hand edit would (the arrays untouched)."""
    with np.load(path, allow_pickle=False) as archive:
        contents = {name: archive[name] for name in archive.files}
    header = json.loads(str(contents.pop("__header__")))
    edit(header)
    np.savez(path, __header__=np.array(json.dumps(header)), **contents)


@pytest.mark.parametrize(
    "edit",
    [
        lambda h: h.update(windows_done=1),
        lambda h: h["info"].update(metrics_bytes=0),
        lambda h: h.update(config_hash="abd"),
    ],
    ids=["windows_done", "info.metrics_bytes", "config_hash"],
)
def test_an_edited_header_is_refused(saved, edit) -> None:
    """Issue 15: the digest covered the arrays only, so an edited ``windows_done`` resumed to a wrong history."""
    path, state = saved
    rewrite_header(path, lambda h: h["info"].setdefault("metrics_bytes", 5))  # give the edits something to change
    with pytest.raises(CheckpointError, match="corrupt or edited checkpoint"):
        load_checkpoint(path, like(state))  # the first rewrite is itself an edit
    save_checkpoint(path, state, config_hash="abc", windows_done=2, info={"metrics_bytes": 5})
    assert load_checkpoint(path, like(state)).windows_done == 2
    rewrite_header(path, edit)
    with pytest.raises(CheckpointError, match="corrupt or edited checkpoint"):
        load_checkpoint(path, like(state))


def test_a_version_1_checkpoint_is_still_read(saved) -> None:
    """Version 1 (before the header was digested): the SHA-256 of the arrays alone."""
    import hashlib

    path, state = saved
    with np.load(path, allow_pickle=False) as archive:
        arrays = [archive[f"leaf_{i:05d}"] for i in range(len(archive.files) - 1)]
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    rewrite_header(path, lambda h: h.update(version=1, digest=digest.hexdigest()))
    assert load_checkpoint(path, like(state)).windows_done == 2
