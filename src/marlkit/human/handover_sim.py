"""Hand-over of control between a human model and a trained AI, by simulation on deep tasks (issue 21, item 5).

The exact counterpart on tabular tasks is :mod:`marlkit.human.handover`; this module keeps its semantics. In each
**controlled seat** (the agents a person drives) the human model proposes an action and the trained AI either
takes over or leaves it, as a rule decides from the observation; the other seats are the AI's alone. A rule
gives each controlled seat an *unsureness* score ``u(o)`` and a cutoff ``c``; the AI acts iff ``u(o) <= c`` (the
*takeover*), the human otherwise:

* ``novelty`` (hand-over in unforeseen circumstances; tabular: the AI drives where it saw the state at least k
  times): ``u`` is an out-of-distribution score of the seat's observation (:mod:`marlkit.human.ood`:
  Mahalanobis with Ledoit-Wolf shrinkage, Lee et al. 2018; k-nearest-neighbour distance, Sun et al. 2022) fitted
  on the observations of the AI's own rollouts on the training task, or the disagreement of the run's seeds'
  policies (deep ensembles, Lakshminarayanan et al. 2017); the AI drives on familiar observations and hands
  control to the human on novel ones.
* ``defer`` (deferral when unsure; tabular: the AI drives unless its action-value gap is below δ): ``u(o) = 1 -
  (π_(1)(o) - π_(2)(o))``, one minus the AI policy's margin between its most and second most probable actions
  (deferral to the human where the AI's policy is nearly indifferent; cf. Madras et al. 2018, "Predict
  responsibly: improving fairness and accuracy by learning to defer", NeurIPS).

**Thresholds are calibrated levels** ``q in [0, 1]``: the cutoff of seat i is the empirical q-quantile of the
unsureness of held-out in-distribution observations of seat i (:func:`marlkit.human.ood.calibrated_cutoffs`), so on
observations like those of training the AI keeps at least a fraction q of the decisions; ``q = 0`` is the human
alone (cutoff -inf), ``q = 1`` the AI alone (+inf). The takeover indicator ``1[u(o) <= c]`` is non-decreasing in
c, and the cutoffs are non-decreasing in q, so at every observation the AI acts at a level q' >= q whenever it
acts at q (an exact property of the rule; the rates of whole rollouts differ only through the states visited).

**Fitting and calibration** (per training seed): ``fit_episodes`` (default: ``episodes``) episodes of the AI alone on
the training task
(keys from ``seed`` folded with :data:`FIT_SALT`, never the evaluation's): the first half of the episodes fits the
detector, the second half calibrates the cutoffs.

**Simulation**: one compiled program (``jax.jit``; ``lax.scan`` over the env's ``max_episode_steps``; ``vmap``
over the episodes, the thresholds and the training seeds; the cutoffs are arrays, so one program serves every
threshold). The keys are :func:`marlkit.train.evaluate.episode_keys` of the evaluation seed, exactly as in
:func:`marlkit.train.evaluate.evaluate`; at each step the AI and the human sample with the same key (as the
members of a :class:`marlkit.policies.actors.Team`), so the human-alone and AI-alone points are bit for bit the
evaluations of the human line-up and of the AI (``tests/human/test_handover_sim.py``), and every threshold sees
the same episodes (common random numbers).

**Metrics** per episode: the team return (undiscounted, averaged over the agents, as
:mod:`marlkit.policies.evaluate`); the takeover rate (AI-chosen decisions / decisions of the controlled seats);
catastrophes (steps ending in one, where the task defines one: on ``simple_spread`` a collision, two agents closer
than the sum of their radii, 0.3, after the step — the event the reward's collision term penalises; on a task
with constraints a step with a positive cost). Statistics over the seeds' episodes: mean and IQM with the two-stage
bootstrap interval of :func:`marlkit.diagnose.seeds.cell_statistics`. **Unforeseen circumstances**:
the same policies, detector and cutoffs on a **shifted** task (the training task's parameters changed, e.g.
``spawn_range=2``); the detector's firing rate (1 - takeover rate in the controlled seats) in-distribution and
shifted, and the AUROC of its score on the AI-alone rollouts of the two tasks (:func:`marlkit.human.ood.auroc`).

**Human models** (:data:`HUMANS`): ``tempered?beta=B&epsilon=E`` — Boltzmann-rational over the AI policy's
log-probabilities, ``π_H ∝ π_AI^β`` (β = 1 the AI itself, β = 0 uniform), mixed with ε of uniform play over the
legal actions (the ε-noisy model of :mod:`marlkit.human.models`); ``nearest-landmark?beta=B&damping=K``
(``simple_spread`` only) — a scripted person who heads for the nearest landmark: Boltzmann (β) over the five moves'
alignment ``m_a · g / |g|`` with ``g = (landmark - position) - K · velocity`` (a damped pursuit), ignoring the
teammates (so people collide).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.deep.base import Observation
from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec
from marlkit.errors import InvalidGameError, MarlkitError, NotApplicableError
from marlkit.human.ood import (
    DETECTORS,
    EnsembleDisagreement,
    Mahalanobis,
    auroc,
    calibrated_cutoffs,
    check_levels,
    ensemble,
)
from marlkit.policies.actors import StatelessActor, legal_uniform
from marlkit.registry import Registry
from marlkit.train.evaluate import EpisodeKeys, episode_keys, greedy_actions
from marlkit.train.inputs import base_key

Array = jax.Array
RULES = ("novelty", "defer")
"""The simulated hand-over rules (module docstring)."""
FIT_SALT = 0xF17
"""Folded into the seed for the fitting rollouts, so they never reuse the evaluation's keys."""
MOVES = ((0.0, 0.0), (-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0))
"""MPE's discrete moves: no-op, -x, +x, -y, +y."""


# -------------------------------------------------------------------------------------------- human models
@dataclass(frozen=True)
class TemperedHuman(StatelessActor):
    """``π_H ∝ π_AI^β`` mixed with ε uniform over the legal actions; its state is the AI's parameters."""

    base: Any
    beta: float = 1.0
    epsilon: float = 0.3

    def policy(self, state: Any, observation: Observation, memory: Any) -> Array:
        p = self.base.policy(state, observation, memory)
        support = observation.action_mask & (p > 0)
        logits = jnp.where(support, self.beta * jnp.log(jnp.where(support, p, 1.0)), -jnp.inf)
        tempered = jax.nn.softmax(logits, axis=-1)
        return (1.0 - self.epsilon) * tempered + self.epsilon * legal_uniform(observation.action_mask)


@dataclass(frozen=True)
class NearestLandmarkHuman(StatelessActor):
    """The scripted simple-spread person of the module docstring (its state is ``()``)."""

    n_landmarks: int
    beta: float = 4.0
    damping: float = 0.5

    def policy(self, state: Any, observation: Observation, memory: Any) -> Array:
        o = observation.obs
        vel = o[..., 0:2]
        marks = o[..., 4 : 4 + 2 * self.n_landmarks].reshape(*o.shape[:-1], self.n_landmarks, 2)
        nearest = jnp.argmin(jnp.sum(jnp.square(marks), axis=-1), axis=-1)
        goal = jnp.take_along_axis(marks, nearest[..., None, None], axis=-2)[..., 0, :] - self.damping * vel
        unit = goal / jnp.maximum(jnp.linalg.norm(goal, axis=-1, keepdims=True), 1e-6)
        utility = unit @ jnp.asarray(MOVES, jnp.float32).T  # [..., 5]
        mask = observation.action_mask
        return jax.nn.softmax(jnp.where(mask, self.beta * utility, -jnp.inf), axis=-1)


def _check_beta_epsilon(beta: object, epsilon: object = 0.0) -> tuple[float, float]:
    if isinstance(beta, bool) or not (isinstance(beta, int | float) and 0 <= beta < math.inf):
        raise InvalidGameError(f"human model: beta must be a finite number >= 0, got {beta!r}")
    if isinstance(epsilon, bool) or not (isinstance(epsilon, int | float) and 0 <= epsilon <= 1):
        raise InvalidGameError(f"human model: epsilon must be in [0, 1], got {epsilon!r}")
    return float(beta), float(epsilon)


def tempered(*, base: Any, spec: MultiAgentSpec, beta: float = 1.0, epsilon: float = 0.3) -> TemperedHuman:
    """The ``tempered`` human model on the AI's actor ``base`` (module docstring)."""
    b, e = _check_beta_epsilon(beta, epsilon)
    return TemperedHuman(base, b, e)


def nearest_landmark(
    *, base: Any, spec: MultiAgentSpec, beta: float = 4.0, damping: float = 0.5
) -> NearestLandmarkHuman:
    """The ``nearest-landmark`` human model of ``simple_spread`` (module docstring)."""
    b, _ = _check_beta_epsilon(beta)
    if isinstance(damping, bool) or not (isinstance(damping, int | float) and 0 <= damping < math.inf):
        raise InvalidGameError(f"nearest-landmark: damping must be a finite number >= 0, got {damping!r}")
    if spec.name != "simple_spread":
        raise NotApplicableError(f"human model nearest-landmark plays simple_spread only, not {spec.name}")
    landmarks = (spec.obs_shape[0] - 4 - 4 * (spec.n_agents - 1)) // 2
    return NearestLandmarkHuman(landmarks, b, float(damping))


HUMANS: Registry[Any] = Registry("task human model", param_error=InvalidGameError, hint="Write e.g. tempered?beta=1.")
"""Human models of a deep task's seats (module docstring): ``HUMANS.make(name, base=actor, spec=spec, **params)``."""
HUMANS.add("tempered", tempered, description="π_AI^β mixed with ε uniform (defaults β=1, ε=0.3)")
HUMANS.add(
    "nearest-landmark",
    nearest_landmark,
    description="simple_spread: Boltzmann (β=4) pursuit of the nearest landmark, ignoring teammates",
)


def make_human(text: str, base: Any, spec: MultiAgentSpec) -> Any:
    """A human model from ``NAME?key=value&...`` for an AI actor ``base`` on an env of ``spec``."""
    from marlkit.human.models import parse_spec

    name, params = parse_spec(text, f"human model {text!r}", "tempered?beta=1&epsilon=0.3")
    if {"base", "spec"} & set(params):
        raise InvalidGameError(f"human model {text!r}: base and spec are not parameters")
    return HUMANS.make(name, base=base, spec=spec, **params)


# ------------------------------------------------------------------------------------------- catastrophes
@dataclass(frozen=True)
class SpreadCollision:
    """simple_spread: a step ending with two agents closer than ``distance`` (read from ``info["final_obs"]``'s
    other-agent offsets)."""

    n_agents: int
    n_landmarks: int
    distance: float

    def __call__(self, info: Mapping[str, Array]) -> Array:
        start = 4 + 2 * self.n_landmarks
        o = info["final_obs"][..., start : start + 2 * (self.n_agents - 1)]
        rel = o.reshape(*o.shape[:-1], self.n_agents - 1, 2)
        return jnp.any(jnp.sum(jnp.square(rel), axis=-1) < self.distance**2, axis=(-1, -2))


@dataclass(frozen=True)
class PositiveCost:
    """A constrained task: a step with a positive cost of any agent."""

    def __call__(self, info: Mapping[str, Array]) -> Array:
        return jnp.any(info["cost"] > 0, axis=(-1, -2))


def catastrophe_of(env: MultiAgentEnv) -> SpreadCollision | PositiveCost | None:
    """The catastrophe a task defines (module docstring), or None."""
    spec = env.spec
    if spec.num_constraints:
        return PositiveCost()
    if spec.name == "simple_spread" and spec.n_agents >= 2:
        from marlkit.envs.mpe.simple_spread import AGENT_SIZE

        landmarks = (spec.obs_shape[0] - 4 - 4 * (spec.n_agents - 1)) // 2
        return SpreadCollision(spec.n_agents, landmarks, 2 * AGENT_SIZE)
    return None


# -------------------------------------------------------------------------------------------- the mechanism
class SharedState(NamedTuple):
    """The arrays of a shared-control actor: the AI's and the human's parameters, the detector (None for
    ``defer``) and the cutoffs ``[n]`` (ignored in uncontrolled seats)."""

    ai: Any
    human: Any
    detector: Any
    cutoff: Array


def policy_margin(probs: Array) -> Array:
    """``π_(1) - π_(2)``: the most minus the second most probable action's probability, ``[..., A] -> [...]``."""
    top2 = jax.lax.top_k(probs, 2)[0]
    return top2[..., 0] - top2[..., 1]


@dataclass(frozen=True)
class SharedControlActor:
    """The shared-control mechanism as an actor (module docstring): ``act`` returns the executed actions and, as
    its aux, ``(takeover [E, n] bool, unsureness [E, n])``. ``controlled[i]``: seat i is a person's."""

    ai: Any
    human: Any
    rule: str
    controlled: tuple[bool, ...]
    mode: str = "stochastic"
    rollout_length: int = 1

    def initial_memory(self, spec: MultiAgentSpec, num_envs: int) -> Any:
        return ()

    def unsureness(self, state: SharedState, observation: Observation, ai_probs: Array) -> Array:
        """``u(o) [E, n]`` of the rule."""
        if self.rule == "novelty":
            if isinstance(state.detector, EnsembleDisagreement):
                return state.detector.score_with(self.ai, observation)
            return state.detector.score(observation.obs)
        return 1.0 - policy_margin(ai_probs)

    def decide(self, key: Array, state: SharedState, observation: Observation) -> tuple[Array, Array, Array, Array]:
        """``(ai_actions, human_actions, takeover, unsureness)`` at one step; both sample with ``key``."""
        ai_probs = self.ai.policy(state.ai, observation, ())
        if self.mode == "stochastic":
            ai_actions = self.ai.act(key, state.ai, observation, ())[0]
        else:
            ai_actions = greedy_actions(ai_probs, observation.action_mask)
        human_actions = self.human.act(key, state.human, observation, ())[0]
        u = self.unsureness(state, observation, ai_probs)
        takeover = (u <= state.cutoff) | ~jnp.asarray(self.controlled)
        return ai_actions, human_actions, takeover, u

    def act(self, key: Array, state: SharedState, observation: Observation, memory: Any) -> tuple[Array, Any, Any]:
        ai_actions, human_actions, takeover, u = self.decide(key, state, observation)
        return jnp.where(takeover, ai_actions, human_actions), (takeover, u), ()

    def policy(self, state: SharedState, observation: Observation, memory: Any) -> Array:
        """The executed distribution: the AI's where it takes over, the human's elsewhere."""
        ai_probs = self.ai.policy(state.ai, observation, ())
        if self.mode == "greedy":
            ai_probs = jax.nn.one_hot(greedy_actions(ai_probs, observation.action_mask), ai_probs.shape[-1])
        human_probs = self.human.policy(state.human, observation, ())
        u = self.unsureness(state, observation, ai_probs)
        takeover = (u <= state.cutoff) | ~jnp.asarray(self.controlled)
        return jnp.where(takeover[..., None], ai_probs, human_probs)


# ------------------------------------------------------------------------------------------------ rollout
class Episodes(NamedTuple):
    """One simulation's records: per episode ``returns [E, n]``, ``takeovers [E]`` and ``decisions [E]`` (in the
    controlled seats), ``catastrophes [E]``; per step ``unsureness [T, E, n]``, ``alive [T, E]``, ``obs [T, E, n,
    D]`` (the observation each decision was taken at)."""

    returns: Any
    takeovers: Any
    decisions: Any
    catastrophes: Any
    unsureness: Any
    alive: Any
    obs: Any


def _episodes(env: MultiAgentEnv, actor: SharedControlActor, catastrophe: Any, state: SharedState, keys: EpisodeKeys):
    """The rollout of :func:`marlkit.train.evaluate.evaluate` (same keys, same order of operations) recording the
    hand-over (traced)."""
    spec = env.spec
    episodes = keys.reset.shape[0]
    obs, env_state = jax.vmap(env.reset)(keys.reset)
    info = jax.vmap(env.state_info)(env_state)
    observation = Observation(obs, info["action_mask"], info["global_state"], jnp.ones(episodes, bool))
    controlled = jnp.asarray(actor.controlled)

    def step(carry: tuple, k: tuple[Array, Array]) -> tuple[tuple, tuple]:
        env_state, observation, total, took, decisions, bad, alive = carry
        k_act, k_env = k
        actions, (takeover, u), _ = actor.act(k_act, state, observation, ())
        obs, env_state, reward, done, info = jax.vmap(env.step)(k_env, env_state, actions)
        total = total + jnp.where(alive[:, None], reward, 0.0)
        live = alive[:, None] & controlled
        took = took + jnp.sum(live & takeover, axis=-1)
        decisions = decisions + jnp.sum(live, axis=-1)
        if catastrophe is not None:
            bad = bad + jnp.where(alive, catastrophe(info), False)
        record = (u, alive, observation.obs)
        alive = alive & ~done
        observation = Observation(obs, info["action_mask"], info["global_state"], done)
        return (env_state, observation, total, took, decisions, bad, alive), record

    zeros = jnp.zeros(episodes, jnp.int32)
    carry = (
        env_state,
        observation,
        jnp.zeros((episodes, spec.n_agents), jnp.float32),
        zeros,
        zeros,
        zeros,
        jnp.ones(episodes, bool),
    )
    (_, _, total, took, decisions, bad, _), (u, alive, seen) = jax.lax.scan(step, carry, (keys.act, keys.env))
    return Episodes(total, took, decisions, bad, u, alive, seen)


@partial(jax.jit, static_argnums=(0, 1, 2))
def simulate(
    env: MultiAgentEnv, actor: SharedControlActor, catastrophe: Any, state: SharedState, keys: EpisodeKeys
) -> Episodes:
    """Every training seed (leading axis ``N`` of ``state``) at every threshold (``state.cutoff [N, K, n]``) on the
    same episodes: records ``[N, K, ...]`` (:class:`Episodes`). One program per env, actor and detector shape."""

    def one_seed(s: SharedState) -> Episodes:
        return jax.vmap(lambda c: _episodes(env, actor, catastrophe, s._replace(cutoff=c), keys))(s.cutoff)

    return jax.vmap(one_seed)(state)


@jax.jit
def _scores(detector: Any, obs: Array) -> Array:
    return jax.vmap(lambda d, o: d.score(o))(detector, obs)


# ------------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class SimulatedPoint:
    """One threshold level (or a reference: ``level`` None with ``label`` "human alone" / "AI alone") on the
    training task and on the shifted task: statistics of the team return, the takeover rate and catastrophes."""

    label: str
    level: float | None
    cutoffs: list[list[float | None]]
    trained: dict[str, Any]
    shifted: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "level": self.level,
            "cutoffs": self.cutoffs,
            "trained": self.trained,
            "shifted": self.shifted,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SimulatedPoint:
        """The point of :meth:`to_json`'s dict (a saved ``handover.json``)."""
        level = data["level"]
        return cls(
            label=str(data["label"]),
            level=None if level is None else float(level),
            cutoffs=[list(row) for row in data["cutoffs"]],
            trained=dict(data["trained"]),
            shifted=None if data["shifted"] is None else dict(data["shifted"]),
        )


@dataclass(frozen=True)
class HandoverSimulation:
    """The simulated trade-off curve of a hand-over rule (module docstring); ``records`` holds the raw per-episode
    arrays ``{"trained"|"shifted": {"returns" [N, K+2, E, n], "takeover_rate" [N, K+2, E], "catastrophes" [N, K+2,
    E], "unsureness" [N, K+2, T, E, n], "alive" [N, K+2, T, E], "obs" [N, K+2, T, E, n, D]}}`` (points in order:
    human alone, the levels, AI alone), the ``actor`` and its ``state`` (every seed's parameters, fitted detector and
    cutoffs ``[N, K+2, n]``); none of them in the JSON."""

    task: str
    source: str
    rule: str
    detector: str | None
    human: str
    agents: tuple[str, ...]
    seeds: int
    episodes: int
    fit_episodes: int
    shift: dict[str, Any]
    catastrophe: str | None
    points: tuple[SimulatedPoint, ...]
    auroc: list[float] | None
    records: Mapping[str, Mapping[str, np.ndarray]] = field(repr=False, compare=False, default_factory=dict)
    actor: SharedControlActor | None = field(repr=False, compare=False, default=None)
    state: SharedState | None = field(repr=False, compare=False, default=None)

    @property
    def auroc_mean(self) -> float | None:
        return None if self.auroc is None else float(np.mean(self.auroc))

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "source": self.source,
            "rule": self.rule,
            "detector": self.detector,
            "human": self.human,
            "agents": list(self.agents),
            "seeds": self.seeds,
            "episodes": self.episodes,
            "fit_episodes": self.fit_episodes,
            "shift": dict(self.shift),
            "catastrophe": self.catastrophe,
            "auroc": self.auroc,
            "auroc_mean": self.auroc_mean,
            "points": [p.to_json() for p in self.points],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HandoverSimulation:
        """The curve of :meth:`to_json`'s dict (a saved ``handover.json``: the run page's hand-over section);
        without the raw records, the actor and its state."""
        auroc, detector, catastrophe = data["auroc"], data["detector"], data["catastrophe"]
        return cls(
            task=str(data["task"]),
            source=str(data["source"]),
            rule=str(data["rule"]),
            detector=None if detector is None else str(detector),
            human=str(data["human"]),
            agents=tuple(str(a) for a in data["agents"]),
            seeds=int(data["seeds"]),
            episodes=int(data["episodes"]),
            fit_episodes=int(data["fit_episodes"]),
            shift=dict(data["shift"]),
            catastrophe=None if catastrophe is None else str(catastrophe),
            points=tuple(SimulatedPoint.from_json(p) for p in data["points"]),
            auroc=None if auroc is None else [float(a) for a in auroc],
        )

    def lines(self) -> list[str]:
        rule = f"{self.rule} rule" + (f" ({self.detector} detector)" if self.detector else "")
        shift = ", ".join(f"{k}={v}" for k, v in self.shift.items()) or "none"
        out = [
            f"{self.task}: {rule}, simulated; {self.seeds} seeds x {self.episodes} episodes",
            f"  source: {self.source}",
            f"  human: {self.human} in {', '.join(self.agents)}; shifted task: {shift}",
            "  level q: the AI keeps about q of in-distribution decisions (q of the AI-alone rollouts' held-out "
            "scores are at most the cutoff); return: team return, mean [95% CI]",
            f"  catas.: {self.catastrophe or 'not defined for this task'} per episode",
            "  takeov: AI-chosen decisions / decisions of the controlled seats",
        ]
        if self.auroc is not None:
            seeds = ", ".join(f"{a:.3f}" for a in self.auroc)
            out.append(f"  AUROC of the score, in-distribution vs shifted (AI alone): {self.auroc_mean:.3f} ({seeds})")

        def cells(stats: Mapping[str, Any] | None) -> str:
            if stats is None:
                return ""
            r, bad = stats["return"], stats["catastrophes"]
            text = f"{r['mean']:7.2f} [{r['mean_ci'][0]:7.2f},{r['mean_ci'][1]:7.2f}]"
            text += f" {bad['mean']:6.3f}" if bad is not None else f" {'-':>6}"
            return text + f" {stats['takeover_rate']['mean']:6.3f}"

        head = f"{'return':>7} {'[95% CI]':>16} {'catas.':>6} {'takeov':>6}"
        shifted = any(p.shifted is not None for p in self.points)
        out.append(f"  {'level':>11}  {head}" + (f" | shifted: {head}" if shifted else ""))
        for p in self.points:
            out.append(f"  {p.label:>11}  {cells(p.trained)}" + (f" |          {cells(p.shifted)}" if shifted else ""))
        return out


def _interval_stats(x: np.ndarray) -> dict[str, Any]:
    from marlkit.diagnose.seeds import two_stage_interval

    x = np.asarray(x, np.float64)
    return {"mean": float(x.mean()), "ci": two_stage_interval(x), "seed_means": x.mean(axis=1).tolist()}


def _summaries(run: Episodes, k: int, with_catastrophes: bool) -> dict[str, Any]:
    from marlkit.diagnose.seeds import cell_statistics

    returns = np.asarray(run.returns[:, k], np.float64).mean(axis=-1)  # [N, E] team returns
    decisions = np.maximum(np.asarray(run.decisions[:, k]), 1)
    rate = np.asarray(run.takeovers[:, k]) / decisions
    return {
        "return": cell_statistics(returns),
        "takeover_rate": _interval_stats(rate),
        "fire_rate": 1.0 - float(rate.mean()),
        "catastrophes": _interval_stats(np.asarray(run.catastrophes[:, k])) if with_catastrophes else None,
    }


# ------------------------------------------------------------------------------------------------ the study
def _stack(trees: Sequence[Any]) -> Any:
    """The trees stacked on a new leading axis (on the host: no compiled op per leaf shape)."""
    return jax.tree.map(lambda *x: jnp.asarray(np.stack([np.asarray(v) for v in x])), *trees)


@partial(jax.jit, static_argnums=(1, 2))
def _episode_keys(key: Array, episodes: int, steps: int) -> EpisodeKeys:
    """:func:`~marlkit.train.evaluate.episode_keys`, compiled once (eagerly it is a dozen small programs)."""
    return episode_keys(key, episodes, steps)


def _run(env: MultiAgentEnv, actor: SharedControlActor, catastrophe: Any, state: SharedState, keys: Any) -> Episodes:
    """:func:`simulate`, its records as NumPy arrays."""
    return Episodes(*(np.asarray(x) for x in simulate(env, actor, catastrophe, state, keys)))


def _shifted_env(policy: Any, shift: Mapping[str, Any]) -> MultiAgentEnv:
    from marlkit.policies.spec import EnvRef

    ref = policy.env
    if ref.game is not None or ref.target is not None:
        what = "an exact game" if ref.game is not None else "a user env class"
        raise NotApplicableError(
            f"--shift: changes the parameters of a registered task (e.g. simple_spread's spawn_range); this policy's "
            f"env is {what}. Leave --shift out, or hand over on a run of a registered task (docs/envs.md lists them)"
        )
    try:
        env = EnvRef(ref.name, {**dict(ref.params), **dict(shift)}).build()
    except MarlkitError as exc:
        raise InvalidGameError(f"--shift {dict(shift)}: {exc}") from None
    try:
        policy.check_env(env)
    except Exception as exc:
        raise InvalidGameError(
            f"--shift {dict(shift)}: the shifted task must keep the policy's spaces ({exc})"
        ) from None
    return env


def handover_simulation(
    policies: Sequence[Any],
    *,
    rule: str = "novelty",
    detector: str = "mahalanobis",
    detector_params: Mapping[str, Any] | None = None,
    human: str = "tempered",
    agents: Sequence[int] = (0,),
    levels: Sequence[float] = (0.5, 0.9, 0.99),
    episodes: int = 100,
    fit_episodes: int | None = None,
    shift: Mapping[str, Any] | None = None,
    seed: int = 0,
    mode: str = "stochastic",
    source: str = "",
) -> HandoverSimulation:
    """Simulate the hand-over trade-off (module docstring) of trained ``policies`` (the seeds of one run, or one
    policy file: :func:`marlkit.experiment.policies.load_source`) on their task and on the task shifted by
    ``shift`` (env parameters; none: no shifted evaluation).

    Raises:
        InvalidGameError: a bad rule, level, agent, episode count, human model or shift.
        NotApplicableError: a recurrent or continuous-action policy; policies of different tasks.
    """
    from marlkit.train.inputs import check_int

    if rule not in RULES:
        raise InvalidGameError(f"rule {rule!r}: the simulated rules are {', '.join(RULES)}")
    q = check_levels(levels)
    episodes = check_int("episodes", episodes, 1)
    fit_episodes = check_int("fit_episodes", max(episodes, 2) if fit_episodes is None else fit_episodes, 2)
    if mode not in ("stochastic", "greedy"):
        raise InvalidGameError(f"mode {mode!r}: expected stochastic or greedy")
    if not policies:
        raise InvalidGameError("handover_simulation: no policies")
    first = policies[0]
    if any(p.actor != first.actor or p.env != first.env for p in policies):
        raise NotApplicableError("handover_simulation: the policies must be seeds of one learner on one task")
    env = first.make_env()
    spec = env.spec
    if spec.continuous:
        raise NotApplicableError(f"hand-over by simulation needs discrete actions; {spec.name} has Box actions")
    if jax.tree_util.tree_leaves(first.initial_memory(1)):
        raise NotApplicableError("hand-over by simulation needs a feed-forward policy (this one is recurrent)")
    if len(spec.obs_shape) != 1:
        raise NotApplicableError(f"hand-over by simulation needs vector observations; {spec.name} has {spec.obs_shape}")
    seats = tuple(sorted(set(int(a) for a in agents)))
    if not seats or any(not 0 <= a < spec.n_agents for a in seats):
        raise InvalidGameError(f"agents {list(agents)}: expected seats in 0..{spec.n_agents - 1}")
    controlled = tuple(i in seats for i in range(spec.n_agents))
    human_actor = make_human(human, first.actor, spec)
    human_state = _stack([p.params for p in policies]) if isinstance(human_actor, TemperedHuman) else ()
    ai_state = _stack([p.params for p in policies])
    N = len(policies)
    n = spec.n_agents
    catastrophe = catastrophe_of(env)
    shifted = _shifted_env(first, shift) if shift else None

    # fit and calibrate on the AI's own rollouts: the evaluation's program where a placeholder detector of the
    # fitted one's shapes exists (one program for both when fit_episodes == episodes), else the defer program
    grid = np.concatenate([[0.0], q, [1.0]])
    actor = SharedControlActor(first.actor, human_actor, rule, controlled, mode)
    D = spec.obs_shape[0]
    placeholder: Any = None
    fit_actor = actor
    kind = DETECTORS.get(detector).name if rule == "novelty" else None
    if kind == "ensemble":  # nothing to fit: every seed's AI is judged by the ensemble of all the run's seeds
        if detector_params:
            raise InvalidGameError(f"ensemble detector: takes no parameters, got {sorted(detector_params)}")
        members = ensemble(members=ai_state).members
        placeholder = EnsembleDisagreement(jax.tree.map(lambda x: jnp.broadcast_to(x[None], (N, *x.shape)), members))
    elif rule == "novelty":
        if kind == "mahalanobis":
            placeholder = Mahalanobis(jnp.zeros((N, n, D), jnp.float32), jnp.zeros((N, n, D, D), jnp.float32))
        else:
            fit_actor = SharedControlActor(first.actor, human_actor, "defer", controlled, mode)
    key = base_key(seed)
    always = jnp.asarray(np.full((N, len(grid), n), np.inf, np.float32))
    fit = _run(
        env,
        fit_actor,
        catastrophe,
        SharedState(ai_state, human_state, placeholder, always),
        _episode_keys(jax.random.fold_in(key, FIT_SALT), fit_episodes, spec.max_episode_steps),
    )
    half = fit_episodes // 2
    obs = np.asarray(fit.obs[:, 0])  # [N, T, E, n, D]
    alive = np.asarray(fit.alive[:, 0])  # [N, T, E]
    fitted, calibration = (placeholder if kind == "ensemble" else None), []
    if rule == "novelty" and kind != "ensemble":
        detectors = []
        for s in range(N):
            train_obs = obs[s][:, :half][alive[s][:, :half]]  # [M, n, D]
            detectors.append(DETECTORS.make(detector, observations=train_obs, **dict(detector_params or {})))
        fitted = _stack(detectors)
        held = jnp.asarray(obs[:, :, half:])
        scores = np.asarray(_scores(fitted, held.reshape(N, -1, n, obs.shape[-1])))
        scores = scores.reshape(N, obs.shape[1], fit_episodes - half, n)
        calibration = [scores[s][alive[s][:, half:]] for s in range(N)]
    else:
        u = np.asarray(fit.unsureness[:, 0])  # [N, T, E, n]
        calibration = [u[s][:, half:][alive[s][:, half:]] for s in range(N)]
    cutoffs = np.stack(
        [np.stack([calibrated_cutoffs(calibration[s][:, i], grid) for i in range(n)], axis=-1) for s in range(N)]
    )  # [N, K + 2, n]
    cutoffs[:, 0], cutoffs[:, -1] = -np.inf, np.inf  # the references: human alone, AI alone
    state = SharedState(ai_state, human_state, fitted, jnp.asarray(cutoffs, jnp.float32))
    runs = {"trained": _run(env, actor, catastrophe, state, _episode_keys(key, episodes, spec.max_episode_steps))}
    if shifted is not None:
        keys = _episode_keys(key, episodes, shifted.spec.max_episode_steps)
        runs["shifted"] = _run(shifted, actor, catastrophe_of(shifted), state, keys)
    summaries = {
        name: [_summaries(r, k, catastrophe is not None) for k in range(len(grid))] for name, r in runs.items()
    }
    labels = ["human alone", *(f"{x:g}" for x in q), "AI alone"]
    points = tuple(
        SimulatedPoint(
            label=labels[k],
            level=None if k in (0, len(grid) - 1) else float(grid[k]),
            cutoffs=[[float(c) if np.isfinite(c) else None for c in row] for row in cutoffs[:, k]],
            trained=summaries["trained"][k],
            shifted=summaries["shifted"][k] if shifted is not None else None,
        )
        for k in range(len(grid))
    )
    areas = None
    if shifted is not None:
        areas = []
        for s in range(N):
            sides = []
            for r in (runs["trained"], runs["shifted"]):
                u = np.asarray(r.unsureness[s, -1])[..., list(seats)]  # [T, E, c]
                sides.append(u[np.asarray(r.alive[s, -1])])
            areas.append(auroc(sides[0], sides[1]))
    records = {
        name: {
            "returns": np.asarray(r.returns),
            "takeover_rate": np.asarray(r.takeovers) / np.maximum(np.asarray(r.decisions), 1),
            "catastrophes": np.asarray(r.catastrophes),
            "unsureness": np.asarray(r.unsureness),
            "alive": np.asarray(r.alive),
            "obs": np.asarray(r.obs),
        }
        for name, r in runs.items()
    }
    return HandoverSimulation(
        task=spec.name,
        source=source or first.label,
        rule=rule,
        detector=detector if rule == "novelty" else None,
        human=human,
        agents=tuple(spec.agent_names[i] for i in seats),
        seeds=N,
        episodes=episodes,
        fit_episodes=fit_episodes,
        shift=dict(shift or {}),
        catastrophe=None
        if catastrophe is None
        else (
            "collisions (steps with two agents touching)"
            if isinstance(catastrophe, SpreadCollision)
            else "steps with a positive cost"
        ),
        points=points,
        auroc=areas,
        records=records,
        actor=actor,
        state=state,
    )


__all__ = [
    "FIT_SALT",
    "HUMANS",
    "MOVES",
    "RULES",
    "Episodes",
    "HandoverSimulation",
    "NearestLandmarkHuman",
    "PositiveCost",
    "SharedControlActor",
    "SharedState",
    "SimulatedPoint",
    "SpreadCollision",
    "TemperedHuman",
    "catastrophe_of",
    "handover_simulation",
    "make_human",
    "nearest_landmark",
    "policy_margin",
    "simulate",
    "tempered",
]
