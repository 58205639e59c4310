"""Rendering (issue 17, item 3): every task draws a state to ``uint8 [H, W, 3]``; episodes become GIF / MP4 files.

Oracles: MPE pictures are compared with mpe2's own ``render_mode="rgb_array"`` pictures of the same state (mpe2
draws with pygame; ``dynamic_rescaling=False``, the mode marlkit reproduces); the other pictures are checked at
pixels whose colour follows from the drawing rules (a food cell's colour, an agent's palette colour, a bar's
colour by capacity), with the state built by hand.
"""

from __future__ import annotations

import importlib.util
import itertools
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.envs import AgentId, EpisodeStatistics, GameEnv, make, render_episode, to_pettingzoo, write_video
from marlkit.envs.bar import BarProblem, BarState
from marlkit.envs.base import Env, MultiAgentSpec, TimeState
from marlkit.envs.canvas import PALETTE
from marlkit.envs.games import GameState
from marlkit.envs.lbf import FOOD_COLOUR, RENDER_CELL, LBFState, LevelBasedForaging
from marlkit.envs.mpe import SimpleSpread, SimpleTag, SpeakerListener
from marlkit.envs.mpe.core import Particles
from marlkit.envs.mpe.speaker_listener import SpeakerListenerState
from marlkit.envs.render_games import CELL, MARGIN
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.catalog import make as make_game


def at(state) -> TimeState:
    return TimeState(state, np.int32(0))


# ------------------------------------------------------------------------------------------------ MPE vs mpe2
def _mpe2_picture(module, kwargs, positions, speaker_message=None) -> np.ndarray:
    """mpe2's rgb_array picture with its entities (agents, then landmarks) placed at ``positions``."""
    penv = module.parallel_env(render_mode="rgb_array", dynamic_rescaling=False, **kwargs)
    penv.reset(seed=0)
    world = penv.unwrapped.world
    for entity, pos in zip(world.agents + world.landmarks, positions, strict=True):
        entity.state.p_pos = np.asarray(pos, np.float64)
    if speaker_message is not None:
        world.agents[0].state.c = speaker_message
    picture = penv.render()
    penv.close()
    return picture, world


@pytest.mark.parametrize("task", ["simple_spread", "simple_tag"])
def test_mpe_pictures_match_mpe2(task: str) -> None:
    mpe2 = pytest.importorskip("mpe2", reason="mpe2 (the MPE reference package) is not installed")
    from mpe2 import simple_spread_v3, simple_tag_v3

    env, module, kwargs = (
        (SimpleSpread(n_agents=3), simple_spread_v3, {"N": 3})
        if task == "simple_spread"
        else (SimpleTag(), simple_tag_v3, {})
    )
    del mpe2
    n, total = env.spec.n_agents, env.spec.n_agents + (3 if task == "simple_spread" else 2)
    pos = np.random.default_rng(1).uniform(-1, 1, (total, 2)).astype(np.float32)
    pos[0] = 0.0  # agent 0 at the origin: the centre pixel
    ref, _ = _mpe2_picture(module, kwargs, pos)
    mine = env.render(at(Particles(pos[:n], np.zeros((n, 2), np.float32), pos[n:])))
    assert mine.shape == ref.shape == (700, 700, 3) and mine.dtype == np.uint8
    # mpe2 rounds positions with floor division; only disc edges may differ by a pixel
    assert (mine != ref).any(axis=-1).mean() < 0.01
    agent_colour = (70, 70, 170) if task == "simple_spread" else (170, 70, 70)  # mpe2: colour * 200
    assert tuple(mine[350, 350]) == tuple(ref[350, 350]) == agent_colour


def test_speaker_listener_matches_mpe2() -> None:
    pytest.importorskip("mpe2", reason="mpe2 (the MPE reference package) is not installed")
    from mpe2 import simple_speaker_listener_v4

    pos = np.random.default_rng(2).uniform(-1, 1, (4, 2)).astype(np.float32)
    message = np.eye(3, dtype=np.float32)[1]
    # the speaker (not kept by marlkit) sits under the listener in mpe2: same size, drawn first
    ref, world = _mpe2_picture(simple_speaker_listener_v4, {}, [pos[0], *pos], speaker_message=message)
    goal = next(i for i, lm in enumerate(world.landmarks) if lm is world.agents[0].goal_b)
    state = SpeakerListenerState(Particles(pos[:1], np.zeros((1, 2), np.float32), pos[1:]), np.int32(goal), message)
    mine = SpeakerListener().render(at(state))
    above_text = slice(0, 650)  # both write "speaker_0 sends B" at the bottom left, in different fonts
    assert (mine[above_text] != ref[above_text]).any(axis=-1).mean() < 0.01
    assert (mine[650:] != 255).any()  # the message line is there


def test_the_camera_zooms_out_to_keep_everything_in_view() -> None:
    env = SimpleSpread(n_agents=1, n_landmarks=1)
    far = env.render(at(Particles(np.zeros((1, 2), np.float32), np.zeros((1, 2)), np.array([[3.0, 0.0]]))))
    # mpe2's camera: the farthest entity at 90% of the half-width, x_px = 350 + 0.9 * 350
    assert tuple(far[350, int(350 + 0.9 * 350)]) == (50, 50, 50)


# ----------------------------------------------------------------------------------------- LBF, bar, games
def test_lbf_picture_of_a_known_state() -> None:
    env = LevelBasedForaging(grid_size=6, n_agents=2, n_food=2)
    state = LBFState(
        agent_pos=np.array([[0, 0], [5, 5]], np.int32),
        agent_level=np.array([1, 2], np.int32),
        food_pos=np.array([[2, 2], [4, 1]], np.int32),
        food_level=np.array([2, 3], np.int32),
        food_alive=np.array([True, False]),
        food_spawned=np.float32(5),
    )
    picture = env.render(at(state))
    assert picture.shape == (6 * RENDER_CELL + 1, 6 * RENDER_CELL + 1, 3)

    def pixel(row: int, col: int, dx: float = 0.0, dy: float = 0.0) -> tuple[int, ...]:
        return tuple(picture[int(row * RENDER_CELL + 4 + dy), int(col * RENDER_CELL + 4 + dx)])

    assert pixel(2, 2) == FOOD_COLOUR  # the live food's cell (corner, away from its level label)
    assert pixel(4, 1) == (255, 255, 255)  # collected food is not drawn
    centre = RENDER_CELL / 2 - 4
    assert pixel(0, 0, centre + 0.3 * RENDER_CELL, centre) == PALETTE[0]  # agent 0's disc, beside its label
    assert pixel(5, 5, centre + 0.3 * RENDER_CELL, centre) == PALETTE[1]


def test_bar_picture_colours_nights_by_capacity() -> None:
    env = BarProblem(n_agents=3, num_nights=2, capacity=1.0)
    picture = env.render(at(BarState(np.array([2.0, 1.0], np.float32), np.int32(1))))
    # bars: left 16 px, width 40, gap 16; plot 240 px for n = 3 agents, base at y = 280
    assert tuple(picture[275, 36]) == PALETTE[3]  # night 0: 2 > capacity 1, red
    assert tuple(picture[275, 92]) == PALETTE[0]  # night 1: 1 <= capacity, blue
    assert tuple(picture[275 - 100, 92]) == (255, 255, 255)  # its bar is 80 px high (1/3 of 240)


def test_soccer_and_grid_games_render_as_boards() -> None:
    soccer = make_game("soccer")
    s = soccer.state_names.index("A(1,3) B(2,1) ball:A")
    picture = GameEnv(soccer).render(at(GameState(np.int32(s))))
    top = 24  # the caption line

    def centre(row: int, col: int, dx: float, dy: float = 0.0) -> tuple[int, ...]:
        return tuple(picture[int(top + MARGIN + (row + 0.5) * CELL + dy), int(MARGIN + (col + 0.5) * CELL + dx)])

    # the field sits between two goal-mouth columns: A at (1, 3) is drawn in column 4, B at (2, 1) in column 2
    assert centre(1, 4, -0.3 * CELL) == PALETTE[0]
    assert centre(2, 2, -0.3 * CELL) == PALETTE[1]
    assert centre(1, 4, 0.36 * CELL * 0.7, 0.36 * CELL * 0.7) == (255, 255, 255)  # the ball on A
    grid = make_game("grid-game-1")
    start = GameEnv(grid).render(at(GameState(np.int32(grid.state_names.index("(0,2)")))))
    # Hu & Wellman's cells: row 0 at the bottom; agent 1 starts in cell 0 (bottom left), agent 2 in cell 2
    y = int(top + MARGIN + 2.5 * CELL)
    assert tuple(start[y, int(MARGIN + 0.5 * CELL - 0.3 * CELL)]) == PALETTE[0]
    assert tuple(start[y, int(MARGIN + 2.5 * CELL - 0.3 * CELL)]) == PALETTE[1]


def test_other_games_render_a_table_and_the_episode_shows_actions() -> None:
    env = GameEnv(make_game("prisoners-dilemma"))
    frames = render_episode(env, lambda key, obs, info: jnp.array([1, 0]), key=0)
    assert len(frames) == 2 and frames[0].shape == frames[1].shape  # a one-step episode: reset, end
    assert not np.array_equal(frames[0], frames[1])  # the caption of the step differs from the start's


# ------------------------------------------------------------------------------------------------- episodes
@pytest.fixture(scope="module")
def spread_frames() -> list[np.ndarray]:
    return render_episode(SimpleSpread(n_agents=2, max_episode_steps=6), None, key=3)


def test_episode_frames_change_and_keep_their_size(spread_frames: list[np.ndarray]) -> None:
    assert len(spread_frames) == 7  # the reset state and one frame per step
    assert len({f.shape for f in spread_frames}) == 1 and spread_frames[0].dtype == np.uint8
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(spread_frames))


def test_episodes_are_deterministic_per_key(spread_frames: list[np.ndarray]) -> None:
    again = render_episode(SimpleSpread(n_agents=2, max_episode_steps=6), None, key=3)
    other = render_episode(SimpleSpread(n_agents=2, max_episode_steps=6), None, key=4)
    assert all(np.array_equal(a, b) for a, b in zip(spread_frames, again, strict=True))
    assert not np.array_equal(spread_frames[0], other[0])


def test_the_last_frame_is_the_state_the_episode_ended_on() -> None:
    env = BarProblem(n_agents=3, num_nights=2, capacity=1.0)  # one week: the step ends the episode
    frames = render_episode(env, lambda key, obs, info: jnp.array([0, 0, 1]), key=0, caption=False)
    expected = env.render_env(BarState(np.array([2.0, 1.0], np.float32), np.int32(1)))
    assert len(frames) == 2 and np.array_equal(frames[1], expected)  # not the auto-reset's empty week
    longer = render_episode(env, lambda key, obs, info: jnp.array([0, 0, 1]), key=0, steps=2, caption=False)
    assert len(longer) == 5  # start, end, next start, end, next start: the episodes' boundaries are shown
    assert np.array_equal(longer[2], frames[0])


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # ffmpeg runs as a subprocess of this JAX process
def test_gif_round_trips_and_mp4_needs_the_extra(spread_frames, tmp_path, monkeypatch) -> None:
    import imageio.v3 as iio

    path = write_video(spread_frames, tmp_path / "episode.gif", fps=4)
    back = iio.imread(path, index=None)
    assert back.shape == (len(spread_frames), *spread_frames[0].shape)
    if importlib.util.find_spec("imageio_ffmpeg") is not None:
        mp4 = write_video(spread_frames, tmp_path / "episode.mp4", fps=4)
        import imageio

        with imageio.get_reader(mp4) as reader:
            assert sum(1 for _ in reader) == len(spread_frames)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "imageio_ffmpeg" else real(name))
    with pytest.raises(NotApplicableError, match=r'pip install "marlkit\[video\]"'):
        write_video(spread_frames, tmp_path / "no.mp4")
    assert not (tmp_path / "no.mp4").exists()
    with pytest.raises(InvalidGameError, match=r"\.gif or \.mp4"):
        write_video(spread_frames, tmp_path / "episode.avi")


def test_pettingzoo_bridge_renders_rgb_arrays() -> None:
    env = BarProblem(n_agents=3, num_nights=2, capacity=1.0)
    penv = to_pettingzoo(env, seed=0, render_mode="rgb_array")
    assert penv.metadata["render_modes"] == ["rgb_array"]
    penv.reset()
    first = penv.render()
    assert isinstance(first, np.ndarray) and first.dtype == np.uint8 and first.ndim == 3
    penv.step({"agent_0": 0, "agent_1": 0, "agent_2": 1})
    last = penv.render()  # the episode is over: the week it ended on, not the next one
    assert np.array_equal(last, env.render_env(BarState(np.array([2.0, 1.0], np.float32), np.int32(1))))
    assert to_pettingzoo(env).render() is None
    with pytest.raises(InvalidGameError, match="'human'"):
        to_pettingzoo(env, render_mode="human")


# ---------------------------------------------------------------------------------- envs without rendering
class Count(NamedTuple):
    value: jax.Array


@dataclass(frozen=True)
class Blind(Env):
    """A task that does not render."""

    spec: MultiAgentSpec = field(
        default=MultiAgentSpec("blind", 1, ("a",), (1,), (1,), (2,), 1, 3), repr=False, compare=False
    )

    def reset_env(self, key):
        return jnp.zeros((1, 1), jnp.float32), Count(jnp.int32(0))

    def step_env(self, key, state, actions):
        return jnp.zeros((1, 1), jnp.float32), Count(state.value + 1), jnp.zeros(1), jnp.bool_(False), {}

    def global_state(self, state):
        return jnp.zeros(1, jnp.float32)


def test_an_env_without_rendering_says_so() -> None:
    env = Blind()
    _, state = env.reset(jax.random.key(0))
    assert not env.can_render and not EpisodeStatistics(env).can_render
    with pytest.raises(NotApplicableError, match=r"blind: Blind has no rendering.*render_env"):
        env.render(state)
    with pytest.raises(NotApplicableError, match="has no rendering"):
        render_episode(EpisodeStatistics(env), None)
    with pytest.raises(NotApplicableError, match="has no rendering"):
        to_pettingzoo(env, render_mode="rgb_array")


def test_batched_states_render_one_env_by_index() -> None:
    env = EpisodeStatistics(make("simple_spread"))  # a wrapper renders its env's state
    _, states = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), 3))
    one = env.render(jax.tree.map(lambda x: x[2], states))
    assert np.array_equal(env.render(states, index=2), one)
    with pytest.raises(InvalidGameError, match="1 batch axes; pass index="):
        env.render(states)
    nested = AgentId(env)  # a wrapper without memory over one with memory: each finds its wrapped env's state
    assert np.array_equal(nested.render(states, index=2), one)
    with pytest.raises(InvalidGameError, match="out of range"):
        env.render(states, index=3)
