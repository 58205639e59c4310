"""Any exact marlkit game as a functional multi-agent env (docs/architecture.md, "Contracts"; issue 7, item 2).

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

Episode length: ``max_episode_steps=None`` means one
step for a one-state game without terminal states (a repeated normal-form game: an episode is one play of the
stage game, its return the stage payoff), no time limit otherwise (a game without terminal states then never
ends an episode: pass ``max_episode_steps``, e.g. 100 for Dec-Tiger).

Sampling is inverse-CDF on the support of each distribution (zero-probability outcomes are never drawn; the
cumulative sums are taken in float64, cast to float32 with the last entry exactly 1). The transition table is
kept compact — for each ``(s, joint action)`` only the ``K`` next states with positive probability, ``K`` the
largest support — so a sparse game such as soccer (761 states) stays small enough to close over in ``jit``.
Batched sampling is ``jax.vmap(env.step)``. Joint actions are flattened in C order,
``j = ravel_multi_index(a, (A_1, ..., A_n))``.

The tabular learners' mode, ``observation="index"`` (:func:`make_env`; :mod:`marlkit.train.loop` runs on it):
every agent observes the state index, and a step's randomness can be given as uniforms drawn in blocks
(:meth:`GameEnv.step_uniform`); see :class:`GameEnv`. Illegal actions inside the compiled path are replaced by the
agent's first legal action and flagged in ``info["illegal_action"]``; :meth:`GameEnv.check_actions` validates a
joint action at the Python edge.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import AgentGroup, Array, Env, MultiAgentSpec, TimeState
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame, as_stochastic

NO_TIME_LIMIT = int(np.iinfo(np.int32).max)
"""``spec.max_episode_steps`` of an env whose episodes end only at terminal states."""


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


class GameTables(NamedTuple):
    """A :class:`GameEnv`'s arrays (a pytree): compact inverse-CDF tables of transitions and of the initial state,
    rewards ``[S, J, n]``, terminal flags ``[S]``, action masks ``[n, S, A_max]``, costs ``[S, J, n, m]`` (None
    without constraints), observation CDFs (None in a fully observable game) and which agents observe at reset."""

    support: Array  # [S, J, K] int32
    cdf: Array  # [S, J, K] float32
    initial_support: Array  # [K0] int32
    initial_cdf: Array  # [K0] float32
    rewards: Array  # [S, J, n] float32
    terminal: Array  # [S] bool
    mask: Array  # [n, S, A_max] bool
    costs: Array | None
    obs_cdf: Array | None
    observed_at_reset: Array  # [n] bool


@dataclass(frozen=True)
class _Static:
    """What a :class:`GameEnv` keeps beside its tables: compared by the tables' digest, not by the game object, so
    two envs of the same game are equal (``jax.jit`` reuses programs without any cache)."""

    game: NormalFormGame | StochasticGame = field(compare=False, hash=False)
    max_episode_steps: int | None
    observation: str
    spec: MultiAgentSpec
    strides: tuple[int, ...]
    random_transitions: bool
    random_initial: bool
    digest: str


OBSERVATIONS = ("one-hot", "index")
"""A :class:`GameEnv`'s observation modes (see its docstring)."""


class GameEnv(Env):
    """An exact game as a functional env; see the module docstring for observations, rewards and episodes.

    ``observation="index"`` is the tabular learners' mode (:mod:`marlkit.train.loop`): every agent observes the
    state index, ``obs [n]`` int32 (``info["final_obs"]`` likewise), a POSG is refused, and the randomness of a
    step is :attr:`num_uniforms` uniforms that :meth:`step_uniform` takes given — the training loop draws them in
    blocks, one batched PRNG call per window. Sampling in this mode is the tabular simulator's, number for number:
    ``s' = support[#{k : cdf[k] <= u}]`` with no uniform consumed where a row (or the initial distribution) is a
    point mass, the reset state drawn from the last uniform, and ``reset`` drawing one scalar uniform.

    Envs are equal (and hash equal) when their tables, time limit and mode are: two envs of one game share
    compiled programs. A GameEnv is a pytree (its :class:`GameTables` are the leaves), so it can be a traced
    argument of ``jax.jit`` as well as a constant closed over.

    Example:
        >>> import jax
        >>> from marlkit.games.catalog import make
        >>> env = GameEnv(make("prisoners-dilemma"))
        >>> obs, state = env.reset(jax.random.key(0))
        >>> obs, state, reward, done, info = env.step(jax.random.key(1), state, jax.numpy.array([1, 0]))
        >>> reward.tolist(), bool(done)
        ([5.0, 0.0], True)
    """

    tables: GameTables
    spec: MultiAgentSpec
    _static: _Static

    def __init__(
        self,
        game: NormalFormGame | StochasticGame,
        max_episode_steps: int | None = None,
        observation: str = "one-hot",
    ) -> None:
        g = as_stochastic(game)
        if observation not in OBSERVATIONS:
            raise InvalidGameError(f"observation: expected one of {list(OBSERVATIONS)}, got {observation!r}")
        index = observation == "index"
        if index and g.is_partially_observable:
            raise NotApplicableError(
                f"game {g.name!r} is partially observable; the index mode gives agents the state index. "
                "Drop the observation model to learn on the underlying stochastic game."
            )
        if np.any(g.initial[g.terminal] > 0):
            raise NotApplicableError(
                f"game {g.name!r}: the initial distribution puts mass on a terminal state; episodes must start in "
                "a non-terminal state"
            )
        n, S, shape = g.n_players, g.num_states, g.num_actions
        J = int(np.prod(shape))
        T = g.transitions.reshape(S, J, S).copy()
        # Rows never used (terminal states, illegal joint actions) need not be distributions: make them self-loops.
        terminal = np.asarray(g.terminal, dtype=bool)
        unused = ~g.legal_joint_actions().reshape(S, J) | terminal[:, None]
        rows, cols = np.nonzero(unused)
        T[rows, cols] = 0.0
        T[rows, cols, rows] = 1.0
        support, cdf = _compact(T)
        init_support, init_cdf = _compact(g.initial)
        arrays: dict[str, np.ndarray | None] = {
            "support": support,
            "cdf": cdf,
            "initial_support": init_support,
            "initial_cdf": init_cdf,
            "rewards": np.moveaxis(g.rewards.reshape(n, S, J), 0, -1).astype(np.float32),  # [S, J, n]
            "terminal": terminal,
            "mask": np.asarray(g.action_mask, dtype=bool),  # [n, S, A_max]
            "costs": None,
            "obs_cdf": None,
            "observed_at_reset": np.ones(n, dtype=bool),
        }
        if g.costs is not None:
            m = g.num_constraints
            arrays["costs"] = np.moveaxis(g.costs.reshape(n, m, S, J), (0, 1), (2, 3)).astype(np.float32)
        obs_sizes: tuple[int, ...] = (S,) * n
        if g.observations is not None:
            arrays["obs_cdf"], obs_sizes, arrays["observed_at_reset"] = _observation_tables(g)
        limit = _episode_limit(g, max_episode_steps)
        digest = hashlib.sha256(repr((g.name, g.player_names, g.gamma, limit, observation)).encode())
        for name, value in arrays.items():
            digest.update(name.encode() + (b"-" if value is None else repr(value.shape).encode() + value.tobytes()))
        spec = MultiAgentSpec(
            name=g.name or "game",
            n_agents=n,
            agent_names=g.player_names,
            obs_shape=() if index else (max(obs_sizes),),
            obs_sizes=(1,) * n if index else obs_sizes,
            num_actions=shape,
            global_state_size=S,
            max_episode_steps=limit,
            num_constraints=g.num_constraints,
            # Players of a general game play different roles: one group each (agent ids make sharing safe).
            groups=tuple(AgentGroup(name, (i,)) for i, name in enumerate(g.player_names)),
            obs_low=0.0,
            obs_high=float(S - 1) if index else 1.0,
            description={
                "game": repr(g),
                "citation": g.citation,
                "gamma": g.gamma,
                "observations": "state index"
                if index
                else ("one-hot own observation" if g.observations is not None else "one-hot state"),
            },
        )
        static = _Static(
            game=game,
            max_episode_steps=max_episode_steps,
            observation=observation,
            spec=spec,
            strides=tuple(int(x) for x in np.cumprod((1, *shape[:0:-1]))[::-1]),
            random_transitions=support.shape[-1] > 1,
            random_initial=init_support.shape[-1] > 1,
            digest=digest.hexdigest(),
        )
        device = {k: None if v is None else jax.device_put(v) for k, v in arrays.items()}
        tables = GameTables._make(device[name] for name in GameTables._fields)
        self._set(static, tables)

    def _set(self, static: _Static, tables: GameTables) -> None:
        object.__setattr__(self, "_static", static)
        object.__setattr__(self, "tables", tables)
        object.__setattr__(self, "spec", static.spec)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"GameEnv is immutable (cannot set {name!r})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GameEnv) and self._static == other._static

    def __hash__(self) -> int:
        return hash(self._static)

    def __repr__(self) -> str:
        return f"GameEnv({self.game!r}, max_episode_steps={self.max_episode_steps}, observation={self.observation!r})"

    # ------------------------------------------------------------------------------------------- facts
    @property
    def game(self) -> NormalFormGame | StochasticGame:
        """The game as given."""
        return self._static.game

    @property
    def max_episode_steps(self) -> int | None:
        """The time limit as given (``spec.max_episode_steps`` is the one in force)."""
        return self._static.max_episode_steps

    @property
    def observation(self) -> str:
        """``"one-hot"`` or ``"index"`` (see the class docstring)."""
        return self._static.observation

    @property
    def num_states(self) -> int:
        return self.spec.global_state_size

    @property
    def num_joint_actions(self) -> int:
        return int(np.prod(self.spec.num_actions))

    @property
    def gamma(self) -> float:
        """The game's discount (0 for a normal-form game played repeatedly)."""
        return float(as_stochastic(self.game).gamma)

    @property
    def action_masks(self) -> Array:
        """Legal actions in every state, ``[n, S, A_max]`` bool."""
        return self.tables.mask

    @property
    def num_uniforms(self) -> int:
        """Uniforms one :meth:`step_uniform` consumes: one for s' unless every used transition row is a point
        mass, one for the reset state unless the initial distribution is a point mass."""
        return int(self._static.random_transitions) + int(self._static.random_initial)

    def joint_index(self, actions: Array) -> Array:
        """Flat C-order index of a joint action ``[n]``."""
        return jnp.sum(actions * np.asarray(self._static.strides, dtype=np.int32)).astype(jnp.int32)

    def check_actions(self, state: int, actions: object) -> np.ndarray:
        """Validate a joint action at the Python edge (outside jit): in range and legal in ``state``."""
        a = np.asarray(actions)
        n = self.spec.n_agents
        if a.shape != (n,) or a.dtype.kind not in "iu":
            raise InvalidGameError(f"actions: expected {n} integer actions (one per agent), got {a!r}")
        mask = np.asarray(self.tables.mask)
        for i, (ai, m) in enumerate(zip(a, self.spec.num_actions, strict=True)):
            if not 0 <= int(ai) < m or not mask[i, state, int(ai)]:
                legal = np.flatnonzero(mask[i, state]).tolist()
                raise InvalidGameError(f"actions[{i}]: action {int(ai)} is not legal in state {state}; legal: {legal}")
        return a.astype(np.int32)

    def _observe(self, s: Array, j: Array, u: Array, at_reset: bool) -> Array:
        """One-hot observations ``[n, obs_shape[0]]`` at state ``s`` after joint action ``j`` (uniforms ``u [n]``)."""
        size = self.spec.obs_shape[0]
        obs_cdf = self.tables.obs_cdf
        if obs_cdf is None:
            return jnp.broadcast_to(jax.nn.one_hot(s, size, dtype=jnp.float32), (self.spec.n_agents, size))
        rows = obs_cdf[jnp.arange(self.spec.n_agents), s, jnp.minimum(j, obs_cdf.shape[2] - 1)]  # [n, O_max]
        o = jnp.sum(rows <= u[:, None], axis=1)
        obs = jax.nn.one_hot(o, size, dtype=jnp.float32)
        return obs * self.tables.observed_at_reset[:, None] if at_reset else obs

    # ------------------------------------------------------------------------------------------- contract
    def reset_env(self, key: Array) -> tuple[Array, GameState]:
        u = jax.random.uniform(key, (1 + self.spec.n_agents,))
        t = self.tables
        s = t.initial_support[jnp.sum(t.initial_cdf <= u[0])]
        return self._observe(s, jnp.int32(0), u[1:], at_reset=True), GameState(s)

    def step_env(self, key: Array, state: GameState, actions: Array) -> tuple[Array, GameState, Array, Array, dict]:
        u = jax.random.uniform(key, (1 + self.spec.n_agents,))
        t = self.tables
        s = state.state
        j = self.joint_index(actions)
        s_next = t.support[s, j, jnp.sum(t.cdf[s, j] <= u[0])]
        info = {} if t.costs is None else {"cost": t.costs[s, j]}
        obs = self._observe(s_next, j, u[1:], at_reset=False)
        return obs, GameState(s_next), t.rewards[s, j], t.terminal[s_next], info

    def global_state(self, state: GameState) -> Array:
        return jax.nn.one_hot(state.state, self.num_states, dtype=jnp.float32)

    def action_mask(self, state: GameState) -> Array:
        return self.tables.mask[:, state.state]

    def reset(self, key: Array) -> tuple[Array, TimeState]:
        if self.observation != "index":
            return super().reset(key)
        t = self.tables
        s = t.initial_support[jnp.sum(t.initial_cdf <= jax.random.uniform(key))]
        return self._index_obs(s), TimeState(GameState(s), jnp.int32(0))

    def step(self, key: Array, state: TimeState, actions: Array) -> tuple[Array, TimeState, Array, Array, dict]:
        if self.observation != "index":
            return super().step(key, state, actions)
        return self.step_uniform(jax.random.uniform(key, (self.num_uniforms,)), state, actions)

    def render_env(self, state: GameState) -> np.ndarray:
        """The game's board at the state where its metadata says how to draw one (grid games, soccer, grid worlds),
        else a table of the state and its stage game (:mod:`marlkit.envs.render_games`)."""
        from marlkit.envs.render_games import draw_game_state

        return draw_game_state(self.game, int(state.state))

    def final_state(self, key: Array, state: TimeState, actions: Array) -> TimeState:
        if self.observation != "index":
            return super().final_state(key, state, actions)
        info = self.step(key, state, actions)[4]
        return TimeState(GameState(info["final_obs"][0]), jnp.minimum(state.time + 1, self.spec.max_episode_steps))

    # ------------------------------------------------------------------------------------------- index mode
    def _index_obs(self, s: Array) -> Array:
        return jnp.full((self.spec.n_agents,), s, dtype=jnp.int32)

    def step_uniform(
        self, u: Array, state: TimeState, actions: Array
    ) -> tuple[Array, TimeState, Array, Array, dict[str, Array]]:
        """``step`` of the index mode with its randomness given: ``u [num_uniforms]`` uniforms in [0, 1) — the next
        state's (if transitions are random), then the reset state's (if the initial distribution is). ``info``
        adds ``actions [n]`` (as executed) to the contract's entries."""
        t, static = self.tables, self._static
        s = state.inner.state
        actions, illegal = self.legalise(state, actions)
        j = self.joint_index(actions)
        # static: where every used row is a point mass, no uniform is consumed
        s_next = t.support[s, j, jnp.sum(t.cdf[s, j] <= u[0]) if static.random_transitions else 0]
        if static.random_initial:
            s_reset = t.initial_support[jnp.sum(t.initial_cdf <= u[self.num_uniforms - 1])]
        else:
            s_reset = t.initial_support[0]
        terminated = t.terminal[s_next]
        time = jnp.minimum(state.time + 1, self.spec.max_episode_steps)
        truncated = (time >= self.spec.max_episode_steps) & ~terminated
        done = terminated | truncated
        s_out = jnp.where(done, s_reset, s_next)
        info = {
            "terminated": terminated,
            "truncated": truncated,
            "action_mask": t.mask[:, s_out],
            "global_state": jax.nn.one_hot(s_out, self.num_states, dtype=jnp.float32),
            "final_obs": self._index_obs(s_next),
            "final_action_mask": t.mask[:, s_next],
            "final_global_state": jax.nn.one_hot(s_next, self.num_states, dtype=jnp.float32),
            "actions": actions,
            "illegal_action": illegal,
        }
        if t.costs is not None:
            info["cost"] = t.costs[s, j]
        new_state = TimeState(GameState(s_out), jnp.where(done, 0, time).astype(jnp.int32))
        return self._index_obs(s_out), new_state, t.rewards[s, j], done, info


def _flatten(env: GameEnv) -> tuple[tuple[GameTables], _Static]:
    return (env.tables,), env._static


def _unflatten(static: _Static, children: tuple[GameTables]) -> GameEnv:
    env = object.__new__(GameEnv)
    env._set(static, children[0])
    return env


jax.tree_util.register_pytree_node(GameEnv, _flatten, _unflatten)


def make_env(game: NormalFormGame | StochasticGame, max_episode_steps: int | None = None) -> GameEnv:
    """The tabular learners' simulator of an exact game: ``GameEnv(game, max_episode_steps, observation="index")``."""
    return GameEnv(game, max_episode_steps, observation="index")


def _observation_tables(g: StochasticGame) -> tuple[np.ndarray, tuple[int, ...], np.ndarray]:
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
    return table, model.num_observations, ~dependent


__all__ = ["NO_TIME_LIMIT", "OBSERVATIONS", "GameEnv", "GameState", "GameTables", "make_env"]
