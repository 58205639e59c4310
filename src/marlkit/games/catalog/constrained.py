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

Exact optima at the defaults (γ = 0.9, limit 4, so each agent may play high with probability at most 0.4 per step;
derived by hand, checked against the LPs in tests/games/test_constrained_games.py):

* **constrained Nash equilibrium**: both play high with probability 0.4 (high earns 1 + 1.4 p_i per step against
  an opponent at 0.4, so each raises p_i to its cap), returns 15.6 each; each agent's own multiplier there is 1.4
  (one more unit of its budget buys 0.1 of probability per step worth 1.4, i.e. 1.4 of return) — what an
  independent Lagrangian learner's λ should approach, not the team's λ* = 2 below;
* **correlated team optimum** (sum of rewards): (low, high) and (high, low) with 0.4 each and (low, low) 0.2, i.e.
  2·0.2 + 4·0.8 = 3.6 per step, team return 36; λ* = 2 per agent (one more unit of budget moves 0.1 of
  probability per step from (low, low), worth 2, to an asymmetric outcome, worth 4);
* **best product (decentralised) policy**: the team reward 2 + 2p + 2q - 3pq increases in p and q while both are
  below 2/3, so p = q = 0.4: 3.12 per step, team return 31.2 — independent agents cannot reach the correlated 36;
* **unconstrained team optimum**: (low, high) forever, 4 per step, team return 40 (so safety costs 4).

:func:`narrow_passage` separates role-differentiated from symmetric policies; :func:`random_constrained` draws
seeded random constrained games (tests and ``bench/safe_lp.py``).
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


PASSAGE_ACTIONS = ("go", "wait")


@register(
    "narrow-passage",
    kind="constrained",
    description="Constrained passage: each agent earns 1 per step it goes; both going is a collision (cost 1 each) "
    "under a discounted budget — only role-differentiated policies reach the optimum.",
    citation="marlkit's own illustrative game (no published source); constrained Markov games as in Altman "
    "1999, Constrained Markov Decision Processes (CRC)",
)
def narrow_passage(*, gamma: float = 0.9, limit: float = 0.4) -> StochasticGame:
    """Two agents share a one-lane passage, repeated with discount γ (one state).

    Each step each agent chooses ``go`` (reward 1) or ``wait`` (reward 0); if both go they collide and each pays
    cost 1. Agent i must keep its discounted collision cost within ``limit``: Pr(both go) <= limit·(1 - γ) per step
    (0.04 at the defaults).

    Exact optima at the defaults (by hand; tests/games/test_constrained_games.py checks them against the LPs):

    * **correlated team optimum**: Pr(go, wait) + Pr(wait, go) + 2 Pr(go, go) = 1 + Pr(go, go) - Pr(wait, wait) is
      largest at Pr(go, go) = 0.04, Pr(wait, wait) = 0: 1.04 per step, team return 10.4; λ*_1 + λ*_2 = 1 (the two
      constraints are the same inequality, so only their sum is determined);
    * **best product policy**: maximise p + q subject to p q <= 0.04; on the curve q = 0.04 / p the sum is convex
      in p, so the maximum is at an end: (p, q) = (1, 0.04) or (0.04, 1), 1.04 per step, team return 10.4 — the
      correlated optimum, reached only by **role-differentiated** agents (one goes, the other mostly waits);
    * **best symmetric product policy** p = q: p^2 <= 0.04, p = 0.2, 0.4 per step, team return 4.0 — a shared
      policy (parameter sharing without an agent id) loses 62% of the return;
    * **unconstrained**: both go, 2 per step, team return 20.
    """
    gamma = check.discount(gamma)
    budget = check.real("limit", limit)
    check.require(budget >= 0, "limit", "a cost limit >= 0", limit)
    go = np.array([1.0, 0.0])
    rewards = np.stack([np.broadcast_to(go[:, None], (2, 2)), np.broadcast_to(go[None, :], (2, 2))])
    collision = np.outer(go, go)
    return StochasticGame(
        transitions=np.ones((1, 2, 2, 1)),
        rewards=rewards[:, None],
        initial=np.ones(1),
        gamma=gamma,
        costs=np.stack([collision, collision])[:, None, None],  # [n=2, m=1, S=1, 2, 2]
        limits=np.full((2, 1), budget),
        player_names=("agent1", "agent2"),
        action_names=(PASSAGE_ACTIONS, PASSAGE_ACTIONS),
        state_names=("s0",),
        **labels("narrow-passage", gamma=gamma, limit=budget),
    )


def random_constrained(
    rng: np.random.Generator,
    states: int = 2,
    actions: tuple[int, ...] = (2, 2),
    constraints: int = 1,
    gamma: float = 0.8,
    terminal: bool = False,
    slack: float = 1.0,
) -> StochasticGame:
    """A random constrained game: transitions Dirichlet(1), rewards N(0, 1), costs uniform on [0, 1], initial
    Dirichlet(1) (every state has initial mass), the last state terminal if ``terminal``; limits are ``slack``
    times the uniform policy's costs, so the uniform policy is feasible when ``slack >= 1``."""
    rng = check.generator(rng)
    n = len(actions)
    S = check.integer("states", states, 2 if terminal else 1)
    T = rng.dirichlet(np.ones(S), size=(S, *actions))
    R = rng.normal(size=(n, S, *actions))
    C = rng.uniform(0.0, 1.0, size=(n, constraints, S, *actions))
    flags = np.zeros(S, dtype=bool)
    flags[-1] = terminal
    initial = rng.dirichlet(np.ones(S))
    probe = StochasticGame(T, R, initial, gamma, terminal=flags, costs=C, limits=np.ones((n, constraints)))
    limits = slack * probe.expected_costs(probe.uniform_policy())
    return StochasticGame(T, R, initial, gamma, terminal=flags, costs=C, limits=limits, name="random-constrained")
