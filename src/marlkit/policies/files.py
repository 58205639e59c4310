"""Policy files: a trained policy as one self-describing file, and :class:`Policy`, the object that acts with it.

File layout (docs/policies.md; no pickle anywhere):

====================  =====================================================================================
bytes                 content
====================  =====================================================================================
0..7                  the magic ``b"MKPOLICY"``
8..15                 ``H``: the header's length in bytes, unsigned 64-bit little-endian
16..16+H              the header: UTF-8 JSON (below)
16+H..end             the parameters: flax msgpack (``flax.serialization.msgpack_serialize`` of a dict of
                      NumPy arrays; read back with ``msgpack_restore``)
====================  =====================================================================================

The header holds ``format`` (``"marlkit-policy"``), ``format_version`` (:data:`FORMAT_VERSION`), the
``marlkit_version`` that wrote it, ``kind`` (``"deep"`` or ``"table"``), ``learner`` (registry name and, for deep
learners, every hyper-parameter), ``sharing`` (the parameter-sharing plan: mode, agent -> parameter set, agent
ids), ``spec`` (agents, observation shape and sizes, action counts, groups, ...), ``env`` (how to rebuild the env:
a task name and its parameters, or an exact game embedded as its JSON dict and the episode limit), ``source`` (the
run directory and training seed it came from), ``payload`` (for deep policies: which leaves of the learner state
are stored and the state's shape), ``params_bytes`` and ``params_sha256`` (SHA-256 of the parameter bytes). Files
are written atomically (:mod:`marlkit.atomic`). Reading goes through :mod:`marlkit.strict` (docs/hardening.md):
the file's size is checked against ``MARLKIT_MAX_FILE_BYTES`` before it is read, the header is strict JSON
(duplicate keys, NaN / Infinity, nesting deeper than 64 levels refused), its keys are :data:`HEADER_KEYS` (another
is refused with the closest one) and its fields have exact types.

What is stored: for a deep learner, the leaves of its state that its ``policy`` and ``act`` read (found by tracing
them and following the traced program back from the outputs, so optimiser moments and replay buffers are left
out); on load the learner is rebuilt from its registry name and hyper-parameters, its state's shape from
``init`` (``jax.eval_shape``), and the leaves it does not read are zeros. For a tabular run, the policy table
``[n, S, A_max]`` of the run's History at its last logging point (the behaviour policy each tabular learner held at
the end of training, what ``act`` sampled from).

:class:`Policy` is the act interface other commands (evaluation, rendering) use::

    policy = load_policy("spread.mkp")                 # stochastic; policy.greedy() for the argmax policy
    env = policy.make_env()                            # or any env with the same spec (policy.check_env(env))
    obs, state = env.reset(key)
    memory = policy.initial_memory(1)
    out = policy(policy.observe(obs, env.state_info(state)), key, memory)   # PolicyOutput(actions, probs, memory)
    obs, state, reward, done, info = env.step(key, state, out.actions[0])
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit import strict
from marlkit.agents.deep.base import Observation
from marlkit.atomic import write_with
from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec
from marlkit.errors import MarlkitError, NotApplicableError, PolicyFileError
from marlkit.policies.actors import Table
from marlkit.policies.spec import EnvRef, check_interface, describe_spec, spec_from_json, spec_to_json
from marlkit.registry import did_you_mean
from marlkit.train.evaluate import greedy_actions

Array = jax.Array
FORMAT = "marlkit-policy"
FORMAT_VERSION = 1
MAGIC = b"MKPOLICY"
SUFFIX = ".mkp"
MODES = ("stochastic", "greedy")
KINDS = ("deep", "table")
HEADER_KEYS = (
    "format",
    "format_version",
    "marlkit_version",
    "kind",
    "learner",
    "sharing",
    "spec",
    "env",
    "num_envs",
    "source",
    "label",
    "payload",
    "params_bytes",
    "params_sha256",
)
"""The keys of a policy file's header (module docstring); ``num_envs`` only for deep policies."""
_LENGTH = struct.Struct("<Q")


class PolicyOutput(NamedTuple):
    """What a :class:`Policy` returns for a batch of ``E`` envs: ``actions [E, n]`` int32, the distribution
    ``probs [E, n, A_max]`` they were drawn from (the learner's own, exploration included; the argmax of it in
    greedy mode), and the ``memory`` to pass at the next step (``()`` for feed-forward policies). With Box
    actions: ``actions [E, n, D_max]`` float32 and ``probs [E, n, 2, D_max]``, the Gaussian's mean and std (greedy
    mode acts by the mean; :func:`marlkit.train.evaluate.greedy_actions`)."""

    actions: Array
    probs: Array
    memory: Any


# ------------------------------------------------------------------------------------------------ policy


@partial(jax.jit, static_argnums=(0, 1))
def _act(actor: Any, mode: str, params: Any, observation: Observation, key: Array, memory: Any) -> PolicyOutput:
    """One decision of ``actor`` — exactly what :func:`marlkit.train.evaluate.evaluate` does per step."""
    probs = actor.policy(params, observation, memory)
    if mode == "stochastic":
        actions, _, memory = actor.act(key, params, observation, memory)
    else:
        actions = greedy_actions(probs, observation.action_mask)
        if jax.tree_util.tree_leaves(memory):
            _, _, memory = actor.act(key, params, observation, memory)
    return PolicyOutput(actions, probs, memory)


@dataclass(frozen=True)
class Policy:
    """A trained policy for every agent of one env: an actor (a deep learner, or :class:`~marlkit.policies.actors.
    Table`) and its parameters, with the header of its file.

    Call it as ``policy(observation, key, memory) -> PolicyOutput(actions, probs, memory)``: ``observation`` an
    :class:`~marlkit.agents.deep.base.Observation` with a batch axis ``[E, n, ...]`` or a raw observation array
    ``[E, n, *obs_shape]`` (or ``[n, *obs_shape]`` for one env, answered without the batch axis; see
    :meth:`observe`), ``key`` a JAX key (used in stochastic mode, and for a recurrent policy's memory), ``memory``
    from :meth:`initial_memory` (or the previous output). Compiled once per actor, mode and shape.

    Attributes:
        actor: what acts (hashable; a deep learner rebuilt from its hyper-parameters, or a ``Table``).
        params: its state pytree (the trained parameters; for a table, ``[n, S, A_max]``).
        spec: the spec of the env it was trained on.
        header: the file header (read-only; module docstring).
        mode: ``"stochastic"`` (sample from the learner's policy, exploration included) or ``"greedy"`` (each
            agent's most probable legal action).
    """

    actor: Any
    params: Any
    spec: MultiAgentSpec
    header: Mapping[str, Any]
    mode: str = "stochastic"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PolicyFileError(f"mode: expected one of {list(MODES)}, got {self.mode!r}")

    # -------------------------------------------------------------------------------------------- facts
    @property
    def kind(self) -> str:
        """``"deep"`` or ``"table"``."""
        return str(self.header["kind"])

    @property
    def learner(self) -> str:
        """The learner's registry name (a tabular run's: its learners' names joined by ``+``)."""
        return str(self.header["learner"]["name"])

    @property
    def sharing(self) -> dict[str, Any]:
        """The parameter-sharing plan: ``mode``, ``set_of`` (agent -> parameter set), ``agent_id``, ``reason``."""
        return dict(self.header["sharing"])

    @property
    def env(self) -> EnvRef:
        """How to rebuild the env it was trained on."""
        return EnvRef.from_json(self.header["env"])

    @property
    def version(self) -> str:
        """The marlkit version that wrote the file."""
        return str(self.header["marlkit_version"])

    @property
    def label(self) -> str:
        """A short name: the file's or run's stem and training seed, e.g. ``spread.mkp`` or ``run-1#seed0``."""
        return str(self.header.get("label") or self.learner)

    def with_label(self, label: str) -> Policy:
        return dataclasses.replace(self, header=MappingProxyType({**self.header, "label": label}))

    def greedy(self) -> Policy:
        """The same policy in greedy mode."""
        return dataclasses.replace(self, mode="greedy")

    def stochastic(self) -> Policy:
        """The same policy in stochastic mode."""
        return dataclasses.replace(self, mode="stochastic")

    def with_mode(self, mode: str) -> Policy:
        return dataclasses.replace(self, mode=mode)

    def make_env(self) -> MultiAgentEnv:
        """The env it was trained on, rebuilt from the header."""
        return self.env.build()

    def check_env(self, env: MultiAgentEnv) -> None:
        """Raise :class:`PolicyFileError` (naming both) unless ``env`` has this policy's agents and spaces, and the
        policy can act on its observations (traced, not run: e.g. a centralised critic reads the global state)."""
        check_interface(self.spec, env.spec, f"policy {self.label}")
        spec = env.spec
        n, batch = spec.n_agents, 1
        shapes = (
            jax.ShapeDtypeStruct((batch, n, *spec.obs_shape), jnp.float32),
            jax.ShapeDtypeStruct((batch, n, spec.max_actions), jnp.bool_),
            jax.ShapeDtypeStruct((batch, spec.global_state_size), jnp.float32),
            jax.ShapeDtypeStruct((batch,), jnp.bool_),
        )
        try:
            jax.eval_shape(
                lambda *o: self.actor.act(jax.random.key(0), self.params, Observation(*o), self.initial_memory(batch)),
                *shapes,
            )
        except Exception as exc:  # any failure to trace is the same problem for the user
            raise PolicyFileError(
                f"policy {self.label} cannot act on {describe_spec(spec)}: it was trained on "
                f"{describe_spec(self.spec)} ({type(exc).__name__}); a policy acts only on an env with its agents, "
                "spaces and global state"
            ) from None

    # -------------------------------------------------------------------------------------------- acting
    def initial_memory(self, num_envs: int) -> Any:
        """The memory before the first step of ``num_envs`` envs (``()`` unless the learner is recurrent)."""
        return self.actor.initial_memory(self.spec, num_envs)

    def observe(
        self,
        obs: Array | np.ndarray,
        info: Mapping[str, Any] | None = None,
        first: Array | np.ndarray | bool | None = None,
    ) -> Observation:
        """An :class:`Observation` from an env's output: ``obs [E, n, *obs_shape]`` (or ``[n, ...]`` for one env),
        ``info`` the env's step info or ``env.state_info(state)`` (its ``action_mask`` and ``global_state``; without
        it every action an agent has is legal and the global state is zeros — the actors read neither, except the
        masks), ``first`` whether the observation starts an episode (resets a recurrent policy's memory; default
        True where ``info`` is None)."""
        x = jnp.asarray(obs, jnp.float32)
        single = x.ndim == len(self.spec.obs_shape) + 1
        if single:
            x = x[None]
        batch = x.shape[0]
        info = info or {}
        if "action_mask" in info:
            mask = jnp.asarray(info["action_mask"], bool)
        else:
            mask = jnp.arange(self.spec.max_actions) < jnp.asarray(self.spec.num_actions)[:, None]
        mask = jnp.broadcast_to(mask, (batch, self.spec.n_agents, self.spec.max_actions))
        state = info.get("global_state")
        global_state = (
            jnp.zeros((batch, self.spec.global_state_size), jnp.float32)
            if state is None
            else jnp.broadcast_to(jnp.asarray(state, jnp.float32), (batch, self.spec.global_state_size))
        )
        start = jnp.broadcast_to(jnp.asarray(not info if first is None else first, bool), (batch,))
        return Observation(x, mask, global_state, start)

    def __call__(self, observation: Observation | Array | np.ndarray, key: Array, memory: Any = ()) -> PolicyOutput:
        """Act (class docstring)."""
        single = False
        if not isinstance(observation, Observation):
            single = jnp.ndim(observation) == len(self.spec.obs_shape) + 1
            observation = self.observe(observation)
        if not jax.tree_util.tree_leaves(memory):
            memory = self.initial_memory(observation.obs.shape[0])
        out = _act(self.actor, self.mode, self.params, observation, key, memory)
        if single:
            return PolicyOutput(out.actions[0], out.probs[0], out.memory)
        return out

    def act_function(self) -> Callable[[Array, Any, Mapping[str, Any]], Array]:
        """This policy as a one-env ``act(key, obs [n, ...], info) -> actions`` function with its memory kept
        between calls (what :func:`marlkit.envs.render_episode` plays; ``info`` holds the step's ``action_mask``,
        ``global_state`` and ``done``, which resets a recurrent policy's memory)."""
        memory = [self.initial_memory(1)]

        def act(key: Array, obs: Any, info: Mapping[str, Any]) -> Array:
            out = self(self.observe(obs, info, first=info.get("done", False)), key, memory[0])
            memory[0] = out.memory
            return out.actions[0]

        return act

    def probs(self, observation: Observation | Array | np.ndarray, memory: Any = ()) -> Array:
        """The action distribution ``[E, n, A_max]`` of the learner at ``observation`` (no sampling)."""
        return self(observation, jax.random.key(0), memory).probs

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the policy file (atomic); see :func:`save_policy`."""
        return save_policy(self, path)


# ----------------------------------------------------------------------------------------- deep policies


def _live_inputs(fn: Callable[[list[Array]], Any], leaves: list[Any]) -> set[int]:
    """Indices of ``leaves`` that ``fn``'s outputs depend on: trace ``fn``, then walk the program back from its
    outputs (an equation is live when one of its outputs is; a nested program counts as one equation)."""
    from jax.extend.core import Literal

    closed = jax.make_jaxpr(fn)(leaves)
    program = closed.jaxpr
    live = {v for v in program.outvars if not isinstance(v, Literal)}
    for eqn in reversed(program.eqns):
        if eqn.effects or any(v in live for v in eqn.outvars):
            live.update(v for v in eqn.invars if not isinstance(v, Literal))
    return {i for i, v in enumerate(program.invars) if v in live}


def policy_leaves(actor: Any, state: Any, spec: MultiAgentSpec) -> list[int]:
    """The leaves of ``state`` (``jax.tree_util.tree_leaves`` order) that ``actor``'s ``policy`` and ``act``
    (actions and memory) read, on one env of ``spec``."""
    leaves, treedef = jax.tree_util.tree_flatten(state)
    mask = jnp.arange(spec.max_actions) < jnp.asarray(spec.num_actions)[:, None]
    observation = Observation(
        jnp.zeros((1, spec.n_agents, *spec.obs_shape), jnp.float32),
        mask[None],
        jnp.zeros((1, spec.global_state_size), jnp.float32),
        jnp.ones(1, bool),
    )
    memory = actor.initial_memory(spec, 1)
    key = jax.random.key(0)

    def run(ls: list[Array]) -> Any:
        s = jax.tree_util.tree_unflatten(treedef, ls)
        actions, _, new_memory = actor.act(key, s, observation, memory)
        return actor.policy(s, observation, memory), actions, new_memory

    return sorted(_live_inputs(run, leaves))


def learner_json(learner: Any) -> dict[str, Any]:
    """A deep learner's registry name and hyper-parameters as JSON (tuples as lists)."""
    from marlkit.agents.deep.registry import DEEP_LEARNERS, hyper_parameters

    name = next((n for n in DEEP_LEARNERS.names() if DEEP_LEARNERS.load(n) is type(learner)), None)
    if name is None:
        raise NotApplicableError(
            f"export: {type(learner).__name__} is not a deep learner of marlkit's registry "
            f"({', '.join(DEEP_LEARNERS.names())}); only those can be rebuilt from a policy file"
        )
    params = {}
    for key in hyper_parameters(type(learner)):
        value = getattr(learner, key)
        try:
            json.dumps(value)
        except TypeError:
            raise NotApplicableError(f"export: {name}.{key} = {value!r} cannot be written as JSON") from None
        params[key] = value
    return {"name": name, "params": json.loads(json.dumps(params))}


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def rebuild_learner(data: Mapping[str, Any]) -> Any:
    """The deep learner :func:`learner_json` described."""
    from marlkit.agents.deep.registry import make_deep_learner

    return make_deep_learner(str(data["name"]), **{k: _tuples(v) for k, v in dict(data["params"]).items()})


def _sharing_json(state: Any, spec: MultiAgentSpec) -> dict[str, Any]:
    plan = getattr(state, "plan", None)
    if plan is None or not hasattr(plan, "set_of"):
        return {"mode": "none", "set_of": list(range(spec.n_agents)), "agent_id": False, "reason": "not shared"}
    return {"mode": plan.mode, "set_of": list(plan.set_of), "agent_id": bool(plan.agent_id), "reason": plan.reason}


def _label(source: Mapping[str, Any]) -> str:
    run = source.get("run")
    if run:
        return f"{Path(str(run)).name}#seed{source.get('seed_index', 0)}"
    return str(source.get("label", ""))


def policy_from_learner(
    learner: Any,
    state: Any,
    env: MultiAgentEnv,
    env_ref: EnvRef,
    *,
    num_envs: int,
    source: Mapping[str, Any] | None = None,
    sharing_reason: str | None = None,
) -> Policy:
    """The :class:`Policy` of a trained deep ``learner`` with one seed's ``state`` on ``env`` (a learner with
    ``deployed``, e.g. adversarial training, is taken as the team it deploys). ``num_envs`` is the training's
    (it fixes the shape of learner states that hold per-env buffers); ``source`` goes into the header;
    ``sharing_reason`` replaces the sharing plan's reason (a run's History says why the trainer chose it)."""
    from marlkit import __version__
    from marlkit.train.evaluate import deployed

    learner, state = deployed(learner, state)
    description = learner_json(learner)
    source = dict(source or {})
    sharing = _sharing_json(state, env.spec)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "marlkit_version": __version__,
        "kind": "deep",
        "learner": description,
        "sharing": {**sharing, "reason": sharing_reason} if sharing_reason else sharing,
        "spec": spec_to_json(env.spec),
        "env": env_ref.to_json(),
        "num_envs": int(num_envs),
        "source": source,
        "label": _label(source),
    }
    return Policy(learner, state, env.spec, MappingProxyType(header))


def policy_from_table(
    table: np.ndarray,
    env: MultiAgentEnv,
    env_ref: EnvRef,
    *,
    learner: str,
    source: Mapping[str, Any] | None = None,
) -> Policy:
    """The :class:`Policy` of a tabular policy ``table [n, S, A_max]`` on the exact game env ``env``."""
    from marlkit import __version__

    spec = env.spec
    table = np.asarray(table, np.float32)
    expected = (spec.n_agents, spec.global_state_size, spec.max_actions)
    if table.shape != expected:
        raise PolicyFileError(f"table: expected shape {expected} (agents, states, actions), got {table.shape}")
    if not np.all(np.isfinite(table)) or np.any(table < 0):
        raise PolicyFileError("table: probabilities must be finite and >= 0")
    source = dict(source or {})
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "marlkit_version": __version__,
        "kind": "table",
        "learner": {"name": learner},
        "sharing": {"mode": "none", "set_of": list(range(spec.n_agents)), "agent_id": False, "reason": "tables"},
        "spec": spec_to_json(spec),
        "env": env_ref.to_json(),
        "source": source,
        "label": _label(source),
    }
    return Policy(Table(), jnp.asarray(table), spec, MappingProxyType(header))


# ---------------------------------------------------------------------------------------------- writing


def payload(policy: Policy) -> tuple[bytes, dict[str, Any]]:
    """The parameter bytes of ``policy`` and what the header says about them (module docstring)."""
    from flax.serialization import msgpack_serialize

    if policy.kind == "table":
        data: dict[str, Any] = {"table": np.asarray(policy.params, np.float32)}
        return msgpack_serialize(data), {}
    leaves = jax.tree_util.tree_leaves(policy.params)
    used = policy_leaves(policy.actor, policy.params, policy.spec)
    stored = {}
    for i in used:
        leaf = leaves[i]
        if jnp.issubdtype(jnp.asarray(leaf).dtype, jax.dtypes.prng_key):
            raise NotApplicableError(f"export: the policy reads a PRNG key (state leaf {i}); it cannot be stored")
        stored[str(i)] = np.asarray(leaf)
    return msgpack_serialize({"leaves": stored}), {"leaves": used, "num_leaves": len(leaves)}


def encode(policy: Policy) -> bytes:
    """The whole file's bytes."""
    body, about = payload(policy)
    header = {k: v for k, v in policy.header.items() if k not in ("payload", "params_bytes", "params_sha256")}
    header.update(payload=about, params_bytes=len(body), params_sha256=hashlib.sha256(body).hexdigest())
    text = json.dumps(header, allow_nan=False).encode("utf-8")
    return MAGIC + _LENGTH.pack(len(text)) + text + body


def save_policy(policy: Policy, path: str | os.PathLike[str]) -> Path:
    """Write ``policy`` to ``path`` (atomic: a reader sees the old file or the whole new one)."""
    data = encode(policy)

    def write(handle: IO[Any]) -> None:
        handle.write(data)

    return write_with(path, write)


# ---------------------------------------------------------------------------------------------- reading


def check_header(header: Mapping[str, Any]) -> None:
    """Check a policy file's header: only :data:`HEADER_KEYS`, each field of its JSON kind (a string, a whole
    number, an object), the kind one of :data:`KINDS` (:class:`PolicyFileError`, one line naming the field)."""
    error = PolicyFileError
    strict.check_keys("header", header, HEADER_KEYS, "a policy-file header", error)
    required = ("kind", "learner", "sharing", "spec", "env", "params_bytes", "params_sha256")
    for key in required:
        if key not in header:
            raise error(f"header: {key!r} is missing; a policy-file header has {', '.join(HEADER_KEYS)}")
    kind = strict.string("header.kind", header["kind"], error)
    if kind not in KINDS:
        raise error(f"header.kind: unknown policy kind {strict.shorten(kind)}{did_you_mean(kind, KINDS)}")
    for key in ("learner", "sharing", "spec", "env", "source", "payload"):
        if key in header:
            strict.mapping(f"header.{key}", header[key], error)
    strict.string("header.learner.name", header["learner"].get("name"), error)
    for key in ("marlkit_version", "label"):
        if key in header:
            strict.string(f"header.{key}", header[key], error, limit=strict.MAX_TEXT_LENGTH)
    strict.integer("header.params_bytes", header["params_bytes"], error, low=0)
    strict.string("header.params_sha256", header["params_sha256"], error)
    if kind == "deep":
        if "num_envs" not in header:
            raise error("header: 'num_envs' is missing; a deep policy's header has it")
        strict.integer("header.num_envs", header["num_envs"], error, low=1, high=2**31 - 1)


def read_header(path: str | os.PathLike[str]) -> tuple[dict[str, Any], bytes]:
    """The header and parameter bytes of a policy file, checked (magic, length, format, version, digest).

    Raises:
        PolicyFileError: missing, unreadable, truncated, not a marlkit policy, another format version, or a
            digest that does not match the parameters.
    """
    where = Path(path)
    if not where.exists():
        raise PolicyFileError(f"{where}: no such policy file; write one with `marlkit export RUN_DIR`")
    if where.is_dir():
        raise PolicyFileError(f"{where}: a folder, not a policy file")
    data = strict.read_limited(where, PolicyFileError)
    if not data.startswith(MAGIC):
        raise PolicyFileError(
            f"{where}: not a marlkit policy file (it does not start with {MAGIC.decode()}); write one with "
            "`marlkit export RUN_DIR`"
        )
    start = len(MAGIC) + _LENGTH.size
    if len(data) < start:
        raise PolicyFileError(f"{where}: truncated policy file ({len(data)} bytes); export it again")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    if len(data) < start + length:
        raise PolicyFileError(f"{where}: truncated policy file (the header is cut short); export it again")
    try:
        header = strict.loads_json(data[start : start + length], PolicyFileError, "its header")
    except PolicyFileError as exc:
        raise PolicyFileError(f"{where}: corrupt policy file: {exc}; export it again") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise PolicyFileError(f"{where}: not a marlkit policy file (header format is not {FORMAT!r})")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise PolicyFileError(
            f"{where}: policy format version {strict.shorten(version)}; this marlkit reads version {FORMAT_VERSION} "
            f"(written by marlkit {strict.shorten(header.get('marlkit_version', '?'))}; export it again with this "
            "marlkit)"
        )
    try:
        check_header(header)
    except PolicyFileError as exc:
        raise PolicyFileError(f"{where}: {exc}") from None
    body = data[start + length :]
    if len(body) != header.get("params_bytes"):
        raise PolicyFileError(
            f"{where}: truncated policy file ({len(body)} of {header.get('params_bytes')} parameter bytes); "
            "export it again"
        )
    if hashlib.sha256(body).hexdigest() != header.get("params_sha256"):
        raise PolicyFileError(f"{where}: the parameters do not match the header's SHA-256 digest (a corrupt file)")
    return header, body


def load_policy(path: str | os.PathLike[str], *, mode: str = "stochastic") -> Policy:
    """Read a policy file (module docstring) into a :class:`Policy` in ``mode``.

    Raises:
        PolicyFileError: a missing, truncated, foreign or corrupt file, another format version, or a file whose
            parameters do not fit its learner.
    """
    from flax.serialization import msgpack_restore

    header, body = read_header(path)
    where = Path(path)
    try:
        params = msgpack_restore(body)
        spec = spec_from_json(header["spec"])
        kind = header["kind"]
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyFileError(f"{where}: corrupt policy file ({exc})") from None
    if kind not in KINDS:
        raise PolicyFileError(f"{where}: unknown policy kind {kind!r}; expected one of {list(KINDS)}")
    header.setdefault("label", "")
    if not header["label"]:
        header["label"] = where.name
    frozen = MappingProxyType(header)
    if kind == "table":
        table = np.asarray(params.get("table"), np.float32)
        expected = (spec.n_agents, spec.global_state_size, spec.max_actions)
        if table.shape != expected:
            raise PolicyFileError(f"{where}: its table has shape {table.shape}, its spec needs {expected}")
        return Policy(Table(), jnp.asarray(table), spec, frozen, mode)
    try:
        learner = rebuild_learner(header["learner"])
        num_envs = int(header["num_envs"])
        template = jax.eval_shape(lambda k: learner.init(k, spec, num_envs), jax.random.key(0))
    except MarlkitError as exc:
        raise PolicyFileError(f"{where}: its learner cannot be rebuilt here ({exc})") from None
    state = restore_state(template, params.get("leaves", {}), header.get("payload", {}), where)
    return Policy(learner, state, spec, frozen, mode)


def restore_state(template: Any, stored: Mapping[str, Any], about: Mapping[str, Any], where: Path) -> Any:
    """The learner state: ``template``'s structure (``jax.eval_shape`` of ``init``), the stored leaves in their
    places, zeros elsewhere (leaves the policy does not read)."""
    shapes, treedef = jax.tree_util.tree_flatten(template)
    if about.get("num_leaves") != len(shapes):
        raise PolicyFileError(
            f"{where}: its learner state has {about.get('num_leaves')} leaves, the rebuilt learner's has "
            f"{len(shapes)} (written by another marlkit version?); export it again"
        )
    leaves: list[Any] = []
    for i, shape in enumerate(shapes):
        value = stored.get(str(i))
        if value is None:
            leaves.append(jnp.zeros(shape.shape, shape.dtype))
            continue
        array = np.asarray(value)
        if array.shape != shape.shape or array.dtype != shape.dtype:
            raise PolicyFileError(
                f"{where}: state leaf {i} has shape {array.shape} {array.dtype}; the learner needs "
                f"{shape.shape} {shape.dtype}"
            )
        leaves.append(jnp.asarray(array))
    return jax.tree_util.tree_unflatten(treedef, leaves)


def is_policy_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file that starts with the policy magic."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def labels_unique(policies: Sequence[Policy]) -> list[Policy]:
    """``policies`` with their labels made distinct (``#2``, ``#3`` appended to repeats)."""
    seen: dict[str, int] = {}
    out = []
    for p in policies:
        count = seen.get(p.label, 0) + 1
        seen[p.label] = count
        out.append(p if count == 1 else p.with_label(f"{p.label}#{count}"))
    return out


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAGIC",
    "MODES",
    "SUFFIX",
    "Policy",
    "PolicyOutput",
    "check_header",
    "encode",
    "is_policy_file",
    "labels_unique",
    "learner_json",
    "load_policy",
    "payload",
    "policy_from_learner",
    "policy_from_table",
    "policy_leaves",
    "read_header",
    "rebuild_learner",
    "restore_state",
    "save_policy",
]
