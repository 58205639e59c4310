"""The play page's session engine (marlkit.serve.play_session, play_partners): payoffs against the games' own tables,
learning partners against the update rules of their papers, the play log read back and fitted by `marlkit human
fit`, the running picture against an independent NashConv, the session store's bounds, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.errors import InvalidGameError, MarlkitError, NotApplicableError, PolicyFileError, UnknownNameError
from marlkit.games.catalog import make
from marlkit.games.views import as_stochastic
from marlkit.human.playlog import read_play_log
from marlkit.serve.play_partners import PolicyPathError, inside
from marlkit.serve.play_session import (
    PlaySession,
    SessionError,
    SessionStore,
    nearest_equilibrium,
    playable_games,
)


def new_session(tmp_path: Path, game: str, seat: int, kind: str, spec: str, seed: int = 0, **kw: object) -> PlaySession:
    return PlaySession(game, seat, kind, spec, runs_dir=tmp_path, log_dir=tmp_path / "play", seed=seed, **kw)


def test_every_matrix_game_of_the_catalog_is_offered_with_a_stochastic_grid_game() -> None:
    from marlkit.games.catalog import GAMES, names

    offered = {c.name for c in playable_games()}
    matrix = {n for n in names() if GAMES[n].extra.get("kind") in ("normal-form", "random")}
    assert matrix <= offered
    assert {"grid-game-1", "grid-game-2", "soccer"} <= offered
    assert "dec-tiger" not in offered  # a POSG would show the person the hidden state


def test_payoffs_are_the_game_tables_in_every_matrix_game_and_seat(tmp_path: Path) -> None:
    """Each round's rewards are the game's payoff entry at the joint action (oracle: NormalFormGame.payoffs indexed
    directly), for every normal-form game offered, every seat and every action of the person."""
    rng = np.random.default_rng(0)
    for choice in playable_games():
        if choice.kind == "stochastic":
            continue
        game = make(choice.name)
        seat = int(rng.integers(choice.n_players))
        session = new_session(tmp_path, choice.name, seat, "model", "boltzmann?beta=0")  # a uniform partner
        for a in range(choice.num_actions[seat]):
            view = session.play(a)
            joint = tuple(view["last"]["actions"])
            assert joint[seat] == a
            assert view["last"]["rewards"] == pytest.approx(game.payoffs[(slice(None), *joint)].tolist(), abs=0)
        log = read_play_log(session.log_path, game)
        assert log.n_decisions == choice.num_actions[seat]
        assert np.all(log.human[:, seat]) and not np.any(np.delete(log.human, seat, axis=1))
        assert np.allclose(log.rewards, [game.payoffs[(slice(None), *j)] for j in log.actions])
        assert log.episodes.tolist() == list(range(log.n_decisions))  # a matrix game: one decision per episode


def test_fictitious_play_best_responds_to_the_persons_empirical_frequencies(tmp_path: Path) -> None:
    """Brown (1951): after each round FP plays a best response to the opponent's empirical frequencies, ties split
    uniformly. Oracle: argmax of the partner's payoff matrix times the person's counts, computed here."""
    game = make("rock-paper-scissors")
    session = new_session(tmp_path, "rock-paper-scissors", 0, "learner", "fp")
    assert session.view()["partner_policy"][0]["probabilities"] == pytest.approx([1 / 3] * 3)  # no counts: a tie
    counts = np.zeros(3)
    for a in [0, 0, 1, 2, 2, 2, 1, 1, 1, 0, 2]:
        view = session.play(a)
        counts[a] += 1
        values = game.payoffs[1].T @ counts  # the partner's payoff of each action against the counts
        best = values == values.max()
        assert view["partner_policy"][0]["probabilities"] == pytest.approx(best / best.sum(), abs=1e-6)
    # after rock x3, paper x4, scissors x4 the partner's best reply is scissors (beats paper, ties scissors)
    assert view["partner_policy"][0]["probabilities"] == pytest.approx([0, 0, 1], abs=1e-6)


def test_q_learning_partner_follows_the_q_update(tmp_path: Path) -> None:
    """IQL with constant α = 0.1 and ε = 0.1 (the ``iql-eps`` entry) on a repeated matrix game (γ = 0 in its
    stochastic view, Watkins & Dayan 1992): Q(b) += α (r − Q(b)) for the partner's action b, and the policy is
    ε-greedy, (1 − ε) · greedy (ties split) + ε / A. Oracle: that recursion in float64 here."""
    game = make("prisoners-dilemma")
    session = new_session(tmp_path, "prisoners-dilemma", 0, "learner", "iql-eps", seed=3)
    q = np.zeros(2)
    for a in [0, 1, 1, 0, 1, 1, 1, 0]:
        view = session.play(a)
        b = view["last"]["actions"][1]
        q[b] += 0.1 * (game.payoffs[1, a, b] - q[b])
        greedy = (q == q.max()) / (q == q.max()).sum()
        assert view["partner_policy"][0]["probabilities"] == pytest.approx(0.9 * greedy + 0.05, abs=1e-5)


def test_the_log_round_trips_through_marlkit_human_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A session's log is a valid play log after every round, and `marlkit human fit` fits the person's choices from
    it: the same estimate as the Python fit on the counts the session played."""
    from marlkit.cli import main
    from marlkit.human.fit import fit_model

    game = make("stag-hunt")
    session = new_session(tmp_path, "stag-hunt", 0, "model", "boltzmann?beta=0")
    played = [0] * 14 + [1] * 9
    for r, a in enumerate(played, start=1):
        session.play(a)
        assert read_play_log(session.log_path, game).n_decisions == r  # complete after every round (atomic rewrite)
    log = read_play_log(session.log_path, game)
    assert log.actions[:, 0].tolist() == played
    assert log.header["game"]["name"] == "stag-hunt"
    capsys.readouterr()
    assert main(["human", "fit", str(session.log_path), "--model", "boltzmann", "--agent", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = fit_model("boltzmann", game, log.all_counts(), agent=0)
    assert data["joint_decisions"] == len(played)
    assert data["estimate"] == pytest.approx(expected.estimate, rel=1e-9)


def test_a_grid_game_steps_by_its_transition_tables_and_restarts_episodes(tmp_path: Path) -> None:
    """Hu & Wellman's grid game 1 against Q-learning: every logged step's rewards are the game's reward entry, the
    next logged state has positive transition probability, and an episode ends at a terminal state or after the
    step limit."""
    game = as_stochastic(make("grid-game-1"))
    session = new_session(tmp_path, "grid-game-1", 1, "learner", "iql", seed=5, episode_steps=6)
    for r in range(40):
        session.play(session.legal_actions()[r % len(session.legal_actions())])
    assert session.frame_png().startswith(b"\x89PNG")
    log = read_play_log(session.log_path, game)
    assert log.n_decisions == 40
    for k in range(40):
        s, joint = int(log.states[k]), tuple(int(x) for x in log.actions[k])
        assert np.allclose(log.rewards[k], game.rewards[(slice(None), s, *joint)])
        assert log.steps[k] < 6
        if k + 1 < 40 and log.episodes[k + 1] == log.episodes[k]:
            assert game.transitions[(s, *joint, int(log.states[k + 1]))] > 0
            assert log.steps[k + 1] == log.steps[k] + 1
        elif k + 1 < 40:
            assert log.steps[k + 1] == 0 and game.initial[int(log.states[k + 1])] > 0


def test_the_running_picture_is_nash_conv_of_the_empirical_profile(tmp_path: Path) -> None:
    """Matching pennies: NashConv of the empirical product profile by hand (the unique equilibrium is (½, ½) each;
    NashConv = Σ_i max_a U_i(a, x̄_-i) − U_i(x̄), zero-sum so the two values cancel), and the TV distance to it."""
    game = make("matching-pennies")
    session = new_session(tmp_path, "matching-pennies", 0, "model", "boltzmann?beta=0", seed=1)
    for a in [0, 0, 0, 1, 0]:
        view = session.play(a)
    picture = view["picture"]
    x = np.array(picture["frequencies"][-1][0])
    y = np.array(picture["frequencies"][-1][1])
    assert x.tolist() == [0.8, 0.2]
    by_hand = max(game.payoffs[0] @ y) + max(game.payoffs[1].T @ x)  # U_0(x̄) + U_1(x̄) = 0
    assert picture["nash_conv"][-1] == pytest.approx(by_hand, abs=1e-12)
    assert picture["nash_distance"][-1] == pytest.approx(max(abs(x[0] - 0.5), abs(y[0] - 0.5)), abs=1e-12)
    assert picture["round"] == [1, 2, 3, 4, 5] and picture["equilibria_complete"]
    assert nearest_equilibrium([x, y], ()) is None


def test_a_trained_policy_partner_plays_its_table(tmp_path: Path) -> None:
    from marlkit.envs.games import GameEnv
    from marlkit.policies.files import policy_from_table, save_policy
    from marlkit.policies.spec import game_env_ref

    env = GameEnv(make("chicken"))
    table = np.array([[[0.5, 0.5]], [[0.2, 0.8]]], np.float32)
    (tmp_path / "runs").mkdir()
    save_policy(policy_from_table(table, env, game_env_ref(env), learner="test"), tmp_path / "runs" / "c.mkp")
    session = PlaySession("chicken", 0, "policy", "c.mkp", runs_dir=tmp_path / "runs", log_dir=tmp_path, seed=0)
    assert session.view()["partner_policy"][0]["probabilities"] == pytest.approx([0.2, 0.8], abs=1e-6)
    with pytest.raises(PolicyFileError, match="trained on 'chicken', not on 'stag-hunt'"):
        PlaySession("stag-hunt", 0, "policy", "c.mkp", runs_dir=tmp_path / "runs", log_dir=tmp_path)
    with pytest.raises(PolicyPathError, match="outside the runs folder"):
        PlaySession("chicken", 0, "policy", "../runs/c.mkp/../../x.mkp", runs_dir=tmp_path / "runs", log_dir=tmp_path)
    with pytest.raises(PolicyPathError):
        inside(tmp_path / "runs", "/etc/passwd")
    for bad, match in (("c.mkp#1", "picks a seed of a run directory"), ("c.mkp#x", "a training seed index")):
        with pytest.raises(PolicyFileError, match=match):
            PlaySession("chicken", 0, "policy", bad, runs_dir=tmp_path / "runs", log_dir=tmp_path)
    with pytest.raises(PolicyFileError, match="no such run directory or policy file"):
        PlaySession("chicken", 0, "policy", "missing.mkp", runs_dir=tmp_path / "runs", log_dir=tmp_path)


@pytest.mark.parametrize(
    ("game", "seat", "kind", "spec", "error", "match"),
    [
        ("no-such-game", 0, "model", "boltzmann", UnknownNameError, "unknown game"),
        ("dec-tiger", 0, "model", "boltzmann", UnknownNameError, "cannot be played here"),
        ("stag-hunt", 2, "model", "boltzmann", InvalidGameError, "seat: pick a player"),
        ("stag-hunt", 0, "learner", "fictitious", UnknownNameError, "fp"),
        ("stag-hunt", 0, "learner", "iql-eps?no_such=1", MarlkitError, "no_such"),
        ("stag-hunt", 0, "model", "boltzmann?beta=-1", InvalidGameError, "beta"),
        ("grid-game-1", 0, "model", "boltzmann", NotApplicableError, "normal-form"),
        ("grid-game-1", 0, "learner", "fp", NotApplicableError, "stage payoffs"),
        ("stag-hunt", 0, "robot", "x", InvalidGameError, "partner: expected one of"),
        ("stag-hunt", 0, "model", "", InvalidGameError, "give a model"),
    ],
)
def test_bad_choices_are_one_line_errors(
    tmp_path: Path, game: str, seat: int, kind: str, spec: str, error: type, match: str
) -> None:
    with pytest.raises(error, match=match) as info:
        new_session(tmp_path, game, seat, kind, spec)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "play").exists() or not any((tmp_path / "play").iterdir())  # nothing written


def test_actions_out_of_range_are_refused_and_nothing_is_logged(tmp_path: Path) -> None:
    session = new_session(tmp_path, "climbing", 1, "model", "boltzmann")
    for bad in (3, -1, True, "1", 1.0, None):
        with pytest.raises(SessionError, match="action"):
            session.play(bad)
    assert read_play_log(session.log_path).n_decisions == 0
    assert session.play(np.int64(2))["rounds"] == 1


def test_the_store_is_bounded_and_expires_idle_sessions(tmp_path: Path) -> None:
    now = [1000.0]
    store = SessionStore(max_sessions=2, ttl_s=60.0, clock=lambda: now[0])
    make_one = lambda: store.create(  # noqa: E731
        "stag-hunt", 0, "model", "boltzmann", runs_dir=tmp_path, log_dir=tmp_path / "play", seed=0
    )
    a, b = make_one(), make_one()
    assert a.id != b.id and len(a.id) >= 16
    store.get(a.id)  # a is now the most recently used
    c = make_one()
    assert {s for s in store.sessions} == {a.id, c.id}  # b, the least recently used, was dropped
    with pytest.raises(SessionError, match="no play session"):
        store.get(b.id)
    now[0] += 30
    store.get(c.id).play(0)
    now[0] += 45  # a idle 75 s > 60 s; c idle 45 s
    assert store.get(c.id) is c
    with pytest.raises(SessionError, match="expired"):
        store.get(a.id)
