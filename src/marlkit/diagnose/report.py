"""One call from a learning History to a report a user can read and a program can parse.

:func:`diagnose` runs the six convergence criteria of Albrecht, Christianos & Schäfer (2024), *Multi-Agent
Reinforcement Learning*, §5.2 (:mod:`marlkit.diagnose.criteria`) against a solution set of the game
(:mod:`marlkit.diagnose.solution_sets`), judges every seed (:mod:`marlkit.diagnose.verdicts`), aggregates the
seeds (:mod:`marlkit.diagnose.seeds`: fraction converged with a Wilson interval, z0 distribution, IQM of the final
metric with a bootstrap interval, Agarwal et al. 2021) and measures how fast each agent's environment — the other
agents — kept moving (:mod:`marlkit.diagnose.nonstationarity`). The :class:`DiagnosisReport` it returns renders as
a rich table, as plain text, as JSON (``to_dict`` / ``save``, schema in ``docs/cli-json.md``) and as pictures
(``plots``). ``docs/diagnostics.md`` explains every number.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from marlkit.atomic import write_text
from marlkit.diagnose.criteria import evaluate
from marlkit.diagnose.criteria_table import CRITERIA, CRITERION_TITLES
from marlkit.diagnose.distances import default_weights, resolve_distance, state_weights
from marlkit.diagnose.nonstationarity import Nonstationarity, nonstationarity
from marlkit.diagnose.results import CriterionResult, Verdict, float_or_none
from marlkit.diagnose.safety import SafetyReport, game_safety
from marlkit.diagnose.seeds import SeedStatistics, seed_statistics
from marlkit.diagnose.solution_sets import SolutionSet, default_concept, solution_set
from marlkit.diagnose.verdicts import VERDICT_RULE
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame, num_states
from marlkit.history import History

Game = NormalFormGame | StochasticGame

REPORT_VERSION = 1
"""Version of the JSON layout written by :meth:`DiagnosisReport.to_dict` (bumped on incompatible changes)."""

VERDICT_SUMMARY = (
    "converged = below eps since z0, for long enough; inconclusive = just below or still falling; else not converged"
)
"""The rule of :data:`marlkit.diagnose.verdicts.VERDICT_RULE` (the source of truth, written into the JSON) in one
line, for the foot of the table."""

NONSTATIONARITY_TAIL = 0.25
"""The non-stationarity summary averages over the last quarter of the logging points."""


def _number(x: float | None, digits: int = 3) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{float(x):.{digits}g}"


@dataclass(frozen=True)
class AgentMovement:
    """One agent's view of non-stationarity over the last quarter of the run (means over seeds and points):
    how far the *other* agents' joint policy moved between successive snapshots, how far the agent's own policy
    moved, and its mean episode return (NaN/None where no episode finished)."""

    agent: str
    others_movement: float
    own_movement: float
    own_return: float

    def to_dict(self) -> dict[str, object]:
        return {
            "agent": self.agent,
            "others_movement": float_or_none(self.others_movement),
            "own_movement": float_or_none(self.own_movement),
            "own_return": float_or_none(self.own_return),
        }


def _short(label: str) -> str:
    """A solution label's name without its spelled-out profile (``"NE4 (L: 0.5, R: 0.5 | l)"`` -> ``"NE4"``), for
    table cells; :meth:`DiagnosisReport.render` lists the full labels under the table."""
    return label.split(" (", 1)[0]


def _tail_mean(values: np.ndarray, tail: float) -> np.ndarray:
    """Mean over seeds and the last ``tail`` of the logging points of ``[N, T, n]`` -> ``[n]`` (NaN ignored)."""
    count = max(1, round(values.shape[1] * tail))
    window = np.asarray(values[:, -count:], dtype=np.float64)
    finite = np.isfinite(window)
    totals = np.where(finite, window, 0.0).sum(axis=(0, 1))
    counts = finite.sum(axis=(0, 1))
    return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def movement_summary(
    ns: Nonstationarity, agents: Sequence[str], tail: float = NONSTATIONARITY_TAIL
) -> tuple[AgentMovement, ...]:
    """Per agent :class:`AgentMovement` over the last ``tail`` of the run."""
    others = _tail_mean(ns.others_movement, tail)
    own = _tail_mean(ns.own_movement, tail)
    returns = _tail_mean(ns.own_return, tail)
    return tuple(
        AgentMovement(name, float(others[i]), float(own[i]), float(returns[i])) for i, name in enumerate(agents)
    )


class SummaryRow(TypedDict):
    """One criterion's line of the report's ``summary`` (JSON) and verdict table."""

    title: str
    counts: dict[str, int]
    fraction: float | None
    fraction_ci: list[float | None]
    z0_median: float | None
    targets: dict[str, int]
    final_iqm: float | None
    final_ci: list[float | None]


@dataclass(frozen=True, eq=False)
class DiagnosisReport:
    """The convergence diagnosis of one History on one game (see the module docstring).

    ``results`` and ``statistics`` are keyed by the criterion names of :data:`marlkit.diagnose.criteria_table.CRITERIA`
    (in the book's order); ``eps`` holds the threshold each criterion was judged at; ``movement`` summarises
    ``nonstationarity`` per agent. ``history``, ``model`` and ``solutions`` keep the inputs for :meth:`plots`
    and are not written to JSON.
    """

    game: str
    concept: str
    solution_set: str
    solution_kind: str
    solution_labels: tuple[str, ...]
    solution_values: np.ndarray | None
    distance: str
    weights: str
    confidence: float
    eps: dict[str, float]
    results: dict[str, CriterionResult]
    statistics: dict[str, SeedStatistics]
    nonstationarity: Nonstationarity
    movement: tuple[AgentMovement, ...]
    notes: tuple[str, ...]
    meta: dict[str, object]
    safety: SafetyReport | None = None
    history: History | None = field(default=None, repr=False)
    model: Game | None = field(default=None, repr=False)
    solutions: SolutionSet | None = field(default=None, repr=False)

    @property
    def n_seeds(self) -> int:
        return int(next(iter(self.results.values())).metric.shape[0]) if self.results else 0

    # --------------------------------------------------------------------------------------------- JSON
    def to_dict(self, *, series: bool = True) -> dict[str, object]:
        """JSON-ready dictionary (lists, numbers, strings, ``None`` for NaN); layout in ``docs/cli-json.md``.

        ``series=False`` leaves out what grows with the run's length — each criterion's ``z`` and ``metric`` per
        logging point and the non-stationarity ``series`` — keeping the verdicts, their evidence and every
        summary: a run's ``summary.json`` (whose History holds the series) stays small at a million windows."""
        values = None if self.solution_values is None else np.asarray(self.solution_values, float).tolist()
        return {
            "version": REPORT_VERSION,
            "game": self.game,
            "concept": self.concept,
            "solution_set": {
                "name": self.solution_set,
                "kind": self.solution_kind,
                "labels": list(self.solution_labels),
                "values": values,
            },
            "distance": self.distance,
            "weights": self.weights,
            "confidence": float(self.confidence),
            "n_seeds": self.n_seeds,
            "eps": {name: float(value) for name, value in self.eps.items()},
            "verdict_rule": VERDICT_RULE,
            "summary": {name: self._summary_row(name) for name in self.results},
            "results": {name: self._result_dict(result, series) for name, result in self.results.items()},
            "statistics": {name: stats.to_dict() for name, stats in self.statistics.items()},
            "nonstationarity": {
                "tail": NONSTATIONARITY_TAIL,
                "per_agent": [m.to_dict() for m in self.movement],
                **({"series": self.nonstationarity.to_dict()} if series else {}),
            },
            "notes": list(self.notes),
            "safety": None if self.safety is None else self.safety.to_dict(),
            "meta": self.meta,
        }

    @staticmethod
    def _result_dict(result: CriterionResult, series: bool) -> dict[str, object]:
        data = result.to_dict()
        return data if series else {k: v for k, v in data.items() if k not in ("z", "metric")}

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON atomically (temp file in the same folder, then rename); returns the path."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        write_text(path, text)
        return path

    # -------------------------------------------------------------------------------------------- table
    def verdict_counts(self, criterion: str) -> dict[str, int]:
        """How many seeds got each verdict on ``criterion`` (every :class:`Verdict` value, zeros included)."""
        counts = Counter(v.verdict for v in self.results[criterion].verdicts)
        return {verdict.value: counts.get(verdict, 0) for verdict in Verdict}

    def _summary_row(self, criterion: str) -> SummaryRow:
        stats = self.statistics[criterion]
        return {
            "title": CRITERION_TITLES.get(criterion, criterion),
            "counts": self.verdict_counts(criterion),
            "fraction": float_or_none(stats.fraction),
            "fraction_ci": [float_or_none(x) for x in stats.fraction_ci],
            "z0_median": float_or_none(stats.z0_median),
            "targets": dict(stats.targets),
            "final_iqm": float_or_none(stats.final_iqm),
            "final_ci": [None, None] if stats.final_ci is None else [float_or_none(x) for x in stats.final_ci],
        }

    def table(self) -> Table:
        """A rich table, one row per criterion: eps, verdict counts (converged / not converged / inconclusive of N
        seeds), fraction converged [CI], median z0, the
        solution(s) the converged seeds reached, and the final metric's IQM [CI] (what each metric is:
        :meth:`render` lists them under the table)."""
        level = f"{self.confidence:.0%}"
        table = Table(
            title=f"convergence of {self.game} to {self.solution_set}",
            caption=f"distance {self.distance}, state weights {self.weights}, {self.n_seeds} seeds"
            + (
                "\njudged by NashConv: the equilibria could not be enumerated completely, so no seed is said to "
                "reach a named one"
                if self.solution_set.startswith("Nash equilibria judged by NashConv")
                else ""
            ),
            box=box.SIMPLE_HEAD,
        )
        table.add_column("criterion", style="bold", no_wrap=True)
        table.add_column("eps", justify="right")
        table.add_column("conv/not/inc\nof seeds", justify="center")
        table.add_column(f"converged\n[{level} CI]", justify="right")
        table.add_column("median\nz0", justify="right")
        table.add_column("converged to\n(seeds)")
        table.add_column(f"final metric\nIQM [{level} CI]", justify="right")
        for name, result in self.results.items():
            row = self._summary_row(name)
            counts = row["counts"]
            judged = f"{counts['converged']}/{counts['not converged']}/{counts['inconclusive']}"
            if counts["not applicable"]:
                judged += f" ({counts['not applicable']} n/a)"
            low, high = row["fraction_ci"]
            fraction = (
                "-"
                if row["fraction"] is None
                else f"{_number(row['fraction'], 2)} [{_number(low, 2)}, {_number(high, 2)}]"
            )
            targets = ", ".join(f"{_short(label)} x{count}" for label, count in row["targets"].items()) or "-"
            final_low, final_high = row["final_ci"]
            final = (
                "-"
                if row["final_iqm"] is None
                else f"{_number(row['final_iqm'], 2)} [{_number(final_low, 2)}, {_number(final_high, 2)}]"
            )
            z0 = row["z0_median"]
            table.add_row(
                row["title"],
                _number(result.eps),
                f"{judged} of {len(result.verdicts)}",
                fraction,
                "-" if z0 is None else f"{z0:.0f}",
                targets,
                final,
            )
        return table

    def render(self, console: Console) -> None:
        """Print the table, what each criterion's metric is, and the notes."""
        console.print(self.table())
        named = dict.fromkeys(label for name in self.results for label in self._summary_row(name)["targets"])
        spelled = [label for label in named if _short(label) != label]
        if spelled:
            console.print("equilibria named above (the numbering of `marlkit solve`):", markup=False)
            for label in spelled:
                console.print(f"  {label}", markup=False)
        console.print("metrics:", markup=False)
        for name, result in self.results.items():
            console.print(f"  {CRITERION_TITLES.get(name, name)}: {result.metric_name}", markup=False)
        for note in self.notes:
            console.print(f"note: {note}", markup=False)
        if self.safety is not None:
            for line in self.safety.lines():
                console.print(line, markup=False)

    def text(self, width: int = 120) -> str:
        """:meth:`render` as plain text, ``width`` columns wide."""
        console = Console(file=io.StringIO(), record=True, width=width, color_system=None)
        self.render(console)
        return console.export_text()

    # --------------------------------------------------------------------------------------------- plots
    def plots(self, directory: str | Path) -> list[Path]:
        """Write the standard pictures into ``directory`` and return their paths: the criteria grid
        (``criteria.png``), a seed fan per criterion (``fan-<criterion>.png``), the policy trajectories of the
        current and of the average policy (``trajectories.png``, ``trajectories-average.png``; only where the
        game's shape allows: one state, 2x2 or three actions per player) and the non-stationarity curves
        (``nonstationarity.png``), and for a constrained run the costs and multipliers (``costs.png``)."""
        from marlkit.diagnose import plots  # matplotlib is imported only here

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        labels = self.solution_labels
        written = [plots.plot_criteria(self.results, directory / "criteria.png", labels=labels)]
        written += [
            plots.plot_seed_fan(result, directory / f"fan-{name.replace('_', '-')}.png", labels=labels)
            for name, result in self.results.items()
        ]
        if self.history is not None and self.model is not None:
            equilibria = self._member_profiles()
            for average, stem in ((False, "trajectories"), (True, "trajectories-average")):
                try:
                    written.append(
                        plots.plot_policy_trajectories(
                            self.history, self.model, directory / f"{stem}.png", average=average, equilibria=equilibria
                        )
                    )
                except NotApplicableError:  # a game shape with no trajectory picture
                    break
        written.append(plots.plot_nonstationarity(self.nonstationarity, directory / "nonstationarity.png"))
        if self.safety is not None:
            written.append(plots.plot_costs(self.safety, directory / "costs.png"))
        return [Path(p) for p in written]

    def _member_profiles(self) -> list[list[np.ndarray]] | None:
        """Per-player strategies of the members of a finite solution set (the marginals of each member's product
        joint) to draw as stars; ``None`` (the plot enumerates the Nash equilibria) for other sets."""
        joints = getattr(self.solutions, "joints", None)
        if joints is None or self.model is None:
            return None
        shape = tuple(self.model.num_actions)
        n = len(shape)
        profiles = []
        for joint in np.asarray(joints, dtype=np.float64):
            table = joint[0].reshape(shape)
            profiles.append([table.sum(axis=tuple(j for j in range(n) if j != i)) for i in range(n)])
        return profiles


def check_compatible(history: History, game: Game) -> None:
    """Raise :class:`InvalidGameError` when ``history`` was not recorded on a game of ``game``'s shape."""
    recorded = tuple(int(a) for a in history.joint_counts.shape[3:])
    states = int(history.policy.shape[3])
    expected_states = num_states(game)
    agents = int(history.policy.shape[2])
    if agents != game.n_players or recorded != tuple(game.num_actions) or states != expected_states:
        raise InvalidGameError(
            f"the History was recorded on a game with {agents} agents, actions "
            f"{'x'.join(map(str, recorded))} and {states} state(s), but {game.name or 'the given game'!r} has "
            f"{game.n_players} players, actions {'x'.join(map(str, game.num_actions))} and {expected_states} "
            "state(s); pass the game the run used (marlkit diagnose --game NAME|FILE)"
        )


def _weights_kind(weights: str | np.ndarray) -> str:
    return weights if isinstance(weights, str) else "user-given"


def _report_notes(game: Game, solutions: SolutionSet, weights: str) -> tuple[str, ...]:
    notes = [f"solution set: {solutions.name} ({solutions.kind})"]
    if not isinstance(game, NormalFormGame):
        notes.append(f"policies are compared state by state and averaged with {weights} state weights")
    notes.append("verdicts judge a finite run: 'converged' is evidence for a limit, not a proof")
    return tuple(notes)


def diagnose(
    history: History,
    game: Game,
    *,
    concept: str | None = None,
    eps: float | dict[str, float] | None = None,
    distance: str | Callable[[np.ndarray, np.ndarray], np.ndarray] = "tv",
    weights: str | np.ndarray | None = None,
    solutions: SolutionSet | None = None,
    criteria: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> DiagnosisReport:
    """Diagnose a learning run: the six criteria of Albrecht et al. (2024), §5.2, per seed and across seeds.

    Args:
        history: the :class:`marlkit.history.History` of a run on ``game``.
        game: the game the run was on (shapes are checked against the History).
        concept: the solution concept the solution set is built from (``nash``, ``ce``, ``cce``, ``minimax``,
            ``constrained``); ``None`` for :func:`~marlkit.diagnose.solution_sets.default_concept` (``constrained``
            on a constrained game, else ``nash``); ignored (and reported as ``"user-given"``) when ``solutions`` is
            given.
        eps: one threshold for every criterion, a dict per criterion, or ``None`` for
            :data:`marlkit.diagnose.criteria.DEFAULT_EPS`.
        distance: a name of :data:`marlkit.diagnose.distances.DISTANCES` or a callable ``d(p, q) -> [...]``.
        weights: the state weighting (``uniform``, ``visitation``, ``initial`` or an array ``[S]``); ``None``
            for :func:`marlkit.diagnose.distances.default_weights` (visitation for multi-state games).
        solutions: a ready :class:`SolutionSet` (overrides ``concept``).
        criteria: a subset of :data:`CRITERIA` (default all six, in the book's order).
        confidence: level of the seed-statistics intervals.
    """
    check_compatible(history, game)
    distance_name, _ = resolve_distance(distance)  # fails early, with the known names, on a bad name
    if solutions is None:
        concept = default_concept(game) if concept is None else concept
        solutions = solution_set(game, concept)
    else:
        concept = "user-given"
    if weights is None:
        weights = default_weights(game)
    weight_vector = state_weights(game, weights, history)
    chosen = tuple(CRITERIA if criteria is None else criteria)
    results = evaluate(history, game, solutions, eps=eps, distance=distance, weights=weight_vector, criteria=chosen)
    labels = tuple(solutions.labels)
    statistics = {
        name: seed_statistics(result, labels=labels, confidence=confidence) for name, result in results.items()
    }
    movement = nonstationarity(history, game, distance=distance, weights=weight_vector)
    safety = None
    if history.constrained and isinstance(game, StochasticGame) and game.is_constrained:
        safety = game_safety(history, game)
    return DiagnosisReport(
        game=game.name or str(history.meta.get("game", "")),
        concept=concept,
        solution_set=solutions.name,
        solution_kind=solutions.kind,
        solution_labels=labels,
        solution_values=None if solutions.values is None else np.asarray(solutions.values, dtype=np.float64),
        distance=distance_name,
        weights=_weights_kind(weights),
        confidence=confidence,
        eps={name: float(result.eps) for name, result in results.items()},
        results=results,
        statistics=statistics,
        nonstationarity=movement,
        movement=movement_summary(movement, game.player_names),
        notes=_report_notes(game, solutions, _weights_kind(weights)),
        meta=dict(history.meta),
        safety=safety,
        history=history,
        model=game,
        solutions=solutions,
    )


__all__ = [
    "REPORT_VERSION",
    "VERDICT_SUMMARY",
    "AgentMovement",
    "DiagnosisReport",
    "check_compatible",
    "diagnose",
    "movement_summary",
]
