"""`marlkit explain RUN_DIR` on an exact-game run: the Shapley credit equals the two-player closed form computed from
the run's own final policies (an independent oracle: φ_0 = ½[(v({0}) - v(∅)) + (v(N) - v({1}))]), the fairness
metrics are those of the exact per-agent returns, explain.json is written and shown on the run page; bad input is
one line, exit 2, nothing written. (The task-run path is tested in tests/human/test_distill.py, which shares its
trained team.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.cli import main
from marlkit.diagnose.distances import playable
from marlkit.experiment import report
from marlkit.experiment.report import EXPLAIN_FILE, REPORT_FILE
from marlkit.experiment.runner import load_trained, run
from marlkit.games import as_stochastic
from marlkit.human.fairness import fairness


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = {"name": "explain-cli", "game": "climbing", "learners": "iql", "steps": 2_000, "seeds": 2, "key": 0,
              "output": {"root": str(tmp_path_factory.mktemp("runs"))}}  # fmt: skip
    # the run page's ten matplotlib pictures cost ~15 s here and are not what this module tests: the run is trained
    # without its page (so explain's re-render is skipped too), and the test renders explain.json's section alone
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report, "render_run_report", lambda *args, **kwargs: None)
        return run(config, progress=False).path


def test_exact_run(trained: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[Path] = []  # the page is re-rendered after explain.json is written (its pictures skipped here)
    monkeypatch.setattr(report, "render_run_report", lambda directory, **kwargs: rendered.append(Path(directory)))
    assert main(["explain", str(trained), "--baseline", "noop", "--depth", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert json.loads((trained / EXPLAIN_FILE).read_text()) == data
    assert rendered == [trained] and not (trained / REPORT_FILE).exists()
    (entry,) = [e for e in report.RESULT_SECTIONS if e.file == EXPLAIN_FILE]  # the page's section of explain.json
    section = report.result_section(trained, entry, pictures=False)
    assert section is not None and "Shapley credit" in section and "fidelity" in section
    loaded = load_trained(trained)
    game = as_stochastic(loaded.game)
    policies = playable(game, loaded.history.policy[:, -1])
    base = np.zeros_like(policies[0])
    base[..., 0] = 1.0  # noop: action 0 (always legal in climbing)

    def v(c: set[int]) -> float:
        return float(np.mean([np.mean(game.expected_return(np.where(np.array([0 in c, 1 in c])[:, None, None], p,
                                                                               base))) for p in policies]))  # fmt: skip

    phi0 = 0.5 * ((v({0}) - v(set())) + (v({0, 1}) - v({1})))
    phi1 = 0.5 * ((v({1}) - v(set())) + (v({0, 1}) - v({0})))
    shapley = data["shapley"]
    assert shapley["method"] == "exact" and shapley["baseline"] == "noop"
    np.testing.assert_allclose(shapley["values"], [phi0, phi1], atol=1e-9)
    returns = np.mean([game.expected_return(p) for p in policies], axis=0)
    np.testing.assert_allclose(data["returns"], returns, atol=1e-9)
    expected = fairness(returns).to_json()
    assert data["fairness"]["returns"] == pytest.approx(expected.pop("returns"))
    assert {k: data["fairness"][k] for k in expected} == pytest.approx(expected)
    tree = data["distillation"]
    assert tree["depth"] == 1 and tree["evaluation"] == "exact policy evaluation" and len(tree["fidelity"]) == 2
    assert data["saliency"] is None

    assert main(["explain", str(trained), "--samples", "50"]) == 0
    out = capsys.readouterr().out
    assert "Monte Carlo, 50 orders" in out and "agent 1:" in out and "±" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--depth", "0"], "--depth must be an integer >= 1"),
        (["--baseline", "random"], "--baseline must be uniform or noop"),
        (["--samples", "1"], "--samples must be >= 2"),
        (["--episodes", "0"], "--episodes must be >= 1"),
    ],
)
def test_bad_input(
    trained: Path, argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (trained / EXPLAIN_FILE).unlink(missing_ok=True)
    assert main(["explain", str(trained), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (trained / EXPLAIN_FILE).exists()
    assert main(["explain", str(tmp_path / "nowhere")]) == 2
    assert "not a run directory" in capsys.readouterr().err
