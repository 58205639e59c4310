"""Pictures of the convergence diagnostics, each readable without a caption (title, axis labels, legend).

* :func:`plot_criterion` — one criterion's metric over z: a thin line per seed coloured by its verdict, the
  median over seeds in bold, the eps band, each converged seed's z0 marked, the verdict counts in the title;
* :func:`plot_criteria` — the same for several criteria in a grid;
* :func:`plot_seed_fan` — the spread over seeds: median with 25-75 and 5-95 percentile bands;
* :func:`plot_policy_trajectories` — the learners' policies moving over z: in the unit square for two-player
  2x2 games (x = P(agent 0 plays its first action), y = the same for agent 1) and on one probability simplex
  per agent (a barycentric triangle) when every agent has three actions; coloured by time, start and end
  marked, equilibria drawn as stars;
* :func:`plot_nonstationarity` — per agent, how fast the *other* agents' policies move (the agent's environment
  is non-stationary; Albrecht, Christianos & Schäfer 2024, *Multi-Agent Reinforcement Learning*, §5.4.1)
  beside how fast its own policy moves and its own learning curve.

Only Matplotlib's object API is used (``Figure`` drawn by the Agg canvas), never ``pyplot``'s global state, so
plotting is safe in threads and never opens a window. Files are written atomically (temp file in the same
folder, then ``os.replace``); every function returns the :class:`~pathlib.Path` it wrote.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib.ticker import EngFormatter

from marlkit.atomic import write_with
from marlkit.diagnose.criteria_table import CRITERION_TITLES
from marlkit.diagnose.results import CriterionResult, Verdict
from marlkit.diagnose.seeds import member_label
from marlkit.diagnose.summary import empirical_marginals
from marlkit.errors import NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame, num_states

Game = NormalFormGame | StochasticGame
Profile = Sequence[np.ndarray | Sequence[float]]

DPI = 110
VERDICT_COLOURS = {  # ColorBrewer "Dark2": distinguishable with the common colour-vision deficiencies
    Verdict.CONVERGED: "#1b9e77",
    Verdict.INCONCLUSIVE: "#7570b3",
    Verdict.NOT_CONVERGED: "#d95f02",
    Verdict.NOT_APPLICABLE: "#999999",
}
EPS_COLOUR = "#66a61e"
TIME_COLOURMAP = "viridis"
Z_LABEL = "environment steps z"


MAX_POINTS = 2000
"""Logging points drawn per line at most: a longer run is thinned to evenly spaced points, the first and the last
kept (a picture 1,600 pixels wide shows no more; a million points would also exceed the Agg renderer's path limit
and take minutes to draw)."""


# ------------------------------------------------------------------------------------------------ helpers
def thinned(count: int) -> np.ndarray:
    """Indices of the logging points drawn out of ``count``: all of them up to :data:`MAX_POINTS`, else that many
    evenly spaced ones (first and last included)."""
    if count <= MAX_POINTS:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, MAX_POINTS).round().astype(np.int64))


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Render ``fig`` with the Agg canvas (no display needed) to ``path`` as a PNG at :data:`DPI`, written
    atomically (:mod:`marlkit.atomic`): a reader never sees half a file. Returns the path written."""
    FigureCanvasAgg(fig)
    return write_with(path, lambda handle: fig.savefig(handle, format="png", dpi=DPI))


def _seed_quantiles(values: np.ndarray, percents: Sequence[float]) -> np.ndarray:
    """Percentiles over the seed axis, ``[N, T] -> [len(percents), T]``; NaN where no seed has a value (without
    NumPy's all-NaN warning)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full((len(percents), values.shape[1]), np.nan)
    defined = np.isfinite(values).any(axis=0)
    if defined.any():
        out[:, defined] = np.nanpercentile(values[:, defined], percents, axis=0)
    return out


def _draw_eps_band(ax: Axes, eps: float, metric: np.ndarray) -> None:
    """Shade the band below eps (from 0, or from the lowest value when the metric goes negative) and draw eps
    dashed; the band is where the criterion's metric has to stay."""
    finite = metric[np.isfinite(metric)]
    floor = min(0.0, float(finite.min())) if finite.size else 0.0
    ax.axhspan(floor, eps, color=EPS_COLOUR, alpha=0.18, lw=0)
    ax.axhline(eps, color=EPS_COLOUR, ls="--", lw=1.2)


def _z_axis(ax: Axes) -> None:
    """Label the x axis as environment steps, with compact ticks (2k, 12.5k, 1M)."""
    ax.set_xlabel(Z_LABEL)
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))


def _check_criterion(result: CriterionResult) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(result.z, dtype=np.float64).ravel()
    metric = np.asarray(result.metric, dtype=np.float64)
    if metric.ndim != 2 or metric.shape[1] != z.size or metric.shape[0] != len(result.verdicts):
        raise NotApplicableError(
            f"{result.criterion}: metric must be [seeds, T] with T = len(z) = {z.size} and one verdict per seed "
            f"({len(result.verdicts)}), got metric of shape {metric.shape}"
        )
    drawn = thinned(z.size)
    return z[drawn], metric[:, drawn]


def _verdict_line(result: CriterionResult, labels: Sequence[str]) -> str:
    """'3 converged, 1 not converged of 4 seeds' and, on a second line, 'converged to NE1 x3' (verdicts with no
    seeds left out)."""
    counts = Counter(v.verdict for v in result.verdicts)
    parts = [f"{counts[v]} {v.value}" for v in VERDICT_COLOURS if counts[v]]
    line = f"{', '.join(parts)} of {len(result.verdicts)} seeds"
    targets = Counter(
        member_label(v.target, labels)
        for v in result.verdicts
        if v.verdict is Verdict.CONVERGED and v.target is not None and v.target >= 0
    )
    if targets:
        line += "\nconverged to " + ", ".join(f"{label} x{k}" for label, k in targets.most_common())
    return line


def _title(result: CriterionResult) -> str:
    return f"criterion {CRITERION_TITLES.get(result.criterion, result.criterion)} (eps = {result.eps:g})"


def _criterion_handles(results: Sequence[CriterionResult], eps_label: str) -> list[Any]:
    """Legend entries for criterion panels: the verdicts that occur (in a fixed order), the median, z0 where a
    seed converged, and the eps band."""
    verdicts = [s for r in results for s in r.verdicts]
    present = [v for v in VERDICT_COLOURS if any(s.verdict is v for s in verdicts)]
    handles: list[Any] = [Line2D([], [], color=VERDICT_COLOURS[v], lw=1.2, label=f"seed: {v.value}") for v in present]
    handles.append(Line2D([], [], color="black", lw=2.4, label="median over seeds"))
    if any(s.verdict is Verdict.CONVERGED and s.z0 is not None for s in verdicts):
        handles.append(
            Line2D([], [], ls="", marker="v", ms=8, mfc=VERDICT_COLOURS[Verdict.CONVERGED], mec="black", label="z0")
        )
    handles.append(Patch(facecolor=EPS_COLOUR, alpha=0.18, edgecolor=EPS_COLOUR, label=eps_label))
    return handles


def _draw_criterion(ax: Axes, result: CriterionResult, labels: Sequence[str]) -> None:
    z, metric = _check_criterion(result)
    _draw_eps_band(ax, result.eps, metric)
    for row, verdict in zip(metric, result.verdicts, strict=True):
        ax.plot(z, row, color=VERDICT_COLOURS[verdict.verdict], lw=0.9, alpha=0.7)
    ax.plot(z, _seed_quantiles(metric, [50])[0], color="black", lw=2.4)
    for row, verdict in zip(metric, result.verdicts, strict=True):
        if verdict.verdict is Verdict.CONVERGED and verdict.z0 is not None:
            at = int(np.argmin(np.abs(z - verdict.z0)))
            value = row[at] if np.isfinite(row[at]) else result.eps
            ax.plot([z[at]], [value], ls="", marker="v", ms=8, mfc=VERDICT_COLOURS[Verdict.CONVERGED], mec="black")
    _z_axis(ax)
    ax.set_ylabel(textwrap.fill(result.metric_name, 42))
    ax.set_title(f"{_title(result)}\n{_verdict_line(result, labels)}", fontsize=10)
    ax.grid(alpha=0.3)


def _solution_line(results: Sequence[CriterionResult]) -> str:
    sets = sorted({r.solution_set for r in results})
    distances = sorted({r.distance for r in results})
    return f"solutions: {'; '.join(sets)}  |  distance: {', '.join(distances)}"


# ----------------------------------------------------------------------------------------------- criteria
def plot_criterion(result: CriterionResult, path: str | os.PathLike, labels: Sequence[str] = ()) -> Path:
    """One criterion's metric over z for every seed (see the module docstring); ``labels`` name the solution-set
    members the converged seeds reached (``SolutionSet.labels``)."""
    fig = Figure(figsize=(8.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    _draw_criterion(ax, result, labels)
    handles = _criterion_handles([result], f"below eps = {result.eps:g}")
    ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.85)
    fig.suptitle(_solution_line([result]), fontsize=8, color="0.3")
    return save_figure(fig, path)


def plot_criteria(
    results: dict[str, CriterionResult], path: str | os.PathLike, labels: Sequence[str] = (), columns: int = 3
) -> Path:
    """The criteria of ``results`` in a grid (``columns`` wide), one panel each as in :func:`plot_criterion`,
    with one legend for all panels."""
    if not results:
        raise NotApplicableError("plot_criteria: no criterion results to draw; evaluate at least one criterion")
    columns = max(1, min(int(columns), len(results)))
    rows = math.ceil(len(results) / columns)
    fig = Figure(figsize=(5.0 * columns, 3.9 * rows + 0.9), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, result in zip(axes, results.values(), strict=False):
        _draw_criterion(ax, result, labels)
    for ax in axes[len(results) :]:
        ax.set_visible(False)
    handles = _criterion_handles(list(results.values()), "below eps (each panel's eps in its title)")
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)
    fig.suptitle(f"Convergence criteria over z\n{_solution_line(list(results.values()))}", fontsize=11)
    return save_figure(fig, path)


def plot_seed_fan(result: CriterionResult, path: str | os.PathLike, labels: Sequence[str] = ()) -> Path:
    """The spread of one criterion's metric over seeds: median, 25-75 and 5-95 percentile bands, and eps;
    ``labels`` name the solution-set members in the title."""
    z, metric = _check_criterion(result)
    q05, q25, q50, q75, q95 = _seed_quantiles(metric, [5, 25, 50, 75, 95])
    fig = Figure(figsize=(8.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    colour = "#1f78b4"
    ax.fill_between(z, q05, q95, color=colour, alpha=0.18, lw=0, label="5-95th percentile of seeds")
    ax.fill_between(z, q25, q75, color=colour, alpha=0.38, lw=0, label="25-75th percentile of seeds")
    ax.plot(z, q50, color=colour, lw=2.2, label="median over seeds")
    _draw_eps_band(ax, result.eps, metric)
    _z_axis(ax)
    ax.set_ylabel(textwrap.fill(result.metric_name, 42))
    ax.set_title(f"{_title(result)}: spread over {metric.shape[0]} seeds\n{_verdict_line(result, labels)}", fontsize=10)
    ax.grid(alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor=EPS_COLOUR, alpha=0.18, edgecolor=EPS_COLOUR, label=f"below eps = {result.eps:g}"))
    ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.85)
    fig.suptitle(_solution_line([result]), fontsize=8, color="0.3")
    return save_figure(fig, path)


# ------------------------------------------------------------------------------------ policy trajectories
SIMPLEX_CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3.0) / 2.0]])
"""Corners of the equilateral triangle a distribution over three actions is drawn in: p ↦ p @ corners
(barycentric coordinates; the uniform policy is the centroid)."""


def _trajectory_kind(history: Any, game: Game) -> str:
    """ "square" (two players, two actions each) or "simplex" (three actions each); checks the History fits."""
    states = num_states(game)
    actions = tuple(int(a) for a in game.num_actions)
    supported = "one-state games with two players of two actions (unit square) or three actions per player (simplex)"
    if states != 1:
        raise NotApplicableError(f"policy trajectories: {game.name!r} has {states} states; drawn only for {supported}")
    if game.n_players == 2 and actions == (2, 2):
        kind = "square"
    elif set(actions) == {3}:
        kind = "simplex"
    else:
        raise NotApplicableError(
            f"policy trajectories: {game.name!r} has actions {'x'.join(map(str, actions))}; drawn only for {supported}"
        )
    policy = np.asarray(history.policy)
    recorded = tuple(int(a) for a in np.shape(history.joint_counts)[3:])
    if policy.ndim != 5 or policy.shape[2] != game.n_players or policy.shape[3] != 1 or recorded != actions:
        raise NotApplicableError(
            f"policy trajectories: the History (policy {policy.shape}, joint actions {recorded}) was not recorded on "
            f"{game.name!r} ({game.n_players} players, actions {actions}, one state); pass the game the run used"
        )
    return kind


def _normalised(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to sum to 1; a row without mass (e.g. an average not yet defined) becomes uniform."""
    totals = rows.sum(axis=-1, keepdims=True)
    uniform = np.full_like(rows, 1.0 / rows.shape[-1])
    return np.where(totals > 0, rows / np.where(totals > 0, totals, 1.0), uniform)


def _trajectory_policies(history: Any, game: Game, average: bool) -> tuple[np.ndarray, str]:
    """Per seed, logging point and agent the distribution drawn, ``[N, T, n, 3 or 2]`` float64, and what it is."""
    m = int(game.num_actions[0])
    current = np.asarray(history.policy, dtype=np.float64)
    if not average:
        return _normalised(current[:, :, :, 0, :m]), "current policy"
    n_seeds, num_logs = current.shape[:2]
    flat_counts = np.asarray(history.joint_counts).reshape(n_seeds * num_logs, *np.shape(history.joint_counts)[2:])
    empirical = empirical_marginals(flat_counts, current.reshape(n_seeds * num_logs, *current.shape[2:]))
    empirical = empirical.reshape(current.shape)
    has_average = np.asarray(history.has_average_policy, dtype=bool)
    learner = np.nan_to_num(np.asarray(history.average_policy, dtype=np.float64))
    chosen = np.where(has_average[None, None, :, None, None], learner, empirical)[:, :, :, 0, :m]
    kinds = sorted({"learner's average" if a else "empirical action frequency" for a in has_average})
    return _normalised(chosen), "average policy (" + " / ".join(kinds) + ")"


def _equilibrium_profiles(game: Game, equilibria: Sequence[Any] | None) -> list[list[np.ndarray]]:
    """Per-player strategies of each equilibrium: given (profiles or :class:`~marlkit.solve.results.Equilibrium`
    objects), or — when ``None`` — all Nash equilibria of a normal-form game by enumeration."""
    if equilibria is None:
        if not isinstance(game, NormalFormGame):
            return []
        from marlkit.solve.nash import nash_equilibria

        equilibria = list(nash_equilibria(game))
    profiles = []
    for k, item in enumerate(equilibria):
        profile = [np.asarray(p, dtype=np.float64).ravel() for p in getattr(item, "profile", item)]
        sizes = [p.size for p in profile]
        if sizes != list(game.num_actions):
            raise NotApplicableError(
                f"policy trajectories: equilibrium {k} has strategies of sizes {sizes}; the game's players have "
                f"{list(game.num_actions)} actions"
            )
        profiles.append(profile)
    return profiles


def _time_segments(ax: Axes, points: np.ndarray, z: np.ndarray, norm: Normalize) -> None:
    """Draw a trajectory ``[T, 2]`` as segments coloured by z (the segment from point t-1 to point t has the
    colour of z[t])."""
    if len(points) > 1:
        segments = np.stack([points[:-1], points[1:]], axis=1)
        lines = LineCollection(
            list(segments), cmap=TIME_COLOURMAP, norm=norm, lw=1.6, alpha=0.8, zorder=TRAJECTORY_ZORDER
        )
        lines.set_array(z[1:])
        ax.add_collection(lines)
    ax.plot(*points[0], ls="", marker="o", ms=7, mfc="white", mec="black", mew=1.3, zorder=TRAJECTORY_ZORDER + 1)
    ax.plot(
        *points[-1],
        ls="",
        marker="s",
        ms=7,
        mfc=_end_colour(z, norm),
        mec="black",
        zorder=TRAJECTORY_ZORDER + 1,
    )


def _end_colour(z: np.ndarray, norm: Normalize) -> tuple[float, float, float, float]:
    """The colour of the last logging point: the time colour map at the last z (the legend uses it too)."""
    rgba = ScalarMappable(norm, TIME_COLOURMAP).to_rgba(z[-1])
    return (float(rgba[0]), float(rgba[1]), float(rgba[2]), float(rgba[3]))


TRAJECTORY_ZORDER = 2
"""Trajectories (and their first/last markers, one above) are drawn beneath the equilibrium stars, so a learner
that flips between pure policies (IQL) never hides a star behind its vertical lines."""

EQUILIBRIUM_ZORDER = 6
"""Equilibrium stars (their numbers one above) are drawn on top of everything else."""


def _draw_equilibria(ax: Axes, points: Sequence[np.ndarray]) -> None:
    """Stars at the equilibria's points; with several equilibria each is numbered (1, 2, ...; one label "1,3"
    where members coincide in this picture) so the strategies of one equilibrium can be matched across agents."""
    at: dict[tuple[float, float], list[int]] = {}
    for k, point in enumerate(points, start=1):
        at.setdefault((round(float(point[0]), 6), round(float(point[1]), 6)), []).append(k)
    for (x, y), members in at.items():
        ax.plot(x, y, ls="", marker="*", ms=20, mfc="gold", mec="black", alpha=0.95, zorder=EQUILIBRIUM_ZORDER)
        if len(points) > 1:
            label = ",".join(map(str, members))
            ax.annotate(
                label,
                (x, y),
                xytext=(9, -4),
                textcoords="offset points",
                fontsize=8,
                weight="bold",
                zorder=EQUILIBRIUM_ZORDER + 1,
            )


def _trajectory_legend(fig: Figure, equilibria: int, end: tuple[float, float, float, float]) -> None:
    """One legend below the picture (outside the axes, so it never hides a corner of the square or simplex); the
    last-point marker has the colour ``end`` it has in the picture."""
    handles = [
        Line2D([], [], ls="", marker="o", ms=7, mfc="white", mec="black", label="first logging point"),
        Line2D([], [], ls="", marker="s", ms=7, mfc=end, mec="black", label="last logging point"),
    ]
    if equilibria:
        label = (
            "Nash equilibrium" if equilibria == 1 else f"Nash equilibria (numbered 1-{equilibria} as by marlkit solve)"
        )
        handles.append(Line2D([], [], ls="", marker="*", ms=14, mfc="gold", mec="black", label=label))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)


def _draw_square(
    fig: Figure, game: Game, policies: np.ndarray, z: np.ndarray, norm: Normalize, equilibria: list[list[np.ndarray]]
) -> list[Axes]:
    ax = fig.add_subplot()
    for seed in policies:
        _time_segments(ax, seed[:, :, 0], z, norm)
    _draw_equilibria(ax, [np.array([profile[0][0], profile[1][0]]) for profile in equilibria])
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_aspect("equal")
    players, actions = game.player_names, game.action_names
    ax.set_xlabel(f"P({players[0]} plays {actions[0][0]})")
    ax.set_ylabel(f"P({players[1]} plays {actions[1][0]})")
    ax.grid(alpha=0.3)
    _trajectory_legend(fig, len(equilibria), _end_colour(z, norm))
    return [ax]


def _draw_triangle(ax: Axes, names: Sequence[str]) -> None:
    ax.add_patch(Polygon(SIMPLEX_CORNERS, closed=True, fill=False, ec="black", lw=1.0))
    centre = SIMPLEX_CORNERS.mean(axis=0)
    for corner, name in zip(SIMPLEX_CORNERS, names, strict=True):
        offset = (corner - centre) * 0.16
        x, y = corner + offset
        ax.text(float(x), float(y), f"{name}\n(prob. 1)", ha="center", va="center", fontsize=9)
    ax.plot(*centre, ls="", marker="+", ms=8, color="0.5")
    ax.text(centre[0], centre[1] - 0.05, "uniform", ha="center", va="top", fontsize=7, color="0.4")
    ax.set_xlim(-0.2, 1.2)
    ax.set_ylim(-0.17, 1.06)
    ax.set_aspect("equal")
    ax.axis("off")


def _draw_simplices(
    fig: Figure, game: Game, policies: np.ndarray, z: np.ndarray, norm: Normalize, equilibria: list[list[np.ndarray]]
) -> list[Axes]:
    axes = fig.subplots(1, game.n_players, squeeze=False)[0]
    for i, ax in enumerate(axes):
        _draw_triangle(ax, game.action_names[i])
        for seed in policies:
            _time_segments(ax, seed[:, i] @ SIMPLEX_CORNERS, z, norm)
        _draw_equilibria(ax, [profile[i] @ SIMPLEX_CORNERS for profile in equilibria])
        ax.set_title(f"{game.player_names[i]}'s policy", fontsize=10)
    _trajectory_legend(fig, len(equilibria), _end_colour(z, norm))
    return list(axes)


def learner_title(history: Any) -> str:
    """'learner: WoLFPHC (every agent)' or 'learners: FictitiousPlay vs IQL' from ``history.meta["learners"]``
    (reprs; the class name is kept), or '' when the History does not say."""
    meta = getattr(history, "meta", None)
    learners = meta.get("learners") if isinstance(meta, dict) else None
    if not learners:
        return ""
    names = [str(learner).split("(", 1)[0] for learner in learners]
    if len(set(names)) == 1:
        return f"learner: {names[0]}" + (" (every agent)" if len(names) > 1 else "")
    return "learners: " + " vs ".join(names)


TRAJECTORY_DRAWERS = {"square": _draw_square, "simplex": _draw_simplices}


def plot_policy_trajectories(
    history: Any,
    game: Game,
    path: str | os.PathLike,
    *,
    average: bool = False,
    equilibria: Sequence[Any] | None = None,
    max_seeds: int = 8,
) -> Path:
    """The learners' policies over z (see the module docstring for the two layouts).

    ``average=False`` draws the behaviour policy at each logging point (criterion 1's object); ``average=True``
    the learner's own average policy where it keeps one, else the agent's empirical action frequency since the
    start (criteria 3 and 4's objects; the title says which). ``equilibria``: profiles (one strategy per player)
    or :class:`~marlkit.solve.results.Equilibrium` objects to draw as stars; ``None`` (default) enumerates the
    Nash equilibria of a normal-form game; ``()`` draws none. The first ``max_seeds`` seeds are drawn.

    Raises:
        NotApplicableError: a game that is neither a one-state 2x2 two-player game nor 3 actions per player, a
            History recorded on another game, or an equilibrium of the wrong shape.
    """
    kind = _trajectory_kind(history, game)
    profiles = _equilibrium_profiles(game, equilibria)
    policies, what = _trajectory_policies(history, game, average)
    z = np.asarray(history.steps, dtype=np.float64)
    drawn = thinned(z.size)
    shown, z = policies[: max(1, int(max_seeds))][:, drawn], z[drawn]
    norm = Normalize(vmin=float(z[0]), vmax=float(z[-1]) if z[-1] > z[0] else float(z[0]) + 1.0)
    size = (6.4, 6.4) if kind == "square" else (4.6 * game.n_players + 0.8, 5.2)
    fig = Figure(figsize=size, layout="constrained")
    axes = TRAJECTORY_DRAWERS[kind](fig, game, shown, z, norm, profiles)
    colourbar = fig.colorbar(ScalarMappable(norm, TIME_COLOURMAP), ax=axes, shrink=0.8, pad=0.02)
    colourbar.set_label(f"{Z_LABEL} (colour = time)")
    who = learner_title(history)
    extent = f"{len(shown)} of {policies.shape[0]} seeds, {policies.shape[1]} logging points up to z = {z[-1]:g}"
    lines = [f"{game.name or 'game'}: {what}", who, extent]
    width = int(size[0] * 10)  # characters that fit the figure's width at this font size
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in lines if line), fontsize=10)
    return save_figure(fig, path)


# ------------------------------------------------------------------------------------- non-stationarity
def _check_nonstationarity(ns: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    z = np.asarray(ns.z, dtype=np.float64).ravel()
    arrays = [np.asarray(getattr(ns, name), dtype=np.float64) for name in ("others_movement", "own_movement")]
    arrays.append(np.asarray(ns.own_return, dtype=np.float64))
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 3 or arrays[0].shape[1] != z.size:
        raise NotApplicableError(
            f"plot_nonstationarity: others_movement, own_movement and own_return must share one shape "
            f"[seeds, T, agents] with T = len(z) = {z.size}; got {[a.shape for a in arrays]}"
        )
    drawn = thinned(z.size)
    return z[drawn], arrays[0][:, drawn], arrays[1][:, drawn], arrays[2][:, drawn]


def _band(ax: Axes, z: np.ndarray, values: np.ndarray, colour: str, label: str, ls: str = "-") -> None:
    q25, q50, q75 = _seed_quantiles(values, [25, 50, 75])
    ax.fill_between(z, q25, q75, color=colour, alpha=0.2, lw=0)
    ax.plot(z, q50, color=colour, lw=2.0, ls=ls, label=f"{label} (median, 25-75% of seeds)")


def plot_nonstationarity(ns: Any, path: str | os.PathLike) -> Path:
    """Per agent (one row each): left, how far the other agents' joint policy moved between successive logging
    points beside how far the agent's own policy moved; right, the agent's episode return. Takes a
    :class:`~marlkit.diagnose.nonstationarity.Nonstationarity` (fields ``z``, ``others_movement``,
    ``own_movement``, ``own_return`` of shape [seeds, T, agents], and ``distance``)."""
    z, others, own, returns = _check_nonstationarity(ns)
    n_agents = others.shape[2]
    fig = Figure(figsize=(11.0, 2.9 * n_agents + 0.8), layout="constrained")
    axes = fig.subplots(n_agents, 2, squeeze=False)
    distance = getattr(ns, "distance", "distance")
    for i, (left, right) in enumerate(axes):
        _band(left, z, others[:, :, i], "#d95f02", "other agents' policy")
        _band(left, z, own[:, :, i], "#1b9e77", "own policy", ls="--")
        left.set_ylabel(f"movement per log ({distance})")
        left.set_title(f"agent {i}: how fast its environment (the others) moves", fontsize=10)
        _band(right, z, returns[:, :, i], "#1f78b4", "episode return")
        right.set_ylabel("episode return")
        right.set_title(f"agent {i}: its own learning curve", fontsize=10)
        for ax in (left, right):
            ax.grid(alpha=0.3)
            _z_axis(ax)
            ax.legend(loc="best", fontsize=8, framealpha=0.85)
    fig.suptitle(
        f"Non-stationarity over {others.shape[0]} seeds: movement = {distance} distance between successive "
        "logged policies",
        fontsize=11,
    )
    return save_figure(fig, path)


def plot_costs(safety: Any, path: str | os.PathLike) -> Path:
    """Per agent and constraint (one row each): left, the cost over learning (median and 25-75% of seeds; the
    average play dashed where the run is on an exact game) against the limit; right, the Lagrange multiplier λ the
    learner kept, with λ* of the agent's constrained best response to the final policies where known. Takes a
    :class:`~marlkit.diagnose.safety.SafetyReport`."""
    z = np.asarray(safety.z, dtype=np.float64)
    drawn = thinned(z.size)
    z = z[drawn]
    costs = np.asarray(safety.costs, dtype=np.float64)[:, drawn]  # [N, T, n, m]
    n, m = costs.shape[2:]
    averages = None if safety.average_costs is None else np.asarray(safety.average_costs, np.float64)[:, drawn]
    lambdas = None if safety.multipliers is None else np.asarray(safety.multipliers, dtype=np.float64)[:, drawn]
    columns = 1 if lambdas is None else 2
    fig = Figure(figsize=(5.5 * columns, 2.9 * n * m + 0.8), layout="constrained")
    axes = fig.subplots(n * m, columns, squeeze=False)
    for row, (i, j) in enumerate((i, j) for i in range(n) for j in range(m)):
        left = axes[row, 0]
        _band(left, z, costs[:, :, i, j], "#d95f02", "last iterate")
        if averages is not None:
            _band(left, z, averages[:, :, i, j], "#7570b3", "average play", ls="--")
        left.axhline(safety.limits[i, j], color=EPS_COLOUR, ls="--", lw=1.2, label="limit")
        left.set_ylabel("cost")
        left.set_title(f"{safety.agent(i)}, constraint {j}: {safety.cost_kind}", fontsize=10)
        if lambdas is not None:
            right = axes[row, 1]
            _band(right, z, lambdas[:, :, i, j], "#1b9e77", "λ")
            if safety.reference_multipliers is not None:
                star = float(np.nanmean(np.asarray(safety.reference_multipliers)[:, i, j]))
                right.axhline(star, color=EPS_COLOUR, ls="--", lw=1.2, label="λ* (best response to final policies)")
            right.set_ylabel("Lagrange multiplier")
            right.set_title(f"{safety.agent(i)}, constraint {j}: λ", fontsize=10)
        for ax in axes[row]:
            ax.grid(alpha=0.3)
            _z_axis(ax)
            ax.legend(loc="best", fontsize=8, framealpha=0.85)
    fig.suptitle(f"Costs over learning ({costs.shape[0]} seeds)", fontsize=11)
    return save_figure(fig, path)


def plot_robustness(report: Any, path: str | os.PathLike) -> Path:
    """Robustness curves of a :class:`~marlkit.diagnose.robustness.RobustnessReport`: left, per attacked set, the
    value against the radius ε — clean, random perception noise, the strongest adversary, and the robust value
    (its certified band where not exact); right (model uncertainty), each agent's robust return against δ with
    the game's robust optimum."""
    state = [p for p in report.state if math.isfinite(p.radius)]
    panels = int(bool(state)) + int(bool(report.model))
    if panels == 0:
        raise ValueError("plot_robustness: the report has no curve to draw")
    fig = Figure(figsize=(5.5 * panels, 3.6), layout="constrained")
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    if state:
        ax = axes.pop(0)
        sets = sorted({p.attacked for p in state})
        for k, attacked in enumerate(sets):
            points = sorted((p for p in state if p.attacked == attacked), key=lambda p: p.radius)
            x = np.array([p.radius for p in points])
            who = "agents " + ",".join(map(str, attacked))
            style = ("-", "--", ":", "-.")[k % 4]

            def values(name: str, pts: list = points) -> np.ndarray:
                return np.array([np.nan if getattr(p, name) is None else getattr(p, name) for p in pts], float)

            if points[0].clean is not None:
                ax.plot(x, values("clean"), style, color="#1b9e77", marker="o", label=f"clean ({who})")
                ax.plot(x, values("random"), style, color="#7570b3", marker="s", label=f"random noise ({who})")
                ax.plot(
                    x, values("worst"), style, color="#d95f02", marker="v", label=f"{points[0].attack} attack ({who})"
                )
            if points[0].robust_lower is not None:
                lower, upper = values("robust_lower"), values("robust_upper")
                ax.plot(x, lower, style, color=EPS_COLOUR, label=f"robust value ({who})")
                if np.any(upper > lower + 1e-9):
                    ax.fill_between(x, lower, upper, color=EPS_COLOUR, alpha=0.15, label="robust value bounds")
        ax.set_xlabel("radius ε")
        ax.set_ylabel("value (mean return over agents)")
        ax.set_title("state perturbations", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=7, framealpha=0.85)
    if report.model:
        ax = axes.pop(0)
        model = sorted(report.model, key=lambda m: m.transition_radius)
        x = np.array([m.transition_radius for m in model])
        if model[0].returns is not None:
            for i in range(len(model[0].returns)):
                ax.plot(x, [m.returns[i] for m in model], marker="o", label=f"policy, agent {i}")
        optimum = [np.nan if m.optimum is None else m.optimum for m in model]
        if not np.all(np.isnan(optimum)):
            ax.plot(x, optimum, "--", color=EPS_COLOUR, label=f"robust optimum ({model[0].optimum_kind})")
        ax.set_xlabel(f"transition radius δ ({model[0].norm}); reward box ±{model[0].reward_radius:g}")
        ax.set_ylabel("robust return")
        ax.set_title("model uncertainty", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=7, framealpha=0.85)
    fig.suptitle(f"Robustness of {report.target}", fontsize=11)
    return save_figure(fig, path)


__all__ = [
    "SIMPLEX_CORNERS",
    "VERDICT_COLOURS",
    "learner_title",
    "plot_costs",
    "plot_criteria",
    "plot_criterion",
    "plot_nonstationarity",
    "plot_policy_trajectories",
    "plot_robustness",
    "plot_seed_fan",
    "save_figure",
]
