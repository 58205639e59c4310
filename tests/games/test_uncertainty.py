"""Uncertainty sets (marlkit.games.uncertainty): construction, validation against a game, JSON round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marlkit.errors import GameFileError, InvalidGameError
from marlkit.games import (
    ModelUncertainty,
    ObservationBall,
    ObservationModel,
    StateUncertainty,
    StochasticGame,
    load_uncertainty,
    save_uncertainty,
)
from marlkit.games.uncertainty import uncertainty_from_dict, uncertainty_to_dict


def _game(n: int = 2, S: int = 3) -> StochasticGame:
    rng = np.random.default_rng(0)
    T = rng.dirichlet(np.ones(S), size=(S,) + (2,) * n)
    return StochasticGame(T, rng.normal(size=(n, S) + (2,) * n), initial=np.full(S, 1 / S), gamma=0.9)


def test_state_sets_contain_the_true_state_and_derive_attacked() -> None:
    u = StateUncertainty.from_sets(2, 3, {1: [[1], [0, 2], []]})
    assert u.attacked == (1,)
    assert u.perceivable(1, 0) == (0, 1)  # s itself is added
    assert u.perceivable(1, 1) == (0, 1, 2)
    assert u.perceivable(1, 2) == (2,)
    assert u.perceivable(0, 1) == (1,)  # unattacked agents perceive the truth
    assert not u.is_trivial()
    assert StateUncertainty.none(2, 3).is_trivial()
    assert StateUncertainty.none(2, 3).attacked == ()


def test_from_distance_is_a_ball_and_grows_with_the_radius() -> None:
    d = np.abs(np.subtract.outer(np.arange(4), np.arange(4))).astype(float)
    small = StateUncertainty.from_distance(2, d, 1.0, [0])
    large = StateUncertainty.from_distance(2, d, 2.0, [0])
    assert small.perceivable(0, 0) == (0, 1)
    assert large.perceivable(0, 0) == (0, 1, 2)
    assert np.all(large.allowed >= small.allowed)
    everywhere = StateUncertainty.everywhere(2, 4, [0, 1])
    assert everywhere.allowed.all()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: StateUncertainty(np.zeros((1, 2, 2), bool)), "must contain the true state 0"),
        (lambda: StateUncertainty(np.ones((1, 2, 3), bool)), "shape [n, S, S]"),
        (lambda: StateUncertainty(np.ones((2, 2, 2), bool), (0,)), "agent 1 has perturbed states"),
        (lambda: StateUncertainty.from_sets(2, 2, {0: [[5], [0]]}), "outside 0..1"),
        (lambda: StateUncertainty.from_sets(2, 2, {0: [[1]]}), "one set per state"),
        (lambda: StateUncertainty.from_sets(2, 2, {3: [[1], [0]]}), "agent 3 does not exist"),
        (lambda: StateUncertainty.everywhere(2, 2, [0, 1, 1]), "twice"),
        (lambda: StateUncertainty.from_distance(1, np.ones((2, 2)), 1.0, [0]), "0 on the diagonal"),
        (lambda: StateUncertainty.from_distance(1, 1 - np.eye(2), -1.0, [0]), "must be >= 0"),
        (lambda: ModelUncertainty(-0.1), "must be >= 0"),
        (lambda: ModelUncertainty(0.0, float("nan")), "finite"),
        (lambda: ModelUncertainty(0.0, 0.1, "l2"), "norm must be one of"),
        (lambda: ObservationBall(0.1, (), "linf"), "at least one agent"),
        (lambda: ObservationBall(0.1, (0,), "l3"), "norm must be one of"),
    ],
)
def test_bad_sets_are_one_line_errors(build, message: str) -> None:
    with pytest.raises(InvalidGameError, match=r".*" + message.replace("[", r"\[").replace("]", r"\]")):
        build()


def test_sets_are_checked_against_the_game() -> None:
    game = _game()
    StateUncertainty.everywhere(2, 3, [0]).check_against(game)
    with pytest.raises(InvalidGameError, match="4 states, but the game has 2 agents and 3 states"):
        StateUncertainty.everywhere(2, 4, [0]).check_against(game)
    with pytest.raises(InvalidGameError, match="M must be <= N"):
        StateUncertainty.everywhere(2, 3, [0, 1, 2])
    posg = StochasticGame(
        game.transitions,
        game.rewards,
        game.initial,
        game.gamma,
        observations=ObservationModel.deterministic([[0, 0, 1], [0, 1, 1]], [2, 2]),
    )
    with pytest.raises(InvalidGameError, match="partially observable"):
        StateUncertainty.everywhere(2, 3, [0]).check_against(posg)
    ModelUncertainty([0.1, 0.2, 0.0], 0.1).check_against(game)
    assert ModelUncertainty([0.1, 0.2, 0.0], 0.1).reward_radii(2, 3).shape == (2, 3)
    with pytest.raises(InvalidGameError, match="reward_radius has 2 entries; the game has 3 states"):
        ModelUncertainty([0.1, 0.2], 0.1).check_against(game)
    with pytest.raises(InvalidGameError, match="transition_radius has 4 entries"):
        ModelUncertainty(0.0, [0.1] * 4).check_against(game)
    assert ModelUncertainty().is_trivial() and not ModelUncertainty(0.0, 0.1).is_trivial()
    ObservationBall(0.1, (1,)).check_against(2, (6,))
    with pytest.raises(InvalidGameError, match="not real vectors"):
        ObservationBall(0.1, (0,)).check_against(2, None)
    with pytest.raises(InvalidGameError, match="agent 2 does not exist"):
        ObservationBall(0.1, (2,)).check_against(2, (6,))


@pytest.mark.parametrize(
    "uncertainty",
    [
        StateUncertainty.from_sets(3, 4, {0: [[1], [], [3], [0, 1]], 2: [[], [], [], [2]]}),
        ObservationBall(0.25, (0, 2), "l2"),
        ModelUncertainty([[0.1, 0.0], [0.2, 0.3]], [0.5, 0.0], "linf"),
    ],
)
def test_json_round_trip(tmp_path, uncertainty) -> None:
    path = save_uncertainty(uncertainty, tmp_path / "set.json")
    back = load_uncertainty(path)
    assert type(back) is type(uncertainty)
    assert uncertainty_to_dict(back) == uncertainty_to_dict(uncertainty)
    if isinstance(uncertainty, StateUncertainty):
        assert np.array_equal(back.allowed, uncertainty.allowed)


def test_bad_files_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(GameFileError, match="no such file"):
        load_uncertainty(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(GameFileError, match="not a JSON uncertainty set"):
        load_uncertainty(tmp_path / "bad.json")
    with pytest.raises(InvalidGameError, match="type must be one of"):
        uncertainty_from_dict({"type": "weather"})
    with pytest.raises(InvalidGameError, match="unknown key 'radius'"):
        uncertainty_from_dict({"type": "model", "radius": 1})
    with pytest.raises(InvalidGameError, match="epsilon must be a finite number"):
        uncertainty_from_dict(json.loads('{"type": "observation", "epsilon": "0.1"}'))
    with pytest.raises(InvalidGameError, match="must be a number or a list"):
        uncertainty_from_dict({"type": "model", "reward_radius": True})
    with pytest.raises(InvalidGameError, match="n_agents must be a positive integer"):
        uncertainty_from_dict({"type": "state", "n_agents": 0, "num_states": 2, "sets": {}})
