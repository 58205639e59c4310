"""Exact observation attacks on tabular policies of exact (fully observable) stochastic games.

The threat model is the state-adversarial game of :mod:`marlkit.solve.robust.state_adversary` (Zhang et al. 2020,
SA-MDP; Han, Chen & Li 2024, SA-MG): in true state ``s`` the adversary shows each attacked agent ``j`` a state
``ŝ_j ∈ B^j(s)`` (a :class:`~marlkit.games.uncertainty.StateUncertainty`, e.g. ``{ŝ : d(s, ŝ) <= ε}`` from
:func:`~marlkit.games.uncertainty.state_ball`), and agent ``j`` plays ``π_j(· | ŝ_j)``. Three exact attacks:

* **untargeted** — the optimal adversary (lowest weighted return): an MDP over perceived states, solved exactly by
  :func:`~marlkit.solve.robust.state_adversary.worst_case_evaluation` (reused, not re-implemented here);
* **targeted** (:func:`forcing_attack`) — force a chosen action ``τ_j(s)``: in every state the adversary shows
  ``ŝ_j = argmax_{ŝ ∈ B^j(s)} π_j(τ_j(s) | ŝ)``, which maximises the probability of the target state by state (the
  objective separates over states, so a per-state argmax is optimal for every state at once); the result reports
  that **forcing probability** per (agent, state) and the team's return under the forcing perception map. The
  default targets (:func:`worst_actions`) are the adversarial policy of Lin et al. (2020) made exact: in each state
  the action of agent ``j`` that minimises the team's action value ``Q^w_j(s, a_j) = Σ_{a_-j} π_-j(a_-j | s) [r_w(s,
  a) + γ Σ_s' T(s' | s, a) V^w(s')]`` of the clean joint policy (a one-step deviation the team is worst off after);
* **minimal flipping budget** (:func:`flip_budgets`) — for every (agent, state) the smallest radius
  ``ε = min {d(s, ŝ) : greedy_j(ŝ) != greedy_j(s)}`` (``+∞`` if no state has another greedy action), under the
  game's state distance (:func:`~marlkit.games.uncertainty.state_distance`; the discrete metric by default). The
  greedy action is the most probable one, ties to the lowest index.

Everything is NumPy float64; values are the weighted objective ``Σ_i w_i J_i`` (the mean over agents by default:
the team return of a common-payoff game).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.stochastic import StochasticGame
from marlkit.games.uncertainty import StateUncertainty
from marlkit.solve.robust.state_adversary import objective_weights, perceived_joint, worst_case_evaluation

__all__ = [
    "ForcingResult",
    "flip_budgets",
    "forcing_attack",
    "greedy_actions",
    "perception_value",
    "worst_actions",
]


def greedy_actions(policy: np.ndarray) -> np.ndarray:
    """``[n, S]``: each agent's most probable action per state (ties: the lowest index)."""
    return np.argmax(np.asarray(policy, dtype=np.float64), axis=-1)


def flip_budgets(policy: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """``[n, S]``: the smallest ``d(s, ŝ)`` over the states ``ŝ`` whose greedy action differs from ``s``'s, per
    agent (``+∞`` where none does) — the minimal radius of a state ball that can flip the agent's action."""
    greedy = greedy_actions(policy)  # [n, S]
    d = np.asarray(distance, dtype=np.float64)
    S = greedy.shape[1]
    if d.shape != (S, S):
        raise InvalidGameError(f"flip budgets: distance must be [S, S] = [{S}, {S}], got {d.shape}")
    differs = greedy[:, :, None] != greedy[:, None, :]  # [n, s, ŝ]
    return np.where(differs, d[None], np.inf).min(axis=2)


def perception_value(
    game: StochasticGame, policy: np.ndarray, perceived: np.ndarray, weights: Any = None
) -> tuple[float, np.ndarray]:
    """``(Σ_i w_i J_i, J [n])`` when agent i in true state s acts on the perceived-state distribution
    ``perceived[i, s, :]`` (one-hot rows: a deterministic perception map), evaluated exactly."""
    w = objective_weights(game, weights)
    joint = perceived_joint(np.asarray(policy, dtype=np.float64), perceived, game.num_actions)
    returns = game.evaluate(joint, joint=True) @ game.initial
    return float(w @ returns), returns


def _action_values(game: StochasticGame, policy: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``Q^w(s, a) = r_w(s, a) + γ Σ_s' T(s'|s, a) V^w(s')`` of the clean joint policy, ``[S, A_1..A_n]``."""
    V = w @ game.evaluate(policy)
    r_w = np.tensordot(w, game.rewards, axes=1)
    return r_w + game.gamma * np.tensordot(game.transitions, V, axes=([-1], [0]))


def worst_actions(game: StochasticGame, policy: np.ndarray, weights: Any = None) -> np.ndarray:
    """``[n, S]``: per agent j and state s the legal action minimising the team's one-step-deviation value
    ``Q^w_j(s, a_j)`` (module docstring) with the other agents on their clean policy (ties: the lowest index)."""
    pi = game.check_policy(policy)
    w = objective_weights(game, weights)
    Q = _action_values(game, pi, w)
    n = game.n_players
    out = np.zeros((n, game.num_states), dtype=int)
    for j in range(n):
        q = Q
        for i in reversed(range(n)):  # contract the other agents' axes, last first, so indices stay valid
            if i == j:
                continue
            view = [1] * q.ndim
            view[0], view[i + 1] = game.num_states, game.num_actions[i]
            q = (q * pi[i, :, : game.num_actions[i]].reshape(view)).sum(axis=i + 1)
        q = np.where(game.action_mask[j, :, : game.num_actions[j]], q, np.inf)  # [S, A_j]
        out[j] = np.argmin(q, axis=1)
    return out


@dataclass(frozen=True, eq=False)
class ForcingResult:
    """A targeted (forcing) state attack (module docstring).

    Attributes:
        targets: ``[n, S]`` the target action per agent and state. shown: ``[n, S]`` the state shown (the true state
            for unattacked agents and terminal states).
        forcing: ``[n, S]`` the probability the agent plays its target under the attack (``π_j(τ | ŝ)``).
        clean_forcing: ``[n, S]`` the same without attack (``π_j(τ | s)``).
        value / returns: the weighted return and per-agent returns under the forcing perception map.
        clean_value: without attack.
    """

    targets: np.ndarray
    shown: np.ndarray
    forcing: np.ndarray
    clean_forcing: np.ndarray
    value: float
    returns: np.ndarray
    clean_value: float


def forcing_attack(
    game: StochasticGame,
    policy: np.ndarray,
    uncertainty: StateUncertainty,
    targets: Any = None,
    weights: Any = None,
) -> ForcingResult:
    """The targeted attack forcing ``targets`` (``[n, S]`` or one action per agent ``[n]``; default
    :func:`worst_actions`) on the attacked agents of ``uncertainty`` (module docstring), exact.

    Raises:
        InvalidGameError: targets of the wrong shape or illegal where they apply; a policy or sets that do not fit.
        NotApplicableError: what :func:`worst_case_evaluation` rejects (a POSG; shown states whose policy plays an
            action illegal in the true state).
    """
    worst_case_evaluation(game, policy, uncertainty, weights)  # validates game, policy and sets (same errors)
    pi = game.check_policy(policy)
    n, S = game.n_players, game.num_states
    if targets is None:
        tau = worst_actions(game, pi, weights)
    else:
        raw = np.asarray(targets)
        if raw.dtype.kind not in "iu" or raw.shape not in ((n,), (n, S)):
            raise InvalidGameError(f"targets: expected integer actions [n] = [{n}] or [n, S] = [{n}, {S}], got {raw!r}")
        tau = np.broadcast_to(raw.reshape(n, -1), (n, S)).astype(int)
    live = ~game.terminal
    for j in uncertainty.attacked:
        bad = live & ~game.action_mask[j, np.arange(S), np.clip(tau[j], 0, game.max_actions - 1)]
        bad |= live & ((tau[j] < 0) | (tau[j] >= game.num_actions[j]))
        if np.any(bad):
            s = int(np.flatnonzero(bad)[0])
            raise InvalidGameError(f"targets: action {int(tau[j, s])} of agent {j} is not legal in state {s}")
    shown = np.broadcast_to(np.arange(S), (n, S)).copy()
    prob = pi[np.arange(n)[:, None], np.arange(S)[None, :], np.clip(tau, 0, game.max_actions - 1)]  # [n, S] clean
    forcing = prob.copy()
    for j in uncertainty.attacked:
        p = np.where(uncertainty.allowed[j], pi[j][:, tau[j]].T, -1.0)
        # p[s, ŝ] = π_j(τ_j(s) | ŝ) on B^j(s), -1 elsewhere; ties keep the true state (argmax after it first)
        p_true = prob[j]
        best = np.argmax(p, axis=1)
        keep = p[np.arange(S), best] <= p_true
        shown[j] = np.where(keep | ~live, np.arange(S), best)
        forcing[j] = np.where(live, p[np.arange(S), shown[j]], prob[j])
    perceived = np.eye(S)[shown]  # [n, S, S]
    value, returns = perception_value(game, pi, perceived, weights)
    clean = float(objective_weights(game, weights) @ game.expected_return(pi))
    return ForcingResult(tau, shown, forcing, prob, value, returns, clean)
