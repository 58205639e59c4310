"""Removing a backdoor by unlearning, two ways.

* ``method="reward"`` (:func:`unlearn`): fine-tune the trojaned team with the *recovered* trigger stamped in and the
  true reward (PolicyCleanse's mitigation, Guo et al. 2022, §4.3: continue training the trojaned policy in the
  environment where the detected trigger appears, with its own reward, so the trigger-conditioned behaviour is
  overwritten; the attacker's reward hack is gone). It removes a backdoor only as far as the true reward punishes
  the target action.
* ``method="distill"`` (:func:`distill_unlearn`): make the flagged agents act under the recovered trigger as they
  act without it — minimise, over the actor's parameters ``θ`` and observations ``o`` of the clean env,

      L(θ) = mean_o Σ_j f_j [ KL(π_θ0(·|o)_j ‖ π_θ(·|stamp_j(o, δ))_j) + KL(π_θ0(·|o)_j ‖ π_θ(·|o)_j) ],

  ``θ0`` the trained parameters (frozen teacher), ``f_j`` the flagged agents, ``δ`` the recovered trigger, ``o``
  the observations of random play and of the team's own greedy play, trigger off (a backdoor lives on the states
  the team trained on, which random play may not reach — distilling on random play alone left it in place on
  simple spread): the first term moves the triggered behaviour onto the clean one, the second keeps the clean
  behaviour where it was (self-distillation; the consistency idea of backdoor-removal defences in supervised
  learning, e.g. Li et al. 2021, "Neural attention distillation", ICLR). It needs no reward, so it also removes a
  backdoor whose target action the task barely punishes.

:func:`unlearn` runs the compiled deep trainer (:func:`marlkit.train.deep.prepare`) for ``steps`` env steps per
seed from the trained states (parameters and optimiser state), on the same :class:`TriggeredEnv` with the recovered
pattern (one per seed, ``[N, k]``) shown to the flagged agents (``[N, n]``) at every step with probability ``rate``
— arrays in the env's state (:func:`marlkit.attacks.backdoor.with_trigger`), so one compiled program serves every
seed's recovered trigger — and no reward transform (the env's reward).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from marlkit.attacks.backdoor import (
    BackdoorMetrics,
    check_rate,
    quiet_env,
    stamp_observation,
    triggered_env,
    with_trigger,
)
from marlkit.attacks.flips import sample_observations
from marlkit.attacks.trojan import probe_observations
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.train.deep import is_recurrent

Array = jax.Array


def unlearn(
    env: Any,
    learner: Any,
    states: Any,
    trigger: Any,
    flagged: Any,
    *,
    steps: int,
    rate: float = 0.3,
    key: int = 0,
    num_envs: int = 16,
) -> Any:
    """Fine-tune the stacked ``states`` (``N`` seeds) with the recovered ``trigger`` (``[k]`` or ``[N, k]``, e.g.
    :attr:`marlkit.attacks.trojan.Detection.trigger` of a flagged agent) shown to the ``flagged`` agents (``[n]`` or
    ``[N, n]`` bool, or a list of agent indices) with probability ``rate`` per step, on the true reward; returns the
    fine-tuned stacked states.

    Raises:
        InvalidGameError: not a TriggeredEnv, a trigger that does not fit its channels, a rate outside [0, 1], bad
            agents or step counts.
    """
    from marlkit.train.deep import prepare

    env = triggered_env(env)
    rate = check_rate(rate)
    n, k = env.spec.n_agents, env.width
    N = jax.tree_util.tree_leaves(states)[0].shape[0]
    values, mask = _per_seed(trigger, flagged, N, n, k)
    quiet = dataclasses.replace(env, values=(0.0,) * k, agents=tuple(range(n)), rate=rate)
    plan = prepare(quiet, learner, steps, N, key, steps, num_envs=num_envs)
    start = plan.start()
    carry = start.carry
    env_state = with_trigger(carry.env_state, jnp.asarray(values), jnp.asarray(mask))
    carry = carry._replace(env_state=env_state, learner=states)
    trained, _ = plan.advance(start._replace(carry=carry), 0, plan.num_logs)
    return trained.carry.learner


def distill_unlearn(
    env: Any,
    learner: Any,
    states: Any,
    trigger: Any,
    flagged: Any,
    *,
    steps: int = 300,
    lr: float = 1e-3,
    probes: int = 64,
    key: int = 0,
) -> Any:
    """Self-distillation unlearning (module docstring, ``method="distill"``) of the stacked ``states`` (``N``
    seeds): ``steps`` Adam steps of learning rate ``lr`` on the loss over a probe set of ``probes`` clean-env
    episodes of random play; ``trigger`` ``[k]`` or ``[N, k]``, ``flagged`` ``[n]`` or ``[N, n]`` bool (or agent
    indices). Returns the stacked states with the new parameters (optimiser state and counters unchanged).

    Raises:
        InvalidGameError: not a TriggeredEnv, a trigger that does not fit, bad agents or step counts.
        NotApplicableError: a learner whose state has no ``params`` (the PPO family has them) or a recurrent one.
    """
    env = triggered_env(env)
    n, k = env.spec.n_agents, env.width
    if not hasattr(states, "params") or is_recurrent(learner, env.spec):
        raise NotApplicableError(
            f"{type(learner).__name__}: distillation unlearning needs a feed-forward learner whose state has "
            "params (IPPO, MAPPO); use method='reward'"
        )
    if int(steps) < 1 or not float(lr) > 0:
        raise InvalidGameError(f"distill_unlearn: steps >= 1 and lr > 0, got {steps}, {lr}")
    N = jax.tree_util.tree_leaves(states)[0].shape[0]
    values, mask = _per_seed(trigger, flagged, N, n, k)
    channels = jnp.asarray(np.stack([env.channels(i) for i in range(n)]), jnp.int32)
    probe = probe_observations(env, jax.random.fold_in(jax.random.key(key), 3), probes)
    quiet = quiet_env(env)  # the team's own greedy play, trigger off: the states its backdoor was trained on
    own = [
        sample_observations(quiet, learner, jax.tree.map(lambda x, i=i: x[i], states), count=probes, key=key)
        for i in range(N)
    ]
    own_probes = jax.tree.map(lambda *xs: jnp.stack(xs), *own)
    return _distill(
        learner, probe, channels, int(steps), float(lr), states, jnp.asarray(values), jnp.asarray(mask), own_probes
    )


def _per_seed(trigger: Any, flagged: Any, N: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(values [N, k], mask [N, n] bool)`` from a trigger ``[k]`` / ``[N, k]`` and flagged agents."""
    values = np.asarray(trigger, np.float32)
    if values.shape[-1:] != (k,) or values.ndim > 2 or not np.all(np.isfinite(values)):
        raise InvalidGameError(
            f"trigger: expected {k} finite values per seed (the env's trigger channels), got shape {values.shape}"
        )
    mask = np.asarray(flagged)
    if mask.dtype != bool:
        from marlkit.attacks.backdoor import agent_mask

        mask = agent_mask(mask.reshape(-1).tolist(), n)
    if mask.shape[-1:] != (n,):
        raise InvalidGameError(f"flagged: expected {n} booleans per seed, got shape {mask.shape}")
    return np.broadcast_to(values, (N, k)), np.broadcast_to(mask, (N, n))


@partial(jax.jit, static_argnums=(0, 3, 4))
def _distill(
    learner: Any,
    random_probe: Any,
    channels: Array,
    steps: int,
    lr: float,
    states: Any,
    values: Array,
    mask: Array,
    own_probes: Any,
) -> Any:
    optimizer = optax.adam(lr)

    def one(state: Any, value: Array, flagged: Array, own: Any) -> Any:
        probe = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), random_probe, own)
        P = probe.obs.shape[0]
        teacher = jax.lax.stop_gradient(learner.policy(state, probe, ()))  # [P, n, A]
        stamped = probe._replace(
            obs=stamp_observation(probe.obs, jnp.broadcast_to(value, (P, value.shape[-1])), flagged, channels)
        )

        def kl(target: Array, probs: Array) -> Array:  # KL(target ‖ probs) per (observation, agent)
            return jnp.sum(
                jnp.where(
                    target > 0, target * (jnp.log(jnp.maximum(target, 1e-12)) - jnp.log(jnp.maximum(probs, 1e-12))), 0.0
                ),
                axis=-1,
            )

        def loss(params: Any) -> Array:
            current = state.replace(params=params)
            triggered = kl(teacher, learner.policy(current, stamped, ()))
            clean = kl(teacher, learner.policy(current, probe, ()))
            return jnp.sum(jnp.where(flagged, (triggered + clean).mean(axis=0), 0.0))

        def body(carry: tuple[Any, Any], _: None) -> tuple[tuple[Any, Any], None]:
            params, opt = carry
            grads = jax.grad(loss)(params)
            updates, opt = optimizer.update(grads, opt, params)
            return (optax.apply_updates(params, updates), opt), None

        (params, _), _ = jax.lax.scan(body, (state.params, optimizer.init(state.params)), None, length=steps)
        return state.replace(params=params)

    return jax.vmap(one)(states, values, mask, own_probes)


@dataclass(frozen=True)
class Unlearning:
    """What ``marlkit defend unlearn`` measured: the backdoor's metrics (:class:`BackdoorMetrics`) of the team
    ``before`` and ``after`` fine-tuning for ``steps`` env steps per seed with the recovered ``trigger`` (one per seed)
    shown to the ``flagged_agents`` at ``rate`` (``method="reward"``), or by self-distillation (``"distill"``);
    ``source`` is the detector output the trigger came from."""

    source: str
    flagged_agents: list[list[int]]
    trigger: list[list[float]]
    steps: int
    rate: float
    before: BackdoorMetrics
    after: BackdoorMetrics
    method: str = "reward"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "flagged_agents": self.flagged_agents,
            "trigger": self.trigger,
            "steps": self.steps,
            "rate": self.rate,
            "method": self.method,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Unlearning:
        return cls(
            str(data["source"]),
            [[int(a) for a in row] for row in data["flagged_agents"]],
            [[float(v) for v in row] for row in data["trigger"]],
            int(data["steps"]),
            float(data["rate"]),
            BackdoorMetrics.from_json(data["before"]),
            BackdoorMetrics.from_json(data["after"]),
            str(data.get("method", "reward")),
        )

    def lines(self) -> list[str]:
        how = (
            f"{self.steps} env steps per seed on the true reward, recovered trigger shown to the flagged agents "
            f"{self.flagged_agents} at rate {self.rate:g}"
            if self.method == "reward"
            else f"self-distillation of the flagged agents {self.flagged_agents} under the recovered trigger"
        )
        return [
            f"unlearning ({self.method}): {how}",
            "before:",
            *("  " + line for line in self.before.lines()),
            "after (CPVR: against the clean return before):",
            *("  " + line for line in self.after.lines()),
        ]


__all__ = ["Unlearning", "distill_unlearn", "unlearn"]
