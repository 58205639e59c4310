"""Playing the cooking task on the play page (marlkit.serve.play_task): the log replays the episode exactly through
the env (the task is deterministic from the layout's start), the greedy partner's actions come from the bars shown,
and bad partners are one-line errors."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.human.playlog import read_play_log
from marlkit.serve.play_session import SessionError, SessionStore
from marlkit.serve.play_task import programs


def test_a_cooking_session_logs_a_replayable_episode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from marlkit.cli import main
    from marlkit.envs import make

    store = SessionStore()
    session = store.create(
        "cooking-cramped_room",
        0,
        "model",
        "greedy?beta_goal=2&beta_action=5",
        runs_dir=tmp_path,
        log_dir=tmp_path,
        seed=4,
    )
    moves = [2, 1, 3, 5, 0, 0, 5, 4, 1, 2, 5, 3]  # right, down, left, interact, ...
    for a in moves:
        before = session.view()["partner_policy"][0]["probabilities"]
        view = session.play(a)
        assert view["last"]["actions"][0] == a
        assert before[view["last"]["actions"][1]] > 0  # the partner drew from the bars the page showed
        assert sum(before) == pytest.approx(1.0)
    assert session.frame_png().startswith(b"\x89PNG")
    log = read_play_log(session.log_path)
    assert log.header["game"]["task"]["layout"] == "cramped_room" and log.n_decisions == len(moves)
    assert log.actions[:, 0].tolist() == moves and log.human[:, 0].all()
    # replay with a fresh env's start (and the session's compiled step of an equal env): the layout's fixed start and
    # deterministic steps reproduce every logged reward whatever the keys
    _, state = make("cooking", layout="cramped_room").reset(jax.random.key(99))
    step = programs("cramped_room")[2]
    for k in range(log.n_decisions):
        _, state, reward, _, _ = step(jax.random.key(k), state, jnp.asarray(log.actions[k], jnp.int32))
        assert np.allclose(np.asarray(reward), log.rewards[k])
    assert np.allclose(log.rewards.sum(axis=0), view["scores"])
    capsys.readouterr()
    assert main(["human", "fit", str(session.log_path)]) == 2  # no exact game: said in one line
    assert "not a catalog game" in capsys.readouterr().err
    with pytest.raises(SessionError, match="not an action of a chef"):
        session.play(6)
    with pytest.raises(NotApplicableError, match="exact game's states"):
        store.create("cooking-cramped_room", 0, "learner", "fp", runs_dir=tmp_path, log_dir=tmp_path)
    with pytest.raises(InvalidGameError, match="greedy human"):
        store.create("cooking-cramped_room", 1, "model", "boltzmann?beta=1", runs_dir=tmp_path, log_dir=tmp_path)
    with pytest.raises(InvalidGameError, match="beta_goal"):
        store.create("cooking-cramped_room", 1, "model", "greedy?beta_goal=-1", runs_dir=tmp_path, log_dir=tmp_path)
    with pytest.raises(InvalidGameError, match="seat"):
        store.create("cooking-cramped_room", 2, "model", "greedy", runs_dir=tmp_path, log_dir=tmp_path)


def test_the_chef_colours_named_are_the_renderers() -> None:
    from marlkit.envs.cooking.render import CHEF_COLOURS
    from marlkit.serve.play_task import CHEF_COLOUR_NAMES

    assert dict(zip(CHEF_COLOUR_NAMES, CHEF_COLOURS[:2], strict=True)) == {"blue": (40, 90, 200), "red": (200, 50, 50)}
