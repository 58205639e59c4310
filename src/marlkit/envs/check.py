"""The env contract checker: run it on your own env before you train on it (issue 17, item 7).

:func:`check_env` (like Gymnasium's ``gymnasium.utils.env_checker.check_env``) plays an env and checks every rule
of the contract in :mod:`marlkit.envs.base`, collecting every problem instead of stopping at the first:

1. ``type`` — the env is a :class:`~marlkit.envs.base.MultiAgentEnv` with a :class:`MultiAgentSpec` ``spec``;
   hashable and equal to itself (envs are static arguments of compiled programs: use a frozen dataclass);
2. ``reset`` — ``reset(key) -> (obs, state)`` under ``jax.jit``: ``obs [n, *obs_shape]`` float32, finite, inside
   ``[obs_low, obs_high]``, zero beyond each agent's true size ``obs_sizes[i]``; ``state_info(state)`` gives
   ``action_mask [n, A_max]`` bool with a legal action for every agent and none beyond ``num_actions[i]``, and
   ``global_state [G]`` float32;
3. ``step`` — ``step(key, state, actions)`` under ``jax.jit`` with uniformly random legal actions for ``steps``
   steps: the observation rules above, ``reward [n]`` float32 finite, ``done []`` bool, and ``info`` with every
   key the contract requires (``terminated``, ``truncated``, ``action_mask``, ``global_state``, ``final_obs``,
   ``final_action_mask``, ``final_global_state``, ``illegal_action`` and, in constrained tasks, ``cost [n, m]``)
   at the contract's shapes and dtypes; ``done == terminated | truncated``; before an episode ends ``final_obs``
   equals ``obs``; ``info["action_mask"]`` / ``info["global_state"]`` equal ``state_info`` of the returned state;
4. ``episodes`` — no episode runs past ``spec.max_episode_steps`` (the time limit truncates), and the step after
   ``done`` starts a new episode (auto-reset: ``final_obs`` is the old episode's end);
5. ``illegal actions`` — an out-of-range action is replaced, not used, and flagged in ``info["illegal_action"]``;
6. ``determinism`` — the same key gives the same observations, rewards and dones, step for step;
7. ``vmap`` — ``jax.vmap`` of ``reset`` and ``step`` over 3 envs gives the unbatched results, env by env;
8. ``render`` — where the env renders (``can_render``): ``uint8 [H, W, 3]``, the same picture for the same state,
   and ``render(batched_state, index=i)`` equal to rendering env ``i`` alone.

:func:`check_env` returns an :class:`EnvCheck` (``findings``: every problem, with the rule it breaks) and, with
``strict=True`` (the default), raises :class:`~marlkit.errors.InvalidGameError` listing every problem on one line.
:func:`load_env_target` imports a user's env class from ``"package.module:Class"`` through the registry's lazy
import and builds it (what a config's ``env: {target: ...}`` and ``marlkit check-env TARGET`` do).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec
from marlkit.errors import InvalidGameError, MarlkitError, NotApplicableError

RULES = ("type", "reset", "step", "episodes", "illegal actions", "determinism", "vmap", "render")
"""The rules :func:`check_env` checks, in order (module docstring)."""
INFO_KEYS = (
    "terminated",
    "truncated",
    "action_mask",
    "global_state",
    "final_obs",
    "final_action_mask",
    "final_global_state",
    "illegal_action",
)
"""The ``info`` keys every step must return (and ``cost`` in constrained tasks)."""
DEFAULT_STEPS = 100
TARGET_FORM = "package.module:ClassName"


@dataclass(frozen=True)
class Finding:
    """One problem: the rule it breaks (one of :data:`RULES`) and what is wrong."""

    rule: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


@dataclass(frozen=True)
class EnvCheck:
    """The outcome of :func:`check_env`: the env's name, the rules checked, the steps played and every finding."""

    env: str
    steps: int
    checked: tuple[str, ...]
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, object]:
        return {
            "env": self.env,
            "ok": self.ok,
            "steps": self.steps,
            "checked": list(self.checked),
            "findings": [{"rule": f.rule, "message": f.message} for f in self.findings],
        }

    def lines(self) -> list[str]:
        head = f"{self.env}: " + (
            f"follows the env contract ({len(self.checked)} rules, {self.steps} steps)"
            if self.ok
            else f"{len(self.findings)} problem(s) with the env contract"
        )
        return [head, *(f"  {f}" for f in self.findings), f"  rules checked: {', '.join(self.checked)}"]

    def message(self) -> str:
        """Every finding on one line."""
        return f"{self.env} does not follow the env contract: " + "; ".join(
            f"({k + 1}) {f}" for k, f in enumerate(self.findings)
        )


class _Checker:
    """Collects findings; ``rule`` runs one rule, turning an unexpected exception into a finding."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.checked: list[str] = []

    def add(self, rule: str, message: str) -> None:
        self.findings.append(Finding(rule, message))

    def rule(self, name: str, body: Callable[[], Any]) -> Any:
        self.checked.append(name)
        try:
            return body()
        except Exception as exc:  # every failure of the user's code is a finding
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            self.add(name, f"raised {type(exc).__name__}: {text[:300]}")
            return None


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def _dtype(x: Any) -> str:
    return str(np.asarray(x).dtype)


def _check_array(c: _Checker, rule: str, label: str, x: Any, shape: tuple[int, ...], kind: str) -> bool:
    """``x`` has ``shape`` and a dtype of ``kind`` ("float32", "bool", "int"); a finding otherwise."""
    if x is None:
        c.add(rule, f"{label} is missing")
        return False
    a = np.asarray(x)
    good_kind = {
        "float32": a.dtype == np.float32,
        "bool": a.dtype == np.bool_,
        "int": np.issubdtype(a.dtype, np.integer),
    }[kind]
    if a.shape != shape or not good_kind:
        c.add(rule, f"{label} must be {kind} {list(shape)}, got {a.dtype} {list(a.shape)}")
        return False
    return True


def _check_obs(c: _Checker, rule: str, label: str, obs: Any, spec: MultiAgentSpec) -> None:
    if not _check_array(c, rule, label, obs, (spec.n_agents, *spec.obs_shape), "float32"):
        return
    a = np.asarray(obs).reshape(spec.n_agents, -1)
    if not np.all(np.isfinite(a)):
        c.add(rule, f"{label} holds NaN or infinity")
        return
    if np.any(a < spec.obs_low) or np.any(a > spec.obs_high):
        c.add(rule, f"{label} leaves the spec's bounds [{spec.obs_low}, {spec.obs_high}]: [{a.min():g}, {a.max():g}]")
    for i, size in enumerate(spec.obs_sizes):
        if np.any(a[i, size:] != 0):
            c.add(rule, f"{label}: agent {i}'s entries past its true size obs_sizes[{i}]={size} must be zero padding")
            return


def _check_state_info(c: _Checker, rule: str, label: str, info: Mapping[str, Any], spec: MultiAgentSpec) -> None:
    mask = info.get("action_mask")
    if _check_array(c, rule, f"{label} action_mask", mask, (spec.n_agents, spec.max_actions), "bool"):
        m = np.asarray(mask)
        if not np.all(m.any(axis=1)):
            c.add(rule, f"{label} action_mask: agents {np.flatnonzero(~m.any(axis=1)).tolist()} have no legal action")
        beyond = np.arange(spec.max_actions)[None, :] >= np.asarray(spec.num_actions)[:, None]
        if np.any(m & beyond):
            c.add(rule, f"{label} action_mask allows actions past an agent's num_actions")
    _check_array(c, rule, f"{label} global_state", info.get("global_state"), (spec.global_state_size,), "float32")


def _check_step(c: _Checker, t: int, out: tuple, spec: MultiAgentSpec) -> bool:
    """One step's outputs ``(obs, reward, done, info, state_info of the returned state)`` against the contract;
    False when its structure is too broken to go on."""
    rule = "step"
    obs, reward, done, info, again = out
    at = f"step {t}:"
    _check_obs(c, rule, f"{at} obs", obs, spec)
    if _check_array(c, rule, f"{at} reward", reward, (spec.n_agents,), "float32") and not np.all(np.isfinite(reward)):
        c.add(rule, f"{at} reward holds NaN or infinity")
    _check_array(c, rule, f"{at} done", done, (), "bool")
    if not isinstance(info, Mapping):
        c.add(rule, f"{at} info must be a dict, got {type(info).__name__}")
        return False
    keys = INFO_KEYS + (("cost",) if spec.num_constraints else ())
    missing = [k for k in keys if k not in info]
    if missing:
        c.add(rule, f"info lacks the contract's keys {missing}")
    n, a_max = spec.n_agents, spec.max_actions
    shapes = {
        "terminated": ((), "bool"),
        "truncated": ((), "bool"),
        "final_obs": ((n, *spec.obs_shape), "float32"),
        "final_action_mask": ((n, a_max), "bool"),
        "final_global_state": ((spec.global_state_size,), "float32"),
        "illegal_action": ((n,), "bool"),
        "cost": ((n, spec.num_constraints), "float32"),
    }
    for key, (shape, kind) in shapes.items():
        if key in info and (key != "cost" or spec.num_constraints):
            _check_array(c, rule, f"{at} info[{key!r}]", info[key], shape, kind)
    if "cost" in info and not spec.num_constraints:
        c.add(rule, "info has 'cost' but spec.num_constraints is 0 (set it to the number of costs per agent)")
    _check_state_info(c, rule, f"{at} info", info, spec)
    scalar_done = _shape(done) == ()
    if all(k in info for k in ("terminated", "truncated")) and scalar_done:
        term, trunc = bool(info["terminated"]), bool(info["truncated"])
        if bool(done) != (term or trunc):
            c.add(rule, f"{at} done must equal terminated | truncated")
        if term and trunc:
            c.add(rule, f"{at} terminated and truncated are both set (truncated means cut by the time limit only)")
    final = info.get("final_obs")
    if final is not None and scalar_done and not bool(done) and not np.array_equal(np.asarray(final), np.asarray(obs)):
        c.add(rule, f"{at} before an episode ends, info['final_obs'] must equal obs")
    for key in ("action_mask", "global_state"):
        mine, theirs = info.get(key), again.get(key) if isinstance(again, Mapping) else None
        if mine is not None and theirs is not None and not np.array_equal(np.asarray(mine), np.asarray(theirs)):
            c.add(rule, f"{at} info[{key!r}] differs from state_info(state)[{key!r}] of the returned state")
    return True


# Every key of a check is fold_in(fold_in(base, slot), t), derived inside the compiled programs, so the host never
# indexes key arrays (each eager index op is a compile of its own).
RESET, ACT, STEP, ILLEGAL, BATCH = range(5)


def _key(base: jax.Array, slot: int, t: jax.Array | int) -> jax.Array:
    return jax.random.fold_in(jax.random.fold_in(base, slot), t)


def _reset_traced(env: MultiAgentEnv, base: jax.Array, t: jax.Array | int) -> tuple[Any, Any, Any]:
    obs, state = env.reset(_key(base, RESET, t))
    return obs, state, env.state_info(state)


def _step_traced(
    env: MultiAgentEnv,
    base: jax.Array,
    slot: jax.Array | int,
    t: jax.Array | int,
    state: Any,
    actions: jax.Array | np.ndarray,
    draw: jax.Array | bool,
) -> tuple:
    """One step from key ``(slot, t)``; where ``draw``, with uniformly random legal actions instead of ``actions``.
    Returns ``(actions, obs, state, reward, done, info, state_info of the returned state)``."""
    from marlkit.envs.wrappers import random_legal_actions

    random = random_legal_actions(_key(base, ACT, t), env.state_info(state)["action_mask"])
    actions = jnp.where(draw, random, jnp.asarray(actions, jnp.int32))
    key = jax.random.fold_in(jax.random.fold_in(base, slot), t)
    obs, state, reward, done, info = env.step(key, state, actions)
    return actions, obs, state, reward, done, info, env.state_info(state)


_reset = jax.jit(_reset_traced, static_argnums=0)
_step = jax.jit(_step_traced, static_argnums=0)


def _random_step(env: MultiAgentEnv, base: jax.Array, t: int, state: Any) -> tuple:
    return _step(env, base, STEP, t, state, np.zeros(env.spec.n_agents, np.int32), True)


def _rollout(env: MultiAgentEnv, base: jax.Array, state: Any, steps: int) -> tuple[Any, list[tuple]]:
    """``steps`` steps with uniformly random legal actions from ``state`` (one compiled step, played from the host):
    the last state and every step's host copy of ``(obs, reward, done, info, state_info of the returned state)``."""
    rows = []
    for t in range(1, steps + 1):
        _, obs, state, reward, done, info, again = _random_step(env, base, t, state)
        rows.append(jax.device_get((obs, reward, done, info, again)))
    return state, rows


def _same(a: Any, b: Any) -> bool:
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb, strict=True))


def check_env(
    env: MultiAgentEnv, key: int | jax.Array = 0, steps: int | None = None, *, strict: bool = True
) -> EnvCheck:
    """Check ``env`` against the env contract (module docstring) playing ``steps`` random legal steps (default:
    two episodes' worth, ``2 · max_episode_steps + 2``, at least 20 and at most 5 · :data:`DEFAULT_STEPS`).

    Returns the :class:`EnvCheck`; with ``strict`` (default) raises :class:`InvalidGameError` listing every
    problem when there is one.
    """
    c = _Checker()
    name = type(env).__name__
    c.checked.append("type")
    if not isinstance(env, MultiAgentEnv):
        c.add("type", f"{name} is not a marlkit env: subclass marlkit.envs.base.Env (or MultiAgentEnv)")
        return _finish(EnvCheck(name, 0, tuple(c.checked), tuple(c.findings)), strict)
    spec = getattr(env, "spec", None)
    if not isinstance(spec, MultiAgentSpec):
        c.add("type", f"{name}.spec must be a MultiAgentSpec, got {type(spec).__name__}")
        return _finish(EnvCheck(name, 0, tuple(c.checked), tuple(c.findings)), strict)
    name = spec.name
    try:
        hash(env)
        if env != env:  # jit's cache needs an env equal to itself
            c.add("type", "the env is not equal to itself (define __eq__ by value, e.g. a frozen dataclass)")
    except TypeError:
        c.add("type", "the env is not hashable: make it a frozen dataclass (it is a static argument of jax.jit)")
        return _finish(EnvCheck(name, 0, tuple(c.checked), tuple(c.findings)), strict)
    if steps is None:
        steps = int(min(max(2 * spec.max_episode_steps + 2, 20), 5 * DEFAULT_STEPS))
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise InvalidGameError(f"check_env: steps must be an integer >= 1, got {steps!r}")
    base = jax.random.key(key) if isinstance(key, int | np.integer) else key

    def check_reset() -> Any:
        obs, state, info = _reset(env, base, 0)
        _check_obs(c, "reset", "reset obs", jax.device_get(obs), spec)
        _check_state_info(c, "reset", "state_info", jax.device_get(info), spec)
        return obs, state

    started = c.rule("reset", check_reset)
    if started is None or c.findings:
        return _finish(EnvCheck(name, 0, tuple(c.checked), tuple(c.findings)), strict)
    obs0, state0 = started

    def first_step() -> Any:
        out = _random_step(env, base, 1, state0)
        if not (isinstance(out, tuple) and len(out) == 7):
            c.add("step", "step must return (obs, state, reward, done, info)")
            return None
        _, obs, state, reward, done, info, again = jax.device_get(out)
        return state if _check_step(c, 1, (obs, reward, done, info, again), spec) else None

    if c.rule("step", first_step) is None or c.findings:
        return _finish(EnvCheck(name, 1, tuple(c.checked), tuple(c.findings)), strict)
    last, rows = _rollout(env, base, state0, steps)
    for t, row in enumerate(rows, start=1):
        before = len(c.findings)
        _check_step(c, t, row, spec)
        if len(c.findings) > before:
            break  # the first step that breaks a rule says it; later steps would repeat it

    def check_episodes() -> None:
        length = 0
        for t, row in enumerate(rows, start=1):
            length += 1
            if length > spec.max_episode_steps:
                c.add("episodes", f"an episode ran past max_episode_steps={spec.max_episode_steps} (step {t})")
                return
            if bool(np.asarray(row[2])):
                length = 0  # auto-reset: the next step starts a new episode

    c.rule("episodes", check_episodes)
    c.rule("illegal actions", lambda: _check_illegal(c, env, base, state0))

    def check_determinism() -> None:
        obs, state, _ = _reset(env, base, 0)
        if not _same(obs, obs0):
            c.add("determinism", "reset with the same key gave different observations")
            return
        _, repeat = _rollout(env, base, state, steps)
        if not _same([r[:3] for r in rows], [r[:3] for r in repeat]):
            c.add("determinism", "the same keys gave different observations, rewards or dones")

    c.rule("determinism", check_determinism)
    states = c.rule("vmap", lambda: _check_vmap(c, env, base))
    if env.can_render:
        c.rule("render", lambda: _check_render(c, env, last, states))
    return _finish(EnvCheck(name, steps, tuple(c.checked), tuple(c.findings)), strict)


def _check_illegal(c: _Checker, env: MultiAgentEnv, base: jax.Array, state: Any) -> None:
    spec = env.spec
    actions = np.asarray(spec.num_actions, np.int32)  # one past each agent's last action
    flags = jax.device_get(_step(env, base, ILLEGAL, 0, state, actions, False)[5].get("illegal_action"))
    if flags is not None and _shape(flags) == (spec.n_agents,) and not np.all(np.asarray(flags)):
        c.add("illegal actions", "an out-of-range action must be replaced and flagged in info['illegal_action']")


@partial(jax.jit, static_argnums=0)
def _batched(env: MultiAgentEnv, base: jax.Array) -> tuple:
    """vmap of :func:`_reset` and :func:`_step` (random legal actions) over envs ``t = 0, 1, 2``."""
    ts = jnp.arange(3)
    zeros = jnp.zeros(env.spec.n_agents, jnp.int32)
    obs, state, _ = jax.vmap(lambda t: _reset_traced(env, base, t))(ts)
    out = jax.vmap(lambda t, s: _step_traced(env, base, BATCH, t, s, zeros, True))(ts, state)
    return obs, state, out


def _check_vmap(c: _Checker, env: MultiAgentEnv, base: jax.Array) -> Any:
    """vmap(reset) and vmap(step) over 3 envs against the unbatched results; the batched reset states."""
    obs, state, out = _batched(env, base)
    host_obs, host_out = jax.device_get((obs, out))
    for i in range(3):
        one_obs, one_state, _ = _reset(env, base, i)
        if not np.array_equal(host_obs[i], np.asarray(one_obs)):
            c.add("vmap", f"vmap(reset) differs from reset for env {i}")
            return state
        single = jax.device_get(_step(env, base, BATCH, i, one_state, np.zeros(env.spec.n_agents, np.int32), True))
        pick = [host_out[k][i] for k in (0, 1, 3, 4)]  # actions, obs, reward, done
        if not _same(pick, [single[k] for k in (0, 1, 3, 4)]):
            c.add("vmap", f"vmap(step) differs from step for env {i}")
            return state
    return state


def _check_render(c: _Checker, env: MultiAgentEnv, state: Any, batched: Any) -> None:
    from marlkit.envs.base import check_frame

    first = env.render(state)
    try:
        check_frame(first, env.spec.name)
    except InvalidGameError:
        c.add("render", f"render must return uint8 [H, W, 3], got {np.asarray(first).dtype} {list(_shape(first))}")
        return
    if not np.array_equal(env.render(state), first):
        c.add("render", "rendering one state twice gave different pictures")
    if batched is not None:
        one = env.render(jax.tree.map(lambda x: x[1], batched))
        if not np.array_equal(env.render(batched, index=1), one):
            c.add("render", "render(batched_state, index=1) differs from rendering env 1's state")


def check_shapes(env: MultiAgentEnv) -> EnvCheck:
    """The structural part of the contract, by tracing alone (``jax.eval_shape``: nothing is compiled or run):
    ``reset``, ``state_info`` and one ``step`` give the contract's shapes, dtypes and ``info`` keys. What a config
    runs on a user's env before a run starts; :func:`check_env` checks values, episodes and batching too."""
    c = _Checker()
    spec = env.spec
    n, a_max, g = spec.n_agents, spec.max_actions, spec.global_state_size

    def shapes() -> None:
        key = jax.random.key(0)
        obs, state = jax.eval_shape(env.reset, key)
        _check_struct(c, "reset", "reset obs", obs, (n, *spec.obs_shape), jnp.float32)
        info = jax.eval_shape(env.state_info, state)
        _check_struct(c, "reset", "state_info action_mask", info.get("action_mask"), (n, a_max), jnp.bool_)
        _check_struct(c, "reset", "state_info global_state", info.get("global_state"), (g,), jnp.float32)
        out = jax.eval_shape(env.step, key, state, jax.ShapeDtypeStruct((n,), jnp.int32))
        if not (isinstance(out, tuple) and len(out) == 5 and isinstance(out[4], Mapping)):
            c.add("step", "step must return (obs, state, reward, done, info) with info a dict")
            return
        obs, _, reward, done, info = out
        _check_struct(c, "step", "step obs", obs, (n, *spec.obs_shape), jnp.float32)
        _check_struct(c, "step", "reward", reward, (n,), jnp.float32)
        _check_struct(c, "step", "done", done, (), jnp.bool_)
        missing = [k for k in INFO_KEYS + (("cost",) if spec.num_constraints else ()) if k not in info]
        if missing:
            c.add("step", f"info lacks the contract's keys {missing}")
        if spec.num_constraints:
            _check_struct(c, "step", "info['cost']", info.get("cost"), (n, spec.num_constraints), jnp.float32)

    c.rule("type", lambda: None)
    c.rule("reset", shapes)
    return EnvCheck(spec.name, 0, ("type", "reset", "step"), tuple(c.findings))


def _check_struct(c: _Checker, rule: str, label: str, x: Any, shape: tuple[int, ...], dtype: Any) -> None:
    if x is None:
        c.add(rule, f"{label} is missing")
    elif tuple(x.shape) != shape or x.dtype != dtype:
        c.add(rule, f"{label} must be {np.dtype(dtype).name} {list(shape)}, got {x.dtype} {list(x.shape)}")


def _finish(result: EnvCheck, strict: bool) -> EnvCheck:
    if strict and result.findings:
        raise InvalidGameError(result.message())
    return result


# ------------------------------------------------------------------------------------------------- targets


def load_env_class(target: str, what: str = "env target") -> type[MultiAgentEnv]:
    """The env class named by ``target = "package.module:ClassName"`` (the registry's lazy import,
    :func:`marlkit.registry.load_target`).

    Raises:
        InvalidGameError: a malformed target, or a name that is not a marlkit env class.
        NotApplicableError: the module cannot be imported or has no such name.
    """
    from marlkit.registry import load_target

    if not isinstance(target, str) or target.count(":") != 1 or not all(target.split(":")):
        raise InvalidGameError(f"{what} {target!r}: expected {TARGET_FORM!r}, e.g. 'my_package.envs:MyEnv'")
    module, attr = target.split(":")
    if not all(part.isidentifier() for part in (*module.split("."), attr)):
        raise InvalidGameError(f"{what} {target!r}: expected {TARGET_FORM!r} made of Python names")
    try:
        cls = load_target(target, "env class")
    except NotApplicableError as exc:
        raise NotApplicableError(f"{what} {target!r}: {exc}") from None
    if not (inspect.isclass(cls) and issubclass(cls, MultiAgentEnv)):
        raise InvalidGameError(
            f"{what} {target!r} is not an env class: {attr} must subclass marlkit.envs.base.Env (or MultiAgentEnv)"
        )
    if inspect.isabstract(cls):
        missing = sorted(getattr(cls, "__abstractmethods__", ()))
        raise InvalidGameError(f"{what} {target!r}: {attr} does not implement {', '.join(missing)}")
    return cls


def env_parameters(cls: type) -> dict[str, Any] | None:
    """The keyword parameters an env class takes with their defaults (``spec`` left out), or None when it takes
    ``**kwargs``."""
    from marlkit.registry import parameter_defaults

    found = parameter_defaults(cls)
    return None if found is None else {k: v for k, v in found.items() if k != "spec"}


def load_env_target(target: str, params: Mapping[str, Any] | None = None, what: str = "env target") -> MultiAgentEnv:
    """Build the env class ``target`` names with ``params`` (:func:`load_env_class`); unknown or bad parameters
    raise one line naming them and what the class accepts."""
    from marlkit.registry import unknown_parameter

    cls = load_env_class(target, what)
    params = dict(params or {})
    accepted = env_parameters(cls)
    if accepted is not None:
        for key in params:
            if key not in accepted:
                raise InvalidGameError(unknown_parameter(f"{what} {target}", key, accepted))
    try:
        env = cls(**params)
    except MarlkitError:
        raise
    except Exception as exc:  # the user's constructor: any failure is bad input
        raise InvalidGameError(f"{what} {target!r}: building it failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(getattr(env, "spec", None), MultiAgentSpec):
        raise InvalidGameError(f"{what} {target!r}: the env has no MultiAgentSpec spec (set spec in __post_init__)")
    return env


__all__ = [
    "INFO_KEYS",
    "RULES",
    "EnvCheck",
    "Finding",
    "check_env",
    "check_shapes",
    "env_parameters",
    "load_env_class",
    "load_env_target",
]
