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

**A population of partners** (:class:`PopulationPartner`): members m = 1..M (any partners) with weights w_m. One
member is drawn per episode and acts for the whole episode — the diversity of people as a distribution over
partners, as in training with a population of partners (Strouse et al. 2021, "Collaborating with humans without
human data", NeurIPS: Fictitious Co-Play; Zhao et al. 2023, "Maximum entropy population-based training for
zero-shot human-AI coordination", AAAI) rather than with one behaviour-cloned model (Carroll et al. 2019). The
episode's member is kept in the state (:attr:`PartnerState.member`, int32) and drawn by this key schedule:

* at ``reset(key)``: ``member = categorical(fold_in(key, MEMBER_STREAM), log w)``; the env is reset with ``key``
  itself;
* at a step ``key``: ``key_partner, key_env = split(key)`` as for every partner; where the episode ends, the next
  episode's member is drawn from ``fold_in(split(key_env)[1], MEMBER_STREAM)`` — ``split(key_env)[1]`` is the key
  the task's auto-reset starts the next episode from (:mod:`marlkit.envs.base`, "Auto-reset") — else kept.

So the members follow the weights, the same seed gives the same members, and no key of the env or of the member's
actions changes: a one-member population is its member bit for bit. Compiled, the members are one program:
members of one frozen dataclass that differ only in numbers (e.g. greedy humans at several β) act with their
parameters as arrays ``[M]`` indexed by the episode's member; other members are the branches of a ``lax.switch``.

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
    member: Array | None = None  # [] int32: the episode's member of a PopulationPartner (None for other partners)

    @property
    def inner(self) -> Any:
        """The wrapped env's ``inner`` state (an exact game's :class:`~marlkit.envs.games.GameState`, whose
        ``state`` is the state index), as a :class:`~marlkit.envs.games.GameEnv`'s own state has it."""
        return self.env_state.inner


MEMBER_STREAM = 0x6D656D62
"""``fold_in`` data of the per-episode member draw of a :class:`PopulationPartner` (module docstring)."""

WEIGHT_TOLERANCE = 1e-6


def member_key(key: Array) -> Array:
    """The key a :class:`PopulationPartner`'s member is drawn from, given the key that starts the episode."""
    return jax.random.fold_in(key, MEMBER_STREAM)


@dataclass(frozen=True)
class PopulationPartner:
    """A distribution over partners, one member per episode (module docstring): ``members`` (partners) and their
    ``weights`` (>= 0, summing to 1). Inside :class:`WithPartner` the member is drawn at each episode's start and kept
    in :attr:`PartnerState.member`; :meth:`act` alone (outside the wrapper) draws a member per call."""

    members: tuple[Any, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        members, weights = tuple(self.members), tuple(self.weights)
        if not members:
            raise InvalidGameError("population: give at least one member partner")
        w = np.asarray(weights, np.float64)
        if w.shape != (len(members),):
            raise InvalidGameError(f"population: expected {len(members)} weights (one per member), got {len(weights)}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or abs(w.sum() - 1.0) > WEIGHT_TOLERANCE:
            raise InvalidGameError(
                f"population: weights must be numbers >= 0 summing to 1, got {list(weights)} (sum {w.sum():.6g})"
            )
        for m in members:
            if not callable(getattr(m, "act", None)):
                raise InvalidGameError(f"population: member {m!r} is no partner (act(key, state, obs, action_mask))")
        object.__setattr__(self, "members", members)
        object.__setattr__(self, "weights", tuple(float(x) for x in w))

    def draw(self, key: Array) -> Array:
        """A member index ``[]`` int32 drawn by the weights from ``key`` (0 for a one-member population)."""
        if len(self.members) == 1:
            return jnp.int32(0)
        with np.errstate(divide="ignore"):
            logits = np.log(np.asarray(self.weights, np.float32))
        return jax.random.categorical(key, jnp.asarray(logits)).astype(jnp.int32)

    def act_member(self, member: Array, key: Array, state: Any, obs: Array, action_mask: Array) -> Array:
        """Member ``member``'s actions (one program for all members: parameter arrays or ``lax.switch``)."""
        if len(self.members) == 1:
            return self.members[0].act(key, state, obs, action_mask)
        stacked = _parameter_arrays(self.members)
        if stacked is not None:
            fields = {name: values[member] for name, values in stacked.items()}
            try:
                return _with_fields(self.members[0], fields).act(key, state, obs, action_mask)
            except (jax.errors.ConcretizationTypeError, jax.errors.TracerIntegerConversionError, TypeError):
                pass  # a number the member needs static (a shape, an index): one branch per member instead
        branches = [lambda k, s, o, m, p=p: p.act(k, s, o, m) for p in self.members]
        return jax.lax.switch(member, branches, key, state, obs, action_mask)

    def act(self, key: Array, state: Any, obs: Array, action_mask: Array) -> Array:
        """Actions of a member drawn for this call (:class:`Partner`; a per-step mixture — :class:`WithPartner`
        keeps one member per episode instead)."""
        key_member, key_act = jax.random.split(key)
        return self.act_member(self.draw(key_member), key_act, state, obs, action_mask)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _same(a: Any, b: Any) -> bool:
    """``a == b`` as one bool; False where equality is not one (arrays, pytrees of arrays)."""
    try:
        return bool(a == b)
    except Exception:  # ambiguous truth values of arrays: not provably the same
        return False


def _parameter_arrays(members: Sequence[Any]) -> dict[str, Array] | None:
    """``{field: values [M]}`` when ``members`` are one frozen dataclass whose fields are equal except numbers
    (numeric tuples included, as :class:`FunctionPartner`'s ``params``); else None."""
    import dataclasses

    first = members[0]
    if not dataclasses.is_dataclass(first) or any(type(m) is not type(first) for m in members):
        return None
    out: dict[str, Array] = {}
    for f in dataclasses.fields(first):
        values = [getattr(m, f.name) for m in members]
        if all(_same(v, values[0]) for v in values[1:]):
            continue
        if all(_number(v) for v in values):
            out[f.name] = jnp.asarray(np.asarray(values, np.float32))
        elif all(isinstance(v, tuple) and len(v) == len(values[0]) and all(map(_number, v)) for v in values):
            out[f.name] = jnp.asarray(np.asarray(values, np.float32))  # [M, P]
        else:
            return None
    return out


def _with_fields(member: Any, fields: dict[str, Array]) -> Any:
    """A copy of ``member`` with ``fields`` set to traced values (every row was validated when its member was
    built, so the dataclass's own checks, which want Python numbers, are not rerun)."""
    import copy

    out = copy.copy(member)
    for name, value in fields.items():
        old = getattr(member, name)
        object.__setattr__(out, name, tuple(value[i] for i in range(len(old))) if isinstance(old, tuple) else value)
    return out


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

    @property
    def population(self) -> PopulationPartner | None:
        """The partner when it is a :class:`PopulationPartner` (one member per episode), else None."""
        return self.partner if isinstance(self.partner, PopulationPartner) else None

    def reset(self, key: Array) -> tuple[Array, PartnerState]:
        obs, state = self.env.reset(key)
        population = self.population
        member = None if population is None else population.draw(member_key(key))
        return obs[np.asarray(self.learners)], PartnerState(state, obs, member)

    def wrapped_state(self, state: PartnerState) -> Any:
        return state.env_state

    def joint_actions(self, key: Array, state: PartnerState, actions: Array) -> tuple[Array, Array]:
        """``(env key, joint actions [n])`` of a step: the learners' ``actions`` with the partner's filled in."""
        key_partner, key_env = jax.random.split(key)
        mask = self.env.state_info(state.env_state)["action_mask"]
        population = self.population
        if population is None:
            partner_actions = self.partner.act(key_partner, state.env_state, state.obs, mask)
        else:
            member = jnp.int32(0) if state.member is None else state.member
            partner_actions = population.act_member(member, key_partner, state.env_state, state.obs, mask)
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
        member = state.member
        population = self.population
        if population is not None and member is not None:  # the next episode's member where this one ended
            drawn = population.draw(member_key(jax.random.split(key_env)[1]))  # (the module docstring)
            member = jnp.where(done, drawn, member).astype(jnp.int32)
        return obs[learners], PartnerState(env_state, obs, member), reward[learners], done, info

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
    "MEMBER_STREAM",
    "PER_AGENT_INFO",
    "FunctionPartner",
    "Partner",
    "PartnerState",
    "PopulationPartner",
    "TablePartner",
    "WithPartner",
    "member_key",
    "with_partner",
]
