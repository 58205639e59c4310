"""One registry type for every named thing marlkit makes: games, tasks, learners, reward transforms, attacks, ...

A :class:`Registry` maps names to :class:`Entry` records. An entry's target is either a callable or a lazy
``"package.module:Name"`` string imported on first use, so listing a registry imports nothing heavy (flax networks,
optional PettingZoo tasks) and one broken module does not take the others with it. Every registry follows one
name rule (:func:`normalise`: case, surrounding space and ``_`` / ``-`` / space are forgiven; entries keep the name
they were registered under for display), suggests close matches for an unknown name, and builds with one factory
shape, ``registry.make(name, **params)`` (the entry's defaults, overridden by ``params``).

This module is a leaf like :mod:`marlkit.errors`: the floors import it, it imports no floor.

>>> from marlkit.registry import Registry
>>> shapes = Registry("shape")
>>> _ = shapes.add("unit-square", dict, description="a square of side 1", defaults={"side": 1})
>>> shapes.make("Unit_Square")
{'side': 1}
>>> shapes.get("unit-sqare")
Traceback (most recent call last):
...
marlkit.errors.UnknownNameError: unknown shape 'unit-sqare' (did you mean 'unit-square'?); known shapes: unit-square
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from marlkit.errors import MarlkitError, NotApplicableError, UnknownNameError

T = TypeVar("T")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def normalise(name: object) -> str:
    """The one name rule of every registry: lower case, no surrounding space, ``_`` and spaces read as ``-``."""
    return str(name).strip().lower().replace("_", "-").replace(" ", "-")


def did_you_mean(name: object, candidates: Iterable[str], *, n: int = 1) -> str:
    """`` (did you mean 'x'?)`` for the closest candidates to ``name`` (compared by :func:`normalise`), or ``""``."""
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(normalise(candidate), candidate)
    close = difflib.get_close_matches(normalise(name), list(by_key), n=n, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean {' or '.join(repr(by_key[c]) for c in close)}?)"


def unknown_name(kind: str, name: object, candidates: Iterable[str], *, plural: str | None = None) -> str:
    """The message for an unknown ``kind`` name: what was given, a close match if any, and every known name."""
    listed = list(candidates)
    known = ", ".join(listed) if listed else "none"
    return f"unknown {kind} {str(name)[:200]!r}{did_you_mean(name, listed)}; known {plural or kind + 's'}: {known}"


def load_target(target: str, what: str) -> Any:
    """Import ``target = "package.module:Name"`` and return ``Name``.

    Raises :class:`NotApplicableError` (chained to the cause) naming ``what`` (e.g. ``"task"``) when the module
    cannot be imported or has no such name.
    """
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise NotApplicableError(
            f"the {what}'s module {module_name!r} cannot be imported ({exc}); is it installed and complete?"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise NotApplicableError(f"module {module_name!r} has no {what} {attr!r}") from exc


def parameters(factory: Callable[..., Any]) -> list[str] | None:
    """The keyword parameters ``factory`` takes (a dataclass's ``init`` fields, or its signature's named
    parameters), or ``None`` when it takes ``**kwargs`` or has no readable signature."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    names = []
    for p in signature.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            names.append(p.name)
    return [n for n in names if not n.startswith("_")]


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name.

    Attributes:
        name: the display name (the registry matches it by :func:`normalise`).
        target: a callable that builds the thing, or ``"package.module:Name"`` imported on first use.
        description: one line.
        citation: where it comes from (author year, venue, section); ``""`` if it is marlkit's own.
        defaults: keyword arguments :meth:`Registry.make` passes unless the caller overrides them.
        aliases: other names that reach this entry (shown in listings, matched by the same rule).
        extra: anything a particular registry records beside (e.g. a catalog game's kind).
    """

    name: str
    target: Callable[..., T] | str
    description: str = ""
    citation: str = ""
    defaults: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    aliases: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def load(self, what: str = "entry") -> Callable[..., T]:
        """The callable behind the entry (imports a lazy target; :class:`NotApplicableError` if it cannot)."""
        if isinstance(self.target, str):
            return load_target(self.target, what)
        return self.target


class Registry(Generic[T]):
    """Names -> :class:`Entry` records, with one lookup rule, did-you-mean errors, a listing and a factory.

    Args:
        kind: what an entry is, in messages (``"game"``, ``"learner"``, ``"task"``).
        plural: the plural for messages when it is not ``kind + "s"``.
        param_error: the error :meth:`make` raises for a keyword the target does not take (e.g.
            :class:`~marlkit.errors.LearnerConfigError` for learners, ``InvalidGameError`` for games).
    """

    def __init__(
        self, kind: str, *, plural: str | None = None, param_error: type[MarlkitError] = UnknownNameError
    ) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self.param_error = param_error
        self._entries: dict[str, Entry[T]] = {}
        self._keys: dict[str, str] = {}  # normalised name or alias -> display name

    # --------------------------------------------------------------------------------------------- filling

    def add(
        self,
        name: str,
        target: Callable[..., T] | str,
        *,
        description: str = "",
        citation: str = "",
        defaults: Mapping[str, Any] | None = None,
        aliases: tuple[str, ...] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> Entry[T]:
        """Register ``target`` under ``name`` (and ``aliases``); a name taken twice is a programming error."""
        entry: Entry[T] = Entry(
            name=name,
            target=target,
            description=description,
            citation=citation,
            defaults=MappingProxyType(dict(defaults or {})),
            aliases=tuple(aliases),
            extra=MappingProxyType(dict(extra or {})),
        )
        for key in (name, *aliases):
            normal = normalise(key)
            if normal in self._keys:
                raise ValueError(f"{self.kind} registry: {key!r} is registered twice")
            self._keys[normal] = name
        self._entries[name] = entry
        return entry

    def register(self, name: str, **fields: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator form of :meth:`add`: ``@registry.register("name", description=...)`` over a factory."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            self.add(name, factory, **fields)
            return factory

        return decorate

    # --------------------------------------------------------------------------------------------- lookup

    def resolve(self, name: object) -> str | None:
        """The display name ``name`` (or an alias) stands for, or ``None`` if it is not registered."""
        return self._keys.get(normalise(name)) if isinstance(name, str) else None

    def __contains__(self, name: object) -> bool:
        return self.resolve(name) is not None

    def get(self, name: object) -> Entry[T]:
        """The entry of ``name`` or an alias; :class:`UnknownNameError` with a close match and the known names."""
        display = self.resolve(name)
        if display is None:
            candidates = [*self._entries, *(a for e in self._entries.values() for a in e.aliases)]
            raise UnknownNameError(self._unknown(name, candidates))
        return self._entries[display]

    def _unknown(self, name: object, candidates: list[str]) -> str:
        hint = did_you_mean(name, candidates)
        return f"unknown {self.kind} {str(name)[:200]!r}{hint}; known {self.plural}: {', '.join(self._entries)}"

    def load(self, name: object) -> Callable[..., T]:
        """The callable registered under ``name`` (imported on first use)."""
        return self.get(name).load(self.kind)

    def make(self, name: object, **params: Any) -> T:
        """Build ``name`` with its defaults overridden by ``params``.

        Raises:
            UnknownNameError: ``name`` is not registered (close matches are suggested).
            NotApplicableError: a lazy target's module cannot be imported.
            MarlkitError: whatever the target raises for bad parameters (passed through unchanged).
        """
        entry = self.get(name)
        factory = entry.load(self.kind)
        accepted = parameters(factory)
        if accepted is not None:
            for key in params:
                if key not in accepted:
                    raise self.param_error(
                        f"{entry.name}: unknown parameter {str(key)[:100]!r}{did_you_mean(key, accepted)}; "
                        f"{entry.name} takes: {', '.join(accepted) or 'no parameters'}"
                    )
        return factory(**{**entry.defaults, **params})

    # --------------------------------------------------------------------------------------------- listing

    def names(self) -> list[str]:
        """Every display name (no aliases), in registration order."""
        return list(self._entries)

    def entries(self) -> Mapping[str, Entry[T]]:
        """Every entry by display name, in registration order (read-only)."""
        return MappingProxyType(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def listing(self) -> list[dict[str, str]]:
        """Rows the CLI prints: name, aliases, description, citation."""
        return [
            {
                "name": e.name,
                "aliases": ", ".join(e.aliases),
                "description": e.description,
                "citation": e.citation,
            }
            for e in self._entries.values()
        ]

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries)"


__all__ = ["Entry", "Registry", "did_you_mean", "load_target", "normalise", "parameters", "unknown_name"]
