"""Tabular policy files, fixed policies, human models and line-ups on a matrix game (issue 17, items 1-2), checked
against the game's payoff table: on the one-shot stag hunt (Skyrms 2004: stag/stag 4, hare 3 whatever the partner
does, stag alone 0) an episode is one step, so a greedy line-up's return is one payoff entry and a stochastic
line-up's expected return is the payoff table averaged under the two policies."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import marlkit
from marlkit.agents.deep.base import Observation
from marlkit.envs.games import GameEnv
from marlkit.envs.registry import make as make_env
from marlkit.errors import InvalidGameError, NotApplicableError, PolicyFileError, UnknownNameError
from marlkit.experiment import runner
from marlkit.experiment.policies import run_policies
from marlkit.games.catalog import make as make_game
from marlkit.policies.actors import Constant
from marlkit.policies.crossplay import crossplay
from marlkit.policies.evaluate import evaluate_lineups, evaluate_policy
from marlkit.policies.files import load_policy, policy_from_table
from marlkit.policies.partners import (
    fixed_player,
    human_player,
    lineup,
    make_player,
    parse_agents,
    player_of,
    split_vs,
)
from marlkit.policies.spec import game_env_ref


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = {
        "name": "stag",
        "game": "stag-hunt",
        "learners": "iql",
        "steps": 200,
        "seeds": 2,
        "key": 0,
        "output": {"root": str(tmp_path_factory.mktemp("tabular"))},
    }
    with pytest.MonkeyPatch.context() as patch:  # the convergence report is not what this module checks
        patch.setattr(runner, "diagnosis_for_summary", lambda history, game, config: None)
        return runner.run(config, progress=False).path


@pytest.fixture(scope="module")
def env() -> GameEnv:
    return GameEnv(make_game("stag-hunt"))


def test_tabular_policy_file_holds_the_last_snapshot(tabular_run: Path, tmp_path: Path) -> None:
    trained = runner.load_trained(tabular_run)
    path = marlkit.export_policy(trained, tmp_path / "stag.mkp", seed=1)
    policy = load_policy(path)
    np.testing.assert_array_equal(np.asarray(policy.params), trained.history.policy[1, -1].astype(np.float32))
    assert policy.kind == "table" and policy.learner == "IQL"
    assert "last logging point" in policy.header["source"]["table"]
    env = policy.make_env()
    obs = np.ones((1, 2, 1), np.float32)  # the one state, one-hot
    np.testing.assert_allclose(np.asarray(policy.probs(obs))[0], trained.history.policy[1, -1, :, 0], rtol=1e-6)
    # the greedy return is the payoff of the table's argmax actions (an episode of the one-shot game is one step)
    a = trained.history.policy[1, -1, :, 0].argmax(-1)
    payoffs = make_game("stag-hunt").payoffs
    result = evaluate_policy(policy.greedy(), env, episodes=8, seed=0)
    np.testing.assert_allclose(result.rows[0].returns, np.tile(payoffs[:, a[0], a[1]], (8, 1)))
    assert len(run_policies(trained)) == 2


def test_greedy_lineup_with_a_human_model(env: GameEnv) -> None:
    # Boltzmann with β = 2 against uniform partners: U(stag) = (4 + 0) / 2 = 2, U(hare) = 3, so
    # π = (e^4, e^6) / (e^4 + e^6) (McKelvey & Palfrey 1995, Eq. 2); its argmax is hare
    human = human_player("human-model:boltzmann?beta=2", env, (1,))
    expected = np.exp([4.0, 6.0]) / np.exp([4.0, 6.0]).sum()
    np.testing.assert_allclose(np.asarray(human.state)[1, 0], expected, rtol=1e-6)
    stag = fixed_player("fixed:action?index=0", env.spec, (0,))
    result = evaluate_lineups(env, [("x", lineup(2, stag, [((1,), human)]))], episodes=8, mode="greedy")
    np.testing.assert_allclose(result.rows[0].returns, np.tile([0.0, 3.0], (8, 1)))  # stag alone: 0; hare: 3
    assert result.rows[0].seats == ("fixed:action?index=0", "human-model:boltzmann?beta=2")


def test_stochastic_mean_brackets_the_exact_expectation(env: GameEnv) -> None:
    # row: stag; column: uniform -> E[return] = (4 + 0) / 2 = 2 for the row, (4 + 3) / 2 = 3.5 for the column.
    # With this fixed seed the 95% bootstrap intervals of the 400-episode means contain both exact values.
    stag = fixed_player("fixed:action?index=0", env.spec, (0,))
    uniform = fixed_player("fixed:uniform", env.spec, (1,))
    result = evaluate_lineups(env, [("x", lineup(2, stag, [((1,), uniform)]))], episodes=400, seed=1)
    agents = result.to_json()["rows"][0]["agents"]
    for stats, exact in zip(agents, (2.0, 3.5), strict=True):
        assert stats["mean_ci"][0] <= exact <= stats["mean_ci"][1]
        assert stats["mean"] == pytest.approx(exact, abs=0.3)


def test_constant_falls_back_to_the_lowest_legal_action() -> None:
    mask = jnp.asarray([[[False, True, True], [True, True, True]]])
    observation = Observation(jnp.zeros((1, 2, 1)), mask, jnp.zeros((1, 1)), jnp.ones(1, bool))
    probs = np.asarray(Constant(0).policy((), observation, ()))
    np.testing.assert_array_equal(probs, [[[0, 1, 0], [1, 0, 0]]])


def test_bad_partners_are_one_clear_error(env: GameEnv, tmp_path: Path) -> None:
    with pytest.raises(NotApplicableError, match="normal-form"):
        human_player("human-model:boltzmann?beta=2", make_env("simple_spread", n_agents=2), (1,))
    with pytest.raises(NotApplicableError, match="several states"):
        human_player("boltzmann", GameEnv(make_game("two-step")), (1,))
    with pytest.raises(UnknownNameError, match="did you mean 'uniform'"):
        fixed_player("fixed:unifrom", env.spec, (1,))
    with pytest.raises(InvalidGameError, match="action 5 does not exist for agent column"):
        fixed_player("fixed:action?index=5", env.spec, (1,))
    with pytest.raises(InvalidGameError, match="no agent or group 'agent_1'"):
        parse_agents("agent_1", env.spec)
    assert parse_agents("column", env.spec) == (1,) and parse_agents("0,1", env.spec) == (0, 1)
    with pytest.raises(InvalidGameError, match="AGENTS=SOURCE"):
        split_vs("fixed:uniform")
    with pytest.raises(InvalidGameError, match="seated twice"):
        uniform = fixed_player("fixed:uniform", env.spec, (1,))
        lineup(2, uniform, [((1,), uniform), ((1,), uniform)])
    # a table of another game with the same shapes: refused, naming the game it was trained on
    other = GameEnv(make_game("prisoners-dilemma"))
    table = policy_from_table(np.full((2, 1, 2), 0.5), other, game_env_ref(other), learner="manual")
    table.save(tmp_path / "pd.mkp")
    with pytest.raises(PolicyFileError, match="prisoners-dilemma"):
        make_player("pd.mkp", env, (1,), lambda source: load_policy(tmp_path / source))
    with pytest.raises(PolicyFileError, match="table: expected shape"):
        policy_from_table(np.ones((2, 1, 3)), env, game_env_ref(env), learner="manual")
    assert player_of(load_policy(tmp_path / "pd.mkp")).label == "pd.mkp"


def test_crossplay_of_tables_is_the_payoff_table(env: GameEnv) -> None:
    """Greedy cross-play of "always stag" and "always hare" tables: cell (r, c) has the row policy on agent 0 (row)
    and the column policy on agent 1 (column), so its team return is the mean of the two payoffs of (a_r, a_c):
    stag/stag (4 + 4) / 2 = 4, stag/hare (0 + 3) / 2 = 1.5, hare/stag (3 + 0) / 2 = 1.5, hare/hare 3."""
    ref = game_env_ref(env)
    stag = policy_from_table(np.asarray([[[1.0, 0.0]]] * 2), env, ref, learner="manual").with_label("stag")
    hare = policy_from_table(np.asarray([[[0.0, 1.0]]] * 2), env, ref, learner="manual").with_label("hare")
    result = crossplay(env, [player_of(stag), player_of(hare)], episodes=8, seed=2, mode="greedy")
    np.testing.assert_allclose(result.team, [[4.0, 1.5], [1.5, 3.0]])
    np.testing.assert_allclose(result.row_return, [[4.0, 0.0], [3.0, 3.0]])
    np.testing.assert_allclose(result.column_return, [[4.0, 3.0], [0.0, 3.0]])
    for k, policy in enumerate((stag, hare)):  # the diagonal is self-play, on the same episodes
        alone = evaluate_policy(policy.greedy(), env, episodes=8, seed=2).rows[0].team_returns.mean()
        assert result.team[k, k] == alone
    data = result.to_json()
    assert data["labels"] == ["stag", "hare"] and data["row_agents"] == ["row"] and data["column_agents"] == ["column"]
    assert data["self_play_mean"] == 3.5 and data["cross_play_mean"] == 1.5
    assert result.lines()[-1] == "self-play mean 3.500; cross-play mean 1.500"
    with pytest.raises(InvalidGameError, match="row agents"):
        crossplay(env, [player_of(stag)], row_agents=(0, 1), episodes=8)
