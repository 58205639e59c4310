"""Bounded depth of reasoning: level-k and the Poisson cognitive hierarchy (normal-form games).

**Level-k** (Nagel 1995, AER 85; Stahl & Wilson 1995, GEB 10): level 0 plays uniformly (or a given anchor profile);
a level-k player of every seat i responds to the level-(k-1) profile of the others,
π_k^i = R(U_i(·, π_{k-1}^{-i})), with R the best response (ties split evenly; β = inf) or the Boltzmann response
of inverse temperature β (:func:`marlkit.human.boltzmann.boltzmann_policy`).

**Poisson cognitive hierarchy** (Camerer, Ho & Chong 2004, QJE 119, Eq. 1-2): the share of level-k thinkers is
f(k) = e^{-τ} τ^k / k!; a level-k thinker (k >= 1) believes the others are a mixture of the lower levels with the
normalised weights g_k(h) = f(h) / Σ_{l<k} f(l) (h < k), and responds to that mixture:
π_k^i = R(U_i(·, Σ_{h<k} g_k(h) π_h^{-i})). With more than two players each other player is drawn independently
from the mixture (CHC 2004, §II). The population's choice probabilities are Σ_{k<=K} f(k) π_k / Σ_{k<=K} f(k),
truncated at ``max_level`` K (the truncated mass is below 1e-9 once K >= τ + 10 sqrt(τ) + 10; the default K is
chosen so).

Both models derive what the others play themselves: ``partner_policies`` is accepted for the common shape and
ignored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.human.boltzmann import boltzmann_policy, check_beta
from marlkit.human.models import (
    check_agent,
    check_game,
    check_nonnegative,
    dataclass_params,
    expected_payoffs,
    model_json,
    uniform_profile,
)
from marlkit.strict import shorten


def respond(game: NormalFormGame, profile: Sequence[np.ndarray], beta: float) -> list[np.ndarray]:
    """Every seat's response to ``profile`` (β = inf: best response with ties split; else Boltzmann)."""
    return [boltzmann_policy(expected_payoffs(game, i, profile), beta) for i in range(game.n_players)]


def anchor_profile(game: NormalFormGame, anchor: Sequence[Sequence[float]] | None) -> list[np.ndarray]:
    """The level-0 profile: ``anchor`` (one distribution per player) checked, or uniform."""
    if anchor is None:
        return uniform_profile(game)
    return game.check_profile([np.asarray(a, dtype=np.float64) for a in anchor])


def level_k_profiles(
    game: NormalFormGame, k: int, beta: float = math.inf, anchor: Sequence[Sequence[float]] | None = None
) -> list[list[np.ndarray]]:
    """``[π_0, ..., π_k]``: each level's profile (one distribution per seat), level j responding to level j-1."""
    levels = [anchor_profile(game, anchor)]
    for _ in range(k):
        levels.append(respond(game, levels[-1], beta))
    return levels


MAX_LEVEL = 1000
"""The deepest level modelled (level-k's ``k``, the hierarchy's truncation): each level is computed from the one
below, so the bound keeps a typo from computing for minutes; Camerer, Ho & Chong (2004) estimate τ ≈ 1-2."""
MAX_TAU = 500.0
"""The largest τ: its default truncation τ + 10 √τ + 10 stays below :data:`MAX_LEVEL`."""


def poisson_weights(tau: float, max_level: int) -> np.ndarray:
    """f(0..K) = e^{-τ} τ^k / k! (not renormalised), computed in log space."""
    k = np.arange(max_level + 1)
    if tau == 0:
        return (k == 0).astype(np.float64)
    logs = -tau + k * math.log(tau) - np.array([math.lgamma(j + 1) for j in k])
    return np.exp(logs)


def default_max_level(tau: float) -> int:
    """K with Poisson(τ) tail mass beyond K below 1e-9 (a Chernoff-style margin: τ + 10 sqrt(τ) + 10)."""
    return math.ceil(tau + 10.0 * math.sqrt(tau) + 10.0)


def cognitive_hierarchy_levels(
    game: NormalFormGame, tau: float, max_level: int, beta: float = math.inf
) -> tuple[np.ndarray, list[list[np.ndarray]]]:
    """``(f [K+1], [π_0..π_K])``: Poisson weights and each level's profile under the CH recursion (module
    docstring)."""
    f = poisson_weights(tau, max_level)
    levels = [uniform_profile(game)]
    for k in range(1, max_level + 1):
        g = f[:k] / f[:k].sum()
        mixture = [sum(g[h] * levels[h][j] for h in range(k)) for j in range(game.n_players)]
        levels.append(respond(game, mixture, beta))
    return f, levels


@dataclass(frozen=True)
class LevelK:
    """Level-k reasoning (module docstring): ``k`` >= 0, ``beta`` the response's inverse temperature (inf: best
    response), ``anchor`` the level-0 profile (default uniform)."""

    k: int = 1
    beta: float = math.inf
    anchor: tuple[tuple[float, ...], ...] | None = None
    name: str = "level-k"

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer) or not 0 <= int(self.k) <= MAX_LEVEL:
            raise InvalidGameError(
                f"level-k: k must be an integer in 0..{MAX_LEVEL} (levels are computed one by one; experiments find "
                f"k <= 3), got {shorten(self.k)}"
            )
        object.__setattr__(self, "k", int(self.k))
        object.__setattr__(self, "beta", check_beta(self.beta))
        if self.anchor is not None:
            object.__setattr__(self, "anchor", tuple(tuple(float(x) for x in a) for a in self.anchor))

    def profile(self, game: NormalFormGame) -> list[np.ndarray]:
        """The level-k profile (every seat)."""
        return level_k_profiles(check_game(game), self.k, self.beta, self.anchor)[-1]

    def policy(
        self, game: NormalFormGame, agent: int, partner_policies: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        agent = check_agent(check_game(game), agent)
        return self.profile(game)[agent]

    def params(self) -> dict[str, float]:
        return {k: v for k, v in dataclass_params(self, ("name", "anchor")).items()}

    def to_json(self) -> dict[str, Any]:
        data = model_json(self)
        data["anchor"] = None if self.anchor is None else [list(a) for a in self.anchor]
        return data


@dataclass(frozen=True)
class CognitiveHierarchy:
    """Poisson cognitive hierarchy (module docstring): ``tau`` >= 0 the mean thinking depth, ``max_level`` the
    truncation (default: tail mass < 1e-9), ``beta`` the response's inverse temperature (inf: best response)."""

    tau: float = 1.5
    max_level: int | None = None
    beta: float = math.inf
    name: str = "cognitive-hierarchy"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tau", check_nonnegative(self.tau, "tau", allow_inf=False))
        if self.tau > MAX_TAU:
            raise InvalidGameError(
                f"cognitive-hierarchy: tau must be <= {MAX_TAU:g} (its levels would pass {MAX_LEVEL}; experiments find "
                f"tau between 0 and about 5), got {shorten(self.tau)}"
            )
        object.__setattr__(self, "beta", check_beta(self.beta))
        if self.max_level is not None and (
            isinstance(self.max_level, bool)
            or not isinstance(self.max_level, int | np.integer)
            or not 1 <= self.max_level <= MAX_LEVEL
        ):
            raise InvalidGameError(
                f"cognitive-hierarchy: max_level must be an integer in 1..{MAX_LEVEL}, got {shorten(self.max_level)}"
            )

    @property
    def levels(self) -> int:
        """K: the highest level modelled."""
        return int(self.max_level) if self.max_level is not None else default_max_level(self.tau)

    def profile(self, game: NormalFormGame) -> list[np.ndarray]:
        """The population's choice probabilities for every seat: Σ_k f(k) π_k / Σ_k f(k)."""
        game = check_game(game)
        f, levels = cognitive_hierarchy_levels(game, self.tau, self.levels, self.beta)
        w = f / f.sum()
        return [sum(w[k] * levels[k][i] for k in range(len(w))) for i in range(game.n_players)]

    def policy(
        self, game: NormalFormGame, agent: int, partner_policies: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        agent = check_agent(check_game(game), agent)
        return self.profile(game)[agent]

    def params(self) -> dict[str, float]:
        return {"tau": self.tau, "max_level": self.levels, "beta": self.beta}

    def to_json(self) -> dict[str, Any]:
        return model_json(self)


__all__ = [
    "CognitiveHierarchy",
    "LevelK",
    "anchor_profile",
    "cognitive_hierarchy_levels",
    "default_max_level",
    "level_k_profiles",
    "poisson_weights",
    "respond",
]
