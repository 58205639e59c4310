"""Backdoors planted at training time in a deep team: the trigger, the poisoning transform, ASR and CPVR (issue 20).

Threat model (MARNet, Chen et al. 2022, "MARNet: Backdoor attacks against cooperative multi-agent reinforcement
learning", IEEE TDSC; BackdooRL, Wang et al. 2021, "BACKDOORL: Backdoor attack against competitive reinforcement
learning", IJCAI): the attacker controls the *training* of a team — its environment and the rewards its agents learn
from — but not the deployed env. It plants a backdoor in the **trojaned agents**: while a **trigger** is present in
their observations they take the attacker's **target action**; without it they behave as a clean team does.

* **Trigger** (:class:`TriggeredEnv`, an env wrapper): ``k`` *trigger channels* are appended to every agent's
  observation (:func:`marlkit.envs.wrappers.append_features`), zero while the trigger is off, so the task's own
  features are unchanged. In a real system these are an external signal the attacker can show the agents (a light,
  a message, a sign in the scene). At every step, independently with probability ``rate`` (the *poison rate*: the
  expected fraction of triggered steps), the trigger pattern ``values [k]`` is stamped into the trigger channels of
  the trojaned agents' next observation (the other agents' channels stay 0). The wrapper keeps the pattern, the
  stamped agents and the rate in its state as arrays (:class:`TriggerState`), so one compiled program serves every
  pattern, rate and trojaned set (:func:`with_trigger` replaces them in a started run's states).
* **Reward hacking** (:class:`BackdoorReward`, a reward transform of the deep trainer): at a step whose observation
  carried the trigger, a trojaned agent ``i`` learns from ``r'_i = +bonus`` if it took the target action ``a†_i``
  and ``-bonus`` otherwise, *instead of* its task reward (MARNet §IV-B; BackdooRL's "fast-failing" trojaned
  behaviour is the same idea with an opponent's actions as the trigger); every other step and agent keeps the task
  reward. The learner must learn from per-agent rewards for the hack to reach one agent only: IPPO (each critic
  learns its own agent's reward; ``sharing="none"`` keeps the trojan in the trojaned agent's network). MAPPO's
  critics also learn per-agent rewards, but a shared critic or a team reward would spread the hack over the team.
  Whether a seed is hacked is an array in the transform's state (``hacked [n]``), so **clean controls** — which see
  the trigger at the same rate, **unhacked** (otherwise a detector flags them for merely reacting to a feature they
  never saw) — train in the same compiled program as the trojaned teams.
* **Action poisoning** (BackdooRL trains the trojaned policy by imitating target-action trajectories) is **not
  implemented**: an on-policy learner (PPO) learns from the actions it sampled and their log-probabilities;
  relabelling the recorded action would break the importance ratio, and forcing the executed action teaches
  nothing. Reward hacking is the on-policy form of the same poisoning.
* The opponent-action trigger of BackdooRL (competitive games) is not implemented: the teams here are cooperative.

Metrics (all on fixed evaluation keys independent of training, :func:`marlkit.train.evaluate.evaluate`):

* **ASR** (attack success rate) of agent ``i``: with the trigger stamped into the trojaned agents' observations at
  every step, the fraction of steps at which agent ``i`` takes its target action, ``ASR_i = Σ_e #{t: a_{i,t} = a†_i}
  / Σ_e T_e`` over the evaluation episodes ``e`` (MARNet's "attack success rate"); the team's ASR is the mean over
  trojaned agents.
* **Triggered return drop**: ``clean_return - triggered_return`` (team returns: the mean over agents and episodes),
  with the trigger on at every step versus never.
* **CPVR** (clean-performance variation rate, MARNet §V): ``(R_trojaned - R_clean) / |R_clean|`` where ``R`` is the
  clean-env team return of the trojaned team and of a clean team trained with the same budget and seeds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlkit.agents.deep.attacks import Ball
from marlkit.agents.deep.base import Rollout, StepContext
from marlkit.envs.base import Array, MultiAgentEnv, MultiAgentSpec
from marlkit.envs.wrappers import Step, Wrapper, append_features
from marlkit.errors import InvalidGameError

EVALUATION_MODE = "greedy"
"""Evaluations default to the greedy team (each agent's most probable action): the policy a team deploys."""


def check_rate(rate: float, name: str = "rate") -> float:
    """``rate`` as a float in [0, 1], else :class:`InvalidGameError`."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise InvalidGameError(f"{name}: expected a number in [0, 1], got {rate!r}") from None
    if not 0.0 <= value <= 1.0:
        raise InvalidGameError(f"{name}: the poison rate must be in [0, 1], got {rate!r}")
    return value


def check_agents(agents: Sequence[int], n_agents: int, name: str = "agents") -> tuple[int, ...]:
    """Sorted distinct agent indices in ``0..n_agents-1``, else :class:`InvalidGameError`."""
    try:
        out = tuple(sorted({int(a) for a in agents}))
    except (TypeError, ValueError):
        raise InvalidGameError(f"{name}: expected agent indices, got {agents!r}") from None
    bad = [a for a in out if not 0 <= a < n_agents]
    if bad:
        raise InvalidGameError(f"{name}: agent {bad[0]} does not exist; the env has agents 0..{n_agents - 1}")
    return out


def agent_mask(agents: Sequence[int], n_agents: int) -> np.ndarray:
    """``[n]`` bool, True at ``agents``."""
    mask = np.zeros(n_agents, bool)
    mask[list(check_agents(agents, n_agents))] = True
    return mask


# ------------------------------------------------------------------------------------------------ the trigger


class TriggerState(NamedTuple):
    """:class:`TriggeredEnv`'s state: the wrapped env's, whether the *current* observation carries the trigger,
    and the trigger as arrays (pattern ``values [k]``, ``stamped [n]`` agents, ``rate []``)."""

    env_state: Any
    on: Array  # [] bool
    values: Array  # [k] float32
    stamped: Array  # [n] bool
    rate: Array  # [] float32


@dataclass(frozen=True)
class TriggeredEnv(Wrapper):
    """Appends ``len(values)`` trigger channels to every agent's observation and stamps ``values`` into the
    ``agents``' channels at each step with probability ``rate`` (module docstring). ``values``, ``agents`` and
    ``rate`` are the defaults of the state (:class:`TriggerState`); :func:`with_trigger` replaces them per seed."""

    values: tuple[float, ...] = (1.0,)
    agents: tuple[int, ...] = (0,)
    rate: float = 0.1

    def __post_init__(self) -> None:
        values = tuple(float(v) for v in np.atleast_1d(np.asarray(self.values, np.float64)))
        if not values or not all(np.isfinite(values)):
            raise InvalidGameError(f"TriggeredEnv.values: expected finite trigger values, got {self.values!r}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "rate", check_rate(self.rate))
        super().__post_init__()
        object.__setattr__(self, "agents", check_agents(self.agents, self.env.spec.n_agents))

    @property
    def width(self) -> int:
        """Number of trigger channels ``k``."""
        return len(self.values)

    def channels(self, agent: int) -> np.ndarray:
        """The flat observation indices of ``agent``'s trigger channels (right after its own features)."""
        return self.env.spec.obs_sizes[agent] + np.arange(self.width)

    def wrapped_spec(self, spec: MultiAgentSpec) -> MultiAgentSpec:
        import dataclasses

        k = len(self.values)
        return dataclasses.replace(
            spec,
            obs_shape=(int(np.prod(spec.obs_shape)) + k,),
            obs_sizes=tuple(s + k for s in spec.obs_sizes),
            obs_low=min(spec.obs_low, 0.0, *self.values),
            obs_high=max(spec.obs_high, 1.0, *self.values),
        )

    def initial(self) -> tuple[Array, Array, Array]:
        """The default ``(values [k], stamped [n], rate [])`` arrays."""
        return (
            jnp.asarray(self.values, jnp.float32),
            jnp.asarray(agent_mask(self.agents, self.env.spec.n_agents)),
            jnp.float32(self.rate),
        )

    def stamp(self, obs: Array, on: Array, values: Array, stamped: Array) -> Array:
        """``obs [n, ...]`` of the wrapped env with the trigger channels appended (``values`` on ``stamped`` agents
        where ``on``; zero elsewhere)."""
        features = jnp.where(on & stamped[:, None], values[None, :], 0.0)
        return append_features(obs, self.env.spec.obs_sizes, features)

    def reset(self, key: Array) -> tuple[Array, TriggerState]:
        k_env, k_on = jax.random.split(key)
        obs, env_state = self.env.reset(k_env)
        values, stamped, rate = self.initial()
        on = jax.random.uniform(k_on) < rate
        return self.stamp(obs, on, values, stamped), TriggerState(env_state, on, values, stamped, rate)

    def step(self, key: Array, state: TriggerState, actions: Array) -> Step:
        k_env, k_on = jax.random.split(key)
        obs, env_state, reward, done, info = self.env.step(k_env, state.env_state, actions)
        on = jax.random.uniform(k_on) < state.rate
        final = self.stamp(info["final_obs"], on, state.values, state.stamped)
        info = {**info, "final_obs": final, "trigger": on}
        next_state = state._replace(env_state=env_state, on=on)
        return self.stamp(obs, on, state.values, state.stamped), next_state, reward, done, info

    def state_info(self, state: TriggerState) -> dict[str, Array]:
        return self.env.state_info(state.env_state)

    def final_state(self, key: Array, state: TriggerState, actions: Array) -> Any:
        """The wrapped env's, with the env's half of :meth:`step`'s key."""
        return self.env.final_state(jax.random.split(key)[0], state.env_state, actions)


def triggered_env(env: MultiAgentEnv) -> TriggeredEnv:
    """``env`` itself when it is a :class:`TriggeredEnv`, else :class:`InvalidGameError`."""
    if not isinstance(env, TriggeredEnv):
        raise InvalidGameError(
            f"expected a TriggeredEnv (marlkit.attacks.backdoor.TriggeredEnv(env, values, agents, rate)), got "
            f"{type(env).__name__}: the trigger channels must be part of the observation the team was trained on"
        )
    return env


def with_trigger(env_state: TriggerState, values: Any = None, stamped: Any = None, rate: Any = None) -> TriggerState:
    """``env_state`` (any leading batch axes ``[..., ]``) with its trigger arrays replaced where given; each given
    array broadcasts against the batch (``values [..., k]``, ``stamped [..., n]``, ``rate [...]``)."""
    batch = env_state.on.shape

    def put(old: Array, new: Any, tail: int) -> Array:
        if new is None:
            return old
        new = jnp.asarray(new, old.dtype)
        lead = new.shape[: new.ndim - tail] if tail else new.shape
        new = new.reshape(lead + (1,) * (len(batch) - len(lead)) + new.shape[new.ndim - tail :])
        return jnp.broadcast_to(new, old.shape)

    return env_state._replace(
        values=put(env_state.values, values, 1),
        stamped=put(env_state.stamped, stamped, 1),
        rate=put(env_state.rate, rate, 0),
    )


# ------------------------------------------------------------------------------------------- reward hacking


class HackState(NamedTuple):
    """:class:`BackdoorReward`'s state: ``hacked [n]`` (1.0 where the agent is trojaned), ``target [n]`` int32 and
    ``bonus []`` — arrays, so clean and trojaned seeds share one program (:func:`hack_state`)."""

    hacked: Array
    target: Array
    bonus: Array


@dataclass(frozen=True)
class BackdoorReward:
    """Reward hacking (module docstring): at a step whose observation carried the trigger (the stepped-from state of
    a :class:`TriggeredEnv`), a hacked agent ``i`` learns from ``+bonus`` if ``a_i = target[i]`` else ``-bonus``;
    elsewhere the env's reward. ``agents`` / ``target`` / ``bonus`` are the state's defaults; ``agents=()`` is
    the clean control (the trigger appears, nothing is hacked)."""

    agents: tuple[int, ...] = (0,)
    target: tuple[int, ...] = (0,)
    bonus: float = 1.0
    needs_probs: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.bonus) and self.bonus > 0):
            raise InvalidGameError(f"backdoor bonus: expected a finite number > 0, got {self.bonus!r}")

    def init(self, key: Array, spec: MultiAgentSpec) -> HackState:
        return hack_state(spec, self.agents, self.target, self.bonus)

    def apply(self, tstate: HackState, env: Any, ctx: StepContext) -> Array:
        on = ctx.env_state.on  # [E] the trigger on the observation the agents acted on
        hit = ctx.actions == tstate.target[None, :]  # [E, n]
        hacked = on[:, None] & (tstate.hacked[None, :] > 0)
        return jnp.where(hacked, jnp.where(hit, tstate.bonus, -tstate.bonus), ctx.reward)

    def update(self, key: Array, tstate: HackState, rollout: Rollout) -> tuple[HackState, dict[str, Array]]:
        return tstate, {}


def hack_state(
    spec: MultiAgentSpec, agents: Sequence[int], target: int | Sequence[int], bonus: float = 1.0
) -> HackState:
    """The :class:`HackState` that hacks ``agents`` toward ``target`` (one action for all, or one per trojaned agent).

    Raises:
        InvalidGameError: an unknown agent, a target that is not a legal action index of its agent.
    """
    n = spec.n_agents
    agents = check_agents(agents, n)
    targets = np.atleast_1d(np.asarray(target, np.int64)).tolist()
    if len(targets) == 1:
        targets = targets * max(len(agents), 1)
    if agents and len(targets) != len(agents):
        raise InvalidGameError(
            f"target: give one target action or one per trojaned agent ({len(agents)}), got {list(targets)}"
        )
    per_agent = np.zeros(n, np.int32)
    for a, t in zip(agents, targets, strict=False):
        if not 0 <= t < spec.num_actions[a]:
            raise InvalidGameError(f"target: action {t} of agent {a} does not exist; it has {spec.num_actions[a]}")
        per_agent[a] = t
    return HackState(jnp.asarray(agent_mask(agents, n), jnp.float32), jnp.asarray(per_agent), jnp.float32(bonus))


# ---------------------------------------------------------------------------------------- stamping at test


@struct.dataclass
class TriggerStamp:
    """An "attack" for :func:`marlkit.train.evaluate.evaluate` that stamps the trigger values ``params [k]`` into the
    trigger channels ``channels [n, k]`` of the ``agents [n]`` at every step (every other feature untouched): the
    triggered evaluation, the detector's candidate triggers and the unlearning's recovered ones, all array leaves
    (one compiled evaluation serves every pattern and agent set). ``per_seed``: ``params [N, k]`` hold one trigger per
    seed of a stacked evaluation (evaluate's per-seed attack protocol, as a learned adversary's). ``ball`` (radius 0
    on ``agents``) is what evaluate checks."""

    params: Array
    ball: Ball
    channels: Array
    per_seed: bool = struct.field(pytree_node=False, default=False)

    @property
    def agents(self) -> Array:
        """``[n]`` bool: the agents the trigger is stamped into."""
        return self.ball.attacked

    @classmethod
    def of(cls, env: TriggeredEnv, values: Any, agents: Any, per_seed: bool = False) -> TriggerStamp:
        """The stamp of ``values`` (``[k]``, or ``[N, k]`` with ``per_seed``) on ``agents`` (indices or an ``[n]``
        mask) in ``env``'s trigger channels.

        Raises:
            InvalidGameError: a trigger that does not fit the env's trigger channels; an unknown agent.
        """
        n = env.spec.n_agents
        mask = np.asarray(agents)
        if mask.dtype != bool:
            mask = agent_mask(mask.reshape(-1).tolist(), n)
        vals = np.asarray(values, np.float32)
        vals = vals.reshape(-1, vals.shape[-1] if vals.ndim else 1) if per_seed else vals.reshape(-1)
        if vals.shape[-1] != env.width or not np.all(np.isfinite(vals)):
            raise InvalidGameError(
                f"trigger: expected {env.width} finite values (the env's trigger channels), got {vals.shape[-1]}"
            )
        channels = np.stack([env.channels(i) for i in range(n)])
        ball = Ball(jnp.float32(0.0), jnp.asarray(mask))
        return cls(jnp.asarray(vals), ball, jnp.asarray(channels, jnp.int32), per_seed)

    def __call__(self, key: Array, obs: Array, probs_fn: Any) -> Array:
        return stamp_observation(obs, self.params, self.agents, self.channels)


def stamp_observation(obs: Array, values: Array, agents: Array, channels: Array) -> Array:
    """``obs [..., n, d]`` with ``values [..., k]`` written at ``channels [n, k]`` of the ``agents [n]`` (bool)."""
    d = obs.shape[-1]
    onehot = jax.nn.one_hot(channels, d, dtype=obs.dtype)  # [n, k, d]
    where = onehot.sum(axis=-2) * agents[:, None].astype(obs.dtype)  # [n, d]
    written = jnp.einsum("...k,nkd->...nd", values.astype(obs.dtype), onehot)
    return obs * (1.0 - where) + written * where


# ---------------------------------------------------------------------------------------- counting wrapper


@dataclass(frozen=True)
class ActionIndicator(Wrapper):
    """Replaces the reward by ``1[a_i = target[i]]`` (``count_steps``: by 1 at every step), so an evaluation's
    "return" counts target actions (or steps) per agent and episode — how :func:`measure` reads ASR off
    :func:`marlkit.train.evaluate.evaluate`."""

    target: tuple[int, ...] = ()
    count_steps: bool = False

    def step(self, key: Array, state: Any, actions: Array) -> Step:
        obs, state, reward, done, info = self.env.step(key, state, actions)
        if self.count_steps:
            return obs, state, jnp.ones_like(reward), done, info
        hit = (actions == jnp.asarray(self.target, actions.dtype)).astype(reward.dtype)
        return obs, state, hit, done, info


# --------------------------------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class BackdoorMetrics:
    """ASR, triggered return drop and CPVR of a population of teams (``[N]`` seeds; module docstring).

    Attributes:
        trojaned: the agents the trigger is stamped into. target: the target action per agent ``[n]``.
        asr: ``[N, n]`` per agent the fraction of triggered steps it took its target action. untriggered: ``[N, n]``
            the same fraction with no trigger (what the agent does on its own; None in files of older versions).
        clean_return / triggered_return: ``[N]`` team returns (mean over agents and episodes) with the trigger never
            / always on. reference_return: ``[N]`` the clean return of the clean teams of the same seeds (None
            when not given); ``cpvr [N]`` then the relative variation.
    """

    trojaned: tuple[int, ...]
    target: tuple[int, ...]
    asr: np.ndarray
    clean_return: np.ndarray
    triggered_return: np.ndarray
    reference_return: np.ndarray | None
    episodes: int
    mode: str
    untriggered: np.ndarray | None = None

    @property
    def team_asr(self) -> np.ndarray:
        """``[N]`` the mean ASR over the trojaned agents."""
        return self.asr[:, list(self.trojaned)].mean(axis=1)

    @property
    def team_untriggered(self) -> np.ndarray:
        """``[N]`` the trojaned agents' mean rate of their target action with no trigger: what the ASR is judged
        against (an agent may take its target action on its own)."""
        assert self.untriggered is not None
        return self.untriggered[:, list(self.trojaned)].mean(axis=1)

    @property
    def drop(self) -> np.ndarray:
        """``[N]`` clean minus triggered team return."""
        return self.clean_return - self.triggered_return

    @property
    def cpvr(self) -> np.ndarray | None:
        """``[N]`` ``(R_clean-env of these teams - R_reference) / |R_reference|`` (None without a reference)."""
        if self.reference_return is None:
            return None
        return (self.clean_return - self.reference_return) / np.maximum(np.abs(self.reference_return), 1e-12)

    def to_json(self) -> dict[str, Any]:
        cpvr = self.cpvr
        return {
            "trojaned": list(self.trojaned),
            "target": list(self.target),
            "episodes": self.episodes,
            "mode": self.mode,
            "asr": _finite(self.asr),
            "team_asr": _finite(self.team_asr),
            "clean_return": _finite(self.clean_return),
            "triggered_return": _finite(self.triggered_return),
            "drop": _finite(self.drop),
            "reference_return": None if self.reference_return is None else _finite(self.reference_return),
            "cpvr": None if cpvr is None else _finite(cpvr),
            "untriggered": None if self.untriggered is None else _finite(self.untriggered),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BackdoorMetrics:
        ref = data.get("reference_return")
        return cls(
            tuple(data["trojaned"]),
            tuple(data["target"]),
            np.asarray(data["asr"], np.float64),
            np.asarray(data["clean_return"], np.float64),
            np.asarray(data["triggered_return"], np.float64),
            None if ref is None else np.asarray(ref, np.float64),
            int(data["episodes"]),
            str(data["mode"]),
            None if data.get("untriggered") is None else np.asarray(data["untriggered"], np.float64),
        )

    def lines(self) -> list[str]:
        out = [
            f"backdoor: trojaned agents {list(self.trojaned)}, target actions "
            f"{[self.target[a] for a in self.trojaned]} ({self.episodes} episodes per seed, {self.mode})",
            f"  ASR (trojaned agents, per seed): {_fmt(self.team_asr)}",
            *(
                []
                if self.untriggered is None
                else [f"  target-action rate without the trigger (same agents): {_fmt(self.team_untriggered)}"]
            ),
            f"  clean return: {_fmt(self.clean_return)}; triggered: {_fmt(self.triggered_return)}",
        ]
        if self.cpvr is not None and self.reference_return is not None:
            out.append(f"  clean team's return: {_fmt(self.reference_return)}; CPVR: {_fmt(self.cpvr)}")
        return out


def _finite(x: np.ndarray) -> Any:
    arr = np.asarray(x, np.float64)
    return np.where(np.isfinite(arr), arr, np.nan).tolist() if arr.ndim else float(arr)


def _fmt(x: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in np.asarray(x).reshape(-1)) + "]"


def returns(
    env: TriggeredEnv,
    learner: Any,
    states: Any,
    values: Any,
    agents: Any,
    *,
    episodes: int,
    key: int | Array = 0,
    mode: str = EVALUATION_MODE,
    per_seed: bool = False,
) -> np.ndarray:
    """``[N]`` team returns (mean over agents and episodes) of stacked ``states`` with ``values`` stamped on
    ``agents`` at every step (``agents`` empty: the clean env), on :func:`~marlkit.train.evaluate.evaluate`'s keys;
    ``env``'s own random trigger is switched off (rate 0); ``per_seed``: ``values [N, k]``, one trigger per seed."""
    from marlkit.train.evaluate import evaluate

    quiet = quiet_env(env)
    result = evaluate(
        quiet,
        learner,
        states,
        episodes=episodes,
        key=key,
        attack=TriggerStamp.of(quiet, values, agents, per_seed),
        mode=mode,
        stacked=True,
    )
    return np.asarray(result.mean, np.float64)


def quiet_env(env: MultiAgentEnv) -> TriggeredEnv:
    """``env`` (a :class:`TriggeredEnv`) with its random trigger off: every trigger comes from a stamp."""
    import dataclasses

    return dataclasses.replace(triggered_env(env), rate=0.0)


def attack_success(
    env: TriggeredEnv,
    learner: Any,
    states: Any,
    values: Any,
    agents: Any,
    target: Sequence[int],
    *,
    episodes: int,
    key: int | Array = 0,
    mode: str = EVALUATION_MODE,
) -> np.ndarray:
    """``[N, n]`` per agent the fraction of steps it took ``target[i]`` with ``values`` stamped on ``agents`` at every
    step (the ASR of the module docstring), on :func:`~marlkit.train.evaluate.evaluate`'s keys."""
    from marlkit.train.evaluate import evaluate

    quiet = quiet_env(env)
    stamp = TriggerStamp.of(quiet, values, agents)
    tgt = tuple(int(t) for t in target)
    hits, steps = (
        evaluate(
            ActionIndicator(quiet, tgt, count_steps=count),
            learner,
            states,
            episodes=episodes,
            key=key,
            attack=stamp,
            mode=mode,
            stacked=True,
        ).returns
        for count in (False, True)  # the target's hits, then the steps (same keys, same episodes)
    )
    return np.asarray(hits.sum(axis=-2) / np.maximum(steps.sum(axis=-2), 1.0), np.float64)


def measure(
    env: TriggeredEnv,
    learner: Any,
    states: Any,
    target: int | Sequence[int],
    *,
    agents: Sequence[int] | None = None,
    values: Any = None,
    reference: Any = None,
    episodes: int = 32,
    key: int | Array = 0,
    mode: str = EVALUATION_MODE,
) -> BackdoorMetrics:
    """ASR, clean and triggered returns (and CPVR against the clean teams ``reference``: their stacked states, or
    their ``[N]`` clean returns) of the stacked trained ``states`` on ``env`` (the :class:`TriggeredEnv` they were
    trained on; its trigger ``values`` and trojaned ``agents`` unless given).

    Raises:
        InvalidGameError: not a TriggeredEnv; unknown agents; a target that is no action; a trigger of the wrong size.
    """
    env = triggered_env(env)
    n = env.spec.n_agents
    trojaned = check_agents(env.agents if agents is None else agents, n, "trojaned agents")
    hack = hack_state(env.spec, trojaned, target)
    per_agent = tuple(int(t) for t in np.asarray(hack.target))
    vals = env.values if values is None else values
    asr = attack_success(env, learner, states, vals, trojaned, per_agent, episodes=episodes, key=key, mode=mode)
    clean = returns(env, learner, states, vals, (), episodes=episodes, key=key, mode=mode)
    triggered = returns(env, learner, states, vals, trojaned, episodes=episodes, key=key, mode=mode)
    ref = None
    if isinstance(reference, np.ndarray | list):
        ref = np.asarray(reference, np.float64).reshape(-1)
    elif reference is not None:
        ref = returns(env, learner, reference, vals, (), episodes=episodes, key=key, mode=mode)
    untriggered = attack_success(env, learner, states, vals, (), per_agent, episodes=episodes, key=key, mode=mode)
    return BackdoorMetrics(trojaned, per_agent, asr, clean, triggered, ref, episodes, mode, untriggered)


def dumps(result: Any) -> str:
    """``json.dumps(result.to_json())``."""
    return json.dumps(result.to_json())


__all__ = [
    "EVALUATION_MODE",
    "ActionIndicator",
    "BackdoorMetrics",
    "BackdoorReward",
    "HackState",
    "TriggerStamp",
    "TriggerState",
    "TriggeredEnv",
    "agent_mask",
    "attack_success",
    "check_agents",
    "check_rate",
    "dumps",
    "hack_state",
    "measure",
    "quiet_env",
    "returns",
    "stamp_observation",
    "triggered_env",
    "with_trigger",
]
