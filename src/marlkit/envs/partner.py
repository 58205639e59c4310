"""A fixed partner inside the env: the learners see only their own agents; the partner's agents act by a frozen
policy (a human model, a scripted agent, a trained policy) as part of the env's dynamics.

This is how human-aware training works (Carroll et al. 2019, "On the utility of learning about humans for
human-AI coordination", NeurIPS, §5: PPO trained with a frozen behaviour-cloned human model as its partner): for
the learners, the partner is part of the environment. ``WithPartner(env, partner, agents)`` is a
:class:`~marlkit.envs.base.MultiAgentEnv` whose agents are ``env``'s agents *not* in ``agents``, so every trainer,
learner and evaluation runs on it unchanged, compiled, and the partner's computation is compiled into the step.

A :class:`Partner` acts from the full env state and observations: ``act(key, state, obs, action_mask) ->
actions [n]`` for all of the env's agents (the wrapper keeps those of ``agents``). It must be hashable by value
(envs are static arguments of compiled programs); :class:`TablePartner` (a policy table ``[n, S, A]`` over an
exact game's states, e.g. a Boltzmann human's from :mod:`marlkit.human`) and :class:`FunctionPartner` (a pure
function, e.g. the cooking task's greedy human) are provided.

Per-agent ``info`` entries (``action_mask``, ``final_obs``, ``final_action_mask``, ``illegal_action``, ``cost``)
are cut to the learners' agents; ``global_state`` and the others pass through, and ``info["partner_reward"]``
holds the partner agents' rewards. The key of each step is split once: one half for the partner, one for the env.

**Policy tables on exact games.** A :class:`TablePartner` on a fully observable exact game's env
(:class:`~marlkit.envs.games.GameEnv`, one-hot observations) leaves the learners an exact game of their own,
:func:`partner_game`: the partner's policy π_P folded into the tables,

    r̄_i(s, a_L) = Σ_b π_P(b | s) r_i(s, a_L, b),      P̄(s' | s, a_L) = Σ_b π_P(b | s) P(s' | s, a_L, b),

(b the partner agents' joint action, their policies independent given s: the product of their rows). The
learners' expected returns in the wrapped env are their returns in this game (the partner's randomness is the
game's), so a best response to the partner is a Nash equilibrium of it for one learner. The wrapper then exposes
what the deep trainer reads to record policy tables (``game``, ``action_masks``, ``joint_index`` and the state's
``inner.state``, as a :class:`~marlkit.envs.games.GameEnv` does), and the convergence diagnostics judge the
learners against ``game`` (``has_tables``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import AgentGroup, MultiAgentEnv, MultiAgentSpec
from marlkit.envs.games import GameEnv
from marlkit.envs.wrappers import Wrapper, cost_limits
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame, as_stochastic

Array = jax.Array

PER_AGENT_INFO = ("action_mask", "final_obs", "final_action_mask", "illegal_action", "cost")
"""``info`` entries with a leading agent axis, cut to the learners' agents."""


class Partner(Protocol):
    """A frozen policy for some of an env's agents (hashable by value)."""

    def act(self, key: Array, state: Any, obs: Array, action_mask: Array) -> Array:
        """Actions for all of the env's agents at ``state`` (the wrapper keeps the partner's): ``[n]`` int32, or
        ``[n, D_max]`` float32 on a Box-action env."""
        ...


@dataclass(frozen=True, eq=False)
class TablePartner:
    """A tabular policy ``table [n, S, A_max]`` over an exact game's states (:class:`marlkit.envs.games.GameEnv`),
    sampled at the current state; e.g. a human model's policy (:mod:`marlkit.human`)."""

    table: np.ndarray
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        table = np.asarray(self.table, dtype=np.float32)
        if table.ndim != 3 or not np.all(np.isfinite(table)) or np.any(table < 0):
            raise InvalidGameError(
                f"TablePartner: expected a policy table [n, S, A] of probabilities, got {table.shape}"
            )
        table.setflags(write=False)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "digest", hashlib.sha256(repr(table.shape).encode() + table.tobytes()).hexdigest())

    def act(self, key: Array, state: Any, obs: Array, action_mask: Array) -> Array:
        index = state.inner.state if hasattr(state, "inner") else state.state
        probs = jnp.asarray(self.table)[:, index]  # [n, A]
        logits = jnp.where((probs > 0) & action_mask, jnp.log(jnp.maximum(probs, 1e-30)), -jnp.inf)
        return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TablePartner) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)


@dataclass(frozen=True)
class FunctionPartner:
    """A partner given as a pure JAX function ``policy(key, state, obs, action_mask, *params) -> actions [n]`` with
    hashable ``params`` (numbers, tuples)."""

    policy: Callable[..., Array]
    params: tuple[Any, ...] = ()

    def act(self, key: Array, state: Any, obs: Array, action_mask: Array) -> Array:
        actions = jnp.asarray(self.policy(key, state, obs, action_mask, *self.params))
        return actions if jnp.issubdtype(actions.dtype, jnp.floating) else actions.astype(jnp.int32)


class PartnerState(NamedTuple):
    env_state: Any
    obs: Array  # [n, ...] the full observation the partner acts on

    @property
    def inner(self) -> Any:
        """The wrapped env's ``inner`` state (an exact game's :class:`~marlkit.envs.games.GameState`, whose
        ``state`` is the state index), as a :class:`~marlkit.envs.games.GameEnv`'s own state has it."""
        return self.env_state.inner


def partner_game(game: NormalFormGame | StochasticGame, table: np.ndarray, agents: Sequence[int]) -> StochasticGame:
    """The exact game the other agents face when ``agents`` play the fixed policy ``table [n, S, A_max]`` (rows of
    the other agents ignored): rewards, costs and transitions averaged over the partner's actions (module
    docstring), in float64; players, actions, masks, limits and names of the learners kept.

    Raises:
        InvalidGameError: a table of another shape, or a partner row without probability on a legal action.
        NotApplicableError: a partially observable game (the learners act on observations, not states).
    """
    g = as_stochastic(game)
    if g.observations is not None:
        raise NotApplicableError(f"partner_game: {g.name!r} is partially observable; its policies are not tables")
    n, S = g.n_players, g.num_states
    table = np.asarray(table, np.float64)
    if table.ndim != 3 or table.shape[:2] != (n, S) or table.shape[2] < max(g.num_actions):
        raise InvalidGameError(
            f"partner_game: expected a policy table [{n}, {S}, >= {max(g.num_actions)}], got {table.shape}"
        )
    agents = tuple(sorted(set(int(a) for a in agents)))
    keep = [i for i in range(n) if i not in agents]
    transitions, rewards, costs = g.transitions, g.rewards, g.costs
    for i in reversed(agents):  # last axis first: the axes of earlier agents keep their positions
        A = g.num_actions[i]
        rows = table[i, :, :A] * g.action_mask[i, :, :A]
        total = rows.sum(axis=1, keepdims=True)
        if np.any(total <= 0):
            raise InvalidGameError(f"partner_game: agent {i}'s policy puts no probability on a legal action")
        rows = rows / total  # [S, A]

        def fold(x: np.ndarray, axis: int, state_axis: int, rows: np.ndarray = rows) -> np.ndarray:
            shape = [1] * x.ndim
            shape[state_axis], shape[axis] = S, rows.shape[1]
            return (x * rows.reshape(shape)).sum(axis=axis)

        transitions = fold(transitions, 1 + i, 0)
        rewards = fold(rewards, 2 + i, 1)
        costs = None if costs is None else fold(costs, 3 + i, 2)
    return StochasticGame(
        transitions=transitions,
        rewards=rewards[keep],
        initial=g.initial,
        gamma=g.gamma,
        terminal=g.terminal,
        action_mask=g.action_mask[keep][:, :, : max(g.num_actions[i] for i in keep)],
        costs=None if costs is None else costs[keep],
        limits=None if g.limits is None else g.limits[keep],
        name=f"{g.name}+partner",
        player_names=tuple(g.player_names[i] for i in keep),
        action_names=tuple(g.action_names[i] for i in keep) if g.action_names else (),
        state_names=g.state_names,
        description=f"{g.name} with agents {list(agents)} played by a fixed policy (marlkit.envs.partner)",
        citation=g.citation,
    )


@dataclass(frozen=True)
class WithPartner(Wrapper):
    """``env`` with ``agents`` driven by ``partner`` (see the module docstring)."""

    env: MultiAgentEnv
    partner: Partner
    agents: tuple[int, ...]

    def __post_init__(self) -> None:
        n = self.env.spec.n_agents
        agents = tuple(sorted(set(int(a) for a in self.agents)))
        if not agents or agents[0] < 0 or agents[-1] >= n or len(agents) >= n:
            raise InvalidGameError(
                f"WithPartner: partner agents must be a non-empty proper subset of 0..{n - 1}, got {list(self.agents)}"
            )
        if not callable(getattr(self.partner, "act", None)):
            raise InvalidGameError(
                f"WithPartner: the partner needs act(key, state, obs, action_mask); got {self.partner!r}"
            )
        object.__setattr__(self, "agents", agents)
        super().__post_init__()
        self._check_partner()

    def _check_partner(self) -> None:
        """Trace (not run) one partner decision on this env's state: a partner built for another env fails here,
        at construction, with one line, instead of inside a compiled step."""
        _, state = jax.eval_shape(self.env.reset, jax.random.key(0))
        obs = jax.eval_shape(lambda k: self.env.reset(k)[0], jax.random.key(0))
        mask = jax.eval_shape(lambda s: self.env.state_info(s)["action_mask"], state)
        try:
            actions = jax.eval_shape(lambda s, o, m: self.partner.act(jax.random.key(0), s, o, m), state, obs, mask)
        except Exception as exc:  # any failure to trace is the same problem for the user
            raise InvalidGameError(
                f"WithPartner: the partner {type(self.partner).__name__} cannot act on {self.env.spec.name}'s state "
                f"({type(exc).__name__}: {str(exc)[:200]}); was it built for another env?"
            ) from None
        spec = self.env.spec
        wanted = (spec.n_agents, spec.max_actions) if spec.continuous else (spec.n_agents,)
        if tuple(actions.shape) != wanted:
            raise InvalidGameError(
                f"WithPartner: the partner must return actions of shape {wanted} for {spec.name}, got {actions.shape}"
            )

    @property
    def learners(self) -> tuple[int, ...]:
        """The env's agents the learners control, in order."""
        return tuple(i for i in range(self.env.spec.n_agents) if i not in self.agents)

    @property
    def has_tables(self) -> bool:
        """Whether the learners act in an exact game of their own (module docstring): a :class:`TablePartner` on a
        fully observable exact game's env with one-hot observations."""
        env = self.env
        return (
            isinstance(env, GameEnv)
            and isinstance(self.partner, TablePartner)
            and env.observation == "one-hot"
            and as_stochastic(env.game).observations is None
        )

    @property
    def game(self) -> StochasticGame:
        """The learners' exact game, :func:`partner_game` (only where :attr:`has_tables`; else AttributeError)."""
        if not self.has_tables:
            raise AttributeError(f"{self.spec.name}: the partner leaves the learners no exact game")
        cached = self.__dict__.get("_game")
        if cached is None:
            assert isinstance(self.env, GameEnv) and isinstance(self.partner, TablePartner)
            cached = partner_game(self.env.game, self.partner.table, self.agents)
            self.__dict__["_game"] = cached
        return cached

    @property
    def action_masks(self) -> Array:
        """The learners' legal actions in every state of :attr:`game`, ``[n_learners, S, A_max]`` bool."""
        return jnp.asarray(self.game.action_mask)

    def joint_index(self, actions: Array) -> Array:
        """Flat C-order index of the learners' joint action ``[n_learners]`` in :attr:`game`."""
        strides = np.cumprod((1, *self.spec.num_actions[:0:-1]))[::-1].astype(np.int32)
        return jnp.sum(actions * strides).astype(jnp.int32)

    def wrapped_spec(self, spec: MultiAgentSpec) -> MultiAgentSpec:
        keep = self.learners
        position = {agent: k for k, agent in enumerate(keep)}
        groups = tuple(
            AgentGroup(g.name, tuple(position[a] for a in g.agents if a in position))
            for g in spec.groups
            if any(a in position for a in g.agents)
        )
        return MultiAgentSpec(
            name=f"{spec.name}+partner",
            n_agents=len(keep),
            agent_names=tuple(spec.agent_names[i] for i in keep),
            obs_shape=spec.obs_shape,
            obs_sizes=tuple(spec.obs_sizes[i] for i in keep),
            num_actions=tuple(spec.num_actions[i] for i in keep),
            global_state_size=spec.global_state_size,
            max_episode_steps=spec.max_episode_steps,
            num_constraints=spec.num_constraints,
            groups=groups,
            obs_low=spec.obs_low,
            obs_high=spec.obs_high,
            action_low=None if spec.action_low is None else tuple(spec.action_low[i] for i in keep),
            action_high=None if spec.action_high is None else tuple(spec.action_high[i] for i in keep),
            description={**spec.description, "partner_agents": list(self.agents)},
        )

    def reset(self, key: Array) -> tuple[Array, PartnerState]:
        obs, state = self.env.reset(key)
        return obs[np.asarray(self.learners)], PartnerState(state, obs)

    def wrapped_state(self, state: PartnerState) -> Any:
        return state.env_state

    def joint_actions(self, key: Array, state: PartnerState, actions: Array) -> tuple[Array, Array]:
        """``(env key, joint actions [n])`` of a step: the learners' ``actions`` with the partner's filled in."""
        key_partner, key_env = jax.random.split(key)
        mask = self.env.state_info(state.env_state)["action_mask"]
        partner_actions = self.partner.act(key_partner, state.env_state, state.obs, mask)
        learners, partners = np.asarray(self.learners), np.asarray(self.agents)
        spec = self.env.spec
        if spec.continuous:  # Box actions: [n, D_max] float32
            joint = jnp.zeros((spec.n_agents, spec.max_actions), jnp.float32)
            dtype = jnp.float32
        else:
            joint, dtype = jnp.zeros(spec.n_agents, jnp.int32), jnp.int32
        joint = (
            joint.at[learners]
            .set(jnp.asarray(actions, dtype))
            .at[partners]
            .set(jnp.asarray(partner_actions, dtype)[partners])
        )
        return key_env, joint

    def final_state(self, key: Array, state: PartnerState, actions: Array) -> Any:
        key_env, joint = self.joint_actions(key, state, actions)
        return self.env.final_state(key_env, state.env_state, joint)

    def step(self, key: Array, state: PartnerState, actions: Array) -> tuple[Array, PartnerState, Array, Array, dict]:
        key_env, joint = self.joint_actions(key, state, actions)
        learners, partners = np.asarray(self.learners), np.asarray(self.agents)
        obs, env_state, reward, done, info = self.env.step(key_env, state.env_state, joint)
        info = {key: value[learners] if key in PER_AGENT_INFO else value for key, value in info.items()}
        info["partner_reward"] = reward[partners]
        return obs[learners], PartnerState(env_state, obs), reward[learners], done, info

    @property
    def limits(self) -> np.ndarray | None:
        """The learners' rows of the wrapped env's constraint limits."""
        limits = cost_limits(self.env)
        return None if limits is None else limits[np.asarray(self.learners)]

    def state_info(self, state: PartnerState) -> dict[str, Array]:
        info = self.env.state_info(state.env_state)
        return {**info, "action_mask": info["action_mask"][np.asarray(self.learners)]}


def with_partner(env: MultiAgentEnv, partner: Partner, agents: Sequence[int]) -> WithPartner:
    """``env`` whose ``agents`` the frozen ``partner`` drives (:class:`WithPartner`)."""
    return WithPartner(env, partner, tuple(agents))


__all__ = [
    "PER_AGENT_INFO",
    "FunctionPartner",
    "Partner",
    "PartnerState",
    "TablePartner",
    "WithPartner",
    "with_partner",
]
