"""Any exact marlkit game as a functional multi-agent env (DESIGN.md "Env"; issue 7, item 2).

:class:`GameEnv` ``(game, max_episode_steps=None)`` simulates a :class:`~marlkit.games.NormalFormGame` (as its
repeated game), a :class:`~marlkit.games.StochasticGame` (Shapley 1953; Littman 1994), a partially observable
one (a POSG, Oliehoek & Amato 2016, Def. 2.1 — the game carries an :class:`~marlkit.games.ObservationModel`) or
a constrained one (Altman 1999; Gu et al. 2021) under the :mod:`marlkit.envs.base` contract:

* **state** ``s`` is drawn from ``initial`` at reset and from ``T(·|s, a)`` at each step;
* **observation**, one float32 one-hot vector per agent:

  - fully observable game (a Markov game: every agent sees the state): ``one_hot(s, S)``, ``obs [n, S]``;
  - POSG: agent i sees ``one_hot(o_i, Obs_i)`` with ``o_i ~ O_i(·|s')`` (state-only form) or
    ``O_i(·|s', a)`` (action-dependent form), drawn independently per agent given ``(s', a)``; zero-padded to
    ``max_i Obs_i`` (``spec.obs_sizes[i] = Obs_i``). At reset a state-only agent observes ``O_i(·|s_0)``;
    an action-dependent agent (Dec-Tiger) has no observation yet — an empty history — and sees the zero vector;

* **global state** (``info["global_state"]``, for centralised critics): ``one_hot(s, S)``, also in POSGs;
* **reward** ``R_i(s, a)`` — the game's expected reward, exactly (cast to float32); in a normal-form game the
  payoff ``u_i(a)``;
* **terminated** when ``s'`` is a terminal state; **truncated** after ``max_episode_steps`` steps;
* **action mask** ``game.action_mask[:, s]``; **cost** (constrained games) ``info["cost"][i, j] = C_j^i(s, a)``.

Episode length: ``max_episode_steps=None`` follows the tabular env's rule (:func:`marlkit.envs.make_env`) — one
step for a one-state game without terminal states (a repeated normal-form game: an episode is one play of the
stage game, its return the stage payoff), no time limit otherwise (a game without terminal states then never
ends an episode: pass ``max_episode_steps``, e.g. 100 for Dec-Tiger).

Sampling is inverse-CDF on the support of each distribution (zero-probability outcomes are never drawn; the
cumulative sums are taken in float64, cast to float32 with the last entry exactly 1). The transition table is
kept compact — for each ``(s, joint action)`` only the ``K`` next states with positive probability, ``K`` the
largest support — so a sparse game such as soccer (761 states) stays small enough to close over in ``jit``.
Batched sampling is ``jax.vmap(env.step)``. Joint actions are flattened in C order, as in
:mod:`marlkit.envs.tabular`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import AgentGroup, Array, Env, MultiAgentSpec
from marlkit.envs.tabular import NO_TIME_LIMIT, as_stochastic
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame


class GameState(NamedTuple):
    """The task state of a :class:`GameEnv`: the game's state index."""

    state: Array  # [] int32


def _cdf(p: np.ndarray) -> np.ndarray:
    """float64 cumulative sum along the last axis, cast to float32 with the last entry exactly 1."""
    c = np.cumsum(p, axis=-1)
    c = np.clip(c / c[..., -1:], 0.0, 1.0).astype(np.float32)
    c[..., -1] = 1.0
    return c


def _compact(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``[..., K_full]`` -> ``(support [..., K] int32, cdf [..., K] float32)`` over positive entries only.

    Padding repeats the last support entry with cdf 1, so ``support[#{k: cdf[k] <= u}]`` for ``u`` in [0, 1)
    draws an outcome with its probability. Rows with no mass must be handled by the caller.
    """
    positive = probs > 0
    k = max(1, int(positive.sum(axis=-1).max()))
    order = np.argsort(~positive, axis=-1, kind="stable")[..., :k]  # positive entries first, in index order
    p = np.take_along_axis(probs, order, axis=-1) * np.take_along_axis(positive, order, axis=-1)
    cdf = _cdf(p)
    count = positive.sum(axis=-1, keepdims=True)
    pad = np.arange(k) >= count
    last = np.take_along_axis(order, np.maximum(count - 1, 0), axis=-1)
    support = np.where(pad, last, order).astype(np.int32)
    return support, np.where(pad, np.float32(1.0), cdf).astype(np.float32)


def _episode_limit(game: StochasticGame, max_episode_steps: int | None) -> int:
    if max_episode_steps is None:
        one_shot = game.num_states == 1 and not np.any(game.terminal)
        return 1 if one_shot else int(NO_TIME_LIMIT)
    if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int | np.integer):
        raise InvalidGameError(f"max_episode_steps: expected a positive integer or None, got {max_episode_steps!r}")
    if not 1 <= max_episode_steps <= NO_TIME_LIMIT:
        raise InvalidGameError(f"max_episode_steps: expected an integer in 1..{NO_TIME_LIMIT}, got {max_episode_steps}")
    return int(max_episode_steps)


@dataclass(frozen=True, eq=False)
class GameEnv(Env):
    """An exact game as a functional env; see the module docstring for observations, rewards and episodes.

    Example:
        >>> import jax
        >>> from marlkit.games.catalog import make
        >>> env = GameEnv(make("prisoners-dilemma"))
        >>> obs, state = env.reset(jax.random.key(0))
        >>> obs, state, reward, done, info = env.step(jax.random.key(1), state, jax.numpy.array([1, 0]))
        >>> reward.tolist(), bool(done)
        ([5.0, 0.0], True)
    """

    game: NormalFormGame | StochasticGame
    max_episode_steps: int | None = None
    spec: MultiAgentSpec = field(init=False)

    def __post_init__(self) -> None:
        g = as_stochastic(self.game)
        if np.any(g.initial[g.terminal] > 0):
            raise NotApplicableError(
                f"game {g.name!r}: the initial distribution puts mass on a terminal state; episodes must start in "
                "a non-terminal state"
            )
        n, S, shape = g.n_players, g.num_states, g.num_actions
        J = int(np.prod(shape))
        T = g.transitions.reshape(S, J, S).copy()
        # Rows never used (terminal states, illegal joint actions) need not be distributions: make them self-loops.
        unused = ~g.legal_joint_actions().reshape(S, J) | g.terminal[:, None]
        rows, cols = np.nonzero(unused)
        T[rows, cols] = 0.0
        T[rows, cols, rows] = 1.0
        support, cdf = _compact(T)
        init_support, init_cdf = _compact(g.initial)
        tables: dict[str, Array | None] = {
            "support": jnp.asarray(support),
            "cdf": jnp.asarray(cdf),
            "initial_support": jnp.asarray(init_support),
            "initial_cdf": jnp.asarray(init_cdf),
            "rewards": jnp.asarray(np.moveaxis(g.rewards.reshape(n, S, J), 0, -1), jnp.float32),  # [S, J, n]
            "terminal": jnp.asarray(g.terminal),
            "mask": jnp.asarray(g.action_mask),  # [n, S, A_max]
            "costs": None,
            "obs_cdf": None,
        }
        if g.costs is not None:
            m = g.num_constraints
            tables["costs"] = jnp.asarray(np.moveaxis(g.costs.reshape(n, m, S, J), (0, 1), (2, 3)), jnp.float32)
        obs_sizes: tuple[int, ...] = (S,) * n
        observed_at_reset = np.ones(n, dtype=bool)
        if g.observations is not None:
            tables["obs_cdf"], obs_sizes, observed_at_reset = _observation_tables(g)
        object.__setattr__(self, "_tables", tables)
        object.__setattr__(self, "_observed_at_reset", jnp.asarray(observed_at_reset))
        object.__setattr__(self, "_strides", np.cumprod((1, *shape[:0:-1]))[::-1].astype(np.int32))
        object.__setattr__(
            self,
            "spec",
            MultiAgentSpec(
                name=g.name or "game",
                n_agents=n,
                agent_names=g.player_names,
                obs_shape=(max(obs_sizes),),
                obs_sizes=obs_sizes,
                num_actions=shape,
                global_state_size=S,
                max_episode_steps=_episode_limit(g, self.max_episode_steps),
                num_constraints=g.num_constraints,
                # Players of a general game play different roles: one group each (agent ids make sharing safe).
                groups=tuple(AgentGroup(name, (i,)) for i, name in enumerate(g.player_names)),
                obs_low=0.0,
                obs_high=1.0,
                description={
                    "game": repr(g),
                    "citation": g.citation,
                    "gamma": g.gamma,
                    "observations": "one-hot own observation" if g.observations is not None else "one-hot state",
                },
            ),
        )

    # ------------------------------------------------------------------------------------------- helpers
    @property
    def num_states(self) -> int:
        return self.spec.global_state_size

    def joint_index(self, actions: Array) -> Array:
        """Flat C-order index of a joint action ``[n]``."""
        return jnp.sum(actions * self._strides).astype(jnp.int32)

    def _observe(self, s: Array, j: Array, u: Array, at_reset: bool) -> Array:
        """One-hot observations ``[n, obs_shape[0]]`` at state ``s`` after joint action ``j`` (uniforms ``u [n]``)."""
        size = self.spec.obs_shape[0]
        obs_cdf = self._tables["obs_cdf"]
        if obs_cdf is None:
            return jnp.broadcast_to(jax.nn.one_hot(s, size, dtype=jnp.float32), (self.spec.n_agents, size))
        rows = obs_cdf[jnp.arange(self.spec.n_agents), s, jnp.minimum(j, obs_cdf.shape[2] - 1)]  # [n, O_max]
        o = jnp.sum(rows <= u[:, None], axis=1)
        obs = jax.nn.one_hot(o, size, dtype=jnp.float32)
        return obs * self._observed_at_reset[:, None] if at_reset else obs

    # ------------------------------------------------------------------------------------------- contract
    def reset_env(self, key: Array) -> tuple[Array, GameState]:
        u = jax.random.uniform(key, (1 + self.spec.n_agents,))
        t = self._tables
        s = t["initial_support"][jnp.sum(t["initial_cdf"] <= u[0])]
        return self._observe(s, jnp.int32(0), u[1:], at_reset=True), GameState(s)

    def step_env(self, key: Array, state: GameState, actions: Array) -> tuple[Array, GameState, Array, Array, dict]:
        u = jax.random.uniform(key, (1 + self.spec.n_agents,))
        t = self._tables
        s = state.state
        j = self.joint_index(actions)
        s_next = t["support"][s, j, jnp.sum(t["cdf"][s, j] <= u[0])]
        info = {} if t["costs"] is None else {"cost": t["costs"][s, j]}
        obs = self._observe(s_next, j, u[1:], at_reset=False)
        return obs, GameState(s_next), t["rewards"][s, j], t["terminal"][s_next], info

    def global_state(self, state: GameState) -> Array:
        return jax.nn.one_hot(state.state, self.num_states, dtype=jnp.float32)

    def action_mask(self, state: GameState) -> Array:
        return self._tables["mask"][:, state.state]


def _observation_tables(g: StochasticGame) -> tuple[Array, tuple[int, ...], np.ndarray]:
    """``(obs_cdf [n, S, Jo, O_max], Obs_i per agent, observed_at_reset [n])`` from the observation model.

    ``Jo`` is the number of joint actions if any agent's observations depend on the action, else 1; state-only
    matrices are broadcast over it. Padded entries have cdf 1 and are never drawn.
    """
    model = g.observations
    assert model is not None
    n, S, J = g.n_players, g.num_states, int(np.prod(g.num_actions))
    dependent = np.array([model.is_action_dependent(i) for i in range(n)])
    jo = J if dependent.any() else 1
    o_max = max(model.num_observations)
    table = np.ones((n, S, jo, o_max), dtype=np.float32)
    for i, matrix in enumerate(model.matrices):
        rows = matrix.reshape(S, J if dependent[i] else 1, matrix.shape[-1])
        table[i, :, :, : matrix.shape[-1]] = _cdf(np.broadcast_to(rows, (S, jo, matrix.shape[-1])))
    return jnp.asarray(table), model.num_observations, ~dependent


__all__ = ["GameEnv", "GameState"]
