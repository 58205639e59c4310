"""The learners' exact game of a partner-wrapped game (``envs.partner.partner_game``, against the full game's own
exact values), and bad ``partner:`` sections and cross-play settings (one line, exit 2, nothing written). The
trained parts — a ``partner`` run, the cross-play table reproducing the Carroll gap — are in
test_human_aware_deep.py, where they share its compiled programs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from marlkit.cli import main
from marlkit.envs.partner import partner_game
from marlkit.games import StochasticGame, save_game
from marlkit.human.best_response import carroll_game

STEPS = 16 * 8 * 60  # 60 PPO updates of 16 envs x 8 one-step episodes (test_human_aware_deep.py)
RUN = {
    "name": "carroll",
    "game": {"file": "carroll.json"},
    "learners": {"name": "ippo", "params": {"rollout_length": 8, "hidden": [16], "lr": 0.003}},
    "steps": STEPS,
    "num_envs": 16,
    "seeds": 3,
    "checkpoint_every": 60,
}
SETTINGS = {
    "run": "carroll.yaml",
    "agents": ["human"],
    "humans": {"boltzmann": "boltzmann?beta=0.2"},
    "held_out": {"uniform": "boltzmann?beta=0"},
    "population": False,
    "episodes": 1000,
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("carroll")
    save_game(carroll_game(), path / "carroll.json")
    (path / "carroll.yaml").write_text(yaml.safe_dump(RUN))
    (path / "settings.yaml").write_text(yaml.safe_dump(SETTINGS))
    return path


# ------------------------------------------------------------------------------------- the learners' game


def _random_game(rng: np.random.Generator, actions: tuple[int, ...], S: int = 3) -> StochasticGame:
    n = len(actions)
    transitions = rng.dirichlet(np.ones(S), size=(S, *actions))
    mask = np.ones((n, S, max(actions)), bool)
    for i, a in enumerate(actions):
        mask[i, :, a:] = False
    mask[1, 0, 0] = False  # an illegal partner action in state 0: the fold must ignore it
    return StochasticGame(
        transitions=transitions,
        rewards=rng.normal(size=(n, S, *actions)),
        initial=rng.dirichlet(np.ones(S)),
        gamma=0.9,
        action_mask=mask,
    )


def _policy(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    p = rng.random(mask.shape) * mask
    return p / p.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("seed", range(3))
def test_partner_game_is_the_full_game_with_the_partner_fixed(seed: int) -> None:
    """Oracle: exact values of the full 3-player game (its own linear solves) with agent 1 fixed equal those of
    the folded 2-player game, for random learner policies and for the learners' best responses, to 1e-9."""
    rng = np.random.default_rng(seed)
    game = _random_game(rng, (2, 3, 2))
    profile = _policy(rng, game.action_mask)
    folded = partner_game(game, profile, [1])
    assert folded.n_players == 2 and folded.num_actions == (2, 2)
    learners = profile[[0, 2]][:, :, :2]
    np.testing.assert_allclose(folded.expected_return(learners), game.expected_return(profile)[[0, 2]], atol=1e-9)
    from marlkit.solve.best_response import best_response_values

    full = best_response_values(game, profile)[[0, 2]]
    np.testing.assert_allclose(best_response_values(folded, learners), full, atol=1e-9)


def test_partner_game_of_the_carroll_game_closed_form() -> None:
    """The Carroll game with the human playing stag with probability p: r̄(stag) = 4 p, r̄(safe) = 3."""
    game = carroll_game()
    p_stag = 1 / (1 + math.exp(-0.4))
    table = np.zeros((2, 1, 2))
    table[1, 0] = [p_stag, 1 - p_stag]
    folded = partner_game(game, table, [1])
    np.testing.assert_allclose(folded.rewards[0, 0], [4 * p_stag, 3.0], atol=1e-12)
    assert folded.player_names == ("ai",) and folded.name == "carroll-coordination+partner"


# ---------------------------------------------------------------------------------------- partner configs


def _write(folder: Path, name: str, partner: Any) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump({**RUN, "partner": partner}))
    return path


@pytest.mark.parametrize(
    ("partner", "message"),
    [
        ({"agents": ["agent_7"], "policy": "boltzmann"}, "partner.agents agent_7: carroll-coordination has no agent"),
        ({"agents": ["ai", "human"], "policy": "boltzmann"}, "takes every agent of carroll-coordination"),
        ({"agents": [], "policy": "boltzmann"}, "partner.agents: expected a non-empty list"),
        ({"agents": [1], "policy": "boltzmann?beta=-1"}, "partner.policy: beta must be >= 0"),
        ({"agents": [1], "policy": "bolzmann?beta=1"}, "(did you mean 'boltzmann'?)"),
        ({"agents": [1], "policy": "greedy-human"}, "greedy-human plays the cooking task"),
        ({"agents": [1], "policy": "fixed:action?index=7"}, "action 7 does not exist for agent human"),
        ({"agents": [1], "policy": "boltzmann", "weights": [1]}, "partner.weights: weights go with a population"),
        ({"agents": [1], "policy": ["boltzmann", "qre?lam=2"], "weights": [1]}, "weights must be 2 numbers"),
        ({"agents": [1], "policy": "no/such/run"}, "is no human model"),
        ({"agents": [1], "policy": "boltzmann", "colour": "red"}, "partner.colour: unknown key"),
    ],
)
def test_bad_partner_is_one_line(
    folder: Path, capsys: pytest.CaptureFixture[str], partner: Any, message: str, tmp_path: Path
) -> None:
    config = _write(folder, "bad.yaml", partner)
    assert main(["run", str(config), "--root", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and message in err, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "colour: unknown key"),
        ({"agents": ["ai", "human"]}, "takes every seat"),
        ({"humans": {"boltzmann": "boltzmann?beta=-1"}}, "beta must be >= 0"),
        ({"held_out": {"self-play": "boltzmann"}}, "labels must be distinct and not"),
        ({"run": "missing.yaml"}, "no such config file"),
        ({"episodes": 0}, "episodes"),
    ],
)
def test_crossplay_bad_settings_are_one_line(
    folder: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], message: str
) -> None:
    path = folder / "bad-settings.yaml"
    path.write_text(yaml.safe_dump({**SETTINGS, **change}))
    assert main(["human", "crossplay", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and message in err, err


def test_crossplay_needs_a_matrix_game(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "spread.yaml").write_text(yaml.safe_dump({"env": "simple_spread", "learners": "ippo", "steps": 2048}))
    path = folder / "spread-settings.yaml"
    path.write_text(yaml.safe_dump({**SETTINGS, "run": "spread.yaml", "agents": ["agent_1"]}))
    assert main(["human", "crossplay", str(path)]) == 2
    assert "human models act in matrix games" in capsys.readouterr().err


# --------------------------------------------------------------------------- players as partners and back


def test_actor_partner_seated_and_embedded_on_the_stag_hunt() -> None:
    """A fixed policy frozen as a partner acts inside the step (row stag + column's fixed stag = 4 each); a policy
    of the learners' agents seated back in the full env keeps its rows (the others uniform); a full-env policy
    embedded in the partner-wrapped env gives the learners' rows of its own output."""
    import jax
    import jax.numpy as jnp

    from marlkit.agents.deep.base import Observation
    from marlkit.envs.games import GameEnv
    from marlkit.envs.partner import with_partner
    from marlkit.games.catalog import make
    from marlkit.policies.actors import Table
    from marlkit.policies.frozen import Embedded, Seated, player_partner
    from marlkit.policies.partners import fixed_player

    env = GameEnv(make("stag-hunt"))
    partner = player_partner(fixed_player("fixed:action?index=0", env.spec, [1]), env)
    assert partner == player_partner(fixed_player("fixed:action?index=0", env.spec, [1]), env)
    wrapped = with_partner(env, partner, [1])
    assert not wrapped.has_tables  # only a TablePartner leaves the learners an exact game
    reward = jax.jit(lambda k: wrapped.step(k, wrapped.reset(k)[1], jnp.array([0]))[2])(jax.random.key(1))
    assert reward.tolist() == [4.0]  # stag with a stag partner

    learners_table = jnp.array([[[0.25, 0.75]]])  # [1 agent, 1 state, 2 actions]
    full_obs = Observation(jnp.ones((1, 2, 1)), jnp.ones((1, 2, 2), bool), jnp.ones((1, 1)), jnp.ones(1, bool))
    seated = jax.jit(Seated(Table(), (0,), wrapped.spec).policy)(learners_table, full_obs, ())
    np.testing.assert_allclose(seated[0], [[0.25, 0.75], [0.5, 0.5]])

    full_table = jnp.array([[[0.9, 0.1]], [[0.3, 0.7]]])
    own_obs = Observation(jnp.ones((1, 1, 1)), jnp.ones((1, 1, 2), bool), jnp.ones((1, 1)), jnp.ones(1, bool))
    embedded = jax.jit(Embedded(Table(), (1,), env.spec).policy)(full_table, own_obs, ())
    np.testing.assert_allclose(embedded[0], [[0.3, 0.7]])
