"""`marlkit attack backdoor`, `marlkit defend detect`, `marlkit defend unlearn` on a run trained from a config with a
`backdoor:` section: the JSON each writes (atomically, into the run directory), a copied run directory holding the
fine-tuned team, and one-line errors (exit 2, nothing written) for bad input. The statistics themselves are
tested in tests/attacks/test_backdoor.py; this run is tiny (plumbing only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marlkit.cli import main
from marlkit.experiment.runner import load_trained, run

FAST = ["--episodes", "2"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    config = {
        "name": "backdoor-cli",
        "env": {"name": "game:misled-corridor", "params": {"max_episode_steps": 4}},
        "learners": {
            "name": "ippo",
            "params": {"rollout_length": 4, "hidden": [8], "num_minibatches": 1, "update_epochs": 1, "sharing": "none"},
        },
        "num_envs": 4,
        "steps": 32,
        "seeds": 2,
        "log_every": 16,
        "backdoor": {"trigger": [1.0, 0.5], "rate": 0.5, "trojaned": [1], "target": [0]},
        "output": {"root": str(root)},
    }
    return run(config, progress=False).path


def test_config_section_wraps_the_env_and_hacks_the_reward(trained: Path) -> None:
    from marlkit.attacks.backdoor import BackdoorReward, TriggeredEnv

    loaded = load_trained(trained)
    env = loaded.plan.env
    assert isinstance(env, TriggeredEnv) and env.values == (1.0, 0.5) and env.agents == (0, 1) and env.rate == 0.5
    assert env.spec.obs_shape == (5 + 2,)
    assert loaded.plan.reward == BackdoorReward(agents=(1,), target=(0,), bonus=1.0)


def test_a_run_on_a_game_seen_through_the_trigger_is_attacked_as_a_task(trained: Path, capsys) -> None:
    """The trigger channels change the observations, so the trainer records no policy table: every command reads
    the run as a task (the deep policy on observations), and its page is the task page (learning curves)."""
    loaded = load_trained(trained)
    assert loaded.game is None and not loaded.history.has_policy_table
    assert main(["attack", "observation", str(trained), "-e", "0,0.5", "--method", "random", *FAST, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "deep" and [p["method"] for p in data["points"]] == ["random"] * len(data["points"])
    page = (trained / "report.html").read_text()
    assert "<h2>learning</h2>" in page and "<h2>observation attacks</h2>" in page
    assert main(["attack", "poison", str(trained), "--target", "0,0"]) == 2
    assert "no policy table" in capsys.readouterr().err


def test_attack_detect_unlearn_write_their_json(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "backdoor", str(trained), *FAST, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads((trained / "backdoor.json").read_text())
    assert data["trojaned"] == [1] and len(data["team_asr"]) == 2 and 0 <= min(data["team_asr"]) <= 1

    assert main(["defend", "detect", str(trained), *FAST, "--restarts", "1", "--gradient-steps", "2", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found == json.loads((trained / "backdoor-detect.json").read_text())
    assert len(found["flagged"]) == 2 and len(found["trigger"][0][0]) == 2  # [seeds][agents][channels]
    assert all(0.0 <= v <= 1.0 for seed in found["trigger"] for agent in seed for v in agent)  # inside the box

    out = trained.parent / "unlearned"
    assert main(["defend", "unlearn", str(trained), "--steps", "32", "--out", str(out), *FAST]) == 0
    assert f"wrote {out / 'backdoor-unlearn.json'}" in capsys.readouterr().out
    result = json.loads((out / "backdoor-unlearn.json").read_text())
    assert set(result) >= {"before", "after", "flagged_agents", "trigger"} and result["method"] == "reward"
    assert not (trained / "backdoor-unlearn.json").exists()
    # the copy keeps none of the original's results (they measured the team before), and its page shows the new one
    assert not (out / "backdoor.json").exists() and not (out / "backdoor-detect.json").exists()
    page = (out / "report.html").read_text()
    assert "<h2>unlearning</h2>" in page and "<h2>backdoor</h2>" not in page and "<h2>learning</h2>" in page
    assert "<h2>trojan detection</h2>" in (trained / "report.html").read_text()
    distilled = trained.parent / "distilled"
    assert main(["defend", "unlearn", str(trained), "--method", "distill", "--out", str(distilled), *FAST]) == 0
    assert "unlearning (distill): self-distillation" in capsys.readouterr().out
    assert json.loads((distilled / "backdoor-unlearn.json").read_text())["method"] == "distill"
    before, after = load_trained(trained), load_trained(out)  # the copy loads, with a changed team
    import jax
    import numpy as np

    assert any(
        not np.array_equal(a, b)
        for a, b in zip(
            jax.tree.leaves(before.state.carry.learner), jax.tree.leaves(after.state.carry.learner), strict=True
        )
    )


def test_bad_input_is_one_line_and_writes_nothing(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never"
    assert main(["defend", "unlearn", str(trained), "--rate", "1.5", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rate" in err[0] and not out.exists()
    assert main(["defend", "unlearn", str(trained), "--trigger-from-detect", str(tmp_path / "none.json")]) == 2
    assert "no detector output" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["defend", "unlearn", str(trained), "--trigger-from-detect", str(bad)]) == 2
    assert "not a backdoor-detect.json" in capsys.readouterr().err
    assert main(["defend", "unlearn", str(trained), "--method", "forget", "--out", str(out)]) == 2
    assert "--method" in capsys.readouterr().err and not out.exists()
    assert main(["defend", "detect", str(tmp_path)]) == 2
    assert main(["defend", "detect", str(trained), "--episodes", "0"]) == 2
    assert "--episodes" in capsys.readouterr().err


def test_a_backdoor_in_a_network_shared_without_agent_ids_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a strongly homogeneous game the default is one network without agent ids: hacking agent 1 would hack
    agent 0 too, so the config is refused before training (one line, exit 2, no run directory)."""
    import yaml

    config = {
        "name": "shared-backdoor",
        "env": {"name": "game:coordination", "params": {"max_episode_steps": 4}},
        "learners": {"name": "ippo", "params": {"rollout_length": 4, "hidden": [8], "num_minibatches": 1}},
        "num_envs": 4,
        "steps": 32,
        "backdoor": {"trojaned": [1], "target": [0]},
        "output": {"root": str(tmp_path / "runs")},
    }
    path = tmp_path / "shared.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "shares one network" in err[0] and "sharing: none" in err[0]
    assert not (tmp_path / "runs").exists()
