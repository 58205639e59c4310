"""Learner hyper-parameters as plain YAML/JSON values, and back.

A tabular learner is a frozen dataclass of hyper-parameters (:mod:`marlkit.agents.tabular.base`). A config names
a registered learner (``marlkit.agents.tabular.LEARNERS``, built for the game with its defaults) and overrides
fields by name; this module converts each value by the field's type annotation:

* a number, string, boolean or ``null`` where the annotation allows one;
* a **schedule** (step sizes, exploration rates): a number (a constant) or a mapping ``{type: NAME, ...}`` with
  ``NAME`` in :data:`SCHEDULES` and that schedule's fields, e.g. ``{type: inverse-time, offset: 10, stretch: 1e4}``;
* an **exploration**: ``greedy``, or ``{type: epsilon-greedy, epsilon: SCHEDULE}``, or
  ``{type: boltzmann, temperature: SCHEDULE}`` (:data:`EXPLORATIONS`);
* a tuple: a list of numbers (or of lists of numbers).

Fields the registry fills from the game (payoff tables, the game itself, stage solvers) are not settable.
:func:`learner_params` is the inverse: every settable field of a built learner as plain values, so the resolved
config saved with a run rebuilds the same learner.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from marlkit.agents.tabular.base import (
    Boltzmann,
    Constant,
    EpsilonGreedy,
    Exploration,
    ExponentialDecay,
    Greedy,
    InverseTime,
    PowerCount,
    Schedule,
)
from marlkit.errors import LearnerConfigError, MarlkitError

SCHEDULES: dict[str, type] = {
    "constant": Constant,
    "power-count": PowerCount,
    "exponential-decay": ExponentialDecay,
    "inverse-time": InverseTime,
}
"""Schedule ``type`` names in a config and the classes they build (:mod:`marlkit.agents.tabular.base`)."""

EXPLORATIONS: dict[str, type] = {"greedy": Greedy, "epsilon-greedy": EpsilonGreedy, "boltzmann": Boltzmann}
"""Exploration ``type`` names in a config and the classes they build."""


class ConfigError(MarlkitError, ValueError):
    """An experiment config that cannot be used: an unknown key, a wrong type, an impossible value."""


Converter = Callable[[Any, str], Any]


class _NotThisFormError(Exception):
    """A converter does not accept the value (another part of a union may)."""


# ------------------------------------------------------------------------------------------- converters


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _NotThisFormError
    return float(value)


def _integer(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _NotThisFormError
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _NotThisFormError
    return value


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _NotThisFormError
    return value


def _none(value: Any, path: str) -> None:
    if value is not None:
        raise _NotThisFormError


def _typed(value: Any, path: str, registry: dict[str, type], what: str) -> Any:
    """A ``{type: NAME, field: value, ...}`` mapping (or a bare ``NAME``) built into ``registry[NAME]``."""
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, Mapping):
        raise _NotThisFormError
    kind = value.get("type")
    if kind not in registry:
        raise ConfigError(f"{path}.type: expected one of {', '.join(registry)} ({what}), got {kind!r}")
    cls = registry[kind]
    hints = typing.get_type_hints(cls)
    allowed = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for key, item in value.items():
        if key == "type":
            continue
        if key not in allowed:
            raise ConfigError(unknown_key(f"{path}.{key}", key, allowed, f"fields of {kind}"))
        kwargs[key] = convert(item, hints[key], f"{path}.{key}")
    missing = [f.name for f in dataclasses.fields(cls) if f.init and f.name not in kwargs and _required(f)]
    if missing:
        raise ConfigError(f"{path}: {kind} needs {', '.join(missing)} (fields: {', '.join(allowed)})")
    try:
        return cls(**kwargs)
    except LearnerConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _schedule(value: Any, path: str) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Constant(float(value))
    if isinstance(value, str):
        raise _NotThisFormError  # a bare name is not a schedule: every schedule has parameters
    return _typed(value, path, SCHEDULES, "a schedule")


def _exploration(value: Any, path: str) -> Any:
    return _typed(value, path, EXPLORATIONS, "an exploration")


def _tuple_of(element: Converter, length: int | None) -> Converter:
    def convert_list(value: Any, path: str) -> tuple:
        if not isinstance(value, list | tuple) or (length is not None and len(value) != length):
            raise _NotThisFormError
        return tuple(element(item, f"{path}[{i}]") for i, item in enumerate(value))

    return convert_list


_SIMPLE: dict[Any, tuple[Converter, str]] = {
    type(None): (_none, "null"),
    float: (_number, "a number"),
    int: (_integer, "an integer"),
    str: (_string, "a string"),
    bool: (_boolean, "true or false"),
    Schedule: (_schedule, f"a schedule (a number or {{type: {'|'.join(SCHEDULES)}, ...}})"),
    Exploration: (_exploration, f"an exploration ({{type: {'|'.join(EXPLORATIONS)}, ...}})"),
}


def _part(hint: Any) -> tuple[Converter, str] | None:
    """The converter of one member of a union annotation, or None where a config cannot give a value."""
    if hint in _SIMPLE:
        return _SIMPLE[hint]
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            inner = _part(args[0])
            return None if inner is None else (_tuple_of(inner[0], None), f"a list of {_plural(inner[1])}")
        inners = [_part(a) for a in args]
        if inners and all(i is not None and i[0] is inners[0][0] for i in inners):
            return _tuple_of(inners[0][0], len(args)), f"a list of {len(args)} {_plural(inners[0][1])}"
    return None


def _plural(description: str) -> str:
    if description.startswith("a list of "):
        return "lists of " + description.removeprefix("a list of ")
    return {"a number": "numbers", "an integer": "integers"}.get(description, f"({description})")


def _parts(hint: Any) -> list[tuple[Converter, str]] | None:
    union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    members = typing.get_args(hint) if union else (hint,)
    parts = [_part(m) for m in members]
    return None if any(p is None for p in parts) else parts  # type: ignore[return-value]


def convert(value: Any, hint: Any, path: str) -> Any:
    """``value`` (plain YAML data) as a hyper-parameter of annotation ``hint``; :class:`ConfigError` naming
    ``path`` and the accepted forms if no member of the annotation accepts it."""
    parts = _parts(hint)
    if parts is None:
        raise ConfigError(f"{path}: this field is set from the game and cannot be given in a config")
    for converter, _ in parts:
        try:
            return converter(value, path)
        except _NotThisFormError:
            continue
    descriptions = [description for _, description in parts]
    if _SIMPLE[Schedule][1] in descriptions and "a number" in descriptions:
        descriptions.remove("a number")  # a schedule's description already says "a number"
    accepted = " or ".join(descriptions)
    raise ConfigError(f"{path}: expected {accepted}, got {value!r}")


# ---------------------------------------------------------------------------------------------- learners


def settable_fields(learner: Any) -> dict[str, Any]:
    """The fields of a learner a config may set, with their type annotations (in declaration order)."""
    hints = typing.get_type_hints(type(learner))
    return {
        f.name: hints[f.name]
        for f in dataclasses.fields(learner)
        if f.init and not f.name.startswith("_") and _parts(hints[f.name]) is not None
    }


def configure(learner: Any, params: Mapping[str, Any], path: str, name: str) -> Any:
    """``learner`` with the fields in ``params`` replaced (converted by annotation); errors name ``path``."""
    fields = settable_fields(learner)
    values = {}
    for key, value in params.items():
        if key not in fields:
            raise ConfigError(unknown_key(f"{path}.{key}", key, list(fields), f"parameters of {name}"))
        values[key] = convert(value, fields[key], f"{path}.{key}")
    try:
        return dataclasses.replace(learner, **values)
    except MarlkitError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def to_plain(value: Any) -> Any:
    """A hyper-parameter value as plain YAML data (the inverse of :func:`convert`)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    if isinstance(value, Constant):
        return float(value.value)
    for registry in (SCHEDULES, EXPLORATIONS):
        for name, cls in registry.items():
            if type(value) is cls:
                fields = {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
                return {"type": name, **fields}
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) as a config value")


def learner_params(learner: Any) -> dict[str, Any]:
    """Every settable hyper-parameter of ``learner`` as plain data (defaults included)."""
    return {name: to_plain(getattr(learner, name)) for name in settable_fields(learner)}


# ------------------------------------------------------------------------------------------------ shared


def unknown_key(path: str, key: str, allowed: list[str], what: str) -> str:
    """The message for an unknown key: where, a close match if any, and every allowed key."""
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = ", ".join(allowed) if allowed else "none"
    return f"{path}: unknown key {key!r}{hint}; allowed {what}: {listed}"
