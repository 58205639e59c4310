"""Out-of-distribution (novelty) detectors on observations, for hand-over of control (issue 21, item 5).

A detector is fitted on the observations a trained AI met in its own rollouts (``[M, n, D]``: M samples of every
agent's observation) and scores a new observation of each agent: the larger the score, the less familiar the
observation. Each detector is a NamedTuple of arrays (a JAX pytree: one compiled program serves every fitted
detector of one kind and shape) whose ``score(obs [..., n, D]) -> [..., n]`` runs inside compiled rollouts.

* ``mahalanobis``: the squared Mahalanobis distance to agent i's observations,
  ``s_i(o) = (o - μ_i)ᵀ Σ̂_i⁻¹ (o - μ_i)`` — the class-conditional Gaussian score of Lee et al. 2018 ("A simple
  unified framework for detecting out-of-distribution samples and adversarial attacks", NeurIPS), here on the raw
  observation with one Gaussian per agent. ``Σ̂_i`` is the Ledoit-Wolf shrinkage estimate
  ``(1 - α) S + α (tr S / D) I`` (Ledoit & Wolf 2004, "A well-conditioned estimator for large-dimensional covariance
  matrices", J. Multivariate Analysis 88; α by their closed form, :func:`ledoit_wolf`, as scikit-learn's
  ``LedoitWolf``), which
  stays invertible where an observation entry never varies in training (MPE's silent communication channels).
* ``knn``: the Euclidean distance from the standardised observation ``z = (o - μ_i) / σ_i`` to its k-th nearest
  standardised training observation of agent i (a bank of at most ``bank`` of them) — the deep nearest-neighbour
  score of Sun et al. 2022 ("Out-of-distribution detection with deep nearest neighbors", ICML), on observations;
  ``σ_i`` is floored at 1e-3 so a never-varying entry does not divide by zero.

* ``ensemble``: the disagreement of an ensemble of independently trained policies (a run's seeds) — deep ensembles
  (Lakshminarayanan et al. 2017, "Simple and scalable predictive uncertainty estimation using deep ensembles",
  NeurIPS) — measured as the mutual information between the action and the member, ``H(π̄(o)) - (1/M) Σ_m
  H(π_m(o))`` (the epistemic part of the predictive entropy; Houlsby et al. 2011, BALD; Depeweg et al. 2018):
  0 where the members agree, large where they act differently. Nothing is fitted; it reads the policies.

:func:`calibrated_cutoffs` turns levels ``q in [0, 1]`` into score cutoffs from held-out in-distribution scores
(the empirical q-quantile, ``q = 0`` -> -inf, ``q = 1`` -> +inf); :func:`auroc` is the area under the ROC curve of
a score separating two samples (the Mann-Whitney statistic).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.registry import Registry

Array = jax.Array
STD_FLOOR = 1e-3
"""The smallest per-entry standard deviation the k-NN detector divides by."""


class Mahalanobis(NamedTuple):
    """Per-agent Gaussian: ``mean [n, D]``, ``precision [n, D, D]`` (the inverse shrunk covariance)."""

    mean: Array
    precision: Array

    def score(self, obs: Array) -> Array:
        """``(o - μ_i)ᵀ P_i (o - μ_i)`` for ``obs [..., n, D]`` -> ``[..., n]``."""
        x = obs - self.mean
        return jnp.einsum("...nd,nde,...ne->...n", x, self.precision, x)


class KNearest(NamedTuple):
    """Per-agent bank of standardised observations ``bank [n, M, D]``, with ``mean [n, D]``, ``scale [n, D]`` (1 / σ)
    and the neighbour index ``k - 1`` as ``rank []`` int32."""

    bank: Array
    mean: Array
    scale: Array
    rank: Array

    def score(self, obs: Array) -> Array:
        """Distance to the k-th nearest bank entry of the same agent, ``obs [..., n, D]`` -> ``[..., n]``."""
        z = (obs - self.mean) * self.scale  # [..., n, D]
        d2 = jnp.sum(jnp.square(z[..., None, :] - self.bank), axis=-1)  # [..., n, M]
        kth = jnp.take(jnp.sort(d2, axis=-1), self.rank, axis=-1)
        return jnp.sqrt(jnp.maximum(kth, 0.0))


class EnsembleDisagreement(NamedTuple):
    """An ensemble of one actor's parameter sets ``members`` (leading axis M): its disagreement at an observation is
    the mutual information ``H(π̄) - (1/M) Σ_m H(π_m)`` with ``π̄`` the members' mean action distribution (module
    docstring). It reads the policies, so it scores through :meth:`score_with`, not ``score``."""

    members: Any

    def score_with(self, actor: Any, observation: Any) -> Array:
        """``[E, n]``: the disagreement of the members' policies at ``observation`` (an ``Observation`` batch)."""
        probs = jax.vmap(lambda p: actor.policy(p, observation, ()))(self.members)  # [M, E, n, A]
        return entropy(probs.mean(axis=0)) - entropy(probs).mean(axis=0)


def entropy(p: Array) -> Array:
    """``-Σ_a p_a log p_a`` over the last axis (``0 log 0 = 0``)."""
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), axis=-1)


Detector = Mahalanobis | KNearest | EnsembleDisagreement


def _samples(observations: Any, minimum: int) -> np.ndarray:
    x = np.asarray(observations, np.float64)
    if x.ndim != 3 or not np.all(np.isfinite(x)):
        raise InvalidGameError(f"detector: expected finite observations [M, n, D], got shape {x.shape}")
    if x.shape[0] < minimum:
        raise NotApplicableError(
            f"detector: {x.shape[0]} observations per agent are too few to fit (need at least {minimum}); "
            "use more episodes"
        )
    return x


def ledoit_wolf(x: np.ndarray) -> np.ndarray:
    """The Ledoit-Wolf covariance of samples ``x [M, D]`` (float64): ``(1 - α) S + α μ I`` with ``S`` the maximum
    likelihood covariance, ``μ = tr S / D``, ``α = min(b², d²) / d²``, ``d² = ||S - μI||²_F``,
    ``b² = (1/M²) Σ_k ||x_k x_kᵀ - S||²_F`` (centred samples; Ledoit & Wolf 2004, Lemma 3.2 and Theorem 3.1;
    ``b²`` expanded as ``(1/M²)(Σ_k |x_k|⁴) - ||S||²_F / M`` so no ``[M, D, D]`` array is formed)."""
    m, d = x.shape
    xc = x - x.mean(axis=0)
    S = xc.T @ xc / m
    mu = np.trace(S) / d
    delta = float(np.sum((S - mu * np.eye(d)) ** 2))
    beta = float(np.sum(np.sum(xc**2, axis=1) ** 2) / m**2 - np.sum(S**2) / m)
    alpha = 0.0 if delta <= 0 else min(max(beta, 0.0), delta) / delta
    return np.asarray((1 - alpha) * S + alpha * mu * np.eye(d))


def fit_mahalanobis(observations: Any) -> Mahalanobis:
    """Fit the ``mahalanobis`` detector (module docstring) on ``observations [M, n, D]`` (float64 fit, float32
    arrays)."""
    x = _samples(observations, 2)
    means = x.mean(axis=0)
    precisions = []
    for i in range(x.shape[1]):
        sigma = ledoit_wolf(x[:, i])
        if not np.all(np.linalg.eigvalsh(sigma) > 0):
            raise NotApplicableError(
                "mahalanobis detector: the observations do not vary at all (a singular covariance); use knn"
            )
        precisions.append(np.linalg.inv(sigma))
    return Mahalanobis(jnp.asarray(means, jnp.float32), jnp.asarray(np.stack(precisions), jnp.float32))


def fit_knn(observations: Any, *, k: int = 5, bank: int = 1024, seed: int = 0) -> KNearest:
    """Fit the ``knn`` detector (module docstring): at most ``bank`` observations per agent, drawn without
    replacement with NumPy's PCG64 (``seed``) when there are more."""
    if not (isinstance(k, int) and k >= 1) or not (isinstance(bank, int) and bank >= 1):
        raise InvalidGameError(f"knn detector: k and bank must be integers >= 1, got k={k!r}, bank={bank!r}")
    x = _samples(observations, max(k, 2))
    mean = x.mean(axis=0)
    scale = 1.0 / np.maximum(x.std(axis=0), STD_FLOOR)
    if x.shape[0] > bank:
        x = x[np.sort(np.random.default_rng(seed).choice(x.shape[0], bank, replace=False))]
    z = ((x - mean) * scale).transpose(1, 0, 2)  # [n, M, D]
    return KNearest(
        jnp.asarray(z, jnp.float32),
        jnp.asarray(mean, jnp.float32),
        jnp.asarray(scale, jnp.float32),
        jnp.asarray(min(k, x.shape[0]) - 1, jnp.int32),
    )


def ensemble(*, members: Any) -> EnsembleDisagreement:
    """The ``ensemble`` detector of parameter sets ``members`` (leading axis M >= 2; nothing is fitted)."""
    leaves = jax.tree_util.tree_leaves(members)
    if not leaves or np.shape(leaves[0])[0] < 2:
        raise NotApplicableError("ensemble detector: needs at least 2 members (a run with 2 or more seeds)")
    return EnsembleDisagreement(members)


DETECTORS: Registry[Detector] = Registry(
    "novelty detector", param_error=InvalidGameError, hint="Write e.g. --detector mahalanobis."
)
"""Detectors by name: ``DETECTORS.make(name, observations=..., **params)`` fits one (``ensemble``: ``members=``)."""
DETECTORS.add(
    "mahalanobis",
    fit_mahalanobis,
    description="squared Mahalanobis distance, Ledoit-Wolf shrinkage, one Gaussian per agent",
    citation="Lee et al. 2018 (NeurIPS); Ledoit & Wolf 2004",
)
DETECTORS.add(
    "knn",
    fit_knn,
    description="distance to the k-th nearest standardised training observation (k=5, bank=1024)",
    citation="Sun et al. 2022, Out-of-distribution detection with deep nearest neighbors (ICML)",
)
DETECTORS.add(
    "ensemble",
    ensemble,
    description="disagreement (mutual information) of the run's seeds' policies; needs >= 2 seeds, fits nothing",
    citation="Lakshminarayanan et al. 2017 (NeurIPS); Houlsby et al. 2011 (BALD)",
)


def check_levels(levels: Sequence[float] | np.ndarray, what: str = "threshold") -> np.ndarray:
    """``levels`` as a float64 array of numbers in [0, 1], else InvalidGameError naming ``what``."""
    values = np.asarray(list(levels), np.float64)
    if values.ndim != 1 or values.size == 0:
        raise InvalidGameError(f"{what}: expected one or more levels in [0, 1], e.g. 0.5,0.9,0.99")
    bad = values[~((values >= 0) & (values <= 1))]
    if bad.size:
        raise InvalidGameError(
            f"{what} {bad[0]!r}: a level must be in [0, 1] (the share of in-distribution observations the AI keeps), "
            "e.g. 0.5,0.9,0.99"
        )
    return values


def calibrated_cutoffs(scores: Any, levels: Sequence[float] | np.ndarray) -> np.ndarray:
    """Score cutoffs ``[K]`` for levels ``q in [0, 1]`` from held-out in-distribution ``scores``: the empirical
    q-quantile (``numpy.quantile(..., method="inverted_cdf")``: the smallest held-out score with at least a
    fraction q of the held-out scores
    <= it); ``q = 0`` is -inf (nothing passes) and ``q = 1`` is +inf (everything passes)."""
    q = check_levels(levels)
    s = np.asarray(scores, np.float64).ravel()
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise NotApplicableError("calibrated_cutoffs: need finite held-out scores")
    inner = np.quantile(s, np.clip(q, 0.0, 1.0), method="inverted_cdf")
    return np.where(q <= 0, -np.inf, np.where(q >= 1, np.inf, inner))


def auroc(inside: Any, outside: Any) -> float:
    """``P(s_out > s_in) + P(s_out = s_in) / 2`` for independent draws of the two samples: the area under the ROC
    curve of the score as a detector of ``outside`` (Hanley & McNeil 1982: the Mann-Whitney U over ``n_in n_out``),
    computed from average ranks. 0.5: no separation; 1: every outside score above every inside score."""
    from scipy.stats import rankdata

    a = np.asarray(inside, np.float64).ravel()
    b = np.asarray(outside, np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise NotApplicableError("auroc: both samples need at least one score")
    ranks = rankdata(np.concatenate([a, b]))
    u = ranks[a.size :].sum() - b.size * (b.size + 1) / 2.0
    return float(u / (a.size * b.size))


__all__ = [
    "DETECTORS",
    "STD_FLOOR",
    "Detector",
    "EnsembleDisagreement",
    "KNearest",
    "Mahalanobis",
    "auroc",
    "calibrated_cutoffs",
    "check_levels",
    "ensemble",
    "entropy",
    "fit_knn",
    "fit_mahalanobis",
    "ledoit_wolf",
]
