"""Parameter sharing: which agents use which network (Christianos et al. 2021; Albrecht, Christianos & Schäfer
2024, §8.6 and §9.7 for weak and strong homogeneity).

Three modes, one mechanism — a network's parameters carry a leading axis of ``P`` parameter *sets* and agent
``i`` uses set ``set_of[i]``:

* ``"none"``: one set per agent (``P = n``);
* ``"full"``: one set for all agents (``P = 1``), with a one-hot agent id appended to each agent's input so the
  shared network can still act differently per agent (``agent_id=False`` drops it: identical policies);
* ``"group"``: one set per agent group of the env's spec (``spec.groups``, e.g. MPE simple tag's adversaries and
  good agents), with agent ids inside a group of more than one agent.

The default (:func:`default_sharing`) follows the env's homogeneity, so the game-theoretic property has a
practical consequence: for an exact game, *strongly* homogeneous agents (an identical optimal joint policy
exists) share one network without ids, *weakly* homogeneous ones (interchangeable roles) share one network with
agent ids, otherwise none is shared; for any other env, ``spec.homogeneous`` gives full sharing with ids, several
internally homogeneous groups give group sharing, anything else none. The choice and its reason are recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec
from marlkit.errors import LearnerConfigError

Array = jax.Array
SHARING_MODES = ("none", "full", "group")


@dataclass(frozen=True)
class SharingPlan:
    """Resolved sharing: ``set_of[i]`` is agent i's parameter set; ``agent_id`` appends one-hot agent ids."""

    mode: str
    set_of: tuple[int, ...]
    agent_id: bool
    reason: str = ""

    @property
    def num_sets(self) -> int:
        return max(self.set_of) + 1

    @property
    def n_agents(self) -> int:
        return len(self.set_of)

    def input_size(self, obs_size: int) -> int:
        """The network input width for an observation of ``obs_size`` features."""
        return obs_size + (self.n_agents if self.agent_id else 0)

    def with_ids(self, x: Array) -> Array:
        """``x [..., n, d]`` with one-hot agent ids appended when the plan asks for them: ``[..., n, d (+ n)]``."""
        if not self.agent_id:
            return x
        ids = jnp.broadcast_to(jnp.eye(self.n_agents, dtype=x.dtype), (*x.shape[:-2], self.n_agents, self.n_agents))
        return jnp.concatenate([x, ids], axis=-1)

    def init(self, key: Array, init_one: Callable[[Array], Any]) -> Any:
        """Parameters for every set: ``init_one(key) -> params`` vmapped over ``P`` keys (leading axis ``[P]``)."""
        return jax.vmap(init_one)(jax.random.split(key, self.num_sets))

    def apply(self, fn: Callable[..., Any], params: Any, *args: Any, batch_dims: int | None = None) -> Any:
        """Run ``fn(params_of_agent, *args_of_agent)`` for every agent.

        ``params`` has a leading ``[P]`` axis; every leaf of ``args`` has shape ``[*B, n, *f]`` (the same batch
        dims ``B`` — ``batch_dims = len(B)``, by default ``ndim - 2`` of the first leaf — then the agent axis);
        the result's leaves come back as ``[*B, n, *out]``. With one set the network runs once over all agents
        (``fn`` must accept any leading batch dims — flax modules do).
        """
        if self.num_sets == 1:
            return fn(jax.tree_util.tree_map(lambda p: p[0], params), *args)
        nb = jax.tree_util.tree_leaves(args)[0].ndim - 2 if batch_dims is None else batch_dims
        if self.set_of == tuple(range(self.n_agents)):
            per_agent = params
        else:
            index = jnp.asarray(np.asarray(self.set_of, np.int32))
            per_agent = jax.tree_util.tree_map(lambda p: p[index], params)
        moved = jax.tree_util.tree_map(lambda a: jnp.moveaxis(a, nb, 0), args)
        out = jax.vmap(fn)(per_agent, *moved)
        return jax.tree_util.tree_map(lambda a: jnp.moveaxis(a, 0, nb), out)


def plan_sharing(spec: MultiAgentSpec, mode: str, agent_id: bool | None = None, reason: str = "") -> SharingPlan:
    """Resolve ``mode`` ("none" / "full" / "group") for ``spec``; ``agent_id=None`` appends ids wherever a
    parameter set serves more than one agent."""
    n = spec.n_agents
    if mode == "none":
        set_of = tuple(range(n))
    elif mode == "full":
        set_of = (0,) * n
    elif mode == "group":
        set_of_list = [0] * n
        for g, group in enumerate(spec.groups):
            for i in group.agents:
                set_of_list[i] = g
        set_of = tuple(set_of_list)
        for group in spec.groups:
            members = group.agents
            if len({spec.obs_sizes[i] for i in members}) > 1 or len({spec.num_actions[i] for i in members}) > 1:
                raise LearnerConfigError(
                    f"sharing='group': group {group.name!r} of {spec.name} mixes observation or action sizes; "
                    "use sharing='none'"
                )
    else:
        raise LearnerConfigError(f"sharing must be one of {SHARING_MODES} or None (the default), got {mode!r}")
    shared = len(set(set_of)) < n
    return SharingPlan(mode, set_of, shared if agent_id is None else bool(agent_id) and n > 1, reason)


def spec_default(spec: MultiAgentSpec) -> SharingPlan:
    """The default from the spec alone (any env that is not an exact game)."""
    if spec.homogeneous:
        return plan_sharing(spec, "full", reason="homogeneous agents (one group, same spaces): one network, agent ids")
    if len(spec.groups) > 1:
        try:
            return plan_sharing(spec, "group", reason="agent groups of like agents: one network per group")
        except LearnerConfigError:
            pass
    return plan_sharing(spec, "none", reason="heterogeneous agents: one network each")


def learner_plan(spec: MultiAgentSpec, sharing: str | None, agent_id: bool | None = None) -> SharingPlan:
    """What a learner's ``init`` calls: its ``sharing``/``agent_id`` fields resolved for ``spec`` (``None``: the
    spec's default; the trainers resolve ``None`` with :func:`default_sharing` first, which sees exact games)."""
    if sharing is None:
        plan = spec_default(spec)
        return plan if agent_id is None else plan_sharing(spec, plan.mode, agent_id, plan.reason)
    return plan_sharing(spec, sharing, agent_id, reason=f"sharing={sharing!r} requested")


def default_sharing(env: MultiAgentEnv) -> SharingPlan:
    """The default sharing for ``env`` and why (see the module docstring)."""
    spec = env.spec
    game = getattr(env.unwrapped, "game", None)
    if game is not None and spec.n_agents > 1:
        from marlkit.games.properties import strongly_homogeneous, weakly_homogeneous

        weak = weakly_homogeneous(game, seed=0)
        if weak.holds:
            strong = strongly_homogeneous(game, weak=weak, seed=0)
            if strong.holds:
                return plan_sharing(
                    spec, "full", agent_id=False, reason="strongly homogeneous agents: one network, no agent ids"
                )
            return plan_sharing(spec, "full", reason="weakly homogeneous agents: one network with agent ids")
        return plan_sharing(spec, "none", reason="agents are not homogeneous: one network each")
    return spec_default(spec)


def resolve_sharing(env: MultiAgentEnv, mode: str | None) -> SharingPlan:
    """``mode=None`` gives :func:`default_sharing`; a mode is resolved with :func:`plan_sharing`."""
    return default_sharing(env) if mode is None else learner_plan(env.spec, mode)


__all__ = [
    "SHARING_MODES",
    "SharingPlan",
    "default_sharing",
    "learner_plan",
    "plan_sharing",
    "resolve_sharing",
    "spec_default",
]
