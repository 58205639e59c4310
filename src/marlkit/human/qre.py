"""The logit quantal response equilibrium at a given precision λ (McKelvey & Palfrey 1995, GEB 10).

A logit QRE at λ >= 0 is a profile σ with σ_i = softmax(λ U_i(·, σ_-i)) for every player i (MP 1995, Eq. 3): each
player Boltzmann-responds (:func:`marlkit.human.boltzmann.boltzmann_policy`) to the others' QRE play. At λ = 0 it is
uniform; as λ grows the *principal branch* (the one connected to λ = 0) converges to a Nash equilibrium (MP 1995,
Thm. 2; Turocy 2005, GEB 51).

``marlkit.solve.n_player`` traces that branch in arc length to reach a Nash equilibrium, but does not expose the
point at a given λ (its system is private and works on normalised payoffs), so this module computes it:
natural-parameter continuation in λ from 0 along the principal branch, solving at each step the system in free
logits z_i (z_i(0) = 0, σ_i = softmax(z_i)):  z_i(a) - λ (U_i(a, σ_-i) - U_i(0, σ_-i)) = 0 for a >= 1, by
:func:`scipy.optimize.root` (Powell hybrid), warm-started from the previous point, with the step halved when a
solve fails or the profile jumps by more than 0.05 (a jump would mean leaving the branch). Every returned point is
checked against the fixed-point equation: max |σ - softmax(λ U(σ))| <= 1e-9, else :class:`NotApplicableError`.
Continuation in λ cannot pass a fold (a point where the branch turns back in λ); the solver says so rather than
jump to another branch. Points solved are cached, so a fit that asks for many λ continues from the nearest one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marlkit.errors import NotApplicableError
from marlkit.games.normal_form import NormalFormGame
from marlkit.human.boltzmann import boltzmann_policy
from marlkit.human.models import check_agent, check_game, check_nonnegative, expected_payoffs, model_json

FIXED_POINT_TOLERANCE = 1e-9
"""Largest max |σ - softmax(λ U(σ))| accepted at a returned point."""
_MAX_JUMP = 0.05
_MIN_STEP = 1e-9


def qre_residual(game: NormalFormGame, lam: float, profile: Sequence[np.ndarray]) -> float:
    """max_i max_a |σ_i(a) - softmax(λ U_i(·, σ_-i))(a)|: zero exactly at a logit QRE."""
    return max(
        float(np.max(np.abs(profile[i] - boltzmann_policy(expected_payoffs(game, i, profile), lam))))
        for i in range(game.n_players)
    )


@dataclass
class QRESolver:
    """Points of the principal logit-QRE branch of ``game`` at any λ >= 0 (module docstring)."""

    game: NormalFormGame
    cache: dict[float, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.game = check_game(self.game)
        sizes = self.game.num_actions
        self.offsets = np.concatenate([[0], np.cumsum([m - 1 for m in sizes])]).astype(int)
        self.cache.setdefault(0.0, np.zeros(int(self.offsets[-1])))

    def profile_of(self, z: np.ndarray) -> list[np.ndarray]:
        out = []
        for i in range(self.game.n_players):
            logits = np.concatenate([[0.0], z[self.offsets[i] : self.offsets[i + 1]]])
            out.append(boltzmann_policy(logits, 1.0))
        return out

    def residual(self, z: np.ndarray, lam: float) -> np.ndarray:
        sigma = self.profile_of(z)
        parts = []
        for i in range(self.game.n_players):
            u = expected_payoffs(self.game, i, sigma)
            parts.append(z[self.offsets[i] : self.offsets[i + 1]] - lam * (u[1:] - u[0]))
        return np.concatenate(parts) if parts else np.zeros(0)

    def solve_near(self, z0: np.ndarray, lam: float) -> np.ndarray | None:
        from scipy.optimize import root

        if z0.size == 0:
            return z0
        result = root(self.residual, z0, args=(lam,), method="hybr", options={"xtol": 1e-14})
        if not result.success and float(np.max(np.abs(self.residual(result.x, lam)))) > 1e-12:
            return None
        return np.asarray(result.x, dtype=np.float64)

    def at(self, lam: float) -> list[np.ndarray]:
        """The principal-branch QRE at ``lam`` (checked to :data:`FIXED_POINT_TOLERANCE`)."""
        lam = check_nonnegative(lam, "lambda", allow_inf=False)
        start = max(x for x in self.cache if x <= lam)
        z = self.cache[start]
        current = start
        step = max(min(lam - current, 0.25), 0.0)
        while current < lam:
            target = min(lam, current + step)
            z_new = self.solve_near(z, target)
            jump = (
                math.inf
                if z_new is None
                else max(
                    float(np.max(np.abs(a - b)))
                    for a, b in zip(self.profile_of(z_new), self.profile_of(z), strict=True)
                )
            )
            if jump > _MAX_JUMP:
                step /= 2.0
                if step < _MIN_STEP:
                    raise NotApplicableError(
                        f"logit QRE: the principal branch turns back near λ = {current:.6g} (a fold); continuation "
                        "in λ cannot pass it"
                    )
                continue
            assert z_new is not None
            z, current = z_new, target
            self.cache[current] = z
            step = min(step * 1.5, 1.0 + 0.5 * current)
        profile = self.profile_of(z)
        residual = qre_residual(self.game, lam, profile)
        if not residual <= FIXED_POINT_TOLERANCE:
            raise NotApplicableError(f"logit QRE at λ = {lam:g}: fixed-point residual {residual:.2e} > 1e-9")
        return profile


def logit_qre(game: NormalFormGame, lam: float) -> list[np.ndarray]:
    """The principal-branch logit QRE of ``game`` at precision ``lam`` (one distribution per player)."""
    return QRESolver(game).at(lam)


@dataclass(frozen=True)
class LogitQRE:
    """Logit QRE play at precision ``lam`` (λ = 0 uniform; λ -> inf approaches a Nash equilibrium)."""

    lam: float = 1.0
    name: str = "qre"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lam", check_nonnegative(self.lam, "lam", allow_inf=False))

    def profile(self, game: NormalFormGame) -> list[np.ndarray]:
        return logit_qre(game, self.lam)

    def policy(
        self, game: NormalFormGame, agent: int, partner_policies: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        agent = check_agent(check_game(game), agent)
        return self.profile(game)[agent]

    def params(self) -> dict[str, float]:
        return {"lam": self.lam}

    def to_json(self) -> dict[str, Any]:
        return model_json(self)


__all__ = ["FIXED_POINT_TOLERANCE", "LogitQRE", "QRESolver", "logit_qre", "qre_residual"]
