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
    found = parameter_defaults(factory)
    return None if found is None else list(found)


REQUIRED = inspect.Parameter.empty
"""The default :func:`parameter_defaults` reports for a parameter that has none."""


def parameter_defaults(factory: Callable[..., Any]) -> dict[str, Any] | None:
    """The keyword parameters ``factory`` takes and their defaults (:data:`REQUIRED` where there is none), in
    signature order, or ``None`` when it takes ``**kwargs`` or has no readable signature. Names starting with
    ``_`` are left out."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    found: dict[str, Any] = {}
    for p in signature.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        keyword = p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        if keyword and not p.name.startswith("_"):
            found[p.name] = p.default
    return found


def unknown_parameter(owner: str, key: object, accepted: Mapping[str, Any], *, word: str = "parameter") -> str:
    """The message for a keyword ``owner`` does not take: the key, a close match, and every accepted one with its
    default, e.g. ``penalty: unknown parameter 'kk' (did you mean 'k'?); allowed parameters: k=-10.0``."""
    hint = did_you_mean(key, accepted)
    return f"{owner}: unknown {word} {str(key)[:100]!r}{hint}; allowed {word}s: {allowed(owner, accepted, word=word)}"


def allowed(owner: str, accepted: Mapping[str, Any], *, word: str = "parameter") -> str:
    """The keywords ``owner`` accepts with their defaults (``k=-10.0, n``), or ``none (...)`` when there are none."""
    if not accepted:
        return f"none ({owner} takes no {word}s)"
    return ", ".join(k if v is REQUIRED else f"{k}={v!r}" for k, v in accepted.items())


def lazy_exports(
    package: str, home: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's PEP 562 ``__getattr__`` and ``__dir__`` for names re-exported lazily: ``home`` maps each name to
    the submodule of ``package`` that defines it; a name is imported on first use and kept in ``namespace`` (the
    package's ``globals()``), so importing the package stays light.

    Usage in a package ``__init__``: ``__getattr__, __dir__ = lazy_exports(__name__, HOME, globals())``."""

    def getattr_(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *home})

    return getattr_, dir_


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

    @property
    def factory(self) -> Callable[..., T]:
        """The callable behind the entry (:meth:`load`)."""
        return self.load()

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The keyword parameters the target takes, each with the default a build uses (the entry's ``defaults``
        over the signature's; :data:`REQUIRED` where there is none), read-only; only ``defaults`` when the
        signature takes ``**kwargs`` or cannot be read. Imports a lazy target."""
        found = parameter_defaults(self.load()) or {}
        return MappingProxyType({**found, **self.defaults})


class Registry(Generic[T]):
    """Names -> :class:`Entry` records, with one lookup rule, did-you-mean errors, a listing and a factory.

    Args:
        kind: what an entry is, in messages (``"game"``, ``"learner"``, ``"task"``).
        plural: the plural for messages when it is not ``kind + "s"``.
        param_error: the error :meth:`make` raises for a keyword the target does not take (e.g.
            :class:`~marlkit.errors.LearnerConfigError` for learners, ``InvalidGameError`` for games).
        param_word: what a keyword is called in that error (``"parameter"``, ``"hyper-parameter"``).
        hint: a sentence appended to the unknown-name error (e.g. ``"Run `marlkit games` to list them."``).
    """

    def __init__(
        self,
        kind: str,
        *,
        plural: str | None = None,
        param_error: type[MarlkitError] = UnknownNameError,
        param_word: str = "parameter",
        hint: str = "",
    ) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self.param_error = param_error
        self.param_word = param_word
        self.hint = hint
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
        text = f"unknown {self.kind} {str(name)[:200]!r}{hint}; known {self.plural}: {', '.join(self._entries)}"
        return f"{text}. {self.hint}" if self.hint else text

    def __getitem__(self, name: str) -> Entry[T]:
        """``registry[name]``: the same as :meth:`get`."""
        return self.get(name)

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
        self.check_parameters(entry.name, factory, params, defaults=entry.defaults)
        return factory(**{**entry.defaults, **params})

    def check_parameters(
        self,
        owner: str,
        factory: Callable[..., Any],
        params: Mapping[str, Any],
        *,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        """Raise :attr:`param_error` (:func:`unknown_parameter`'s message, listing the accepted keywords with
        ``factory``'s defaults overridden by ``defaults``) for a key of ``params`` that ``factory`` does not take;
        nothing when its signature takes ``**kwargs`` or cannot be read."""
        found = parameter_defaults(factory)
        if found is None:
            return
        accepted = {k: (defaults or {}).get(k, v) for k, v in found.items()}
        for key in params:
            if key not in accepted:
                raise self.param_error(unknown_parameter(owner, key, accepted, word=self.param_word))

    # --------------------------------------------------------------------------------------------- listing

    def names(self) -> list[str]:
        """Every display name (no aliases), in registration order."""
        return list(self._entries)

    def entries(self) -> Mapping[str, Entry[T]]:
        """Every entry by display name, in registration order (read-only)."""
        return MappingProxyType(self._entries)

    def items(self) -> list[tuple[str, Entry[T]]]:
        """``(display name, entry)`` pairs, in registration order."""
        return list(self._entries.items())

    def aliases(self) -> dict[str, str]:
        """Every alias and the display name it stands for."""
        return {alias: e.name for e in self._entries.values() for alias in e.aliases}

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


__all__ = [
    "REQUIRED",
    "Entry",
    "Registry",
    "allowed",
    "did_you_mean",
    "lazy_exports",
    "load_target",
    "normalise",
    "parameter_defaults",
    "parameters",
    "unknown_name",
    "unknown_parameter",
]
