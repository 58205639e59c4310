"""A small constrained game: two agents share a resource and high use is capped by a discounted cost budget.

This is marlkit's own illustrative game (no published source), in the constrained Markov game form of Altman
1999 (Constrained Markov Decision Processes, CRC) as used in safe MARL (Gu et al. 2021, "Multi-agent
constrained policy optimisation"): agent i must keep J_i(π) = E[Σ_t γ^t C_i(s_t, a_t)] within
its limit.

One state, repeated with discount γ. Each step both agents choose ``low`` or ``high`` use of a shared resource:

    reward of agent i:   low -> 1;   high -> 3 if the other is low, 1.5 if both are high (congestion);
    cost of agent i:     1 per step it plays high, 0 otherwise;     limit: ``limit`` per agent.

Without the constraint ``high`` strictly dominates and (high, high) pays 1.5 per step. A stationary policy
playing high with probability p costs p / (1 - γ), so the default limit 4 at γ = 0.9 allows p <= 0.4; both at
p = 0.4 earn 0.6·1 + 0.4·(0.6·3 + 0.4·1.5) = 1.56 per step, more than the unconstrained equilibrium.
"""

from __future__ import annotations

import numpy as np

from marlkit.games.catalog import checks as check
from marlkit.games.catalog.registry import labels, register
from marlkit.games.stochastic import StochasticGame

ACTIONS = ("low", "high")
REWARD_ROW = np.array([[1.0, 1.0], [3.0, 1.5]])
"""Agent 1's reward [own action, other's action]; agent 2's is its transpose."""
HIGH_COST = 1.0


@register(
    "resource-sharing",
    kind="constrained",
    description="Constrained resource game: high use pays more but costs 1 per step under a discounted budget.",
    citation="marlkit's own illustrative game (no published source); constrained Markov games as in Altman "
    "1999, Constrained Markov Decision Processes (CRC)",
    aliases=("constrained-resource",),
)
def resource_sharing(*, gamma: float = 0.9, limit: float = 4.0) -> StochasticGame:
    """The shared-resource game of the module docstring: one state, costs ``[2, 1, 1, 2, 2]``, limits ``[2, 1]``."""
    gamma = check.discount(gamma)
    budget = check.real("limit", limit)
    check.require(budget >= 0, "limit", "a cost limit >= 0", limit)
    rewards = np.stack([REWARD_ROW, REWARD_ROW.T])[:, None]  # [2, S=1, 2, 2]
    high = np.array([1.0 if a == "high" else 0.0 for a in ACTIONS]) * HIGH_COST
    costs = np.stack([np.broadcast_to(high[:, None], (2, 2)), np.broadcast_to(high[None, :], (2, 2))])
    return StochasticGame(
        transitions=np.ones((1, 2, 2, 1)),
        rewards=rewards,
        initial=np.ones(1),
        gamma=gamma,
        costs=costs[:, None, None],  # [n=2, m=1, S=1, 2, 2]
        limits=np.full((2, 1), budget),
        player_names=("agent1", "agent2"),
        action_names=(ACTIONS, ACTIONS),
        state_names=("s0",),
        **labels("resource-sharing", gamma=gamma, limit=budget),
    )
