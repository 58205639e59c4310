"""Partially observable stochastic games: the decentralized tiger problem (Dec-Tiger).

Nair, Tambe, Yokoo, Pynadath & Marsella 2003, "Taming decentralized POMDPs: towards efficient policy computation
for multiagent settings", IJCAI-03, §2 (the multiagent tiger problem). Two agents stand before two doors; a
tiger is behind one, a treasure behind the other. Each agent listens or opens a door.

* States: tiger-left, tiger-right; the initial state is uniform.
* Transitions: after (listen, listen) the state stays; after any door is opened the problem resets (a new
  uniform state).
* Joint rewards (common to both agents), from the paper's table, by what the two agents do:
  both listen -2; one listens and the other opens the tiger door -101, the treasure door +9; both open the
  tiger door -50; both open the treasure door +20; they open different doors -100.
* Observations, per agent and independent: after (listen, listen) each hears the tiger on the correct side
  with probability 0.85; after any door is opened both observations are uniform. This is the action-dependent
  form ``O_i[s', a_1, a_2, o]`` of :class:`ObservationModel`.

The paper solves finite horizons; marlkit's games are discounted, and the default ``gamma = 0.9`` is the
infinite-horizon Dec-Tiger setting of Bernstein, Amato, Hansen & Zilberstein 2009 (JAIR 34:89-132).
"""

from __future__ import annotations

import numpy as np

from marlkit.games.catalog import checks as check
from marlkit.games.catalog.registry import labels, register
from marlkit.games.observation import ObservationModel
from marlkit.games.stochastic import StochasticGame

STATES = ("tiger-left", "tiger-right")
ACTIONS = ("listen", "open-left", "open-right")
OBSERVATIONS = ("hear-left", "hear-right")
LISTEN = 0

# What an action does in a state: listen, open the tiger's door, or open the treasure's door.
_OUTCOME = {
    (s, a): ("listen" if a == LISTEN else "tiger" if a - 1 == s else "treasure") for s in (0, 1) for a in (0, 1, 2)
}
JOINT_REWARD = {
    frozenset({"listen"}): -2.0,
    frozenset({"listen", "tiger"}): -101.0,
    frozenset({"listen", "treasure"}): 9.0,
    frozenset({"tiger"}): -50.0,
    frozenset({"treasure"}): 20.0,
    frozenset({"tiger", "treasure"}): -100.0,
}
"""Nair et al. (2003, §2) joint reward by the set of the two agents' outcomes."""


@register(
    "dec-tiger",
    kind="posg",
    description="Dec-Tiger: two agents listen (85% accurate) or open a door; common reward, reset on opening.",
    citation="Nair, Tambe, Yokoo, Pynadath & Marsella 2003, Taming decentralized POMDPs: towards efficient "
    "policy computation for multiagent settings, IJCAI-03, §2 (the multiagent tiger problem, reward table)",
    aliases=("dectiger", "tiger"),
)
def dec_tiger(*, gamma: float = 0.9, accuracy: float = 0.85) -> StochasticGame:
    """The decentralized tiger problem (Nair et al. 2003, §2); see the module docstring for its model."""
    gamma = check.discount(gamma)
    q = check.real("accuracy", accuracy)
    check.require(0.0 <= q <= 1.0, "accuracy", "a probability in [0, 1]", accuracy)
    m = len(ACTIONS)

    T = np.full((2, m, m, 2), 0.5)
    T[:, LISTEN, LISTEN] = np.eye(2)
    R = np.zeros((2, m, m))
    for s in range(2):
        for a1 in range(m):
            for a2 in range(m):
                R[s, a1, a2] = JOINT_REWARD[frozenset({_OUTCOME[s, a1], _OUTCOME[s, a2]})]

    heard = np.full((2, m, m, 2), 0.5)  # O_i[s', a1, a2, o]: uniform after any door is opened
    heard[:, LISTEN, LISTEN] = [[q, 1.0 - q], [1.0 - q, q]]
    observations = ObservationModel((heard, heard.copy()), (OBSERVATIONS, OBSERVATIONS))
    return StochasticGame(
        transitions=T,
        rewards=np.stack([R, R]),
        initial=np.full(2, 0.5),
        gamma=gamma,
        observations=observations,
        player_names=("agent1", "agent2"),
        action_names=(ACTIONS, ACTIONS),
        state_names=STATES,
        **labels("dec-tiger", gamma=gamma, accuracy=q),
    )
