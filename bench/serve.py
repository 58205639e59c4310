"""Benchmark: the web app (issue 22, "Speed") — the runs page over 1,000 runs, and how soon a live page shows a new
logging point.

**Runs page latency.** A runs folder of ``--runs`` (default 1,000) run directories made from one real run
(``marlkit.experiment.runner.run``: matching pennies, WoLF-PHC, 2 seeds, 20 logging points; its ``config.yaml``,
``summary.json`` with the diagnosis, ``metrics.jsonl``, ``checkpoint.npz``): 90% finished, 5% killed (no summary,
files three hours old), 4% running (no summary, fresh files), 1% corrupt (unreadable ``config.yaml``). The app is
served by uvicorn on a free loopback port (:func:`marlkit.serve.app.create_app`) and timed over HTTP: the first
request of ``/`` (every ``config.yaml`` and ``summary.json`` read), then ``--rounds`` more (the index re-reads only
unfinished runs and changed files), and ``/api/runs``.

**Live update delay.** A run page of a running run open in headless Chromium (Debian's ``/usr/bin/chromium`` via
Playwright); ``--appends`` times, one logging point (2 seeds) is appended to its ``metrics.jsonl`` and the time until
the page's curve has it is measured (the page polls every :data:`marlkit.serve.dashboard.POLL_MS` ms, so the
expected delay is about half of that plus the server's work). Without Chromium the delay is measured with an HTTP
client polling ``/api/curves`` at the same interval.

Run: ``python bench/serve.py [--runs 1000] [--rounds 5] [--appends 10]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "serve"))  # the test fixtures' server and Chromium settings

CONFIG = {
    "name": "bench",
    "game": "matching-pennies",
    "learners": "wolf-phc",
    "steps": 2000,
    "log_every": 100,
    "seeds": 2,
    "key": 0,
}


def make_folder(root: Path, count: int) -> tuple[Path, list[str]]:
    """``count`` run directories under ``root/runs`` and the metrics lines a live run has yet to write."""
    from marlkit.experiment.runner import run

    source = run({**CONFIG, "output": {"root": str(root / "source")}}, progress=False).path
    runs = root / "runs"
    runs.mkdir()
    old = time.time() - 3 * 3600
    lines = (source / "metrics.jsonl").read_text().splitlines(keepends=True)
    for k in range(count):
        target = runs / f"run-{k:04d}"
        target.mkdir()
        share = k % 100
        if share == 0:  # corrupt
            (target / "config.yaml").write_text("name: [unclosed\n")
            continue
        shutil.copy(source / "config.yaml", target / "config.yaml")
        shutil.copy(source / "checkpoint.npz", target / "checkpoint.npz")
        if share < 90:  # finished
            shutil.copy(source / "summary.json", target / "summary.json")
            shutil.copy(source / "metrics.jsonl", target / "metrics.jsonl")
            continue
        (target / "metrics.jsonl").write_text("".join(lines[:10]))
        if share < 95:  # killed
            for path in (*target.iterdir(), target):
                os.utime(path, (old, old))
    live = runs / "live"
    live.mkdir()
    shutil.copy(source / "config.yaml", live / "config.yaml")
    (live / "metrics.jsonl").write_text("".join(lines[:4]))
    return runs, lines[4:]


def timed_get(client, url: str) -> float:
    tic = time.perf_counter()
    response = client.get(url)
    response.raise_for_status()
    return time.perf_counter() - tic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--appends", type=int, default=10)
    args = parser.parse_args()

    import httpx

    from conftest import LiveServer, free_port
    from marlkit.serve.app import create_app
    from marlkit.serve.dashboard import POLL_MS

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="marlkit-bench-serve-") as folder:
        tic = time.perf_counter()
        runs, later = make_folder(Path(folder), args.runs)
        print(f"made {args.runs} run directories (+1 live) in {time.perf_counter() - tic:.1f} s")
        server = LiveServer(create_app(runs), free_port()).start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                cold = timed_get(client, "/")
                warm = [timed_get(client, "/") for _ in range(args.rounds)]
                api = [timed_get(client, "/api/runs") for _ in range(args.rounds)]
                size = len(client.get("/").content)
            print(
                f"runs page, {args.runs + 1} runs: first request {cold * 1000:.0f} ms; then median "
                f"{statistics.median(warm) * 1000:.0f} ms (min {min(warm) * 1000:.0f}, max {max(warm) * 1000:.0f}) "
                f"over {args.rounds}; page {size / 1024:.0f} KiB"
            )
            print(f"/api/runs: median {statistics.median(api) * 1000:.0f} ms")
            delays = live_delays(server.url, runs / "live" / "metrics.jsonl", later, args.appends, POLL_MS)
            print(
                f"live update delay ({delays[0]}, page polls every {POLL_MS} ms, {len(delays[1])} appends): "
                f"median {statistics.median(delays[1]) * 1000:.0f} ms, max {max(delays[1]) * 1000:.0f} ms"
            )
        finally:
            server.stop()


def live_delays(url: str, metrics: Path, later: list[str], appends: int, poll_ms: int) -> tuple[str, list[float]]:
    """Seconds from an append to ``metrics.jsonl`` until the page (or a polling client) has the new point."""
    from conftest import CHROMIUM, CHROMIUM_ARGS

    seeds = CONFIG["seeds"]
    points = 2
    delays = []
    if CHROMIUM.is_file():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url + "/run/live")
            page.wait_for_function(f"document.getElementById('points').textContent.startsWith('{points} logging')")
            for k in range(appends):
                time.sleep(0.37 * poll_ms / 1000)  # appends fall at different phases of the page's polling
                with open(metrics, "a") as handle:
                    handle.write("".join(later[k * seeds : (k + 1) * seeds]))
                tic = time.perf_counter()
                points += 1
                page.wait_for_function(
                    f"document.getElementById('points').textContent.startsWith('{points} logging')", polling=10
                )
                delays.append(time.perf_counter() - tic)
            browser.close()
        return "Chromium", delays
    import httpx

    offset = -1
    with httpx.Client(base_url=url) as client:
        for k in range(appends):
            with open(metrics, "a") as handle:
                handle.write("".join(later[k * seeds : (k + 1) * seeds]))
            tic = time.perf_counter()
            while True:
                data = client.get(f"/api/curves/live?offset={offset}").json()
                if not data["unchanged"]:
                    offset = data["offset"]
                    if data["points"] >= points + 1:
                        break
                time.sleep(poll_ms / 1000)
            points += 1
            delays.append(time.perf_counter() - tic)
    return "HTTP polling", delays


if __name__ == "__main__":
    main()
