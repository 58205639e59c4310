"""Populations of people: a finite mixture of human models (the diversity of human play).

A population is members m = 1..M (any human models, e.g. Boltzmann at several β) with prior weights w_m. A person
drawn from it picks action a with probability P(a) = Σ_m w_m π_m(a). After observing a person's choices with counts
c(a), the posterior over who they are is (Bayes' rule, choices i.i.d. given the member)

    P(m | c) = w_m Π_a π_m(a)^{c(a)} / Σ_m' w_m' Π_a π_m'(a)^{c(a)},

computed in log space (log-sum-exp), so long records do not underflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.human.models import HumanModel, check_agent, check_game


@dataclass(frozen=True)
class Population:
    """A finite mixture of human models (module docstring); ``weights`` default to uniform."""

    members: tuple[HumanModel, ...] = ()
    weights: tuple[float, ...] | None = None
    name: str = "population"

    def __post_init__(self) -> None:
        members = tuple(self.members)
        if not members:
            raise InvalidGameError("population: give at least one member model")
        for m in members:
            if not isinstance(m, HumanModel):
                raise InvalidGameError(f"population: member {m!r} is not a human model")
        w = np.full(len(members), 1.0 / len(members)) if self.weights is None else np.asarray(self.weights, float)
        if w.shape != (len(members),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise InvalidGameError(f"population: weights must be {len(members)} numbers >= 0 with a positive sum")
        object.__setattr__(self, "members", members)
        object.__setattr__(self, "weights", tuple(float(x) for x in w / w.sum()))

    def member_policies(
        self, game: NormalFormGame, agent: int, partner_policies: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """``[M, A]``: each member's choice probabilities."""
        agent = check_agent(check_game(game), agent)
        return np.stack([m.policy(game, agent, partner_policies) for m in self.members])

    def policy(
        self, game: NormalFormGame, agent: int, partner_policies: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """P(a) = Σ_m w_m π_m(a)."""
        return np.asarray(self.weights) @ self.member_policies(game, agent, partner_policies)

    def posteriors(
        self,
        game: NormalFormGame,
        agent: int,
        counts: Sequence[float],
        partner_policies: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """``[M]``: P(member | the observed action counts ``counts [A]``) (module docstring)."""
        pis = self.member_policies(game, agent, partner_policies)
        c = np.asarray(counts, dtype=np.float64)
        if c.shape != pis.shape[1:] or np.any(c < 0) or not np.all(np.isfinite(c)):
            raise InvalidGameError(f"counts: expected {pis.shape[1]} non-negative numbers, got {c.tolist()}")
        with np.errstate(divide="ignore"):
            logp = np.where(c > 0, c * np.log(pis), 0.0).sum(axis=1) + np.log(np.asarray(self.weights))
        if not np.any(np.isfinite(logp)):
            raise InvalidGameError("population: no member can produce the observed actions")
        top = np.max(logp)
        post = np.exp(logp - top)
        return post / post.sum()

    def params(self) -> dict[str, float]:
        return {f"w{m}": w for m, w in enumerate(self.weights or ())}

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "params": self.params(),
            "members": [m.to_json() for m in self.members],
            "weights": list(self.weights or ()),
        }


__all__ = ["Population"]
