"""Removing a backdoor by unlearning: fine-tune the trojaned team with the *recovered* trigger stamped in and the
true reward (PolicyCleanse's mitigation, Guo et al. 2022, §4.3: continue training the trojaned policy in the
environment where the detected trigger appears, with its own reward, so the trigger-conditioned behaviour is
overwritten; the attacker's reward hack is gone).

:func:`unlearn` runs the compiled deep trainer (:func:`marlkit.train.deep.prepare`) for ``steps`` env steps per
seed from the trained states (parameters and optimiser state), on the same :class:`TriggeredEnv` with the recovered
pattern (one per seed, ``[N, k]``) shown to the flagged agents (``[N, n]``) at every step with probability ``rate``
— arrays in the env's state (:func:`marlkit.attacks.backdoor.with_trigger`), so one compiled program serves every
seed's recovered trigger — and no reward transform (the env's reward).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.attacks.backdoor import BackdoorMetrics, check_rate, triggered_env, with_trigger
from marlkit.errors import InvalidGameError

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
    values = np.asarray(trigger, np.float32)
    if values.shape[-1:] != (k,) or values.ndim > 2 or not np.all(np.isfinite(values)):
        raise InvalidGameError(
            f"trigger: expected {k} finite values per seed (the env's trigger channels), got shape {values.shape}"
        )
    values = np.broadcast_to(values, (N, k))
    mask = np.asarray(flagged)
    if mask.dtype != bool:
        from marlkit.attacks.backdoor import agent_mask

        mask = agent_mask(mask.reshape(-1).tolist(), n)
    if mask.shape[-1:] != (n,):
        raise InvalidGameError(f"flagged: expected {n} booleans per seed, got shape {mask.shape}")
    mask = np.broadcast_to(mask, (N, n))
    quiet = dataclasses.replace(env, values=(0.0,) * k, agents=tuple(range(n)), rate=rate)
    plan = prepare(quiet, learner, steps, N, key, steps, num_envs=num_envs)
    start = plan.start()
    carry = start.carry
    env_state = with_trigger(carry.env_state, jnp.asarray(values), jnp.asarray(mask))
    carry = carry._replace(env_state=env_state, learner=states)
    trained, _ = plan.advance(start._replace(carry=carry), 0, plan.num_logs)
    return trained.carry.learner


@dataclass(frozen=True)
class Unlearning:
    """What ``marlkit defend unlearn`` measured: the backdoor's metrics (:class:`BackdoorMetrics`) of the team
    ``before`` and ``after`` fine-tuning for ``steps`` env steps per seed with the recovered ``trigger`` (one per seed)
    shown to the ``flagged_agents`` at ``rate``; ``source`` is the detector output the trigger came from."""

    source: str
    flagged_agents: list[list[int]]
    trigger: list[list[float]]
    steps: int
    rate: float
    before: BackdoorMetrics
    after: BackdoorMetrics

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "flagged_agents": self.flagged_agents,
            "trigger": self.trigger,
            "steps": self.steps,
            "rate": self.rate,
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
        )

    def lines(self) -> list[str]:
        return [
            f"unlearning: {self.steps} env steps per seed, recovered trigger shown to the flagged agents "
            f"{self.flagged_agents} at rate {self.rate:g}",
            "before:",
            *("  " + line for line in self.before.lines()),
            "after (CPVR: against the clean return before):",
            *("  " + line for line in self.after.lines()),
        ]


__all__ = ["Unlearning", "unlearn"]
