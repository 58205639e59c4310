"""Settings declared once, on frozen dataclasses: type, default, range, choices and a one-line doc per field.

A field declared with :func:`setting` carries its rules in ``field.metadata``; everything else reads them:

* :func:`parse` builds a dataclass from plain YAML/JSON data by its annotations — exact types (no string to
  number coercion, except YAML 1.1's ``1e-4``, which ``yaml.safe_load`` reads as a string), unknown keys
  rejected with a did-you-mean, every error one line naming the full key path (``learners[1].params.lr``);
* :func:`read` converts one value by an annotation (unions, ``tuple[X, ...]``, ``Mapping[str, X]``, nested
  dataclasses, and *forms*: tagged families such as schedules, ``{type: NAME, ...}``);
* :func:`check` applies a field's range / choices / own check to a value, and :func:`validate` applies every
  field's to a built object (learners call it in ``__post_init__``, so ``IPPO(lr=-1)`` and a config with
  ``lr: -1`` fail alike);
* :func:`dump` writes a dataclass back as plain data (what :func:`parse` reads), and :func:`rows` describes
  every key for the documentation (``docs/experiments.md`` is checked against it by a test).

This module is a leaf like :mod:`marlkit.registry`: the floors import it, it imports no floor.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Box:
...     side: float = setting(1.0, doc="edge length", range=(0, None), open="low")
>>> parse(Box, {"side": 2})
Box(side=2.0)
>>> parse(Box, {"sid": 2}, "box")
Traceback (most recent call last):
...
marlkit.schema.ConfigError: box.sid: unknown key 'sid' (did you mean 'side'?); allowed keys of box: side
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import reprlib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml

from marlkit.errors import MarlkitError
from marlkit.registry import did_you_mean

KEY = "marlkit.schema"
"""The ``field.metadata`` key under which :func:`setting` stores a field's :class:`Rules`."""


class ConfigError(MarlkitError, ValueError):
    """A config that cannot be used: an unknown key, a wrong type, an impossible value."""


@dataclass(frozen=True)
class Rules:
    """What a field accepts beyond its annotation, and its doc (the keywords of :func:`setting`).

    Attributes:
        doc: one line for the documentation.
        range: ``(low, high)`` bounds of a number (or of each number of a tuple); ``None`` for no bound (a range
            of ``(None, None)`` asks for a finite number).
        open: which bounds are strict: ``"low"``, ``"high"`` or ``"both"`` (default: both inclusive).
        choices: the strings the field may take. what: the noun in messages (``"a discount"``).
        nonempty: a string or tuple must not be empty.
        check: ``check(value, path) -> value`` for a rule the others cannot say (raises :class:`ConfigError`).
        expected: what the field accepts, in words, in place of the generated description.
        default_doc: the default as the documentation says it, where it is computed (``"steps / 100"``).
        omit_none: :func:`dump` leaves the key out when it is None. null_is_default: ``null`` means the default.
        dump: how :func:`dump` writes the value (default: plain data).
    """

    doc: str = ""
    range: tuple[float | None, float | None] | None = None
    open: str = ""
    choices: tuple[str, ...] | None = None
    what: str = ""
    nonempty: bool = False
    check: Callable[[Any, str], Any] | None = None
    expected: str | None = None
    default_doc: str | None = None
    omit_none: bool = False
    null_is_default: bool = False
    dump: Callable[[Any], Any] | None = None


def setting(
    default: Any = dataclasses.MISSING, *, default_factory: Callable[[], Any] | None = None, **rules: Any
) -> Any:
    """A dataclass field (``default`` or ``default_factory``; neither: a required key) with its :class:`Rules`."""
    if rules.get("choices") is not None:
        rules["choices"] = tuple(rules["choices"])
    metadata = MappingProxyType({KEY: Rules(**rules)})
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def rules_of(f: dataclasses.Field) -> Rules:
    """The rules of a field (empty ones for a field declared without :func:`setting`)."""
    return f.metadata.get(KEY, Rules())


@dataclass(frozen=True)
class Form:
    """A family of dataclasses a value names by a ``type`` key: ``{type: inverse-time, offset: 10}``.

    Attributes:
        description: how messages name the family (``"a schedule"``).
        tags: ``type`` name -> class.
        number: the class a bare number builds (one field: a constant schedule), or None.
        bare: whether a bare name (``greedy``) builds the class with its defaults.
    """

    description: str
    tags: Mapping[str, type]
    number: type | None = None
    bare: bool = False

    def text(self) -> str:
        number = "a number or " if self.number is not None else ""
        return f"{self.description} ({number}{{type: {'|'.join(self.tags)}, ...}})"


Forms = Mapping[Any, Form]


class _MismatchError(Exception):
    """The value is not of this annotation's form (another member of a union may accept it)."""


_SCIENTIFIC = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)[eE][-+]?\d+$")

SHOWN_CHARS = 80
"""How many characters of a value an error message shows (:func:`shown`): a longer value is cut with ``...``."""


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters (with ``...`` and the full length), so an error message about a
    600 KB value stays one short line. Containers are cut before ``repr`` walks them (a YAML alias bomb's value is
    never expanded)."""
    if isinstance(value, str):
        text = repr(value[: limit + 1])
        return text if len(value) <= limit else f"{text[: limit - 1]}...' ({len(value)} characters)"
    text = _REPR.repr(value)  # bounded in depth and width: never walks a huge or deeply nested value
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple = 3, 6, 8, 8
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = SHOWN_CHARS, SHOWN_CHARS, 40


# --------------------------------------------------------------------------------------------- describing


def _bounds(rules: Rules) -> str:
    if rules.range is None:
        return ""
    low, high = rules.range
    low_open, high_open = rules.open in ("low", "both"), rules.open in ("high", "both")
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{_num(low)}, {_num(high)}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {_num(low)}"
    if high is not None:
        return f" {'<' if high_open else '<='} {_num(high)}"
    return ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


def _members(hint: Any) -> tuple[Any, ...]:
    union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    return typing.get_args(hint) if union else (hint,)


def describe(hint: Any, rules: Rules = Rules(), forms: Forms | None = None) -> str:
    """What ``hint`` accepts, in words (``"an integer >= 1 or null"``)."""
    if rules.expected is not None:
        return rules.expected
    texts = [_describe_one(m, rules, forms or {}) for m in _members(hint)]
    kept = [t for t in texts if not any(t != other and t in other for other in texts)]
    return " or ".join(dict.fromkeys(kept))


def _describe_one(hint: Any, rules: Rules, forms: Forms) -> str:
    bounds = _bounds(rules)
    if hint is type(None):
        return "null"
    if hint is bool:
        return "true or false"
    if hint is int:
        return f"{rules.what or 'an integer'}{bounds}"
    if hint is float:
        return f"{rules.what or 'a number'}{bounds}"
    if hint is str:
        if rules.choices is not None:
            return f"one of {', '.join(rules.choices)}"
        return "a non-empty string" if rules.nonempty else "a string"
    if hint is Any:
        return "any value"
    if hint in forms:
        return forms[hint].text() + (f" with values{bounds}" if bounds else "")
    if is_section(hint):
        return "a mapping"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        inner = Rules(range=rules.range, open=rules.open, what=rules.what)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_plural(_describe_one(args[0], inner, forms))}"
        return f"a list of {len(args)} {_plural(_describe_one(args[0], inner, forms))}"
    if origin in (Mapping, dict):
        return "a mapping"
    return getattr(hint, "__name__", str(hint))


def _plural(text: str) -> str:
    for single, plural in (("a number", "numbers"), ("an integer", "integers"), ("a list of ", "lists of ")):
        if text.startswith(single):
            return plural + text[len(single) :]
    return f"({text})"


# ---------------------------------------------------------------------------------------------- reading


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def settable(cls: type, forms: Forms | None = None) -> dict[str, tuple[dataclasses.Field, Any]]:
    """The fields of dataclass ``cls`` that data may set, with their annotations (declaration order): the
    ``init`` fields not starting with ``_`` whose annotation :func:`read` can fill."""
    hints = typing.get_type_hints(cls)
    return {
        f.name: (f, hints[f.name])
        for f in dataclasses.fields(cls)
        if f.init and not f.name.startswith("_") and _readable(hints[f.name], forms or {})
    }


def _readable(hint: Any, forms: Forms) -> bool:
    for member in _members(hint):
        if member in (type(None), bool, int, float, str, Any) or member in forms or is_section(member):
            continue
        origin, args = typing.get_origin(member), typing.get_args(member)
        if origin is tuple and all(a is Ellipsis or _readable(a, forms) for a in args):
            continue
        if origin in (Mapping, dict) and len(args) == 2 and args[0] is str and _readable(args[1], forms):
            continue
        return False
    return True


def is_section(cls: Any) -> bool:
    """Whether ``cls`` is a config section: a dataclass whose every ``init`` field is a :func:`setting`."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        return False
    return all(KEY in f.metadata for f in dataclasses.fields(cls) if f.init)


def unknown_key(path: str, key: object, allowed: Sequence[str], what: str) -> str:
    """The message for an unknown key: where, a close match if any, and every allowed key."""
    listed = ", ".join(allowed) if allowed else "none"
    close = did_you_mean(key, allowed) if isinstance(key, str) and len(key) <= SHOWN_CHARS else ""
    return f"{path}: unknown key {shown(key)}{close}; allowed {what}: {listed}"


def key_text(key: object) -> str:
    """A key as a key path shows it: itself, or cut by :func:`shown` when it is long (or not a string)."""
    return key if isinstance(key, str) and len(key) <= SHOWN_CHARS else shown(key)


def mapping(value: Any, path: str, what: str) -> Mapping[str, Any]:
    """``value`` as a mapping with string keys; :class:`ConfigError` naming ``path`` otherwise."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path or 'config'}: expected a mapping ({what}), got {shown(value)}")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"{path or 'config'}: keys must be strings, got {shown(key)}")
    return value


def only(data: Mapping[str, Any], allowed: Sequence[str], path: str, what: str) -> None:
    """:class:`ConfigError` for the first key of ``data`` not in ``allowed``."""
    for key in data:
        if key not in allowed:
            raise ConfigError(unknown_key(_join(path, key_text(key)), key, allowed, what))


def read(hint: Any, value: Any, path: str, rules: Rules = Rules(), forms: Forms | None = None) -> Any:
    """``value`` (plain data) as annotation ``hint``; :class:`ConfigError` naming ``path`` and what is accepted.

    Type only: :func:`check` applies the field's range and choices."""
    forms = forms or {}
    plain_first = sorted(_members(hint), key=lambda m: m not in (type(None), bool, int, float, str))
    for member in plain_first:
        try:
            return _read_one(member, value, path, rules, forms)
        except _MismatchError:
            continue
    raise ConfigError(f"{path}: expected {describe(hint, rules, forms)}, got {shown(value)}")


def _read_one(hint: Any, value: Any, path: str, rules: Rules, forms: Forms) -> Any:
    if hint is Any:
        return value
    if hint is type(None):
        if value is None:
            return None
        raise _MismatchError
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _MismatchError
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _MismatchError
    if hint is float:
        if isinstance(value, str) and _SCIENTIFIC.match(value.strip()):
            return float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _MismatchError
    if hint is str:
        if isinstance(value, str):
            return value
        raise _MismatchError
    if hint in forms:
        return _read_form(forms[hint], value, path, forms)
    if is_section(hint):
        if isinstance(value, hint):
            return value
        shorthand = getattr(hint, "SHORTHAND", None)
        if shorthand is not None and value is not None and not isinstance(value, Mapping | list):
            value = {shorthand: value}
        if not isinstance(value, Mapping):
            raise _MismatchError
        return parse(hint, value, path, forms)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _MismatchError
        inner = Rules(range=rules.range, open=rules.open, what=rules.what)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(read(args[0], v, f"{path}[{i}]", inner, forms) for i, v in enumerate(value))
        if len(value) != len(args):
            raise _MismatchError
        return tuple(read(a, v, f"{path}[{i}]", inner, forms) for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if origin in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise _MismatchError
        data = mapping(value, path, "a mapping")
        return MappingProxyType({k: read(args[1], v, _join(path, key_text(k)), rules, forms) for k, v in data.items()})
    raise ConfigError(f"{path}: this field cannot be given in a config")


def _read_form(form: Form, value: Any, path: str, forms: Forms) -> Any:
    if form.number is not None and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return form.number(float(value))
        except MarlkitError as exc:  # the number is out of the form's own range (NaN, inf): name the key
            raise ConfigError(f"{path}: {exc}") from None
    if isinstance(value, str):
        if not form.bare:
            raise _MismatchError  # a bare name is not accepted: every member has parameters
        value = {"type": value}
    if not isinstance(value, Mapping):
        raise _MismatchError
    kind = value.get("type")
    if kind not in form.tags:
        raise ConfigError(
            f"{path}.type: expected one of {', '.join(form.tags)} ({form.description}), got {shown(kind)}"
            f"{did_you_mean(kind, form.tags) if isinstance(kind, str) and len(kind) <= SHOWN_CHARS else ''}"
        )
    rest = {k: v for k, v in value.items() if k != "type"}
    return parse(form.tags[str(kind)], rest, path, forms, what=f"fields of {kind}")


def check(rules: Rules, value: Any, path: str, hint: Any = None, forms: Forms | None = None) -> Any:
    """``value`` if it meets ``rules`` (range of each number, choices, non-empty, the field's own check);
    :class:`ConfigError` naming ``path`` (and, given the field's annotation ``hint``, what it accepts)."""
    if value is None:
        return value
    if rules.choices is not None and isinstance(value, str) and value not in rules.choices:
        noun = f"{rules.what}, " if rules.what else ""
        raise ConfigError(
            f"{path}: expected {noun}one of {', '.join(rules.choices)}, got {shown(value)}"
            f"{did_you_mean(value, rules.choices)}"
        )
    if rules.nonempty and isinstance(value, str | tuple) and not value:
        raise ConfigError(
            f"{path}: expected a non-empty {'string' if isinstance(value, str) else 'list'}, got {shown(value)}"
        )
    if rules.range is not None:
        for where, x, limit in _numbers(value, path):
            if not _within(x, rules, limit=limit):
                kind = "an integer" if isinstance(x, int) else "a number"
                accepted = describe(hint, rules, forms) if hint is not None and where == path else None
                which = "limit" if limit else "first value"
                got = shown(x) if limit is None else f"a schedule whose {which} is {shown(x)}"
                raise ConfigError(f"{where}: expected {accepted or (rules.what or kind) + _bounds(rules)}, got {got}")
    if rules.check is not None:
        value = rules.check(value, path)
    return value


def _numbers(value: Any, path: str) -> list[tuple[str, float, bool | None]]:
    """Every number ``value`` holds, with where it sits, and whether it is the limit of a schedule (None: not a
    schedule's). A schedule (an object with ``span() -> (first, limit)``, monotone in the update count) stands
    for every value it takes: its first value and its limit as the count grows, so a field's range holds for the
    whole schedule (:func:`_within`)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [(path, value, None)]
    if isinstance(value, tuple):
        return [item for i, v in enumerate(value) for item in _numbers(v, f"{path}[{i}]")]
    if isinstance(value, Mapping):
        return [item for k, v in value.items() for item in _numbers(v, _join(path, k))]
    span = getattr(value, "span", None)
    if callable(span) and not isinstance(value, type):
        first, limit = span()
        return [(path, first, None)] if first == limit else [(path, first, False), (path, limit, True)]
    return []


def _within(x: float, rules: Rules, *, limit: bool | None = None) -> bool:
    """Whether ``x`` lies in the range (finite, always). A schedule's limit (``limit`` True) is only approached,
    never taken, so it may sit on an open bound: a step size decaying to 0 meets ``> 0``."""
    assert rules.range is not None
    low, high = rules.range
    if isinstance(x, float) and not math.isfinite(x):
        return False
    open_low = rules.open in ("low", "both") and not limit
    open_high = rules.open in ("high", "both") and not limit
    if low is not None and (x <= low if open_low else x < low):
        return False
    return not (high is not None and (x >= high if open_high else x > high))


def parse(cls: type, data: Any, path: str = "", forms: Forms | None = None, *, what: str | None = None) -> Any:
    """An instance of dataclass ``cls`` from the mapping ``data``: every key read by its field's annotation and
    checked by its rules; unknown keys, missing required keys and wrong values are :class:`ConfigError` naming
    the key's full path (``path`` is where ``data`` sits). A :class:`MarlkitError` the class itself raises gets
    ``path`` in front."""
    what = what or (f"keys of {path}" if path else "top-level keys")
    fields = settable(cls, forms)
    data = mapping(data, path, what)
    only(data, list(fields), path, what)
    values = {}
    for name, (f, hint) in fields.items():
        key, rules = _join(path, name), rules_of(f)
        if name in data and not (data[name] is None and rules.null_is_default):
            values[name] = check(rules, read(hint, data[name], key, rules, forms), key, hint, forms)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key}: missing (required)")
    return build(cls, values, path)


def read_field(cls: type, name: str, value: Any, path: str, forms: Forms | None = None) -> Any:
    """``value`` read and checked as the field ``name`` of dataclass ``cls`` would be by :func:`parse`."""
    f, hint = settable(cls, forms)[name]
    rules = rules_of(f)
    return check(rules, read(hint, value, path, rules, forms), path, hint, forms)


def build(cls: type, values: Mapping[str, Any], path: str) -> Any:
    """``cls(**values)`` with a :class:`MarlkitError` it raises prefixed by ``path``."""
    try:
        return cls(**values)
    except MarlkitError as exc:
        raise type(exc)(f"{path}: {exc}" if path else str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path or cls.__name__}: {exc}") from None


def validate(obj: Any, error: type[MarlkitError] = ConfigError) -> None:
    """Check every field of the dataclass ``obj`` against its rules; ``error`` names ``Class.field``.

    Learners call it first in ``__post_init__``, so the rules hold however they are built."""
    name, hints = type(obj).__name__, typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        rules = rules_of(f)
        if rules.range is None and rules.choices is None and not rules.nonempty and rules.check is None:
            continue
        value, path = getattr(obj, f.name), f"{name}.{f.name}"
        if not _conforms(hints[f.name], value):
            raise error(f"{path}: expected {describe(hints[f.name], rules)}, got {shown(value)}")
        try:
            check(rules, value, path, hints[f.name])
        except ConfigError as exc:
            raise error(str(exc)) from None


def _conforms(hint: Any, value: Any) -> bool:
    """Whether a Python value fits the annotation where it can be told (numbers, strings, tuples, None)."""
    for member in _members(hint):
        if member is type(None):
            ok = value is None
        elif member is bool:
            ok = isinstance(value, bool)
        elif member is int:
            ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        elif member is float:
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        elif member is str:
            ok = isinstance(value, str)
        elif typing.get_origin(member) is tuple:
            args = typing.get_args(member)
            ok = isinstance(value, tuple) and (
                all(_conforms(args[0], v) for v in value)
                if len(args) == 2 and args[1] is Ellipsis
                else len(args) == len(value) and all(_conforms(a, v) for a, v in zip(args, value, strict=True))
            )
        else:
            ok = True  # a protocol or class: the owner checks it
        if ok:
            return True
    return False


# ---------------------------------------------------------------------------------------------- YAML

MAX_YAML_BYTES = 1 << 20
"""The largest YAML text :func:`load_yaml` reads (1 MiB; a config is a few hundred bytes)."""

MAX_YAML_NODES = 100_000
"""The most nodes a YAML document may hold once its aliases are expanded (a 450-byte alias bomb expands to
billions; a config has hundreds)."""

MAX_YAML_DEPTH = 64
"""The deepest nesting of mappings and lists a YAML document may have."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses duplicate keys (YAML forbids them; PyYAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # an unhashable key: the constructor reports it
            if duplicate:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {shown(key)} (line {mark.line + 1})", mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper that knows the loader's exponent rule, so it quotes a string such as ``'1e5'`` (a
    name) that :func:`load_yaml` would otherwise read back as a number."""


# YAML 1.2 reads 1e-4 and 1e3 as numbers, YAML 1.1 (PyYAML) as strings: configs are read the way users mean them.
for _cls in (_BoundedLoader, _Dumper):
    _cls.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )


def dump_yaml(data: Any) -> str:
    """Plain data as YAML text that :func:`load_yaml` reads back to the same data (block style, keys in order,
    unicode kept; strings that look like exponents quoted)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes ``root`` holds with every alias expanded (memoised per node, so an alias bomb is measured
    without being expanded); :class:`ConfigError` for a document nested deeper than :data:`MAX_YAML_DEPTH` or one
    whose anchors refer to themselves."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ConfigError("an anchor refers to itself (a recursive YAML structure)")
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(f"nested deeper than {MAX_YAML_DEPTH} levels")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
                if total > MAX_YAML_NODES:
                    break
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > MAX_YAML_NODES:
                    break
        open_nodes.discard(key)
        sizes[key] = total
        return total

    return size(root, 0)


def _check_depth(text: str) -> None:
    """:class:`ConfigError` as soon as the YAML event stream opens more than :data:`MAX_YAML_DEPTH` nested
    mappings or lists: read event by event, so a 5,000-deep document stops at level 65 (composing it first costs
    seconds and Python's recursion). Syntax errors are left to the loader's pass, which names their line."""
    try:
        events = _BoundedLoader(text)
    except yaml.YAMLError:  # e.g. a control character PyYAML's reader refuses: the loader's pass names it
        return
    depth = 0
    try:
        while events.check_event():
            event = events.get_event()
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise ConfigError(f"nested deeper than {MAX_YAML_DEPTH} levels")
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return
    finally:
        events.dispose()


def _not_yaml(exc: yaml.YAMLError) -> ConfigError:
    """One line for a YAML error: where (line, column) and PyYAML's problem."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ConfigError(f"not valid YAML{where}: {str(problem)[:200]}")


def load_yaml(text: str) -> Any:
    """YAML text as plain data, with PyYAML's safe loader and limits that keep a hostile file harmless: at most
    :data:`MAX_YAML_BYTES` of text, :data:`MAX_YAML_NODES` nodes once aliases are expanded (alias bombs), nesting
    :data:`MAX_YAML_DEPTH` deep, no recursive anchors, no duplicate keys. :class:`ConfigError` (without a source:
    the caller prefixes it) otherwise, naming the line of a syntax error.

    YAML 1.1 (PyYAML) reads ``1e-4`` (no dot) as a string; this loader reads it, as YAML 1.2 does, as the number it
    looks like (``lr: 1e-4``, ``epsilon: 1e-1``), and :func:`read` also accepts such a string where a number is
    expected (configs given as Python mappings)."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_YAML_BYTES:
        raise ConfigError(f"{size} bytes of YAML; a config may have at most {MAX_YAML_BYTES}")
    _check_depth(text)
    try:
        loader = _BoundedLoader(text)  # its reader refuses control characters at once
    except yaml.YAMLError as exc:
        raise _not_yaml(exc) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_YAML_NODES:
            raise ConfigError(
                f"more than {MAX_YAML_NODES} values once its aliases (*name) are expanded; write the config out"
            )
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _not_yaml(exc) from None
    except RecursionError:
        raise ConfigError(f"nested deeper than {MAX_YAML_DEPTH} levels") from None
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------------------------- writing


def plain(value: Any, forms: Forms | None = None) -> Any:
    """``value`` as plain YAML data: mappings to dicts, tuples to lists, dataclasses by :func:`dump`."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {k: plain(v, forms) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v, forms) for v in value]
    for form in (forms or {}).values():
        if form.number is not None and type(value) is form.number:
            (only_field,) = dataclasses.fields(form.number)
            return float(getattr(value, only_field.name))
        for tag, cls in form.tags.items():
            if type(value) is cls:
                return {"type": tag, **dump(value, forms)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dump(value, forms)
    raise TypeError(f"cannot write {shown(value)} ({type(value).__name__}) as a config value")


def dump(obj: Any, forms: Forms | None = None) -> dict[str, Any]:
    """Every settable field of the dataclass ``obj`` as plain data, in declaration order (what :func:`parse`
    reads back)."""
    data = {}
    for name, (f, _) in settable(type(obj), forms).items():
        rules, value = rules_of(f), getattr(obj, name)
        if value is None and rules.omit_none:
            continue
        data[name] = rules.dump(value) if rules.dump is not None else plain(value, forms)
    return data


# ---------------------------------------------------------------------------------------------- documenting


def rows(cls: type, prefix: str = "", forms: Forms | None = None) -> list[tuple[str, str, str, str]]:
    """``(key, accepted values, default, doc)`` of every key of ``cls`` (nested sections as ``a.b``), as the
    documentation's tables list them."""
    out = []
    for name, (f, hint) in settable(cls, forms).items():
        rules, key = rules_of(f), _join(prefix, name)
        out.append((f"`{key}`", describe(hint, rules, forms), default_text(f, forms), rules.doc))
        members = [m for m in _members(hint) if is_section(m)]
        if len(members) == 1 and f.default_factory is not dataclasses.MISSING:
            out += rows(members[0], key, forms)
    return out


def default_text(f: dataclasses.Field, forms: Forms | None = None) -> str:
    """A field's default as the documentation writes it (``required`` for a key without one)."""
    rules = rules_of(f)
    if rules.default_doc is not None:
        return rules.default_doc
    if f.default is not dataclasses.MISSING:
        text = yaml.safe_dump(plain(f.default, forms), default_flow_style=True, sort_keys=False, width=10_000)
        return f"`{text.strip().removesuffix('...').strip()}`"
    return "see below" if f.default_factory is not dataclasses.MISSING else "required"


def table(cls: type, prefix: str = "", forms: Forms | None = None) -> str:
    """:func:`rows` as a Markdown table."""
    lines = ["| key | accepted values | default | meaning |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(cell.replace('|', '&#124;') for cell in row)} |" for row in rows(cls, prefix, forms)]
    return "\n".join(lines) + "\n"


__all__ = [
    "MAX_YAML_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "SHOWN_CHARS",
    "ConfigError",
    "Form",
    "Rules",
    "build",
    "check",
    "default_text",
    "describe",
    "dump",
    "dump_yaml",
    "is_section",
    "key_text",
    "load_yaml",
    "mapping",
    "only",
    "parse",
    "plain",
    "read",
    "read_field",
    "rows",
    "rules_of",
    "settable",
    "setting",
    "shown",
    "table",
    "unknown_key",
    "validate",
]
