"""The one trainer protocol: what the experiment runner, studies and sweeps call, whatever the trainer.

A trainer turns a run's inputs into a :class:`Plan` — everything static about the run, checked at the edge —
and the plan runs it:

* ``plan.start()`` — every seed's state before its first step;
* ``plan.advance(state, first_window, num_windows)`` — windows ``first_window .. first_window + num_windows - 1``
  of every seed, returning the new state and their :class:`Record` s (leaves
  ``[N, num_windows, ...]``); any split of a run into ``advance`` calls gives the same records, bit for bit
  (every window draws its randomness from its own key);
* ``plan.to_history(records)`` — the :class:`~marlkit.history.History` of consecutive windows' records;
* ``plan.run()`` — the whole run at once (the same History as ``start`` / ``advance`` / ``to_history``);
* what the runner needs besides: ``seeds``, ``steps``, ``log_every``, ``num_logs``, ``needed_bytes()`` (disk a
  run directory takes at most), ``judged`` (whether the History holds the policy tables the convergence diagnosis
  reads) and ``summary_fields(history)`` (what the trainer adds to ``summary.json``).

The trainers: the tabular loop (:mod:`marlkit.train.loop`, :class:`~marlkit.train.loop.TrainPlan`), the compiled
deep trainer (:mod:`marlkit.train.deep`, :class:`~marlkit.train.deep.DeepPlan`) and the host loop for PettingZoo
envs (:mod:`marlkit.train.host`, :class:`~marlkit.train.host.HostPlan`). A new trainer (a Lagrangian learner's,
adversarial training, a human-model partner) is one more class with these methods: the runner calls nothing else.

Logging windows: every trainer takes ``log_every`` (env steps per window) or, when it is not given,
:func:`default_log_every` — one rule for all.

Constrained runs: a window's costs and Lagrange multipliers travel in its record's ``metrics`` as
``"constraint/<field>/<j>" [n]`` entries (:func:`constraint_metrics`; ``field`` one of the History's
:data:`~marlkit.history.CONSTRAINT_ARRAYS`, ``j`` the constraint), so run segments, checkpoints and
``metrics.jsonl`` carry them unchanged; :func:`split_constraint_metrics` stacks them back into the History's
``[N, T, n, m]`` arrays. Every trainer uses these two, so the encoding is one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from marlkit.history import CONSTRAINT_ARRAYS

if TYPE_CHECKING:
    import jax

    from marlkit.history import History

CONSTRAINT_PREFIX = "constraint/"
"""The prefix of the record metrics that carry a constrained run's costs and multipliers (module docstring)."""


def constraint_metrics(values: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """``{field: [..., n, m]}`` for every field of :data:`~marlkit.history.CONSTRAINT_ARRAYS` -> the record
    metrics ``{"constraint/<field>/<j>": [..., n]}``."""
    return {
        f"{CONSTRAINT_PREFIX}{field}/{j}": values[field][..., j]
        for field in CONSTRAINT_ARRAYS
        for j in range(values[field].shape[-1])
    }


def split_constraint_metrics(
    metrics: dict[str, np.ndarray], num_constraints: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray | None]]:
    """``(the other metrics, {field: [N, T, n, m] or None})``: a run's merged record metrics with the
    ``constraint/<field>/<j>`` entries stacked per field (``None`` for every field of an unconstrained run)."""
    rest = {k: v for k, v in metrics.items() if not k.startswith(CONSTRAINT_PREFIX)}
    if not num_constraints or len(rest) == len(metrics):
        return rest, dict.fromkeys(CONSTRAINT_ARRAYS)
    stacked = {
        field: np.stack([np.asarray(metrics[f"{CONSTRAINT_PREFIX}{field}/{j}"]) for j in range(num_constraints)], -1)
        for field in CONSTRAINT_ARRAYS
    }
    return rest, dict(stacked)


DEFAULT_LOGS = 100
"""The number of logging windows a run gets by default (:func:`default_log_every`), when its steps allow."""


def default_log_every(steps: int, unit: int = 1) -> int:
    """Env steps per logging window when none is given: about :data:`DEFAULT_LOGS` windows.

    ``unit`` is the trainer's indivisible span of env steps (1 for the tabular loop; ``num_envs x rollout_length``
    for an update of a deep learner), and ``steps`` a multiple of it. With ``u = steps / unit`` units: one unit per
    window when ``u <= 100``; otherwise ``d`` units per window, ``d`` the largest divisor of ``u`` with ``d <= u /
    100`` — exactly 100 windows whenever 100 divides ``u``, at least 100 otherwise.
    """
    units = steps // unit
    if units <= DEFAULT_LOGS:
        return unit
    limit = units // DEFAULT_LOGS
    divisors = (d for i in range(1, math.isqrt(units) + 1) if units % i == 0 for d in (i, units // i))
    return unit * max(d for d in divisors if d <= limit)  # divisors in pairs up to √u: instant at u = 2^31


class Record(NamedTuple):
    """What every trainer records per seed and logging window (JAX or NumPy arrays; ``advance`` returns them with
    leading axes ``[N, W]``); :meth:`Plan.to_history` turns them into a History (see :mod:`marlkit.history` for
    each field's meaning). A trainer without policy tables records ``S = 0`` states."""

    policy: Any  # [n, S, A_max]
    average_policy: Any  # [n, S, A_max]
    counts: Any  # [S, J] cumulative joint-action counts
    episode_return: Any  # [n]
    episode_count: Any  # []
    reward_mean: Any  # [n]
    metrics: dict[str, Any]  # name -> [n]


@runtime_checkable
class Plan(Protocol):
    """A prepared training run (see the module docstring); build one with a trainer's ``prepare``."""

    @property
    def seeds(self) -> np.ndarray:
        """The seed indices ``[N]`` (seed ``i`` runs from ``fold_in(key, i)``)."""
        ...

    @property
    def steps(self) -> int:
        """Env steps per seed."""
        ...

    @property
    def log_every(self) -> int:
        """Env steps per logging window."""
        ...

    @property
    def num_logs(self) -> int:
        """Logging windows of the whole run (``steps // log_every``)."""
        ...

    @property
    def judged(self) -> bool:
        """Whether the run's History holds policy tables the convergence diagnosis reads."""
        ...

    def start(self) -> Any:
        """Every seed's state before its first step (a pytree the runner checkpoints)."""
        ...

    def advance(self, state: Any, first_window: int, num_windows: int) -> tuple[Any, Record]:
        """Run windows ``first_window .. first_window + num_windows - 1`` of every seed from ``state``."""
        ...

    def to_history(self, records: Record | Sequence[Record]) -> History:
        """The History of windows ``0 .. W-1`` from the records of consecutive ``advance`` calls."""
        ...

    def run(self) -> History:
        """The whole run at once (the History of ``start`` / ``advance`` over all windows / ``to_history``)."""
        ...

    def needed_bytes(self) -> int:
        """Disk a run directory of this plan takes at most (segments, history, checkpoints, metrics)."""
        ...

    def summary_fields(self, history: History) -> dict[str, Any]:
        """What this trainer adds to a run's ``summary.json`` (a ``"learning"`` entry replaces the tabular one)."""
        ...


Progress = Callable[[int, int, Record], None]
"""A progress callback: ``(windows done, total windows, the records of the windows just run)``."""

PROGRESS_CHUNKS = 20
"""A run with progress reports about this many times (chunks of equal size: one compiled program)."""


def mean_return(records: Record) -> float | None:
    """The mean episode return over seeds and agents of the last window in ``records`` (leaves ``[N, W, ...]``),
    None when no episode ended in it: what progress reports show."""
    returns = np.asarray(records.episode_return, dtype=np.float64)[:, -1]
    finite = returns[np.isfinite(returns)]
    return float(finite.mean()) if finite.size else None


def run_with_progress(plan: Plan, progress: bool | Progress | None) -> tuple[Any, list[Record]]:
    """``(final state, records)`` of a whole run, reporting after each of about :data:`PROGRESS_CHUNKS` equal
    chunks of windows: ``progress=True`` draws a bar with the latest mean return on stderr, a callable is called
    with ``(done, total, records)``, ``False`` / None runs everything in one call. The records are the same bit
    for bit however the run is split (the protocol's rule), so progress never changes results."""
    import jax

    total = plan.num_logs
    if not progress:
        state, records = plan.advance(plan.start(), 0, total)
        return state, [records]
    target = max(1, total // PROGRESS_CHUNKS)
    chunk = max(d for d in range(1, target + 1) if total % d == 0)  # equal chunks: one compiled program
    report = progress if callable(progress) else _bar(total)
    state, done, out = plan.start(), 0, []
    try:
        while done < total:
            state, records = plan.advance(state, done, chunk)
            records = jax.tree_util.tree_map(np.asarray, records)
            out.append(records)
            done += chunk
            report(done, total, records)
    finally:
        close = getattr(report, "close", None)
        if close is not None:
            close()
    return state, out


class _bar:  # noqa: N801 (a callable used as a function)
    """The rich progress bar of ``progress=True``: windows done, the latest mean return, elapsed time and ETA."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("training"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("windows {task.fields[latest]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.task = self.bar.add_task("training", total=total, latest="")
        self.bar.start()

    def __call__(self, done: int, total: int, records: Record) -> None:
        value = mean_return(records)
        self.bar.update(self.task, completed=done, latest="" if value is None else f"return {value:.4g}")

    def close(self) -> None:
        self.bar.stop()


__all__ = [
    "CONSTRAINT_PREFIX",
    "DEFAULT_LOGS",
    "PROGRESS_CHUNKS",
    "Plan",
    "Progress",
    "Record",
    "constraint_metrics",
    "default_log_every",
    "mean_return",
    "run_with_progress",
    "split_constraint_metrics",
]
