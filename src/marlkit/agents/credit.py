"""Difference rewards: give each agent its own contribution to the team reward (structural credit assignment).

A team reward ``G(a)`` tells every agent how the *team* did; agent ``i``'s action moves it only a little, under the
noise of everyone else's. The difference reward (Wolpert & Tumer 2001, "Optimal payoff functions for members of
collectives", Adv. Complex Syst. 4 — their Wonderful Life Utility with a clamping action; Agogino & Tumer 2004,
"Unifying temporal and structural credit assignment problems", AAMAS — the difference reward ``D_i``) subtracts
what the team would have got had agent ``i`` done something else while everyone else did the same:

* ``counterfactual="default"``: ``D_i = G(a) - G(c_i, a_-i)`` with a fixed default action ``c_i``;
* ``counterfactual="expected"``: ``D_i = G(a) - sum_c pi_i(c | o_i) G(c, a_-i)``, the counterfactual averaged
  over the agent's own (acting) policy — Wolpert & Tumer's Aristocrat Utility, and the counterfactual baseline of
  COMA (Foerster et al. 2018, "Counterfactual multi-agent policy gradients", AAAI, Eq. 4, where their critic
  ``Q(s, u)`` stands in for ``G`` and the paper relates it to difference rewards and the Aristocrat Utility).

The subtracted term does not depend on agent ``i``'s action, so ``D_i`` ranks ``i``'s actions exactly as ``G``
does (it is "factored": aligned with the team), but most of the other agents' noise cancels (it is far more
"learnable"; Agogino & Tumer 2004, 2008). ``G`` is the team reward: the mean over agents of the env's reward,
``reward.mean(-1)`` (the env's reward itself in a common-payoff task, where every agent receives ``G``).

Where the counterfactual comes from (``source``):

* ``"env"`` — exactly, by replaying the step: the env contract is functional, so ``env.step(key, state, a')``
  with the step's own key and state is the step that *would* have happened under ``a'``, the env's randomness
  included (common random numbers). Every counterfactual joint action of every env is replayed in one
  ``jax.vmap``. Needs the env: the compiled trainer (:mod:`marlkit.train.deep`) passes it.
* ``"critic"`` — from a learned model ``G_hat(s, a)`` of the team reward: a small MLP on the global state and the
  one-hot joint action, regressed on ``G`` by Adam in :meth:`DifferenceRewards.update` (the approach of modelled
  difference rewards, e.g. Proper & Tumer 2012, "Modeling difference rewards for multiagent learning", AAMAS).
  Both terms come from the critic, ``D_i = G_hat(s, a) - G_hat(s, (c_i, a_-i))``: both are then expectations over
  the env's randomness, so the env's noise cancels as it does in the exact replay, and the critic's error is
  shared by the two terms. The only choice where no env can be replayed (the host loop passes ``env=None``).
* ``"auto"`` (default) — the replay when the env is given, the critic otherwise. The critic is kept and trained
  either way (the transform cannot know in advance which loop will run it); ``source="env"`` skips that cost.

In a multi-step episode ``D_i`` is computed step by step from the step's reward (structural credit); the learner's
returns handle the temporal part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from marlkit.agents.deep.base import Rollout, StepContext
from marlkit.agents.deep.networks import MLP, forward
from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec
from marlkit.errors import LearnerConfigError

Array = jax.Array


class CriticState(NamedTuple):
    """The learned team-reward model ``G_hat(s, a)``: its flax parameters and Adam's state."""

    params: Any
    opt_state: Any


class Candidates(NamedTuple):
    """Counterfactual joint actions ``[E, n, C, n]`` (agent i's action replaced, C candidates per agent) and the
    weights ``[E, n, C]`` that average their team rewards into agent i's baseline."""

    joint: Array
    weights: Array


# -- counterfactual joint actions --------------------------------------------------------------------------------


def _replace_own(actions: Array, own: Array) -> Array:
    """``actions [E, n]``, ``own [E, n, C]`` -> ``[E, n, C, n]``: the joint action with agent i's action set to
    ``own[e, i, c]`` and everyone else's kept."""
    n = actions.shape[-1]
    eye = jnp.eye(n, dtype=bool)[None, :, None, :]  # [1, i, 1, j]: j == i
    return jnp.where(eye, own[..., None], actions[:, None, None, :]).astype(jnp.int32)


def default_candidates(actions: Array, probs: Array, default: Array) -> Candidates:
    """``G(c_i, a_-i)``: one candidate per agent, its default action ``default [n]`` (weight 1)."""
    E, n = actions.shape
    own = jnp.broadcast_to(default[None, :, None], (E, n, 1))
    return Candidates(_replace_own(actions, own), jnp.ones((E, n, 1), jnp.float32))


def expected_candidates(actions: Array, probs: Array, default: Array) -> Candidates:
    """``sum_c pi_i(c | o_i) G(c, a_-i)``: every action ``c`` as a candidate, weighted by the acting policy
    ``probs [E, n, A]`` (zero on illegal actions)."""
    E, n = actions.shape
    A = probs.shape[-1]
    own = jnp.broadcast_to(jnp.arange(A, dtype=jnp.int32)[None, None, :], (E, n, A))
    return Candidates(_replace_own(actions, own), probs.astype(jnp.float32))


COUNTERFACTUALS: dict[str, Callable[[Array, Array, Array], Candidates]] = {
    "default": default_candidates,
    "expected": expected_candidates,
}
"""How the counterfactual term is formed, by ``DifferenceRewards.counterfactual``."""


# -- team rewards of joint actions -------------------------------------------------------------------------------


def replay_team_rewards(env: MultiAgentEnv, key: Array, env_state: Any, joint: Array) -> Array:
    """The exact team reward ``G`` of counterfactual joint actions ``joint [E, ..., n]``: each env's step replayed
    from its own ``key [E]`` and ``env_state [E]`` (the same randomness as the real step). Returns ``[E, ...]``."""
    batch = joint.shape[1:-1]
    flat = joint.reshape(joint.shape[0], -1, joint.shape[-1])

    def one_env(k: Array, state: Any, joints: Array) -> Array:
        rewards = jax.vmap(lambda a: env.step(k, state, a)[2])(joints)  # [C', n]
        return rewards.mean(axis=-1)

    return jax.vmap(one_env)(key, env_state, flat).reshape(joint.shape[0], *batch)


def critic_inputs(global_state: Array, joint: Array, num_actions: int) -> Array:
    """The critic's input: the global state ``[E, G]`` (broadcast over the extra axes of ``joint [E, ..., n]``)
    followed by the one-hot joint action, flattened: ``[E, ..., G + n * A]``."""
    one_hot = jax.nn.one_hot(joint, num_actions, dtype=jnp.float32).reshape(*joint.shape[:-1], -1)
    extra = joint.ndim - global_state.ndim
    state = global_state.astype(jnp.float32).reshape(global_state.shape[:1] + (1,) * extra + global_state.shape[1:])
    state = jnp.broadcast_to(state, (*joint.shape[:-1], global_state.shape[-1]))
    return jnp.concatenate([state, one_hot], axis=-1)


# -- the transform -----------------------------------------------------------------------------------------------

SOURCES = ("auto", "env", "critic")


@dataclass(frozen=True)
class DifferenceRewards:
    """Difference rewards as a :class:`~marlkit.agents.deep.base.RewardTransform` (see the module docstring).

    Attributes:
        counterfactual: ``"default"`` (``G(a) - G(c_i, a_-i)``) or ``"expected"`` (``G(a) - E_{c ~ pi_i}
            G(c, a_-i)``; the trainer then hands the acting policy in ``ctx.probs``).
        default_action: the default action ``c_i`` — one index for every agent or a tuple of one per agent (the
            ``"default"`` counterfactual only). An action illegal at a state is replaced there by the env's rule
            (its first legal action) in the replay.
        source: ``"env"`` (exact replay), ``"critic"`` (learned ``G_hat``) or ``"auto"`` (replay when the loop
            passes the env, the critic otherwise).
        critic_hidden / critic_lr / critic_steps: the critic's hidden layers (ReLU), Adam's learning rate and the
            full-batch Adam steps on each rollout.
    """

    continuous_actions: ClassVar[bool] = False  # counterfactual actions are discrete indices (train.deep refuses Box)

    counterfactual: str = "default"
    default_action: int | tuple[int, ...] = 0
    source: str = "auto"
    critic_hidden: tuple[int, ...] = (64, 64)
    critic_lr: float = 1e-3
    critic_steps: int = 10

    def __post_init__(self) -> None:
        problems = []
        if self.counterfactual not in COUNTERFACTUALS:
            problems.append(f"counterfactual must be one of {sorted(COUNTERFACTUALS)}, got {self.counterfactual!r}")
        if self.source not in SOURCES:
            problems.append(f"source must be one of {list(SOURCES)}, got {self.source!r}")
        defaults = self.default_action if isinstance(self.default_action, tuple) else (self.default_action,)
        if not defaults or any(isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 0 for c in defaults):
            problems.append(
                f"default_action must be an action index >= 0 or a tuple of them, got {self.default_action!r}"
            )
        if not self.critic_hidden or any(
            isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1 for w in self.critic_hidden
        ):
            problems.append(f"critic_hidden must be a non-empty tuple of positive widths, got {self.critic_hidden!r}")
        if isinstance(self.critic_lr, bool) or not isinstance(self.critic_lr, int | float) or not self.critic_lr > 0:
            problems.append(f"critic_lr must be a number > 0, got {self.critic_lr!r}")
        if isinstance(self.critic_steps, bool) or not isinstance(self.critic_steps, int) or self.critic_steps < 1:
            problems.append(f"critic_steps must be a positive integer, got {self.critic_steps!r}")
        if problems:
            raise LearnerConfigError("DifferenceRewards: " + "; ".join(problems))

    @property
    def needs_probs(self) -> bool:
        """Whether the loop must pass the acting policy (``ctx.probs``): the expected counterfactual only."""
        return self.counterfactual == "expected"

    @property
    def learns_critic(self) -> bool:
        return self.source != "env"

    # ------------------------------------------------------------------------------------------ contract

    def init(self, key: Array, spec: MultiAgentSpec) -> CriticState | tuple:
        """Check the default actions against ``spec``; a fresh critic and Adam state (``()`` for ``source="env"``)."""
        self.default_actions(spec)
        if not self.learns_critic:
            return ()
        x = jnp.zeros(spec.global_state_size + spec.n_agents * spec.max_actions, jnp.float32)
        params = self._critic().init(key, x)
        return CriticState(params, self._optimizer().init(params))

    def apply(self, tstate: CriticState | tuple, env: MultiAgentEnv | None, ctx: StepContext) -> Array:
        """Difference rewards ``[E, n]`` of one step of ``E`` envs (``env=None``: from the critic)."""
        actions = jnp.asarray(ctx.actions, jnp.int32)
        n = actions.shape[-1]
        A = ctx.observation.action_mask.shape[-1]
        default = jnp.asarray(np.broadcast_to(np.asarray(self.default_action, np.int32), (n,)))
        candidates = COUNTERFACTUALS[self.counterfactual](actions, jnp.asarray(ctx.probs), default)
        if self.source == "env" or (self.source == "auto" and env is not None):
            if env is None:
                raise LearnerConfigError(
                    "DifferenceRewards(source='env') replays the env's step, but this loop passes no env (the host "
                    "loop cannot replay a PettingZoo env); use source='critic' or 'auto'"
                )
            team = jnp.asarray(ctx.reward, jnp.float32).mean(axis=-1)  # [E] — the real step's G
            counter = replay_team_rewards(env, ctx.key, ctx.env_state, candidates.joint)  # [E, n, C]
        else:
            critic, params = self._critic(), CriticState(*tstate).params
            state = jnp.asarray(ctx.observation.global_state)
            team = forward(critic, params, critic_inputs(state, actions, A))[..., 0]  # [E]
            counter = forward(critic, params, critic_inputs(state, candidates.joint, A))[..., 0]  # [E, n, C]
        baseline = jnp.sum(candidates.weights * counter, axis=-1)  # [E, n]
        return (team[:, None] - baseline).astype(jnp.float32)

    def update(self, key: Array, tstate: CriticState | tuple, rollout: Rollout) -> tuple[Any, dict[str, Array]]:
        """Regress the critic on the rollout's team rewards: ``critic_steps`` full-batch Adam steps on the mean
        squared error of ``G_hat(s_t, a_t)`` against ``G_t = env_reward.mean(-1)``; metric ``critic_loss`` (before
        the steps). Nothing to learn for ``source="env"``."""
        if not self.learns_critic:
            return tstate, {}
        A = rollout.observation.action_mask.shape[-1]
        x = critic_inputs(rollout.observation.global_state, rollout.actions, A)
        x = x.reshape(-1, x.shape[-1])
        y = rollout.env_reward.astype(jnp.float32).mean(axis=-1).reshape(-1)
        critic, optimizer = self._critic(), self._optimizer()

        def loss(params: Any) -> Array:
            return jnp.mean(jnp.square(forward(critic, params, x)[..., 0] - y))

        def step(state: CriticState, _: None) -> tuple[CriticState, Array]:
            value, grads = jax.value_and_grad(loss)(state.params)
            updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
            return CriticState(optax.apply_updates(state.params, updates), opt_state), value

        trained, losses = jax.lax.scan(step, CriticState(*tstate), None, length=self.critic_steps)
        return trained, {"critic_loss": losses[0]}

    # ------------------------------------------------------------------------------------------ pieces

    def default_actions(self, spec: MultiAgentSpec) -> tuple[int, ...]:
        """The default action of every agent, checked against its action count."""
        n = spec.n_agents
        defaults = self.default_action if isinstance(self.default_action, tuple) else (self.default_action,) * n
        if len(defaults) != n:
            raise LearnerConfigError(
                f"DifferenceRewards: default_action has {len(defaults)} entries, but {spec.name} has {n} agents; "
                "give one action index per agent or a single index for all"
            )
        for i, (c, k) in enumerate(zip(defaults, spec.num_actions, strict=True)):
            if c >= k:
                raise LearnerConfigError(
                    f"DifferenceRewards: default_action {c} of agent {i} ({spec.agent_names[i]}) is out of range: it "
                    f"has {k} actions (0..{k - 1})"
                )
        return tuple(int(c) for c in defaults)

    def _critic(self) -> MLP:
        return MLP(tuple(self.critic_hidden), 1, act="relu", head_gain=1.0)

    def _optimizer(self) -> optax.GradientTransformation:
        return optax.adam(self.critic_lr)


__all__ = [
    "COUNTERFACTUALS",
    "SOURCES",
    "Candidates",
    "CriticState",
    "DifferenceRewards",
    "critic_inputs",
    "default_candidates",
    "expected_candidates",
    "replay_team_rewards",
]
