"""Experiment configs: every bad input is one line naming its key (and the allowed values), before any compute;
the resolved config round-trips through YAML."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from marlkit.agents.tabular import WoLFPHC, make_learner
from marlkit.agents.tabular.base import Boltzmann, Constant, InverseTime
from marlkit.errors import LearnerConfigError, MarlkitError, NotApplicableError, UnknownNameError
from marlkit.experiment.config import (
    ConfigError,
    build_game,
    build_learners,
    config_hash,
    config_to_dict,
    dump_config,
    load_config,
    run_game,
)
from marlkit.games import StochasticGame, save_game
from marlkit.games.catalog import make

BASE = {"name": "t", "game": "matching-pennies", "learners": "wolf-phc", "steps": 1000, "seeds": 2}


def with_(**changes) -> dict:
    config = dict(BASE)
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config


def error(config: dict, kind: type[MarlkitError] = MarlkitError) -> str:
    with pytest.raises(kind) as caught:
        load_config(config)
    message = str(caught.value)
    assert "\n" not in message, "errors are one line"
    return message


@pytest.mark.parametrize(
    ("config", "kind", "expected"),
    [
        # unknown keys: the path, a close match, and the allowed keys
        (with_(stpes=3), ConfigError, ["stpes: unknown key", "did you mean 'steps'", "allowed top-level keys: name"]),
        (
            with_(learners={"name": "iql", "params": {"stepsize": 0.1}}),
            ConfigError,
            ["learners.params.stepsize", "did you mean 'step_size'", "step_size, exploration, initial_q, gamma"],
        ),
        (with_(diagnostics={"concept": "nash", "epsilon": 0.1}), ConfigError, ["diagnostics.epsilon", "eps"]),
        (with_(game={"name": "penalty", "params": {"kk": 1}}), ConfigError, ["game.params.kk", "'k'"]),
        # wrong types and values
        (with_(steps="ten"), ConfigError, ["steps: expected an integer >= 1, got 'ten'"]),
        (with_(steps=True), ConfigError, ["steps: expected an integer"]),
        (with_(seeds=0), ConfigError, ["seeds: expected a count >= 1"]),
        (with_(seeds=[1, 1]), ConfigError, ["seeds: seed indices must be distinct"]),
        (with_(seeds=[0, -3]), ConfigError, ["seeds[1]: expected an integer >= 0"]),
        (with_(log_every=300), ConfigError, ["log_every: 300 does not divide steps: 1000", "nearby"]),
        (with_(checkpoint_every=0), ConfigError, ["checkpoint_every: expected an integer >= 1"]),
        (with_(max_episode_steps=-1), ConfigError, ["max_episode_steps: expected an integer >= 1 or null"]),
        (with_(name="my run"), ConfigError, ["name: 'my run' must start with a letter"]),
        (
            with_(learners={"name": "iql", "params": {"step_size": "fast"}}),
            ConfigError,
            ["learners.params.step_size: expected a schedule", "inverse-time", "got 'fast'"],
        ),
        (
            with_(learners={"name": "iql", "params": {"exploration": {"type": "softmax"}}}),
            ConfigError,
            ["learners.params.exploration.type: expected one of greedy, epsilon-greedy, boltzmann"],
        ),
        (with_(diagnostics={"distance": "hellinger"}), ConfigError, ["diagnostics.distance", "tv, l1, l2, kl, js"]),
        (with_(diagnostics={"eps": {"joint": 0.1}}), ConfigError, ["diagnostics.eps.joint", "joint_policy"]),
        (with_(sinks={"wandb": {"mode": "cloud"}}), ConfigError, ["sinks.wandb.mode", "offline, online, disabled"]),
        (with_(output={"root": ""}), ConfigError, ["output.root: expected a non-empty string"]),
        (with_(steps=None), ConfigError, ["steps: missing (required)"]),
        # names that do not exist
        (with_(game="matching-penny"), UnknownNameError, ["game.name", "did you mean 'matching-pennies'"]),
        (with_(learners="wolfphc"), UnknownNameError, ["learners.name", "did you mean 'wolf-phc'", "known learners"]),
        # impossible combinations
        (with_(learners="minimax-q", game="prisoners-dilemma"), NotApplicableError, ["learners (minimax-q)", "zero"]),
        (
            with_(learners=["iql", "minimax-q"], game="prisoners-dilemma"),
            NotApplicableError,
            ["learners[1] (minimax-q)", "zero-sum"],
        ),
        (with_(learners=["iql", "iql", "iql"]), ConfigError, ["learners: 3 learners for a game of 2 agents"]),
        (
            with_(learners=[{"name": "iql", "agents": [0]}, {"name": "fp", "agents": [0]}]),
            LearnerConfigError,
            ["learners:", "exactly once"],
        ),
        (with_(learners=[{"name": "iql", "agents": [0]}, "fp"]), ConfigError, ["learners[1].agents", "every group"]),
        (
            with_(learners=[{"name": "iql", "agents": [5]}, {"name": "fp", "agents": [1]}]),
            ConfigError,
            ["learners[0].agents", "0..1"],
        ),
        (with_(game="soccer", diagnostics={"concept": "ce"}), NotApplicableError, ["diagnostics.concept (ce)"]),
        (with_(game="dec-tiger", learners="iql"), NotApplicableError, ["game:", "partially observable"]),
        # constraints (issue 18): limits need a game with costs, of the right shape, >= 0
        (with_(constraints={"limits": 3}), ConfigError, ["constraints.limits", "has no costs"]),
        (
            with_(game="resource-sharing", constraints={"limits": [[1, 2]]}),
            ConfigError,
            ["constraints.limits: expected one number or 2 lists (one per agent) of 1 limit(s) each"],
        ),
        (with_(game="resource-sharing", constraints={"limits": -1}), ConfigError, ["constraints.limits", ">= 0"]),
        (with_(game="resource-sharing", constraints={"limts": 1}), ConfigError, ["did you mean 'limits'"]),
        (with_(game="resource-sharing", constraints={"cost": "total"}), ConfigError, ["discounted, episode"]),
        (with_(diagnostics={"concept": "constrained"}), NotApplicableError, ["diagnostics.concept (constrained)"]),
        (
            with_(game="resource-sharing", learners="iql", constraints={"dual_step": 0.1}),
            ConfigError,
            ["constraints.dual_step: learner iql keeps no Lagrange multipliers"],
        ),
        (
            with_(game="resource-sharing", learners="lagrangian", constraints={"cost": "episode"}),
            ConfigError,
            ["constraints.cost: lagrangian measures the discounted cost J"],
        ),
        (
            with_(
                game="resource-sharing",
                learners={"name": "lagrangian", "params": {"dual_step": 0.1}},
                constraints={"dual_step": 0.2},
            ),
            ConfigError,
            ["learners.params.dual_step: 0.1 differs from the constraints section's 0.2"],
        ),
        (with_(game="chicken", learners="lagrangian"), MarlkitError, ["learners (lagrangian)", "costs"]),
    ],
)
def test_bad_configs_name_the_key(config: dict, kind: type[MarlkitError], expected: list[str]) -> None:
    message = error(config, kind)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_yaml_files_errors_start_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("game: matching-pennies\nlearners: [iql\nsteps: 10\n")
    with pytest.raises(ConfigError, match=r"exp.yaml: not valid YAML at line \d+, column \d+"):
        load_config(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"exp.yaml: config: expected a mapping"):
        load_config(path)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")


def test_defaults_are_filled_and_the_dump_round_trips(tmp_path: Path) -> None:
    config = load_config(with_(steps=2000, game={"name": "pd"}))
    assert config.game.name == "prisoners-dilemma"  # the alias resolved
    assert dict(config.game.params) == {"T": 5.0, "R": 3.0, "P": 1.0, "S": 0.0}
    assert config.log_every == 20 and config.checkpoint_every == 10  # steps / 100; about 10 checkpoints per run
    assert config.key == 0 and config.diagnostics.concept == "nash" and config.output.root == "runs"
    params = config.learners[0].params
    assert params["epsilon"] == 0.05 and params["step_size"]["type"] == "inverse-time"  # registry defaults, all
    path = tmp_path / "resolved.yaml"
    dump_config(config, path)
    again = load_config(path)
    assert again == config and config_hash(again) == config_hash(config)
    assert yaml.safe_load(path.read_text()) == config_to_dict(config)
    game = build_game(config.game)
    assert build_learners(again.learners, game) == build_learners(config.learners, game)


def test_learner_params_become_schedules_and_explorations() -> None:
    config = load_config(
        with_(
            learners={
                "name": "wolf-phc",
                "params": {"step_size": {"type": "inverse-time", "offset": 5, "stretch": 100}, "delta_lose": 0.2},
            }
        )
    )
    learner = build_learners(config.learners, make("matching-pennies"))
    assert isinstance(learner, WoLFPHC)
    assert learner.step_size == InverseTime(5.0, 100.0) and learner.delta_lose == Constant(0.2)
    assert learner.delta == make_learner("wolf-phc", make("matching-pennies")).delta  # untouched: the default
    iql = load_config(
        with_(learners={"name": "iql", "params": {"exploration": {"type": "boltzmann", "temperature": 0.5}}})
    )
    built = build_learners(iql.learners, make("matching-pennies"))
    assert built.exploration == Boltzmann(Constant(0.5))


def test_assignment_forms_are_kept() -> None:
    game = make("matching-pennies")
    one = load_config(with_(learners="iql"))
    per_agent = load_config(with_(learners=["iql", "fp"]))
    groups = load_config(with_(learners=[{"name": "fp", "agents": [1]}, {"name": "iql", "agents": [0]}]))
    assert (one.assignment, per_agent.assignment, groups.assignment) == ("all", "per-agent", "groups")
    assert not isinstance(build_learners(one.learners, game), list)
    assert [type(x).__name__ for x in build_learners(per_agent.learners, game)] == ["IQL", "FictitiousPlay"]
    assert [agents for _, agents in build_learners(groups.learners, game)] == [(1,), (0,)]
    for config in (one, per_agent, groups):
        assert load_config(config_to_dict(config)) == config


def test_game_files_are_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "games").mkdir()
    save_game(make("stag-hunt"), tmp_path / "games" / "hunt.json")
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({**BASE, "game": "games/hunt.json"}))
    config = load_config(path)
    assert config.game.file == str((tmp_path / "games" / "hunt.json").resolve()) and config.name == "t"
    assert build_game(config.game).name == "stag-hunt"
    path.write_text(yaml.safe_dump({**BASE, "game": {"file": "games/missing.json"}}))
    with pytest.raises(MarlkitError, match=r"game.file: .*missing.json: no such file"):
        load_config(path)


def test_the_examples_in_the_docs_load() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "experiments.md"
    blocks = re.findall(r"```yaml\n(.*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    for block in blocks:
        config = load_config(yaml.safe_load(block))
        assert config.steps % config.log_every == 0


def test_types_are_exact_and_yaml_1_1_exponents_are_numbers() -> None:
    assert "steps: expected an integer >= 1, got 1000.0" in error(with_(steps=1000.0), ConfigError)
    assert "seeds: expected a count >= 1" in error(with_(seeds="2"), ConfigError)
    text = "game: matching-pennies\nlearners: {name: iql, params: {step_size: 1e-2, initial_q: '3'}}\nsteps: 100\n"
    data = yaml.safe_load(text)
    assert data["learners"]["params"]["step_size"] == "1e-2"  # YAML 1.1 (PyYAML) reads 1e-2 as a string
    assert "learners.params.initial_q: expected a number, got '3'" in error(data, ConfigError)
    del data["learners"]["params"]["initial_q"]
    assert load_config(data).learners[0].params["step_size"] == 0.01


def test_learner_ranges_come_from_the_field_declarations() -> None:
    message = error(with_(learners={"name": "iql", "params": {"gamma": 1.0}}), LearnerConfigError)
    assert message.startswith("config: learners.params: IQL.gamma: expected a discount in [0, 1) or null, got 1.0")
    message = error(with_(learners={"name": "phc", "params": {"epsilon": 1.5}}), LearnerConfigError)
    assert "PHC.epsilon: expected" in message and "in [0, 1]" in message


def test_a_constrained_game_is_judged_as_one_and_its_limits_can_be_overridden() -> None:
    config = load_config(with_(game="resource-sharing", learners="lagrangian", constraints={"limits": [[3], [2]]}))
    assert config.diagnostics.concept == "constrained"  # the default concept on a constrained game
    assert run_game(config).limits.tolist() == [[3.0], [2.0]]
    assert load_config(with_(game="resource-sharing", diagnostics={"concept": "nash"})).diagnostics.concept == "nash"
    again = load_config(yaml.safe_load(dump_config(config)))  # the dump round-trips
    assert again == config and run_game(again).limits.tolist() == [[3.0], [2.0]]
    stepped = load_config(with_(game="resource-sharing", learners="lagrangian-iql", constraints={"dual_step": 5e-4}))
    assert stepped.learners[0].params["dual_step"] == 5e-4
    assert load_config(yaml.safe_load(dump_config(stepped))) == stepped


def test_a_task_runs_constraints_reach_the_lagrangian_learner() -> None:
    task = {"name": "t", "env": "constrained_spread", "steps": 2048, "seeds": 1}
    config = load_config(
        {**task, "learners": "mappo_l", "constraints": {"limits": 2, "cost": "discounted", "dual_step": 0.01}}
    )
    params = config.learners[0].params
    assert (params["cost_limit"], params["discounted_cost"], params["dual_step"]) == (2.0, True, 0.01)
    message = error({**task, "learners": "mappo", "constraints": {"limits": 2}}, ConfigError)
    assert "constraints.limits: learner mappo keeps no Lagrange multipliers" in message and "env.params" in message


def test_limits_no_policy_can_meet_and_ragged_limits_are_one_line_errors(tmp_path: Path) -> None:
    base = make("resource-sharing")
    every_action_costs = StochasticGame(
        transitions=base.transitions,
        rewards=base.rewards,
        initial=base.initial,
        gamma=base.gamma,
        costs=np.ones_like(base.costs),  # J = 1 / (1 - γ) = 10 whatever the agents do
        limits=np.full((2, 1), 5.0),
    )
    save_game(every_action_costs, tmp_path / "costly.json")
    message = error(with_(game=str(tmp_path / "costly.json"), learners="lagrangian"), NotApplicableError)
    assert message.startswith("config: game.limits: no policy meets every limit")
    fixed = with_(game=str(tmp_path / "costly.json"), learners="lagrangian", constraints={"limits": 10})
    assert run_game(load_config(fixed)).limits.tolist() == [[10.0], [10.0]]  # exactly reachable: feasible
    message = error(with_(game="resource-sharing", constraints={"limits": [[3, 2], [2]]}), ConfigError)
    assert "constraints.limits: expected one number or 2 lists" in message
