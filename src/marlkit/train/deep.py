"""The compiled deep-MARL trainer: env + learner in one ``jax.jit``, ``lax.scan`` over steps, ``vmap`` over seeds.

The shape is PureJaxRL's (Lu et al. 2022): each *update* runs ``E = num_envs`` environments for ``T =
learner.rollout_length`` steps with :meth:`~marlkit.agents.deep.base.DeepLearner.act`, applies the reward
transform (difference rewards, :mod:`marlkit.agents.credit`) step by step, hands the time-major
:class:`~marlkit.agents.deep.base.Rollout` to ``learner.update``; a logging *window* is ``log_every / (E T)``
updates; a run is ``steps / log_every`` windows. No Python runs per step.

The API mirrors the tabular loop (:mod:`marlkit.train.loop`) so the experiment runner drives both the same way:
:func:`prepare` -> :func:`start` -> :func:`advance` (any split into windows gives the same records, bit for bit:
every window draws from its own key) -> :func:`to_history`; :func:`train` does it all at once.

What the :class:`~marlkit.train.History` holds for a deep run (``N`` seeds, ``T`` logging points, ``n`` agents):
``episode_return [N, T, n]`` (mean undiscounted env return of the episodes that finished in the window),
``episode_count``, ``reward_mean [N, T, n]`` (mean env reward per step), ``metrics[name] [N, T, n]`` (window means
of the learner's metrics — scalars are broadcast over agents — and, prefixed ``reward/``, the reward transform's).
On an exact game's env (:class:`~marlkit.envs.games.GameEnv`, fully observable) it also holds what the
convergence diagnostics read: ``policy [N, T, n, S, A]`` and the cumulative ``joint_counts``; elsewhere ``policy``
has ``S = 0`` states (no table exists for a continuous observation) and ``joint_counts`` is empty ``[N, T, 0]``.
On a constrained task (``spec.num_constraints = m > 0``) the rollout carries the costs (``Rollout.costs``) and the
History holds ``cost_mean [N, T, n, m]`` (mean cost per env step), ``episode_cost [N, T, n, m]`` (mean undiscounted
cost of the episodes that finished in the window, NaN where none did) and ``multipliers [N, T, n, m]`` (the
learner's λ at the end of the window, NaN for a learner without λ); all three are ``None`` elsewhere. A Lagrangian
learner left without limits (``cost_limit=None``) gets the task's (:func:`resolve_limits`).
What a policy table is depends on the learner (``meta["policy_table"]`` says which):

* **feed-forward** (``initial_memory`` is ``()``): ``learner.policy`` at each state's one-hot observation, read
  with the learner's parameters at the end of the window — the policy the agents act with in that state;
* **recurrent** (a GRU: ``recurrent: true``): the policy depends on the memory as well as the state, so there is no
  one policy per state. The table of state ``s`` is the **mean, over every step of the window at which an env was
  in ``s``, of the distribution the agents sampled their actions from at that step** (``learner.policy`` at that
  step's observation and memory, with the parameters of that step) — the policy the agents acted with in ``s``
  during the window, averaged over the memories actually visited there. A state that no env visited in the window
  falls back to ``learner.policy`` at its observation from the initial memory (the policy on entering ``s`` at an
  episode's start). Reading every table from the initial memory instead would report the policy at episode start,
  not the one the agents act with (issue 14, item 12). This costs one more forward pass of the actor per step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.deep.base import DeepLearner, Observation, RewardTransform, Rollout, StepContext
from marlkit.agents.deep.sharing import SharingPlan, default_sharing, learner_plan, plan_sharing
from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec
from marlkit.envs.games import GameEnv
from marlkit.envs.partner import WithPartner
from marlkit.envs.wrappers import cost_limits
from marlkit.errors import InvalidGameError, LearnerConfigError, NotApplicableError
from marlkit.games import as_stochastic
from marlkit.history import History
from marlkit.train.inputs import check_int, check_windows, merge_records, seed_ids, seed_keys, state_bytes
from marlkit.train.protocol import (
    Progress,
    Record,
    constraint_metrics,
    default_log_every,
    run_with_progress,
    split_constraint_metrics,
)

if TYPE_CHECKING:
    from marlkit.train.host import HostPlan

Array = jax.Array
TAIL_FRACTION = 0.1
"""The share of logging windows a summary's ``tail_return`` averages (as :func:`marlkit.diagnose.summary`)."""


# ------------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class DeepProgram:
    """The static part of a deep run — what the compiled programs depend on, compared and hashed by value (the env,
    the learner and the reward transform are frozen dataclasses), so ``jax.jit`` reuses a program for a second plan
    of the same run without any cache of plans."""

    env: MultiAgentEnv
    learner: DeepLearner
    reward: RewardTransform | None
    num_envs: int
    tables: bool
    num_logs: int
    updates_per_window: int

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.learner.rollout_length

    @property
    def visit_tables(self) -> bool:
        """Whether the policy tables average the policy over the visited memories (a recurrent learner's tables)."""
        return self.tables and is_recurrent(self.learner, self.env.spec)


def is_recurrent(learner: DeepLearner, spec: MultiAgentSpec) -> bool:
    """Whether ``learner`` carries a recurrent memory (its ``initial_memory`` has array leaves)."""
    return bool(jax.tree_util.tree_leaves(learner.initial_memory(spec, 1)))


POLICY_TABLE_MEANINGS = {
    False: "learner.policy at each state's observation at the end of the window",
    True: "mean over the window's steps in each state of the policy the agents acted with (recurrent memory); "
    "unvisited states: the policy from the initial memory",
}
"""``meta["policy_table"]`` of a deep run's History on an exact game, keyed by :func:`is_recurrent`."""


@dataclass(frozen=True, eq=False)
class DeepPlan:
    """Everything static about a deep run, checked at the edge (build it with :func:`prepare`); the compiled deep
    trainer's :class:`~marlkit.train.protocol.Plan`.

    Attributes:
        env: the env (unbatched; the trainer vmaps it over ``num_envs``).
        learner: the learner, with its ``sharing`` resolved (:func:`~marlkit.agents.deep.sharing.default_sharing`).
        sharing: the resolved :class:`~marlkit.agents.deep.sharing.SharingPlan` (mode and reason).
        reward: the reward transform, or ``None`` (learn from the env's reward).
        seeds / keys: seed indices ``[N]`` and their keys ``fold_in(key, seed)``.
        steps: env steps per seed (all ``num_envs`` envs together); ``log_every``: env steps per window.
        num_envs: parallel envs per seed; ``updates_per_window = log_every / (num_envs * rollout_length)``.
        tables: whether policy tables are recorded (a fully observable exact game).
        key_seed: the key as the caller gave it when it was an integer (recorded in the History), else None.
    """

    env: MultiAgentEnv
    learner: DeepLearner
    sharing: SharingPlan
    reward: RewardTransform | None
    seeds: np.ndarray
    keys: Array
    steps: int
    log_every: int
    num_envs: int
    tables: bool
    key_seed: int | None

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
    def program(self) -> DeepProgram:
        """The static part the compiled programs take (equal for equal runs)."""
        return DeepProgram(
            self.env, self.learner, self.reward, self.num_envs, self.tables, self.num_logs, self.updates_per_window
        )

    @property
    def judged(self) -> bool:
        """Diagnosed when the History holds policy tables (a fully observable exact game)."""
        return self.tables

    def start(self) -> DeepTrainState:
        """Every seed's state before its first step (compiled)."""
        return _start(self.program, self.keys)

    def advance(self, state: DeepTrainState, first_window: int, num_windows: int) -> tuple[DeepTrainState, Record]:
        """Run windows ``first_window .. first_window + num_windows - 1`` of every seed (records ``[N, W, ...]``);
        consecutive calls covering all windows give the records of one call, bit for bit."""
        first_window, num_windows = check_windows(first_window, num_windows, self.num_logs)
        return _advance(self.program, state, jnp.int32(first_window), num_windows)

    def to_history(self, records: Record | Sequence[Record]) -> History:
        """The :class:`History` of windows ``0 .. W-1`` from their records (one :class:`Record` or consecutive
        ones)."""
        return _history(self, records, trainer="deep", env_name=self.env.spec.name)

    def run(self) -> History:
        """The whole run: :meth:`start`, :meth:`advance` over all windows, :meth:`to_history`."""
        return self.to_history(self.advance(self.start(), 0, self.num_logs)[1])

    def needed_bytes(self) -> int:
        """Disk space a run directory takes at most (as the tabular estimate: records twice, the checkpoint twice,
        about 60 bytes per number of ``metrics.jsonl``; 16 metrics assumed)."""
        records, metrics = record_bytes(self.env.spec, self.tables, len(self.seeds), self.num_logs)
        return 2 * records + 2 * state_bytes(jax.eval_shape(self.start)) + metrics

    def summary_fields(self, history: History) -> dict[str, Any]:
        """What ``summary.json`` adds for a deep run: the env, the trainer, the sharing mode and why, the reward
        transform, and (on a task, where no policy table exists) the tail returns."""
        return summary_fields(self.env.spec, self.num_envs, self.sharing, self.tables, history)


def record_bytes(spec: MultiAgentSpec, tables: bool, n_seeds: int, num_logs: int) -> tuple[int, int]:
    """Bytes of a deep run's records and of its ``metrics.jsonl`` (see :meth:`DeepPlan.needed_bytes`)."""
    n, A = spec.n_agents, spec.max_actions
    S = spec.global_state_size if tables else 0
    J = int(np.prod(spec.num_actions)) if tables else 0
    per_window = 2 * 4 * n * S * A + 4 * S * J + 4 * (2 * n + 1) + 4 * 16 * n
    return n_seeds * num_logs * per_window, n_seeds * num_logs * (120 + 60 * n * 20)


def summary_fields(
    spec: MultiAgentSpec, num_envs: int, sharing: SharingPlan, tables: bool, history: History
) -> dict[str, Any]:
    """What ``summary.json`` adds for a deep or host run (see :meth:`DeepPlan.summary_fields`)."""
    from marlkit.diagnose.summary import tail_return

    fields: dict[str, Any] = {
        "env": spec.name,
        "trainer": history.meta.get("trainer", "deep"),
        "num_envs": num_envs,
        "sharing": {"mode": sharing.mode, "agent_id": sharing.agent_id, "reason": sharing.reason},
        "reward_transform": history.meta.get("reward_transform"),
    }
    if not tables:
        fields["learning"] = {"tail_return": tail_return(history).tolist(), "tail_fraction": TAIL_FRACTION}
    return fields


class DeepCarry(NamedTuple):
    """What the compiled loop threads from step to step (one seed)."""

    env_state: Any  # [E] batched env states
    observation: Observation  # [E, ...]
    memory: Any  # recurrent memory [E, ...]
    learner: Any
    reward_state: Any
    counts: Array  # [S, J] int32 cumulative joint-action counts (S = 0 without tables)
    running_return: Array  # [E, n]
    policy_sum: Array  # [S, n, A] float32 this window's sum, per state, of the policies acted with (S = 0 unless
    # DeepProgram.visit_tables: a recurrent learner on an exact game)
    visits: Array  # [S] int32 this window's steps per state (S = 0 unless visit_tables)
    running_cost: Any = ()  # [E, n, m] on a constrained task, else ()


class DeepTrainState(NamedTuple):
    """Every seed's run between windows (leaves have a leading seed axis ``[N]``); ``window_keys [N, num_logs]``."""

    carry: DeepCarry
    window_keys: Array


class DeepResult(NamedTuple):
    """A finished run: its History, the final learner states (leading seed axis) and the plan (a host run's
    :class:`~marlkit.train.host.HostPlan` from :func:`marlkit.train.host.train`)."""

    history: History
    states: Any
    plan: DeepPlan | HostPlan


def check_learner(learner: object) -> None:
    """Raise :class:`LearnerConfigError` unless ``learner`` is a hashable deep learner."""
    missing = [
        m for m in ("init", "initial_memory", "act", "update", "policy") if not callable(getattr(learner, m, None))
    ]
    if missing or not hasattr(learner, "rollout_length"):
        raise LearnerConfigError(
            f"{learner!r} is not a deep learner (missing {missing or ['rollout_length']}); use one of "
            "marlkit.agents.deep (IPPO, MAPPO, IPPOLagrangian, MAPPOLagrangian, IDQN, VDN, QMIX, COMA)"
        )
    try:
        hash(learner)
    except TypeError:
        raise LearnerConfigError(f"a learner must be hashable (a frozen dataclass), got {learner!r}") from None


def check_action_space(learner: object, spec: MultiAgentSpec) -> None:
    """Raise :class:`NotApplicableError` when ``spec`` has continuous (Box) actions and ``learner`` does not declare
    ``continuous_actions = True`` (IPPO / MAPPO and their Lagrangian variants do: a Gaussian head). Reward
    transforms are action-agnostic unless they declare ``continuous_actions = False`` (difference rewards) or
    ``needs_probs``; :func:`prepare` refuses those on Box tasks."""
    if spec.continuous and not getattr(learner, "continuous_actions", False):
        raise NotApplicableError(
            f"{getattr(learner, 'name', type(learner).__name__)} needs discrete actions but {spec.name} has "
            "continuous (Box) actions; use ippo or mappo (Gaussian policies), or the task's discrete mode"
        )


def resolve_sharing(
    learner: DeepLearner, spec: MultiAgentSpec, default: SharingPlan
) -> tuple[DeepLearner, SharingPlan]:
    """Resolve a learner's ``sharing=None`` with ``default`` (the env's homogeneity, exact games included)."""
    sharing = getattr(learner, "sharing", "absent")
    if sharing == "absent":
        return learner, plan_sharing(spec, "none", reason="learner does not share parameters")
    agent_id = getattr(learner, "agent_id", None)
    if sharing is None:
        resolved = default.agent_id if agent_id is None else agent_id
        return dataclasses.replace(learner, sharing=default.mode, agent_id=resolved), default  # type: ignore[type-var]
    return learner, learner_plan(spec, sharing, agent_id)


def resolve_limits(learner: DeepLearner, env: MultiAgentEnv) -> DeepLearner:
    """A Lagrangian learner (one with ``cost_limit`` and ``limits(spec)``) with ``cost_limit=None`` gets the env's
    limits (:func:`marlkit.envs.wrappers.cost_limits`, agent-major) — on an exact game's env, whose limits bound the
    discounted cost J, it also measures the discounted cost with the game's γ (``discounted_cost``,
    ``cost_gamma``); other learners come back unchanged.

    Raises:
        NotApplicableError: a Lagrangian learner on a task without costs.
        LearnerConfigError: limits of the wrong length.
    """
    if not (hasattr(learner, "cost_limit") and callable(getattr(learner, "limits", None))):
        return learner
    limits = cost_limits(env)
    if learner.cost_limit is None and limits is not None:
        flat = tuple(float(x) for x in limits.ravel())
        learner = dataclasses.replace(learner, cost_limit=flat)  # type: ignore[type-var]
        if isinstance(env, GameEnv):  # an exact game's limits bound J = E[Σ γ^t C] with the game's own γ
            learner = dataclasses.replace(learner, discounted_cost=True, cost_gamma=float(env.gamma))  # type: ignore[type-var]
    learner.limits(env.spec)  # type: ignore[attr-defined]  # checks: costs present, limits of the right length
    return learner


def _has_tables(env: MultiAgentEnv) -> bool:
    if isinstance(env, WithPartner):  # a fixed tabular partner on an exact game: the learners' game (envs.partner)
        return env.has_tables
    return isinstance(env, GameEnv) and as_stochastic(env.game).observations is None


def check_run(
    learner: object,
    steps: int,
    log_every: int | None,
    num_envs: int,
    reward: object,
) -> tuple[int, int, int]:
    """The checks the deep trainers share (the compiled one and the host loop): ``(steps, log_every, num_envs)``
    with ``log_every`` defaulted by :func:`~marlkit.train.protocol.default_log_every` per update."""
    check_learner(learner)
    if reward is not None and not all(callable(getattr(reward, m, None)) for m in ("init", "apply", "update")):
        raise LearnerConfigError(f"reward must be a reward transform (init / apply / update), got {reward!r}")
    steps = check_int("steps", steps, 1)
    num_envs = check_int("num_envs", num_envs, 1)
    rollout = check_int("rollout_length", learner.rollout_length, 1)  # type: ignore[attr-defined]
    per_update = num_envs * rollout
    if steps % per_update:
        raise InvalidGameError(
            f"steps={steps} is not a multiple of num_envs x rollout_length = {num_envs} x {rollout} "
            f"= {per_update} env steps per update; use steps={max(1, round(steps / per_update)) * per_update}"
        )
    log_every = default_log_every(steps, per_update) if log_every is None else check_int("log_every", log_every, 1)
    if log_every % per_update or steps % log_every:
        raise InvalidGameError(
            f"log_every={log_every} must be a multiple of the {per_update} env steps per update and divide "
            f"steps={steps}"
        )
    return steps, log_every, num_envs


def prepare(
    env: MultiAgentEnv,
    learner: DeepLearner,
    steps: int,
    seeds: int | Sequence[int] = 1,
    key: int | Array = 0,
    log_every: int | None = None,
    *,
    num_envs: int = 16,
    reward: RewardTransform | None = None,
) -> DeepPlan:
    """Check a run's inputs and build its :class:`DeepPlan` (arguments and errors as :func:`train`)."""
    if not isinstance(env, MultiAgentEnv):
        raise InvalidGameError(f"env must be a marlkit MultiAgentEnv (marlkit.envs.make), got {type(env).__name__}")
    steps, log_every, num_envs = check_run(learner, steps, log_every, num_envs, reward)
    check_action_space(learner, env.spec)
    if env.spec.continuous and (
        getattr(reward, "needs_probs", False) or not getattr(reward, "continuous_actions", True)
    ):
        raise NotApplicableError(
            f"the reward transform {type(reward).__name__} needs discrete actions (counterfactual actions or their "
            f"probabilities) but {env.spec.name} has continuous (Box) actions; use it on a discrete task"
        )
    learner, sharing = resolve_sharing(learner, env.spec, default_sharing(env))
    learner = resolve_limits(learner, env)
    ids = seed_ids(seeds)
    keys = seed_keys(key, ids)
    key_seed = int(key) if isinstance(key, int | np.integer) else None
    return DeepPlan(env, learner, sharing, reward, ids, keys, steps, log_every, num_envs, _has_tables(env), key_seed)


# ---------------------------------------------------------------------------------------------- compiled


def _table_observation(env: GameEnv) -> tuple[Observation, int]:
    """Every state's one-hot observation as a batch of ``S`` "envs" (for policy tables)."""
    spec = env.spec
    S = spec.global_state_size
    eye = jnp.eye(S, dtype=jnp.float32)
    obs = jnp.broadcast_to(eye[:, None, :], (S, spec.n_agents, S))
    mask = jnp.moveaxis(env.action_masks, 0, 1)  # [S, n, A]
    return Observation(obs, mask, eye, jnp.ones(S, dtype=bool)), S


def _policy_table(plan: DeepProgram, learner_state: Any) -> Array:
    spec = plan.env.spec
    if not plan.tables:
        return jnp.zeros((spec.n_agents, 0, spec.max_actions), jnp.float32)
    observation, S = _table_observation(plan.env)  # type: ignore[arg-type]  # plan.tables: a GameEnv
    memory = plan.learner.initial_memory(spec, S)
    probs = plan.learner.policy(learner_state, observation, memory)  # [S, n, A]
    return jnp.moveaxis(probs, 0, 1).astype(jnp.float32)


def _count_shape(plan: DeepProgram) -> tuple[int, int]:
    if not plan.tables:
        return (0, 0)
    return (plan.env.spec.global_state_size, int(np.prod(plan.env.spec.num_actions)))


def _start_one(plan: DeepProgram, key: Array) -> DeepTrainState:
    spec, E = plan.env.spec, plan.num_envs
    S_visits = spec.global_state_size if plan.visit_tables else 0
    k_env, k_learner, k_reward, k_windows = jax.random.split(key, 4)
    obs, env_state = jax.vmap(plan.env.reset)(jax.random.split(k_env, E))
    info = jax.vmap(plan.env.state_info)(env_state)
    observation = Observation(obs, info["action_mask"], info["global_state"], jnp.ones(E, dtype=bool))
    reward_state = () if plan.reward is None else plan.reward.init(k_reward, spec)
    carry = DeepCarry(
        env_state=env_state,
        observation=observation,
        memory=plan.learner.initial_memory(spec, E),
        learner=plan.learner.init(k_learner, spec, E),
        reward_state=reward_state,
        counts=jnp.zeros(_count_shape(plan), jnp.int32),
        running_return=jnp.zeros((E, spec.n_agents), jnp.float32),
        policy_sum=jnp.zeros((S_visits, spec.n_agents, spec.max_actions), jnp.float32),
        visits=jnp.zeros((S_visits,), jnp.int32),
        running_cost=jnp.zeros((E, spec.n_agents, spec.num_constraints), jnp.float32) if spec.num_constraints else (),
    )
    return DeepTrainState(carry, jax.random.split(k_windows, plan.num_logs))


class _Transition(NamedTuple):
    observation: Observation
    actions: Array
    aux: Any
    reward: Array
    env_reward: Array
    done: Array
    terminated: Array
    final_obs: Array
    final_action_mask: Array
    final_global_state: Array
    finished_return: Array  # [E, n] return of episodes that ended here (0 elsewhere)
    cost: Any = ()  # [E, n, m] info["cost"] on a constrained task, else ()
    finished_cost: Any = ()  # [E, n, m] cost of episodes that ended here (0 elsewhere), else ()


def _env_step(plan: DeepProgram, carry: DeepCarry, key: Array) -> tuple[DeepCarry, _Transition]:
    env, learner, E = plan.env, plan.learner, plan.num_envs
    k_act, k_env = jax.random.split(key)
    observation = carry.observation
    actions, aux, memory = learner.act(k_act, carry.learner, observation, carry.memory)
    env_keys = jax.random.split(k_env, E)
    obs, env_state, reward, done, info = jax.vmap(env.step)(env_keys, carry.env_state, actions)
    learn_reward = reward
    if plan.reward is not None:
        probs = (
            learner.policy(carry.learner, observation, carry.memory)
            if getattr(plan.reward, "needs_probs", False)
            else jnp.zeros((*actions.shape, env.spec.max_actions), jnp.float32)
        )
        context = StepContext(env_keys, carry.env_state, observation, actions, reward, info, probs)
        learn_reward = plan.reward.apply(carry.reward_state, env, context).astype(jnp.float32)
    counts, policy_sum, visits = carry.counts, carry.policy_sum, carry.visits
    if plan.tables:
        joint = jax.vmap(env.joint_index)(actions)  # type: ignore[attr-defined]  # plan.tables: a GameEnv
        counts = counts.at[carry.env_state.inner.state, joint].add(1)
    if plan.visit_tables:  # the distribution the actions were just sampled from, at this step's memory
        acted = learner.policy(carry.learner, observation, carry.memory).astype(jnp.float32)  # [E, n, A]
        policy_sum = policy_sum.at[carry.env_state.inner.state].add(acted)
        visits = visits.at[carry.env_state.inner.state].add(1)
    running = carry.running_return + reward
    finished = jnp.where(done[:, None], running, 0.0)
    cost: Any = ()
    finished_cost: Any = ()
    running_cost = carry.running_cost
    if env.spec.num_constraints:
        cost = info["cost"].astype(jnp.float32)
        running_cost = carry.running_cost + cost
        finished_cost = jnp.where(done[:, None, None], running_cost, 0.0)
        running_cost = jnp.where(done[:, None, None], 0.0, running_cost)
    next_observation = Observation(obs, info["action_mask"], info["global_state"], done)
    transition = _Transition(
        observation=observation,
        actions=actions,
        aux=aux,
        reward=learn_reward,
        env_reward=reward,
        done=done,
        terminated=info["terminated"],
        final_obs=info["final_obs"],
        final_action_mask=info["final_action_mask"],
        final_global_state=info.get("final_global_state", info["global_state"]),
        finished_return=finished,
        cost=cost,
        finished_cost=finished_cost,
    )
    new_carry = carry._replace(
        env_state=env_state,
        observation=next_observation,
        memory=memory,
        counts=counts,
        running_return=jnp.where(done[:, None], 0.0, running),
        policy_sum=policy_sum,
        visits=visits,
        running_cost=running_cost,
    )
    return new_carry, transition


def _per_agent(value: Array, n: int) -> Array:
    value = jnp.asarray(value, jnp.float32)
    return jnp.broadcast_to(value if value.ndim else value[None], (n,))


class _WindowSums(NamedTuple):
    return_sum: Array  # [n]
    episodes: Array  # []
    reward_sum: Array  # [n]
    metrics: dict[str, Array]  # [n]
    cost_sum: Any = ()  # [n, m] on a constrained task
    episode_cost_sum: Any = ()  # [n, m] on a constrained task


def _update(plan: DeepProgram, carry: DeepCarry, key: Array) -> tuple[DeepCarry, _WindowSums]:
    """One rollout of ``T`` steps in ``E`` envs, then the learner's (and the reward transform's) update."""
    n = plan.env.spec.n_agents
    k_steps, k_learn, k_reward = jax.random.split(key, 3)
    memory0 = carry.memory
    carry, steps = jax.lax.scan(partial(_env_step, plan), carry, jax.random.split(k_steps, plan.learner.rollout_length))
    rollout = Rollout(
        observation=steps.observation,
        actions=steps.actions,
        aux=steps.aux,
        reward=steps.reward,
        env_reward=steps.env_reward,
        done=steps.done,
        terminated=steps.terminated,
        final_obs=steps.final_obs,
        final_action_mask=steps.final_action_mask,
        final_global_state=steps.final_global_state,
        next=carry.observation,
        memory=memory0,
        next_memory=carry.memory,
        costs=steps.cost if plan.env.spec.num_constraints else None,
    )
    learner_state, metrics = plan.learner.update(k_learn, carry.learner, rollout)
    metrics = {name: _per_agent(value, n) for name, value in metrics.items()}
    reward_state = carry.reward_state
    if plan.reward is not None:
        reward_state, reward_metrics = plan.reward.update(k_reward, reward_state, rollout)
        metrics.update({f"reward/{name}": _per_agent(v, n) for name, v in reward_metrics.items()})
    sums = _WindowSums(
        return_sum=steps.finished_return.sum(axis=(0, 1)),
        episodes=steps.done.sum().astype(jnp.int32),
        reward_sum=steps.env_reward.sum(axis=(0, 1)),
        metrics=metrics,
    )
    if plan.env.spec.num_constraints:
        sums = sums._replace(
            cost_sum=steps.cost.sum(axis=(0, 1)), episode_cost_sum=steps.finished_cost.sum(axis=(0, 1))
        )
    return carry._replace(learner=learner_state, reward_state=reward_state), sums


def _window(plan: DeepProgram, carry: DeepCarry, key: Array) -> tuple[DeepCarry, Record]:
    updates = plan.updates_per_window
    carry = carry._replace(policy_sum=jnp.zeros_like(carry.policy_sum), visits=jnp.zeros_like(carry.visits))
    carry, sums = jax.lax.scan(partial(_update, plan), carry, jax.random.split(key, updates))
    episodes = sums.episodes.sum()
    return_sum = sums.return_sum.sum(axis=0)
    policy = _policy_table(plan, carry.learner)
    if plan.visit_tables:  # recurrent: the mean policy acted with in each visited state (module docstring)
        total = carry.policy_sum.sum(axis=-1, keepdims=True)
        acted = jnp.moveaxis(carry.policy_sum / jnp.where(total > 0, total, 1.0), 0, 1)  # [n, S, A], rows sum to 1
        policy = jnp.where(carry.visits[None, :, None] > 0, acted, policy)
    metrics = {name: value.mean(axis=0) for name, value in sums.metrics.items()}
    if plan.env.spec.num_constraints:
        metrics.update(_constraint_metrics(plan, carry.learner, sums, episodes))
    record = Record(
        policy=policy,
        average_policy=jnp.full_like(policy, jnp.nan),
        counts=carry.counts,
        episode_return=jnp.where(episodes > 0, return_sum / jnp.maximum(episodes, 1), jnp.nan),
        episode_count=episodes,
        reward_mean=sums.reward_sum.sum(axis=0) / float(updates * plan.steps_per_update),
        metrics=metrics,
    )
    return carry, record


def _constraint_metrics(plan: DeepProgram, learner_state: Any, sums: _WindowSums, episodes: Array) -> dict[str, Array]:
    """A window's ``constraint/<field>/<j> [n]`` record metrics (:func:`marlkit.train.protocol.constraint_metrics`)."""
    spec = plan.env.spec
    multipliers = getattr(plan.learner, "multipliers", None)
    values = {
        "cost_mean": sums.cost_sum.sum(axis=0) / float(plan.updates_per_window * plan.steps_per_update),
        "episode_cost": jnp.where(episodes > 0, sums.episode_cost_sum.sum(axis=0) / jnp.maximum(episodes, 1), jnp.nan),
        "multipliers": jnp.full((spec.n_agents, spec.num_constraints), jnp.nan, jnp.float32)
        if multipliers is None
        else multipliers(learner_state).astype(jnp.float32),
    }
    return constraint_metrics(values)


@partial(jax.jit, static_argnums=0)
def _start(plan: DeepProgram, keys: Array) -> DeepTrainState:
    return jax.vmap(partial(_start_one, plan))(keys)


@partial(jax.jit, static_argnums=(0, 3))
def _advance(
    plan: DeepProgram, state: DeepTrainState, first_window: Array, num_windows: int
) -> tuple[DeepTrainState, Record]:
    def one(carry: DeepCarry, window_keys: Array) -> tuple[DeepCarry, Record]:
        keys = jax.lax.dynamic_slice_in_dim(window_keys, first_window, num_windows)
        return jax.lax.scan(partial(_window, plan), carry, keys)

    carry, records = jax.vmap(one)(state.carry, state.window_keys)
    return DeepTrainState(carry, state.window_keys), records


# ----------------------------------------------------------------------------------------------- public


def start(plan: DeepPlan) -> DeepTrainState:
    """Every seed's state before its first step (:meth:`DeepPlan.start`)."""
    return plan.start()


def advance(
    plan: DeepPlan, state: DeepTrainState, first_window: int, num_windows: int
) -> tuple[DeepTrainState, Record]:
    """Windows ``first_window .. first_window + num_windows - 1`` of every seed (:meth:`DeepPlan.advance`)."""
    return plan.advance(state, first_window, num_windows)


def train(
    env: MultiAgentEnv,
    learner: DeepLearner,
    steps: int,
    seeds: int | Sequence[int] = 1,
    key: int | Array = 0,
    log_every: int | None = None,
    *,
    num_envs: int = 16,
    reward: RewardTransform | None = None,
    progress: bool | Progress | None = None,
) -> DeepResult:
    """Train a deep learner on a marlkit env, compiled end to end and vmapped over seeds.

    Args:
        env: a marlkit env (``marlkit.envs.make(name)``; ``"game:<name>"`` for an exact game, whose History then
            carries policy tables for the convergence diagnostics).
        learner: a deep learner (:mod:`marlkit.agents.deep`); ``sharing=None`` is resolved from the env's
            homogeneity (recorded in the History's ``meta``).
        steps: env steps per seed, a multiple of ``num_envs * learner.rollout_length``.
        seeds: how many seeds (indices ``0..seeds-1``) or a list of seed indices; seed i uses ``fold_in(key, i)``.
        key: an integer or a JAX PRNG key.
        log_every: env steps per logging window (a multiple of the steps per update that divides ``steps``);
            default: about 100 windows.
        num_envs: parallel envs per seed.
        reward: a reward transform (e.g. :class:`marlkit.agents.credit.DifferenceRewards`) or ``None``.
        progress: quiet by default; ``True`` draws a progress bar with the latest mean return on stderr, a
            callable ``(done, total, records)`` is called after each of ~20 chunks of windows
            (:func:`marlkit.train.protocol.run_with_progress`; results are the same either way).

    Returns:
        :class:`DeepResult` — ``history``, the final learner ``states`` (leading seed axis) and the ``plan``.

    Raises:
        InvalidGameError: bad env, steps, seeds, key or log_every.
        LearnerConfigError: not a deep learner, bad sharing, bad reward transform.
        NotApplicableError: a discrete-only learner (or a transform that needs action probabilities) on a task
            with continuous (Box) actions.
    """
    plan = prepare(env, learner, steps, seeds, key, log_every, num_envs=num_envs, reward=reward)
    state, records = run_with_progress(plan, progress)
    return DeepResult(plan.to_history(records), state.carry.learner, plan)


def to_history(plan: DeepPlan, records: Record | Sequence[Record]) -> History:
    """The :class:`History` of windows ``0 .. W-1`` from their records (:meth:`DeepPlan.to_history`)."""
    return plan.to_history(records)


def _history(plan: DeepPlan, records: Record | Sequence[Record], *, trainer: str, env_name: str) -> History:
    return history_of(
        records,
        spec=plan.env.spec,
        seeds=plan.seeds,
        num_logs=plan.num_logs,
        log_every=plan.log_every,
        steps=plan.steps,
        num_envs=plan.num_envs,
        learner=plan.learner,
        sharing=plan.sharing,
        reward=plan.reward,
        game_name=plan.env.game.name if plan.tables else None,  # type: ignore[attr-defined]
        key_seed=plan.key_seed,
        trainer=trainer,
        env_name=env_name,
        policy_table=POLICY_TABLE_MEANINGS[is_recurrent(plan.learner, plan.env.spec)] if plan.tables else None,
        limits=judged_limits(plan.learner, plan.env),
    )


def judged_limits(learner: DeepLearner, env: MultiAgentEnv) -> np.ndarray | None:
    """The limits ``[n, m]`` a constrained run is judged against: a Lagrangian learner's own (its ``cost_limit``,
    or the env's it was given), else the env's (:func:`marlkit.envs.wrappers.cost_limits`); None without costs."""
    own = getattr(learner, "limits", None)
    if callable(own) and env.spec.num_constraints:
        return np.asarray(own(env.spec), dtype=np.float64)
    return cost_limits(env)


def history_of(
    records: Record | Sequence[Record],
    *,
    spec: MultiAgentSpec,
    seeds: np.ndarray,
    num_logs: int,
    log_every: int,
    steps: int,
    num_envs: int,
    learner: DeepLearner,
    sharing: SharingPlan,
    reward: RewardTransform | None,
    game_name: str | None,
    key_seed: int | None,
    trainer: str,
    env_name: str,
    policy_table: str | None = None,
    limits: np.ndarray | None = None,
) -> History:
    """The History of a deep learner's run (compiled or host) from its records; ``game_name`` is set where the
    records hold policy tables (a fully observable exact game), and ``policy_table`` then says what a table is
    (:data:`POLICY_TABLE_MEANINGS`; recorded as ``meta["policy_table"]``)."""
    merged, num_windows = merge_records(records, len(seeds), num_logs)
    tables = game_name is not None
    counts = np.asarray(merged.counts, dtype=np.int64)
    meta: dict[str, object] = {
        "trainer": trainer,
        "env": env_name,
        "game": game_name,
        "n_agents": spec.n_agents,
        "num_states": spec.global_state_size if tables else 0,
        "num_actions": list(spec.num_actions),
        "max_episode_steps": spec.max_episode_steps,
        "log_every": log_every,
        "steps": steps,
        "num_envs": num_envs,
        "learners": [repr(learner)] * spec.n_agents,
        "learner": type(learner).__name__,
        "sharing": {"mode": sharing.mode, "agent_id": sharing.agent_id, "reason": sharing.reason},
        "reward_transform": None if reward is None else repr(reward),
        "key": key_seed,
    }
    if tables and policy_table is not None:
        meta["policy_table"] = policy_table
    if limits is not None and spec.num_constraints:
        meta["limits"] = np.asarray(limits, dtype=np.float64).tolist()
    metrics, constraint = split_constraint_metrics(
        {name: np.asarray(value) for name, value in merged.metrics.items()}, spec.num_constraints
    )
    return History(
        steps=np.arange(1, num_windows + 1, dtype=np.int64) * log_every,
        seeds=seeds.astype(np.int64),
        policy=np.asarray(merged.policy),
        average_policy=np.asarray(merged.average_policy),
        has_average_policy=np.zeros(spec.n_agents, dtype=bool),
        # [N, T, S, A_1..A_n] on an exact game; [N, T, 0] elsewhere (no table: the joint action space of a task
        # can be too large even to describe as an empty array, e.g. 6^30 in the bar problem)
        joint_counts=counts.reshape(*counts.shape[:3], *spec.num_actions)
        if tables
        else counts.reshape(counts.shape[:3]),
        episode_return=np.asarray(merged.episode_return),
        episode_count=np.asarray(merged.episode_count),
        reward_mean=np.asarray(merged.reward_mean),
        metrics=metrics,
        meta=meta,
        cost_mean=constraint["cost_mean"],
        episode_cost=constraint["episode_cost"],
        multipliers=constraint["multipliers"],
    )


__all__ = [
    "POLICY_TABLE_MEANINGS",
    "TAIL_FRACTION",
    "DeepCarry",
    "DeepPlan",
    "DeepProgram",
    "DeepResult",
    "DeepTrainState",
    "advance",
    "check_action_space",
    "check_learner",
    "check_run",
    "history_of",
    "is_recurrent",
    "judged_limits",
    "prepare",
    "record_bytes",
    "resolve_limits",
    "resolve_sharing",
    "start",
    "summary_fields",
    "to_history",
    "train",
]
