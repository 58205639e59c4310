"""Linear-softmax policies π(a|o) = softmax(W o + b) (marlkit.attacks.linear; derivation in its docstring): the
closed-form margin attack equals brute force over a grid of the ball, the closed-form flipping budget equals a fine
radius scan, FGSM through JAX is the closed-form optimum when A = 2 (both the greedy cross-entropy and the targeted
objective), PGD reaches the same point there, and the PGD bisection of marlkit.attacks.flips recovers the closed-form
budget (A = 2) and never reports a budget below it (A = 3: a flip it finds is a real flip)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.agents.deep.attacks import Ball, fgsm, gradient_attack
from marlkit.agents.deep.base import Observation
from marlkit.attacks.flips import flip_search
from marlkit.attacks.linear import dual_norm, flip_budget, linear_softmax, logits, margin_attack
from marlkit.errors import InvalidGameError
from marlkit.games.uncertainty import ObservationBall


def grid_ball(norm: str, eps: float, k: int = 161) -> np.ndarray:
    """A fine grid of the 2-d ball (its boundary included), for brute force."""
    t = np.linspace(-eps, eps, k)
    pts = np.stack(np.meshgrid(t, t), -1).reshape(-1, 2)
    order = {"linf": np.inf, "l2": 2, "l1": 1}[norm]
    angle = np.linspace(0, 2 * np.pi, 4 * k, endpoint=False)
    circle = np.stack([np.cos(angle), np.sin(angle)], -1)
    rim = eps * circle / np.linalg.norm(circle, ord=order, axis=-1, keepdims=True)
    pts = np.concatenate([pts, rim, eps * np.array([[1, 0], [-1, 0], [0, 1], [0, -1.0]])])
    return pts[np.linalg.norm(pts, ord=order, axis=-1) <= eps + 1e-12]


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
def test_closed_forms_equal_brute_force_on_a_grid(norm: str) -> None:
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(3, 2)), rng.normal(size=3)
    for o in rng.normal(size=(5, 2)):
        z = logits(W, b, o)
        best = int(np.argmax(z))
        eps = 0.4
        grid = grid_ball(norm, eps)
        zs = logits(W, b, o + grid)
        for c in range(3):
            if c == best:
                continue
            delta = margin_attack(W, b, o, c, eps, norm)
            assert np.linalg.norm(delta, ord={"linf": np.inf, "l2": 2, "l1": 1}[norm]) <= eps + 1e-12
            closed = z[best] - z[c] - eps * dual_norm(W[best] - W[c], norm)
            reached = logits(W, b, o + delta)
            assert reached[best] - reached[c] == pytest.approx(closed, abs=1e-12)
            brute = (zs[:, best] - zs[:, c]).min()
            assert closed <= brute + 1e-12 and brute <= closed + 0.02 * eps * np.abs(W).sum()  # grid resolution
        # the minimal flipping budget: no point of a slightly smaller ball flips, one of a slightly larger ball does
        budget, _, _ = flip_budget(W, b, o, norm)
        for scale, flips in ((0.98, False), (1.02, True)):
            zs = logits(W, b, o + grid_ball(norm, scale * budget))
            assert bool(np.any(np.argmax(zs, axis=-1) != best)) == flips


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_fgsm_is_exact_on_a_two_action_linear_softmax(norm: str) -> None:
    rng = np.random.default_rng(1)
    n, d, E, eps = 2, 4, 16, 0.3
    W, b = rng.normal(size=(n, 2, d)), rng.normal(size=(n, 2))
    obs = rng.normal(size=(E, n, d)).astype(np.float32)
    ball = Ball.of(ObservationBall(eps, (0, 1), norm), n)
    params = (jnp.asarray(W), jnp.asarray(b))
    greedy = np.argmax(np.einsum("end,nad->ena", obs, W) + b, axis=-1)
    for objective, target in (("greedy", None), ("targeted", jnp.asarray(1 - greedy))):
        x = np.asarray(fgsm(linear_softmax, params, jnp.asarray(obs), ball, objective=objective, target=target))
        pgd = np.asarray(gradient_attack(linear_softmax, params, jnp.asarray(obs), ball, steps=7, objective=objective,
                                         target=target))  # fmt: skip
        for i in range(n):
            closed = obs[:, i] + margin_attack(W[i], b[i], obs[:, i], 1 - greedy[:, i], eps, norm)
            np.testing.assert_allclose(x[:, i], closed, atol=1e-5)
            # PGD (7 steps of 2.5 ε / 7): the gradient direction of a 2-action linear policy is the same at every
            # δ, so PGD walks to the same optimum (its objective is not better, and not worse)
            np.testing.assert_allclose(pgd[:, i], closed, atol=1e-5)


def test_fgsm_and_targeted_bad_input() -> None:
    params = (jnp.ones((2, 3)), jnp.zeros(2))
    obs, ball = jnp.zeros((1, 1, 3)), Ball.of(ObservationBall(0.1, (0,)), 1)
    with pytest.raises(InvalidGameError, match="zero gradient"):
        fgsm(linear_softmax, params, obs, ball, objective="kl")
    with pytest.raises(InvalidGameError, match="exactly when objective='targeted'"):
        gradient_attack(linear_softmax, params, obs, ball, objective="targeted")
    with pytest.raises(InvalidGameError, match="exactly when objective='targeted'"):
        gradient_attack(linear_softmax, params, obs, ball, target=jnp.zeros((1, 1), int))
    with pytest.raises(InvalidGameError, match="norm"):
        flip_budget(np.ones((2, 3)), np.zeros(2), np.zeros(3), "l3")


@dataclass(frozen=True)
class LinearLearner:
    """A linear-softmax policy behind the deep learner's ``policy`` method (state = (W [n, A, d], b [n, A]))."""

    def policy(self, state: Any, observation: Observation, memory: Any) -> Any:
        return linear_softmax(state, observation.obs)


@pytest.mark.parametrize("actions", [2, 3])
def test_pgd_bisection_finds_the_closed_form_budget(actions: int) -> None:
    rng = np.random.default_rng(2)
    n, d, B = 2, 3, 32
    W, b = rng.normal(size=(n, actions, d)), rng.normal(size=(n, actions))
    obs = rng.normal(size=(B, n, d)).astype(np.float32)
    observation = Observation(jnp.asarray(obs), jnp.ones((B, n, actions), bool), jnp.zeros((B, 1)), jnp.zeros(B, bool))
    state = (jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32))
    for agent in range(n):
        exact, _, _ = flip_budget(W[agent], b[agent], obs[:, agent], "linf")
        found = flip_search(LinearLearner(), state, observation, agent, max_epsilon=8.0, iterations=16, steps=10)
        resolution = 8.0 / 2**16
        reachable = exact < 8.0
        assert np.all(found[reachable] >= exact[reachable] - 1e-4)  # a flip found is a real flip
        if actions == 2:
            np.testing.assert_allclose(found[reachable], exact[reachable], atol=resolution + 1e-4)
            assert np.all(np.isinf(found[~reachable]))
    with pytest.raises(InvalidGameError, match="agent 5"):
        flip_search(LinearLearner(), state, observation, 5)
