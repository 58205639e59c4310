"""``marlkit human crossplay`` on a task: the cooking task with the greedy human inside the env
(``marlkit.experiment.crossplay_task``). The budget is tiny (the agents barely learn: 5 PPO updates), so the test
checks the table's wiring against direct evaluations, not a learning result — the Carroll effect on the cooking task
needs millions of steps (bench/human_cooking_carroll.py)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import marlkit.experiment.crossplay_task as crossplay_task
from marlkit.cli import main

RUN = {
    "name": "cook",
    "env": {"name": "cooking", "params": {"layout": "cramped_room"}},
    "learners": {"name": "ippo", "params": {"rollout_length": 16, "hidden": [16], "lr": 0.003}},
    "num_envs": 8,
    "steps": 8 * 16 * 5,
    "seeds": 2,
}
SETTINGS = {
    "run": "run.yaml",
    "agents": [1],
    "humans": {"greedy": "greedy-human"},
    "population": False,
    "eval_params": {"shaping": 0},
    "episodes": 2,
}


TRAINED: dict[str, Any] = {}  # the table's trained rows by label (train_row's results), for the population test


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("cooking")
    (folder / "run.yaml").write_text(yaml.safe_dump(RUN))
    (folder / "table.yaml").write_text(yaml.safe_dump(SETTINGS))
    train_row = crossplay_task.train_row

    def recorded(base: Any, row: Any, *args: Any) -> Any:
        TRAINED[row.label] = train_row(base, row, *args)
        return TRAINED[row.label]

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.MonkeyPatch.context() as patch:
        patch.setattr(crossplay_task, "train_row", recorded)
        assert main(["human", "crossplay", str(folder / "table.yaml"), "--json"]) == 0
    return json.loads(out.getvalue())


def test_the_table_on_the_cooking_task(table: dict[str, Any]) -> None:
    assert table["env"] == "cooking-cramped_room" and table["human_agents"] == ["chef_1"]
    assert [r["label"] for r in table["rows"]] == ["self-play", "greedy"]
    assert [c["label"] for c in table["columns"]] == ["training partner", "greedy"]
    cells = table["cells"]
    # the greedy row's training partner is the greedy human: the same env, agent and evaluation key as its
    # "greedy" column, so the two cells are the same numbers
    assert cells[1][0] == cells[1][1]
    for row in cells:
        for cell in row:
            # shaping 0 at evaluation: a return is 20 x soups, and the team return is the learners' seats' mean
            soups = np.asarray(cell["seed_means"]) * SETTINGS["episodes"] / 20  # per seed, over its episodes
            assert np.allclose(soups, np.round(soups)), cell["seed_means"]
            assert cell["mean_ci"][0] <= cell["mean"] <= cell["mean_ci"][1]
    assert table["gaps"] and table["gaps"][0]["partner"] == "greedy"


# The population row (marlkit.envs.partner.PopulationPartner: one partner per episode, drawn by the weights). Its
# training is the same train_row as every row's with the population as the partner section: the config is checked
# here, without training (a population row's training compile costs ~20 s, over this module's budget; it is run by
# the bench and the note's CLI example). The table is then built with the table above's greedy-trained agent in the
# population row (train_row replaced for it), so its cells are checked against that table's: with weights (1, 0) the
# population is the greedy human bit for bit, so the row's training-partner cell equals its greedy cell, and that
# cell equals the greedy row's greedy cell above (same agent, same partner, same evaluation key).
POPULATION_SETTINGS = {
    **SETTINGS,
    "humans": {"greedy": "greedy-human", "random": "fixed:uniform"},
    "held_out": {"idle": "fixed:action?index=4"},
    "self_play": False,
    "human_rows": False,
    "population": True,
    "population_weights": [1.0, 0.0],
}


def test_the_population_row_on_the_cooking_task(tmp_path: Path, table: dict[str, Any]) -> None:
    from marlkit.envs.partner import PopulationPartner, WithPartner
    from marlkit.experiment.config import build_env, load_config
    from marlkit.experiment.crossplay_table import Row

    row = Row("population", ("greedy-human", "fixed:uniform"))
    config = crossplay_task.row_config(load_config(RUN), row, (1,), (1.0, 0.0))
    assert config.partner.policy == ("greedy-human", "fixed:uniform") and config.partner.weights == (1.0, 0.0)
    env, _ = build_env(config)
    assert isinstance(env, WithPartner) and isinstance(env.partner, PopulationPartner) and env.agents == (1,)
    assert env.partner.weights == (1.0, 0.0) and len(env.partner.members) == 2

    (tmp_path / "run.yaml").write_text(yaml.safe_dump(RUN))
    (tmp_path / "table.yaml").write_text(yaml.safe_dump(POPULATION_SETTINGS))
    rows: list[Any] = []

    def greedy_agent(base: Any, row: Any, agents: Any, weights: Any = None) -> Any:
        rows.append((row, tuple(agents), weights))
        return TRAINED["greedy"]

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.MonkeyPatch.context() as patch:
        patch.setattr(crossplay_task, "train_row", greedy_agent)
        assert main(["human", "crossplay", str(tmp_path / "table.yaml"), "--json"]) == 0
    population = json.loads(out.getvalue())
    assert rows == [(row, (1,), (1.0, 0.0))]  # the population row alone, with its members and weights
    assert population["rows"] == [{"label": "population", "partner": ["greedy-human", "fixed:uniform"]}]
    assert population["population_weights"] == [1.0, 0.0]
    assert [(c["label"], c["held_out"]) for c in population["columns"]] == [
        ("training partner", False), ("greedy", False), ("random", False), ("idle", True)
    ]  # fmt: skip
    cells = population["cells"][0]
    assert cells[0] == cells[1] == table["cells"][1][1]
    for cell in cells:
        soups = np.asarray(cell["seed_means"]) * SETTINGS["episodes"] / 20  # shaping 0: 20 x soups, per seed
        assert np.allclose(soups, np.round(soups)), cell["seed_means"]
        for key in ("mean", "iqm"):
            assert cell[key + "_ci"][0] <= cell[key] <= cell[key + "_ci"][1]
    assert population["gaps"] == []  # no self-play row to compare with


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"humans": {"a": "greedy-human", "b": "greedy-human?beta_goal=2"}, "population_weights": [0.5, 0.6]},
            "population_weights: weights must sum to 1",
        ),
        ({"humans": {"boltzmann": "boltzmann?beta=1"}}, "human models act in matrix games"),
        ({"eval_params": {"shapping": 0}}, "eval_params"),
    ],
)
def test_bad_task_settings_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], message: str
) -> None:
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(RUN))
    (tmp_path / "table.yaml").write_text(yaml.safe_dump({**SETTINGS, **change}))
    assert main(["human", "crossplay", str(tmp_path / "table.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and message in err, err
