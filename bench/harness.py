"""The shared benchmark harness: interleaved timing of marlkit and its peers, with the machine recorded.

Every bench in this folder times its runs through :func:`interleave`: round r calls every run once, in a fixed
order (A, B, A, B, ...), so a change of load on a shared machine hits all runs alike. For every run it records
both clocks per call:

* **wall**: ``time.perf_counter`` (what a user waits);
* **cpu**: this process's CPU time (user + system, all threads: XLA's included) plus that of the child processes
  it waited for during the call (``getrusage``; a peer that runs as a subprocess, such as ``lrsnash``, is charged
  its own CPU time). On a machine shared with other work the CPU time is the steadier figure.

:class:`Timing` reports the median and the spread (interquartile range and min..max) of each clock; :func:`ratio`
is a run's median divided by a baseline's (> 1: the run takes longer than the baseline). :func:`machine` records
the CPU model (``/proc/cpuinfo``), the core count and the load average; a bench calls :meth:`Report.finish` at the
end to record the load again. Nothing measured on another machine is ever printed as a ratio.

Results go to the terminal (:meth:`Report.lines`) and, with ``--json PATH``, to a JSON file that
``bench/run_all.py`` collects into ``bench/results.json`` and the table in ``bench/README.md``.

Compiled JAX runs: :func:`block` waits for a result (``jax.block_until_ready``) so the clock stops when the work
is done; compile time is timed apart (``compile_s`` of a row) and never counted unless a row says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # a vmapped run deadlocked without it


def cpu_clock() -> float:
    """CPU seconds of this process (all threads; ``time.process_time``, nanosecond clock) plus those of its
    waited-for children (``getrusage(RUSAGE_CHILDREN)``, microseconds)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def wall_clock() -> float:
    return time.perf_counter()


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    """The machine a bench ran on: CPU model, cores, OS, Python, load average now."""
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_before": load_average(),
    }
    if "jax" in sys.modules:
        jax = sys.modules["jax"]
        info["jax"] = f"{jax.__version__} on {jax.devices()[0].platform}"
    return info


def block(out: Any) -> Any:
    """Wait until a (possibly asynchronous JAX) result is computed."""
    if "jax" in sys.modules:
        sys.modules["jax"].block_until_ready(out)
    return out


@dataclass
class Timing:
    """Per-call times of one run: ``wall`` and ``cpu`` seconds, one entry per round."""

    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @staticmethod
    def summary(values: Sequence[float]) -> dict[str, float]:
        """Median, quartiles (``statistics.quantiles``, inclusive method) and min/max of ``values``."""
        if len(values) == 1:
            q1 = q3 = values[0]
        else:
            q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return {
            "median": statistics.median(values),
            "q1": q1,
            "q3": q3,
            "min": min(values),
            "max": max(values),
        }

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "wall": self.summary(self.wall), "cpu": self.summary(self.cpu), "n": len(self.wall)}

    def median(self, clock: str) -> float:
        return statistics.median(getattr(self, clock))


def interleave(
    runs: dict[str, Callable[[int], Any]],
    rounds: int,
    warmup: bool = True,
    clocks: tuple[Callable[[], float], Callable[[], float]] = (wall_clock, cpu_clock),
) -> dict[str, Timing]:
    """Time every run ``rounds`` times, interleaved: round r calls each run once, in the dict's order.

    A run is ``fn(r) -> result`` (r = round index, e.g. to vary a seed); its result is waited for (:func:`block`)
    before the clocks stop. With ``warmup`` every run is called once, untimed, first (caches, lazy compiles).
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    wall, cpu = clocks
    if warmup:
        for fn in runs.values():
            block(fn(-1))
    timings = {name: Timing(name) for name in runs}
    for r in range(rounds):
        for name, fn in runs.items():
            w0, c0 = wall(), cpu()
            block(fn(r))
            timings[name].wall.append(wall() - w0)
            timings[name].cpu.append(cpu() - c0)
    return timings


def timed_once(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(result, wall s, cpu s)`` of one call (e.g. a compile)."""
    w0, c0 = wall_clock(), cpu_clock()
    out = block(fn())
    return out, wall_clock() - w0, cpu_clock() - c0


def ratio(run: Timing, base: Timing, run_per: float = 1.0, base_per: float = 1.0) -> dict[str, float]:
    """``{"wall": .., "cpu": ..}``: the run's median time per item divided by the baseline's (> 1: the run is
    slower than the baseline); ``*_per`` = items of work per call (env steps, games, ...)."""
    return {clock: (run.median(clock) / run_per) / (base.median(clock) / base_per) for clock in ("wall", "cpu")}


def fmt_seconds(s: float) -> str:
    """Three significant digits in s, ms, us or ns."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def fmt_timing(t: Timing, per: float = 1.0) -> str:
    """``wall med [q1-q3] cpu med [q1-q3]`` of the time per item (``per`` items per call)."""
    parts = []
    for clock in ("wall", "cpu"):
        s = Timing.summary(getattr(t, clock))
        parts.append(
            f"{clock} {fmt_seconds(s['median'] / per)} [IQR {fmt_seconds(s['q1'] / per)}-"
            f"{fmt_seconds(s['q3'] / per)}, min-max {fmt_seconds(s['min'] / per)}-{fmt_seconds(s['max'] / per)}]"
        )
    return "  ".join(parts)


@dataclass
class Report:
    """What one bench measured: the machine, and one row per (workload, marlkit run, peer run) comparison.

    A row's ``ratio`` is ``peer time / marlkit time`` (> 1: marlkit is faster) by median wall and CPU time, so
    every row of ``bench/README.md`` reads the same way.
    """

    bench: str
    command: str
    machine: dict[str, Any] = field(default_factory=machine)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def compare(
        self,
        workload: str,
        ours: Timing,
        peer: Timing | None,
        peer_name: str,
        unit: str = "",
        per: float = 1.0,
        peer_per: float | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Record (and print) one comparison; ``peer=None`` records marlkit alone with the reason in ``extra``.

        ``per`` / ``peer_per``: items of work (``unit``) per timed call of each side (the ratio is per item)."""
        peer_per = per if peer_per is None else peer_per
        row: dict[str, Any] = {"workload": workload, "peer": peer_name, "unit": unit, "per": per, "peer_per": peer_per}
        row["marlkit"] = ours.to_json()
        if peer is not None:
            row["peer_timing"] = peer.to_json()
            r = ratio(peer, ours, peer_per, per)
            row["ratio"] = {k: round(v, 3) for k, v in r.items()}
        row.update(extra)
        self.rows.append(row)
        print(f"{workload}: {ours.name} {fmt_timing(ours, per)}")
        if peer is not None:
            print(f"{'':>{len(workload)}}  {peer_name} {fmt_timing(peer, peer_per)}")
            print(
                f"{'':>{len(workload)}}  ratio {peer_name}/{ours.name} (median time per {unit or 'call'}; > 1: "
                f"{ours.name} faster): "
                f"wall {row['ratio']['wall']:.2f}x, cpu {row['ratio']['cpu']:.2f}x",
                flush=True,
            )
        else:
            print(f"{'':>{len(workload)}}  {peer_name}: {extra.get('skipped', 'not measured')}", flush=True)
        return row

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(text, flush=True)

    def __post_init__(self) -> None:
        self.header()

    def header(self) -> None:
        m = self.machine
        print(
            f"machine: {m['cpu']}, {m['cores']} cores, {m['platform']}, python {m['python']}"
            + (f", jax {m['jax']}" if "jax" in m else "")
            + f"; load average before {m['load_before']}",
            flush=True,
        )

    def finish(self, path: str | None) -> None:
        """Record the load average after the runs; write the JSON to ``path`` (atomically) when given."""
        self.machine["load_after"] = load_average()
        print(f"load average after: {self.machine['load_after']}")
        if path:
            from marlkit.atomic import write_text

            write_text(path, json.dumps(self.to_json(), indent=1))

    def to_json(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "command": self.command,
            "machine": self.machine,
            "rows": self.rows,
            "notes": self.notes,
        }


def add_arguments(parser: argparse.ArgumentParser, rounds: int = 5) -> None:
    """The options every bench takes: ``--quick``, ``--rounds`` and ``--json PATH``."""
    parser.add_argument("--quick", action="store_true", help="a smaller workload (minutes, not tens of minutes)")
    parser.add_argument("--rounds", type=int, default=rounds, help="interleaved timed rounds (median and spread)")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON to PATH")


def command_line() -> str:
    """The bench's command line as a user would type it (without ``--json PATH``)."""
    args, out = sys.argv[1:], []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a == "--json":
            skip = True
        elif not a.startswith("--json="):
            out.append(a)
    return "python " + " ".join(["bench/" + Path(sys.argv[0]).name, *out])
