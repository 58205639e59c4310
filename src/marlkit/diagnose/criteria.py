"""The six convergence criteria of a learning run, each as a metric over z with a verdict per seed.

Albrecht, Christianos & Schäfer (2024), *Multi-Agent Reinforcement Learning: Foundations and Modern Approaches*,
MIT Press, §5.2, list the ways "learning converges" is used in MARL (π^z is the joint policy after z steps, π* a
solution, U_i the expected return). Each criterion below reads a :class:`~marlkit.history.History` and a
game, measures a distance (or a return gap) at every logging point, and judges every seed with
:func:`marlkit.diagnose.verdicts.judge`:

1. ``joint_policy`` — lim π^z = π*. Metric: distance of the current joint policy (the product of the agents'
   policy snapshots ``History.policy``) to the *target*, the member of the solution set nearest to it at the end
   of the run (so a run that settles on the second of two equilibria reports target 1). For a polytope or a
   NashConv set, whose members are not named, the metric is the distance to the set.
2. ``expected_return`` — lim U_i(π^z) = U_i(π*) for all i. Metric: max_i |U_i(π^z) - U_i(π*)| with U_i exact
   (the expected payoff of a normal-form game; exact policy evaluation of a stochastic game) and U_i(π*) the value
   of criterion 1's target (``SolutionSet.values``). Not applicable where the set's values are unknown.
3. ``empirical_distribution`` — lim π̄^z = π* with π̄^z = (1/z) Σ_{e<=z} π^e, the time-average of the *joint*
   policy π^e (issue 5's definition). Default (``source="empirical"``): the running mean over z of the joint
   snapshots (``joint_from_policy`` of each logging point), each weighted by the length of the logging window in
   which it *acted*: window t (steps z_{t-1}..z_t) is played by the snapshot logged at its left end, t - 1. The
   History does not record the initial policy, so window 1 is stood in for by snapshot 1 (a bias of at most
   z_1 / z in the mean, vanishing as z grows). A mean of joints can be correlated even when each π^e is a
   product — it is what no-regret dynamics drive into the (coarse) correlated equilibrium set (Hart &
   Mas-Colell 2000). Exact when each policy is constant within a window; aliased when a policy switches on the
   scale of a window (fictitious play's pure best responses: log finely, e.g. every 10 steps). Option
   ``source="product"``: the *product* of the per-agent averages — the learner's own exact running average where
   it keeps one (``History.has_average_policy``: WoLF-PHC's π̄, regret matching's average strategy, fictitious
   play's frequency of its own best responses), else the window-weighted mean of its snapshots. That is a
   deviation from the definition (a product is never correlated), stated in the notes; it suits Nash targets
   whose members are products. Metric: distance to the member nearest π̄ at the end (or to the set).
4. ``averaged_joint_policy`` — the same with the frequencies of the joint actions actually played up to z
   (``History.empirical_joint``); in stochastic games the frequencies are conditioned on the state, and states
   not yet visited are dropped from the state weighting.
5. ``solution_set`` — for every eps there is z0 with min_{π* in the set} d(π̄^z, π*) < eps for all z > z0.
   Metric: the distance of π̄^z (criterion 3's joint average by default; ``source="product"`` for the product of
   the per-agent averages, ``source="joint_frequency"`` for criterion 4's frequencies) to the *set* at every z
   (min over members, projection on a polytope, or NashConv); the target
   named is the member nearest at the end. (The function is :func:`set_of_solutions`, so that it does not shadow
   the builder :func:`marlkit.diagnose.solution_sets.solution_set`; its key is ``"solution_set"``.)
6. ``average_return`` — lim Ū_i^z = U_i(π*) with Ū_i^z the mean return of the episodes finished up to z
   (episode-count weighted). Metric: max_i |Ū_i^z - U_i(π*)| against criterion 5's target (or the set's one
   value). Only one-state games, where every play of the stage game is an episode (a repeated game's discount is
   ignored: its value U_i = u_i / (1 - gamma) is compared as the stage value u_i); in a multi-state game an
   episode's undiscounted return is not the U_i of the solution (discounted, from the initial state; with
   gamma = 0 only the first step), so the criterion is not applicable there.

The keys, numbers, titles, default thresholds and the measure function of each criterion are the one table
:data:`marlkit.diagnose.criteria_table.CRITERIA_TABLE`.

Thresholds (:data:`DEFAULT_EPS`, used when ``eps`` is ``None``): policy distances 0.05 (absolute, in the chosen
distance's units: TV 0.05 means 5% of probability mass misplaced); return gaps 0.05 times the payoff range of the
game (max payoff - min payoff over legal joint actions of live states: the *one-step* range, also for the
discounted U_i of a stochastic game — the return range, that divided by 1 - gamma, is a worst case that makes eps
meaninglessly loose on sparse-reward games, e.g. 505 on grid-game-1 where a NashConv of 98 would have passed);
a NashConv set's metric is in payoff units too, so its eps is also 0.05 times the one-step range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from marlkit.diagnose.criteria_table import CRITERIA, CRITERIA_TABLE, DEFAULT_EPS, RETURN_CRITERIA
from marlkit.diagnose.distances import (
    DISTANCE_BOUNDS,
    Distance,
    joint_from_policy,
    num_states,
    resolve_distance,
    state_weights,
    weighted_distance,
)
from marlkit.diagnose.results import CriterionResult, SeedVerdict, Verdict
from marlkit.diagnose.solution_sets import FiniteSolutionSet, NashConvSet, SolutionSet
from marlkit.diagnose.verdicts import judge
from marlkit.errors import InvalidGameError, UnknownNameError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.history import History
from marlkit.registry import unknown_name

Game = NormalFormGame | StochasticGame


# ------------------------------------------------------------------------------------------ game facts
def _legal(game: Game) -> np.ndarray:
    """``[n, S, A_max]`` legal actions."""
    if isinstance(game, StochasticGame):
        return np.asarray(game.action_mask, dtype=bool)
    mask = np.zeros((game.n_players, 1, max(game.num_actions)), dtype=bool)
    for i, m in enumerate(game.num_actions):
        mask[i, 0, :m] = True
    return mask


def _gamma(game: Game) -> float:
    return game.gamma if isinstance(game, StochasticGame) else 0.0


def payoff_range(game: Game, *, discounted: bool = True) -> float:
    """max - min of the payoffs over legal joint actions of live states; divided by 1 - gamma for the discounted
    return of a stochastic game (``discounted=True``); 1 when all payoffs are equal (so eps stays positive)."""
    if isinstance(game, NormalFormGame):
        values = game.payoffs.reshape(game.n_players, -1)
    else:
        live = game.legal_joint_actions() & ~np.asarray(game.terminal, dtype=bool).reshape(-1, *[1] * game.n_players)
        values = game.rewards[:, live]
    spread = float(values.max() - values.min()) if values.size else 0.0
    if isinstance(game, StochasticGame) and discounted:
        spread /= 1.0 - game.gamma
    return spread if spread > 0 else 1.0


def default_eps(criterion: str, game: Game, solutions: SolutionSet) -> float:
    """:data:`DEFAULT_EPS` made absolute for ``game``: return gaps (and NashConv) scale with the payoff range."""
    base = DEFAULT_EPS[criterion]
    if criterion in RETURN_CRITERIA or solutions.gap is not None:
        return base * payoff_range(game, discounted=False)  # one-step range (see the module docstring)
    return base


# ------------------------------------------------------------------------------------------ run inputs
def _check_history(history: History, game: Game) -> None:
    n, S = game.n_players, num_states(game)
    policy, counts = np.shape(history.policy), np.shape(history.joint_counts)
    if (
        len(policy) != 5
        or policy[2:4] != (n, S)
        or policy[4] < max(game.num_actions)
        or counts[2:] != (S, *game.num_actions)
        or policy[1] != np.shape(history.steps)[0]
    ):
        raise InvalidGameError(
            f"history: policy {policy} and joint_counts {counts} do not fit game {game.name or ''!r} ({n} players, "
            f"{S} state(s), actions {'x'.join(map(str, game.num_actions))}); pass the game the run was recorded on"
        )


def _clean(policy: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """Snapshots as float64 distributions over legal actions: float32 rounding clipped and renormalised; a row
    with no mass (a terminal state a learner never fills) stands in as uniform over the legal actions."""
    p = np.where(legal, np.clip(np.nan_to_num(np.asarray(policy, dtype=np.float64)), 0.0, None), 0.0)
    totals = p.sum(axis=-1, keepdims=True)
    uniform = legal / legal.sum(axis=-1, keepdims=True)
    return np.where(totals > 0, p / np.where(totals > 0, totals, 1.0), uniform)


def _window_lengths(z: np.ndarray) -> np.ndarray:
    return np.diff(np.concatenate([[0.0], np.asarray(z, dtype=np.float64)]))


@dataclass(frozen=True, eq=False)
class _Run:
    """One History on one game, prepared once: the z axis, cleaned snapshots, state weights and the distance."""

    game: Game
    history: History
    z: np.ndarray  # [T]
    policy: np.ndarray  # [N, T, n, S, A_max] cleaned snapshots
    weights: np.ndarray  # [S]
    distance_name: str
    distance: Distance

    @property
    def num_actions(self) -> tuple[int, ...]:
        return tuple(self.game.num_actions)

    def learner_average(self) -> np.ndarray:
        """``[n]`` bool: the agents whose learner keeps its own running average policy."""
        return np.asarray(self.history.has_average_policy, dtype=bool)

    def average_policy(self) -> np.ndarray:
        """π̄^z per agent ``[N, T, n, S, A_max]``: the learner's own running average where it keeps one, else the
        window-length-weighted running mean of the snapshots (see :data:`_AVERAGE_NOTE`)."""
        lengths = _window_lengths(self.z)
        cumulative = np.cumsum(self.policy * lengths[None, :, None, None, None], axis=1)
        average = cumulative / np.cumsum(lengths)[None, :, None, None, None]
        own = self.learner_average()
        if not own.any():
            return average
        kept = _clean(self.history.average_policy, _legal(self.game))
        return np.where(own[None, None, :, None, None], kept, average)

    def joint_average(self) -> np.ndarray:
        """π̄^z as a joint ``[N, T, S, J]``: the running mean of the joint snapshots, window t weighted by its length
        and played by the snapshot of its left end (t - 1; window 1 by snapshot 1, see the module docstring)."""
        joint = joint_from_policy(self.policy, self.num_actions)
        acting = np.concatenate([joint[:, :1], joint[:, :-1]], axis=1)
        lengths = _window_lengths(self.z)[None, :, None, None]
        return np.cumsum(acting * lengths, axis=1) / np.cumsum(lengths, axis=1)

    def average_note(self) -> str:
        own = np.flatnonzero(self.learner_average()).tolist()
        if not own:
            return _AVERAGE_NOTE
        return f"{_AVERAGE_NOTE}; agents {own} use their learner's own running average instead ({_OWN_AVERAGE})"

    def joint_frequency(self) -> np.ndarray:
        """Frequencies of the joint actions played up to z, per state ``[N, T, S, J]`` (NaN: state not visited)."""
        freq = np.asarray(self.history.empirical_joint(), dtype=np.float64)
        return freq.reshape(*freq.shape[:3], -1)


def _prepare(history: History, game: Game, distance: str | Distance, weights: str | np.ndarray | None) -> _Run:
    _check_history(history, game)
    name, fn = resolve_distance(distance)
    z = np.asarray(history.steps, dtype=np.float64)
    return _Run(
        game=game,
        history=history,
        z=z,
        policy=_clean(history.policy, _legal(game)),
        weights=state_weights(game, weights, history),  # None: default_weights (visitation if multi-state)
        distance_name=name,
        distance=fn,
    )


# ---------------------------------------------------------------------------------------------- sources
_JOINT_AVERAGE_NOTE = (
    "π̄^z = (1/z) Σ_e π^e of the joint policy: running mean of the joint snapshots, each window weighted by its "
    "length and played by the snapshot at its left end (window 1 by the first snapshot: the initial policy is not "
    "recorded, a bias of at most z_1/z)"
)
_AVERAGE_NOTE = (
    "product of the per-agent averages π̄_i^z (deviation from the joint average of the definition: a product is "
    "never correlated), each from the snapshots at the logging points weighted by their window lengths"
)
_OWN_AVERAGE = (
    "exact at every step: the running mean of the policy, per visit of a state, or for fictitious play the "
    "frequency of its own best responses"
)
_FREQUENCY_NOTE = "frequencies of the joint actions played up to z"


@dataclass(frozen=True)
class _Source:
    """What a criterion compares with the set: joints ``[N, T, S, J]``, per-agent policies (None where the joint
    is not a product), a description for the metric's name, and a note on how it was computed."""

    joint: np.ndarray
    policy: np.ndarray | None
    what: str
    note: str


def _empirical_source(run: _Run) -> _Source:
    return _Source(run.joint_average(), None, "the average joint policy π̄^z", _JOINT_AVERAGE_NOTE)


def _product_source(run: _Run) -> _Source:
    average = run.average_policy()
    what = "the product of the average policies π̄_i^z"
    return _Source(joint_from_policy(average, run.num_actions), average, what, run.average_note())


def _frequency_source(run: _Run) -> _Source:
    return _Source(run.joint_frequency(), None, "the joint-action frequencies", _FREQUENCY_NOTE)


AVERAGE_SOURCES: dict[str, Callable[[_Run], _Source]] = {
    "empirical": _empirical_source,
    "product": _product_source,
}
"""How criterion 3 forms π̄^z: ``"empirical"`` (the joint average of the definition, default) or ``"product"``
(the product of the per-agent averages, the learner's own where it keeps one)."""

SOURCES: dict[str, Callable[[_Run], _Source]] = {
    **AVERAGE_SOURCES,
    "joint_frequency": _frequency_source,
}
"""What criterion 5 measures against the set: criterion 3's π̄^z (``"empirical"``, default, or ``"product"``) or
``"joint_frequency"`` (criterion 4's frequencies of play)."""


# ----------------------------------------------------------------------------------- distances to targets
def _end_targets(run: _Run, solutions: SolutionSet, joint: np.ndarray, policy: np.ndarray | None) -> np.ndarray:
    """Index ``[N]`` of the member nearest each seed's source at the last logging point (-1: no named member)."""
    _, index = solutions.measure(joint[:, -1], run.weights, run.distance, None if policy is None else policy[:, -1])
    return np.asarray(index, dtype=np.int64).reshape(-1)


def _to_target(
    run: _Run, solutions: SolutionSet, joint: np.ndarray, policy: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(metric ``[N, T]``, targets ``[N]``): the distance to the end target for a finite set, else to the set."""
    if not isinstance(solutions, FiniteSolutionSet):
        return _to_set(run, solutions, joint, policy)
    targets = _end_targets(run, solutions, joint, policy)
    metric = np.full(joint.shape[:2], np.nan)
    for seed, k in enumerate(targets):
        if k >= 0:
            metric[seed] = weighted_distance(joint[seed], solutions.joints[k], run.weights, run.distance)
    return metric, targets


def _to_set(
    run: _Run, solutions: SolutionSet, joint: np.ndarray, policy: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(distance to the set ``[N, T]``, member nearest at the end ``[N]``)."""
    metric, index = solutions.measure(joint, run.weights, run.distance, policy)
    return np.asarray(metric, dtype=np.float64), np.asarray(index, dtype=np.int64)[:, -1]


def _metric_name(what: str, run: _Run, solutions: SolutionSet, to_target: bool) -> str:
    if solutions.gap is not None:
        return f"{solutions.gap} of {what}"
    if to_target and isinstance(solutions, FiniteSolutionSet):
        return f"{run.distance_name} distance of {what} to its end target"
    return f"{run.distance_name} distance of {what} to the set"


def _notes(run: _Run, solutions: SolutionSet, *extra: str) -> tuple[str, ...]:
    notes = list(extra)
    if num_states(run.game) > 1:
        w = ", ".join(f"{x:.3g}" for x in run.weights)
        notes.append(f"per-state distances averaged with state weights [{w}]")
    if solutions.gap is not None:
        notes.append(
            f"judged by the {solutions.gap}, not by the distance to listed equilibria (the equilibria are not "
            "enumerated, so no verdict names one); eps is in payoff units"
        )
    elif not isinstance(solutions, FiniteSolutionSet):
        notes.append("the set has no named members: the metric is the distance to the set, targets are -1")
    return tuple(notes)


# ------------------------------------------------------------------------------- incomplete Nash sets
NASH_CONV_TOLERANCE = 0.01
"""NashConv tolerance, as a fraction of the game's one-step payoff range, under which a run measured far from
every listed member of an incomplete Nash set is said to be at an (unlisted) equilibrium."""


def _incomplete_set_check(
    run: _Run, solutions: SolutionSet, joint: np.ndarray, policy: np.ndarray | None
) -> Callable[[tuple[SeedVerdict, ...]], tuple[tuple[SeedVerdict, ...], str]] | None:
    """For a Nash set that lists only some equilibria (``FiniteSolutionSet.complete`` False: a degenerate
    two-player game lists the extreme equilibria of its equilibrium segments, an n-player enumeration may miss
    some), a run on a non-extreme equilibrium is at a positive distance from every member. NashConv needs no
    enumeration: where a seed is not converged but the NashConv of what was measured (the per-agent policies, or
    the marginals of a joint) is at most :data:`NASH_CONV_TOLERANCE` of the payoff range at the end, its reason
    says so. The verdict itself is not changed (it answers the question asked: distance to the listed set)."""
    if not isinstance(solutions, FiniteSolutionSet) or solutions.complete or not isinstance(run.game, NormalFormGame):
        return None
    nash_conv = NashConvSet(run.game)
    final, _ = nash_conv.measure(joint[:, -1], run.weights, run.distance, None if policy is None else policy[:, -1])
    tolerance = NASH_CONV_TOLERANCE * payoff_range(run.game, discounted=False)

    def annotate(verdicts: tuple[SeedVerdict, ...]) -> tuple[tuple[SeedVerdict, ...], str]:
        out = []
        for v, x in zip(verdicts, np.asarray(final, dtype=np.float64).reshape(-1), strict=True):
            if v.verdict is not Verdict.CONVERGED and np.isfinite(x) and x <= tolerance:
                reason = (
                    f"{v.reason}; but NashConv at the end is {x:.3g} <= {tolerance:.3g}: likely an equilibrium the "
                    "set does not list"
                )
                v = replace(v, reason=reason)
            out.append(v)
        note = (
            f"the set lists only some equilibria ({solutions.name}); seeds not converged whose NashConv at the end "
            f"is <= {tolerance:.3g} ({NASH_CONV_TOLERANCE:g} x payoff range) say so in their reason"
        )
        return tuple(out), note

    return annotate


# ------------------------------------------------------------------------------------------- verdicts
def _judged(
    criterion: str,
    run: _Run,
    solutions: SolutionSet,
    eps: float,
    metric: np.ndarray,
    targets: np.ndarray,
    metric_name: str,
    notes: tuple[str, ...],
    source: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> CriterionResult:
    """Judge every seed; ``source`` = (joint, policy) measured, for the NashConv check of an incomplete set."""
    verdicts = tuple(
        replace(judge(run.z, metric[seed], eps), target=None if targets[seed] < 0 else int(targets[seed]))
        for seed in range(metric.shape[0])
    )
    check = None if source is None else _incomplete_set_check(run, solutions, *source)
    if check is not None:
        verdicts, note = check(verdicts)
        notes = (*notes, note)
    return CriterionResult(
        criterion=criterion,
        eps=float(eps),
        z=run.z,
        metric=metric,
        metric_name=metric_name,
        verdicts=verdicts,
        solution_set=solutions.name,
        distance=run.distance_name,
        notes=notes,
    )


def _not_applicable(
    criterion: str, run: _Run, solutions: SolutionSet, eps: float, metric_name: str, reason: str
) -> CriterionResult:
    n_seeds = run.policy.shape[0]
    return CriterionResult(
        criterion=criterion,
        eps=float(eps),
        z=run.z,
        metric=np.full((n_seeds, run.z.size), np.nan),
        metric_name=metric_name,
        verdicts=tuple(SeedVerdict(Verdict.NOT_APPLICABLE, None, reason, None) for _ in range(n_seeds)),
        solution_set=solutions.name,
        distance=run.distance_name,
        notes=(reason,),
    )


def eps_bound(criterion: str, distance: str, solutions: SolutionSet) -> float | None:
    """The value ``eps`` for ``criterion`` must stay below, or None where there is no such bound.

    Criteria 1, 3, 4 and 5 measure a policy distance (a state-weighted mean of per-state distances, minimised over
    a set's members or taken to a projection on it), which never exceeds the distance's largest value
    :data:`~marlkit.diagnose.distances.DISTANCE_BOUNDS` (TV 1, L1 2, L2 √2, JS ln 2, KL ln(1 / KL_FLOOR)); a verdict
    asks ``d < eps`` (:mod:`marlkit.diagnose.verdicts`), so an eps at or above that value calls (nearly) every run
    converged. Return gaps (criteria 2 and 6) and every criterion judged against a set without listed members (a
    NashConv set: ``solutions.gap``) are in payoff units and have no such bound; nor has a user's distance."""
    if criterion in RETURN_CRITERIA or solutions.gap is not None:
        return None
    return DISTANCE_BOUNDS.get(distance)


def check_eps(criterion: str, eps: float, distance: str, solutions: SolutionSet, key: str | None = None) -> None:
    """:class:`InvalidGameError` naming ``key`` (default ``eps for 'criterion'``) when ``eps`` for ``criterion`` is
    not a finite number > 0 or is at or above :func:`eps_bound` (the criterion would be vacuous)."""
    where = key or f"eps for {criterion!r}"
    if not np.isfinite(eps) or eps <= 0:
        raise InvalidGameError(f"{where}: expected a finite number > 0, got {eps}")
    bound = eps_bound(criterion, distance, solutions)
    if bound is not None and eps >= bound:
        raise InvalidGameError(
            f"{where}: {eps:.6g} is not below {bound:.6g}, the largest {distance} distance between "
            f"two policies, so every run would count as converged (d < eps); choose eps < {bound:.6g}, or give eps "
            "per criterion ({joint_policy: ..., expected_return: ...}: return gaps are in payoff units)"
        )


def _resolve_eps(criterion: str, eps: float | None, game: Game, solutions: SolutionSet, distance: str) -> float:
    if eps is None:
        return default_eps(criterion, game, solutions)
    eps = float(eps)
    check_eps(criterion, eps, distance, solutions)
    return eps


def _target_values(solutions: SolutionSet, targets: np.ndarray) -> np.ndarray | None:
    """``[N, n]`` value U(π*) of each seed's target (the set's one value when it has one), None if unknown."""
    if solutions.values is None:
        return None
    values = np.asarray(solutions.values, dtype=np.float64)
    if values.shape[0] == 1:
        return np.repeat(values, targets.size, axis=0)
    out = np.full((targets.size, values.shape[1]), np.nan)
    out[targets >= 0] = values[targets[targets >= 0]]
    return out


# ------------------------------------------------------------------------------------------- criteria
def joint_policy(
    history: History,
    game: Game,
    solutions: SolutionSet,
    *,
    eps: float | None = None,
    distance: str | Distance = "tv",
    weights: str | np.ndarray | None = None,
) -> CriterionResult:
    """Criterion 1 (Albrecht et al. 2024, §5.2): lim π^z = π*. See the module docstring."""
    run = _prepare(history, game, distance, weights)
    joint = joint_from_policy(run.policy, run.num_actions)
    metric, targets = _to_target(run, solutions, joint, run.policy)
    return _judged(
        "joint_policy",
        run,
        solutions,
        _resolve_eps("joint_policy", eps, game, solutions, run.distance_name),
        metric,
        targets,
        _metric_name("the joint policy π^z", run, solutions, to_target=True),
        _notes(
            run, solutions, "π^z: the product of the agents' policy snapshots; target: the member nearest at the end"
        ),
        source=(joint, run.policy),
    )


def _expected_returns(run: _Run) -> np.ndarray:
    """U_i(π^z) ``[N, T, n]``, exact: expected payoff (normal form) or policy evaluation (stochastic game)."""
    game = run.game
    if isinstance(game, NormalFormGame):
        joint = joint_from_policy(run.policy, run.num_actions)[..., 0, :]  # [N, T, J]
        return joint @ game.payoffs.reshape(game.n_players, -1).T
    flat = run.policy.reshape(-1, *run.policy.shape[2:])
    returns = np.array([game.expected_return(pi) for pi in flat])
    return returns.reshape(*run.policy.shape[:2], game.n_players)


def expected_return(
    history: History,
    game: Game,
    solutions: SolutionSet,
    *,
    eps: float | None = None,
    distance: str | Distance = "tv",
    weights: str | np.ndarray | None = None,
) -> CriterionResult:
    """Criterion 2 (Albrecht et al. 2024, §5.2): lim U_i(π^z) = U_i(π*) for every agent i.

    The target is criterion 1's (the member nearest the current joint policy at the end); the metric is
    max_i |U_i(π^z) - U_i(π*)| with both returns exact on ``game``.
    """
    run = _prepare(history, game, distance, weights)
    criterion = "expected_return"
    eps = _resolve_eps(criterion, eps, game, solutions, run.distance_name)
    name = "max_i |U_i(π^z) - U_i(π*)|"
    joint = joint_from_policy(run.policy, run.num_actions)
    targets = _end_targets(run, solutions, joint, run.policy)
    values = _target_values(solutions, targets)
    if values is None:
        return _not_applicable(
            criterion, run, solutions, eps, name, f"the values U_i(π*) of {solutions.name!r} are not known"
        )
    metric = np.abs(_expected_returns(run) - values[:, None, :]).max(axis=-1)
    return _judged(
        criterion,
        run,
        solutions,
        eps,
        metric,
        targets,
        name,
        _notes(run, solutions, "U_i exact on the game; π* is criterion 1's target (nearest member at the end)"),
    )


def empirical_distribution(
    history: History,
    game: Game,
    solutions: SolutionSet,
    *,
    eps: float | None = None,
    distance: str | Distance = "tv",
    weights: str | np.ndarray | None = None,
    source: str = "empirical",
) -> CriterionResult:
    """Criterion 3 (Albrecht et al. 2024, §5.2): lim π̄^z = π* for the time-averaged joint policy π̄^z.

    ``source``: ``"empirical"`` (the joint average, default) or ``"product"`` (:data:`AVERAGE_SOURCES`).
    """
    if source not in AVERAGE_SOURCES:
        raise UnknownNameError(f"source: unknown {source!r}; choose one of {', '.join(AVERAGE_SOURCES)}")
    run = _prepare(history, game, distance, weights)
    chosen = AVERAGE_SOURCES[source](run)
    metric, targets = _to_target(run, solutions, chosen.joint, chosen.policy)
    return _judged(
        "empirical_distribution",
        run,
        solutions,
        _resolve_eps("empirical_distribution", eps, game, solutions, run.distance_name),
        metric,
        targets,
        _metric_name(chosen.what, run, solutions, to_target=True),
        _notes(run, solutions, chosen.note, "target: the member nearest π̄ at the end"),
        source=(chosen.joint, chosen.policy),
    )


def averaged_joint_policy(
    history: History,
    game: Game,
    solutions: SolutionSet,
    *,
    eps: float | None = None,
    distance: str | Distance = "tv",
    weights: str | np.ndarray | None = None,
) -> CriterionResult:
    """Criterion 4 (Albrecht et al. 2024, §5.2): the empirical joint-action frequencies converge to π*."""
    run = _prepare(history, game, distance, weights)
    source = _frequency_source(run)
    metric, targets = _to_target(run, solutions, source.joint, source.policy)
    extra = [source.note, "target: the member nearest the frequencies at the end"]
    if num_states(game) > 1:
        extra.append("conditioned on the state; states not yet visited are dropped from the state weighting")
    return _judged(
        "averaged_joint_policy",
        run,
        solutions,
        _resolve_eps("averaged_joint_policy", eps, game, solutions, run.distance_name),
        metric,
        targets,
        _metric_name(source.what, run, solutions, to_target=True),
        _notes(run, solutions, *extra),
        source=(source.joint, source.policy),
    )


def set_of_solutions(
    history: History,
    game: Game,
    solutions: SolutionSet,
    *,
    eps: float | None = None,
    distance: str | Distance = "tv",
    weights: str | np.ndarray | None = None,
    source: str = "empirical",
) -> CriterionResult:
    """Criterion 5 (Albrecht et al. 2024, §5.2): min_{π* in the set} d(π̄^z, π*) -> 0."""
    if source not in SOURCES:
        raise UnknownNameError(f"source: unknown {source!r}; choose one of {', '.join(SOURCES)}")
    run = _prepare(history, game, distance, weights)
    chosen = SOURCES[source](run)
    metric, targets = _to_set(run, solutions, chosen.joint, chosen.policy)
    return _judged(
        "solution_set",
        run,
        solutions,
        _resolve_eps("solution_set", eps, game, solutions, run.distance_name),
        metric,
        targets,
        _metric_name(chosen.what, run, solutions, to_target=False),
        _notes(
            run, solutions, chosen.note, "distance to the nearest member at every z; target: the nearest at the end"
        ),
        source=(chosen.joint, chosen.policy),
    )


def _average_returns(run: _Run) -> tuple[np.ndarray, str]:
    """Ū_i^z ``[N, T, n]``: mean return per play up to z, and a note on how it was computed."""
    history = run.history
    if history.meta.get("max_episode_steps", 1) == 1:
        returns = np.asarray(history.episode_return, dtype=np.float64)
        counts = np.asarray(history.episode_count, dtype=np.float64)[..., None] * np.isfinite(returns)
        note = "Ū^z: episode-count-weighted mean of the episode returns up to z (one play per episode)"
    else:  # several plays per episode: per-play means, weighted by the steps in each window
        returns = np.asarray(history.reward_mean, dtype=np.float64)
        counts = np.broadcast_to(_window_lengths(run.z)[None, :, None], returns.shape)
        note = "Ū^z: mean reward per play up to z (episodes span several plays, so each play counts as one)"
    total = np.cumsum(np.where(counts > 0, np.nan_to_num(returns) * counts, 0.0), axis=1)
    weight = np.cumsum(counts, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), np.nan), note


def average_return(
    history: History,
    game: Game,
    solutions: SolutionSet,
    *,
    eps: float | None = None,
    distance: str | Distance = "tv",
    weights: str | np.ndarray | None = None,
) -> CriterionResult:
    """Criterion 6 (Albrecht et al. 2024, §5.2): lim Ū_i^z = U_i(π*), on one-state games (module docstring)."""
    run = _prepare(history, game, distance, weights)
    criterion = "average_return"
    eps = _resolve_eps(criterion, eps, game, solutions, run.distance_name)
    name = "max_i |Ū_i^z - U_i(π*)|"
    if num_states(game) > 1:
        return _not_applicable(
            criterion,
            run,
            solutions,
            eps,
            name,
            "episode returns are undiscounted sums over multi-step episodes, not comparable with the discounted "
            f"value U_i from the initial state (gamma={_gamma(game)}); criterion 2 compares exact returns",
        )
    source = _empirical_source(run)
    targets = _end_targets(run, solutions, source.joint, source.policy)
    values = _target_values(solutions, targets)
    if values is None:
        return _not_applicable(
            criterion, run, solutions, eps, name, f"the values U_i(π*) of {solutions.name!r} are not known"
        )
    stage = values * (1.0 - game.gamma) if isinstance(game, StochasticGame) else values  # U = u / (1 - γ)
    averages, note = _average_returns(run)
    metric = np.abs(averages - stage[:, None, :]).max(axis=-1)
    return _judged(
        criterion,
        run,
        solutions,
        eps,
        metric,
        targets,
        name,
        _notes(run, solutions, note, "π* is criterion 5's target (the member nearest π̄ at the end)"),
    )


class CriterionFunction(Protocol):
    def __call__(
        self,
        history: History,
        game: Game,
        solutions: SolutionSet,
        *,
        eps: float | None = None,
        distance: str | Distance = "tv",
        weights: str | np.ndarray | None = None,
    ) -> CriterionResult: ...


CRITERION_FUNCTIONS: dict[str, CriterionFunction] = {c.key: c.load() for c in CRITERIA_TABLE}
"""The criteria by key, in the book's order (:data:`marlkit.diagnose.criteria_table.CRITERIA_TABLE` names each
measure function of this module)."""


def evaluate(
    history: History,
    game: Game,
    solutions: SolutionSet,
    *,
    eps: float | Mapping[str, float] | None = None,
    distance: str | Distance = "tv",
    weights: str | np.ndarray | None = None,
    criteria: Sequence[str] | None = None,
) -> dict[str, CriterionResult]:
    """Run the criteria (default: all six) on ``history``; returns ``{criterion: CriterionResult}`` in order.

    Args:
        eps: ``None`` for :func:`default_eps` per criterion, one absolute number for every criterion, or a dict
            ``{criterion: eps}`` (criteria not in it get their default).
        distance: a name of :data:`marlkit.diagnose.distances.DISTANCES` or a callable ``d(learned, target)``.
        weights: state weighting, a name or an array ``[S]``; ``None`` for
            :func:`marlkit.diagnose.distances.default_weights` (uniform for one state, visitation otherwise).
        criteria: names from :data:`marlkit.diagnose.results.CRITERIA`.
    """
    chosen = tuple(CRITERIA if criteria is None else criteria)
    unknown = [c for c in chosen if c not in CRITERION_FUNCTIONS]
    if unknown:
        raise UnknownNameError(f"criteria: {unknown_name('criterion', unknown[0], CRITERIA, plural='criteria')}")
    if isinstance(eps, Mapping):
        stray = [c for c in eps if c not in CRITERION_FUNCTIONS]
        if stray:
            raise UnknownNameError(f"eps: {unknown_name('criterion', stray[0], CRITERIA, plural='criteria')}")
    per_criterion = dict(eps) if isinstance(eps, Mapping) else dict.fromkeys(chosen, eps)
    return {
        c: CRITERION_FUNCTIONS[c](
            history, game, solutions, eps=per_criterion.get(c), distance=distance, weights=weights
        )
        for c in chosen
    }


__all__ = [
    "AVERAGE_SOURCES",
    "CRITERION_FUNCTIONS",
    "DEFAULT_EPS",
    "RETURN_CRITERIA",
    "SOURCES",
    "average_return",
    "averaged_joint_policy",
    "check_eps",
    "default_eps",
    "empirical_distribution",
    "eps_bound",
    "evaluate",
    "expected_return",
    "joint_policy",
    "payoff_range",
    "set_of_solutions",
]
