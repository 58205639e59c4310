"""The data of a run page: live learning curves from ``metrics.jsonl``, and (finished runs) the diagnosis, the
policy trajectories and the result sections — all read from the run directory, never trained.

**Curves** (:class:`MetricsFeed`). ``metrics.jsonl`` is the runner's source of truth (one line per logging point
per seed, appended and fsynced once per segment, :mod:`marlkit.experiment.rundir`). A feed reads it by byte
offset: each :meth:`MetricsFeed.update` reads only the bytes appended since the last one (complete lines only; a
file that shrank — a resumed run cut it back to its checkpoint — is read again from the start). Per logging
point it keeps each seed's team return (the mean episode return over the agents with a finished episode, as
:meth:`marlkit.history.History.team_return`) and each learner metric averaged over agents
(:func:`marlkit.diagnose.curves.metric_curves`), and across seeds the IQM with its 95% percentile-bootstrap band
(:func:`marlkit.diagnose.curves.iqm_curve`, Agarwal et al. 2021 §4) — computed once per logging point, when all
seeds have written it, with the point's own bootstrap seed, so the live curve and the static report agree.

**Diagnosis** (:func:`run_diagnosis`). A finished run judged against an exact game is diagnosed as
``report.html`` does it (:func:`marlkit.diagnose.report.diagnose` with the config's ``diagnostics``,
:func:`marlkit.experiment.report.diagnosis_options`): the verdict table, notes and safety section are the
report's own HTML pieces (:func:`marlkit.experiment.report.diagnosis_sections`), the six criteria's curves
(metric per seed, eps, z0, verdicts) its ``to_dict()``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from marlkit.errors import MarlkitError
from marlkit.strict import loads_json

LOG = logging.getLogger("marlkit.serve")
RETURN_SERIES = "episode return (mean over agents)"
BAND_BUDGET_S = 0.5
"""Seconds of bootstrap one curves request may spend (the rest is computed by the requests that follow)."""
MAX_FEEDS = 64
"""Runs whose curves the app keeps in memory (least recently used dropped first)."""


def _json_number(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _list(values: np.ndarray) -> list[float | None]:
    return [_json_number(float(x)) for x in np.asarray(values, dtype=np.float64)]


class MetricsFeed:
    """One run's ``metrics.jsonl`` read incrementally (see the module docstring); ``seeds`` is how many seeds write
    each logging point (from the config; None: a point counts as complete once a later one starts)."""

    def __init__(self, path: Path, seeds: int | None) -> None:
        self.path, self.expected_seeds = path, seeds
        self.lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.offset = 0
        self.windows: dict[int, dict[str, Any]] = {}  # window -> {"step": int, "seeds": {seed: entry}}
        self.bands: dict[tuple[str, int], tuple[float, float, float]] = {}
        self.centres: dict[tuple[str, int], float] = {}  # IQMs of points whose band is pending
        self.version = 0
        self.pending = 0
        self._series_of: tuple[int, dict[str, np.ndarray]] | None = None

    def update(self) -> bool:
        """Read the lines appended since the last call; True when something changed."""
        with self.lock:
            try:
                size = self.path.stat().st_size
            except OSError:
                return False
            if size < self.offset:  # cut back by a resume: read it again
                self._reset()
            if size == self.offset:
                return False
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read(size - self.offset)
            end = chunk.rfind(b"\n") + 1  # complete lines only; a half-written last line waits for its end
            if end == 0:
                return False
            for number, raw in enumerate(chunk[:end].splitlines()):
                if raw.strip():
                    self._add(raw, number)
            self.offset += end
            self.version += 1
            return True

    def _add(self, raw: bytes, number: int) -> None:
        try:
            entry = loads_json(raw, MarlkitError)
        except MarlkitError:
            return  # a damaged line is skipped (the page says how many points it shows)
        if not isinstance(entry, dict):
            return
        window = entry.get("window", len(self.windows))  # a study cell's lines (means over seeds) have no window
        seed = entry.get("seed", 0)
        if not isinstance(window, int) or not isinstance(seed, int):
            return
        slot = self.windows.setdefault(window, {"step": entry.get("step", window), "seeds": {}})
        slot["seeds"][seed] = entry

    # ------------------------------------------------------------------------------------------- curves
    def curves(self, budget_s: float | None = BAND_BUDGET_S) -> dict[str, Any]:
        """The curves as JSON: ``steps``, ``seeds``, ``series`` (name, ``per_seed`` [N][T], ``iqm``, ``low``,
        ``high`` [T]; null where undefined), ``offset`` (bytes read), ``points`` (logging points complete) and
        ``pending`` (bootstrap bands not computed yet).

        The bootstrap costs about a millisecond per point and series, so a long finished run's first view would
        wait seconds: at most ``budget_s`` seconds are spent on bands per call (None: no limit), the return curve's
        first; a point whose band is still pending has its IQM (:func:`marlkit.diagnose.seeds.iqm`, as in
        ``iqm_curve``) and no band, and the page asks again at once until ``pending`` is 0."""
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        pending = 0
        with self.lock:
            windows = sorted(self.windows)
            seeds = sorted({s for w in windows for s in self.windows[w]["seeds"]})
            if not windows:
                self.pending = 0
                return {"offset": self.offset, "steps": [], "seeds": [], "series": [], "points": 0, "pending": 0}
            expected = self.expected_seeds or len(seeds)
            complete = [len(self.windows[w]["seeds"]) >= min(expected, len(seeds) or 1) for w in windows]
            if self.expected_seeds is None and complete:
                complete[-1] = False  # seeds unknown: the newest point may still be filling
            if self._series_of is None or self._series_of[0] != self.version:
                self._series_of = (self.version, self._series(windows, seeds))
            series = self._series_of[1]
            out = []
            for name, values in series.items():
                centre, low, high = (np.full(len(windows), np.nan) for _ in range(3))
                for t, window in enumerate(windows):
                    if not complete[t]:
                        continue
                    band = self.bands.get((name, window))
                    if band is None and (deadline is None or time.perf_counter() < deadline):
                        band = self._band(values[:, t], window)
                        self.bands[(name, window)] = band
                    if band is not None:
                        centre[t], low[t], high[t] = band
                        continue
                    if (name, window) not in self.centres:
                        self._centres(name, values, windows, complete)
                    centre[t] = self.centres[(name, window)]
                    pending += int(np.isfinite(centre[t]))
                out.append(
                    {
                        "name": name,
                        "per_seed": [_list(row) for row in values],
                        "iqm": _list(centre),
                        "low": _list(low),
                        "high": _list(high),
                    }
                )
            self.pending = pending
            return {
                "offset": self.offset,
                "steps": [int(self.windows[w]["step"]) for w in windows],
                "seeds": seeds,
                "series": out,
                "points": int(sum(complete)),
                "pending": pending,
            }

    def _centres(self, name: str, values: np.ndarray, windows: list[int], complete: list[bool]) -> None:
        """The IQM of every complete point of one series at once: ``scipy.stats.trim_mean(.., IQM_TRIM)`` down the
        columns where every seed has a value (what :func:`marlkit.diagnose.seeds.iqm` computes column by column),
        ``iqm`` itself where some seed has none."""
        from scipy import stats

        from marlkit.diagnose.seeds import IQM_TRIM, iqm

        full = np.isfinite(values).all(axis=0)
        means = stats.trim_mean(values[:, full], IQM_TRIM, axis=0) if full.any() else np.zeros(0)
        by_column = dict(zip(np.flatnonzero(full).tolist(), np.atleast_1d(means).tolist(), strict=True))
        for t, window in enumerate(windows):
            if not complete[t] or (name, window) in self.centres:
                continue
            if t in by_column:
                self.centres[(name, window)] = float(by_column[t])
                continue
            finite = values[np.isfinite(values[:, t]), t]
            self.centres[(name, window)] = iqm(finite) if finite.size else math.nan

    @staticmethod
    def _band(column: np.ndarray, window: int) -> tuple[float, float, float]:
        from marlkit.diagnose.curves import iqm_curve

        centre, low, high = iqm_curve(column[:, None], start=window)
        return float(centre[0]), float(low[0]), float(high[0])

    def _series(self, windows: list[int], seeds: list[int]) -> dict[str, np.ndarray]:
        """name -> ``[N, T]``: the team return and each learner metric, averaged over agents."""
        from marlkit.diagnose.curves import metric_curves

        def table(field: str, name: str | None = None) -> np.ndarray | None:
            width = 0
            for w in windows:
                for entry in self.windows[w]["seeds"].values():
                    value = entry.get(field) if name is None else (entry.get("metrics") or {}).get(name)
                    if isinstance(value, list):
                        width = max(width, len(value))
            if width == 0:
                return None
            array = np.full((len(seeds), len(windows), width), np.nan)
            for t, w in enumerate(windows):
                for i, seed in enumerate(seeds):
                    entry = self.windows[w]["seeds"].get(seed)
                    if entry is None:
                        continue
                    value = entry.get(field) if name is None else (entry.get("metrics") or {}).get(name)
                    if isinstance(value, list):
                        row = [np.nan if v is None else float(v) for v in value[:width]]
                        array[i, t, : len(row)] = row
            return array

        names = sorted(
            {k for w in windows for e in self.windows[w]["seeds"].values() for k in (e.get("metrics") or {})}
        )
        metrics: dict[str, np.ndarray] = {}
        returns = table("episode_return")
        if returns is not None:
            metrics[RETURN_SERIES] = returns
        for name in names:
            array = table("metrics", name)
            if array is not None:
                metrics[name] = array
        # the mean over the agents with a value, as History.team_return and the report's metric panels take it
        return metric_curves(SimpleNamespace(metrics=metrics, episode_cost=None))


class Feeds:
    """The app's metrics feeds, one per run directory, least recently used dropped beyond :data:`MAX_FEEDS`."""

    def __init__(self) -> None:
        self._feeds: OrderedDict[Path, MetricsFeed] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, directory: Path, seeds: int | None) -> MetricsFeed:
        with self._lock:
            feed = self._feeds.get(directory)
            if feed is None:
                feed = MetricsFeed(directory / "metrics.jsonl", seeds)
                self._feeds[directory] = feed
            self._feeds.move_to_end(directory)
            while len(self._feeds) > MAX_FEEDS:
                self._feeds.popitem(last=False)
            return feed


# ------------------------------------------------------------------------------------------- finished runs
@dataclass(frozen=True, eq=False)
class RunDiagnosis:
    """What a finished run page shows beyond its curves: the diagnosis (None on a task or an unjudged run) with
    its HTML sections and data, the policy trajectories (None where the game has none to draw), the fairness and
    result sections (HTML from :mod:`marlkit.experiment.report`), and a note when something could not be read."""

    sections: list[tuple[str, str]]
    criteria: dict[str, Any] | None
    trajectories: dict[str, Any] | None
    note: str = ""


_DIAGNOSES: OrderedDict[tuple[Path, tuple[Any, ...]], RunDiagnosis] = OrderedDict()
_DIAGNOSES_LOCK = threading.Lock()


def _signature(directory: Path) -> tuple[Any, ...]:
    from marlkit.experiment.report import RESULT_SECTIONS

    names = ["summary.json", "history.npz", "config.yaml", *(entry.file for entry in RESULT_SECTIONS)]
    out: list[tuple[str, int | None, int | None]] = []
    for name in names:
        try:
            st = (directory / name).stat()
            out.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((name, None, None))
    return tuple(out)


def run_diagnosis(directory: Path) -> RunDiagnosis:
    """The finished run's diagnosis and sections (cached until one of its files changes). Never raises for a bad
    run directory: what cannot be read becomes ``note``."""
    key = (directory, _signature(directory))
    with _DIAGNOSES_LOCK:
        cached = _DIAGNOSES.get(key)
    if cached is not None:
        return cached
    result = _diagnose(directory)
    with _DIAGNOSES_LOCK:
        _DIAGNOSES[key] = result
        while len(_DIAGNOSES) > MAX_FEEDS:
            _DIAGNOSES.popitem(last=False)
    return result


def _diagnose(directory: Path) -> RunDiagnosis:
    from marlkit.errors import MarlkitError
    from marlkit.experiment.report import (
        diagnosis_options,
        diagnosis_sections,
        fairness_section,
        game_of_run,
        is_judged,
        read_run,
        result_sections,
    )

    try:
        run = read_run(directory)
    except Exception as exc:  # any unreadable file (a torn NPZ, bad JSON, ...) is the same problem for the page
        return RunDiagnosis([], None, None, note=f"the run's files could not be read: {type(exc).__name__}: {exc}")
    sections: list[tuple[str, str]] = []
    criteria = trajectories = None
    note = ""
    if is_judged(run):
        from marlkit.diagnose.report import diagnose

        try:
            game = game_of_run(run)
            report = diagnose(run.history, game, **diagnosis_options(run.config))
        except MarlkitError as exc:
            note = f"no diagnosis for this run: {exc}"
        except Exception as exc:  # a damaged file must not take the page down; the server log has the traceback
            LOG.exception("diagnosing %s", directory)
            note = f"no diagnosis for this run: {type(exc).__name__}: {exc}"
        else:
            sections += diagnosis_sections(report, pictures=False)
            data = report.to_dict()
            criteria = {"results": data["results"], "labels": data["solution_set"]["labels"]}  # type: ignore[index]
            trajectories = policy_trajectories(run.history, game)
    fair = fairness_section(run.history)
    if fair is not None:
        sections.append(("fairness", fair))
    sections += result_sections(run.directory, pictures=True)
    return RunDiagnosis(sections, criteria, trajectories, note)


MAX_TRAJECTORY_SEEDS = 8


def policy_trajectories(history: Any, game: Any) -> dict[str, Any] | None:
    """The current policy of every agent in the first state over the logging points, for the first
    :data:`MAX_TRAJECTORY_SEEDS` seeds (``history.policy [N, T, n, S, A]``), with the layout to draw it in:
    ``square`` (two players with two actions: P(first action) of each), ``simplex`` (three actions each: a
    ternary plot per player) or ``lines`` (probability of each action over time); Nash equilibria of a
    normal-form game as stars (:func:`marlkit.solve.nash.nash_equilibria`). None when the History has no
    policy table."""
    from marlkit.games import NormalFormGame

    policy = np.asarray(history.policy, dtype=np.float64)
    if policy.ndim != 5 or not history.has_policy_table:
        return None
    actions = [int(a) for a in game.num_actions]
    shown = policy[:MAX_TRAJECTORY_SEEDS, :, :, 0, :]  # [N', T, n, A_max]
    states = policy.shape[3]
    if states == 1 and len(actions) == 2 and actions == [2, 2]:
        layout = "square"
    elif states == 1 and set(actions) == {3}:
        layout = "simplex"
    else:
        layout = "lines"
    equilibria: list[list[list[float]]] = []
    if isinstance(game, NormalFormGame) and layout != "lines":
        from marlkit.errors import MarlkitError
        from marlkit.solve.nash import nash_equilibria

        try:
            equilibria = [[np.asarray(p, float).ravel().tolist() for p in eq.profile] for eq in nash_equilibria(game)]
        except MarlkitError:
            equilibria = []
    return {
        "layout": layout,
        "steps": np.asarray(history.steps, dtype=np.float64).tolist(),
        "seeds": [int(s) for s in np.asarray(history.seeds)[: shown.shape[0]]],
        "players": list(getattr(game, "player_names", [f"agent {i}" for i in range(len(actions))])),
        "actions": [list(names)[:m] for names, m in zip(game.action_names, actions, strict=True)],
        "policy": [
            [[_list(shown[s, :, i, a]) for a in range(actions[i])] for i in range(len(actions))]
            for s in range(shown.shape[0])
        ],
        "equilibria": equilibria,
        "states": int(states),
    }


__all__ = [
    "BAND_BUDGET_S",
    "MAX_FEEDS",
    "RETURN_SERIES",
    "Feeds",
    "MetricsFeed",
    "RunDiagnosis",
    "policy_trajectories",
    "run_diagnosis",
]
