"""The persistent compilation cache every entry point turns on (:mod:`marlkit.compile_cache`)."""

from __future__ import annotations

import logging
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.cli import main
from marlkit.compile_cache import ENV_VAR, OFF, cache_folder, default_folder, enable_compilation_cache


@pytest.fixture
def restore_jax_cache_config(monkeypatch: pytest.MonkeyPatch):
    """Tests here point the cache elsewhere; put the session's settings (tests/conftest.py) back afterwards."""
    for name in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"):
        monkeypatch.delenv(name, raising=False)  # monkeypatch puts the session's value back
    before = {
        name: getattr(jax.config, name)
        for name in (
            "jax_compilation_cache_dir",
            "jax_persistent_cache_min_compile_time_secs",
            "jax_enable_compilation_cache",
        )
    }
    yield
    for name, value in before.items():
        jax.config.update(name, value)


def test_the_folder_is_the_default_moved_by_the_variable_or_off(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    assert cache_folder() == default_folder() == Path.home() / ".cache" / "marlkit" / "jax"
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "jax-own"))  # JAX's own setting is honoured
    assert cache_folder() == tmp_path / "jax-own"
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "moved"))
    assert cache_folder() == tmp_path / "moved"
    for value in (*OFF, "OFF", " Off "):
        monkeypatch.setenv(ENV_VAR, value)
        assert cache_folder() is None


@pytest.mark.usefixtures("restore_jax_cache_config")
def test_enabling_sets_jax_and_the_environment_of_later_processes(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import os

    monkeypatch.setenv(ENV_VAR, str(tmp_path / "jax"))
    assert enable_compilation_cache(0.25) == tmp_path / "jax" and (tmp_path / "jax").is_dir()
    assert jax.config.jax_compilation_cache_dir == str(tmp_path / "jax")
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.25
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "jax")  # what a worker process reads on import
    assert os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0.25"


@pytest.mark.usefixtures("restore_jax_cache_config")
def test_off_or_an_unwritable_folder_changes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    before = jax.config.jax_compilation_cache_dir
    monkeypatch.setenv(ENV_VAR, "off")
    assert enable_compilation_cache() is None
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(ENV_VAR, str(blocker / "jax"))
    assert enable_compilation_cache() is None
    assert jax.config.jax_compilation_cache_dir == before


@pytest.mark.usefixtures("restore_jax_cache_config")
def test_every_cli_command_turns_the_cache_on(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "cli"))
    assert main(["games", "--json"]) == 0  # the app's callback runs before any command
    capsys.readouterr()
    assert jax.config.jax_compilation_cache_dir == str(tmp_path / "cli")


def _cache_probe(x: jax.Array) -> jax.Array:
    return jnp.cumsum(jnp.tanh(x @ x.T + 0.1) ** 3, axis=0) / 7.0


@pytest.mark.usefixtures("restore_jax_cache_config")
def test_a_program_loaded_from_the_cache_gives_the_bits_of_a_fresh_compile(caplog: pytest.LogCaptureFixture) -> None:
    x = jnp.linspace(-2.0, 2.0, 64, dtype=jnp.float32).reshape(8, 8)
    jax.config.update("jax_enable_compilation_cache", False)
    jax.clear_caches()
    fresh = np.asarray(jax.jit(_cache_probe)(x))
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # the probe compiles fast: write it anyway
    jax.clear_caches()
    jax.jit(_cache_probe)(x)  # written to the session's cache folder (or read, if an earlier run wrote it)
    jax.clear_caches()
    with jax.log_compiles(), caplog.at_level(logging.WARNING):
        loaded = np.asarray(jax.jit(_cache_probe)(x))
    assert "Persistent compilation cache hit for 'jit__cache_probe'" in caplog.text
    assert fresh.tobytes() == loaded.tobytes()
