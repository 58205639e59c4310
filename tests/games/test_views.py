"""marlkit.games.views: the one view of a game (normal-form as stochastic and back), the one-way import between the
two game models, and read-only metadata."""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import marlkit.games
from marlkit.errors import InvalidGameError
from marlkit.games import (
    NormalFormGame,
    StochasticGame,
    action_mask,
    as_stochastic,
    game_from_dict,
    game_to_dict,
    is_one_shot,
    live_joint_actions,
    num_states,
    repeated_game,
    stage_game,
    stage_rewards,
    terminal_states,
)

PD = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]], name="pd", action_names=(("C", "D"), ("C", "D")))


def two_state_game() -> StochasticGame:
    """State 0 moves to the terminal state 1 under every joint action; agent 1 has one legal action in state 0."""
    T = np.zeros((2, 2, 2, 2))
    T[..., 1] = 1.0
    R = np.arange(16, dtype=float).reshape(2, 2, 2, 2)
    mask = np.array([[[1, 1], [1, 1]], [[1, 0], [1, 1]]], dtype=bool)
    return StochasticGame(T, R, [1.0, 0.0], 0.5, terminal=[False, True], action_mask=mask, name="two")


def test_a_normal_form_game_is_a_one_state_stochastic_game() -> None:
    one_shot = as_stochastic(PD)
    assert (one_shot.num_states, one_shot.gamma, one_shot.name, one_shot.state_names) == (1, 0.0, "pd", ("s0",))
    np.testing.assert_array_equal(one_shot.rewards[:, 0], PD.payoffs)
    assert one_shot.action_names == PD.action_names and one_shot.player_names == PD.player_names
    repeated = repeated_game(PD, 0.9)
    assert (repeated.gamma, repeated.name) == (0.9, "repeated pd")
    # U = u / (1 - γ) for a stationary profile in the repeated game (one state, self-loop)
    policy = np.full((2, 1, 2), 0.5)
    np.testing.assert_allclose(repeated.expected_return(policy), one_shot.expected_return(policy) / 0.1)
    g = two_state_game()
    assert as_stochastic(g) is g
    with pytest.raises(InvalidGameError, match="NormalFormGame"):
        repeated_game(g, 0.5)
    with pytest.raises(InvalidGameError, match="expected a NormalFormGame or StochasticGame"):
        as_stochastic(PD.payoffs)


def test_stage_game_and_one_shot() -> None:
    assert stage_game(PD) is PD and is_one_shot(PD) and is_one_shot(as_stochastic(PD))
    assert not is_one_shot(repeated_game(PD, 0.5)) and not is_one_shot(two_state_game())
    back = stage_game(repeated_game(PD, 0.9))
    np.testing.assert_array_equal(back.payoffs, PD.payoffs)
    assert back.action_names == PD.action_names
    g = two_state_game()
    np.testing.assert_array_equal(stage_game(g, 1).payoffs, g.rewards[:, 1])
    with pytest.raises(InvalidGameError, match="state"):
        stage_game(g, 2)
    with pytest.raises(InvalidGameError, match="state"):
        stage_game(PD, 1)


def test_tensors_agree_for_both_models() -> None:
    for game in (PD, as_stochastic(PD)):
        assert num_states(game) == 1
        np.testing.assert_array_equal(stage_rewards(game), PD.payoffs[:, None])
        np.testing.assert_array_equal(action_mask(game), np.ones((2, 1, 2), dtype=bool))
        np.testing.assert_array_equal(live_joint_actions(game), np.ones((1, 2, 2), dtype=bool))
        np.testing.assert_array_equal(terminal_states(game), [False])
    g = two_state_game()
    assert num_states(g) == 2
    live = live_joint_actions(g)
    assert live.shape == (2, 2, 2) and not live[1].any()  # terminal state
    np.testing.assert_array_equal(live[0], [[True, False], [True, False]])  # agent 1's action 1 is illegal
    assert not stage_rewards(PD).flags.writeable and not action_mask(PD).flags.writeable


def _imports(module: object) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_game_models_import_each_other_in_neither_direction() -> None:
    import marlkit.games.normal_form as normal_form
    import marlkit.games.stochastic as stochastic

    assert "marlkit.games.stochastic" not in _imports(normal_form)
    assert "marlkit.games.normal_form" not in _imports(stochastic)
    assert not hasattr(NormalFormGame, "to_stochastic")  # the conversion lives in marlkit.games.views
    assert marlkit.games.repeated_game is repeated_game


@pytest.mark.parametrize("game", [PD, two_state_game()], ids=["normal-form", "stochastic"])
def test_metadata_is_read_only_and_round_trips(game: NormalFormGame | StochasticGame) -> None:
    source = {"catalog": {"name": "x", "parameters": {"seed": 3, "actions": [2, 2]}}, "weights": np.ones(2)}
    g = dataclasses.replace(game, metadata=source)
    source["catalog"]["parameters"]["seed"] = 4  # type: ignore[index]  # the game took a copy
    assert g.metadata["catalog"]["parameters"]["seed"] == 3  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        g.metadata["extra"] = 1  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        g.metadata["catalog"]["parameters"]["seed"] = 5  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        g.metadata["catalog"]["parameters"]["actions"].append(3)  # type: ignore[index]
    with pytest.raises(ValueError, match="read-only"):
        g.metadata["weights"][0] = 2.0  # type: ignore[index]
    assert g.metadata["catalog"] == {"name": "x", "parameters": {"seed": 3, "actions": [2, 2]}}
    json.dumps({k: v for k, v in g.metadata.items() if k != "weights"})  # JSON-ready as it is
    again = game_from_dict(json.loads(json.dumps(game_to_dict(g), default=lambda a: a.tolist())))
    assert again.metadata == {"catalog": g.metadata["catalog"], "weights": [1.0, 1.0]}
    for twin in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g), copy.copy(g)):
        assert twin.metadata["catalog"] == g.metadata["catalog"]
    with pytest.raises(InvalidGameError, match="metadata"):
        dataclasses.replace(game, metadata=[("a", 1)])  # type: ignore[arg-type]
