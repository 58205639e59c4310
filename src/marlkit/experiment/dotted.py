"""Dotted keys into a config mapping: ``learners.0.params.step_size`` names a value of a run config (as YAML
loads it: mappings, lists, scalars). Used by ``marlkit sweep --grid KEY=V1,V2`` and ``marlkit resume RUN --set
KEY=VALUE``; every error is one line naming the option, the key and what exists there."""

from __future__ import annotations

from typing import Any

from marlkit.errors import InvalidGameError


def lookup(config: Any, key: str, option: str) -> Any:
    """The value at dotted path ``key`` of ``config``; raises naming the part that does not exist."""
    node: Any = config
    walked: list[str] = []
    for part in key.split("."):
        if isinstance(node, dict):
            if part not in node:
                known = ", ".join(map(str, node)) or "(none)"
                where = ".".join(walked) or "the config"
                raise InvalidGameError(f"{option} {key}: {where} has no key {part!r}; known keys there: {known}")
            node = node[part]
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise InvalidGameError(
                    f"{option} {key}: {'.'.join(walked)} is a list of {len(node)}; use an index 0..{len(node) - 1}"
                )
            node = node[int(part)]
        else:
            raise InvalidGameError(f"{option} {key}: {'.'.join(walked)} is a value, not a mapping or list")
        walked.append(part)
    return node


def assign(config: Any, key: str, value: Any) -> Any:
    """A copy of ``config`` with ``value`` at dotted path ``key`` (the path exists: :func:`lookup` checked)."""
    head, _, rest = key.partition(".")
    if isinstance(config, list):
        items = list(config)
        items[int(head)] = assign(items[int(head)], rest, value) if rest else value
        return items
    mapping = dict(config)
    mapping[head] = assign(mapping[head], rest, value) if rest else value
    return mapping


def same_type(current: Any, value: Any) -> bool:
    """Whether ``value`` may replace ``current`` (an int may replace a float; booleans only booleans)."""
    if isinstance(current, bool) or isinstance(value, bool):
        return isinstance(current, bool) and isinstance(value, bool)
    if isinstance(current, float):
        return isinstance(value, int | float)
    if current is None:
        return True
    return isinstance(value, type(current))


def scalar(text: str) -> Any:
    """``text`` read as a YAML scalar (``0.05``, ``1e-4``, ``true``, ``boltzmann``), by marlkit's bounded loader."""
    from marlkit.schema import ConfigError, load_yaml

    try:
        value = load_yaml(text.strip())
    except ConfigError:
        return text.strip()
    return text.strip() if value is None else value


def replaced(config: Any, key: str, text: str, option: str) -> tuple[Any, Any, Any]:
    """``(new config, old value, new value)`` with the scalar ``text`` at ``key`` (one-line errors: no such key,
    a mapping or list there, a value of another type)."""
    current = lookup(config, key, option)
    if isinstance(current, dict | list):
        raise InvalidGameError(f"{option} {key}: that key holds a {type(current).__name__}; name a scalar inside")
    value = scalar(text)
    if not same_type(current, value):
        raise InvalidGameError(
            f"{option} {key}: value {text.strip()!r} is a {type(value).__name__}, but the config's {key} is a "
            f"{type(current).__name__} ({current!r})"
        )
    value = float(value) if isinstance(current, float) else value
    return assign(config, key, value), current, value


__all__ = ["assign", "lookup", "replaced", "same_type", "scalar"]
