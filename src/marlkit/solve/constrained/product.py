"""The best decentralised (product) policy of a constrained team game, exact where a stated method allows.

Independent agents that cannot share a correlation device play a product policy π(a | s) = Π_i π_i(a_i | s). The
team problem max Σ_i w_i J_r^i(π) s.t. J_j^i(π) <= c_j^i over product policies is non-convex (the correlated
optimum of :func:`~marlkit.solve.constrained.constrained_optimum` is its convex relaxation and an upper bound), so:

* **exact** for one-state games with two players and two actions each (a repeated 2x2 game, any discount, any
  number of constraints): the objective and every constraint are bilinear in (p, q), and
  :mod:`marlkit.solve.constrained.bilinear` enumerates every KKT candidate; the best feasible candidate is the
  global optimum (``method="bilinear-kkt-enumeration"``). With ``symmetric=True`` the same is done on p = q (the best
  policy that agents sharing one policy can play).
* otherwise a **lower bound**: coordinate ascent over agents from several starts (uniform, the product of the
  correlated optimum's marginals, seeded random policies). Each step is agent i's own occupancy LP over (s, a_i)
  with the team reward and *every* agent's constraints, the others fixed (elastic constraints walk an infeasible
  start back to feasibility); the team return never decreases. Stationary product policies only. The answer is
  labelled ``exact=False`` unless it reaches the correlated upper bound (then it is certified optimal).

``gap_to_correlated`` = correlated optimum - product optimum is the return that independent agents cannot reach
(resource-sharing: 36 - 31.2 = 4.8) — the reason a decentralised learner can fall short of the constrained optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marlkit.errors import NotApplicableError
from marlkit.games.stochastic import StochasticGame
from marlkit.solve.constrained import bilinear
from marlkit.solve.constrained.occupancy import agent_problem, constrained_game, policy_from_occupancy, solve_occupancy
from marlkit.solve.constrained.optimum import (
    DEFAULT_TOLERANCE,
    ConstrainedOptimum,
    constrained_optimum,
    team_weights,
)

EXACT_METHOD = "bilinear-kkt-enumeration"
"""The ``method`` of the exact one-state 2x2 solution."""


@dataclass(frozen=True, eq=False)
class ProductOptimum:
    """The best product policy found (module docstring).

    Attributes:
        exact: True when ``team_return`` is the optimum over product policies (by ``method``); False: a lower bound.
        feasible: False when no product policy meeting the limits was found (team_return NaN).
        team_return, returns ``[n]``, costs ``[n, m]``, limits ``[n, m]``: of ``policy [n, S, A_max]``.
        upper_bound: the correlated optimum (an upper bound for every product policy).
        gap_to_correlated: ``upper_bound - team_return``.
        symmetric: whether the search was restricted to identical policies.
        method: how it was computed.
    """

    exact: bool
    feasible: bool
    team_return: float
    returns: np.ndarray
    costs: np.ndarray
    limits: np.ndarray
    policy: np.ndarray
    upper_bound: float
    symmetric: bool
    method: str

    @property
    def gap_to_correlated(self) -> float:
        return self.upper_bound - self.team_return

    def to_json(self) -> dict[str, object]:
        def num(v: float) -> float | None:
            return float(v) if np.isfinite(v) else None

        return {
            "exact": self.exact,
            "feasible": self.feasible,
            "team_return": num(self.team_return),
            "returns": [num(v) for v in self.returns],
            "costs": [[num(v) for v in row] for row in self.costs],
            "policy": self.policy.tolist(),
            "upper_bound": num(self.upper_bound),
            "gap_to_correlated": num(self.gap_to_correlated),
            "symmetric": self.symmetric,
            "method": self.method,
        }


def _evaluate(game: StochasticGame, policy: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    returns = game.expected_return(policy)
    return float(w @ returns), returns, game.expected_costs(policy)


def _within(game: StochasticGame, costs: np.ndarray, tol: float) -> bool:
    assert game.limits is not None
    return bool(np.all(costs <= game.limits + tol * np.maximum(1.0, game.limits)))


def _is_two_by_two(game: StochasticGame) -> bool:
    return game.num_states == 1 and game.num_actions == (2, 2) and bool(game.action_mask.all())


def _exact_two_by_two(
    game: StochasticGame, w: np.ndarray, symmetric: bool, tol: float
) -> tuple[float, np.ndarray] | None:
    assert game.costs is not None and game.limits is not None
    f = bilinear.coefficients(np.tensordot(w, game.rewards[:, 0], axes=1))
    budget = game.limits.reshape(-1) * (1.0 - game.gamma)  # per-step limits of the one-state game
    gs = [
        bilinear.coefficients(c) - np.array([b, 0, 0, 0])
        for c, b in zip(game.costs[:, :, 0].reshape(-1, 2, 2), budget, strict=True)
    ]
    points = [(p, p) for p in bilinear.symmetric_candidates(f, gs)] if symmetric else bilinear.candidates(f, gs)
    best: tuple[float, np.ndarray] | None = None
    for p, q in points:
        policy = np.array([[[1 - p, p]], [[1 - q, q]]]) + 0.0
        value, _, costs = _evaluate(game, policy, w)
        if _within(game, costs, tol) and (best is None or value > best[0]):
            best = (value, policy)
    return best


def _ascend(game: StochasticGame, policy: np.ndarray, w: np.ndarray, tol: float, sweeps: int) -> np.ndarray:
    """Coordinate ascent: each agent in turn solves its occupancy LP (team reward, all constraints, elastic)."""
    assert game.costs is not None and game.limits is not None
    team = np.tensordot(w, game.rewards, axes=1)
    costs = game.costs.reshape(-1, *game.costs.shape[2:])
    scale = max(1.0, float(np.abs(team).max()))
    previous = -np.inf
    for _ in range(sweeps):
        before = policy
        for i in range(game.n_players):
            problem = agent_problem(game, policy, i, team, costs, game.limits.reshape(-1))
            solution = solve_occupancy(problem, penalty=1e4 * scale)
            if not np.isfinite(solution.value):
                continue
            policy = policy.copy()
            policy[i, :, : game.num_actions[i]] = policy_from_occupancy(solution.occupancy, problem.legal)
        value, _, c = _evaluate(game, policy, w)
        if np.array_equal(before, policy) or (_within(game, c, tol) and value <= previous + 1e-12 * scale):
            break
        previous = value if _within(game, c, tol) else previous
    return policy


def _starts(game: StochasticGame, correlated: np.ndarray | None, restarts: int, seed: int) -> list[np.ndarray]:
    starts = [game.uniform_policy()]
    if correlated is not None:
        marginals = np.zeros_like(starts[0])
        for i, m in enumerate(game.num_actions):
            axes = tuple(1 + j for j in range(game.n_players) if j != i)
            marginals[i, :, :m] = correlated.sum(axis=axes)
        starts.append(np.where(game.action_mask, marginals, 0.0))
    rng = np.random.default_rng(seed)
    for _ in range(restarts):
        raw = rng.dirichlet(np.ones(game.max_actions), size=(game.n_players, game.num_states)) * game.action_mask
        starts.append(raw / raw.sum(axis=2, keepdims=True))
    return [s / s.sum(axis=2, keepdims=True) for s in starts]


def best_product_policy(
    game: object,
    weights: object = None,
    *,
    symmetric: bool = False,
    restarts: int = 8,
    seed: int = 0,
    sweeps: int = 200,
    tol: float = DEFAULT_TOLERANCE,
    correlated: ConstrainedOptimum | None = None,
) -> ProductOptimum:
    """The best product policy of a constrained team game (module docstring says when it is exact).

    Args:
        game: a constrained game; weights: team weights ``[n]`` (default 1 each).
        symmetric: restrict to identical policies (exact for one-state 2x2 games only; NotApplicableError otherwise).
        restarts, seed, sweeps: the random starts, their seed and the sweep cap of the coordinate ascent.
        tol: feasibility slack (times max(1, limit)).
        correlated: the game's :func:`constrained_optimum` under the same weights, if already computed (the upper
            bound and a start); computed here otherwise.

    Example:
        >>> from marlkit.games.catalog import make
        >>> best = best_product_policy(make("resource-sharing"))
        >>> best.exact, round(best.team_return, 9), round(best.upper_bound, 9)
        (True, 31.2, 36.0)
    """
    model = constrained_game(game, "best_product_policy")
    w = team_weights(model, weights)
    assert model.limits is not None
    if correlated is None or not np.array_equal(correlated.weights, w):
        correlated = constrained_optimum(model, w)
    n, m = model.limits.shape
    upper = correlated.team_return if correlated.feasible else float("nan")
    best: tuple[float, np.ndarray] | None
    if _is_two_by_two(model):
        best, exact, method = _exact_two_by_two(model, w, symmetric, tol), True, EXACT_METHOD
    elif symmetric:
        raise NotApplicableError(
            "symmetric: the best symmetric product policy is solved exactly for one-state 2x2 games only; "
            "drop symmetric=True"
        )
    else:
        best, exact, method = None, False, "coordinate-ascent (lower bound)"
        if correlated.feasible:
            for start in _starts(model, correlated.policy, restarts, seed):
                policy = _ascend(model, start, w, tol, sweeps)
                value, _, costs = _evaluate(model, policy, w)
                if _within(model, costs, tol) and (best is None or value > best[0]):
                    best = (value, policy)
        if best is not None and best[0] >= upper - tol * max(1.0, abs(upper)):
            exact, method = True, "coordinate-ascent, certified by the correlated upper bound"
    if best is None:
        nan = np.full((n, m), np.nan)
        empty = np.full((n, model.num_states, model.max_actions), np.nan)
        return ProductOptimum(
            exact, False, float("nan"), np.full(n, np.nan), nan, model.limits, empty, upper, symmetric, method
        )
    value, returns, costs = _evaluate(model, best[1], w)
    return ProductOptimum(exact, True, value, returns, costs, model.limits, best[1], upper, symmetric, method)
