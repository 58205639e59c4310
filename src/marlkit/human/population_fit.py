"""Fitting a population's weights from several people's play: who is in the data, and how many of each.

A population (:class:`marlkit.human.population.Population`) is members m = 1..M (fixed human models) with weights
w on the simplex. Person p's recorded choices (action counts c_p) came from one member, unknown to us, drawn with
probability w_m (a finite mixture, or latent-class model; McLachlan & Peel, *Finite Mixture Models*, 2000, ch. 1-2).
With L_pm = Σ_a c_pa log π_m(a) the log-likelihood of person p's choices under member m, the log-likelihood of w is

    ℓ(w) = Σ_p log Σ_m w_m exp(L_pm).

ℓ is **concave** in w (the log of a function linear in w, summed), so the maximum over the simplex is a convex
problem: every local maximum is global. The maximiser ŵ is found by expectation-maximisation (Dempster, Laird &
Rubin 1977): responsibilities r_pm = w_m e^{L_pm} / Σ_m' w_m' e^{L_pm'}, then w_m ← (1/P) Σ_p r_pm, which never
decreases ℓ; iterated until no weight moves by more than 1e-12 (EM's fixed points on the simplex's interior are the
stationary points of the concave ℓ).

95% intervals are profile-likelihood intervals, as every other fit in :mod:`marlkit.human.fit`: for weight m,
ℓ_m(t) = max {ℓ(w) : w_m = t} is concave in t (a concave function maximised over the other coordinates of a convex
set), and the interval is {t : ℓ_m(t) ≥ ℓ(ŵ) - χ²_1(0.95)/2}. ℓ_m(t) is computed by the same EM with w_m held at t
(the others rescaled to share 1 - t: w_j ← (1 - t) Σ_p r_pj / Σ_p Σ_{j'≠m} r_pj'), its ends by
:func:`scipy.optimize.brentq`.

**Too little data**: the weights are not identified when every interval is [0, 1] (the data cannot exclude any
mixture): the fit raises :class:`NotApplicableError` (``strict=True``) or says so. Members that predict the same
choices in the game cannot be told apart by any data: refused up front.

The posterior of person p's membership is r_pm at ŵ (Bayes' rule, as :meth:`Population.posteriors`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.normal_form import NormalFormGame
from marlkit.human.fit import LR_DROP, check_counts
from marlkit.human.models import HumanModel, check_agent, check_game, model_spec
from marlkit.human.population import Population

TOL = 1e-12
"""EM stops when no weight moves by more than this."""
MAX_ITERATIONS = 100_000
"""EM's iteration cap (EM converges linearly; slow only where two members are nearly alike)."""


def member_logliks(policies: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``[P, M]``: L_pm = Σ_a c_pa log π_m(a) for member policies ``[M, A]`` and people's counts ``[P, A]``
    (-inf where a member gives probability 0 to a chosen action)."""
    with np.errstate(divide="ignore"):
        logs = np.broadcast_to(np.log(policies)[None, :, :], (counts.shape[0], *policies.shape))
    weights = np.broadcast_to(counts[:, None, :], logs.shape)
    terms = np.multiply(weights, logs, out=np.zeros(logs.shape), where=weights > 0)  # 0 log 0 = 0
    return terms.sum(axis=2)


def mixture_loglik(logliks: np.ndarray, weights: np.ndarray) -> float:
    """ℓ(w) = Σ_p log Σ_m w_m exp(L_pm), by log-sum-exp per person."""
    with np.errstate(divide="ignore"):
        scores = logliks + np.log(weights)[None, :]
    top = scores.max(axis=1)
    if not np.all(np.isfinite(top)):
        return -math.inf
    return float(np.sum(top + np.log(np.exp(scores - top[:, None]).sum(axis=1))))


def responsibilities(logliks: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``[P, M]``: r_pm, each person's posterior over members at ``weights`` (a row of zeros for a person whom no
    member of positive weight explains)."""
    with np.errstate(divide="ignore"):
        scores = logliks + np.log(weights)[None, :]
    top = scores.max(axis=1, keepdims=True)
    possible = np.isfinite(top[:, 0])  # a person no weighted member explains (only on the profile's w_m = 0)
    post = np.zeros_like(scores)
    post[possible] = np.exp(scores[possible] - top[possible])
    post[possible] /= post[possible].sum(axis=1, keepdims=True)
    return post


def em_weights(
    logliks: np.ndarray, start: np.ndarray | None = None, fixed: tuple[int, float] | None = None
) -> np.ndarray:
    """The maximum-likelihood weights by EM (module docstring); ``fixed = (m, t)`` holds w_m at t (the profile)."""
    _, m_count = logliks.shape
    w = np.full(m_count, 1.0 / m_count) if start is None else np.asarray(start, dtype=np.float64).copy()
    held, t = fixed if fixed is not None else (-1, 0.0)
    others = np.arange(m_count) != held
    if fixed is not None:  # start from the others' proportions (kept positive: EM cannot revive a zero weight)
        w[others] = (1.0 - t) * (w[others] + 1e-9) / (w[others] + 1e-9).sum()
        w[held] = t
    for _ in range(MAX_ITERATIONS):
        r = responsibilities(logliks, w)
        if fixed is None:
            new = r.mean(axis=0)
        else:
            mass = r[:, others].sum(axis=0)
            new = np.empty_like(w)
            new[others] = (1.0 - t) * mass / mass.sum() if mass.sum() > 0 else (1.0 - t) / (m_count - 1)
            new[held] = t
        done = float(np.max(np.abs(new - w))) <= TOL
        w = new
        if done:
            break
    return w


def profile_interval(logliks: np.ndarray, weights: np.ndarray, m: int, best: float) -> tuple[float, float]:
    """The 95% profile-likelihood interval of w_m (module docstring)."""
    from scipy.optimize import brentq

    def drop(t: float) -> float:  # -inf (a person only member m explains, at t = 0) clamped: brentq needs numbers
        return max(mixture_loglik(logliks, em_weights(logliks, weights, fixed=(m, t))) - (best - LR_DROP), -1e9)

    ends = []
    for edge in (0.0, 1.0):
        hat = float(weights[m])
        if abs(edge - hat) < 1e-12 or drop(edge) >= 0:
            ends.append(edge)
        else:
            ends.append(float(brentq(drop, min(edge, hat), max(edge, hat), xtol=1e-10)))
    return ends[0], ends[1]


@dataclass(frozen=True)
class PopulationFit:
    """The fitted population: ``population`` (members with the fitted weights; plugs in as a partner),
    ``intervals`` (95% profile-likelihood interval per weight), ``posteriors`` ``[P, M]`` (each person's membership),
    ``log_likelihood`` ℓ(ŵ), ``best_single`` (the best one-member log-likelihood, for the likelihood-ratio
    comparison), ``people`` and ``decisions`` (data used), ``identified`` and ``message``."""

    population: Population
    intervals: tuple[tuple[float, float], ...]
    posteriors: np.ndarray
    log_likelihood: float
    best_single: float
    people: int
    decisions: float
    agent: int
    labels: tuple[str, ...] = ()
    identified: bool = True
    message: str = ""

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(self.population.weights or ())

    def to_json(self) -> dict[str, Any]:
        specs = [model_spec(m) for m in self.population.members]
        return {
            "model": "population",
            "agent": self.agent,
            "members": specs,
            "weights": list(self.weights),
            "ci95": [list(i) for i in self.intervals],
            "log_likelihood": self.log_likelihood,
            "best_single_member_log_likelihood": self.best_single,
            "people": self.people,
            "n_decisions": self.decisions,
            "identified": self.identified,
            "message": self.message,
            "people_posteriors": [
                {"person": label, "posterior": row.tolist(), "most_likely": specs[int(np.argmax(row))]}
                for label, row in zip(self.labels, self.posteriors, strict=True)
            ],
        }

    def lines(self) -> list[str]:
        head = (
            f"population of {len(self.weights)} members fitted to {self.people} "
            f"{'person' if self.people == 1 else 'people'} ({self.decisions:g} decisions "
            f"of player {self.agent}); log-likelihood {self.log_likelihood:.4f} (best single member "
            f"{self.best_single:.4f})"
        )
        if not self.identified:
            return [head, f"weights not identified — {self.message}"]
        specs = [model_spec(m) for m in self.population.members]
        width = max(len(s) for s in specs)
        out = [head, f"{'member':<{width}}  {'weight':>7}  {'95% CI':>17}  {'people (most likely)':>20}"]
        likely = np.bincount(np.argmax(self.posteriors, axis=1), minlength=len(specs))
        for spec, w, (lo, hi), k in zip(specs, self.weights, self.intervals, likely, strict=True):
            out.append(f"{spec:<{width}}  {w:>7.4f}  [{lo:.4f}, {hi:.4f}]  {int(k):>20}")
        return out


def fit_population(
    members: Sequence[HumanModel],
    game: NormalFormGame,
    people_counts: Sequence[Any],
    *,
    agent: int = 0,
    partner_policies: Sequence[Any] | None = None,
    labels: Sequence[str] | None = None,
    strict: bool = True,
) -> PopulationFit:
    """The maximum-likelihood weights of ``members`` from several people's choices (module docstring).

    Args:
        members: the human models (at least two, predicting different choices in ``game``).
        game: the normal-form game played.
        people_counts: per person, ``agent``'s action counts ``[A_agent]`` (one play log each).
        agent: the seat the people held.
        partner_policies: what the members assume the others play (default: each model's own assumption).
        labels: a name per person (e.g. the log's path) for the posteriors.
        strict: raise :class:`NotApplicableError` when the weights are not identified.
    """
    game = check_game(game)
    agent = check_agent(game, agent)
    members = tuple(members)
    if len(members) < 2:
        raise InvalidGameError(f"a population fit needs at least two member models, got {len(members)}")
    policies = np.stack([np.asarray(m.policy(game, agent, partner_policies), np.float64) for m in members])
    for i in range(len(members)):
        for j in range(i):
            if np.allclose(policies[i], policies[j], rtol=0, atol=1e-12):
                raise InvalidGameError(
                    f"members {model_spec(members[j])} and {model_spec(members[i])} predict the same choices in "
                    f"{game.name}: no data can tell their weights apart; drop one"
                )
    shape = (game.num_actions[agent],)
    counts = np.stack([check_counts(c, shape, f"person {p}'s counts") for p, c in enumerate(people_counts)])
    if counts.shape[0] == 0 or counts.sum() == 0:
        raise InvalidGameError("too little data: no decisions to fit a population to")
    names = tuple(str(x) for x in labels) if labels is not None else tuple(f"person {p}" for p in range(len(counts)))
    if len(names) != len(counts):
        raise InvalidGameError(f"labels: expected {len(counts)}, got {len(names)}")
    logliks = member_logliks(policies, counts)
    impossible = [names[p] for p in range(len(counts)) if not np.any(np.isfinite(logliks[p]))]
    if impossible:
        raise InvalidGameError(
            f"{impossible[0]}: no member can produce these choices (each gives probability 0 to an action chosen); "
            "add a member with noise (e.g. boltzmann or noisy-best-response)"
        )
    weights = em_weights(logliks)
    best = mixture_loglik(logliks, weights)
    intervals = tuple(profile_interval(logliks, weights, m, best) for m in range(len(members)))
    identified = any(hi - lo < 1.0 - 1e-9 for lo, hi in intervals)
    message = (
        ""
        if identified
        else (
            f"every weight's 95% interval is [0, 1] with {len(counts)} people and {counts.sum():g} decisions: "
            "these data cannot exclude any mixture; record more people, more decisions per person, or members that "
            "differ more"
        )
    )
    if not identified and strict:
        raise NotApplicableError(f"population weights not identified: {message}")
    single = max(mixture_loglik(logliks, np.eye(len(members))[m]) for m in range(len(members)))
    return PopulationFit(
        population=Population(members, tuple(float(x) for x in weights)),
        intervals=intervals,
        posteriors=responsibilities(logliks, weights),
        log_likelihood=best,
        best_single=single,
        people=len(counts),
        decisions=float(counts.sum()),
        agent=agent,
        labels=names,
        identified=identified,
        message=message,
    )


__all__ = ["PopulationFit", "em_weights", "fit_population", "member_logliks", "mixture_loglik", "responsibilities"]
