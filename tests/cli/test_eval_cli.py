"""`marlkit export` and `marlkit eval` (issue 17, items 1-2): a policy file from a run, its evaluation with every
episode written to a file whose numbers are the printed statistics, cross-play with its heat map, and one-line
errors (exit 2) for every bad input. On the session's trained IPPO team (``small_spread_run``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.cli import main
from marlkit.envs.games import GameEnv
from marlkit.games.catalog import make as make_game
from marlkit.policies.files import policy_from_table
from marlkit.policies.spec import game_env_ref

EPISODES = "24"  # one episode count for the module: one compiled program per line-up


@pytest.fixture(scope="module")
def policy_file(small_spread_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("eval-cli") / "spread.mkp"
    assert main(["export", str(small_spread_run), "--out", str(path), "--seed", "2"]) == 0
    return path


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(args) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_export_then_eval_writes_every_episode(
    policy_file: Path, small_spread_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = run_json(["export", str(small_spread_run), "--out", str(tmp_path / "p.mkp"), "--json"], capsys)
    assert header["header"]["learner"]["name"] == "ippo" and header["header"]["format_version"] == 1
    out = tmp_path / "episodes.jsonl"
    data = run_json(
        ["eval", str(policy_file), "--episodes", EPISODES, "--seed", "3", "--out", str(out), "--json"], capsys
    )
    assert data["schema"] == "policy-evaluation" and data["episodes_file"] == str(out)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == int(EPISODES) and {r["episode"] for r in records} == set(range(int(EPISODES)))
    team = np.asarray([r["team_return"] for r in records])
    row = data["rows"][0]
    assert row["team_return"]["mean"] == pytest.approx(team.mean(), rel=1e-6)
    low, high = row["team_return"]["mean_ci"]
    assert low <= team.mean() <= high
    per_agent = np.asarray([r["returns"] for r in records]).mean(axis=0)
    assert [a["mean"] for a in row["agents"]] == pytest.approx(per_agent.tolist(), rel=1e-6)
    # the run directory: every training seed on the same episodes; its seed 2 is the exported file
    run = run_json(["eval", str(small_spread_run), "--episodes", EPISODES, "--seed", "3", "--json"], capsys)
    assert len(run["rows"]) == 3 and run["pooled"]["rows"] == 3
    assert run["rows"][2]["team_return"]["mean"] == row["team_return"]["mean"]
    assert Path(run["episodes_file"]) == small_spread_run / "eval-episodes.jsonl"
    # the evaluation seed fixes the episodes: another seed, other returns
    other = run_json(["eval", str(policy_file), "--episodes", EPISODES, "--seed", "4", "--json",
                      "--out", str(tmp_path / "o.jsonl")], capsys)  # fmt: skip
    assert other["rows"][0]["team_return"]["mean"] != row["team_return"]["mean"]
    # NPZ instead of JSON lines, read back without pickle
    assert (
        main(["eval", str(policy_file), "--episodes", EPISODES, "--seed", "3", "--out", str(tmp_path / "e.npz")]) == 0
    )
    with np.load(tmp_path / "e.npz", allow_pickle=False) as arrays:
        assert arrays["returns"].shape == (1, int(EPISODES), 2)
        assert arrays["returns"][0].mean() == pytest.approx(team.mean(), rel=1e-6)
    assert "team return" in capsys.readouterr().out


def test_crossplay_matrix_and_heat_map(
    policy_file: Path, small_spread_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot, matrix = tmp_path / "crossplay.png", tmp_path / "crossplay.json"
    args = ["eval", "--crossplay", str(small_spread_run), str(policy_file), "--episodes", EPISODES, "--seed", "3"]
    data = run_json([*args, "--plot", str(plot), "--out", str(matrix), "--json"], capsys)
    assert plot.stat().st_size > 0 and json.loads(matrix.read_text()) == data
    assert data["row_agents"] == ["agent_0"] and data["column_agents"] == ["agent_1"]
    team = np.asarray(data["team_return"])
    assert team.shape == (2, 2)
    # the diagonal is self-play: the file's cell equals its own plain evaluation on the same episodes
    alone = run_json(["eval", str(policy_file), "--episodes", EPISODES, "--seed", "3", "--json",
                      "--out", str(tmp_path / "e.jsonl")], capsys)  # fmt: skip
    assert team[1, 1] == pytest.approx(alone["rows"][0]["team_return"]["mean"], rel=1e-12)
    # --vs agent_1=<the run's seed 0> is the cross-play cell (file's agent_0, run's agent_1)
    vs = run_json(["eval", str(policy_file), "--vs", f"agent_1={small_spread_run}", "--episodes", EPISODES,
                   "--seed", "3", "--json", "--out", str(tmp_path / "v.jsonl")], capsys)  # fmt: skip
    assert vs["rows"][0]["team_return"]["mean"] == pytest.approx(team[1, 0], rel=1e-12)
    # --vs agent_1=<the policy itself> is its plain evaluation, episode for episode
    self_file = tmp_path / "self.jsonl"
    assert main(["eval", str(policy_file), "--vs", f"agent_1={policy_file}", "--episodes", EPISODES, "--seed", "3",
                 "--out", str(self_file)]) == 0  # fmt: skip
    episodes = [json.loads(line)["returns"] for line in self_file.read_text().splitlines()]
    plain = [json.loads(line)["returns"] for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert episodes == plain


def test_bad_input_is_one_line_and_exit_2(
    policy_file: Path, small_spread_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = GameEnv(make_game("stag-hunt"))
    policy_from_table(np.full((2, 1, 2), 0.5), other, game_env_ref(other), learner="manual").save(tmp_path / "s.mkp")
    (tmp_path / "foreign.mkp").write_text("not a policy")
    cut = tmp_path / "cut.mkp"
    cut.write_bytes(policy_file.read_bytes()[:-5])
    p = str(policy_file)
    cases = [
        (["eval", p, "--vs", "agent_7=fixed:uniform"], "no agent or group 'agent_7'"),
        (["eval", p, "--vs", f"agent_1={tmp_path / 's.mkp'}"], "trained on stag-hunt"),
        (["eval", p, "--vs", "fixed:uniform"], "AGENTS=SOURCE"),
        (["eval", p, "--vs", "agent_1=human-model:boltzmann"], "normal-form"),
        (["eval", p, "--mode", "argmax"], "--mode"),
        (["eval", p, "--episodes", "0"], "--episodes"),
        (["eval", p, p], "--crossplay"),
        (["eval", "--crossplay", p], "two or more"),
        (["eval", str(tmp_path / "foreign.mkp")], "neither a run directory nor a marlkit policy file"),
        (["eval", str(cut)], "truncated"),
        (["eval", p, "--env", "simple_tag"], "not on this env, simple_tag"),
        (["eval", str(small_spread_run), "--policy-seed", "5"], "seed 5 does not exist"),
        (["eval", p, "--policy-seed", "1"], "none is given"),
        (["eval", p, "--out", str(tmp_path / "e.csv")], "--out"),
        (["eval", "--crossplay", p, p, "--out", str(tmp_path / "m.jsonl")], ".json"),
        (["eval", "--crossplay", p, p, "--plot", str(tmp_path / "m.gif")], "--plot"),
        (["export", str(tmp_path / "nowhere")], "not a run directory"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err, (args, err)
