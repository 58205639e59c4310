"""Actors: things that act in a marlkit env without training — fixed scripted policies, tabular policies, and a
team that seats several actors on the agents of one env.

An *actor* has the acting half of the deep learner contract (:mod:`marlkit.agents.deep.base`), over a state
pytree it does not change:

* ``initial_memory(spec, num_envs) -> memory`` (``()`` for actors without memory);
* ``act(key, state, observation, memory) -> (actions [E, n] int32, aux, memory)``;
* ``policy(state, observation, memory) -> probs [E, n, A_max]`` (zero on illegal actions).

Every deep learner is an actor (its state: the trained parameters); so are :class:`Uniform`, :class:`Constant` and
:class:`Table` below, and :class:`Team`, which is how play-against and cross-play are evaluated: one compiled
evaluation (:func:`marlkit.train.evaluate.evaluate`) of a team whose members each compute every agent's policy and
whose seat map picks, for agent ``i``, member ``seats[i]``'s row. Members sample with the *same* key, so a team of
one actor in every seat acts exactly as that actor alone (the self-play diagonal of a cross-play matrix equals the
plain evaluation).

Actors are frozen dataclasses (hashable: static arguments of ``jax.jit``); their states are arrays, so one
compiled program serves every table or parameter set of one shape.

Fixed policies by name (:data:`FIXED_POLICIES`, spec strings ``fixed:NAME`` or ``fixed:NAME?key=value``):
``uniform`` (uniform over the legal actions), ``noop`` (action 0, MPE's no-op), ``action?index=K`` (action ``K``).
A constant action that is illegal in a state is replaced by the lowest legal action there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.deep.base import Observation
from marlkit.envs.base import MultiAgentSpec
from marlkit.errors import InvalidGameError
from marlkit.registry import Registry

Array = jax.Array


def sample(key: Array, probs: Array) -> Array:
    """Actions ``[E, n]`` int32 drawn from ``probs [E, n, A]`` (zero-probability actions never drawn)."""
    logits = jnp.where(probs > 0, jnp.log(jnp.where(probs > 0, probs, 1.0)), -jnp.inf)
    return jax.random.categorical(key, logits).astype(jnp.int32)


def legal_uniform(mask: Array) -> Array:
    """The uniform distribution over the legal actions ``mask [..., A]`` (bool), ``[..., A]`` float32."""
    legal = mask.astype(jnp.float32)
    return legal / jnp.maximum(legal.sum(-1, keepdims=True), 1.0)


class StatelessActor:
    """Shared acting code of the actors whose policy is a function of the observation alone: no memory, and ``act``
    samples from ``policy``."""

    rollout_length: int = 1

    def initial_memory(self, spec: MultiAgentSpec, num_envs: int) -> Any:
        return ()

    def policy(self, state: Any, observation: Observation, memory: Any) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def act(self, key: Array, state: Any, observation: Observation, memory: Any) -> tuple[Array, Any, Any]:
        return sample(key, self.policy(state, observation, memory)), (), memory


@dataclass(frozen=True)
class Uniform(StatelessActor):
    """Every agent uniform over its legal actions (the random baseline)."""

    name: str = "uniform"

    def policy(self, state: Any, observation: Observation, memory: Any) -> Array:
        return legal_uniform(observation.action_mask)


@dataclass(frozen=True)
class Constant(StatelessActor):
    """Every agent plays action ``index`` where it is legal, else its lowest legal action."""

    index: int = 0
    name: str = "action"

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int | np.integer) or self.index < 0:
            raise InvalidGameError(f"fixed:action: index must be an action index >= 0, got {self.index!r}")
        object.__setattr__(self, "index", int(self.index))

    def check_spec(self, spec: MultiAgentSpec, agents: tuple[int, ...]) -> None:
        """Raise :class:`InvalidGameError` if an agent in ``agents`` has no action ``index``."""
        for i in agents:
            if self.index >= spec.num_actions[i]:
                raise InvalidGameError(
                    f"fixed:{self.name}: action {self.index} does not exist for agent {spec.agent_names[i]} "
                    f"({spec.num_actions[i]} actions: 0..{spec.num_actions[i] - 1})"
                )

    def policy(self, state: Any, observation: Observation, memory: Any) -> Array:
        mask = observation.action_mask
        size = mask.shape[-1]
        wanted = jnp.arange(size) == self.index
        legal = jnp.take(mask, min(self.index, size - 1), axis=-1)[..., None]
        first = jnp.arange(size) == jnp.argmax(mask, axis=-1)[..., None]
        return jnp.where(legal & (self.index < size), wanted, first).astype(jnp.float32)


def noop() -> Constant:
    """Action 0 for every agent (MPE's no-op)."""
    return Constant(0, "noop")


FIXED_POLICIES: Registry[StatelessActor] = Registry(
    "fixed policy", plural="fixed policies", param_error=InvalidGameError, hint="Write e.g. fixed:uniform."
)
"""Scripted policies by name: ``make(name, **params)`` builds one (spec strings ``fixed:NAME?key=value``)."""
FIXED_POLICIES.add("uniform", Uniform, description="uniform over the legal actions (the random baseline)")
FIXED_POLICIES.add("noop", noop, description="action 0 (MPE's no-op) where legal, else the lowest legal action")
FIXED_POLICIES.add(
    "action", Constant, description="action index (fixed:action?index=K) where legal, else the lowest legal action"
)


@dataclass(frozen=True)
class Table(StatelessActor):
    """A tabular policy ``state = table [n, S, A_max]`` on an exact game's env: agent ``i`` reads its state ``s``
    from its one-hot observation (``GameEnv``'s default ``observation="one-hot"``: the state of a fully observable
    game) and plays ``table[i, s]`` (renormalised over the legal actions; uniform over them where the row puts no
    mass on any)."""

    name: str = "table"

    def policy(self, state: Any, observation: Observation, memory: Any) -> Array:
        table = jnp.asarray(state, jnp.float32)
        s = jnp.argmax(observation.obs.reshape(*observation.obs.shape[:2], -1), axis=-1)  # [E, n]
        rows = table[jnp.arange(table.shape[0])[None, :], s]  # [E, n, A]
        rows = jnp.where(observation.action_mask, rows, 0.0)
        total = rows.sum(-1, keepdims=True)
        return jnp.where(total > 0, rows / jnp.where(total > 0, total, 1.0), legal_uniform(observation.action_mask))


@dataclass(frozen=True)
class Team:
    """Several actors seated on one env's agents: agent ``i`` is played by ``members[seats[i]]``; the state is the
    tuple of the members' states, the memory the tuple of their memories. Every member computes every agent's
    policy (so each member sees the observations it would alone) and samples with the same key; the team keeps
    agent ``i``'s row of its own member (module docstring)."""

    members: tuple[Any, ...]
    seats: tuple[int, ...]
    rollout_length: int = 1

    def __post_init__(self) -> None:
        if not self.members or any(not 0 <= s < len(self.members) for s in self.seats):
            raise InvalidGameError(f"team: seats {self.seats} must index its {len(self.members)} members")

    def _pick(self, per_member: list[Array]) -> Array:
        """``[E, n, ...]`` with agent ``i``'s slice from member ``seats[i]``."""
        stacked = jnp.stack(per_member)  # [M, E, n, ...]
        seats = jnp.asarray(self.seats, jnp.int32)
        return stacked[seats, :, jnp.arange(len(self.seats))].swapaxes(0, 1)

    def initial_memory(self, spec: MultiAgentSpec, num_envs: int) -> Any:
        return tuple(m.initial_memory(spec, num_envs) for m in self.members)

    def policy(self, state: Any, observation: Observation, memory: Any) -> Array:
        return self._pick([m.policy(s, observation, h) for m, s, h in zip(self.members, state, memory, strict=True)])

    def act(self, key: Array, state: Any, observation: Observation, memory: Any) -> tuple[Array, Any, Any]:
        outs = [m.act(key, s, observation, h) for m, s, h in zip(self.members, state, memory, strict=True)]
        return self._pick([o[0] for o in outs]), (), tuple(o[2] for o in outs)


__all__ = [
    "FIXED_POLICIES",
    "Constant",
    "StatelessActor",
    "Table",
    "Team",
    "Uniform",
    "legal_uniform",
    "noop",
    "sample",
]
