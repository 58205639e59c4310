"""The catalog registry: a name -> :class:`CatalogEntry` dict, filled by the :func:`register` decorator.

Each game module decorates its factories with ``@register(name, kind=..., description=..., citation=...)``;
the package ``__init__`` imports the modules in a fixed order, so :data:`CATALOG` is insertion-ordered.
Factories take keyword parameters with defaults (``CatalogEntry.parameters`` is read off the signature) and
stamp the entry's name, description and citation onto the game they build through :func:`labels`.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from marlkit.errors import InvalidGameError, UnknownNameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.stochastic import StochasticGame

Game = NormalFormGame | StochasticGame
KINDS = ("normal-form", "stochastic", "posg", "constrained", "random")


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog game: its key, factory, one-line description, citation, parameters and kind.

    Attributes:
        name: kebab-case key, e.g. ``"prisoners-dilemma"``.
        factory: builds the game from keyword parameters (all optional; see ``parameters``).
        description: one line.
        citation: author year, title/venue and the section/table the numbers come from.
        parameters: the factory's keyword parameters and their defaults.
        kind: one of :data:`KINDS`.
    """

    name: str
    factory: Callable[..., Game]
    description: str
    citation: str
    parameters: Mapping[str, object]
    kind: str


_ENTRIES: dict[str, CatalogEntry] = {}
_ALIASES: dict[str, str] = {}
CATALOG: Mapping[str, CatalogEntry] = MappingProxyType(_ENTRIES)
"""Every catalog game by name, in registration order (read-only)."""
ALIASES: Mapping[str, str] = MappingProxyType(_ALIASES)
"""Short names accepted by :func:`make` (e.g. ``"pd"``) and the catalog name each stands for."""


def register(
    name: str, *, kind: str, description: str, citation: str, aliases: tuple[str, ...] = ()
) -> Callable[[Callable[..., Game]], Callable[..., Game]]:
    """Decorator: add a factory to the catalog under ``name`` (and ``aliases``)."""
    if kind not in KINDS:
        raise ValueError(f"catalog: kind {kind!r} of {name!r} is not one of {KINDS}")

    def decorate(factory: Callable[..., Game]) -> Callable[..., Game]:
        signature = inspect.signature(factory)
        parameters: dict[str, object] = {}
        for p in signature.parameters.values():
            if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.default is inspect.Parameter.empty:
                raise TypeError(f"catalog factory {factory.__name__}: parameter {p.name!r} must be keyword-only")
            parameters[p.name] = p.default

        @functools.wraps(factory)
        def build(*args: object, **params: object) -> Game:
            if args:
                raise InvalidGameError(f"{name}: parameters are keyword-only; allowed: {_allowed(parameters)}")
            check_parameters(name, parameters, params)
            return factory(**params)

        for key in (name, *aliases):
            if key in _ENTRIES or key in _ALIASES:
                raise ValueError(f"catalog: {key!r} is registered twice")
        _ENTRIES[name] = CatalogEntry(
            name=name,
            factory=build,
            description=description,
            citation=citation,
            parameters=MappingProxyType(parameters),
            kind=kind,
        )
        _ALIASES.update(dict.fromkeys(aliases, name))
        return build

    return decorate


def _allowed(parameters: Mapping[str, object]) -> str:
    if not parameters:
        return "none (this game takes no parameters)"
    return ", ".join(f"{k}={v!r}" for k, v in parameters.items())


def check_parameters(name: str, parameters: Mapping[str, object], given: Mapping[str, object]) -> None:
    unknown = [k for k in given if k not in parameters]
    if unknown:
        hint = ""
        close = difflib.get_close_matches(unknown[0], list(parameters), n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
        raise InvalidGameError(
            f"{name}: unknown parameter {unknown[0]!r}{hint}; allowed parameters: {_allowed(parameters)}"
        )


def labels(name: str, **parameters: object) -> dict[str, object]:
    """Constructor fields a factory passes to its game: name, description, citation and metadata.

    ``metadata["catalog"]`` records the catalog name and the parameters used (JSON-friendly: tuples become
    lists), so a saved game says how to rebuild it.
    """
    entry = _ENTRIES[name]
    used = {k: list(v) if isinstance(v, tuple) else v for k, v in parameters.items()}
    return {
        "name": entry.name,
        "description": entry.description,
        "citation": entry.citation,
        "metadata": {"catalog": {"name": entry.name, "parameters": used}},
    }


def _normalise(name: str) -> str:
    return str(name).strip().lower().replace("_", "-").replace(" ", "-")


def lookup(name: str) -> CatalogEntry:
    """The entry for a catalog name or alias (case, ``_`` and spaces are forgiven)."""
    key = _normalise(name)
    key = _ALIASES.get(key, key)
    if key in _ENTRIES:
        return _ENTRIES[key]
    close = difflib.get_close_matches(key, [*_ENTRIES, *_ALIASES], n=4, cutoff=0.6)
    suggestions = list(dict.fromkeys(_ALIASES.get(c, c) for c in close))
    hint = f"; did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else "."
    raise UnknownNameError(f"unknown game {name!r}{hint} Run `marlkit games` to list the catalog.")


def make(name: str, **params: object) -> Game:
    """Build the catalog game ``name`` (or an alias) with keyword ``params`` (defaults for the rest).

    Raises:
        UnknownNameError: ``name`` is not in the catalog (close matches are suggested).
        InvalidGameError: an unknown parameter, or a value outside what the game allows.
    """
    return lookup(name).factory(**params)


def names() -> list[str]:
    """Every catalog name (no aliases), in catalog order."""
    return list(_ENTRIES)
