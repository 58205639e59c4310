"""The optimal state adversary against a fixed joint policy, solved exactly as an MDP, and the random baseline.

State-adversarial stochastic game (Zhang, Chen, Xiao et al. 2020, "Robust deep reinforcement learning against
adversarial perturbations on state observations", NeurIPS, SA-MDP, Def. 1 and Lemma 1 for one agent; Han, Chen &
Li 2024, "What is the solution for state-adversarial multi-agent RL?", TMLR, §3 for several agents): in true state
s an adversary shows each attacked agent j a state ``ŝ_j ∈ B^j(s)``; the agents then play

    q_ŝ(a | s) = Π_{j attacked} π_j(a_j | ŝ_j)  Π_{i not attacked} π_i(a_i | s).

With the agents' policy π fixed, the adversary faces an MDP (Zhang et al. 2020, Lemma 1): its state is the true
state s, its action the tuple ``ŝ = (ŝ_j)_j ∈ Π_j B^j(s)``, its reward ``r_w(s, ŝ) = Σ_a q_ŝ(a|s) Σ_i w_i R_i(s,
a)`` (which it minimises) and its transitions ``Σ_a q_ŝ(a|s) T(·|s, a)``. Its optimal value

    V_ν*(s) = min_{ŝ ∈ Π_j B^j(s)} [ r_w(s, ŝ) + γ Σ_s' P(s'|s, ŝ) V_ν*(s') ]

is reached by a deterministic stationary adversary, found here exactly by Howard's policy iteration with linear
solves (Puterman 1994, §6.4; :func:`marlkit.games.properties.optimal_values`). The objective is the weighted sum
``Σ_i w_i J_i`` with weights defaulting to the mean (w_i = 1/n), so for a common-payoff game it is the team return.
The per-agent returns under that adversary are then evaluated exactly (``StochasticGame.evaluate`` of the joint the
agents actually play).

:func:`random_perception_evaluation` is the "random noise of the same budget" baseline: each attacked agent
perceives a state drawn uniformly from ``B^j(s)``, independently — i.e. agent j plays the average of its policy over
``B^j(s)``, an ordinary per-agent policy evaluated exactly.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.properties import optimal_values, require_fully_observable
from marlkit.games.stochastic import StochasticGame
from marlkit.games.uncertainty import StateUncertainty

__all__ = [
    "AdversaryActions",
    "AdversaryResult",
    "adversary_actions",
    "joint_rows",
    "objective_weights",
    "perceived_joint",
    "random_perception_evaluation",
    "worst_case_evaluation",
]


@dataclass(frozen=True, eq=False)
class AdversaryResult:
    """A joint policy's value under a state adversary (module docstring).

    Attributes:
        value: ``Σ_i w_i J_i`` under the adversary, from μ_0 (what the optimal adversary minimises).
        returns: ``[n]`` each agent's return J_i under the adversary.
        state_values: ``[S]`` the weighted value ``Σ_i w_i V_i(s)`` under the adversary.
        adversary: ``[n, S, S]`` the distribution of the state agent j perceives in true state s (one-hot for the
            optimal adversary, uniform over B^j(s) for the random one; the identity for unattacked agents).
        clean_value: ``Σ_i w_i J_i`` without attack.
        clean_returns: ``[n]`` returns without attack.
        perceived_policy: ``[S, A_1, .., A_n]`` the joint-action distribution the agents actually play.
        weights: ``[n]`` the objective's weights.
        kind: ``"optimal"`` or ``"random"``.
    """

    value: float
    returns: np.ndarray
    state_values: np.ndarray
    adversary: np.ndarray
    clean_value: float
    clean_returns: np.ndarray
    perceived_policy: np.ndarray
    weights: np.ndarray
    kind: str

    @property
    def gap(self) -> float:
        """``clean_value - value`` >= 0: what the attack costs (the robustness gap)."""
        return self.clean_value - self.value

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": float(self.value),
            "returns": self.returns.tolist(),
            "clean_value": float(self.clean_value),
            "clean_returns": self.clean_returns.tolist(),
            "gap": float(self.gap),
            "state_values": self.state_values.tolist(),
            "adversary": self.adversary.tolist(),
            "perceived_policy": self.perceived_policy.tolist(),
            "weights": self.weights.tolist(),
        }


def objective_weights(game: StochasticGame, weights: Any = None) -> np.ndarray:
    """The objective's weights ``[n]``: ``weights`` validated, or the mean ``1/n`` each by default."""
    n = game.n_players
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)):
        raise InvalidGameError(f"weights: expected {n} finite numbers (one per agent), got {weights!r}")
    return w


def _check(game: StochasticGame, policy: np.ndarray, uncertainty: StateUncertainty) -> np.ndarray:
    if not isinstance(game, StochasticGame):
        raise NotApplicableError(f"a state adversary needs a StochasticGame, got {type(game).__name__}")
    if not isinstance(uncertainty, StateUncertainty):
        raise InvalidGameError(f"uncertainty: expected a StateUncertainty, got {type(uncertainty).__name__}")
    require_fully_observable(game, "a state adversary (it perturbs the state an agent perceives)")
    uncertainty.check_against(game)
    pi = game.check_policy(policy)
    live = ~game.terminal
    for j in uncertainty.attacked:
        # bad[s, t, a]: shown t in live state s, agent j would play a, illegal in s
        bad = (
            uncertainty.allowed[j][:, :, None]
            & (pi[j] > 0)[None, :, :]
            & ~game.action_mask[j][:, None, :]
            & live[:, None, None]
        )
        if np.any(bad):
            s, t, a = (int(k) for k in np.argwhere(bad)[0])
            raise NotApplicableError(
                f"state uncertainty: agent {j} shown state {t} in state {s} would play action {a}, illegal in state "
                f"{s}; B^{j}({s}) may only hold states with the same legal actions"
            )
    return pi


@dataclass(frozen=True, eq=False)
class AdversaryActions:
    """Every (true state, perceived-state tuple) pair: the adversary's actions, flattened.

    Attributes:
        state: ``[N]`` the true state of each action.
        perceived: ``[N, n]`` the state each agent perceives (the true state for unattacked agents).
        slot: ``[N]`` the action's index among its state's actions (``< width``).
        width: the most actions of any state.
    """

    state: np.ndarray
    perceived: np.ndarray
    slot: np.ndarray
    width: int


@functools.lru_cache(maxsize=16)
def adversary_actions(uncertainty: StateUncertainty) -> AdversaryActions:
    """The adversary's actions ``Π_{j attacked} B^j(s)`` at every state s, flattened (:class:`AdversaryActions`).

    Cached per uncertainty object (frozen, with a read-only ``allowed``), since searches evaluate many policies
    against the same sets.
    """
    n, S = uncertainty.n_agents, uncertainty.num_states
    states, perceived, slots = [], [], []
    for s in range(S):
        for k, tup in enumerate(itertools.product(*(uncertainty.perceivable(j, s) for j in uncertainty.attacked))):
            row = [s] * n
            for j, t in zip(uncertainty.attacked, tup, strict=True):
                row[j] = t
            states.append(s)
            perceived.append(row)
            slots.append(k)
    arrays = np.array(states), np.array(perceived).reshape(-1, n), np.array(slots)
    for array in arrays:
        array.setflags(write=False)  # cached: shared by every caller
    return AdversaryActions(*arrays, int(arrays[2].max()) + 1)


def joint_rows(policy: np.ndarray, perceived: np.ndarray, num_actions: tuple[int, ...]) -> np.ndarray:
    """``[N, A_1..A_k]``: the product of ``policy[i](· | perceived[:, i])`` over the agents of ``policy [k, S, A]``."""
    N, k = perceived.shape
    joint = np.ones((N,) + (1,) * k)
    for i, m in enumerate(num_actions):
        view = [1] * (k + 1)
        view[0], view[i + 1] = N, m
        joint = joint * policy[i, perceived[:, i], :m].reshape(view)
    return joint


def perceived_joint(policy: np.ndarray, perceived: np.ndarray, num_actions: tuple[int, ...]) -> np.ndarray:
    """``[S, A_1..A_n]`` the product joint when agent i perceives the distribution ``perceived[i, s, :]`` over states.

    Agent i at true state s plays ``Σ_ŝ perceived[i, s, ŝ] π_i(·|ŝ)``; a one-hot row is a deterministic adversary.
    """
    n, S = perceived.shape[:2]
    joint = np.ones((S,) + (1,) * n)
    for i, m in enumerate(num_actions):
        effective = perceived[i] @ policy[i, :, :m]  # [S, m]
        view = [1] * (n + 1)
        view[0], view[i + 1] = S, m
        joint = joint * effective.reshape(view)
    return joint


def _result(game: StochasticGame, pi: np.ndarray, perceived: np.ndarray, w: np.ndarray, kind: str) -> AdversaryResult:
    joint = perceived_joint(pi, perceived, game.num_actions)
    V = game.evaluate(joint, joint=True)
    clean = game.expected_return(pi)
    returns = V @ game.initial
    return AdversaryResult(float(w @ returns), returns, w @ V, perceived, float(w @ clean), clean, joint, w, kind)


def worst_case_evaluation(
    game: StochasticGame, policy: np.ndarray, uncertainty: StateUncertainty, weights: Any = None
) -> AdversaryResult:
    """The optimal state adversary against the fixed joint policy ``policy [n, S, A_max]`` (module docstring).

    Exact: the adversary's MDP (actions: the perceived-state tuples of the attacked agents) is solved by policy
    iteration with linear solves. ``weights`` default to the mean (the team return of a common-payoff game).

    Raises:
        NotApplicableError: a POSG, or a perceived state whose policy plays an action illegal in the true state.
    """
    pi = _check(game, policy, uncertainty)
    w = objective_weights(game, weights)
    n, S = game.n_players, game.num_states
    actions = adversary_actions(uncertainty)
    K, st = actions.width, actions.state
    q = joint_rows(pi, actions.perceived, game.num_actions).reshape(len(st), -1)  # [N, J]
    reward_w = np.tensordot(w, game.rewards, axes=1).reshape(S, -1)  # [S, J]
    T = game.transitions.reshape(S, -1, S)
    r = np.zeros((S, K))
    P = np.zeros((S, K, S))
    allowed = np.zeros((S, K), dtype=bool)
    r[st, actions.slot] = (q * reward_w[st]).sum(axis=1)
    P[st, actions.slot] = np.einsum("nj,njt->nt", q, T[st])
    allowed[st, actions.slot] = True
    scale = max(1.0, float(np.abs(reward_w).max()) / (1.0 - game.gamma))
    _, choice = optimal_values(-r, P, allowed, game.gamma, game.terminal, 1e-12 * scale)
    chosen = np.zeros(S, dtype=int)  # the flat index of each state's chosen action
    picked = np.flatnonzero(actions.slot == choice[st])
    chosen[st[picked]] = picked
    live = np.flatnonzero(~game.terminal)
    adversary = np.broadcast_to(np.eye(S), (n, S, S)).copy()
    for i in range(n):
        adversary[i, live] = np.eye(S)[actions.perceived[chosen[live], i]]
    return _result(game, pi, adversary, w, "optimal")


def random_perception_evaluation(
    game: StochasticGame, policy: np.ndarray, uncertainty: StateUncertainty, weights: Any = None
) -> AdversaryResult:
    """The joint policy's value when each attacked agent perceives a uniform random state of ``B^j(s)``.

    The "random noise of the same budget" baseline of the robustness curves; exact (a per-agent policy
    evaluation, module docstring).
    """
    pi = _check(game, policy, uncertainty)
    w = objective_weights(game, weights)
    allowed = uncertainty.allowed.astype(np.float64)
    return _result(game, pi, allowed / allowed.sum(axis=2, keepdims=True), w, "random")
