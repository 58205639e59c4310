"""Compiled evaluation of a trained deep learner, clean or under an observation attack, and robustness curves.

:func:`evaluate` runs ``episodes`` whole episodes of a marlkit env in parallel (one ``jax.jit``; ``lax.scan`` over
the env's ``max_episode_steps``; the episodes are a batch axis) with a trained deep learner's policy — optionally
under an observation attack (:mod:`marlkit.agents.deep.attacks`: at every step the attacked agents act on
``o + δ`` with ``δ`` in the ball, the env is unchanged) — and returns every episode's undiscounted return per agent
(and, on a constrained task, its undiscounted cost per agent and constraint). The learner may be anything that acts
(:func:`check_actor`), e.g. the fixed, tabular and mixed teams of :mod:`marlkit.policies`.
An episode's return is the sum of the rewards up to and including its first ``done``. The keys are fixed by
``key`` alone (not by training), and the same for every attack and ε: differences between curves are not sampling
noise of the env (common random numbers).

* ``mode="stochastic"``: the agents sample from the learner's policy (``learner.act``: what it trained with;
  a value-based learner keeps its exploration); ``"greedy"``: each agent takes its most probable legal action.
* a learner with a ``deployed(state) -> (learner, state)`` method (adversarial training,
  :mod:`marlkit.agents.deep.adversarial`) is evaluated as the team it deploys, without its training adversaries.
* ``stacked=True``: ``learner_state`` has a leading seed axis (``DeepResult.states``); results gain a leading
  ``[N]`` axis, every seed evaluated on the same episodes.

:func:`robustness_curve` evaluates clean, under uniform noise of the same budget and under the PGD attack
(:func:`~marlkit.agents.deep.attacks.gradient_attack`) for every ``(ε, attacked set)`` — the issue's curves in ε and
in the number of attacked agents M — with the robustness gap ``clean - attacked`` (Zhang et al. 2020 report the
same three numbers per policy). One compiled program per attack kind serves every ε and attacked set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.deep.attacks import ATTACKS, Attack, Ball, GradientAttack, LearnedAttack
from marlkit.agents.deep.base import DeepLearner, Observation
from marlkit.envs.base import MultiAgentEnv
from marlkit.envs.games import GameEnv
from marlkit.errors import InvalidGameError, LearnerConfigError
from marlkit.games.uncertainty import ObservationBall
from marlkit.train.deep import check_learner
from marlkit.train.inputs import base_key, check_int

Array = jax.Array
MODES = ("stochastic", "greedy")
EVALUATION_SALT = 0x5EED
"""Folded into the caller's key, so evaluation never reuses a training key drawn from the same integer."""


class EvaluationResult(NamedTuple):
    """Per-episode undiscounted returns ``returns [*N, episodes, n]`` (``N`` seeds when stacked) and, on a
    constrained task (``spec.num_constraints = m > 0``), the undiscounted episode costs ``costs [*N, episodes, n,
    m]`` (the sum of ``info["cost"]`` over the same steps as the return; ``None`` on an unconstrained env)."""

    returns: np.ndarray
    costs: np.ndarray | None = None

    @property
    def mean(self) -> np.ndarray:
        """The mean return per agent and episode (``[N]`` when stacked, else a 0-d array)."""
        return self.returns.mean(axis=(-2, -1))

    @property
    def team_returns(self) -> np.ndarray:
        """Each episode's return averaged over the agents ``[*N, episodes]``."""
        return self.returns.mean(axis=-1)


def greedy_actions(policy: Array, action_mask: Array) -> Array:
    """Each agent's greedy action from what a learner's ``policy`` returns: the most probable legal action of a
    categorical ``[..., n, A_max]`` (int32), or the mean of a Gaussian ``[..., n, 2, D_max]`` (mean then std;
    float32, clipped to the action box by the env's step)."""
    if policy.ndim == action_mask.ndim + 1:  # a Gaussian policy (marlkit.agents.deep.ppo.gaussian_parts)
        return jnp.where(action_mask, policy[..., 0, :], 0.0).astype(jnp.float32)
    return jnp.argmax(jnp.where(action_mask, policy, -1.0), axis=-1).astype(jnp.int32)


def check_vector_observations(env: MultiAgentEnv, ball: ObservationBall | None = None) -> None:
    """Raise :class:`InvalidGameError` (one line) unless ``env`` has real vector observations an L_p ball can
    perturb (an exact game's one-hot states do not count); check ``ball``'s attacked agents against it."""
    vector = len(env.spec.obs_shape) == 1 and not isinstance(env, GameEnv)
    ObservationBall(0.0, (0,)).check_against(env.spec.n_agents, env.spec.obs_shape if vector else None)
    if ball is not None:
        ball.check_against(env.spec.n_agents, env.spec.obs_shape)


def deployed(learner: DeepLearner, state: Any) -> tuple[DeepLearner, Any]:
    """The learner and state evaluation runs: the team of a learner with ``deployed`` (no training adversary)."""
    unwrap = getattr(learner, "deployed", None)
    return unwrap(state) if callable(unwrap) else (learner, state)


class EpisodeKeys(NamedTuple):
    """Every key an evaluation draws: ``reset [episodes]``, and per step ``attack [T]``, ``act [T]`` and ``env [T,
    episodes]`` (``T = max_episode_steps``)."""

    reset: Array
    attack: Array
    act: Array
    env: Array


def episode_keys(key: int | Array, episodes: int, steps: int) -> EpisodeKeys:
    """The keys of an evaluation of ``episodes`` episodes of ``steps`` steps from the caller's ``key``: a function of
    ``key`` alone (folded with :data:`EVALUATION_SALT`), the same for every learner, attack and ε."""
    k_reset, k_steps = jax.random.split(jax.random.fold_in(base_key(key), EVALUATION_SALT))
    per_step = jax.vmap(lambda k: jax.random.split(k, 3))(jax.random.split(k_steps, steps))
    env = jax.vmap(lambda k: jax.random.split(k, episodes))(per_step[:, 2])
    return EpisodeKeys(jax.random.split(k_reset, episodes), per_step[:, 0], per_step[:, 1], env)


def check_actor(learner: object) -> None:
    """Raise :class:`LearnerConfigError` unless ``learner`` can act: a hashable object with the acting half of the
    deep learner contract (``initial_memory``, ``act``, ``policy``). Every deep learner qualifies, and so do the
    policies of :mod:`marlkit.policies` (fixed, tabular and mixed teams), which cannot train."""
    missing = [m for m in ("initial_memory", "act", "policy") if not callable(getattr(learner, m, None))]
    if missing:
        check_learner(learner)  # the deep learners' own message (names every learner)
    try:
        hash(learner)
    except TypeError:
        raise LearnerConfigError(f"a learner must be hashable (a frozen dataclass), got {learner!r}") from None


def _episodes(
    env: MultiAgentEnv, learner: DeepLearner, mode: str, state: Any, attack: Attack | None, keys: EpisodeKeys
) -> tuple[Array, Array]:
    """Returns ``[episodes, n]`` and costs ``[episodes, n, m]`` of one learner state (traced; see
    :func:`evaluate`)."""
    spec = env.spec
    episodes = keys.reset.shape[0]
    obs, env_state = jax.vmap(env.reset)(keys.reset)
    info = jax.vmap(env.state_info)(env_state)
    observation = Observation(obs, info["action_mask"], info["global_state"], jnp.ones(episodes, bool))
    memory = learner.initial_memory(spec, episodes)
    recurrent = bool(jax.tree_util.tree_leaves(memory))

    def step(carry: tuple, k: tuple[Array, Array, Array]) -> tuple[tuple, None]:
        env_state, observation, memory, total, cost, alive = carry
        k_attack, k_act, k_env = k
        if attack is not None:

            def probs_fn(o: Array) -> Array:
                return learner.policy(state, observation._replace(obs=o), memory)

            observation = observation._replace(obs=attack(k_attack, observation.obs, probs_fn))
        if mode == "stochastic":
            actions, _, memory = learner.act(k_act, state, observation, memory)
        else:
            actions = greedy_actions(learner.policy(state, observation, memory), observation.action_mask)
            if recurrent:
                _, _, memory = learner.act(k_act, state, observation, memory)
        obs, env_state, reward, done, info = jax.vmap(env.step)(k_env, env_state, actions)
        total = total + jnp.where(alive[:, None], reward, 0.0)
        if m:
            cost = cost + jnp.where(alive[:, None, None], info["cost"], 0.0)
        alive = alive & ~done
        observation = Observation(obs, info["action_mask"], info["global_state"], done)
        return (env_state, observation, memory, total, cost, alive), None

    m = spec.num_constraints
    carry = (
        env_state,
        observation,
        memory,
        jnp.zeros((episodes, spec.n_agents), jnp.float32),
        jnp.zeros((episodes, spec.n_agents, m), jnp.float32),
        jnp.ones(episodes, bool),
    )
    (_, _, _, total, cost, _), _ = jax.lax.scan(step, carry, (keys.attack, keys.act, keys.env))
    return total, cost


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _evaluate(
    env: MultiAgentEnv, learner: DeepLearner, mode: str, stacked: bool, state: Any, attack: Any, keys: EpisodeKeys
) -> tuple[Array, Array]:
    run = partial(_episodes, env, learner, mode)
    if stacked and getattr(attack, "per_seed", False):  # one learned adversary per seed
        return jax.vmap(lambda s, p: run(s, attack.replace(params=p), keys))(state, attack.params)
    if stacked:
        return jax.vmap(lambda s: run(s, attack, keys))(state)
    return run(state, attack, keys)


def evaluate(
    env: MultiAgentEnv,
    learner: DeepLearner,
    learner_state: Any,
    *,
    episodes: int = 100,
    key: int | Array = 0,
    attack: Attack | None = None,
    mode: str = "stochastic",
    stacked: bool = False,
) -> EvaluationResult:
    """Evaluate a trained deep learner on ``episodes`` episodes of ``env`` (module docstring), compiled.

    Args:
        env: the env it was trained on (any marlkit env; vector observations when ``attack`` is given).
        learner: the trained learner (``DeepResult.plan.learner``: its sharing resolved).
        learner_state: its state — one seed's (``jax.tree.map(lambda x: x[i], result.states)``) or, with
            ``stacked=True``, every seed's.
        episodes: episodes per learner state. key: an integer or a JAX key (fixes every draw).
        attack: an attack of :mod:`marlkit.agents.deep.attacks` (``RandomAttack``, ``GradientAttack``,
            ``LearnedAttack``) or ``None``.
        mode: ``"stochastic"`` or ``"greedy"``.

    ``learner`` may also be anything that acts without training (:func:`check_actor`): a policy of
    :mod:`marlkit.policies` (a loaded policy file's actor, a fixed or tabular policy, a team mixing several).

    Raises:
        InvalidGameError: bad episodes, mode or key; an attack on an env without vector observations.
        LearnerConfigError: not a deep learner (nor an actor).
    """
    check_actor(learner)
    episodes = check_int("episodes", episodes, 1)
    if mode not in MODES:
        raise InvalidGameError(f"mode: expected one of {list(MODES)}, got {mode!r}")
    if attack is not None:
        check_vector_observations(env)
        if attack.ball.attacked.shape != (env.spec.n_agents,):
            raise InvalidGameError(
                f"attack: its ball covers {attack.ball.attacked.shape[0]} agents; the env has {env.spec.n_agents}"
            )
    keys = episode_keys(key, episodes, env.spec.max_episode_steps)
    team, state = deployed(learner, learner_state)
    returns, costs = _evaluate(env, team, mode, bool(stacked), state, attack, keys)
    return EvaluationResult(np.asarray(returns), np.asarray(costs) if env.spec.num_constraints else None)


def learned_attack(
    env: MultiAgentEnv,
    learner: DeepLearner,
    learner_state: Any,
    ball: ObservationBall,
    *,
    steps: int,
    key: int | Array = 0,
    stacked: bool = False,
    num_envs: int = 16,
    **adversary: Any,
) -> LearnedAttack:
    """Train observation adversaries against a *fixed* trained team and return them as an attack — ATLA's "optimal
    attack" (Zhang et al. 2021, §3.2: for a fixed policy the optimal state adversary is the optimal policy of an
    MDP, learned here with PPO). Runs :class:`~marlkit.agents.deep.adversarial.AdversarialTraining` with
    ``train_team=False`` for ``steps`` env steps in the compiled deep trainer (one run per seed when ``stacked``),
    the team's parameters put in place of its initial ones; ``adversary`` passes the adversaries' settings
    (``adversary_lr``, ``adversary_hidden``, ...).

    Raises:
        InvalidGameError: an env without vector observations, a bad ball or run length.
        LearnerConfigError: the team is not a PPO-family learner.
    """
    from marlkit.agents.deep.adversarial import AdversarialTraining
    from marlkit.train.deep import prepare

    check_vector_observations(env, ball)
    team, state = deployed(learner, learner_state)
    attacker: Any = AdversarialTraining(
        inner=team, epsilon=ball.epsilon, attacked=ball.attacked, norm=ball.norm, train_team=False, **adversary
    )
    if not stacked:
        state = jax.tree.map(lambda x: x[None], state)
    seeds = jax.tree_util.tree_leaves(state)[0].shape[0]
    plan = prepare(env, attacker, steps, seeds, key, steps, num_envs=num_envs)
    start = plan.start()
    start = start._replace(carry=start.carry._replace(learner=start.carry.learner.replace(inner=state)))
    trained, _ = plan.advance(start, 0, plan.num_logs)
    adversaries = trained.carry.learner
    if not stacked:
        adversaries = jax.tree.map(lambda x: x[0], adversaries)
    return plan.learner.as_attack(adversaries, env.spec.n_agents, per_seed=stacked)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------- robustness curves


@dataclass(frozen=True)
class RobustnessCurve:
    """Mean returns (per agent and episode) clean and under each attack, per ``(ε, attacked set)``.

    Attributes:
        epsilons: ``[K]`` radii. attacked_sets: ``L`` tuples of attacked agents. norm: the balls' norm.
        clean: ``[*N]`` the clean mean return (``N`` seeds when stacked).
        attacked: attack name -> ``[K, L, *N]`` the mean return under that attack.
        episodes / mode: the evaluation's.
    """

    epsilons: np.ndarray
    attacked_sets: tuple[tuple[int, ...], ...]
    norm: str
    clean: np.ndarray
    attacked: dict[str, np.ndarray]
    episodes: int
    mode: str

    def gap(self, attack: str) -> np.ndarray:
        """The robustness gap ``clean - attacked`` ``[K, L, *N]`` (>= 0 where the attack hurts)."""
        return self.clean - self.attacked[attack]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the axes, clean, and per attack its returns and gaps (nested lists)."""
        return {
            "epsilons": self.epsilons.tolist(),
            "attacked_sets": [list(s) for s in self.attacked_sets],
            "norm": self.norm,
            "episodes": self.episodes,
            "mode": self.mode,
            "clean": np.asarray(self.clean).tolist(),
            "attacks": {
                name: {"return": np.asarray(value).tolist(), "gap": np.asarray(self.gap(name)).tolist()}
                for name, value in self.attacked.items()
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json())


def robustness_curve(
    env: MultiAgentEnv,
    learner: DeepLearner,
    learner_state: Any,
    epsilons: Sequence[float],
    attacked_sets: Sequence[Sequence[int]],
    *,
    episodes: int = 100,
    key: int | Array = 0,
    attacks: Sequence[str] = ("random", "gradient"),
    norm: str = "linf",
    mode: str = "stochastic",
    gradient_steps: int = 10,
    stacked: bool = False,
) -> RobustnessCurve:
    """Clean return and the return under each attack (``"random"``: uniform noise in the ball; ``"gradient"``:
    PGD with ``gradient_steps`` steps) for every ``ε`` in ``epsilons`` and attacked set in ``attacked_sets`` — all
    on the same episodes (:func:`evaluate`'s keys). The balls are
    ``ObservationBall(ε, attacked, norm)``, checked against the env.

    Raises:
        InvalidGameError: an env without vector observations, a bad ball (negative ε, an agent out of range, an
            unknown norm), an unknown attack name.
    """
    check_vector_observations(env)
    n = env.spec.n_agents
    sets = tuple(tuple(int(a) for a in s) for s in attacked_sets)
    eps = np.asarray(epsilons, dtype=np.float64).reshape(-1)
    if eps.size == 0 or not sets:
        raise InvalidGameError("robustness curve: give at least one epsilon and one attacked set")
    unknown = [a for a in attacks if a not in ATTACKS]
    if unknown:
        raise InvalidGameError(f"robustness curve: unknown attack {unknown[0]!r}; expected one of {list(ATTACKS)}")
    balls = [[Ball.of(ObservationBall(float(e), s, norm), n) for s in sets] for e in eps]
    clean = evaluate(env, learner, learner_state, episodes=episodes, key=key, mode=mode, stacked=stacked).mean
    attacked: dict[str, np.ndarray] = {}
    for name in attacks:

        def make(b: Ball, name: str = name) -> Attack:
            return GradientAttack(b, steps=gradient_steps) if name == "gradient" else ATTACKS[name](b)

        attacked[name] = np.asarray(
            [
                [
                    evaluate(
                        env,
                        learner,
                        learner_state,
                        episodes=episodes,
                        key=key,
                        attack=make(b),
                        mode=mode,
                        stacked=stacked,
                    ).mean
                    for b in row
                ]
                for row in balls
            ]
        )
    return RobustnessCurve(eps, sets, balls[0][0].norm, np.asarray(clean), attacked, episodes, mode)


__all__ = [
    "EVALUATION_SALT",
    "MODES",
    "EpisodeKeys",
    "EvaluationResult",
    "RobustnessCurve",
    "check_actor",
    "check_vector_observations",
    "deployed",
    "episode_keys",
    "evaluate",
    "greedy_actions",
    "learned_attack",
    "robustness_curve",
]
