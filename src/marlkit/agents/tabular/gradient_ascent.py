"""Infinitesimal gradient ascent (IGA) and WoLF-IGA for two-player, two-action games.

**IGA** (Singh, Kearns & Mansour 2000, "Nash convergence of gradient dynamics in general-sum games", UAI, §3):
the row player plays its first action with probability α, the column player with probability β, and

    V_r(α, β) = r11 αβ + r22 (1−α)(1−β) + r12 α(1−β) + r21 (1−α)β,
    ∂V_r/∂α = βu − (r22 − r12),    u  = r11 + r22 − r12 − r21,
    ∂V_c/∂β = αu' − (c22 − c21),   u' = c11 + c22 − c21 − c12,

    α_{k+1} = Π_[0,1](α_k + η ∂V_r/∂α(α_k, β_k)),   β_{k+1} = Π_[0,1](β_k + η ∂V_c/∂β(α_k, β_k)),

with Π the projection onto [0, 1] (the "projected gradient" at the boundary). Equivalently ∂V_i/∂p_i = f_i(1st)
− f_i(2nd), the difference of the fitnesses of :func:`~marlkit.agents.tabular.replicator.population_fitness`,
which is how it is computed here. Singh et al. (Thm. 1 / §4, as η → 0): the strategies converge to a Nash
equilibrium, **or** — when the unconstrained dynamics is a centre (uu' < 0, e.g. matching pennies) — they cycle
and only the *average payoffs* converge to the Nash equilibrium's values.

**WoLF-IGA** (Bowling & Veloso 2002, "Multiagent learning using a variable learning rate", AIJ 136, §4.1):
α_{k+1} = Π(α_k + η ℓ^r_k ∂V_r/∂α) with

    ℓ^r_k = ℓ_min  if V_r(α_k, β_k) > V_r(α^e, β_k)  ("winning")   else ℓ_max,     ℓ_max > ℓ_min > 0,

and likewise for the column player with β^e; (α^e, β^e) is a Nash equilibrium. Thm. 3 there: in every 2x2
game WoLF-IGA's strategies converge to a Nash equilibrium (as η → 0). **Where the equilibrium comes from**: given
by the caller (``equilibrium=(α^e, β^e)``, checked to be one), or computed exactly with
:func:`marlkit.solve.vertex_enumeration.game_equilibria`; where the game has several, the most mixed one (largest
total support) is used, ties to the first listed — in the games where IGA cycles the equilibrium is unique and
interior, and in the others the theorem holds for any choice.

Exposed twice, like the replicator dynamics: :func:`iga_trajectory` / :func:`wolf_iga_trajectory` (pure JAX,
float32, one ``lax.scan``, batched over initial conditions) and the full-information learners :class:`IGA` /
:class:`WoLFIGA` (``needs_policies = True``; the game is given **at construction**, ``check`` verifies it is the
game trained on) whose updates are the same step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.tabular.base import (
    Array,
    GroupSpec,
    LearnerConfigError,
    Schedule,
    as_schedule,
    scheduled,
)
from marlkit.agents.tabular.replicator import DynamicsState, PolicyDynamics, as_game, population_fitness
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame
from marlkit.schema import setting, validate
from marlkit.solve.vertex_enumeration import game_equilibria

EQUILIBRIUM_TOLERANCE = 1e-9
"""Largest incentive to deviate allowed for a caller's ``equilibrium`` (float64, exact payoffs)."""

# ------------------------------------------------------------------------------------------------- edge


def two_by_two(A: object, B: object | None = None, where: str = "IGA") -> NormalFormGame:
    """The 2x2 game (A, B) — or a :class:`NormalFormGame` passed as ``A`` — validated for IGA."""
    if B is None:
        game = as_game(A, where)
    else:
        a, b = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
        if a.shape != b.shape:
            raise InvalidGameError(f"{where}: A {a.shape} and B {b.shape} must have the same shape")
        game = as_game(np.stack([a, b]), where)
    if game.n_players != 2 or game.num_actions != (2, 2):
        raise NotApplicableError(
            f"{where} is defined for two-player, two-action games (Singh, Kearns & Mansour 2000), got {game!r}; "
            "for more actions use the replicator dynamics (marlkit.agents.tabular.replicator)"
        )
    return game


def _profile(alpha: float, beta: float) -> list[np.ndarray]:
    return [np.array([alpha, 1.0 - alpha]), np.array([beta, 1.0 - beta])]


def _incentive(game: NormalFormGame, alpha: float, beta: float) -> float:
    """Σ_i max_a u_i(a, σ_-i) − u_i(σ) (NashConv) of the profile (α, β), float64."""
    x, y = _profile(alpha, beta)
    A, B = game.payoffs
    return float(np.max(A @ y) - x @ A @ y + np.max(x @ B) - x @ B @ y)


def equilibrium_strategy(game: NormalFormGame, equilibrium: tuple[float, float] | None = None) -> tuple[float, float]:
    """(α^e, β^e) for WoLF-IGA: the caller's (checked) or the most mixed equilibrium found by vertex enumeration."""
    if equilibrium is not None:
        try:
            alpha, beta = (float(v) for v in equilibrium)
        except (TypeError, ValueError):
            raise LearnerConfigError(f"equilibrium: expected (α^e, β^e), got {equilibrium!r}") from None
        if not (0.0 <= alpha <= 1.0 and 0.0 <= beta <= 1.0):
            raise LearnerConfigError(f"equilibrium: probabilities must lie in [0, 1], got {(alpha, beta)}")
        gap = _incentive(game, alpha, beta)
        if gap > EQUILIBRIUM_TOLERANCE:
            raise LearnerConfigError(
                f"equilibrium {(alpha, beta)} is not a Nash equilibrium of {game!r} (NashConv {gap:.3g}); leave it "
                "None to compute one exactly"
            )
        return alpha, beta
    found = game_equilibria(game)
    best = max(found, key=lambda e: sum(len(s) for s in e.supports))  # max keeps the first of ties
    return float(best.profile[0][0]), float(best.profile[1][0])


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise LearnerConfigError(f"{name}: expected a positive number, got {value}")
    return value


def _check_rates(l_min: float, l_max: float, where: str) -> tuple[float, float]:
    l_min, l_max = _check_positive(f"{where}.l_min", l_min), _check_positive(f"{where}.l_max", l_max)
    if not l_max > l_min:
        raise LearnerConfigError(
            f"{where}: needs l_max > l_min > 0 (learn fast while losing; Bowling & Veloso 2002 §4.1), got "
            f"l_min={l_min}, l_max={l_max}; equal rates are plain IGA"
        )
    return l_min, l_max


def _check_probability(name: str, value: object) -> np.ndarray | jax.Array:
    if isinstance(value, jax.core.Tracer):
        return value
    p = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise InvalidGameError(f"{name}: the probability of the first action must lie in [0, 1], got {value!r}")
    return p


# ------------------------------------------------------------------------------------------------ steps


def gradient(payoffs: Array, x: Array) -> tuple[Array, Array]:
    """∂V_i/∂p_i = f_i(1st) − f_i(2nd) for both players, and the fitnesses ``[2, 2]``, at profile ``x [2, 2]``."""
    f = population_fitness(payoffs, x)
    return f[:, 0] - f[:, 1], f


def winning(x: Array, f: Array, equilibrium: Array) -> Array:
    """Bowling & Veloso's test V_i(x_i, x_-i) > V_i(x_i^e, x_-i), per row of ``x``, ``f``, ``equilibrium``."""
    return jnp.sum(x * f, axis=-1) > jnp.sum(equilibrium * f, axis=-1)


def projected_step(p: Array, grad: Array, eta: Array) -> Array:
    """Π_[0,1](p + η · ∂V/∂p)."""
    return jnp.clip(p + eta * grad, 0.0, 1.0)


def as_policy(p: Array) -> Array:
    """(p, 1 − p) along a new last axis."""
    return jnp.stack([p, 1.0 - p], axis=-1)


class GradientTrajectory(NamedTuple):
    """A (WoLF-)IGA run; leading axes are the broadcast batch shape of (x0, y0), then time."""

    alpha: Array  # [..., steps + 1] row player's probability of its first action (index 0 = α_0)
    beta: Array  # [..., steps + 1] column player's
    values: Array  # [..., steps + 1, 2] V_r, V_c at each point
    winning: Array | None  # [..., steps, 2] bool: the WoLF test at each step (None for IGA)


@partial(jax.jit, static_argnames=("steps", "wolf"))
def _run(
    payoffs: Array, p0: Array, eta: Array, rates: Array, equilibrium: Array, steps: int, wolf: bool
) -> tuple[Array, Array, Array]:
    def body(p: Array, _: None) -> tuple[Array, tuple[Array, Array, Array]]:
        x = as_policy(p)
        grad, f = gradient(payoffs, x)
        win = winning(x, f, equilibrium)
        rate = jnp.where(win, rates[0], rates[1]) if wolf else jnp.ones_like(grad)
        return projected_step(p, grad, eta * rate), (p, jnp.sum(x * f, axis=-1), win)

    def one(p: Array) -> tuple[Array, Array, Array]:
        last, (ps, values, wins) = jax.lax.scan(body, p, None, length=steps)
        x = as_policy(last)
        final = jnp.sum(x * gradient(payoffs, x)[1], axis=-1)
        return jnp.concatenate([ps, last[None]]), jnp.concatenate([values, final[None]]), wins

    return jax.vmap(one)(p0)


def _trajectory(
    game: NormalFormGame,
    x0: object,
    y0: object,
    eta: float,
    steps: int,
    rates: tuple[float, float] | None,
    equilibrium: tuple[float, float],
) -> GradientTrajectory:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or int(steps) < 1:
        raise LearnerConfigError(f"steps: expected an integer >= 1, got {steps!r}")
    eta = _check_positive("eta", eta)
    alpha, beta = jnp.broadcast_arrays(
        jnp.asarray(_check_probability("x0", x0), jnp.float32), jnp.asarray(_check_probability("y0", y0), jnp.float32)
    )
    batch = alpha.shape
    p0 = jnp.stack([alpha.reshape(-1), beta.reshape(-1)], axis=-1)
    ps, values, wins = _run(
        jnp.asarray(game.payoffs, jnp.float32),
        p0,
        jnp.float32(eta),
        jnp.asarray((1.0, 1.0) if rates is None else rates, jnp.float32),
        as_policy(jnp.asarray(equilibrium, jnp.float32)),
        int(steps),
        rates is not None,
    )
    ps = ps.reshape(*batch, int(steps) + 1, 2)
    return GradientTrajectory(
        alpha=ps[..., 0],
        beta=ps[..., 1],
        values=values.reshape(*batch, int(steps) + 1, 2),
        winning=None if rates is None else wins.reshape(*batch, int(steps), 2),
    )


def iga_trajectory(A: object, B: object, x0: object, y0: object, eta: float, steps: int) -> GradientTrajectory:
    """IGA with step η from (α_0, β_0) = (x0, y0) (scalars or broadcastable arrays of initial conditions).

    Args:
        A, B: the row and column players' 2x2 payoff matrices (``A[i, j]`` = r_{i+1, j+1}).
        x0, y0: the probabilities of each player's first action.
        eta: the step size η > 0 (the theory is the η → 0 limit; errors of the discrete step are O(η)).
        steps: the number of steps.

    Raises:
        NotApplicableError: the game is not 2x2. InvalidGameError: bad payoffs or probabilities.
        LearnerConfigError: a non-positive η or a bad step count.
    """
    game = two_by_two(A, B, "iga_trajectory")
    return _trajectory(game, x0, y0, eta, steps, None, (0.5, 0.5))


def wolf_iga_trajectory(
    A: object,
    B: object,
    x0: object,
    y0: object,
    eta: float,
    steps: int,
    l_min: float = 1.0,
    l_max: float = 4.0,
    equilibrium: tuple[float, float] | None = None,
) -> GradientTrajectory:
    """WoLF-IGA (Bowling & Veloso 2002 §4.1): IGA whose step is η·ℓ_min while winning, η·ℓ_max otherwise.

    ``equilibrium = (α^e, β^e)`` defines "winning"; None computes it exactly (see the module docstring).
    ``trajectory.winning`` records the test at each step. Other arguments as :func:`iga_trajectory`.
    """
    game = two_by_two(A, B, "wolf_iga_trajectory")
    rates = _check_rates(l_min, l_max, "wolf_iga_trajectory")
    return _trajectory(game, x0, y0, eta, steps, rates, equilibrium_strategy(game, equilibrium))


# ---------------------------------------------------------------------------------------------- learners


@dataclass(frozen=True)
class IGA(PolicyDynamics):
    """IGA as a full-information learner in the loop: one projected gradient step per update.

    η = ``step_size(t, t + 1)`` (a schedule or a number). Reads the other agent's current policy from
    ``Transition.policies``; ``game`` (2x2) is given at construction. Metrics: ``expected_payoff`` (V_i before
    the step), ``gradient`` (∂V_i/∂p_i).
    """

    step_size: Schedule | float = setting(0.01, doc="η, the gradient step", range=(0, None), open="low")

    def __post_init__(self) -> None:
        super().__post_init__()
        two_by_two(self.game, None, type(self).__name__)
        validate(self, LearnerConfigError)  # the fields' declared ranges (issue 15)
        object.__setattr__(self, "step_size", as_schedule(self.step_size, f"{type(self).__name__}.step_size"))

    def _rate(self, state: DynamicsState, x: Array, f: Array) -> tuple[Array, dict[str, Array]]:
        """The per-agent multiplier of η (IGA: 1) and any extra metrics."""
        return jnp.ones(x.shape[0], jnp.float32), {}

    def advance(self, state: DynamicsState, x: Array, f: Array) -> tuple[Array, dict[str, Array]]:
        grad = f[:, 0] - f[:, 1]
        rate, metrics = self._rate(state, x, f)
        eta = scheduled(self.step_size)(state.step, state.step + 1) * rate
        return as_policy(projected_step(x[:, 0], grad, eta)), {"gradient": grad, **metrics}


@dataclass(frozen=True)
class WoLFIGA(IGA):
    """WoLF-IGA as a learner: IGA with rate ℓ_min while winning against the equilibrium strategy, else ℓ_max.

    ``equilibrium=(α^e, β^e)`` or None (computed exactly at construction; see the module docstring). Metrics:
    those of :class:`IGA` plus ``winning`` (1 when the ℓ_min branch was taken).
    """

    l_min: float = setting(1.0, doc="the rate while winning", range=(0, None), open="low")
    l_max: float = setting(4.0, doc="the rate while losing (> l_min)", range=(0, None), open="low")
    equilibrium: tuple[float, float] | None = setting(
        None, doc="the equilibrium strategies (null: computed)", range=(0, 1)
    )
    _strategy: tuple[float, float] = field(init=False, repr=False, default=(0.5, 0.5))

    def __post_init__(self) -> None:
        super().__post_init__()
        rates = _check_rates(self.l_min, self.l_max, "WoLFIGA")
        object.__setattr__(self, "l_min", rates[0])
        object.__setattr__(self, "l_max", rates[1])
        strategy = equilibrium_strategy(self.game, self.equilibrium)
        object.__setattr__(self, "_strategy", strategy)
        if self.equilibrium is not None:
            object.__setattr__(self, "equilibrium", strategy)  # a hashable tuple of floats

    def arrays(self, spec: GroupSpec) -> dict[str, np.ndarray]:
        """The payoffs and the equilibrium strategies (α^e, β^e) float32 (inputs of the compiled program)."""
        return {**super().arrays(spec), "equilibrium": np.asarray(self._strategy, dtype=np.float32)}

    def _rate(self, state: DynamicsState, x: Array, f: Array) -> tuple[Array, dict[str, Array]]:
        equilibrium = as_policy(state.data["equilibrium"])[state.agents]  # x_i^e per controlled row
        win = winning(x, f, equilibrium)
        return jnp.where(win, self.l_min, self.l_max).astype(jnp.float32), {"winning": win.astype(jnp.float32)}


__all__ = [
    "IGA",
    "GradientTrajectory",
    "WoLFIGA",
    "equilibrium_strategy",
    "iga_trajectory",
    "wolf_iga_trajectory",
]
