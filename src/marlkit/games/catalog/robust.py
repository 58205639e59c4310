"""Games for robust MARL (docs/robust.md): a state-adversarial game whose robust policy must be stochastic, and
seeded random stochastic games for the exact robust solvers' tests.

**perception-guess** (marlkit's own illustrative game, built for the claim of Han et al. 2024, "What is the
solution for state-adversarial multi-agent RL?", TMLR, that the robust agent policy may have to be stochastic).
One agent, three states ``a-zone``, ``mixed-zone`` and ``c-zone`` visited i.i.d. uniformly whatever the agent does
(μ_0 uniform), actions ``a``, ``b``, ``c``, rewards::

    a-zone:      a -> 1, b -> 0, c -> 0
    mixed-zone:  a -> 0, b -> 2, c -> 1
    c-zone:      a -> 1, b -> 0, c -> 2

The suggested state uncertainty (``metadata["state_distance"]`` with radius 1, attacked agent 0): in ``c-zone``
the adversary may show any state; the other two are seen truly. Write π(·|a-zone) = a (optimal, and it fixes what
``c-zone`` earns when shown as ``a-zone``: 1), π(·|c-zone) = c, and π(·|mixed-zone) = (0, 1 - q, q). Per step, the
expected worst-case reward is (1/3)[1 + (2 - q) + min(1, 2q, 2)], maximal at q = 1/2 with 3.5/3; the
robust value is (3.5/3)/(1 - γ) = 35/3 ≈ 11.667 at γ = 0.9. Every deterministic policy earns at most 1 per step
(q ∈ {0, 1}: 3/3), i.e. 10 — the best deterministic robust policy is strictly worse than the stochastic one (checked
against the LP and brute force in tests/solve/test_robust_policy.py). Without attack the optimum is 5/3 per step
(50/3).
"""

from __future__ import annotations

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.catalog import checks as check
from marlkit.games.catalog.registry import labels, register
from marlkit.games.stochastic import StochasticGame

GUESS_REWARDS = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 1.0], [1.0, 0.0, 2.0]])
"""``[state, action]`` rewards of perception-guess (module docstring)."""
GUESS_DISTANCE = [[0.0, 9.0, 9.0], [9.0, 0.0, 9.0], [1.0, 1.0, 0.0]]
"""``d(s, ŝ)``: with radius 1, only ``c-zone`` (row 2) may be shown as another state (not symmetric on purpose)."""


@register(
    "perception-guess",
    kind="stochastic",
    description="One agent, three i.i.d. states; under a state attack on the last one the robust policy must mix.",
    citation="marlkit's own illustrative game (no published source), for the stochastic robust agent policy of "
    "Han, Chen & Li 2024, What is the solution for state-adversarial multi-agent RL? (TMLR)",
)
def perception_guess(*, gamma: float = 0.9) -> StochasticGame:
    """The game of the module docstring; ``metadata["state_distance"]`` holds the suggested state distance."""
    gamma = check.discount(gamma)
    S = 3
    meta = labels("perception-guess", gamma=gamma)
    return StochasticGame(
        transitions=np.full((S, 3, S), 1.0 / S),
        rewards=GUESS_REWARDS[None],
        initial=np.full(S, 1.0 / S),
        gamma=gamma,
        player_names=("agent",),
        action_names=(("a", "b", "c"),),
        state_names=("a-zone", "mixed-zone", "c-zone"),
        name=meta["name"],
        description=meta["description"],
        citation=meta["citation"],
        metadata={**meta["metadata"], "state_distance": GUESS_DISTANCE, "state_radius": 1.0, "attacked": [0]},
    )


CORRIDOR_ACTIONS = ("left", "right")


@register(
    "misled-corridor",
    kind="stochastic",
    description="Two agents push a box along a corridor to the middle cell; a state attack on one can push it off.",
    citation="marlkit's own illustrative game (no published source), a common-payoff state-adversarial game in the "
    "sense of Han, Chen & Li 2024, What is the solution for state-adversarial multi-agent RL? (TMLR)",
)
def misled_corridor(*, length: int = 5, gamma: float = 0.9) -> StochasticGame:
    """Common payoff: a box on cells ``0..length-1`` moves one cell left (right) when both agents push left (right)
    and stays when they disagree; the team earns 1 per step while the box is on the middle cell. It starts at either
    end (probability 1/2 each), so agent 1 must push right on the left half and left on the right half.

    Nominal optimum: push towards the middle together, then disagree there forever: γ^m / (1 - γ) with
    m = length // 2 (8.1 at the defaults). Suggested attack (``metadata``): agent 1 may be shown a neighbouring
    cell (``|s - ŝ| <= 1``). On the middle cell agent 1 is then shown the side where it pushes the way agent 0 does,
    and the box leaves the middle; the dynamics matter. At the defaults (tests/solve/test_robust_policy.py) every
    deterministic team is held to 4.05, a stochastic team found by :func:`marlkit.solve.robust.robust_agent_policy`
    guarantees 4.909, and the certified upper bound is the nominal 8.1.
    """
    gamma = check.discount(gamma)
    L = check.integer("length", length, 3, 15)
    middle = L // 2
    T = np.zeros((L, 2, 2, L))
    for s in range(L):
        for a in range(2):
            for b in range(2):
                move = (1 if a == 1 else -1) if a == b else 0
                T[s, a, b, min(max(s + move, 0), L - 1)] = 1.0
    R = np.zeros((2, L, 2, 2))
    R[:, middle] = 1.0
    cells = np.arange(L)
    meta = labels("misled-corridor", length=L, gamma=gamma)
    return StochasticGame(
        transitions=T,
        rewards=R,
        initial=(np.eye(L)[0] + np.eye(L)[-1]) / 2,
        gamma=gamma,
        player_names=("agent0", "agent1"),
        action_names=(CORRIDOR_ACTIONS, CORRIDOR_ACTIONS),
        state_names=tuple(f"cell{c}" for c in cells),
        name=meta["name"],
        description=meta["description"],
        citation=meta["citation"],
        metadata={
            **meta["metadata"],
            "state_distance": np.abs(np.subtract.outer(cells, cells)).astype(float).tolist(),
            "state_radius": 1.0,
            "attacked": [1],
        },
    )


def random_stochastic(
    rng: np.random.Generator,
    *,
    states: int = 3,
    actions: int | tuple[int, ...] = 2,
    players: int = 2,
    utility: str = "general",
    terminal: bool = False,
    sparse: bool = False,
    gamma: float = 0.9,
) -> StochasticGame:
    """A seeded random stochastic game for tests: rewards uniform in [-1, 1], transition rows Dirichlet(1).

    ``utility``: ``"general"``, ``"common"`` (one reward for all) or ``"zero-sum"`` (two players, R_1 = -R_0).
    ``terminal``: the last state is absorbing (value 0). ``sparse``: about half the transition entries are 0
    (so the worst-case balls meet the simplex's boundary).
    """
    rng = check.generator(rng)
    S = check.integer("states", states, 1)
    n = check.integer("players", players, 1)
    counts = check.action_counts(actions, n)
    utility = check.choice("utility", utility, ("general", "common", "zero-sum"))
    if utility == "zero-sum" and n != 2:
        raise InvalidGameError("random_stochastic: parameter 'players': a zero-sum game has two players")
    T = rng.dirichlet(np.ones(S), size=(S, *counts))
    if sparse:
        T = T * (rng.random(T.shape) < 0.5)
        T[..., 0] += T.sum(axis=-1) == 0
        T = T / T.sum(axis=-1, keepdims=True)
    R = rng.uniform(-1.0, 1.0, size=(n, S, *counts))
    if utility == "common":
        R = np.broadcast_to(R[:1], R.shape).copy()
    elif utility == "zero-sum":
        R[1] = -R[0]
    done = np.zeros(S, dtype=bool)
    if terminal and S > 1:
        done[-1] = True
    return StochasticGame(T, R, rng.dirichlet(np.ones(S)), check.discount(gamma), terminal=done)
