"""The compiled tabular training loop: ``train(game, learners, steps, seeds, key, log_every) -> History``.

The whole run is one pure function of the key, compiled with ``jax.jit``: an outer ``lax.scan`` over logging
points, an inner ``lax.scan`` over the ``log_every`` steps of each window, and ``jax.vmap`` over seeds — in
cache-sized chunks of seeds run one after another (``lax.map`` over chunks), which halves the cost per
seed-step against one vmap over 1,000 seeds on this CPU. No Python
runs per step and every shape is static, so a second call with the same game shapes, learners, ``steps`` and
``log_every`` reuses the compiled code. Seed ``i`` runs with key ``jax.random.fold_in(key, i)``, so a seed's
run does not depend on how many other seeds ran beside it.

Resumable runs: :func:`prepare` checks the inputs and returns a static :class:`TrainPlan`; :func:`start` gives
every seed's :class:`TrainState` (the carry, and the PRNG keys of all windows, split once from the seed's key);
:func:`advance` runs any consecutive windows from a state and returns the new state and their records;
:func:`to_history` assembles records into a History. Because window ``t`` always draws from key ``t`` of the
state, records concatenated over any segmentation equal, bit for bit, those of :func:`train`, which runs the
same computation in one program (see :func:`_run_seeds`; ``marlkit.experiment`` checkpoints the state between
segments; ``tests/train/test_resume.py`` checks the equality).

One step: every learner acts on its agents' observations, the env steps (auto-resetting), the joint action is
counted, and every learner updates on the transition (``Transition``; ``policies`` is filled only if a learner
sets ``needs_policies``).

Constrained games (``costs`` and ``limits``; Altman 1999): every step's costs ``info["cost"] [n, m]`` reach the
learners in ``Transition.costs`` / ``joint_costs``, and the limits and initial distribution in ``GroupSpec.limits``
/ ``initial`` (traced inputs, :class:`Constraints`: games that differ only in their limits share one program).
The History then records, per seed and window, ``cost_mean [N, T, n, m]`` (mean cost per step),
``episode_cost`` (mean undiscounted cost of the episodes that ended in the window, NaN where none did) and
``multipliers`` (λ at the window's end of learners with a ``multipliers(state)`` method, NaN for the others).
On an unconstrained game all of it is ``None`` and the compiled program is the one it always was (checked: the
same lowered program text, bit-identical results).

State adversary (``prepare(..., adversary=StateAdversary(...))``, :mod:`marlkit.train.adversary`): the carry's
``obs`` holds what the agents perceive; after the env steps, the adversary (a Q-learner over true states and
choices of perceived states, reward −team reward) learns on the true transition, picks the perception of s' (the
transition's ``next_obs`` and, unless the episode ended, the next step's ``obs``) and, after an auto-reset, a fresh
perception of the reset state; the learners act and update on the perceived states (action masks at the perceived
states), the counts and returns stay on the true ones. Under the alternating schedule the learners' updates are
skipped in the adversary's phases (and its updates in theirs). Its two uniforms per step come from the window's
block; the first perception of a run from the reset key. With ``adversary=None`` the compiled programs are the ones
without it (checked: the same lowered program text).

Random numbers: each window draws all the uniforms its steps need in one batched call (the env's, at most two
per step, and one per agent for learners with the ``act_uniform`` fast path) and splits per-step keys only for
learners without it.
JAX lowers threefry on CPU to a rolled loop, so one PRNG call per step costs more than a tabular update; in
blocks it is cheap. The ``rbg`` PRNG is not used: it is not exact under ``vmap`` (measured here), and a seed's
results must not depend on batching.

Composition (``learners``):

* one learner — controls every agent: a joint learner (CQL) as one team; an independent learner (IQL, PHC,
  WoLF-PHC) as self-play, one independent copy per agent;
* a list of ``n`` learners — agent i runs ``learners[i]``; equal independent learners are batched into one
  group (same results, fewer operations);
* a list of ``(learner, agents)`` pairs — explicit groups that partition the agents.

On small CPUs set ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` before importing JAX: a vmapped run once
deadlocked here with XLA's default CPU threading, and the flag costs nothing at these sizes. marlkit sets no
global flag itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.tabular.base import GroupSpec, Learner, LearnerConfigError, Transition, policy_table
from marlkit.envs.games import NO_TIME_LIMIT, GameEnv, make_env
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame, as_stochastic
from marlkit.history import CONSTRAINT_ARRAYS, History
from marlkit.train.adversary import AdversaryState, StateAdversary
from marlkit.train.inputs import check_int, check_windows, merge_records, seed_ids, seed_keys, state_bytes
from marlkit.train.protocol import (
    CONSTRAINT_PREFIX,
    Progress,
    Record,
    constraint_metrics,
    default_log_every,
    run_with_progress,
    split_constraint_metrics,
)

Array = jax.Array
LearnerAssignment = Learner | Sequence[Learner] | Sequence[tuple[Learner, Sequence[int]]]
LearnerData = tuple[Any, ...]
"""Per group, the learner's ``arrays(spec)`` as device arrays (None for a learner without them)."""


@dataclass(frozen=True)
class Group:
    """A learner and the agents it controls (static)."""

    learner: Any
    agents: tuple[int, ...]


# ------------------------------------------------------------------------------------------- edge checks


def _check_learner(learner: object, where: str) -> Learner:
    """``learner`` if it is a hashable tabular learner; :class:`LearnerConfigError` otherwise."""
    if not isinstance(learner, Learner):
        raise LearnerConfigError(
            f"{where}: expected a tabular learner (with init/act/update/policy, e.g. IQL()), got {learner!r}"
        )
    try:
        hash(learner)
    except TypeError:
        raise LearnerConfigError(
            f"{where}: a learner must be hashable (a frozen dataclass of hyper-parameters), got {learner!r}"
        ) from None
    return learner


def assign(learners: LearnerAssignment, n_agents: int) -> tuple[Group, ...]:
    """Normalise a learner assignment into groups that partition the agents (see the module docstring)."""
    if isinstance(learners, Learner):
        _check_learner(learners, "learners")
        return (Group(learners, tuple(range(n_agents))),)
    if isinstance(learners, str) or not isinstance(learners, Sequence) or len(learners) == 0:
        raise LearnerConfigError(
            f"learners: expected a learner, a list of {n_agents} learners (one per agent) or a list of "
            f"(learner, agents) pairs, got {learners!r}"
        )
    if all(isinstance(item, tuple) and len(item) == 2 for item in learners):
        groups: list[Group] = []
        seen: list[int] = []
        pairs: Sequence[tuple[Learner, Sequence[int]]] = learners  # type: ignore[assignment]
        for g, (learner, agents) in enumerate(pairs):
            _check_learner(learner, f"learners[{g}]")
            members = tuple(int(a) for a in agents)
            if not members or any(not 0 <= a < n_agents for a in members):
                raise LearnerConfigError(
                    f"learners[{g}]: agents {list(agents)} must be a non-empty list of indices in 0..{n_agents - 1}"
                )
            seen.extend(members)
            groups.append(Group(learner, members))
        if sorted(seen) != list(range(n_agents)):
            raise LearnerConfigError(
                f"learners: the groups' agents {sorted(seen)} must cover each of the {n_agents} agents exactly once"
            )
        return tuple(groups)
    if len(learners) != n_agents:
        raise LearnerConfigError(
            f"learners: the game has {n_agents} agents but {len(learners)} learners were given; give one per "
            "agent, one learner for all, or (learner, agents) pairs"
        )
    merged: dict[Any, list[int]] = {}
    singles: list[Group] = []
    order: list[Any] = []
    for i, item in enumerate(learners):
        learner = _check_learner(item, f"learners[{i}]")
        if learner.joint:
            singles.append(Group(learner, (i,)))
            order.append(singles[-1])
        elif learner in merged:
            merged[learner].append(i)
        else:
            merged[learner] = [i]
            order.append(learner)
    return tuple(item if isinstance(item, Group) else Group(item, tuple(merged[item])) for item in order)


# --------------------------------------------------------------------------------------- compiled core


class Constraints(NamedTuple):
    """A constrained game's limits ``[n, m]`` and initial distribution ``[S]`` (float32), traced inputs of the
    compiled programs (the env's tables do not hold the limits, and a program must not bake them in: two games
    that differ only in their limits share one)."""

    limits: Array
    initial: Array


class Carry(NamedTuple):
    env_state: Any
    obs: Array  # [n]
    learners: tuple  # one state per group
    counts: Array  # [S, J] int32 cumulative joint-action counts
    episode_return: Array  # [n] return of the running episode
    episode_cost: Array | None = None  # [n, m] undiscounted cost of the running episode (constrained games)
    adversary: AdversaryState | None = None  # the state adversary's Q-table and current choice (adversarial runs)


class Window(NamedTuple):
    return_sum: Array  # [n] returns of the episodes finished in the window
    episodes: Array  # [] int32
    reward_sum: Array  # [n]
    metrics: dict[str, Array]  # name -> [n] sums over the window
    cost_sum: Array | None = None  # [n, m] costs summed over the window's steps (constrained games)
    episode_cost_sum: Array | None = None  # [n, m] costs of the episodes finished in the window


def _snapshot(env: GameEnv, groups: tuple[Group, ...], states: tuple, average: bool = False) -> Array:
    spec = env.spec
    out = jnp.full((spec.n_agents, env.num_states, spec.max_actions), jnp.nan, dtype=jnp.float32)
    for group, state in zip(groups, states, strict=True):
        method = getattr(group.learner, "average_policy", None) if average else group.learner.policy
        if method is not None:
            table = policy_table(method, state, len(group.agents), env.num_states)
            out = out.at[np.asarray(group.agents)].set(table)
    return out


def _transition(
    env: GameEnv,
    agents: np.ndarray,
    s: Array,
    s_next: Array,
    obs: Array,
    next_obs: Array,
    info: dict,
    reward: Array,
    policies: Array | None,
    cost: Array | None,
) -> Transition:
    """The group's view of a step; ``s``/``s_next`` index the action masks (the true states, or each member's
    perceived states ``[k]`` against an adversary), ``obs``/``next_obs`` ``[n]`` are what the agents perceive."""
    return Transition(
        obs=obs[agents],
        actions=info["actions"][agents],
        rewards=reward[agents],
        next_obs=next_obs[agents],
        terminated=info["terminated"],
        truncated=info["truncated"],
        legal=env.action_masks[agents, s],
        next_legal=env.action_masks[agents, s_next],
        joint_actions=info["actions"],
        joint_rewards=reward,
        policies=policies,
        costs=None if cost is None else cost[agents],
        joint_costs=cost,
    )


def _group_spec(
    env: GameEnv, group: Group, constraints: Constraints | None, data: Any = None, on_host: bool = False
) -> GroupSpec:
    """The group's view of the game; ``on_host``: its ``legal`` and ``limits`` as NumPy arrays (no eager device
    program to select them: for :func:`_learner_data`, outside the compiled programs)."""
    spec = env.spec
    masks: Any = env.action_masks
    limits: Any = None if constraints is None else constraints.limits
    if on_host:
        masks, limits = np.asarray(masks), None if limits is None else np.asarray(limits)
    return GroupSpec(
        agents=group.agents,
        n_agents=spec.n_agents,
        num_states=env.num_states,
        num_actions=tuple(spec.num_actions[a] for a in group.agents),
        max_actions=spec.max_actions,
        gamma=env.gamma,
        legal=masks[np.asarray(group.agents)],
        limits=None if limits is None else limits[np.asarray(group.agents)],
        initial=None if constraints is None else constraints.initial,
        data=data,
    )


def _learner_data(env: GameEnv, groups: tuple[Group, ...], constraints: Constraints | None) -> LearnerData:
    """Each group's learner ``arrays(spec)`` (None for learners without them) as device arrays: inputs of the
    compiled programs, so that learners built with different games of one shape lower to the same program
    (:mod:`marlkit.agents.tabular.base`, "Arrays of the game a learner was built with")."""
    out = []
    for g in groups:
        arrays = getattr(g.learner, "arrays", None)
        out.append(None if arrays is None else jax.device_put(arrays(_group_spec(env, g, constraints, on_host=True))))
    return tuple(out)


def _start_one(
    env: GameEnv,
    key: Array,
    groups: tuple[Group, ...],
    num_logs: int,
    constraints: Constraints | None,
    data: LearnerData,
    adversary: StateAdversary | None = None,
) -> TrainState:
    """One seed's initial state: learners and env initialised, and the keys of all ``num_logs`` windows."""
    spec = env.spec
    key_init, key_reset, key_loop = jax.random.split(key, 3)
    obs, env_state = env.reset(key_reset)
    init_keys = jax.random.split(key_init, len(groups))
    states = tuple(
        g.learner.init(init_keys[i], _group_spec(env, g, constraints, data[i])) for i, g in enumerate(groups)
    )
    carry = Carry(
        env_state=env_state,
        obs=obs,
        learners=states,
        counts=jnp.zeros((env.num_states, env.num_joint_actions), dtype=jnp.int32),
        episode_return=jnp.zeros(spec.n_agents, dtype=jnp.float32),
        episode_cost=None if constraints is None else jnp.zeros(constraints.limits.shape, dtype=jnp.float32),
    )
    if adversary is not None:  # the first perception, drawn outside the windows' blocks
        state = adversary.init(env.gamma)
        choice = adversary.choose(jax.random.uniform(jax.random.fold_in(key_reset, 1)), state, obs[0])
        carry = carry._replace(
            obs=adversary.perceive(obs[0], choice, spec.n_agents), adversary=state._replace(choice=choice)
        )
    return TrainState(carry=carry, window_keys=jax.random.split(key_loop, num_logs))


def _run_windows(
    env: GameEnv,
    carry: Carry,
    window_keys: Array,
    groups: tuple[Group, ...],
    log_every: int,
    adversary: StateAdversary | None = None,
    first_window: Array | int = 0,
) -> tuple[Carry, Record]:
    """One seed's windows ``window_keys [W]`` of ``log_every`` steps each, from ``carry``; one Record per window.

    With an adversary, the step index ``t`` (window ``first_window + w``, step ``i``) is fed to the scans as an
    input that is the same for every seed (unbatched under ``vmap``), so the alternating schedule's phase is a
    real ``lax.cond`` that skips the frozen side's update instead of selecting between whole tables."""
    spec = env.spec
    n = spec.n_agents
    members = [np.asarray(g.agents) for g in groups]
    needs_policies = any(g.learner.needs_policies for g in groups)
    # Randomness per step: uniforms [env's + Σ k over act_uniform groups] and keys for the other groups.
    fast: list[np.ndarray | None] = []
    keyed: list[int | None] = []
    width, n_keys = env.num_uniforms, 0
    for g in groups:
        if hasattr(g.learner, "act_uniform"):
            fast.append(np.arange(width, width + len(g.agents)))
            keyed.append(None)
            width += len(g.agents)
        else:
            fast.append(None)
            keyed.append(n_keys)
            n_keys += 1
    adversary_uniforms = np.arange(width, width + 2)  # the choices at s' and at a reset state
    if adversary is not None:
        width += 2

    def step(carry_window: tuple[Carry, Window], randomness: tuple[Array, ...]) -> tuple[tuple[Carry, Window], None]:
        carry, window = carry_window
        uniforms, keys = randomness[0], randomness[1]
        policies = _snapshot(env, groups, carry.learners) if needs_policies else None
        actions = jnp.zeros(n, dtype=jnp.int32)
        for i, (g, state) in enumerate(zip(groups, carry.learners, strict=True)):
            obs = carry.obs[members[i]]
            if fast[i] is None:
                chosen, _ = g.learner.act(keys[keyed[i]], state, obs)
            else:
                chosen, _ = g.learner.act_uniform(uniforms[fast[i]], state, obs)
            actions = actions.at[members[i]].set(chosen)
        next_obs, env_state, reward, done, info = env.step_uniform(
            uniforms[: env.num_uniforms], carry.env_state, actions
        )
        s, s_next = carry.env_state.inner.state, info["final_obs"][0]
        cost = info.get("cost")  # [n, m] on a constrained game
        perceived, learn, adversary_state = info["final_obs"], None, None
        if adversary is not None:  # perceive s' (and a reset state), and let the adversary learn (module docstring)
            assert carry.adversary is not None
            learn, adversary_learns = adversary.phases(randomness[2])
            adversary_state = adversary.update(carry.adversary, adversary_learns, s, reward, s_next, info["terminated"])
            u = uniforms[adversary_uniforms]
            choice_final = adversary.choose(u[0], adversary_state, s_next)
            perceived = adversary.perceive(s_next, choice_final, n)
            choice_next = jnp.where(done, adversary.choose(u[1], adversary_state, next_obs[0]), choice_final)
            next_obs = adversary.perceive(next_obs[0], choice_next, n)
            adversary_state = adversary_state._replace(choice=choice_next)
        new_states, sums = [], dict(window.metrics)
        for i, (g, state) in enumerate(zip(groups, carry.learners, strict=True)):
            if adversary is None:
                batch = _transition(env, members[i], s, s_next, carry.obs, perceived, info, reward, policies, cost)
            else:
                seen, seen_next = carry.obs[members[i]], perceived[members[i]]
                batch = _transition(
                    env, members[i], seen, seen_next, carry.obs, perceived, info, reward, policies, cost
                )
            if learn is None:
                state, metrics = g.learner.update(state, batch)
            else:  # frozen in the adversary's phases of the alternating schedule (metrics 0 there)
                state, metrics = _frozen_or_updated(learn, g.learner, state, batch)
            new_states.append(state)
            for name, value in metrics.items():
                sums[name] = sums[name].at[members[i]].add(value.astype(jnp.float32))
        episode_return = carry.episode_return + reward
        new_carry = Carry(
            env_state=env_state,
            obs=next_obs,
            learners=tuple(new_states),
            counts=carry.counts.at[s, env.joint_index(info["actions"])].add(1),
            episode_return=jnp.where(done, 0.0, episode_return),
            adversary=adversary_state,
        )
        new_window = Window(
            return_sum=window.return_sum + jnp.where(done, episode_return, 0.0),
            episodes=window.episodes + done.astype(jnp.int32),
            reward_sum=window.reward_sum + reward,
            metrics=sums,
        )
        if cost is not None:  # a constrained game (static): the episode's and the window's costs
            assert carry.episode_cost is not None and window.cost_sum is not None
            assert window.episode_cost_sum is not None
            episode_cost = carry.episode_cost + cost
            new_carry = new_carry._replace(episode_cost=jnp.where(done, 0.0, episode_cost))
            new_window = new_window._replace(
                cost_sum=window.cost_sum + cost,
                episode_cost_sum=window.episode_cost_sum + jnp.where(done, episode_cost, 0.0),
            )
        return (new_carry, new_window), None

    reported = _reported_metrics(groups, members, carry, env, needs_policies)
    costs_shape = None if carry.episode_cost is None else carry.episode_cost.shape
    empty = Window(
        return_sum=jnp.zeros(n, jnp.float32),
        episodes=jnp.int32(0),
        reward_sum=jnp.zeros(n, jnp.float32),
        metrics={name: jnp.zeros(n, jnp.float32) for name in reported},
        cost_sum=None if costs_shape is None else jnp.zeros(costs_shape, jnp.float32),
        episode_cost_sum=None if costs_shape is None else jnp.zeros(costs_shape, jnp.float32),
    )

    def window(carry: Carry, xs: Array | tuple[Array, Array]) -> tuple[Carry, Record]:
        window_key = xs[0] if isinstance(xs, tuple) else xs
        key_u, key_k = jax.random.split(window_key)
        uniforms = jax.random.uniform(key_u, (log_every, width))  # one batched draw per window
        keys = jax.random.split(key_k, (log_every, max(n_keys, 1)))
        if adversary is None:
            (carry, acc), _ = jax.lax.scan(step, (carry, empty), (uniforms, keys))
        else:  # the step index t of every step, shared by all seeds
            assert isinstance(xs, tuple)
            clock = xs[1] * log_every + jnp.arange(log_every, dtype=jnp.int32)
            (carry, acc), _ = jax.lax.scan(step, (carry, empty), (uniforms, keys, clock))
        episodes = acc.episodes.astype(jnp.float32)
        record = Record(
            policy=_snapshot(env, groups, carry.learners),
            average_policy=_snapshot(env, groups, carry.learners, average=True),
            counts=carry.counts,
            episode_return=jnp.where(acc.episodes > 0, acc.return_sum / jnp.maximum(episodes, 1.0), jnp.nan),
            episode_count=acc.episodes,
            reward_mean=acc.reward_sum / log_every,
            metrics={name: jnp.where(mask, acc.metrics[name] / log_every, jnp.nan) for name, mask in reported.items()},
        )
        if acc.cost_sum is not None:
            assert acc.episode_cost_sum is not None
            episode_cost = jnp.where(acc.episodes > 0, acc.episode_cost_sum / jnp.maximum(episodes, 1.0), jnp.nan)
            arrays = (acc.cost_sum / log_every, episode_cost, _multipliers(groups, members, carry, acc.cost_sum.shape))
            record.metrics.update(constraint_metrics(dict(zip(CONSTRAINT_ARRAYS, arrays, strict=True))))
        return carry, record

    if adversary is None:
        return jax.lax.scan(window, carry, window_keys)
    windows = jnp.asarray(first_window, jnp.int32) + jnp.arange(window_keys.shape[0], dtype=jnp.int32)
    return jax.lax.scan(window, carry, (window_keys, windows))


def _frozen_or_updated(learn: Array, learner: Any, state: Any, batch: Transition) -> tuple[Any, dict[str, Array]]:
    """``learner.update(state, batch)`` if ``learn`` else ``(state, zero metrics)``, as a ``lax.cond`` (a real
    branch when ``learn`` is the same for every seed)."""
    shapes = jax.eval_shape(learner.update, state, batch)[1]
    zeros = {name: jnp.zeros(x.shape, x.dtype) for name, x in shapes.items()}
    return jax.lax.cond(learn, lambda: learner.update(state, batch), lambda: (state, zeros))


def _multipliers(groups: tuple[Group, ...], members: list[np.ndarray], carry: Carry, shape: tuple[int, ...]) -> Array:
    """λ ``[n, m]`` of the learners with a ``multipliers(state) -> [k, m]`` method; NaN for the other agents."""
    out = jnp.full(shape, jnp.nan, dtype=jnp.float32)
    for i, (g, state) in enumerate(zip(groups, carry.learners, strict=True)):
        method = getattr(g.learner, "multipliers", None)
        if method is not None:
            out = out.at[members[i]].set(method(state).astype(jnp.float32))
    return out


def _reported_metrics(
    groups: tuple[Group, ...], members: list[np.ndarray], carry: Carry, env: GameEnv, needs_policies: bool
) -> dict[str, np.ndarray]:
    """Which agents report which metric (static): traced abstractly from each learner's ``update``."""
    n, a_max, m = env.spec.n_agents, env.spec.max_actions, env.spec.num_constraints
    policies = jnp.zeros((n, env.num_states, a_max), jnp.float32) if needs_policies else None
    costs = None if carry.episode_cost is None else jnp.zeros((n, m), jnp.float32)
    reported: dict[str, np.ndarray] = {}
    for i, (g, state) in enumerate(zip(groups, carry.learners, strict=True)):
        k = len(g.agents)
        batch = Transition(
            obs=jnp.zeros(k, jnp.int32),
            actions=jnp.zeros(k, jnp.int32),
            rewards=jnp.zeros(k, jnp.float32),
            next_obs=jnp.zeros(k, jnp.int32),
            terminated=jnp.bool_(False),
            truncated=jnp.bool_(False),
            legal=jnp.zeros((k, a_max), bool),
            next_legal=jnp.zeros((k, a_max), bool),
            joint_actions=jnp.zeros(n, jnp.int32),
            joint_rewards=jnp.zeros(n, jnp.float32),
            policies=policies,
            costs=None if costs is None else costs[: len(g.agents)],
            joint_costs=costs,
        )
        _, metrics = jax.eval_shape(g.learner.update, state, batch)
        for name, shape in metrics.items():
            if name.startswith(CONSTRAINT_PREFIX):
                raise LearnerConfigError(
                    f"{type(g.learner).__name__}.update: metric {name!r} clashes with the loop's constraint records "
                    f"({CONSTRAINT_PREFIX}...); rename it"
                )
            if shape.shape != (k,):
                raise LearnerConfigError(
                    f"{type(g.learner).__name__}.update: metric {name!r} has shape {shape.shape}, expected ({k},) "
                    "(one value per controlled agent)"
                )
            mask = reported.setdefault(name, np.zeros(n, dtype=bool))
            mask[members[i]] = True
    return reported


def _start_seeds(
    env: GameEnv,
    keys: Array,
    constraints: Constraints | None,
    data: LearnerData,
    groups: tuple[Group, ...],
    num_logs: int,
    adversary: StateAdversary | None = None,
) -> TrainState:
    """Every seed's initial state, ``keys [N]`` -> leaves ``[N, ...]``."""
    return jax.vmap(lambda key: _start_one(env, key, groups, num_logs, constraints, data, adversary))(keys)


def _advance_seeds(
    env: GameEnv,
    state: TrainState,
    first_window: Array,
    groups: tuple[Group, ...],
    log_every: int,
    num_windows: int,
    chunk: int,
    adversary: StateAdversary | None = None,
) -> tuple[TrainState, Record]:
    """Windows ``first_window .. first_window + num_windows - 1`` of every seed: vmapped in chunks of ``chunk``
    seeds, the chunks one after another (``lax.map``); the seeds are padded to whole chunks with copies of the
    last seed, whose results are dropped."""
    n = state.window_keys.shape[0]
    padded = -(-n // chunk) * chunk
    keys = jax.lax.dynamic_slice_in_dim(state.window_keys, first_window, num_windows, axis=1)

    def to_chunks(x: Array) -> Array:
        if padded > n:
            x = jnp.concatenate([x, jnp.repeat(x[-1:], padded - n, axis=0)])
        return x.reshape(padded // chunk, chunk, *x.shape[1:])

    def from_chunks(x: Array) -> Array:
        return x.reshape(padded, *x.shape[2:])[:n]

    run = jax.vmap(lambda carry, keys: _run_windows(env, carry, keys, groups, log_every, adversary, first_window))
    carry, records = jax.lax.map(lambda xs: run(*xs), jax.tree_util.tree_map(to_chunks, (state.carry, keys)))
    carry, records = jax.tree_util.tree_map(from_chunks, (carry, records))
    return state._replace(carry=carry), records


def _run_seeds(
    env: GameEnv,
    keys: Array,
    constraints: Constraints | None,
    data: LearnerData,
    groups: tuple[Group, ...],
    num_logs: int,
    log_every: int,
    chunk: int,
    adversary: StateAdversary | None = None,
) -> Record:
    """Every window of every seed in one program (:func:`train`): the computation of :func:`_start_seeds` and
    then :func:`_advance_seeds` over all windows, with two differences that change only the speed:

    * each chunk initialises its own seeds, so the state lives inside the chunk's loop (measured: 7-10% less
      time per step for IQL and WoLF-PHC on a 3x3 game than streaming it in from a ``start`` state);
    * the final state is not returned, so XLA drops the state no record reads (e.g. IQL's visit counts under a
      constant step size; about a third of IQL's time per step).

    ``optimization_barrier`` keeps XLA from folding the initial values into the loop as constants: folding
    changed float results in the last bit (measured: IQL with a 0.9 discount), and a resumed run must equal this.
    """
    n = keys.shape[0]
    padded = -(-n // chunk) * chunk
    if padded > n:
        keys = jnp.concatenate([keys, jnp.repeat(keys[-1:], padded - n)])

    def one(key: Array) -> Record:
        state = jax.lax.optimization_barrier(_start_one(env, key, groups, num_logs, constraints, data, adversary))
        return _run_windows(env, state.carry, state.window_keys, groups, log_every, adversary)[1]

    records = jax.lax.map(jax.vmap(one), keys.reshape(-1, chunk))
    return jax.tree_util.tree_map(lambda x: x.reshape(padded, *x.shape[2:])[:n], records)


# Compiled once per distinct static part (the groups — learners are frozen dataclasses compared by value — the
# window layout, and the env's spec); the env's tables and the keys are traced inputs, so no cache is needed.
_start = jax.jit(_start_seeds, static_argnames=("groups", "num_logs", "adversary"))
_advance = jax.jit(_advance_seeds, static_argnames=("groups", "log_every", "num_windows", "chunk", "adversary"))
_run = jax.jit(_run_seeds, static_argnames=("groups", "num_logs", "log_every", "chunk", "adversary"))

CHUNK_BYTES = 256 * 1024
"""Target size of one chunk's per-step working set (learner states + counts): about an L2 cache. Measured on
this 2-core CPU (IQL, 3x3 game, 1,000 seeds): chunks of 1,000 / 250 / 100 / 50 seeds cost 177 / 89 / 103 / 133
CPU-ns per seed-step — one vmap over all seeds streams every table through memory at each step."""


def _chunk_size(
    env: GameEnv,
    groups: tuple[Group, ...],
    n_seeds: int,
    constraints: Constraints | None,
    adversary: StateAdversary | None = None,
) -> int:
    """Seeds per vmapped chunk: as many as fit :data:`CHUNK_BYTES`, between 8 and 256."""
    per_seed = 4 * env.num_states * env.num_joint_actions  # counts
    if adversary is not None:
        per_seed += 9 * adversary.legal.size  # its Q-table, visit counts and mask
    for g in groups:
        shapes = jax.eval_shape(lambda g=g: g.learner.init(jax.random.key(0), _group_spec(env, g, constraints)))
        per_seed += sum(x.size * x.dtype.itemsize for x in jax.tree_util.tree_leaves(shapes))
    target = int(np.clip(CHUNK_BYTES // max(per_seed, 1), 8, 256))
    chunks = -(-n_seeds // target)
    return -(-n_seeds // chunks)  # equal chunks: 1,000 seeds -> 4 x 250, little padding in general


# ----------------------------------------------------------------------------------------------- public


@dataclass(frozen=True, eq=False)
class TrainPlan:
    """Everything static about a training run, checked at the edge (build it with :func:`prepare`); the tabular
    loop's :class:`~marlkit.train.protocol.Plan`.

    The compiled programs take the env (a pytree: its tables are traced inputs, its spec static), the keys and the
    static part (groups of frozen learners, window layout) compared by value: a second plan of the same shapes
    reuses them, with no cache of plans.

    Attributes:
        env: the compiled simulator of the game (a normal-form game is its one-state repeated game).
        keys: the per-seed PRNG keys ``[N]``; seed ``seeds[i]`` runs with key ``fold_in(key, seeds[i])``.
        seeds: the seed indices ``[N]``.
        groups: the learners and the agents each controls.
        steps: environment steps per seed.
        log_every: steps per logging window (``num_logs = steps // log_every`` windows).
        chunk: seeds vmapped together (results do not depend on it).
        game_name: the game's name (recorded in the History's ``meta``).
        key_seed: the key as the caller gave it when it was an integer (recorded in ``meta``), else None.
        constraints: a constrained game's limits and initial distribution (traced inputs), else None.
        adversary: the learned state adversary the learners train against (:mod:`marlkit.train.adversary`;
            recorded in ``meta["adversary"]``), else None — the program is then the one without adversary.
        data: each group's learner arrays (traced inputs; None for learners without ``arrays``), so learners
            built with different games of one shape share one program; None: computed from the groups.
    """

    env: GameEnv
    keys: Array
    seeds: np.ndarray
    groups: tuple[Group, ...]
    steps: int
    log_every: int
    chunk: int
    game_name: str
    key_seed: int | None
    constraints: Constraints | None = None
    adversary: StateAdversary | None = None
    data: LearnerData | None = None

    @property
    def num_logs(self) -> int:
        """Logging windows of the whole run."""
        return self.steps // self.log_every

    @property
    def judged(self) -> bool:
        """The tabular loop records policy tables on every game: its runs are diagnosed."""
        return True

    @property
    def learner_data(self) -> LearnerData:
        """:attr:`data`, or the groups' learner arrays when it was not given."""
        return _learner_data(self.env, self.groups, self.constraints) if self.data is None else self.data

    def start(self) -> TrainState:
        """Every seed's state before its first step (compiled; a second plan with the same shapes reuses it)."""
        return _start(
            self.env,
            self.keys,
            self.constraints,
            self.learner_data,
            groups=self.groups,
            num_logs=self.num_logs,
            adversary=self.adversary,
        )

    def advance(self, state: TrainState, first_window: int, num_windows: int) -> tuple[TrainState, Record]:
        """Run windows ``first_window .. first_window + num_windows - 1`` of every seed from ``state``.

        Returns the new state and the windows' records (leaves ``[N, num_windows, ...]``). Concatenating the
        records of consecutive calls that cover ``0 .. num_logs - 1`` gives exactly (bit for bit) the records of
        one call over all windows: each window draws its randomness from its own key in ``state.window_keys``.
        Compiled once per distinct ``num_windows`` (``first_window`` is traced).
        """
        first_window, num_windows = check_windows(first_window, num_windows, self.num_logs)
        return _advance(
            self.env,
            state,
            jnp.int32(first_window),
            groups=self.groups,
            log_every=self.log_every,
            num_windows=num_windows,
            chunk=self.chunk,
            adversary=self.adversary,
        )

    def to_history(self, records: Record | Sequence[Record]) -> History:
        """The :class:`History` of the windows ``0 .. W-1`` from their records (one :class:`Record`, or the
        records of consecutive :meth:`advance` calls in order; leaves ``[N, W_k, ...]``, JAX or NumPy arrays)."""
        merged, num_windows = merge_records(records, len(self.seeds), self.num_logs)
        return _history(merged, self, num_windows)

    def run(self) -> History:
        """Every window of every seed in one compiled program (see :func:`_run_seeds`); the History equals, bit
        for bit, that of :meth:`start`, :meth:`advance` over all windows and :meth:`to_history`."""
        args, static = self._run_arguments()
        return self.to_history(_run(*args, **static))

    def lower(self) -> jax.stages.Lowered:
        """The program :meth:`run` compiles, lowered but not compiled: for inspection (``.as_text()``, the XLA
        compile time of ``.compile()``) and to see whether two plans share one program (equal text: one compile,
        or one entry of the persistent compilation cache, serves both)."""
        args, static = self._run_arguments()
        return _run.lower(*args, **static)

    def _run_arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arrays and the static arguments of :func:`_run` for this plan."""
        static = {
            "groups": self.groups,
            "num_logs": self.num_logs,
            "log_every": self.log_every,
            "chunk": self.chunk,
            "adversary": self.adversary,
        }
        return (self.env, self.keys, self.constraints, self.learner_data), static

    def needed_bytes(self) -> int:
        """Disk space a run directory takes at most: segments and history (both held at the end), the
        checkpoint and its replacement, and ``metrics.jsonl`` (about 60 bytes per number; 4 metrics assumed, and
        the three constraint records of a constrained game)."""
        env = self.env
        n, s, j = env.spec.n_agents, env.num_states, env.num_joint_actions
        m = 0 if self.constraints is None else env.spec.num_constraints
        per_window = 2 * 4 * n * s * env.spec.max_actions + 12 * s * j + 4 * (2 * n + 1) + 4 * (4 + 3 * m) * n
        records = len(self.seeds) * self.num_logs * per_window
        metrics = len(self.seeds) * self.num_logs * (120 + 60 * n * (6 + 3 * m))
        return 2 * records + 2 * state_bytes(jax.eval_shape(self.start)) + metrics

    def summary_fields(self, history: History) -> dict[str, Any]:
        """The tabular loop adds nothing to ``summary.json``."""
        return {}


class TrainState(NamedTuple):
    """Where every seed's run stands between windows (a pytree; leaves have a leading seed axis ``[N]``).

    ``carry`` is the state the compiled step loop threads through (env, learners, counts, running return);
    ``window_keys [N, num_logs]`` are the PRNG keys of every window of the run, drawn once by :func:`start`, so a
    window's randomness does not depend on where a run was split into :func:`advance` calls.
    """

    carry: Carry
    window_keys: Array


def prepare(
    game: NormalFormGame | StochasticGame,
    learners: LearnerAssignment,
    steps: int,
    seeds: int | Sequence[int] = 1,
    key: int | Array = 0,
    log_every: int | None = None,
    *,
    max_episode_steps: int | None = None,
    seed_chunk: int | None = None,
    adversary: StateAdversary | None = None,
) -> TrainPlan:
    """Check a run's inputs and build its :class:`TrainPlan` (arguments and errors as :func:`train`)."""
    g = as_stochastic(game)
    groups = assign(learners, g.n_players)
    steps = check_int("steps", steps, 1)
    log_every = default_log_every(steps) if log_every is None else check_int("log_every", log_every, 1)
    if steps % log_every:
        divisors = [d for d in range(max(1, log_every // 2), min(steps, 2 * log_every) + 1) if steps % d == 0]
        raise InvalidGameError(
            f"log_every={log_every} does not divide steps={steps}; choose steps a multiple of log_every or a "
            f"log_every that divides steps (nearby: {divisors[:6]})"
        )
    ids = seed_ids(seeds)
    keys = seed_keys(key, ids)
    for group in groups:
        check = getattr(group.learner, "check", None)
        if check is not None:
            check(g, group.agents)
    if adversary is not None:
        _check_adversary(adversary, g, groups)
    env = make_env(g, max_episode_steps)
    constraints = None
    if g.costs is not None and g.limits is not None:
        limits, initial = (np.asarray(x, np.float32) for x in (g.limits, g.initial))
        constraints = Constraints(jax.device_put(limits), jax.device_put(initial))
    chunk = (
        _chunk_size(env, groups, len(ids), constraints, adversary)
        if seed_chunk is None
        else check_int("seed_chunk", seed_chunk, 1)
    )
    key_seed = int(key) if isinstance(key, int | np.integer) else None
    data = _learner_data(env, groups, constraints)
    return TrainPlan(
        env, keys, ids, groups, steps, log_every, min(chunk, len(ids)), g.name, key_seed, constraints, adversary, data
    )


def _check_adversary(adversary: object, game: StochasticGame, groups: tuple[Group, ...]) -> None:
    """A :class:`StateAdversary` that fits the game, and no joint learner of several agents among its targets (a
    joint learner acts on one state for its whole group, but the adversary perturbs its members separately)."""
    if not isinstance(adversary, StateAdversary):
        raise LearnerConfigError(f"adversary: expected a StateAdversary (marlkit.train.adversary), got {adversary!r}")
    adversary.check(game)
    for group in groups:
        if group.learner.joint and len(group.agents) > 1 and set(group.agents) & set(adversary.uncertainty.attacked):
            raise NotApplicableError(
                f"adversary: {type(group.learner).__name__} is a joint learner of agents {list(group.agents)} and acts "
                f"on one state for all of them, but the adversary perturbs agent(s) "
                f"{sorted(set(group.agents) & set(adversary.uncertainty.attacked))} separately; use independent "
                "learners (one per agent)"
            )


def start(plan: TrainPlan) -> TrainState:
    """Every seed's state before its first step (:meth:`TrainPlan.start`)."""
    return plan.start()


def advance(plan: TrainPlan, state: TrainState, first_window: int, num_windows: int) -> tuple[TrainState, Record]:
    """Run windows ``first_window .. first_window + num_windows - 1`` of every seed (:meth:`TrainPlan.advance`)."""
    return plan.advance(state, first_window, num_windows)


def train(
    game: NormalFormGame | StochasticGame,
    learners: LearnerAssignment,
    steps: int,
    seeds: int | Sequence[int] = 1,
    key: int | Array = 0,
    log_every: int | None = None,
    *,
    max_episode_steps: int | None = None,
    seed_chunk: int | None = None,
    adversary: StateAdversary | None = None,
    progress: bool | Progress | None = None,
) -> History:
    """Train tabular learners on an exact game, compiled and vmapped over seeds; returns the :class:`History`.

    All windows run in one compiled program. A caller that wants to checkpoint (``marlkit.experiment``) runs
    :func:`prepare`, :func:`start` and several :func:`advance` calls instead and gets the same History, bit for
    bit, from :func:`to_history` (``tests/train/test_resume.py``).

    Args:
        game: a normal-form game (played repeatedly, ``gamma = 0``; use ``repeated_game`` for another discount)
            or a fully observable stochastic game.
        learners: one learner, one per agent, or ``(learner, agents)`` pairs (see the module docstring).
        steps: environment steps per seed.
        seeds: how many seeds (indices ``0..seeds-1``) or a list of seed indices; seed i uses
            ``fold_in(key, i)``.
        key: an integer or a JAX PRNG key.
        log_every: steps per logging window; must divide ``steps``. Default:
            :func:`~marlkit.train.protocol.default_log_every` (100 windows when 100 divides ``steps``).
        max_episode_steps: episode time limit (see :func:`marlkit.envs.make_env` for the default).
        seed_chunk: seeds vmapped together; chunks run one after another. Default: as many as keep one chunk's
            tables within :data:`CHUNK_BYTES` (results do not depend on it).
        adversary: a :class:`~marlkit.train.adversary.StateAdversary`: the learners act and update on the states
            it makes them perceive while it learns to minimise their reward (its module docstring). Default: none.
        progress: quiet by default; ``True`` draws a progress bar with the latest mean return on stderr, a
            callable ``(done, total, records)`` is called after each of ~20 chunks of windows
            (:func:`marlkit.train.protocol.run_with_progress`; the History is the same either way).

    Raises:
        InvalidGameError: bad game, steps, seeds, key or log_every.
        LearnerConfigError: a malformed learner assignment.
        NotApplicableError: a learner that cannot run on this game (e.g. CQL with ``team_reward="common"`` on a
            game whose agents' rewards differ).
    """
    plan = prepare(
        game,
        learners,
        steps,
        seeds,
        key,
        log_every,
        max_episode_steps=max_episode_steps,
        seed_chunk=seed_chunk,
        adversary=adversary,
    )
    if not progress:
        return plan.run()
    _, records = run_with_progress(plan, progress)
    return plan.to_history(records)


def to_history(plan: TrainPlan, records: Record | Sequence[Record]) -> History:
    """The :class:`History` of the windows ``0 .. W-1`` from their records (:meth:`TrainPlan.to_history`)."""
    return plan.to_history(records)


def _history(records: Record, plan: TrainPlan, num_windows: int) -> History:
    env, spec, groups = plan.env, plan.env.spec, plan.groups
    counts = np.asarray(records.counts, dtype=np.int64)
    per_agent = [""] * spec.n_agents
    for group in groups:
        for a in group.agents:
            per_agent[a] = repr(group.learner)
    has_average = np.zeros(spec.n_agents, dtype=bool)
    for group in groups:
        has_average[list(group.agents)] = hasattr(group.learner, "average_policy")
    num_constraints = 0 if plan.constraints is None else int(plan.constraints.limits.shape[1])
    metrics, constrained = split_constraint_metrics(
        {name: np.asarray(value) for name, value in records.metrics.items()}, num_constraints
    )
    meta = {
        "game": plan.game_name,
        "n_agents": spec.n_agents,
        "num_states": env.num_states,
        "num_actions": list(spec.num_actions),
        "gamma": env.gamma,
        "max_episode_steps": None if spec.max_episode_steps == NO_TIME_LIMIT else spec.max_episode_steps,
        "log_every": plan.log_every,
        "steps": plan.steps,
        "learners": per_agent,
        "groups": [list(g.agents) for g in groups],
        "key": plan.key_seed,
    }
    if plan.adversary is not None:
        meta["adversary"] = plan.adversary.describe()
    if plan.constraints is not None:
        meta["limits"] = np.asarray(plan.constraints.limits, dtype=np.float64).tolist()
    return History(
        steps=np.arange(1, num_windows + 1, dtype=np.int64) * plan.log_every,
        seeds=plan.seeds.astype(np.int64),
        policy=np.asarray(records.policy),
        average_policy=np.asarray(records.average_policy),
        has_average_policy=has_average,
        joint_counts=counts.reshape(*counts.shape[:3], *spec.num_actions),
        episode_return=np.asarray(records.episode_return),
        episode_count=np.asarray(records.episode_count),
        reward_mean=np.asarray(records.reward_mean),
        metrics=metrics,
        meta=meta,
        **constrained,
    )


__all__ = [
    "Constraints",
    "Group",
    "Record",
    "TrainPlan",
    "TrainState",
    "advance",
    "assign",
    "prepare",
    "start",
    "to_history",
    "train",
]
