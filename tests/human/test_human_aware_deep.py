"""Human-aware deep training (Carroll et al. 2019, §5) on a small game, against the exact values.

IPPO trained by self-play on the Carroll coordination game (AI {stag, safe} x human {stag, hare}, payoffs
[[4, 0], [3, 3]]) learns the team plan (stag); IPPO trained with the frozen Boltzmann human (β = 0.1, which plays
stag with probability σ(0.4) ≈ 0.599) as part of its env (:class:`marlkit.envs.partner.WithPartner`) learns the
best response (safe). Paired with the human, the exact values are 2.394751 (the plan) and 3 (the best response):
the Carroll gap 0.605249 of ``marlkit human respond carroll-coordination --beta 0.1`` (tests/human/
test_best_response.py). The learned policies must come within 0.1 of those values on each of 3 seeds: at 60 PPO
updates the policies are 94–99.99% deterministic here (a seed at 94% on safe scores 2.96), so 0.1 leaves room for
a slower seed while any seed that learned the other action would miss by 0.6.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

from marlkit.agents.deep import IPPO
from marlkit.agents.deep.base import Observation
from marlkit.cli import main
from marlkit.envs.games import GameEnv
from marlkit.envs.partner import TablePartner, with_partner
from marlkit.games import save_game
from marlkit.human.best_response import carroll_game, carroll_gap, plan_human_policy
from marlkit.train.deep import train


def test_ippo_with_a_frozen_human_partner_learns_the_best_response() -> None:
    game = carroll_game()
    exact = carroll_gap(game, 0.1)
    assert exact.self_play == pytest.approx(2.394751, abs=1e-6) and exact.best_response == pytest.approx(3.0)
    env = GameEnv(game)
    human = plan_human_policy(game, 0.1, ai=0)[0]  # the human's stage policy [A_H]
    table = np.zeros((2, 1, 2), np.float32)
    table[1, 0] = human
    learner = IPPO(rollout_length=8, hidden=(16,), lr=3e-3)
    steps = 16 * 8 * 60  # 60 PPO updates of 16 envs x 8 one-step episodes
    self_play = train(env, learner, steps, seeds=3, num_envs=16)
    partnered = with_partner(env, TablePartner(table), [1])
    human_aware = train(partnered, learner, steps, seeds=3, num_envs=16)

    payoff = game.payoffs[0]
    ai_self_play = np.asarray(self_play.history.policy[:, -1, 0, 0], np.float64)  # [seeds, A]: agent 0, state 0
    obs, state = partnered.reset(jax.random.key(0))
    info = partnered.state_info(state)
    observation = Observation(obs[None], info["action_mask"][None], info["global_state"][None], jnp.ones(1, bool))
    ai_aware = np.asarray(jax.vmap(lambda s: learner.policy(s, observation, ()))(human_aware.states), np.float64)
    ai_aware = ai_aware[:, 0, 0]  # [seeds, A]: env 0, the one learning agent
    with_human_self_play = ai_self_play @ payoff @ human
    with_human_aware = ai_aware @ payoff @ human
    assert np.all(np.abs(with_human_self_play - exact.self_play) < 0.1), with_human_self_play
    assert np.all(np.abs(with_human_aware - exact.best_response) < 0.1), with_human_aware
    # and the trainer's own record of the human-aware run: its return is the AI's payoff with the human
    last = np.asarray(human_aware.history.episode_return)[:, -1, 0]
    assert np.all(last > exact.self_play + 0.3), last


# ------------------------------------------------------------------------- the same, from configs and the CLI
#
# A Boltzmann human of the registry (``boltzmann?beta=B``) values its actions against a uniform partner: stag
# 0.5 * 4 + 0.5 * 3 = 3.5, hare 0.5 * 0 + 0.5 * 3 = 1.5, a difference of 2; under the team plan above the
# difference is 4 - 0 = 4. So ``boltzmann?beta=0.2`` plays stag with σ(0.2 * 2) = σ(0.4), the human of the test
# above (β = 0.1 under the plan), to the last float32 bit: the config runs below train the very plans of that test,
# and JAX compiles nothing again in this module. Paired with it the self-play plan earns 4 σ(0.4) = 2.394751 and the
# best response 3 (the gap 0.605249); with the held-out uniform human (β = 0) stag earns 2 and safe 3.

RUN = {
    "name": "carroll",
    "game": {"file": "carroll.json"},
    "learners": {"name": "ippo", "params": {"rollout_length": 8, "hidden": [16], "lr": 0.003}},
    "steps": 16 * 8 * 60,
    "num_envs": 16,
    "seeds": 3,
    "checkpoint_every": 60,  # the runner advances all 60 windows at once: the plan of train() above
}
HUMAN = "boltzmann?beta=0.2"
SETTINGS = {
    "run": "carroll.yaml",
    "agents": ["human"],
    "humans": {"boltzmann": HUMAN},
    "held_out": {"uniform": "boltzmann?beta=0"},
    "population": False,
    "episodes": 1000,
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("carroll")
    save_game(carroll_game(), path / "carroll.json")
    (path / "carroll.yaml").write_text(yaml.safe_dump(RUN))
    (path / "aware.yaml").write_text(yaml.safe_dump({**RUN, "partner": {"agents": ["human"], "policy": HUMAN}}))
    (path / "settings.yaml").write_text(yaml.safe_dump(SETTINGS))
    return path


@pytest.fixture(scope="module")
def partner_run(folder: Path) -> Path:
    assert main(["run", str(folder / "aware.yaml"), "--root", str(folder / "runs")]) == 0
    (run,) = (folder / "runs").iterdir()
    return run


def test_partner_config_trains_the_best_response_and_records_it(partner_run: Path) -> None:
    """``marlkit run`` with ``partner:``: the saved config keeps the resolved section, the History holds the one
    learner's policy tables of the learners' game and the run is diagnosed against it; every seed learns safe
    (threshold 0.9: the 94% of a slow seed passes, a seed that learned stag would be near 0)."""
    from marlkit.experiment.runner import load_trained

    saved = yaml.safe_load((partner_run / "config.yaml").read_text())
    assert saved["partner"] == {"agents": [1], "policy": f"human-model:{HUMAN}", "seed": 0}
    summary = json.loads((partner_run / "summary.json").read_text())
    assert summary["game"] == "carroll-coordination+partner" and summary["diagnosis"] is not None
    trained = load_trained(partner_run)
    policy = np.asarray(trained.history.policy)  # [seeds, T, 1 learner, 1 state, 2 actions]
    assert policy.shape[0] == 3 and policy.shape[2:] == (1, 1, 2)
    assert np.all(policy[:, -1, 0, 0, 1] > 0.9), policy[:, -1, 0, 0]
    assert trained.game is not None and trained.game.n_players == 1  # the learners' game, rebuilt on reading


@pytest.fixture(scope="module")
def table(folder: Path) -> Any:
    from marlkit.experiment.config import load_config
    from marlkit.experiment.crossplay_table import crossplay_table, read_settings

    settings, base = read_settings(folder / "settings.yaml")
    return crossplay_table(load_config(base / settings.run), settings)


def test_crossplay_table_reproduces_the_carroll_gap(table: Any) -> None:
    """Rows self-play and boltzmann (trained with the human), 3 seeds; columns training partner, the human, the
    held-out uniform human; exact values above. Each seed's mean must be within 0.15 of the exact value (1000
    episodes: the sampling s.d. of a stag agent's mean with the human is 4 sqrt(0.24 / 1000) = 0.062, so 0.15 is
    2.4 s.d.; a seed at 94% safe is 0.04 off), and the human column's gap above 0.3 (exact 0.605) with disjoint
    intervals."""
    assert table.rows == ("self-play", "boltzmann")
    assert table.columns == ("training partner", "boltzmann", "uniform") and table.held_out == (False, False, True)
    exact = {
        ("self-play", "training partner"): 4.0,
        ("self-play", "boltzmann"): carroll_gap(carroll_game(), 0.1).self_play,
        ("self-play", "uniform"): 2.0,
        ("boltzmann", "training partner"): 3.0,
        ("boltzmann", "boltzmann"): 3.0,
        ("boltzmann", "uniform"): 3.0,
    }
    for (row, column), value in exact.items():
        cell = table.cell(row, column)
        assert np.all(np.abs(np.asarray(cell["seed_means"]) - value) < 0.15), (row, column, cell)
        assert cell["mean_ci"][0] <= cell["mean"] <= cell["mean_ci"][1]
    (gap,) = table.gaps()
    assert gap["partner"] == "boltzmann" and gap["gap"] > 0.3 and gap["separated"], gap


def test_crossplay_table_json_round_trip_and_plot(table: Any, tmp_path: Path) -> None:
    from marlkit.experiment.crossplay_table import CrossplayTable, plot_crossplay_table

    data = json.loads(json.dumps(table.to_json()))
    assert data["schema"] == "human-crossplay" and len(data["cells"]) == 2 and len(data["cells"][0]) == 3
    assert CrossplayTable.from_json(data).lines() == table.lines()
    assert plot_crossplay_table(table, tmp_path / "x.png").stat().st_size > 1000


def test_crossplay_cli_saves_into_a_run_page(
    folder: Path, partner_run: Path, table: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI trains the API's plans (compiled once) and gives the same cells bit for bit; with --save the table
    goes into a run directory whose page then shows the section. A partner run's policy is refused by eval."""
    capsys.readouterr()
    assert main(["human", "crossplay", str(folder / "settings.yaml"), "--json", "--save", str(partner_run)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cells"] == json.loads(json.dumps(table.to_json()))["cells"]
    assert (partner_run / "human-crossplay.json").is_file()
    assert "human-AI cross-play" in (partner_run / "report.html").read_text()
    assert main(["eval", str(partner_run)]) == 2
    assert "a partner run's policies act only on the learners' agents" in capsys.readouterr().err
