"""Deep runs through the experiment runner: the config sections (env, one deep learner, num_envs, reward) and
their errors, the run directory of a deep run on an exact game (diagnosis and report as for tabular runs) and
on a task, resume after an interruption (bit for bit), and ``marlkit run`` on a deep config.

Each run config compiles once in this process: plans compare by value, so JAX's jit cache hands every run of one
config (the interrupted, resumed and CLI runs) the reference run's program. The tests
that run are marked slow: compiling the trainer for even a tiny IPPO takes 20-30 s of CPU here (``deep.start``
and ``deep.advance``), the game run's report about 7 s more; the config tests compile nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from marlkit.agents.deep.registry import DEEP_LEARNERS, make_deep_learner
from marlkit.agents.deep.sharing import default_sharing
from marlkit.diagnose.results import CRITERIA
from marlkit.envs import make
from marlkit.errors import InvalidGameError, LearnerConfigError, MarlkitError, UnknownNameError
from marlkit.experiment import runner
from marlkit.experiment.config import ConfigError, DeepRun, config_hash, config_to_dict, dump_config, load_config
from marlkit.experiment.params import settable_fields as settable_fields_of
from marlkit.experiment.rundir import METRICS, read_metrics
from marlkit.experiment.runner import resume, run, windows_done
from marlkit.train import History

SMALL_IPPO = {"rollout_length": 8, "update_epochs": 2, "num_minibatches": 2, "hidden": [16]}
GAME_RUN = {
    "name": "deep-pd",
    "game": "prisoners-dilemma",
    "learners": {"name": "ippo", "params": SMALL_IPPO},
    "num_envs": 8,
    "steps": 8 * 8 * 8,  # 8 updates of 8 envs x 8 steps
    "log_every": 8 * 8 * 2,  # 4 windows
    "checkpoint_every": 2,
    "seeds": 2,
    "key": 3,
}
TASK_RUN = {
    "name": "deep-spread",
    "env": {"name": "simple_spread", "params": {"max_episode_steps": 10}},
    "learners": {"name": "ippo", "params": SMALL_IPPO},
    "num_envs": 4,
    "steps": 4 * 8 * 8,
    "log_every": 4 * 8 * 2,
    "checkpoint_every": 2,
    "seeds": 1,
}
WINDOWS = 4


def at(config: dict, root: Path) -> dict:
    return {**config, "output": {"root": str(root)}}


@pytest.fixture(scope="module")
def game_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(at(GAME_RUN, tmp_path_factory.mktemp("game")), progress=False).path


@pytest.fixture(scope="module")
def task_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(at(TASK_RUN, tmp_path_factory.mktemp("task")), progress=False).path


class Killed(Exception):  # noqa: N818 (a simulated kill, not an error)
    pass


def fail_on_call(n: int, real):
    calls = {"count": 0}

    def wrapper(*args, **kwargs):
        calls["count"] += 1
        if calls["count"] == n:
            raise Killed
        return real(*args, **kwargs)

    return wrapper


def history_bytes(path: Path) -> dict[str, tuple[str, tuple, bytes]]:
    h = History.load(path / "history.npz")
    arrays = {name: getattr(h, name) for name in ("steps", "seeds", "policy", "joint_counts", "episode_count")}
    arrays.update({"episode_return": h.episode_return, "reward_mean": h.reward_mean})
    arrays.update({f"metric.{k}": v for k, v in h.metrics.items()})
    return {name: (str(a.dtype), a.shape, np.ascontiguousarray(a).tobytes()) for name, a in arrays.items()}


def assert_same_run(path: Path, reference: Path) -> None:
    assert history_bytes(path) == history_bytes(reference)
    assert (path / METRICS).read_bytes() == (reference / METRICS).read_bytes()
    assert not (path / "segments").exists() and (path / "summary.json").is_file()


# ---------------------------------------------------------------------------------------------- runs


@pytest.mark.slow
def test_a_deep_run_on_a_game_is_diagnosed_like_a_tabular_run(game_run: Path) -> None:
    assert sorted(p.name for p in game_run.iterdir()) == [
        "checkpoint.npz",
        "config.yaml",
        "game.npz",
        "history.npz",
        "metrics.jsonl",
        "report.html",
        "summary.json",
    ]
    summary = json.loads((game_run / "summary.json").read_text())
    expected = default_sharing(make("game:prisoners-dilemma"))
    assert summary["sharing"] == {"mode": expected.mode, "agent_id": expected.agent_id, "reason": expected.reason}
    assert summary["trainer"] == "deep" and summary["game"] == "prisoners-dilemma" and summary["num_envs"] == 8
    assert set(summary["diagnosis"]["results"]) == set(CRITERIA)
    assert len(summary["learning"]["nash_conv_final"]) == 2
    h = History.load(game_run / "history.npz")
    assert h.policy.shape == (2, WINDOWS, 2, 1, 2)
    np.testing.assert_allclose(h.policy.sum(-1), 1.0, atol=1e-5)
    assert h.joint_counts[:, -1].sum() == 2 * GAME_RUN["steps"]  # every joint action of both seeds counted
    lines = read_metrics(game_run)
    assert [(line["window"], line["seed"]) for line in lines] == [(w, s) for w in range(WINDOWS) for s in (0, 1)]
    assert {"loss/policy", "entropy"} <= set(lines[0]["metrics"])
    saved = load_config(game_run / "config.yaml")
    assert isinstance(saved, DeepRun) and saved.num_envs == 8 and saved.learners[0].params["hidden"] == [16]
    assert config_hash(saved) == summary["config_hash"]


@pytest.mark.slow
def test_a_deep_run_on_a_task_records_returns_and_sharing(task_run: Path) -> None:
    names = sorted(p.name for p in task_run.iterdir())
    # a task run's page (learning curves) is written at the end, as an exact game's (issue 17 item 4)
    assert names == ["checkpoint.npz", "config.yaml", "history.npz", "metrics.jsonl", "report.html", "summary.json"]
    assert "<h2>learning</h2>" in (task_run / "report.html").read_text()
    summary = json.loads((task_run / "summary.json").read_text())
    assert summary["game"] is None and summary["diagnosis"] is None and summary["env"] == "simple_spread"
    assert summary["sharing"]["mode"] == "full"  # simple spread's agents are homogeneous
    assert np.isfinite(summary["learning"]["tail_return"]).all()
    h = History.load(task_run / "history.npz")
    assert h.policy.shape == (1, WINDOWS, 3, 0, 5)
    assert h.episode_count.sum() == 4 * (TASK_RUN["steps"] // 4 // 10)  # 4 envs, 10-step episodes
    assert all(np.isfinite(v).all() for v in h.metrics.values())
    assert yaml.safe_load((task_run / "config.yaml").read_text())["env"]["params"]["max_episode_steps"] == 10


@pytest.mark.slow
def test_an_interrupted_deep_run_resumes_bit_for_bit(
    tmp_path: Path, game_run: Path, monkeypatch: pytest.MonkeyPatch, skip_report
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(runner.rundir, "write_segment", fail_on_call(2, runner.rundir.write_segment))
        with pytest.raises(Killed):
            run(at(GAME_RUN, tmp_path), progress=False)
    (path,) = tmp_path.glob("deep-pd-*")
    assert windows_done(path) == 2 and not (path / "history.npz").exists()
    resume(path, progress=False)
    assert_same_run(path, game_run)


@pytest.mark.slow
def test_an_interrupted_run_on_a_task_resumes_bit_for_bit(
    tmp_path: Path, task_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(runner, "save_checkpoint", fail_on_call(2, runner.save_checkpoint))
        with pytest.raises(Killed):
            run(at(TASK_RUN, tmp_path), progress=False)
    (path,) = tmp_path.glob("deep-spread-*")
    assert windows_done(path) == 2 and not (path / "game.npz").exists()
    resume(path, progress=False)
    assert_same_run(path, task_run)


@pytest.mark.slow
def test_marlkit_run_on_a_deep_config(tmp_path: Path, game_run: Path, capsys, skip_report) -> None:
    from marlkit.cli import main

    config = tmp_path / "deep.yaml"
    config.write_text(yaml.safe_dump(GAME_RUN))
    assert main(["run", str(config), "--root", str(tmp_path / "runs"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "finished deep-pd: prisoners-dilemma" in out and "parameter sharing: full" in out
    (path,) = (tmp_path / "runs").glob("deep-pd-*")
    assert_same_run(path, game_run)


# -------------------------------------------------------------------------------------------- configs


BAD_BASE = {"env": "simple_spread", "learners": "ippo", "num_envs": 4, "steps": 4 * 128 * 2}


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"learners": "ipo"}, UnknownNameError, r"learners\.name: unknown deep learner 'ipo' \(did you mean 'ippo'"),
        ({"env": "simple_sprad"}, UnknownNameError, r"env\.name: .*did you mean 'simple_spread'"),
        ({"env": {"name": "simple_spread", "params": {"n_agent": 2}}}, InvalidGameError, r"env\.params: .*n_agents"),
        ({"env": {"name": "game:prisoners-dilema"}}, UnknownNameError, r"env\.name: .*prisoners-dilemma"),
        ({"learners": ["ippo", "iql"]}, ConfigError, r"learners: mixes the deep learner 'ippo' with 'iql'"),
        ({"learners": ["ippo", "ippo"]}, ConfigError, r"learners: a deep run takes one learner"),
        ({"learners": {"name": "ippo", "agents": [0]}}, ConfigError, r"learners\.agents: a deep learner controls"),
        ({"learners": {"name": "ippo", "params": {"lrr": 0.1}}}, ConfigError, r"learners\.params\.lrr: .*'lr'"),
        ({"learners": {"name": "ippo", "params": {"lr": "fast"}}}, ConfigError, r"learners\.params\.lr: expected"),
        ({"learners": {"name": "ippo", "params": {"lr": -1.0}}}, LearnerConfigError, r"learners\.params: "),
        ({"steps": 1000}, ConfigError, r"steps: 1000 is not a multiple of .* 512 env steps per update; use"),
        ({"log_every": 100}, ConfigError, r"log_every: 100 must be a multiple of the 512"),
        ({"num_envs": 0}, ConfigError, r"num_envs: expected an integer >= 1"),
        ({"game": "prisoners-dilemma"}, ConfigError, r"env: a deep run needs exactly one of env .* and game"),
        ({"max_episode_steps": 5}, ConfigError, r"max_episode_steps: with env, give it in env\.params"),
        ({"diagnostics": {"concept": "ce"}}, ConfigError, r"diagnostics: .* simple_spread has none"),
        ({"reward": "diff"}, ConfigError, r"reward\.name: expected one of difference"),
        ({"reward": {"name": "difference", "paramz": {}}}, ConfigError, r"reward\.paramz: unknown key"),
    ],
)
def test_bad_deep_configs_name_the_key(changes: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        load_config({**BAD_BASE, **changes})


def test_deep_keys_with_a_tabular_learner_are_an_error() -> None:
    message = r"num_envs: only deep runs take env, num_envs, reward, backdoor, partner; the tabular"
    with pytest.raises(ConfigError, match=message):
        load_config({"game": "matching-pennies", "learners": "iql", "steps": 100, "num_envs": 4})


@pytest.mark.parametrize(
    "config",
    [
        {**GAME_RUN, "learners": {"name": "idqn", "params": {"learning_starts": 64}}, "log_every": None},
        {"env": {"name": "game:prisoners-dilemma", "params": {"max_episode_steps": 3}}, "learners": "mappo"},
        {"env": "simple_spread", "learners": {"name": "ippo", "params": {"sharing": "none"}}},
        {"env": "simple_spread", "learners": "coma", "reward": {"name": "difference", "params": {"source": "env"}}},
    ],
    ids=["game-section", "game-env", "task", "reward"],
)
def test_deep_configs_resolve_every_default_and_round_trip(config: dict) -> None:
    resolved = load_config({"steps": 16 * 128 * 2, **{k: v for k, v in config.items() if v is not None}})
    data = config_to_dict(resolved)
    learner = data["learners"]
    assert set(learner["params"]) == set(settable_fields_of(type(make_deep_learner(learner["name"]))))
    assert ("env" in data) != ("game" in data) and {"num_envs", "reward"} <= set(data)
    assert load_config(yaml.safe_load(dump_config(resolved))) == resolved


def test_tabular_configs_keep_their_schema() -> None:
    data = config_to_dict(load_config({"game": "matching-pennies", "learners": "iql", "steps": 100}))
    assert list(data) == [
        "name",
        "game",
        "learners",
        "steps",
        "seeds",
        "key",
        "log_every",
        "max_episode_steps",
        "checkpoint_every",
        "diagnostics",
        "output",
        "sinks",
    ]


# ------------------------------------------------------------------------------------------- registry


def test_registry_makes_every_learner_and_names_bad_input() -> None:
    names = ["ippo", "mappo", "mappo_lagrangian", "ippo_lagrangian", "atla_mappo", "atla_ippo", "idqn", "vdn", "qmix"]
    names += ["coma"]
    assert set(DEEP_LEARNERS) == set(names)
    assert make_deep_learner("ippo", lr=1e-3).lr == 1e-3
    with pytest.raises(UnknownNameError, match="deep learners: " + ", ".join(names)):
        make_deep_learner("ppo")
    with pytest.raises(LearnerConfigError, match=r"unknown hyper-parameter 'lrr' \(did you mean 'lr'\?\)"):
        make_deep_learner("ippo", lrr=0.1)
    with pytest.raises(MarlkitError):
        make_deep_learner("ippo", lr=-1.0)
