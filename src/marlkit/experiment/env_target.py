"""A user's own env class in a config: ``env: {target: "my_package.my_module:MyEnv", params: {...}}`` (issue 17,
item 7).

The class is imported through the registry's lazy import (:func:`marlkit.registry.load_target`, the way built-in
tasks are) when the config is read, must subclass :class:`marlkit.envs.base.Env` (or ``MultiAgentEnv``), is built
with ``params`` (unknown keys are refused, naming the ones the class takes; the constructor's defaults are filled
in, so the saved config says everything the run used), and must pass the contract's structural checks
(:func:`marlkit.envs.check.check_shapes`: shapes, dtypes and ``info`` keys, by tracing alone). Each failure is one
line naming ``env.target`` or ``env.params``; run :func:`marlkit.envs.check_env` (``marlkit check-env TARGET``)
for the full check. The module must be importable where the run runs (installed, or on ``PYTHONPATH``).

A run's config hash covers the env's source (:func:`target_source_digest`: the target module's file and those of
the class and its bases in the same top-level package), so a run is not resumed on an edited env.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marlkit.errors import MarlkitError
from marlkit.registry import REQUIRED
from marlkit.schema import ConfigError


def resolve_target(target: object, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(target, params with the class's defaults filled in)`` of a checked user env (module docstring).

    Raises:
        ConfigError, InvalidGameError, NotApplicableError: one line naming ``env.target`` or ``env.params``.
    """
    from marlkit.envs.check import check_shapes, env_parameters, load_env_class, load_env_target

    if not isinstance(target, str) or not target.strip():
        raise ConfigError(f"env.target: expected 'package.module:ClassName', got {target!r}")
    target = target.strip()
    try:
        cls = load_env_class(target, "env.target")
    except MarlkitError as exc:
        raise type(exc)(str(exc)) from None
    defaults = {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in (env_parameters(cls) or {}).items()
        if v is not REQUIRED and _plain(v)
    }
    full = {**defaults, **dict(params)}
    try:
        env = load_env_target(target, full, "env.params of")
    except MarlkitError as exc:
        raise type(exc)(str(exc)) from None
    found = check_shapes(env)
    if found.findings:
        raise ConfigError(f"env.target {target!r}: {found.message()} (run marlkit check-env for the full check)")
    return target, full


def build_target(target: str, params: Mapping[str, Any]) -> Any:
    """The env of a resolved target (what the trainer runs)."""
    from marlkit.envs.check import load_env_target

    return load_env_target(target, params, "env.target")


def target_source_files(target: str) -> dict[str, Path | None]:
    """The source files a user env's results depend on, by module name (None for a module without a file):

    * the module the target names (``package.module`` of ``package.module:ClassName``);
    * the module of every class in the env class's method resolution order whose top-level package is the
      target's (the class itself where it is re-exported from another module of the package, and the user's own
      base classes).

    marlkit's own modules, the standard library and other packages are not included (marlkit's version is in the
    checkpoint's header; a package upgrade is the user's to track)."""
    import inspect
    import sys

    from marlkit.envs.check import load_env_class

    cls = load_env_class(target, "env.target")
    module_name = target.split(":")[0]
    package = module_name.split(".")[0]
    names = [module_name] + [
        c.__module__ for c in inspect.getmro(cls) if c.__module__.split(".")[0] == package and c is not object
    ]
    files: dict[str, Path | None] = {}
    for name in dict.fromkeys(names):
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None)
        files[name] = Path(where) if where else None
    return files


def target_source_digest(target: str) -> str:
    """SHA-256 (hex) of the content of :func:`target_source_files`: each module's name and its file's bytes as they
    are on disk now, so a run resumed after the user edited the env's source is refused (its checkpoint and
    segments carry the old digest, through :func:`marlkit.experiment.config.config_hash`), as a swapped game is.
    A file that cannot be read counts by its name and the error."""
    digest = hashlib.sha256()
    for name, path in sorted(target_source_files(target).items()):
        digest.update(f"{name}\0".encode())
        if path is None:
            digest.update(b"<no file>")
            continue
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as exc:
            digest.update(f"<unreadable: {exc.strerror or exc}>".encode())
    return digest.hexdigest()


def _plain(value: object) -> bool:
    """Whether a default can be written into a config (YAML/JSON data)."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


__all__ = ["build_target", "resolve_target", "target_source_digest", "target_source_files"]
