"""Seeded random normal-form games: zero-sum, common-payoff, general-sum and symmetric.

Every payoff is drawn i.i.d. uniform on [-1, 1] from the ``numpy.random.Generator`` passed in (never the global
RNG), after the random game families of GAMUT (Nudelman, Wortman, Shoham & Leyton-Brown 2004, "Run the GAMUT",
AAMAS). The plain functions take a Generator (for tests of other modules); the catalog entries take a ``seed``
and use ``numpy.random.default_rng(seed)``, so the same seed gives the same game.

Symmetric games (Nash 1951, "Non-cooperative games", Annals of Math. 54, on symmetries of games): all players
have the same actions and ``u_i(a) = f(a_i, multiset of a_-i)``, so permuting the players together with their
actions permutes the payoffs: ``u_{π(i)}(a ∘ π^{-1}) = u_i(a)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from marlkit.games.catalog import checks as check
from marlkit.games.catalog.registry import labels, register
from marlkit.games.normal_form import NormalFormGame

Actions = int | Sequence[int]
"""One action count for every player, or one per player."""

CITATION = (
    "Nudelman, Wortman, Shoham & Leyton-Brown 2004, Run the GAMUT: a comprehensive approach to evaluating "
    "game-theoretic algorithms, AAMAS (random game families); payoffs i.i.d. uniform on [-1, 1]"
)


def _game(name: str, payoffs: np.ndarray, **parameters: object) -> NormalFormGame:
    return NormalFormGame(
        payoffs,
        player_names=tuple(f"player{i}" for i in range(payoffs.shape[0])),
        **labels(name, **parameters),
    )


def _uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return check.generator(rng).uniform(-1.0, 1.0, size=shape)


def random_zero_sum(rng: np.random.Generator, actions: Actions = 3) -> NormalFormGame:
    """Two-player zero-sum game: row payoffs uniform on [-1, 1], column payoffs their negation."""
    counts = check.action_counts(actions, 2)
    row = _uniform(rng, counts)
    return _game("random-zero-sum", np.stack([row, -row]), actions=counts)


def random_common_payoff(rng: np.random.Generator, actions: Actions = 3, players: int = 2) -> NormalFormGame:
    """n-player common-payoff (team) game: one uniform payoff tensor shared by all players."""
    n = check.integer("players", players, 1)
    counts = check.action_counts(actions, n)
    shared = _uniform(rng, counts)
    return _game("random-common-payoff", np.stack([shared] * n), actions=counts, players=n)


def random_general_sum(rng: np.random.Generator, actions: Actions = 3, players: int = 2) -> NormalFormGame:
    """n-player general-sum game: every payoff drawn independently."""
    n = check.integer("players", players, 1)
    counts = check.action_counts(actions, n)
    return _game("random-general-sum", _uniform(rng, (n, *counts)), actions=counts, players=n)


def random_symmetric(rng: np.random.Generator, actions: int = 3, players: int = 2) -> NormalFormGame:
    """n-player symmetric game with ``actions`` actions each: one uniform value per (own action, multiset of
    the others' actions), ``payoffs[i]`` = that table seen from player i."""
    check.generator(rng)
    n = check.integer("players", players, 1)
    m = check.integer("actions", actions, 1)
    check.check_size(n, (m,) * n)
    joint = np.indices((m,) * n).reshape(n, -1).T  # every joint action, one row each
    others = np.sort(joint[:, 1:], axis=1)  # the multiset of the others' actions, as a sorted tuple
    keys = joint[:, 0] * m ** (n - 1) + others @ (m ** np.arange(n - 2, -1, -1)) if n > 1 else joint[:, 0]
    unique, inverse = np.unique(keys, return_inverse=True)
    own_view = rng.uniform(-1.0, 1.0, size=unique.size)[inverse].reshape((m,) * n)  # u_0(a)
    payoffs = np.stack([np.moveaxis(own_view, 0, i) for i in range(n)])
    return _game("random-symmetric", payoffs, actions=m, players=n)


# ------------------------------------------------------------------------------------- catalog entries
@register(
    "random-zero-sum",
    kind="random",
    description="Random two-player zero-sum game, payoffs i.i.d. uniform on [-1, 1], seeded.",
    citation=CITATION,
)
def random_zero_sum_game(*, seed: int = 0, actions: Actions = 3) -> NormalFormGame:
    return _seeded(random_zero_sum, seed, actions=actions)


@register(
    "random-common-payoff",
    kind="random",
    description="Random n-player common-payoff (team) game, payoffs i.i.d. uniform on [-1, 1], seeded.",
    citation=CITATION,
)
def random_common_payoff_game(*, seed: int = 0, actions: Actions = 3, players: int = 2) -> NormalFormGame:
    return _seeded(random_common_payoff, seed, actions=actions, players=players)


@register(
    "random-general-sum",
    kind="random",
    description="Random n-player general-sum game, payoffs i.i.d. uniform on [-1, 1], seeded.",
    citation=CITATION,
)
def random_general_sum_game(*, seed: int = 0, actions: Actions = 3, players: int = 2) -> NormalFormGame:
    return _seeded(random_general_sum, seed, actions=actions, players=players)


@register(
    "random-symmetric",
    kind="random",
    description="Random n-player symmetric game (payoffs invariant under permuting players), seeded.",
    citation=CITATION,
)
def random_symmetric_game(*, seed: int = 0, actions: int = 3, players: int = 2) -> NormalFormGame:
    return _seeded(random_symmetric, seed, actions=actions, players=players)


def _seeded(generate: Callable[..., NormalFormGame], seed: int, **parameters: object) -> NormalFormGame:
    value = check.seed(seed)
    game = generate(np.random.default_rng(value), **parameters)
    catalog = game.metadata["catalog"]
    assert isinstance(catalog, Mapping)  # written by labels(): {"name": ..., "parameters": {...}}
    recorded = {**catalog, "parameters": {**catalog["parameters"], "seed": value}}
    return dataclasses.replace(game, metadata={**game.metadata, "catalog": recorded})  # metadata is read-only
