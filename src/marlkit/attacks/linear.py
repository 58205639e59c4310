"""Exact observation attacks on a linear-softmax policy ``π(a | o) = softmax(W o + b)_a`` (closed forms).

Derivation (NumPy float64; the policy of one agent, ``W [A, d]``, ``b [A]``, observation ``o [d]``). With logits
``z(o) = W o + b`` and the clean greedy action ``a* = argmax_a z_a(o)``, the **logit margin** of ``a*`` over another
action ``c`` under a perturbation ``δ`` is *affine* in δ:

    m_c(δ) = z_a*(o + δ) - z_c(o + δ) = m_c + w_c · δ,    m_c = z_a*(o) - z_c(o) >= 0,   w_c = W_a* - W_c.

By Hölder's inequality, over the ball ``‖δ‖_p <= ε``, ``min_δ w_c · δ = -ε ‖w_c‖_q`` with ``q`` the dual norm of
``p`` (``1/p + 1/q = 1``: L∞ ↔ L1, L2 ↔ L2, L1 ↔ L∞), reached at

    L∞: δ = -ε sign(w_c);     L2: δ = -ε w_c / ‖w_c‖_2;     L1: δ = -ε sign(w_c,k) e_k,  k = argmax_k |w_c,k|.

So (:func:`margin_attack`) the smallest reachable margin is ``m_c - ε ‖w_c‖_q``, and (:func:`flip_budget`) the
**minimal budget that flips** ``a*`` **to** ``c`` is ``ε_c = m_c / ‖w_c‖_q`` (``+∞`` when ``w_c = 0``; at
``ε = ε_c`` the two logits tie, any larger ε makes ``c`` beat ``a*``); the minimal budget that changes the greedy
action at all is ``min_{c != a*} ε_c`` — ``c`` must beat *every* other action only for a targeted flip, but
``a*`` stops being the argmax as soon as any single margin turns negative.

FGSM is exact here: for ``A = 2`` the cross-entropy ``-log π(a* | o + δ) = log(1 + exp(-m_c(δ)))`` and the targeted
objective ``log π(c | o + δ) = -log(1 + exp(m_c(δ)))`` are decreasing functions of the margin alone, their gradient
is a positive multiple of ``-w_c``, so the one signed (L∞) or normalised (L2) step of size ε is the minimiser above.
For ``A > 2`` the softmax gradient mixes the rows of W and FGSM is in general not optimal; the closed form is.
(The same argument is the linear case of Goodfellow, Shlens & Szegedy 2015, §3, and of the minimal-perturbation
formula of DeepFool, Moosavi-Dezfooli, Fawzi & Frossard 2016, Eq. 3-4 for affine multiclass classifiers.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.uncertainty import OBSERVATION_NORMS

DUAL = {"linf": 1.0, "l2": 2.0, "l1": np.inf}
"""The dual norm ``q`` of each ball norm ``p`` (``1/p + 1/q = 1``)."""

__all__ = ["DUAL", "dual_norm", "flip_budget", "linear_softmax", "logits", "margin_attack"]


def _check(W: Any, b: Any, obs: Any, norm: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if norm not in OBSERVATION_NORMS:
        raise InvalidGameError(f"linear attack: norm must be one of {list(OBSERVATION_NORMS)}, got {norm!r}")
    W, b, o = (np.asarray(x, dtype=np.float64) for x in (W, b, obs))
    if W.ndim != 2 or b.shape != (W.shape[0],) or o.shape[-1:] != (W.shape[1],):
        raise InvalidGameError(
            f"linear attack: expected W [A, d], b [A], obs [..., d]; got {W.shape}, {b.shape}, {o.shape}"
        )
    return W, b, o


def dual_norm(x: np.ndarray, norm: str) -> np.ndarray:
    """``‖x‖_q`` over the last axis, ``q`` the dual of the ball norm ``norm`` (:data:`DUAL`)."""
    return np.linalg.norm(x, ord=DUAL[norm], axis=-1)


def logits(W: Any, b: Any, obs: Any) -> np.ndarray:
    """``z = W o + b`` for ``obs [..., d]`` -> ``[..., A]``."""
    W, b, o = _check(W, b, obs, "linf")
    return o @ W.T + b


def flip_budget(W: Any, b: Any, obs: Any, norm: str = "linf") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The minimal ``L_norm`` budget that changes the greedy action of ``softmax(W o + b)`` (module docstring).

    Returns ``(budget [...], to [...], per_action [..., A])``: the smallest ``ε_c = m_c / ‖W_a* - W_c‖_q`` over
    ``c != a*``, the action ``c`` reaching it, and every ``ε_c`` (``0`` for ``c`` tied with ``a*``, ``+∞`` for ``a*``
    itself and for rows equal to ``W_a*``). The greedy action is the first maximiser of the logits.
    """
    W, b, o = _check(W, b, obs, norm)
    z = o @ W.T + b
    best = np.argmax(z, axis=-1)
    margin = np.take_along_axis(z, best[..., None], axis=-1) - z  # [..., A] >= 0
    rows = W[best][..., None, :] - W  # [..., A, d]
    scale = dual_norm(rows, norm)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_action = np.where(scale > 0, margin / np.where(scale > 0, scale, 1.0), np.inf)
    np.put_along_axis(per_action, best[..., None], np.inf, axis=-1)
    to = np.argmin(per_action, axis=-1)
    return np.take_along_axis(per_action, to[..., None], axis=-1)[..., 0], to, per_action


def margin_attack(W: Any, b: Any, obs: Any, target: Any, epsilon: float, norm: str = "linf") -> np.ndarray:
    """The perturbation ``δ [..., d]`` with ``‖δ‖_norm <= ε`` minimising the margin ``z_a*(o + δ) - z_c(o + δ)`` of
    the clean greedy action over ``c = target`` (module docstring; ``δ = 0`` where ``c = a*`` or ``w_c = 0``)."""
    W, b, o = _check(W, b, obs, norm)
    if not np.isfinite(epsilon) or epsilon < 0:
        raise InvalidGameError(f"linear attack: epsilon must be a finite number >= 0, got {epsilon!r}")
    best = np.argmax(o @ W.T + b, axis=-1)
    c = np.broadcast_to(np.asarray(target, dtype=int), best.shape)
    w = W[best] - W[c]  # [..., d]
    if norm == "linf":
        step = np.sign(w)
    elif norm == "l2":
        length = np.linalg.norm(w, axis=-1, keepdims=True)
        step = np.where(length > 0, w / np.where(length > 0, length, 1.0), 0.0)
    else:
        k = np.argmax(np.abs(w), axis=-1)
        step = np.zeros_like(w)
        np.put_along_axis(step, k[..., None], np.take_along_axis(np.sign(w), k[..., None], axis=-1), axis=-1)
    return -float(epsilon) * step


def linear_softmax(params: tuple[Any, Any], obs: Any) -> Any:
    """The linear-softmax policy in JAX, for :func:`marlkit.agents.deep.attacks.gradient_attack`:
    ``params = (W [A, d] or [n, A, d], b [A] or [n, A])``, ``obs [E, n, d]`` -> ``probs [E, n, A]``."""
    import jax
    import jax.numpy as jnp

    W, b = (jnp.asarray(x, jnp.float32) for x in params)
    z = jnp.einsum("end,ad->ena" if W.ndim == 2 else "end,nad->ena", obs, W) + b
    return jax.nn.softmax(z, axis=-1)
