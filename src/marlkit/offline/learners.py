"""Offline tabular learners: estimate the game from a dataset and adopt the policy rational agents would.

Two learners (Wu, McMahan, Zhu & Xie, AAAI 2023, §3–4), the same procedure with different confidence sets
(:mod:`marlkit.offline.estimate`):

* **certainty equivalence** (``rho = 0``): the game is the point estimate (R̂, P̂);
* **pessimistic** (``rho > 0``): every game whose rewards lie in the box |R_i(s, a) - R̂_i(s, a)| <= ρ / sqrt(N(s, a))
  (unbounded at unvisited (s, a) unless a reward bound is given).

What the learner adopts, in this order (``case`` says which applied):

1. ``dominant`` — a deterministic joint policy that is a Markov perfect dominant strategy equilibrium with worst-case
   margin > 0 (or >= ``iota``) in **every** game of the confidence set (:mod:`marlkit.offline.dominance`). Strict
   dominance makes it unique, and rational agents play it whatever the others do. The candidate is found by
   iterating "each agent's dominant action at each state given the candidate's continuation values" on the point
   estimate (exact in one round for one-shot games, in depth rounds when every path ends; at most S + 2 rounds) and
   is adopted only after the worst-case check.
2. ``unique-nash`` — two-player zero-sum data: the pure minimax policy of the point estimate (Shapley value
   iteration, :func:`marlkit.solve.shapley.shapley_value_iteration`) when it is a strict saddle at every visited
   state in every game of the set, hence the unique Nash equilibrium of each of them (Wu et al. 2023).
3. ``nash-of-estimate`` — otherwise: zero-sum data: the minimax policy of the point estimate (it need not be
   unique across the set); general-sum data played one shot (γ = 0, or no step continues): per visited state the
   Nash equilibrium of the stage game of R̂ (certainty equivalence) or of the lower bounds R̂ - ρ/sqrt(N)
   (pessimistic; an unbounded lower bound counts as the smallest finite one in the data) with the highest total
   payoff among those marlkit's solver finds (:func:`marlkit.solve.nash_equilibria`, ``select_equilibrium``; on a
   tie the first of the best).
4. ``none`` — general-sum data with continuation and no common dominant equilibrium: marlkit has no exact
   general-sum Markov equilibrium solver, and the learner adopts nothing (``policy`` is None).

At states that never appear in the data the adopted policy is uniform over the legal actions (there is nothing to
learn from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from marlkit.offline.dataset import OfflineDataset
from marlkit.offline.dominance import check_target, gap_rows, profiles_text, worst_margins
from marlkit.offline.estimate import EstimatedGame, check_radius, estimate

TOL = 1e-9
"""A worst-case margin must exceed this to count as strict."""

CASES = ("dominant", "unique-nash", "nash-of-estimate", "none")


@dataclass(frozen=True, eq=False)
class OfflinePolicy:
    """What an offline learner adopts (module docstring): ``case``, the ``policy [n, S, A_max]`` (None for
    ``none``), the deterministic ``actions [S, n]`` when the policy is pure at every visited state, the certified
    worst-case ``margin`` of the adopted pure policy (None otherwise) and a sentence ``reason``."""

    learner: str
    rho: float
    case: str
    policy: np.ndarray | None
    actions: np.ndarray | None
    margin: float | None
    reason: str
    visited: np.ndarray
    action_names: tuple[tuple[str, ...], ...] = ()

    def adopts(self, target: object) -> bool:
        """True when the learner plays the deterministic ``target`` (``[n]`` or ``[S, n]``) at every visited state."""
        if self.actions is None:
            return False
        t = np.asarray(target)
        t = np.broadcast_to(t, self.actions.shape) if t.ndim == 1 else t
        return bool(np.all(self.actions[self.visited] == t[self.visited]))

    def describe_actions(self) -> str:
        if self.actions is None:
            return "a mixed policy" if self.policy is not None else "nothing"
        return profiles_text(self.actions, self.visited, self.action_names)

    def lines(self) -> list[str]:
        margin = "" if self.margin is None else f", worst-case margin {self.margin:.6g}"
        return [f"{self.learner} (ρ = {self.rho:g}): {self.case} — {self.describe_actions()}{margin}; {self.reason}"]

    def to_json(self) -> dict[str, Any]:
        return {
            "learner": self.learner,
            "rho": self.rho,
            "case": self.case,
            "actions": None if self.actions is None else self.actions.tolist(),
            "policy": None if self.policy is None else self.policy.tolist(),
            "margin": self.margin,
            "reason": self.reason,
        }


def _q_center(model: EstimatedGame, actions: np.ndarray) -> np.ndarray:
    """Q_i(s, a) ``[n, S, J]`` of the point estimate with the continuation of the pure profile ``actions [S, n]``."""
    S = model.num_states
    t = np.ravel_multi_index(tuple(actions.T), model.num_actions)
    P_dagger = model.transitions[np.arange(S), t]
    V = np.linalg.solve(np.eye(S) - model.gamma * P_dagger, model.means[:, np.arange(S), t].T).T
    return model.means + model.gamma * np.einsum("sjt,it->isj", model.transitions, V)


def _dominant_candidate(model: EstimatedGame, legal: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Iterate each agent's most dominant action per state given the candidate's continuation (module docstring)."""
    S, n, shape = model.num_states, model.n_players, model.num_actions
    actions = np.array([[int(np.argmax(mask[i, s, : shape[i]])) for i in range(n)] for s in range(S)])
    legal_full = legal.reshape(S, *shape)
    for _ in range(S + 2):
        Q = _q_center(model, actions).reshape(n, S, *shape)
        new = actions.copy()
        for i in range(n):
            Qi = np.moveaxis(Q[i], i + 1, 1).reshape(S, shape[i], -1)  # [S, A_i, rest]
            ok = np.moveaxis(legal_full, i + 1, 1).reshape(S, shape[i], -1)
            diff = Qi[:, :, None, :] - Qi[:, None, :, :]  # [S, a, a', rest]
            valid = ok[:, :, None, :] & ok[:, None, :, :] & ~np.eye(shape[i], dtype=bool)[None, :, :, None]
            score = np.where(valid, diff, np.inf).min(axis=(2, 3))
            score = np.where(mask[i, :, : shape[i]], score, -np.inf)
            new[:, i] = np.argmax(score, axis=1)
        if np.array_equal(new, actions):
            break
        actions = new
    return actions


def _pure_policy(actions: np.ndarray, visited: np.ndarray, mask: np.ndarray) -> np.ndarray:
    n, _, a_max = mask.shape
    uniform = mask / mask.sum(axis=2, keepdims=True)
    policy = uniform.copy()
    for i in range(n):
        policy[i, visited] = np.eye(a_max)[actions[visited, i]]
    return policy


def estimated_game(model: EstimatedGame, dataset: OfflineDataset, rewards: np.ndarray | None = None) -> Any:
    """The point estimate as a :class:`~marlkit.games.StochasticGame` with one extra terminal state ``end``: the
    mass of P̂ that terminates (and every unvisited (s, a)) goes there. Initial distribution: the visit frequency."""
    from marlkit.games import StochasticGame

    S, J, n, shape = model.num_states, model.num_joint_actions, model.n_players, model.num_actions
    P = np.zeros((S + 1, J, S + 1))
    P[:S, :, :S] = model.transitions
    P[:S, :, S] = np.maximum(0.0, 1.0 - model.transitions.sum(axis=2))
    P[S, :, S] = 1.0
    R = np.zeros((n, S + 1, J))
    R[:, :S] = model.means if rewards is None else rewards
    visits = np.append(model.counts.sum(axis=1).astype(np.float64), 0.0)
    mask = np.concatenate([dataset.action_mask(), np.ones((n, 1, max(shape)), dtype=bool)], axis=1)
    for i, m in enumerate(shape):
        mask[i, S, m:] = False
    return StochasticGame(
        transitions=P.reshape(S + 1, *shape, S + 1), rewards=R.reshape(n, S + 1, *shape),
        initial=visits / visits.sum(), gamma=model.gamma, terminal=np.append(np.zeros(S, bool), True),
        action_mask=mask, name=f"estimate of {dataset.game['name']}",
    )  # fmt: skip


def learn(dataset: OfflineDataset, rho: float = 0.0, *, iota: float = 0.0, bound: float | None = None) -> OfflinePolicy:
    """The policy the certainty-equivalence (``rho = 0``) or pessimistic (``rho > 0``) learner adopts (module
    docstring); ``iota`` >= 0 is the margin the learner asks of a dominant / saddle policy (> 0 always)."""
    rho = check_radius(rho)
    iota = check_radius(iota, "iota")
    model = estimate(dataset, rho, bound=bound)
    legal = dataset.legal_joint_actions()
    mask = dataset.action_mask()
    visited = model.visited_states()
    name = "pessimistic" if rho > 0 else "certainty-equivalence"
    common: dict[str, Any] = {"learner": name, "rho": rho, "visited": visited, "action_names": tuple(
        tuple(a) for a in dataset.game.get("action_names", ()))}  # fmt: skip
    need = max(iota, TOL)

    candidate = _dominant_candidate(model, legal, mask)
    candidate = check_target(candidate, model.num_states, model.num_actions, legal)
    margins = worst_margins(model, gap_rows(model, candidate, "dominant", legal), model.num_actions)
    if margins.margin >= need:
        return OfflinePolicy(case="dominant", policy=_pure_policy(candidate, visited, mask), actions=candidate,
                             margin=margins.margin, reason="a strict Markov perfect dominant strategy equilibrium "
                             "in every game of the confidence set", **common)  # fmt: skip
    dominant_note = f"no common dominant equilibrium (best candidate's worst-case margin {margins.margin:.3g})"
    if model.zero_sum:
        from marlkit.solve.shapley import shapley_value_iteration

        solution = shapley_value_iteration(estimated_game(model, dataset))
        policy = solution.policy[:, : model.num_states]
        pure = np.argmax(policy, axis=2).T  # [S, 2]
        saddle = worst_margins(model, gap_rows(model, pure, "saddle", legal), model.num_actions)
        if saddle.margin >= need:
            return OfflinePolicy(case="unique-nash", policy=_pure_policy(pure, visited, mask), actions=pure,
                                 margin=saddle.margin, reason="a strict saddle, hence the unique Nash equilibrium, "
                                 "in every game of the confidence set", **common)  # fmt: skip
        return OfflinePolicy(case="nash-of-estimate", policy=policy, actions=_pure_or_none(policy, visited),
                             margin=None, reason=f"{dominant_note}; no common strict saddle (worst-case margin "
                             f"{saddle.margin:.3g}): the minimax policy of the point estimate", **common)  # fmt: skip
    if model.gamma == 0 or not np.any(model.transitions):
        policy = _stage_nash(model, dataset, pessimistic=rho > 0)
        what = "lower-confidence-bound" if rho > 0 else "estimated"
        return OfflinePolicy(case="nash-of-estimate", policy=policy, actions=_pure_or_none(policy, visited),
                             margin=None, reason=f"{dominant_note}: the highest-payoff Nash equilibrium of each "
                             f"{what} stage game", **common)  # fmt: skip
    return OfflinePolicy(case="none", policy=None, actions=None, margin=None, reason=f"{dominant_note}, and a "
                         "general-sum Markov game has no exact equilibrium solver in marlkit", **common)  # fmt: skip


def _pure_or_none(policy: np.ndarray, visited: np.ndarray) -> np.ndarray | None:
    if np.all(np.isclose(policy[:, visited].max(axis=2), 1.0, atol=1e-9)):
        return np.argmax(policy, axis=2).T
    return None


def _stage_nash(model: EstimatedGame, dataset: OfflineDataset, pessimistic: bool) -> np.ndarray:
    """Per visited state, the highest-payoff Nash equilibrium of the estimated (or lower-bound) stage game."""
    from marlkit.games import NormalFormGame
    from marlkit.solve import nash_equilibria
    from marlkit.solve.selection import select_equilibrium

    mask = dataset.action_mask()
    rewards = model.means
    if pessimistic:
        lower = model.lower()
        floor = lower[np.isfinite(lower)].min(initial=0.0)
        rewards = np.where(np.isfinite(lower), lower, floor)
    policy = mask / mask.sum(axis=2, keepdims=True)
    for s in np.flatnonzero(model.visited_states()):
        stage = NormalFormGame(rewards[:, s].reshape(model.n_players, *model.num_actions))
        selection = select_equilibrium(stage, nash_equilibria(stage), "payoff")
        chosen = selection.chosen or selection.ranked[0]  # a tie at the top: the solver's first of the best
        for i, strategy in enumerate(chosen.profile):
            policy[i, s] = 0.0
            policy[i, s, : strategy.shape[0]] = strategy
    return policy


__all__ = ["CASES", "TOL", "OfflinePolicy", "estimated_game", "learn"]
