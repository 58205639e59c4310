"""Safety of a constrained run: its costs over learning, a feasibility verdict, the gaps to the exact optima, λ vs λ*.

A constrained Markov game (Altman 1999, *Constrained Markov Decision Processes*, §3; Gu et al. 2021, "Multi-agent
constrained policy optimisation") asks every agent i to keep its discounted cost J_j^i(π) = E_π[Σ_t γ^t C_j^i]
within its limit c_j^i. Beside the six convergence criteria, a constrained run is judged on:

* **costs over learning** — on an exact game, the exact discounted cost J of every policy snapshot
  (:meth:`~marlkit.games.StochasticGame.expected_costs`) and of the *average play* (the empirical joint action
  frequencies per state from the start of the run to each logging point, read as a correlated joint policy; the
  current policy stands in for states not yet visited); on a task, the Monte Carlo mean undiscounted episode cost
  per window (``History.episode_cost``) with its standard error across seeds;
* **a feasibility verdict per seed** — the violation ``v(z) = max_{i,j} max(0, J_j^i - c_j^i) / max(1, c_j^i)``
  (the largest excess, relative to the limit) is judged by the same rule as the convergence criteria
  (:func:`marlkit.diagnose.verdicts.judge` with ``eps = slack``): *feasible* from z0 on when v stays below the
  slack for the rule's minimum stay (z0 as there), *violating* when it ends above it and is not approaching it,
  *inconclusive* otherwise (still approaching, only just inside, or back inside after an earlier stay inside
  ended: oscillating across the limit);
* **the gaps** — the team return of the final policy against the exact constrained optimum (the occupancy-measure
  LP of :mod:`marlkit.solve.constrained`) and against the unconstrained one; their difference, the *return given
  up for safety*, is a property of the game; where independent (product) policies cannot reach the correlated
  optimum the best decentralised value is reported beside it;
* **λ against λ*** — the multipliers Lagrangian learners record (``History.multipliers``) against each agent's
  optimal multipliers λ* of its own constrained best response to the others' final policies (the LP dual; an agent
  whose final policy is a constrained best response has ``λ = λ*`` at a primal-dual saddle point, Altman 1999,
  Thm. 3.6), and the constrained NashConv of the final policy (0 exactly at a constrained Nash equilibrium).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from marlkit.diagnose.distances import joint_from_policy, playable
from marlkit.diagnose.results import Verdict, float_or_none
from marlkit.diagnose.verdicts import judge
from marlkit.errors import NotApplicableError
from marlkit.games import StochasticGame
from marlkit.history import History

SLACK = 0.05
"""Default feasibility slack: a constraint counts as met while ``J <= c + slack · max(1, c)`` (5% of the limit, or
0.05 in absolute terms for limits below 1). Learners meet a limit only up to their sampling noise and step sizes;
5% of the limit is the band a user reads as "at the limit"."""

TAIL_FRACTION = 0.1
"""The last fraction of logging points whose Monte Carlo episode costs are pooled for a task run's final cost."""


class Feasibility(StrEnum):
    """What a finite run lets us say about a seed's constraints."""

    FEASIBLE = "feasible"
    VIOLATING = "violating"
    INCONCLUSIVE = "inconclusive"


_FROM_VERDICT = {
    Verdict.CONVERGED: Feasibility.FEASIBLE,
    Verdict.NOT_CONVERGED: Feasibility.VIOLATING,
    Verdict.INCONCLUSIVE: Feasibility.INCONCLUSIVE,
    Verdict.NOT_APPLICABLE: Feasibility.INCONCLUSIVE,
}


@dataclass(frozen=True)
class FeasibilityVerdict:
    """One seed's feasibility: the verdict, ``z0`` (the logging point from which it stayed within the limits plus
    slack; ``None`` unless feasible) and a reason a user can read."""

    verdict: Feasibility
    z0: float | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict.value, "z0": float_or_none(self.z0), "reason": self.reason}


def violation(costs: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """``max_{i,j} max(0, J_j^i - c_j^i) / max(1, c_j^i)`` over the last two axes of ``costs [..., n, m]``; NaN
    where any cost is NaN (no episode finished)."""
    limits = np.asarray(limits, dtype=np.float64)
    excess = np.maximum(0.0, np.asarray(costs, dtype=np.float64) - limits) / np.maximum(1.0, limits)
    flat = excess.reshape(*excess.shape[:-2], -1)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(flat).any(axis=-1), np.nan, np.max(np.nan_to_num(flat, nan=0.0), axis=-1))


def feasibility(z: np.ndarray, violations: np.ndarray, slack: float = SLACK) -> tuple[FeasibilityVerdict, ...]:
    """Per seed, the feasibility verdict on ``violations [N, T]`` at logging points ``z [T]`` (module docstring)."""
    if not slack > 0:
        raise NotApplicableError(f"slack: expected a number > 0 (e.g. {SLACK}), got {slack}")
    verdicts = []
    for curve in np.asarray(violations, dtype=np.float64):
        seed = judge(np.asarray(z, dtype=np.float64), curve, slack)
        kind = _FROM_VERDICT[seed.verdict]
        defined = curve[np.isfinite(curve)]
        if kind is Feasibility.VIOLATING and defined.size and defined[-1] < slack:
            kind = Feasibility.INCONCLUSIVE  # within the limits at the end, after an earlier stay ended: oscillating
        if kind is Feasibility.FEASIBLE:
            reason = f"within the limits (slack {slack:g}) from z={seed.z0:g} on"
        else:
            reason = "relative violation v(z) vs the slack: " + seed.reason.replace("eps", "the slack")
        verdicts.append(FeasibilityVerdict(kind, seed.z0 if kind is Feasibility.FEASIBLE else None, reason))
    return tuple(verdicts)


def _counts(verdicts: tuple[FeasibilityVerdict, ...] | None) -> dict[str, int] | None:
    if verdicts is None:
        return None
    return {kind.value: sum(v.verdict is kind for v in verdicts) for kind in Feasibility}


def _array(x: np.ndarray | None) -> object:
    if x is None:
        return None
    return np.vectorize(float_or_none, otypes=[object])(np.asarray(x, dtype=np.float64)).tolist()


@dataclass(frozen=True, eq=False)
class SafetyReport:
    """The safety section of a constrained run's diagnosis (module docstring). ``N`` seeds, ``T`` logging points,
    ``n`` agents, ``m`` constraints per agent.

    Attributes:
        limits: ``[n, m]`` the limits the run was judged against.
        z: ``[T]`` environment steps at the logging points.
        cost_kind: what ``costs`` are (exact discounted J of the snapshots, or Monte Carlo episode costs).
        costs: ``[N, T, n, m]`` the last iterate's costs per logging point.
        cost_se: ``[T, n, m]`` standard error across seeds of a Monte Carlo cost (``None`` when exact).
        average_costs: ``[N, T, n, m]`` exact J of the average play (exact games only).
        slack: the feasibility slack.
        last_iterate: a :class:`FeasibilityVerdict` per seed for ``costs``.
        average: per seed for ``average_costs`` (``None`` on tasks).
        final_cost: ``[n, m]`` mean over seeds of the final cost (tasks: pooled over the last windows), and
        final_cost_se: ``[n, m]`` its standard error across seeds.
        multipliers: ``[N, T, n, m]`` the λ learners recorded (``None`` when no learner keeps one).
        reference_multipliers: ``[N, n, m]`` λ* of each agent's constrained best response to the others' final
            policies (exact games only).
        team_return: ``[N]`` the team return of the final policy (exact J_r summed with the optimum's weights on
            games; the tail mean of the summed episode returns on tasks).
        constrained_optimum / unconstrained_optimum / decentralised_optimum: exact team returns (``None`` on
            tasks); ``decentralised_exact`` says whether the decentralised value is exact or a lower bound.
        constrained_nash_conv: ``[N]`` of the final policy (exact games only).
        notes: what a reader should know (approximations made).
        agents: the agents' names (the game's players; ``agent i`` where unnamed).
    """

    limits: np.ndarray
    z: np.ndarray
    cost_kind: str
    costs: np.ndarray
    cost_se: np.ndarray | None
    average_costs: np.ndarray | None
    slack: float
    last_iterate: tuple[FeasibilityVerdict, ...]
    average: tuple[FeasibilityVerdict, ...] | None
    final_cost: np.ndarray
    final_cost_se: np.ndarray
    multipliers: np.ndarray | None
    reference_multipliers: np.ndarray | None
    team_return: np.ndarray
    constrained_optimum: float | None
    unconstrained_optimum: float | None
    decentralised_optimum: float | None
    decentralised_exact: bool | None
    constrained_nash_conv: np.ndarray | None
    notes: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()

    def agent(self, i: int) -> str:
        """Agent ``i``'s name (the game's player name where known)."""
        return self.agents[i] if i < len(self.agents) else f"agent {i}"

    @property
    def price_of_safety(self) -> float | None:
        """Team return given up for safety: unconstrained optimum minus constrained optimum (exact games)."""
        if self.constrained_optimum is None or self.unconstrained_optimum is None:
            return None
        return self.unconstrained_optimum - self.constrained_optimum

    def gap(self) -> np.ndarray | None:
        """``[N]`` constrained optimum minus the final team return (how far below the safe optimum a seed ends)."""
        return None if self.constrained_optimum is None else self.constrained_optimum - self.team_return

    def counts(self) -> dict[str, int]:
        """Seeds per feasibility verdict of the last iterate."""
        counts = _counts(self.last_iterate)
        assert counts is not None
        return counts

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (NaN as ``None``); the ``safety`` section of a diagnosis and of ``summary.json``."""
        final_multipliers = None if self.multipliers is None else self.multipliers[:, -1]
        return {
            "limits": _array(self.limits),
            "slack": float(self.slack),
            "cost_kind": self.cost_kind,
            "feasibility": {
                "last_iterate": _counts(self.last_iterate),
                "average": _counts(self.average),
                "per_seed": [v.to_dict() for v in self.last_iterate],
                "per_seed_average": None if self.average is None else [v.to_dict() for v in self.average],
            },
            "final_cost": _array(self.final_cost),
            "final_cost_se": _array(self.final_cost_se),
            "team_return": _array(self.team_return),
            "constrained_optimum": float_or_none(self.constrained_optimum),
            "unconstrained_optimum": float_or_none(self.unconstrained_optimum),
            "decentralised_optimum": float_or_none(self.decentralised_optimum),
            "decentralised_exact": self.decentralised_exact,
            "price_of_safety": float_or_none(self.price_of_safety),
            "gap_to_constrained_optimum": _array(self.gap()),
            "constrained_nash_conv": _array(self.constrained_nash_conv),
            "final_multipliers": _array(final_multipliers),
            "reference_multipliers": _array(self.reference_multipliers),
            "z": _array(self.z),
            "costs": _array(self.costs),
            "cost_se": _array(self.cost_se),
            "average_costs": _array(self.average_costs),
            "multipliers": _array(self.multipliers),
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """The section as plain text lines (what ``marlkit learn --diagnose`` prints under the criteria)."""
        with warnings.catch_warnings():  # means over seeds where some agents have no λ (NaN): nothing to warn about
            warnings.simplefilter("ignore", RuntimeWarning)
            return self._lines()

    def _lines(self) -> list[str]:
        n_seeds = len(self.last_iterate)
        counts = self.counts()
        out = [
            f"safety ({self.cost_kind}; slack {self.slack:g} x max(1, limit)):",
            f"  last iterate: {counts['feasible']} feasible / {counts['violating']} violating / "
            f"{counts['inconclusive']} inconclusive of {n_seeds} seeds",
        ]
        average = _counts(self.average)
        if average is not None:
            out.append(
                f"  average play: {average['feasible']} feasible / {average['violating']} violating / "
                f"{average['inconclusive']} inconclusive of {n_seeds} seeds"
            )
        for i in range(self.limits.shape[0]):
            for j in range(self.limits.shape[1]):
                se = self.final_cost_se[i, j]
                spread = "" if not math.isfinite(se) else f" ± {se:.3g}"
                out.append(
                    f"  {self.agent(i)} cost {j}: final {self.final_cost[i, j]:.4g}{spread} (limit "
                    f"{self.limits[i, j]:.4g})"
                )
        mean_return = float(np.nanmean(self.team_return)) if np.isfinite(self.team_return).any() else math.nan
        if self.constrained_optimum is not None:
            out.append(
                f"  team return: {mean_return:.4g} (mean of seeds); constrained optimum "
                f"{self.constrained_optimum:.4g}, unconstrained {self.unconstrained_optimum:.4g}: return given up "
                f"for safety {self.price_of_safety:.4g}"
            )
            if self.decentralised_optimum is not None:
                kind = "exact" if self.decentralised_exact else "a lower bound"
                out.append(f"  best decentralised (product) policy: {self.decentralised_optimum:.4g} ({kind})")
        else:
            out.append(f"  team return: {mean_return:.4g} (mean of seeds, tail of the run)")
        if self.constrained_nash_conv is not None:
            out.append(
                f"  constrained NashConv of the final policy: median {np.median(self.constrained_nash_conv):.3g}"
            )
        if self.multipliers is not None:
            final = np.nanmean(self.multipliers[:, -1], axis=0)
            line = f"  λ (mean of seeds, last point): {np.round(final, 3).tolist()}"
            if self.reference_multipliers is not None and np.isfinite(self.reference_multipliers).any():
                star = np.nanmean(self.reference_multipliers, axis=0)
                line += f"; λ*: {np.round(star, 3).tolist()}"
            out.append(line)
        out.extend(f"  note: {note}" for note in self.notes)
        return out


# ------------------------------------------------------------------------------------------------ builders
def _require_constrained(history: History) -> None:
    if not history.constrained:
        raise NotApplicableError(
            "safety: this run recorded no costs (not a constrained game or task); the safety diagnosis needs a run "
            "on a game with costs and limits"
        )


def _seed_se(values: np.ndarray) -> np.ndarray:
    """Standard error across the first axis (seeds), NaN where fewer than two seeds are defined."""
    count = np.sum(np.isfinite(values), axis=0)
    mean = np.nanmean(np.where(count > 0, values, 0.0), axis=0)
    squares = np.nansum((values - mean) ** 2, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(squares / np.maximum(count - 1, 1))
        return np.where(count > 1, spread / np.sqrt(np.maximum(count, 1)), np.nan)


def _average_play(history: History, game: StochasticGame, current: np.ndarray) -> np.ndarray:
    """``[N, T, S, A_1..A_n]`` the empirical joint play from the start to each point, the current product policy
    standing in for states not yet visited."""
    empirical = history.empirical_joint(since=0)
    product = joint_from_policy(current, game.num_actions).reshape(empirical.shape)
    unvisited = np.isnan(empirical.reshape(*empirical.shape[:3], -1)).any(axis=-1)
    index = (slice(None),) * 3 + (None,) * game.n_players
    return np.where(unvisited[index], product, empirical)


def game_safety(history: History, game: StochasticGame, *, slack: float = SLACK) -> SafetyReport:
    """The safety report of a run on an exact constrained game (costs exact, optima from the LPs)."""
    from marlkit.solve.constrained import (
        best_feasible_response,
        best_product_policy,
        constrained_nash_conv,
        constrained_optimum,
    )

    _require_constrained(history)
    if not game.is_constrained:
        raise NotApplicableError(f"safety: game {game.name!r} has no costs and limits")
    assert game.limits is not None
    current = playable(game, history.policy)  # [N, T, n, S, A]
    N, T = current.shape[:2]
    n, m = game.limits.shape
    costs = np.array([[game.expected_costs(current[s, t]) for t in range(T)] for s in range(N)])
    average_joint = _average_play(history, game, current)
    average_costs = np.array(
        [[game.expected_costs(average_joint[s, t], joint=True) for t in range(T)] for s in range(N)]
    )
    z = np.asarray(history.steps, dtype=np.float64)
    optimum = constrained_optimum(game)
    weights = np.asarray(optimum.weights, dtype=np.float64)
    final = current[:, -1]
    team = np.array([float(weights @ game.expected_return(p)) for p in final])
    reference = np.array([[best_feasible_response(game, p, i).multipliers for i in range(n)] for p in final])
    product = best_product_policy(game, weights)
    decentralised = float(product.team_return) if product.feasible else None  # None: no feasible product found
    notes = [
        "costs are the exact discounted J of each policy snapshot; average play is the empirical joint action "
        "frequency per state since the start, read as a correlated joint policy",
    ]
    if not optimum.feasible:
        notes.append(f"the limits are infeasible: {optimum.reason}")
    return SafetyReport(
        limits=np.asarray(game.limits, dtype=np.float64),
        z=z,
        cost_kind="exact discounted cost J",
        costs=costs,
        cost_se=None,
        average_costs=average_costs,
        slack=slack,
        agents=tuple(game.player_names),
        last_iterate=feasibility(z, violation(costs, game.limits), slack),
        average=feasibility(z, violation(average_costs, game.limits), slack),
        final_cost=costs[:, -1].mean(axis=0),
        final_cost_se=_seed_se(costs[:, -1]),
        multipliers=_recorded_multipliers(history),
        reference_multipliers=reference.reshape(N, n, m),
        team_return=team,
        constrained_optimum=float(optimum.team_return) if optimum.feasible else None,
        unconstrained_optimum=float(optimum.unconstrained_team_return),
        decentralised_optimum=decentralised,
        decentralised_exact=bool(product.exact) if product.feasible else None,
        constrained_nash_conv=np.array([constrained_nash_conv(game, p).nash_conv for p in final]),
        notes=tuple(notes),
    )


def _recorded_multipliers(history: History) -> np.ndarray | None:
    """The recorded λ, or ``None`` when no agent's learner keeps one (all NaN)."""
    multipliers = history.multipliers
    if multipliers is None or not np.isfinite(multipliers).any():
        return None
    return np.asarray(multipliers, dtype=np.float64)


def trailing_costs(costs: np.ndarray, episodes: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Per seed and logging point, the episode-weighted mean of the Monte Carlo episode costs ``[N, T, n, m]`` over
    the last ``span`` windows (fewer at the start) and its standard error (the spread of those window means over
    the square root of their number; NaN with fewer than two). ``episodes [N, T]``: episodes ended per window."""
    T = costs.shape[1]
    defined = np.isfinite(costs)
    weights = np.asarray(episodes, dtype=np.float64)[..., None, None] * defined
    values = np.nan_to_num(costs)
    mean = np.full(costs.shape, np.nan)
    se = np.full(costs.shape, np.nan)
    for t in range(T):
        lo = max(0, t - span + 1)
        w, x, ok = weights[:, lo : t + 1], values[:, lo : t + 1], defined[:, lo : t + 1]
        total = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(total > 0, (w * x).sum(axis=1) / np.where(total > 0, total, 1.0), np.nan)
            count = ok.sum(axis=1)
            spread = np.sqrt(np.where(ok, (x - centre[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(count - 1, 1))
        mean[:, t] = centre
        se[:, t] = np.where(count > 1, spread / np.sqrt(np.maximum(count, 1)), np.nan)
    return mean, se


def task_safety(history: History, limits: np.ndarray, *, slack: float = SLACK) -> SafetyReport:
    """The safety report of a run on a task: Monte Carlo episode costs against ``limits [n, m]`` (same units as the
    task's episode cost), with standard errors; no exact optimum.

    One window's episodes are too few to judge a constraint by (a primal-dual learner also oscillates around its
    limit), so the feasibility verdict reads, per seed and logging point, the episode-weighted mean cost of the last
    :data:`TAIL_FRACTION` of the run's windows (:func:`trailing_costs`) and counts a constraint as met while that
    mean, less two standard errors, stays within the limit plus the slack: *violating* means the cost is above the
    limit by more than the slack beyond Monte Carlo doubt (about 97.5% one-sided, for independent windows)."""
    _require_constrained(history)
    assert history.episode_cost is not None
    limits = np.asarray(limits, dtype=np.float64)
    costs = np.asarray(history.episode_cost, dtype=np.float64)  # [N, T, n, m]
    if limits.shape != costs.shape[2:]:
        raise NotApplicableError(
            f"limits: expected shape {list(costs.shape[2:])} (agents, constraints), got {list(limits.shape)}"
        )
    z = np.asarray(history.steps, dtype=np.float64)
    span = max(1, round(history.num_logs * TAIL_FRACTION))
    trailing, trailing_se = trailing_costs(costs, history.episode_count, span)
    lower = trailing - 2.0 * np.nan_to_num(trailing_se, nan=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = np.asarray(history.episode_return[:, -span:], dtype=np.float64).sum(axis=-1)
        team = np.nanmean(returns, axis=1)
    return SafetyReport(
        limits=limits,
        z=z,
        cost_kind="Monte Carlo mean undiscounted episode cost",
        costs=costs,
        cost_se=_seed_se(costs),
        average_costs=None,
        slack=slack,
        last_iterate=feasibility(z, violation(lower, limits), slack),
        average=None,
        final_cost=np.nanmean(trailing[:, -1], axis=0),
        final_cost_se=_seed_se(trailing[:, -1]),
        multipliers=_recorded_multipliers(history),
        reference_multipliers=None,
        team_return=team,
        constrained_optimum=None,
        unconstrained_optimum=None,
        decentralised_optimum=None,
        decentralised_exact=None,
        constrained_nash_conv=None,
        notes=(
            f"a seed's cost at each point is the episode-weighted mean over its last {span} logging windows; the "
            "verdict counts a limit as met while that mean less two standard errors is within the limit plus the "
            "slack; the final cost is that mean at the end, with its standard error across seeds",
        ),
    )


__all__ = [
    "SLACK",
    "TAIL_FRACTION",
    "Feasibility",
    "FeasibilityVerdict",
    "SafetyReport",
    "feasibility",
    "game_safety",
    "task_safety",
    "trailing_costs",
    "violation",
]
