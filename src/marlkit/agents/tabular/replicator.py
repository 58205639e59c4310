"""Replicator dynamics: the ODE, its RK4 / Euler integrations, the discrete replicator map, and a learner.

**Multi-population** (one population per player of an n-player normal-form game; Taylor & Jonker 1978;
Weibull 1995 ch. 5, the "standard" n-population replicator dynamics): population i plays the mixed strategy x_i and

    ẋ_i(a) = x_i(a) [u_i(a, x_-i) − u_i(x)],       u_i(x) = Σ_a x_i(a) u_i(a, x_-i),                      (1)

where u_i(a, x_-i) is player i's expected payoff of pure action a against the others' mixed strategies (its
*fitness*). **Single population** (a symmetric two-player game with row payoffs A; Taylor & Jonker 1978;
Hofbauer & Sigmund 1998 ch. 7; Weibull 1995 ch. 3): ẋ(a) = x(a) [(Ax)(a) − xᵀAx].

Forms exposed here (all pure JAX, float32, on zero-padded profiles ``[n, A_max]`` like the learners' policies):

* **continuous** — the vector field itself: :func:`replicator_velocity` (padded profile in, ẋ out) and
  :func:`replicator_ode` (``f(t, y)`` on the flat concatenated strategies, for scipy's ``solve_ivp``, diffrax
  or any other solver);
* **integrated** — :func:`replicator_trajectory` / :func:`symmetric_replicator_trajectory` with
  ``method="rk4"`` (classical fourth-order Runge-Kutta, global error O(dt⁴)) or ``"euler"`` (explicit Euler,
  x ← x + dt·ẋ: the step the learner takes), one ``jax.lax.scan`` per trajectory, batched over initial
  conditions (leading axes of ``x0``) and safe to ``jax.vmap``/``jax.jit`` over ``x0`` from outside;
* **discrete** — the discrete-time replicator map (Weibull 1995 ch. 4, discrete-time replicator dynamics)
  x_i(a) ← x_i(a) u_i(a, x_-i) / u_i(x), ``method="discrete"``. It needs **strictly positive payoffs**
  (fitness as an offspring count); a game with payoffs <= 0 is refused with an error — shift it with
  :func:`shift_payoffs` first. Shifting leaves (1) and the Nash equilibria unchanged but *not* the map: with
  payoffs u + c the map is x(a)(1 + u(a)/c) / (1 + u(x)/c), the linear multiplicative-weights update with step
  1/c, so a larger shift means smaller steps.

Known behaviour (the tests reproduce it): in a two-player zero-sum game with an interior equilibrium x*,
H(x) = Σ_i Σ_a x*_i(a) log x_i(a) is a constant of motion of (1) and orbits cycle around x* without converging
(Akin & Losert 1984, "Evolutionary dynamics of zero-sum games", J. Math. Biol. 20; Hofbauer 1996, "Evolutionary
dynamics for bimatrix games: a Hamiltonian system?", J. Math. Biol. 34, where H is the Hamiltonian); the
discrete map moves away from x* (Akin & Losert 1984, discrete time; Bailey & Piliouras 2018, "Multiplicative
weights update in zero-sum games", EC, for MWU, of which the shifted discrete map is the linear variant) —
:func:`equilibrium_divergence` = Σ_i KL(x*_i ‖ x_i) = −H(x) + const measures it.

**As a learner** (:class:`Replicator`): a full-information learner (``needs_policies = True``). It receives the
game **at construction** (``Replicator(game, ...)``; ``check`` verifies that the game it trains on is that
one-state game) and, at each update, reads the other agents' current policies from ``Transition.policies`` and
moves its own policy by one Euler step of (1) or one step of the discrete map. In self-play the recorded
policies are :func:`replicator_trajectory`'s with the same method and step (the tests check this to float32
precision). RK4 is not offered in the loop: its intermediate stages need the other agents' policies at times
they have not reached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.tabular.base import (
    PROBABILITY,
    Array,
    GroupSpec,
    LearnerConfigError,
    Schedule,
    Transition,
    UniformActing,
    as_schedule,
    learner_arrays,
    sample,
    scheduled,
)
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.games.properties import require_normal_form
from marlkit.schema import setting, validate

PROFILE_TOLERANCE = 1e-5
"""How far from 1 a given strategy's sum may be (strategies are float32 here: ~1e-7 per entry)."""

# ------------------------------------------------------------------------------------------- the game


def as_game(game: object, where: str = "game") -> NormalFormGame:
    """A :class:`NormalFormGame` as given, or built (and validated) from a payoff array ``[n, A_1..A_n]``."""
    if isinstance(game, NormalFormGame):
        return game
    if isinstance(game, StochasticGame):
        return require_normal_form(
            game,
            f"{where}: replicator and gradient dynamics",
            instead="Pass the stage game as a NormalFormGame (marlkit.games.stage_game(game, state)).",
        )
    try:
        return NormalFormGame(np.asarray(game, dtype=np.float64))
    except (TypeError, ValueError) as error:
        raise InvalidGameError(f"{where}: expected a NormalFormGame or a payoff array [n, A_1..A_n]: {error}") from None


def shift_payoffs(game: NormalFormGame | np.ndarray, minimum: float = 1.0) -> NormalFormGame:
    """The game with each player's payoffs shifted by a constant so that their smallest entry is ``minimum``.

    Use it before the discrete replicator map, which needs positive payoffs. A per-player constant leaves the
    replicator ODE (1), best responses and Nash equilibria unchanged; it does change the discrete map's step
    (see the module docstring).
    """
    g = as_game(game)
    if not np.isfinite(minimum) or minimum <= 0:
        raise InvalidGameError(f"shift_payoffs: minimum must be a positive number, got {minimum}")
    low = g.payoffs.reshape(g.n_players, -1).min(axis=1)
    shifted = g.payoffs + (minimum - low).reshape((-1,) + (1,) * g.n_players)
    return NormalFormGame(shifted, name=f"{g.name} (shifted)".strip(), player_names=g.player_names)


def require_positive(payoffs: np.ndarray, where: str) -> None:
    """The discrete map divides by the mean fitness: every payoff must be > 0."""
    if np.min(payoffs) <= 0:
        raise InvalidGameError(
            f"{where}: the discrete replicator map needs strictly positive payoffs (they are offspring counts), "
            f"but the smallest payoff is {np.min(payoffs):g}; shift them first, e.g. shift_payoffs(game, 1.0) "
            "(a constant per player leaves equilibria and the continuous dynamics unchanged)"
        )


def symmetric_matrix(game: object) -> np.ndarray:
    """Row payoffs A of a symmetric two-player game (B = Aᵀ), from a game or from a square matrix A."""
    if isinstance(game, NormalFormGame):
        if game.n_players != 2 or game.num_actions[0] != game.num_actions[1]:
            raise NotApplicableError(
                f"single-population dynamics need a symmetric two-player game, got {game!r}; use the "
                "multi-population form (replicator_trajectory) for other games"
            )
        A, B = game.payoffs
        if not np.allclose(B, A.T, rtol=0.0, atol=1e-12):
            raise NotApplicableError(
                f"single-population dynamics need a symmetric game (column payoffs = row payoffsᵀ); {game.name!r} "
                "is not; use the two-population form (replicator_trajectory)"
            )
        return A
    A = np.asarray(game, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1 or not np.all(np.isfinite(A)):
        raise InvalidGameError(
            f"single-population dynamics: expected a symmetric NormalFormGame or a finite square payoff matrix, "
            f"got shape {A.shape}"
        )
    return A


# ------------------------------------------------------------------------------------ fitness and steps


def population_fitness(payoffs: Array, profile: Array) -> Array:
    """u_i(a, x_-i) for every player i and action a, zero-padded: payoffs ``[n, A_1..A_n]``, profile
    ``[n, A_max]`` -> ``[n, A_max]`` (Shoham & Leyton-Brown 2009, Def. 3.2.7, one player's action kept pure)."""
    n, sizes = payoffs.shape[0], payoffs.shape[1:]
    a_max = profile.shape[-1]
    letters = "abcdefghijklmnopqrstuvwxyz"[:n]
    rows = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        spec = ",".join([letters, *(letters[j] for j in others)]) + "->" + letters[i]
        row = jnp.einsum(spec, payoffs[i], *(profile[j, : sizes[j]] for j in others))
        rows.append(jnp.pad(row, (0, a_max - sizes[i])))
    return jnp.stack(rows)


def single_population_fitness(matrix: Array, profile: Array) -> Array:
    """(Ax)(a) for the one population ``profile [1, m]`` of a symmetric game -> ``[1, m]``."""
    return (matrix @ profile[0])[None]


FITNESS: dict[str, Callable[[Array, Array], Array]] = {
    "populations": population_fitness,
    "single": single_population_fitness,
}
"""Fitness of every pure strategy given a profile, by kind of dynamics."""


def mean_fitness(x: Array, f: Array) -> Array:
    """u_i(x) = Σ_a x_i(a) f_i(a) / Σ_a x_i(a) per population (the division keeps rounding from driving Σ x)."""
    return jnp.sum(x * f, axis=-1, keepdims=True) / jnp.sum(x, axis=-1, keepdims=True)


def velocity(x: Array, f: Array) -> Array:
    """ẋ_i(a) = x_i(a) [f_i(a) − u_i(x)], eq. (1)."""
    return x * (f - mean_fitness(x, f))


def euler_map(x: Array, f: Array, dt: Array) -> Array:
    """One explicit Euler step of (1): x + dt·ẋ."""
    return x + dt * velocity(x, f)


def discrete_map(x: Array, f: Array, dt: Array) -> Array:
    """The discrete replicator map x(a) f(a) / u(x) (``dt`` is unused; payoffs must be positive)."""
    return x * f / mean_fitness(x, f)


LEARNER_MAPS: dict[str, Callable[[Array, Array, Array], Array]] = {"euler": euler_map, "discrete": discrete_map}
"""Steps that need the fitness at the current profile only (what a learner in the loop can compute)."""


def _one_evaluation(step: Callable[[Array, Array, Array], Array]) -> Callable:
    def advance(fitness: Callable[[Array], Array], x: Array, dt: Array) -> Array:
        return step(x, fitness(x), dt)

    return advance


def _rk4(fitness: Callable[[Array], Array], x: Array, dt: Array) -> Array:
    """Classical Runge-Kutta (Hairer, Nørsett & Wanner 1993, §II.1, Table 1.2)."""

    def field(z: Array) -> Array:
        return velocity(z, fitness(z))

    k1 = field(x)
    k2 = field(x + 0.5 * dt * k1)
    k3 = field(x + 0.5 * dt * k2)
    k4 = field(x + dt * k3)
    return x + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


INTEGRATORS: dict[str, Callable[[Callable[[Array], Array], Array, Array], Array]] = {
    "rk4": _rk4,
    "euler": _one_evaluation(euler_map),
    "discrete": _one_evaluation(discrete_map),
}
"""``method`` -> one step ``(fitness, x, dt) -> x'``."""


def check_method(method: object, allowed: dict[str, Any], where: str) -> str:
    if method not in allowed:
        raise LearnerConfigError(f"{where}: unknown method {method!r}; choose one of {sorted(allowed)}")
    return str(method)


def check_step(payoffs: np.ndarray, dt: float, method: str, where: str) -> None:
    """Euler and RK4 keep x in the simplex when dt·(payoff range) < 1: with it, 1 + dt(f(a) − u(x)) > 0."""
    if method == "discrete":
        require_positive(payoffs, where)
        return
    spread = float(np.max(np.ptp(payoffs.reshape(payoffs.shape[0], -1), axis=1)))
    if not np.isfinite(dt) or dt <= 0:
        raise LearnerConfigError(f"{where}: the step dt must be a positive number, got {dt}")
    if dt * spread >= 1.0:
        raise LearnerConfigError(
            f"{where}: dt = {dt:g} times the payoff range {spread:g} is >= 1, so a step can leave the simplex; "
            f"use dt < {1.0 / spread:g} (much smaller for accuracy)"
        )


# ------------------------------------------------------------------------------------------ integrators


@partial(jax.jit, static_argnames=("kind", "steps", "method"))
def _integrate(kind: str, payoffs: Array, x0: Array, dt: Array, steps: int, method: str) -> Array:
    fitness = partial(FITNESS[kind], payoffs)
    advance = INTEGRATORS[method]

    def body(x: Array, _: None) -> tuple[Array, Array]:
        nxt = advance(fitness, x, dt)
        return nxt, nxt

    def one(x: Array) -> Array:
        _, xs = jax.lax.scan(body, x, None, length=steps)
        return jnp.concatenate([x[None], xs])

    flat = x0.reshape(-1, *x0.shape[-2:])
    return jax.vmap(one)(flat).reshape(*x0.shape[:-2], steps + 1, *x0.shape[-2:])


def as_profile(x0: object, sizes: Sequence[int], where: str = "x0") -> Array:
    """Initial profiles as float32 ``[*batch, n, A_max]``: a padded array, or one vector per player (ragged).

    Concrete values are checked (non-negative, zero on padding, each strategy sums to 1); traced values (under
    a caller's ``jax.vmap``) only by shape.
    """
    n, a_max = len(sizes), max(sizes)
    array: Array | np.ndarray
    if isinstance(x0, jax.core.Tracer):
        array = x0
    else:
        try:
            array = np.asarray(x0, dtype=np.float64)
        except ValueError:  # a ragged list of per-player strategies
            if not isinstance(x0, Sequence) or len(x0) != n:
                raise InvalidGameError(f"{where}: expected {n} strategies (one per population), got {x0!r}") from None
            array = np.zeros((n, a_max))
            for i, strategy in enumerate(x0):
                row = np.asarray(strategy, dtype=np.float64)
                if row.shape != (sizes[i],):
                    raise InvalidGameError(
                        f"{where}[{i}]: expected {sizes[i]} probabilities, got shape {row.shape}"
                    ) from None
                array[i, : sizes[i]] = row
    if array.ndim < 2 or array.shape[-2:] != (n, a_max):
        raise InvalidGameError(
            f"{where}: expected shape [..., {n}, {a_max}] (one zero-padded strategy per population), "
            f"got {tuple(array.shape)}"
        )
    if isinstance(array, np.ndarray):
        padding = np.arange(a_max)[None, :] >= np.asarray(sizes)[:, None]
        if not np.all(np.isfinite(array)) or np.any(array < 0):
            raise InvalidGameError(f"{where}: probabilities must be finite and >= 0")
        if np.any(array[..., padding] != 0):
            raise InvalidGameError(f"{where}: entries beyond a population's action count must be 0")
        sums = array.sum(axis=-1)
        if np.any(np.abs(sums - 1.0) > PROFILE_TOLERANCE):
            raise InvalidGameError(
                f"{where}: each strategy must sum to 1 (within {PROFILE_TOLERANCE}), got sums {np.unique(sums)[:5]}"
            )
    return jnp.asarray(array, dtype=jnp.float32)


def _check_steps(steps: object) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or int(steps) < 1:
        raise LearnerConfigError(f"steps: expected an integer >= 1, got {steps!r}")
    return int(steps)


def replicator_trajectory(
    game: NormalFormGame | np.ndarray, x0: object, dt: float, steps: int, method: str = "rk4"
) -> Array:
    """Multi-population replicator dynamics (1) from ``x0``: ``[*batch, steps + 1, n, A_max]`` (index 0 = x0).

    Args:
        game: an n-player normal-form game (or its payoffs ``[n, A_1..A_n]``).
        x0: initial profile(s): ``[*batch, n, A_max]`` zero-padded, or a list of one vector per player.
        dt: time step (ignored by ``"discrete"``); needs dt·(largest payoff range) < 1.
        steps: number of steps.
        method: ``"rk4"`` (integrated ODE), ``"euler"`` (explicit Euler, the learner's step) or ``"discrete"``
            (the discrete replicator map; positive payoffs only).

    Raises:
        InvalidGameError: a bad game or initial profile, or non-positive payoffs for ``"discrete"``.
        LearnerConfigError: an unknown method, a non-positive or too large dt, a bad step count.
    """
    g = as_game(game)
    method = check_method(method, INTEGRATORS, "replicator_trajectory")
    check_step(g.payoffs, float(dt), method, "replicator_trajectory")
    profile = as_profile(x0, g.num_actions)
    payoffs = jnp.asarray(g.payoffs, dtype=jnp.float32)
    return _integrate("populations", payoffs, profile, jnp.float32(dt), _check_steps(steps), method)


def symmetric_replicator_trajectory(
    game: NormalFormGame | np.ndarray, x0: object, dt: float, steps: int, method: str = "rk4"
) -> Array:
    """Single-population replicator dynamics ẋ(a) = x(a)[(Ax)(a) − xᵀAx]: ``[*batch, steps + 1, m]``.

    ``game`` is a symmetric two-player game (B = Aᵀ) or its row matrix A ``[m, m]``; ``x0`` is ``[*batch, m]``.
    Other arguments as :func:`replicator_trajectory`.
    """
    A = symmetric_matrix(game)
    method = check_method(method, INTEGRATORS, "symmetric_replicator_trajectory")
    check_step(A[None], float(dt), method, "symmetric_replicator_trajectory")
    one_population = x0[..., None, :] if isinstance(x0, jax.core.Tracer) else np.asarray(x0)[..., None, :]
    profile = as_profile(one_population, (A.shape[0],))
    out = _integrate("single", jnp.asarray(A, jnp.float32), profile, jnp.float32(dt), _check_steps(steps), method)
    return out[..., 0, :]


def replicator_velocity(game: NormalFormGame | np.ndarray, profile: object) -> Array:
    """The vector field (1) at a zero-padded profile ``[*batch, n, A_max]`` (or one vector per player)."""
    g = as_game(game)
    x = as_profile(profile, g.num_actions, "profile")
    payoffs = jnp.asarray(g.payoffs, dtype=jnp.float32)
    flat = x.reshape(-1, *x.shape[-2:])
    return jax.vmap(lambda z: velocity(z, population_fitness(payoffs, z)))(flat).reshape(x.shape)


def replicator_ode(game: NormalFormGame | np.ndarray, *, symmetric: bool = False) -> Callable[[Any, Array], Array]:
    """The continuous form: ``f(t, y) -> dy/dt`` on the flat concatenation y = (x_1, ..., x_n) of the players'
    strategies (``symmetric=True``: y = x of the single population), jitted, for any ODE solver
    (``scipy.integrate.solve_ivp(f, ...)``; diffrax: ``ODETerm(lambda t, y, args: f(t, y))``)."""
    if symmetric:
        matrix = jnp.asarray(symmetric_matrix(game), jnp.float32)

        @jax.jit
        def single(t: Any, y: Array) -> Array:
            x = jnp.asarray(y, jnp.float32)[None]
            return velocity(x, single_population_fitness(matrix, x))[0]

        return single
    g = as_game(game)
    payoffs = jnp.asarray(g.payoffs, dtype=jnp.float32)
    sizes = g.num_actions
    a_max = max(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    padded_index = np.concatenate([i * a_max + np.arange(m) for i, m in enumerate(sizes)])

    @jax.jit
    def multi(t: Any, y: Array) -> Array:
        y = jnp.asarray(y, jnp.float32)
        x = jnp.stack([jnp.pad(y[starts[i] : starts[i + 1]], (0, a_max - m)) for i, m in enumerate(sizes)])
        return velocity(x, population_fitness(payoffs, x)).reshape(-1)[padded_index]

    return multi


def equilibrium_divergence(equilibrium: object, profile: Array) -> Array:
    """Σ_i KL(x*_i ‖ x_i) over populations, on padded profiles ``[..., n, A_max]`` (last two axes).

    For a two-player zero-sum game with interior equilibrium x* it equals −H(x) + const, a constant of motion
    of (1) (Hofbauer 1996); it grows under the discrete map (Akin & Losert 1984).
    """
    star = jnp.asarray(equilibrium, jnp.float32)
    x = jnp.asarray(profile, jnp.float32)
    terms = jnp.where(star > 0, star * (jnp.log(jnp.where(star > 0, star, 1.0)) - jnp.log(x)), 0.0)
    return jnp.sum(terms, axis=(-2, -1))


# -------------------------------------------------------------------------------------------- learners


class DynamicsState(NamedTuple):
    """State of a policy-dynamics learner on a one-state game (``k`` controlled agents)."""

    policy: Array  # [k, A_max] current mixed strategies
    average: Array  # [k, A_max] mean of the strategies played so far (x_0 .. x_{t-1}; x_0 before any update)
    agents: Array  # [k] int32: which agents of the game these rows are
    step: Array  # [] int32 updates done
    data: dict[str, Array]  # the learner's arrays(spec): "payoffs" [n, A_1..A_n] float32, and what a subclass adds


InitialPolicy = tuple[float, ...] | tuple[tuple[float, ...], ...] | None


@dataclass(frozen=True)
class PolicyDynamics(UniformActing):
    """Base of the full-information learners that move a mixed strategy by a deterministic dynamics step.

    ``game`` is the stage game, given at construction (a :class:`NormalFormGame`; a payoff array is wrapped);
    learners compare equal when they hold the *same* game object. ``initial_policy``: None (uniform), one
    distribution for every controlled agent, or one per agent of the game (a tuple of n tuples).
    Subclasses define :meth:`advance`.
    """

    game: NormalFormGame
    initial_policy: InitialPolicy = setting(
        None, doc="one distribution, or one per player (null: uniform)", **PROBABILITY
    )

    joint: ClassVar[bool] = False
    needs_policies: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "game", as_game(self.game, f"{type(self).__name__}.game"))
        object.__setattr__(self, "initial_policy", self._initial_rows(self.initial_policy))

    # ----------------------------------------------------------------------------------------- edge
    def _initial_rows(self, initial: InitialPolicy) -> tuple[tuple[float, ...], ...] | None:
        """None or one validated distribution per agent of the game."""
        if initial is None:
            return None
        name, sizes = type(self).__name__, self.game.num_actions
        per_agent = len(initial) and isinstance(initial[0], Sequence | np.ndarray)
        rows = cast("tuple[tuple[float, ...], ...]", initial if per_agent else (initial,) * len(sizes))
        if len(rows) != len(sizes):
            raise LearnerConfigError(
                f"{name}.initial_policy: give one distribution for all agents or one per agent ({len(sizes)}), "
                f"got {len(rows)}"
            )
        out = []
        for i, (row, m) in enumerate(zip(rows, sizes, strict=True)):
            p = tuple(float(v) for v in row)
            if len(p) != m:
                raise LearnerConfigError(f"{name}.initial_policy[{i}]: agent {i} has {m} actions, got {len(p)} entries")
            if any(not np.isfinite(v) or v < 0 for v in p) or abs(sum(p) - 1.0) > 1e-6:
                raise LearnerConfigError(f"{name}.initial_policy[{i}] must be a distribution, got {p}")
            out.append(p)
        return tuple(out)

    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        """The game trained on must be the stage game this learner was built with (one state, same payoffs)."""
        name = type(self).__name__
        if game.num_states != 1:
            raise NotApplicableError(
                f"{name} follows dynamics of a normal-form stage game; {game.name!r} has {game.num_states} states"
            )
        if game.rewards[:, 0].shape != self.game.payoffs.shape or not np.allclose(
            game.rewards[:, 0], self.game.payoffs, rtol=0.0, atol=1e-12
        ):
            raise NotApplicableError(
                f"{name} was built for {self.game!r} but trains on {game.name!r} with other payoffs; build the "
                "learner with the game you train on"
            )

    # ---------------------------------------------------------------------------------------- contract
    def arrays(self, spec: GroupSpec) -> dict[str, np.ndarray]:
        """The stage game's payoffs ``[n, A_1..A_n]`` float32 (inputs of the compiled program, kept in the state)."""
        return {"payoffs": np.asarray(self.game.payoffs, dtype=np.float32)}

    def init(self, key: Array, spec: GroupSpec) -> DynamicsState:
        legal = spec.legal[:, 0]
        if self.initial_policy is None:
            pi = legal / jnp.sum(legal, axis=-1, keepdims=True)
        else:
            rows = np.zeros((len(spec.agents), spec.max_actions), dtype=np.float32)
            initial = cast("tuple[tuple[float, ...], ...]", self.initial_policy)  # per agent after __post_init__
            for r, a in enumerate(spec.agents):
                rows[r, : len(initial[a])] = initial[a]
            pi = jnp.asarray(rows)
        pi = pi.astype(jnp.float32)
        data = {name: jnp.asarray(value) for name, value in learner_arrays(self, spec).items()}
        agents = jnp.asarray(spec.agents, dtype=jnp.int32)
        return DynamicsState(policy=pi, average=pi, agents=agents, step=jnp.int32(0), data=data)

    def policy(self, state: DynamicsState, obs: Array) -> Array:
        return state.policy

    def average_policy(self, state: DynamicsState, obs: Array) -> Array:
        return state.average

    def act_uniform(self, u: Array, state: DynamicsState, obs: Array) -> tuple[Array, Array]:
        return sample(u, state.policy), state.policy

    def update(self, state: DynamicsState, batch: Transition) -> tuple[DynamicsState, dict[str, Array]]:
        assert batch.policies is not None  # needs_policies: the loop passes every agent's policy
        profile = batch.policies[:, 0, :].at[state.agents].set(state.policy)
        f = population_fitness(state.data["payoffs"], profile)[state.agents]
        new, metrics = self.advance(state, state.policy, f)
        t = state.step.astype(jnp.float32)
        average = state.average + (state.policy - state.average) / (t + 1.0)
        payoff = jnp.sum(state.policy * f, axis=-1)
        return (
            state._replace(policy=new, average=average, step=state.step + 1),
            {"expected_payoff": payoff, **metrics},
        )

    def advance(self, state: DynamicsState, x: Array, f: Array) -> tuple[Array, dict[str, Array]]:
        """The new strategies ``[k, A_max]`` from the current ones and their fitness ``f [k, A_max]``."""
        raise NotImplementedError


@dataclass(frozen=True)
class Replicator(PolicyDynamics):
    """Replicator dynamics as a learner (see the module docstring): one step of ``method`` per update.

    ``method="euler"``: x ← x + dt·ẋ with dt = ``step_size(t, t + 1)`` (default 0.01; a constant dt needs
    dt·(payoff range) < 1, checked here; a schedule is checked at its first value). ``method="discrete"``: the
    discrete map (positive payoffs only; takes no step size). Metrics: ``expected_payoff`` u_i(x) before the step.
    """

    method: str = setting("euler", doc="the integrator, or the discrete map", choices=tuple(LEARNER_MAPS))
    step_size: Schedule | float | None = setting(
        None, doc="dt (null: 0.01; none for the discrete map)", range=(0, None), open="low"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        method = check_method(self.method, LEARNER_MAPS, "Replicator.method")
        validate(self, LearnerConfigError)  # the fields' declared ranges (issue 15)
        if method == "discrete":
            if self.step_size is not None:
                raise LearnerConfigError("Replicator: the discrete map takes no step_size; leave it None")
            require_positive(self.game.payoffs, "Replicator")
            return
        schedule = as_schedule(0.01 if self.step_size is None else self.step_size, "Replicator.step_size")
        object.__setattr__(self, "step_size", schedule)
        check_step(self.game.payoffs, float(schedule(jnp.int32(0), jnp.int32(1))), method, "Replicator")

    def advance(self, state: DynamicsState, x: Array, f: Array) -> tuple[Array, dict[str, Array]]:
        dt = jnp.float32(0.0) if self.step_size is None else scheduled(self.step_size)(state.step, state.step + 1)
        return LEARNER_MAPS[self.method](x, f, dt), {}


__all__ = [
    "FITNESS",
    "INTEGRATORS",
    "DynamicsState",
    "PolicyDynamics",
    "Replicator",
    "equilibrium_divergence",
    "population_fitness",
    "replicator_ode",
    "replicator_trajectory",
    "replicator_velocity",
    "shift_payoffs",
    "symmetric_replicator_trajectory",
    "velocity",
]
