"""Cooperative games that separate value-decomposition methods (VDN, QMIX) from one another and from the optimum.

* ``two-step`` — the two-step game of Rashid et al. (2018, QMIX, §6.1 and Figure 3 / Table 1): a common-payoff
  stochastic game where additive decomposition (VDN; Sunehag et al. 2018) settles for 7 while monotonic
  decomposition (QMIX) finds 8. In state 1 only agent 1's action matters: A leads to state 2A, where every joint
  action pays 7, B to state 2B, which pays ``[[0, 1], [1, 8]]``. Under uniform exploration an additive fit of 2B is
  ``[[-1.5, 2.5], [2.5, 6.5]]`` (row and column means: the least-squares fit of a sum of one-agent terms), so VDN
  values 2B at 6.5 < 7 and sends agent 1 to 2A; a monotonic mixer conditioned on the state can represent 2B exactly
  (it is monotone in both agents' utilities), values it at 8 and goes there. Discount 0.99 as in the paper (its
  Table 1 reports Q-values 7.92 = 0.99 x 8 and 6.93 = 0.99 x 7 in state 1).
* ``qtran-matrix`` — the non-monotonic one-shot game of Son et al. (2019, QTRAN, §4.1 Table 1a), common payoff
  ``[[8, -12, -12], [-12, 0, 0], [-12, 0, 0]]``, where both VDN and QMIX fail. Why no monotonic mixing
  ``Q_tot = f(Q_1, Q_2)`` (df/dQ_i >= 0) can represent it with the right greedy action: greedy consistency needs
  ``Q_1(A) > Q_1(B)`` and ``Q_2(A) > Q_2(B)`` for the optimum (A, A); then monotonicity gives
  ``Q_tot(A, B) = f(Q_1(A), Q_2(B)) >= f(Q_1(B), Q_2(B)) = Q_tot(B, B)``, i.e. -12 >= 0 — impossible. The fit a
  monotonic learner settles for ranks A below B and C (A's row averages -16/3 under uniform play, B's and C's -4),
  so the agents play among B and C and earn 0 instead of 8 — a Nash equilibrium (a deviation to A costs 12), but
  not the team optimum.

Both games give every agent the same reward (the team reward ``reward.mean(-1)`` is the payoff).
"""

from __future__ import annotations

import numpy as np

from marlkit.games.catalog import checks as check
from marlkit.games.catalog.matrix import ROW_COLUMN, common_payoff
from marlkit.games.catalog.registry import labels, register
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.stochastic import StochasticGame

TWO_STEP_STATES = ("1", "2A", "2B", "end")
TWO_STEP_2A = np.full((2, 2), 7.0)
TWO_STEP_2B = np.array([[0.0, 1.0], [1.0, 8.0]])
QTRAN_PAYOFF = np.array([[8.0, -12.0, -12.0], [-12.0, 0.0, 0.0], [-12.0, 0.0, 0.0]])


@register(
    "two-step",
    kind="stochastic",
    description="QMIX two-step game: agent 1 picks matrix 2A (all 7) or 2B ([[0,1],[1,8]]); VDN gets 7, QMIX 8.",
    citation="Rashid, Samvelyan, de Witt, Farquhar, Foerster & Whiteson 2018, QMIX: Monotonic value function "
    "factorisation for deep multi-agent reinforcement learning, ICML 2018, §6.1, Figure 3 and Table 1",
)
def two_step(*, gamma: float = 0.99) -> StochasticGame:
    """Rashid et al. (2018, §6.1): states 1, 2A, 2B and an absorbing end; in state 1 agent 1's action A (B) moves
    to 2A (2B) and nobody is paid; 2A pays 7 to every joint action, 2B pays ``[[0, 1], [1, 8]]``; then the game
    ends. The team optimum is B then (B, B): return 8 (discounted 8 gamma)."""
    g = check.discount(gamma)
    S, end = len(TWO_STEP_STATES), 3
    transitions = np.zeros((S, 2, 2, S))
    transitions[0, 0, :, 1] = 1.0  # agent 1 plays A: matrix 2A
    transitions[0, 1, :, 2] = 1.0  # agent 1 plays B: matrix 2B
    transitions[1:, :, :, end] = 1.0  # 2A, 2B and the end state lead to (stay in) the end state
    payoff = np.zeros((S, 2, 2))
    payoff[1], payoff[2] = TWO_STEP_2A, TWO_STEP_2B
    return StochasticGame(
        transitions=transitions,
        rewards=np.stack([payoff, payoff]),
        initial=np.eye(S)[0],
        gamma=g,
        terminal=np.arange(S) == end,
        player_names=("agent1", "agent2"),
        action_names=(("A", "B"), ("A", "B")),
        state_names=TWO_STEP_STATES,
        **labels("two-step", gamma=g),
    )


@register(
    "qtran-matrix",
    kind="normal-form",
    description="QTRAN non-monotonic matrix game: optimum 8 at (A, A) guarded by -12; VDN and QMIX both miss it.",
    citation="Son, Kim, Kang, Hostallero & Yi 2019, QTRAN: Learning to factorize with transformation for "
    "cooperative multi-agent reinforcement learning, ICML 2019, §4.1, Table 1(a)",
)
def qtran_matrix() -> NormalFormGame:
    """Son et al. (2019, Table 1a): the common payoff ``[[8, -12, -12], [-12, 0, 0], [-12, 0, 0]]``; no monotonic
    value decomposition represents it with the optimum (A, A) greedy (see the module docstring)."""
    return common_payoff("qtran-matrix", QTRAN_PAYOFF, [("A", "B", "C"), ("A", "B", "C")], ROW_COLUMN)
