"""The catalog registry: :data:`GAMES`, a :class:`~marlkit.registry.Registry` filled by the :func:`register`
decorator.

Each game module decorates its factories with ``@register(name, kind=..., description=..., citation=...)``;
the package ``__init__`` imports the modules in a fixed order, so the catalog is insertion-ordered. Factories take
keyword-only parameters with defaults (an entry's ``defaults`` are read off the signature; its ``extra["kind"]``
is one of :data:`KINDS`) and stamp the entry's name, description and citation onto the game they build through
:func:`labels`. Names follow the one rule of :func:`marlkit.registry.normalise` (case, ``_`` and spaces forgiven).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TypedDict

from marlkit.errors import InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.stochastic import StochasticGame
from marlkit.registry import Entry, Registry, allowed

Game = NormalFormGame | StochasticGame
KINDS = ("normal-form", "stochastic", "posg", "constrained", "random")

GAMES: Registry[Game] = Registry("game", param_error=InvalidGameError, hint="Run `marlkit games` to list the catalog.")
"""Every catalog game by name, in registration order; ``GAMES[name]`` is its :class:`~marlkit.registry.Entry`."""

CATALOG = GAMES
"""The catalog (the name callers used before :data:`GAMES`; the same registry)."""

_ALIASES: dict[str, str] = {}
ALIASES: Mapping[str, str] = MappingProxyType(_ALIASES)
"""Short names accepted by :func:`make` (e.g. ``"pd"``) and the catalog name each stands for."""


def register(
    name: str, *, kind: str, description: str, citation: str, aliases: tuple[str, ...] = ()
) -> Callable[[Callable[..., Game]], Callable[..., Game]]:
    """Decorator: add a factory to :data:`GAMES` under ``name`` (and ``aliases``)."""
    if kind not in KINDS:
        raise ValueError(f"catalog: kind {kind!r} of {name!r} is not one of {KINDS}")

    def decorate(factory: Callable[..., Game]) -> Callable[..., Game]:
        parameters: dict[str, object] = {}
        for p in inspect.signature(factory).parameters.values():
            if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.default is inspect.Parameter.empty:
                raise TypeError(f"catalog factory {factory.__name__}: parameter {p.name!r} must be keyword-only")
            parameters[p.name] = p.default

        @functools.wraps(factory)
        def build(*args: object, **params: object) -> Game:
            if args:
                raise InvalidGameError(f"{name}: parameters are keyword-only; allowed: {allowed(name, parameters)}")
            GAMES.check_parameters(name, factory, params)
            return factory(**params)

        GAMES.add(
            name,
            build,
            description=description,
            citation=citation,
            defaults=parameters,
            aliases=aliases,
            extra={"kind": kind},
        )
        _ALIASES.update(dict.fromkeys(aliases, name))
        return build

    return decorate


class Labels(TypedDict):
    """The constructor fields :func:`labels` gives a catalog game (``NormalFormGame(..., **labels(...))``)."""

    name: str
    description: str
    citation: str
    metadata: Mapping[str, object]


def labels(name: str, **parameters: object) -> Labels:
    """Constructor fields a factory passes to its game: name, description, citation and metadata.

    ``metadata["catalog"]`` records the catalog name and the parameters used (JSON-friendly: tuples become
    lists), so a saved game says how to rebuild it.
    """
    entry = GAMES.get(name)
    used = {k: list(v) if isinstance(v, tuple) else v for k, v in parameters.items()}
    return Labels(
        name=entry.name,
        description=entry.description,
        citation=entry.citation,
        metadata={"catalog": {"name": entry.name, "parameters": used}},
    )


def lookup(name: str) -> Entry[Game]:
    """The entry for a catalog name or alias (case, ``_`` and spaces are forgiven; close matches suggested)."""
    return GAMES.get(name)


def kind(name: str) -> str:
    """The kind (one of :data:`KINDS`) of the catalog game ``name``."""
    return str(GAMES.get(name).extra["kind"])


def make(name: str, **params: object) -> Game:
    """Build the catalog game ``name`` (or an alias) with keyword ``params`` (defaults for the rest).

    Raises:
        UnknownNameError: ``name`` is not in the catalog (close matches are suggested).
        InvalidGameError: an unknown parameter, or a value outside what the game allows.
    """
    return GAMES.make(name, **params)


def names() -> list[str]:
    """Every catalog name (no aliases), in catalog order."""
    return GAMES.names()
