"""Other-Play on stochastic games (Hu, Lerer, Peysakhovich & Foerster 2020): J_OP against a brute-force average
over every group element, the corridor game's hand-derived values (module docstring of
:mod:`marlkit.human.other_play_stochastic`), agreement with the normal-form Other-Play on one-state games, the
exact-gradient learners, the CLI and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marlkit.cli import main
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.games.catalog import make
from marlkit.games.properties.game_symmetry import game_symmetries
from marlkit.games.views import repeated_game
from marlkit.human.other_play import lever_game, other_play_optimum
from marlkit.human.other_play_stochastic import (
    corridor_game,
    corridor_values,
    is_acyclic,
    other_play_gradient,
    other_play_return,
    policy_orbit,
    stochastic_other_play,
    train_other_play,
)


def random_policy(game: StochasticGame, rng: np.random.Generator) -> np.ndarray:
    weights = rng.random(game.action_mask.shape) * game.action_mask
    return weights / weights.sum(axis=-1, keepdims=True)


def test_op_return_is_the_average_over_every_group_element() -> None:
    """J_OP via the orbit of π² (orbit-stabiliser) equals the plain mean over all |Φ| relabellings."""
    rng = np.random.default_rng(0)
    for game in (corridor_game(), corridor_game(2, 3, 0.3, 0.7), make("two-step")):
        group = game_symmetries(game)
        for _ in range(3):
            policy = random_policy(game, rng)
            brute = np.mean([game.expected_return(g.relabel_policy(policy, [1])) for g in group.elements()], axis=0)
            np.testing.assert_allclose(other_play_return(game, policy, group=group), brute, atol=1e-12)
        deterministic = np.eye(game.max_actions)[game.action_mask.argmax(axis=-1)]
        brute = np.mean([game.expected_return(g.relabel_policy(deterministic, [1])) for g in group.elements()], 0)
        np.testing.assert_allclose(other_play_return(game, deterministic, group=group), brute, atol=1e-12)


def test_op_return_is_invariant_under_each_players_relabelling() -> None:
    """J_OP(φπ¹, χπ²) = J_OP(π¹, π²) (module docstring, "Invariance")."""
    rng = np.random.default_rng(1)
    game = corridor_game(2, 2, 0.4, 0.8)
    group = game_symmetries(game)
    policy = random_policy(game, rng)
    value = other_play_return(game, policy, group=group)
    for _ in range(5):
        moved = group.random(rng).relabel_policy(group.random(rng).relabel_policy(policy, [1]), [0])
        np.testing.assert_allclose(other_play_return(game, moved, group=group), value, atol=1e-12)


@pytest.mark.parametrize(
    ("rooms", "levers", "centre", "gamma"),
    [(2, 2, 0.6, 0.9), (3, 2, 0.2, 0.5), (2, 3, 0.1, 0.5), (3, 3, 0.6, 0.9)],
)
def test_corridor_game_hand_derived_values(rooms: int, levers: int, centre: float, gamma: float) -> None:
    """SP: γ with itself, γ/(rooms·levers) in cross-play; OP: γ·max(c, 1/(rooms·levers)) with itself and in
    cross-play (derivation: module docstring of marlkit.human.other_play_stochastic)."""
    game = corridor_game(rooms, levers, centre, gamma)
    result = stochastic_other_play(game)
    expected = corridor_values(rooms, levers, centre, gamma)
    chance = 1 / (rooms * levers)
    assert result.self_play_value == pytest.approx(gamma, abs=1e-9)
    assert result.self_play_cross_play == pytest.approx(gamma * chance, abs=1e-9)
    assert result.other_play_cross_play == pytest.approx(gamma * max(centre, chance), abs=1e-9)
    assert result.other_play_value == pytest.approx(gamma * max(centre, chance), abs=1e-9)
    assert expected["self_play_cross_play"] == pytest.approx(gamma * chance, abs=1e-15)
    assert result.exact and result.self_play_optima == rooms * levers**rooms
    goes_centre = result.other_play_policy[:, 0].argmax(axis=-1) == rooms
    assert goes_centre.all() == (centre > chance)
    # the reported policies are what they claim: J of the SP optimum and J_OP of both
    assert game.expected_return(result.self_play_policy)[0] == pytest.approx(gamma, abs=1e-9)
    assert other_play_return(game, result.other_play_policy)[0] == pytest.approx(result.other_play_cross_play)


def test_one_state_games_agree_with_normal_form_other_play() -> None:
    rng = np.random.default_rng(5)
    games = [lever_game(), lever_game(5, 0.3), make("penalty"), make("coordination"), make("climbing")]
    for _ in range(6):  # random common-payoff games with ties
        payoff = rng.integers(0, 3, size=(3, 3)).astype(float)
        payoff = payoff + payoff[[1, 0, 2]][:, [1, 0, 2]]  # a planted symmetry: swap actions 0 and 1 of both
        games.append(NormalFormGame(np.stack([payoff, payoff])))
    for game in games:
        mine, theirs = stochastic_other_play(game), other_play_optimum(game)
        assert mine.self_play_value == pytest.approx(theirs.self_play_value, abs=1e-9)
        assert mine.self_play_optima == len(theirs.self_play_optima)
        assert mine.self_play_cross_play == pytest.approx(theirs.self_play_cross_play, abs=1e-9)
        assert mine.other_play_cross_play == pytest.approx(theirs.other_play_cross_play, abs=1e-9)
        assert mine.other_play_value == pytest.approx(theirs.other_play_value, abs=1e-9)
        assert mine.exact


def test_cyclic_games_say_the_op_optimum_is_a_lower_bound() -> None:
    game = repeated_game(make("coordination"), 0.5)
    assert not is_acyclic(game) and is_acyclic(corridor_game())
    result = stochastic_other_play(game)
    assert not result.exact and "lower bound" in "\n".join(result.lines(game))
    assert result.self_play_value == pytest.approx(2.0)  # 1 / (1 - 0.5) when the pair keeps matching


def test_gradient_matches_finite_differences() -> None:
    """Directional derivatives along e_a - e_b inside a row (rows stay distributions), central differences."""
    rng = np.random.default_rng(2)
    game = corridor_game(2, 2, 0.4, 0.8)
    symmetries = list(game_symmetries(game).elements())
    policy = random_policy(game, rng)
    _, grad = other_play_gradient(game, policy, symmetries)
    h = 1e-6
    for i, s, a, b in [(0, 0, 0, 2), (1, 0, 1, 2), (1, 1, 0, 1), (0, 2, 1, 0), (1, 0, 0, 1)]:
        step = np.zeros_like(policy)
        step[i, s, a], step[i, s, b] = h, -h
        up = other_play_gradient(game, policy + step, symmetries)[0]
        down = other_play_gradient(game, policy - step, symmetries)[0]
        assert (up - down) / (2 * h) == pytest.approx(grad[i, s, a] - grad[i, s, b], abs=1e-7)


def test_learners_reproduce_the_other_play_effect() -> None:
    """Softmax gradient ascent from N(0, 1) logits ends at a local optimum: measured over 20 single starts on the
    corridor game (2 rooms, 2 levers, c = 0.6, γ = 0.9), SP reaches a door convention from 15 and OP reaches the
    centre from 8, the others being the other coordinated choice. With 8 starts kept by their own training
    objective the chance of missing is <= 0.6^8 < 2% for OP (0.25^8 for SP); the seeds are fixed, so the test is
    deterministic. Within 0.01 of the exact values after 150 steps (softmax never reaches a vertex)."""
    game = corridor_game()
    group = game_symmetries(game)
    sp = train_other_play(game, objective="self-play", steps=150, restarts=8, seed=0, group=group)
    op = train_other_play(game, objective="other-play", steps=150, restarts=8, seed=0, group=group)
    assert sp.self_play_value == pytest.approx(0.9, abs=0.01) and sp.cross_play_value == pytest.approx(0.225, abs=0.01)
    assert op.self_play_value == pytest.approx(0.54, abs=0.01) and op.cross_play_value == pytest.approx(0.54, abs=0.01)
    assert np.all(np.diff(op.objective_curve[20:]) > -1e-9)  # exact gradient ascent with a small step climbs
    sampled = train_other_play(game, objective="other-play", steps=150, restarts=8, seed=1, sample=True, group=group)
    assert sampled.cross_play_value == pytest.approx(0.54, abs=0.01)  # one φ drawn per step, as Hu et al.


def test_bad_input() -> None:
    three = NormalFormGame(np.ones((3, 2, 2, 2)))
    with pytest.raises(NotApplicableError, match="2-player"):
        stochastic_other_play(three)
    with pytest.raises(NotApplicableError, match="common-payoff"):
        stochastic_other_play(make("grid-game-1"))
    with pytest.raises(NotApplicableError, match="fully observed"):
        stochastic_other_play(make("dec-tiger"))
    with pytest.raises(NotApplicableError, match="more than the cap of 100,000"):
        stochastic_other_play(corridor_game(6, 6))
    group = game_symmetries(corridor_game(4, 4))
    policy = random_policy(corridor_game(4, 4), np.random.default_rng(0))
    with pytest.raises(NotApplicableError, match="more than 50 distinct relabellings"):
        policy_orbit(group, policy, 1, limit=50)
    with pytest.raises(InvalidGameError, match="rooms must be an integer >= 1"):
        corridor_game(0)
    with pytest.raises(InvalidGameError, match="objective"):
        train_other_play(corridor_game(), objective="cross-play")
    with pytest.raises(InvalidGameError, match="learning_rate"):
        train_other_play(corridor_game(), learning_rate=-1.0)
    with pytest.raises(
        InvalidGameError, match=r"computed for 7 states and actions \(5, 5\), but the game has 6 states"
    ):
        other_play_return(
            corridor_game(3, 2), random_policy(corridor_game(3, 2), np.random.default_rng(0)), group=group
        )


def test_cli_corridor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["human", "other-play", "corridor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["symmetries"]["order"] == 8 and data["exact"] is True
    assert data["self_play"]["value"] == pytest.approx(0.9) and data["self_play"]["cross_play"] == pytest.approx(0.225)
    assert data["other_play"]["value"] == pytest.approx(0.54) and data["other_play"]["cross_play"] == pytest.approx(
        0.54
    )
    assert main(["human", "other-play", "corridor", "-p", "rooms=3", "-p", "levers=3"]) == 0
    out = capsys.readouterr().out
    assert "symmetry group: 1,296 elements" in out and "state orbits: {start} {room 0, room 1, room 2}" in out
    assert "self-play:  81 optima, value 0.9 with itself, 0.1 in cross-play" in out
    assert "other-play: value 0.54 with itself (mean over its optima), 0.54 in cross-play" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["corridor", "-p", "doors=2"], "--param doors: corridor takes rooms, levers, centre, gamma"),
        (["grid-game-1"], "common-payoff"),
        (["corridor", "-p", "rooms=6", "-p", "levers=6"], "more than the cap of 100,000"),
        (["lever", "--train"], "--train: applies to stochastic games"),
        (["corridor", "--train", "--restarts", "0"], "--restarts: at least 1"),
        (["corridor", "--sample"], "--sample: applies with --train"),  # learner options without --train
        (["corridor", "--steps", "50"], "--steps: applies with --train"),
        (["corridor", "-p", "rooms=abc"], "rooms must be an integer >= 1, got 'abc'"),
        (["corridor", "-p", "centre=abc"], "centre must be a number in [0, 1], got 'abc'"),
        (["corridor", "-p", "gamma=2"], "gamma must be a number in [0, 1]"),
    ],
)
def test_cli_bad_input_is_one_line(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["human", "other-play", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_cross_play_of_a_learned_policy_above_the_cap_is_a_monte_carlo_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the cap lowered below |Φ| = 8 the learner must draw φ (exact averaging refused, naming the cap) and its
    cross-play value is a mean over 1,000 uniform φ: within 4 standard errors of the exact J_OP."""
    from marlkit.human import other_play_stochastic

    game = corridor_game()
    group = game_symmetries(game)
    monkeypatch.setattr(other_play_stochastic, "MAX_ELEMENTS", 4)
    with pytest.raises(NotApplicableError, match="8 elements, more than the cap of 4"):
        train_other_play(game, steps=5, group=group)
    run = train_other_play(game, objective="self-play", steps=60, seed=3, sample=True, group=group)
    exact = other_play_return(game, run.policy, group=group)[0]
    assert run.cross_play_stderr > 0 and abs(run.cross_play_value - exact) < 4 * run.cross_play_stderr


def test_cli_train_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["human", "other-play", "corridor", "--train", "--restarts", "1", "--steps", "5", "--json"]) == 0
    training = json.loads(capsys.readouterr().out)["training"]
    assert set(training) == {"self-play", "other-play"}
    assert training["other-play"]["cross_play_stderr"] == 0.0 and len(training["other-play"]["policy"]) == 2


def test_the_shown_pair_reports_its_own_value_with_itself() -> None:
    # Two-door corridor without a centre worth taking (c = 0.1 < 1/4): the OP optima are door/lever pairs, J_OP* =
    # γ/4 (the mean of J over an optimum's relabellings); the pair shown coordinates or not, and its own value with
    # itself is reported beside the mean (γ when both pick the same door and lever, 0 otherwise).
    game = corridor_game(rooms=2, levers=2, centre=0.1, gamma=0.9)
    result = stochastic_other_play(game)
    assert result.other_play_value == pytest.approx(0.9 / 4, abs=1e-9)
    own = game.expected_return(result.other_play_policy)[0]
    assert result.other_play_policy_value == pytest.approx(own, abs=1e-12)
    assert own in (pytest.approx(0.9, abs=1e-9), pytest.approx(0.0, abs=1e-9))
    assert result.to_json()["other_play"]["policy_value"] == result.other_play_policy_value
