"""A user's own env class in a config: ``env: {target: "my_package.my_module:MyEnv", params: {...}}`` (issue 17,
item 7).

The class is imported through the registry's lazy import (:func:`marlkit.registry.load_target`, the way built-in
tasks are) when the config is read, must subclass :class:`marlkit.envs.base.Env` (or ``MultiAgentEnv``), is built
with ``params`` (unknown keys are refused, naming the ones the class takes; the constructor's defaults are filled
in, so the saved config says everything the run used), and must pass the contract's structural checks
(:func:`marlkit.envs.check.check_shapes`: shapes, dtypes and ``info`` keys, by tracing alone). Each failure is one
line naming ``env.target`` or ``env.params``; run :func:`marlkit.envs.check_env` (``marlkit check-env TARGET``)
for the full check. The module must be importable where the run runs (installed, or on ``PYTHONPATH``).
"""

from __future__ import annotations

from collections.abc import Mapping
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


def _plain(value: object) -> bool:
    """Whether a default can be written into a config (YAML/JSON data)."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


__all__ = ["build_target", "resolve_target"]
