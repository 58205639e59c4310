"""What a training run records, per seed and logging point, for the convergence diagnostics to read.

Layout (``N`` seeds, ``T`` logging points, ``n`` agents, ``S`` states; logging point t is taken after
``steps[t]`` environment steps, i.e. at the end of window t = steps ``(steps[t-1], steps[t]]``):

* ``policy [N, T, n, S, A_max]`` float32 — each agent's behaviour policy (what ``act`` samples from), zero on
  illegal actions; rows of terminal states are whatever the learner reports (no action is taken there);
* ``average_policy [N, T, n, S, A_max]`` — the learner's average policy (WoLF's π̄) where it keeps one,
  NaN for the agents whose learner has none (``has_average_policy [n]``);
* ``joint_counts [N, T, S, A_1, ..., A_n]`` int64 — how often each joint action was played in each state since
  the start (cumulative: difference two points for a window, divide for an empirical distribution);
* ``episode_return [N, T, n]`` — mean undiscounted return of the episodes that *finished* in window t (NaN
  where none did) and ``episode_count [N, T]``; ``reward_mean [N, T, n]`` — mean reward per step in window t;
* ``metrics[name] [N, T, n]`` — window means of what the learners report (e.g. ``td_error``), NaN for agents
  whose learner does not report that name;
* constrained games and tasks only (``None`` elsewhere; ``m`` constraints per agent, Altman 1999 / Gu et al.
  2021): ``cost_mean [N, T, n, m]`` — mean cost per step in window t; ``episode_cost [N, T, n, m]`` — mean
  undiscounted cost of the episodes that finished in window t (NaN where none did); ``multipliers [N, T, n, m]``
  — the Lagrange multipliers λ of Lagrangian learners at the end of window t (NaN for agents whose learner keeps
  none). On exact games the discounted costs J of each policy snapshot follow from ``policy`` exactly
  (``StochasticGame.expected_costs``);
* ``steps [T]``, ``seeds [N]`` (seed i ran with key ``fold_in(key, i)``), ``meta`` (JSON: game, learners, ...).

Files are NPZ without pickle, written atomically (temp file, then rename).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from marlkit import strict
from marlkit.atomic import write_with
from marlkit.errors import GameFileError

FORMAT = "marlkit.history"
VERSION = 1
_METRIC_PREFIX = "metric."
CONSTRAINT_ARRAYS = ("cost_mean", "episode_cost", "multipliers")
"""The optional arrays of constrained runs (all three or none)."""
_ARRAYS = (
    "steps",
    "seeds",
    "policy",
    "average_policy",
    "has_average_policy",
    "joint_counts",
    "episode_return",
    "episode_count",
    "reward_mean",
)


@dataclass(frozen=True, eq=False)
class History:
    """Recorded training run (see the module docstring for every field's shape and meaning)."""

    steps: np.ndarray
    seeds: np.ndarray
    policy: np.ndarray
    average_policy: np.ndarray
    has_average_policy: np.ndarray
    joint_counts: np.ndarray
    episode_return: np.ndarray
    episode_count: np.ndarray
    reward_mean: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)
    cost_mean: np.ndarray | None = None
    episode_cost: np.ndarray | None = None
    multipliers: np.ndarray | None = None

    def __post_init__(self) -> None:
        present = [name for name in CONSTRAINT_ARRAYS if getattr(self, name) is not None]
        if present and len(present) != len(CONSTRAINT_ARRAYS):
            missing = sorted(set(CONSTRAINT_ARRAYS) - set(present))
            raise ValueError(
                f"History: a constrained run records {list(CONSTRAINT_ARRAYS)} together; missing {missing}"
            )

    @property
    def constrained(self) -> bool:
        """Whether the run recorded costs (a constrained game or task)."""
        return self.cost_mean is not None

    @property
    def num_constraints(self) -> int:
        """``m``, the number of constraints per agent (0 for an unconstrained run)."""
        return 0 if self.cost_mean is None else int(self.cost_mean.shape[-1])

    @property
    def n_seeds(self) -> int:
        return int(self.policy.shape[0])

    @property
    def n_agents(self) -> int:
        return int(self.policy.shape[2])

    @property
    def num_logs(self) -> int:
        return int(self.steps.shape[0])

    @property
    def has_policy_table(self) -> bool:
        """Whether the run recorded per-state policies (``policy [N, T, n, S, A]`` with ``S > 0``): runs on exact
        games do; runs on tasks (and on games seen through a wrapper that changes the observations) do not."""
        return self.policy.ndim == 5 and self.policy.shape[3] > 0

    def team_return(self) -> np.ndarray:
        """``[N, T]``: each logging window's ``episode_return`` averaged over the agents with a finished episode
        (NaN where none finished), without NumPy's empty-slice warning."""
        returns = np.asarray(self.episode_return, float)
        finite = np.isfinite(returns)
        count = finite.sum(axis=-1)
        total = np.where(finite, returns, 0.0).sum(axis=-1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def window_counts(self) -> np.ndarray:
        """Joint-action counts per window ``[N, T, S, A_1..A_n]`` (differences of the cumulative counts)."""
        first = self.joint_counts[:, :1]
        return np.concatenate([first, np.diff(self.joint_counts, axis=1)], axis=1)

    def empirical_joint(self, since: int = 0) -> np.ndarray:
        """Empirical joint-action distribution per state, ``[N, T, S, A_1..A_n]``, of play after logging point
        ``since - 1`` (``since = 0``: from the start); NaN for states not yet visited."""
        counts = self.joint_counts.astype(np.float64)
        if since > 0:
            counts = counts - counts[:, since - 1 : since]
        axes = tuple(range(3, counts.ndim))
        totals = counts.sum(axis=axes, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), np.nan)

    def select_seeds(self, index: int | slice | np.ndarray) -> History:
        """The History of a subset of seeds (``index`` into the seed axis)."""
        pick = np.arange(self.n_seeds)[index]
        pick = np.atleast_1d(pick)
        return History(
            steps=self.steps,
            seeds=self.seeds[pick],
            policy=self.policy[pick],
            average_policy=self.average_policy[pick],
            has_average_policy=self.has_average_policy,
            joint_counts=self.joint_counts[pick],
            episode_return=self.episode_return[pick],
            episode_count=self.episode_count[pick],
            reward_mean=self.reward_mean[pick],
            metrics={k: v[pick] for k, v in self.metrics.items()},
            meta=dict(self.meta),
            **{name: None if (v := getattr(self, name)) is None else v[pick] for name in CONSTRAINT_ARRAYS},
        )

    # ------------------------------------------------------------------------------------------------- I/O
    def save(self, path: str | os.PathLike) -> Path:
        """Write an NPZ file atomically (no pickle); returns the path."""
        path = Path(path)
        arrays: dict[str, Any] = {name: np.asarray(getattr(self, name)) for name in _ARRAYS}
        arrays.update({_METRIC_PREFIX + k: np.asarray(v) for k, v in self.metrics.items()})
        arrays.update({name: np.asarray(v) for name in CONSTRAINT_ARRAYS if (v := getattr(self, name)) is not None})
        header = {"format": FORMAT, "version": VERSION, "meta": self.meta}
        arrays[HEADER] = np.array(json.dumps(header))
        write_with(path, lambda handle: np.savez(handle, **arrays))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        """Read a History written by :meth:`save`, on the strict boundary (:func:`marlkit.strict.read_archive`): a
        regular file (no link followed), plain real arrays of at most ``MARLKIT_MAX_ELEMENTS`` entries, no unknown
        member, a header ``{"format", "version", "meta"}`` of exact types, and arrays whose shapes agree with each
        other (:func:`check_shapes`). Any failure is one :class:`GameFileError` line naming the file."""
        path = Path(path)
        try:
            header, contents = strict.read_archive(
                path, GameFileError, allowed=_member, describe=_unknown_member, header=HEADER
            )
        except GameFileError as exc:
            raise GameFileError(f"{path}: not a History NPZ file ({str(exc).removeprefix(f'{path}: ')})") from None
        strict.check_keys(HEADER, header, ("format", "version", "meta"), "a History header", GameFileError)
        if header.get("format") != FORMAT or header.get("version") != VERSION or type(header.get("version")) is not int:
            raise GameFileError(
                f"{path}: expected format {FORMAT!r} version {VERSION}, got {strict.shorten(header.get('format'))} "
                f"version {strict.shorten(header.get('version'))}"
            )
        meta = header.get("meta")
        if not isinstance(meta, dict):
            raise strict.wrong(f"{path}: {HEADER}.meta", "an object", meta, GameFileError)
        missing = [name for name in _ARRAYS if name not in contents]
        if missing:
            raise GameFileError(f"{path}: History file lacks arrays {missing}")
        metrics = {k[len(_METRIC_PREFIX) :]: v for k, v in contents.items() if k.startswith(_METRIC_PREFIX)}
        constraint = {name: contents.get(name) for name in CONSTRAINT_ARRAYS}
        if any(v is not None for v in constraint.values()) and any(v is None for v in constraint.values()):
            raise GameFileError(f"{path}: a constrained History needs all of {list(CONSTRAINT_ARRAYS)}")
        check_shapes(path, {**{name: contents[name] for name in _ARRAYS}, **constraint}, metrics)
        return cls(
            **{name: contents[name] for name in _ARRAYS},
            metrics=metrics,
            meta=meta,
            cost_mean=constraint["cost_mean"],
            episode_cost=constraint["episode_cost"],
            multipliers=constraint["multipliers"],
        )


HEADER = "header"
_KINDS = {"steps": "iu", "seeds": "iu", "joint_counts": "iu", "episode_count": "iu", "has_average_policy": "b"}
"""dtype kinds of the whole-number and boolean arrays; every other array is float."""


def _member(name: str) -> bool:
    return (
        name in _ARRAYS
        or name in CONSTRAINT_ARRAYS
        or name == HEADER
        or (name.startswith(_METRIC_PREFIX) and len(name) > len(_METRIC_PREFIX))
    )


def _unknown_member(name: str) -> str:
    return (
        f"archive member {strict.shorten(name)}: not a History array (a History holds {', '.join(_ARRAYS)}, "
        f"{', '.join(CONSTRAINT_ARRAYS)}, '{_METRIC_PREFIX}NAME' metrics and {HEADER})"
    )


def check_shapes(path: Path, arrays: dict[str, np.ndarray | None], metrics: dict[str, np.ndarray]) -> None:
    """Refuse a History whose arrays do not fit each other: ``steps [T]``, ``seeds [N]``, ``policy`` and
    ``average_policy [N, T, n, S, A]``, ``has_average_policy [n]``, ``joint_counts [N, T, S, ...]``,
    ``episode_return`` / ``reward_mean`` / metrics ``[N, T, n]``, ``episode_count [N, T]``, the constraint arrays
    ``[N, T, n, m]``; whole numbers, booleans and floats where each belongs (module docstring)."""
    for name, array in [*arrays.items(), *((f"{_METRIC_PREFIX}{k}", v) for k, v in metrics.items())]:
        if array is None:
            continue
        kinds = _KINDS.get(name, "f")
        if array.dtype.kind not in kinds:
            wanted = {"iu": "whole numbers", "b": "booleans", "f": "floats"}[kinds]
            raise GameFileError(f"{path}: {name}: expected {wanted}, got dtype {array.dtype}")
    policy = arrays["policy"]
    if policy is None or policy.ndim != 5:
        raise GameFileError(f"{path}: policy: expected [seeds, logs, agents, states, actions], got {_shape(policy)}")
    N, T, n = policy.shape[:3]
    expected: dict[str, tuple[int, ...] | None] = {
        "steps": (T,),
        "seeds": (N,),
        "average_policy": policy.shape,
        "has_average_policy": (n,),
        "episode_return": (N, T, n),
        "episode_count": (N, T),
        "reward_mean": (N, T, n),
        **{f"{_METRIC_PREFIX}{k}": (N, T, n) for k in metrics},
    }
    found = {**arrays, **{f"{_METRIC_PREFIX}{k}": v for k, v in metrics.items()}}
    for name, shape in expected.items():
        if found[name] is not None and found[name].shape != shape:  # type: ignore[union-attr]
            raise GameFileError(
                f"{path}: {name}: shape {_shape(found[name])} does not fit policy's {list(policy.shape)}"
            )
    counts = arrays["joint_counts"]
    if counts is None or counts.ndim < 3 or counts.shape[:3] != (N, T, policy.shape[3]):
        raise GameFileError(f"{path}: joint_counts: shape {_shape(counts)} does not fit policy's {list(policy.shape)}")
    costs = [a for name in CONSTRAINT_ARRAYS if (a := arrays.get(name)) is not None]
    for name, array in zip(CONSTRAINT_ARRAYS, costs, strict=False):
        if array.ndim != 4 or array.shape[:3] != (N, T, n) or array.shape != costs[0].shape:
            raise GameFileError(
                f"{path}: {name}: shape {_shape(array)} does not fit [seeds, logs, agents, constraints]"
            )


def _shape(array: np.ndarray | None) -> str:
    return "none" if array is None else str(list(array.shape))
