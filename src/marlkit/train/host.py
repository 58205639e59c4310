"""The host loop: any deep learner on environments that are not JAX (PettingZoo), stepped by Python.

:mod:`marlkit.train.deep` compiles env and learner into one program; a PettingZoo env
(:func:`marlkit.envs.pettingzoo.from_pettingzoo` -> :class:`~marlkit.envs.pettingzoo.HostEnv`) cannot enter a
``jit``, so here Python steps ``num_envs`` copies of it while the learner stays compiled: slower, but it works.
One update is the same as in the compiled trainer:

1. ``T = learner.rollout_length`` times: a jitted ``learner.act`` on the batch ``[E, n, ...]`` of observations,
   one ``HostEnv.step`` per env (auto-reset), the reward transform (``apply(tstate, None, ctx)``: the host has no
   counterfactual env, so transforms that need one must learn a critic instead);
2. the time-major :class:`~marlkit.agents.deep.base.Rollout` assembled in NumPy, with the same fields;
3. a jitted ``learner.update`` (and the transform's).

Keys follow the compiled trainer's scheme (seed ``i`` runs from ``fold_in(key, i)``, every window from its own
key), so a learner draws the same random numbers on either path; the env's randomness is PettingZoo's own,
seeded at each seed's first reset from ``SeedSequence((key, seed, env index))``. Same key and seeds give the
same History, bit for bit, on the same machine.

:func:`prepare` gives a :class:`HostPlan`, the host loop's :class:`~marlkit.train.protocol.Plan` (``start`` /
``advance`` / ``to_history`` / ``run``, as the other trainers). :func:`train` returns the compiled trainer's
:class:`~marlkit.train.deep.DeepResult`: its History holds ``episode_return``, ``episode_count``, ``reward_mean``
and the learner's ``metrics`` per logging window; no policy tables (``S = 0``: a PettingZoo env has no state
enumeration). Seeds run one after another.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.deep.base import DeepLearner, Observation, RewardTransform, Rollout, StepContext
from marlkit.agents.deep.sharing import SharingPlan, learner_plan
from marlkit.envs.base import MultiAgentSpec
from marlkit.envs.pettingzoo import HostEnv, from_pettingzoo
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.history import History
from marlkit.train.deep import (
    DeepResult,
    check_action_space,
    check_run,
    history_of,
    record_bytes,
    resolve_sharing,
    summary_fields,
)
from marlkit.train.inputs import check_int, check_windows, seed_ids, seed_keys
from marlkit.train.protocol import Record

Array = jax.Array
EnvSource = HostEnv | Callable[[], Any]
"""A :class:`HostEnv` (``num_envs=1``) or a factory returning a PettingZoo ``ParallelEnv`` or a ``HostEnv``."""


# ------------------------------------------------------------------------------------------------- edge


def _make_envs(env: EnvSource, num_envs: int) -> list[HostEnv]:
    if isinstance(env, HostEnv):
        if num_envs != 1:
            raise InvalidGameError(
                f"num_envs={num_envs} needs that many env copies: pass a factory (e.g. lambda: "
                "mpe2.simple_spread_v3.parallel_env(continuous_actions=False)) instead of one HostEnv"
            )
        return [env]
    if not callable(env):
        raise InvalidGameError(
            f"env must be a HostEnv or a factory returning a PettingZoo ParallelEnv, got {type(env).__name__}"
        )
    envs = []
    for _ in range(num_envs):
        made = env()
        envs.append(made if isinstance(made, HostEnv) else from_pettingzoo(_returning(made)))
    spec = envs[0].spec
    if any(e.spec != spec for e in envs[1:]):
        raise InvalidGameError("the env factory returned envs with different agents or spaces; it must build copies")
    return envs


@dataclass(frozen=True, eq=False)
class HostPlan:
    """Everything static about a host-loop run, checked at the edge (build it with :func:`prepare`); the host
    loop's :class:`~marlkit.train.protocol.Plan`.

    The state :meth:`start` returns holds live PettingZoo envs (Python objects): it cannot be checkpointed, so
    the experiment runner does not run host plans; :meth:`advance` over any split of the windows still gives the
    records of one call. With one :class:`HostEnv` (no factory) every seed steps that env, so a run of several
    seeds must be advanced over all its windows at once.

    Attributes:
        spec: the envs' spec; ``envs``: the ``num_envs`` envs built by :func:`prepare` (seed 0 steps them);
        ``factory``: what built them (None for one given HostEnv), called again for the other seeds' envs.
        learner, sharing, reward, seeds, keys, steps, log_every, num_envs, key_seed: as
        :class:`~marlkit.train.deep.DeepPlan`.
    """

    spec: MultiAgentSpec
    envs: list[HostEnv] = field(repr=False)
    factory: Callable[[], Any] | None
    learner: DeepLearner
    sharing: SharingPlan
    reward: RewardTransform | None
    seeds: np.ndarray
    keys: jax.Array
    steps: int
    log_every: int
    num_envs: int
    key: int | jax.Array

    @property
    def num_logs(self) -> int:
        return self.steps // self.log_every

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.learner.rollout_length

    @property
    def updates_per_window(self) -> int:
        return self.log_every // self.steps_per_update

    @property
    def key_seed(self) -> int | None:
        return int(self.key) if isinstance(self.key, int | np.integer) else None

    @property
    def judged(self) -> bool:
        """A PettingZoo env has no state enumeration: no policy tables, no diagnosis."""
        return False

    def start(self) -> list[_SeedRun]:
        """Every seed's run before its first step (envs are reset at a seed's first window)."""
        runs = []
        for i, (seed, seed_key) in enumerate(zip(self.seeds.tolist(), self.keys, strict=True)):
            envs = self.envs if i == 0 or self.factory is None else _make_envs(self.factory, self.num_envs)
            runs.append(_SeedRun.start(self, envs, seed_key, _env_seeds(self.key, seed, self.num_envs)))
        return runs

    def advance(self, state: list[_SeedRun], first_window: int, num_windows: int) -> tuple[list[_SeedRun], Record]:
        """Windows ``first_window .. first_window + num_windows - 1`` of every seed, one seed after another
        (records ``[N, W, ...]``, NumPy); ``state`` is updated in place and returned."""
        first_window, num_windows = check_windows(first_window, num_windows, self.num_logs)
        if self.factory is None and len(state) > 1 and num_windows < self.num_logs:
            raise NotApplicableError(
                "one HostEnv serves the seeds one after another: advance a run of several seeds over all its windows "
                "at once, or pass an env factory"
            )
        per_seed = []
        for run in state:
            if run.next_window != first_window:
                raise InvalidGameError(f"the state is at window {run.next_window}, not {first_window}")
            per_seed.append(_stack([run.window(self, t) for t in range(first_window, first_window + num_windows)]))
        return state, jax.tree_util.tree_map(lambda *xs: np.stack(xs), *per_seed)

    def to_history(self, records: Record | Sequence[Record]) -> History:
        """The History of windows ``0 .. W-1`` (``meta["trainer"] == "host"``)."""
        return history_of(
            records,
            spec=self.spec,
            seeds=self.seeds,
            num_logs=self.num_logs,
            log_every=self.log_every,
            steps=self.steps,
            num_envs=self.num_envs,
            learner=self.learner,
            sharing=self.sharing,
            reward=self.reward,
            game_name=None,
            key_seed=self.key_seed,
            trainer="host",
            env_name=self.spec.name,
        )

    def run(self) -> History:
        """The whole run: :meth:`start`, :meth:`advance` over all windows, :meth:`to_history`."""
        return self.to_history(self.advance(self.start(), 0, self.num_logs)[1])

    def needed_bytes(self) -> int:
        """Disk space a run directory takes at most (records and metrics as a deep run's; no checkpoint)."""
        records, metrics = record_bytes(self.spec, False, len(self.seeds), self.num_logs)
        return 2 * records + metrics

    def summary_fields(self, history: History) -> dict[str, Any]:
        """As a deep run on a task: the env, the trainer, the sharing, the reward transform, the tail returns."""
        return summary_fields(self.spec, self.num_envs, self.sharing, False, history)


def prepare(
    env: EnvSource,
    learner: DeepLearner,
    steps: int,
    seeds: int | Sequence[int] = 1,
    key: int | jax.Array = 0,
    log_every: int | None = None,
    *,
    num_envs: int = 16,
    reward: RewardTransform | None = None,
) -> HostPlan:
    """Check a host run's inputs and build its :class:`HostPlan`: the compiled trainer's checks and errors
    (:func:`marlkit.train.deep.check_run`), ``sharing=None`` resolved from the spec; builds the first
    ``num_envs`` envs."""
    num_envs = check_int("num_envs", num_envs, 1)
    envs = _make_envs(env, num_envs)
    spec = envs[0].spec
    steps, log_every, num_envs = check_run(learner, steps, log_every, num_envs, reward)
    check_action_space(learner, spec)
    if callable(getattr(learner, "limits", None)):
        raise NotApplicableError(
            f"{type(learner).__name__}: the host loop carries no costs (Rollout.costs); train a Lagrangian learner "
            "with marlkit.train.deep on a constrained marlkit env"
        )
    learner, sharing = resolve_sharing(learner, spec, learner_plan(spec, None))
    ids = seed_ids(seeds)
    keys = seed_keys(key, ids)
    factory = None if isinstance(env, HostEnv) else env
    return HostPlan(spec, envs, factory, learner, sharing, reward, ids, keys, steps, log_every, num_envs, key)


# ---------------------------------------------------------------------------------------------- compiled parts


@partial(jax.jit, static_argnums=(0, 2, 3))
def _init(learner: DeepLearner, key: Array, spec: MultiAgentSpec, num_envs: int) -> Any:
    return learner.init(key, spec, num_envs)


@partial(jax.jit, static_argnums=(0, 2))
def _init_reward(reward: RewardTransform, key: Array, spec: MultiAgentSpec) -> Any:
    return reward.init(key, spec)


@partial(jax.jit, static_argnums=(0, 5, 6))
def _act(
    learner: DeepLearner, key: Array, state: Any, observation: Observation, memory: Any, num_envs: int, probs: bool
) -> tuple[Array, Any, Any, Array, Array]:
    """One decision of every env: ``(actions, aux, memory, env_keys, policy)``; the acting ``policy [E, n, A]``
    only where a reward transform needs it (zeros otherwise, as in the compiled trainer)."""
    k_act, k_env = jax.random.split(key)
    actions, aux, new_memory = learner.act(k_act, state, observation, memory)
    if probs:
        policy = learner.policy(state, observation, memory)
    else:
        policy = jnp.zeros((*actions.shape, observation.action_mask.shape[-1]), jnp.float32)
    return actions, aux, new_memory, jax.random.split(k_env, num_envs), policy


@partial(jax.jit, static_argnums=0)
def _apply_reward(reward: RewardTransform, tstate: Any, ctx: StepContext) -> Array:
    return reward.apply(tstate, None, ctx).astype(jnp.float32)


@partial(jax.jit, static_argnums=0)
def _update(learner: DeepLearner, key: Array, state: Any, rollout: Rollout) -> tuple[Any, dict[str, Array]]:
    return learner.update(key, state, rollout)


@partial(jax.jit, static_argnums=0)
def _update_reward(reward: RewardTransform, key: Array, tstate: Any, rollout: Rollout) -> tuple[Any, dict]:
    return reward.update(key, tstate, rollout)


# -------------------------------------------------------------------------------------------------- host loop


def _returning(env: Any) -> Callable[[], Any]:
    """A factory of the one env ``env`` (what :func:`from_pettingzoo` takes)."""
    return lambda: env


def _observation(obs: np.ndarray, mask: np.ndarray, state: np.ndarray, first: np.ndarray) -> Observation:
    """An :class:`Observation` of NumPy arrays (the host side; the jitted parts take them as JAX arrays)."""
    fields: Any = (obs, mask, state, first)
    return Observation(*fields)


@dataclasses.dataclass
class _Envs:
    """``E`` host envs stepped together, with their current observation and running returns."""

    envs: list[HostEnv]
    observation: Observation  # NumPy arrays [E, ...]
    running_return: np.ndarray  # [E, n]

    @classmethod
    def reset(cls, envs: list[HostEnv], seeds: list[int]) -> _Envs:
        starts = [env.reset(seed=seed) for env, seed in zip(envs, seeds, strict=True)]
        obs = np.stack([o for o, _ in starts])
        mask = np.stack([info["action_mask"] for _, info in starts])
        state = np.stack([info["global_state"] for _, info in starts])
        observation = _observation(obs, mask, state.astype(np.float32), np.ones(len(envs), bool))
        return cls(envs, observation, np.zeros((len(envs), envs[0].spec.n_agents), np.float32))

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Step every env: ``(reward [E, n], done [E], info {name: [E, ...]}, finished_return [E, n])``."""
        results = [env.step(a) for env, a in zip(self.envs, actions, strict=True)]
        reward = np.stack([r for _, r, _, _ in results]).astype(np.float32)
        done = np.array([d for _, _, d, _ in results], bool)
        info = {name: np.stack([np.asarray(i[name]) for _, _, _, i in results]) for name in results[0][3]}
        info.setdefault("final_global_state", info["global_state"])  # a host env without it: the state after reset
        obs = np.stack([o for o, _, _, _ in results])
        self.observation = _observation(obs, info["action_mask"], info["global_state"].astype(np.float32), done)
        running = self.running_return + reward
        finished = np.where(done[:, None], running, np.float32(0))
        self.running_return = np.where(done[:, None], np.float32(0), running)
        return reward, done, info, finished


def _stack(items: list[Any]) -> Any:
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *items)


def _rollout(
    plan: HostPlan, envs: _Envs, learner_state: Any, reward_state: Any, memory: Any, key: Array
) -> tuple[Rollout, Any, np.ndarray]:
    """``T`` steps of every env: ``(rollout, memory, finished_return [T, E, n])``."""
    learner, E = plan.learner, plan.num_envs
    needs_probs = plan.reward is not None and bool(getattr(plan.reward, "needs_probs", False))
    memory0 = memory
    steps: list[dict[str, Any]] = []
    for step_key in jax.random.split(key, learner.rollout_length):
        observation = envs.observation
        actions, aux, memory, env_keys, probs = _act(
            learner, step_key, learner_state, observation, memory, E, needs_probs
        )
        actions = np.asarray(actions)
        env_reward, done, info, finished = envs.step(actions)
        learn_reward = env_reward
        if plan.reward is not None:
            host_actions: Any = actions  # NumPy where the compiled trainer has JAX arrays
            host_reward: Any = env_reward
            host_info: Any = info
            ctx = StepContext(env_keys, None, observation, host_actions, host_reward, host_info, probs)
            learn_reward = np.asarray(_apply_reward(plan.reward, reward_state, ctx))
        steps.append(
            {
                "observation": observation,
                "actions": actions,
                "aux": aux,
                "reward": learn_reward,
                "env_reward": env_reward,
                "done": done,
                "terminated": np.asarray(info["terminated"], bool),
                "final_obs": info["final_obs"],
                "final_action_mask": info["final_action_mask"],
                "final_global_state": info["final_global_state"].astype(np.float32),
                "finished": finished,
            }
        )
    stacked = _stack(steps)
    finished = stacked.pop("finished")
    rollout = Rollout(**stacked, next=envs.observation, memory=memory0, next_memory=memory)
    return rollout, memory, finished


def _per_agent(value: Any, n: int) -> np.ndarray:
    value = np.asarray(value, np.float32)
    return np.broadcast_to(value if value.ndim else value[None], (n,))


@dataclasses.dataclass
class _SeedRun:
    """One seed's run between windows: its envs (reset at its first window), learner, transform and memory."""

    envs: list[HostEnv]
    env_seeds: list[int]
    window_keys: jax.Array
    learner_state: Any
    reward_state: Any
    memory: Any
    batch: _Envs | None = None
    next_window: int = 0

    @classmethod
    def start(cls, plan: HostPlan, envs: list[HostEnv], seed_key: Array, env_seeds: list[int]) -> _SeedRun:
        _, k_learner, k_reward, k_windows = jax.random.split(seed_key, 4)
        spec = plan.spec
        return cls(
            envs=envs,
            env_seeds=env_seeds,
            window_keys=jax.random.split(k_windows, plan.num_logs),
            learner_state=_init(plan.learner, k_learner, spec, plan.num_envs),
            reward_state=() if plan.reward is None else _init_reward(plan.reward, k_reward, spec),
            memory=plan.learner.initial_memory(spec, plan.num_envs),
        )

    def window(self, plan: HostPlan, t: int) -> Record:
        """Run window ``t`` (the next one) and return its :class:`Record`."""
        if self.batch is None or t == 0:
            self.batch = _Envs.reset(self.envs, self.env_seeds)
        n, A = plan.spec.n_agents, plan.spec.max_actions
        return_sum, episodes, reward_sum = np.zeros(n, np.float32), 0, np.zeros(n, np.float32)
        metric_sums: dict[str, np.ndarray] = {}
        for update_key in jax.random.split(self.window_keys[t], plan.updates_per_window):
            k_steps, k_learn, k_reward_update = jax.random.split(update_key, 3)
            rollout, self.memory, finished = _rollout(
                plan, self.batch, self.learner_state, self.reward_state, self.memory, k_steps
            )
            self.learner_state, metrics = _update(plan.learner, k_learn, self.learner_state, rollout)
            metrics = {name: _per_agent(value, n) for name, value in metrics.items()}
            if plan.reward is not None:
                self.reward_state, extra = _update_reward(plan.reward, k_reward_update, self.reward_state, rollout)
                metrics.update({f"reward/{name}": _per_agent(value, n) for name, value in extra.items()})
            for name, value in metrics.items():
                metric_sums[name] = metric_sums.get(name, np.zeros(n, np.float32)) + value
            return_sum += finished.sum(axis=(0, 1))
            episodes += int(rollout.done.sum())
            reward_sum += rollout.env_reward.sum(axis=(0, 1))
        self.next_window = t + 1
        updates = plan.updates_per_window
        policy = np.zeros((n, 0, A), np.float32)
        return Record(
            policy=policy,
            average_policy=np.full_like(policy, np.nan),
            counts=np.zeros((0, 0), np.int32),
            episode_return=return_sum / episodes if episodes else np.full(n, np.nan, np.float32),
            episode_count=np.int32(episodes),
            reward_mean=reward_sum / np.float32(updates * plan.steps_per_update),
            metrics={name: value / np.float32(updates) for name, value in metric_sums.items()},
        )


def _env_seeds(key: int | Array, seed: int, num_envs: int) -> list[int]:
    """PettingZoo seeds of one seed's envs, from ``SeedSequence((key, seed, env index))``."""
    base = [int(key)] if isinstance(key, int | np.integer) else np.asarray(jax.random.key_data(key)).ravel().tolist()
    return [int(np.random.SeedSequence([*base, int(seed), e]).generate_state(1)[0]) for e in range(num_envs)]


def train(
    env: EnvSource,
    learner: DeepLearner,
    steps: int,
    seeds: int | Sequence[int] = 1,
    key: int | Array = 0,
    log_every: int | None = None,
    *,
    num_envs: int = 16,
    reward: RewardTransform | None = None,
) -> DeepResult:
    """Train a deep learner on a PettingZoo env through the host loop (see the module docstring).

    Example::

        from mpe2 import simple_spread_v3
        from marlkit.agents.deep.registry import make_deep_learner
        from marlkit.train import host

        result = host.train(lambda: simple_spread_v3.parallel_env(continuous_actions=False),
                            make_deep_learner("ippo"), 40_960, num_envs=16)
        result.history.episode_return  # [seeds, windows, agents]

    Args:
        env: a factory returning a PettingZoo ``ParallelEnv`` (or a :class:`HostEnv`), called ``num_envs`` times;
            or one :class:`HostEnv` with ``num_envs=1``. Discrete actions, or one-dimensional Box actions with a
            learner that has a Gaussian head (IPPO / MAPPO).
        learner, steps, seeds, key, log_every, num_envs: as :func:`marlkit.train.deep.train` (``steps`` per seed,
            a multiple of ``num_envs * learner.rollout_length``).
        reward: a reward transform, applied as ``apply(tstate, None, ctx)`` (no counterfactual env here).

    Returns:
        :class:`~marlkit.train.deep.DeepResult` — ``history`` (``meta["trainer"] == "host"``), the final learner
        ``states`` (leading seed axis) and the ``plan``.

    Raises:
        InvalidGameError: bad env, steps, seeds, key, log_every or num_envs.
        LearnerConfigError: not a deep learner, bad sharing, bad reward transform.
        NotApplicableError: an env with actions other than Discrete or one-dimensional Box; a discrete-only
            learner on Box actions.
    """
    plan = prepare(env, learner, steps, seeds, key, log_every, num_envs=num_envs, reward=reward)
    state, records = plan.advance(plan.start(), 0, plan.num_logs)
    states = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *[run.learner_state for run in state])
    return DeepResult(plan.to_history(records), states, plan)


__all__ = ["EnvSource", "HostPlan", "prepare", "train"]
