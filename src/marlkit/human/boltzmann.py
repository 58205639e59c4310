"""The Boltzmann-rational choice rule every human model here builds on.

A Boltzmann-rational agent with inverse temperature β >= 0 picks action ``a`` with probability
``π(a) = exp(β Q(a)) / Σ_b exp(β Q(b))`` over its legal actions (Luce 1959's choice axiom; the logit response of
McKelvey & Palfrey 1995, GEB 10, Eq. 2; the "noisily rational" human of Ziebart et al. 2008 and of Carroll et al.
2019's human models). β = 0 is uniform over the legal actions; β -> ∞ spreads the mass uniformly over the maximisers
(the limit is taken exactly with ``beta=math.inf``). Computed in log space (the log-sum-exp shift by the maximum), so
any finite β and any finite values give finite probabilities.
"""

from __future__ import annotations

import math

import numpy as np

from marlkit.errors import InvalidGameError


def check_beta(beta: float, name: str = "beta") -> float:
    """``beta`` as a float, or :class:`InvalidGameError` (one line) unless it is a number >= 0 (``math.inf`` allowed:
    the greedy limit)."""
    try:
        value = float(beta)
    except (TypeError, ValueError):
        raise InvalidGameError(f"{name} must be a number >= 0, got {beta!r}") from None
    if not value >= 0:
        raise InvalidGameError(f"{name} must be >= 0 (0 is uniform, larger is more rational), got {beta!r}")
    return value


def boltzmann_policy(values: np.ndarray, beta: float, mask: np.ndarray | None = None) -> np.ndarray:
    """``π [..., A]``: the Boltzmann distribution over the last axis of ``values [..., A]`` at inverse temperature
    ``beta`` (module docstring), zero where ``mask [..., A]`` (bool, broadcastable) is False.

    Raises:
        InvalidGameError: ``beta`` < 0 or not a number; non-finite values at legal actions; a row with no legal action.
    """
    beta = check_beta(beta)
    q = np.asarray(values, dtype=np.float64)
    legal = np.ones(q.shape, bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), q.shape)
    if not np.all(legal.any(axis=-1)):
        raise InvalidGameError("boltzmann_policy: a row has no legal action")
    if not np.all(np.isfinite(q[legal])):
        raise InvalidGameError("boltzmann_policy: values must be finite at legal actions")
    shifted = np.where(legal, q, -np.inf)
    best = shifted.max(axis=-1, keepdims=True)
    if math.isinf(beta):
        weights = (shifted == best).astype(np.float64)
    else:
        with np.errstate(invalid="ignore"):  # -inf * 0 at β = 0 on illegal actions: masked below
            logits = np.where(legal, beta * (shifted - best), -np.inf)
        weights = np.where(legal, np.exp(logits), 0.0)
    return weights / weights.sum(axis=-1, keepdims=True)


__all__ = ["boltzmann_policy", "check_beta"]
