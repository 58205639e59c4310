"""Episodes as pictures: :func:`render_episode` plays an env with a policy and draws every state; :func:`write_video`
writes the frames as an animated GIF or an MP4 (issue 17, item 3).

**Frames.** ``frames[0]`` is the reset state; after each step the state it reached — at the step that ends an
episode, the state the episode *ended* on (:meth:`~marlkit.envs.base.MultiAgentEnv.final_state`), not the next
episode's start the contract's auto-reset has already moved to. When ``steps`` runs past the end of an episode the
next frame is the new episode's reset state. With ``caption=True`` every frame has two text lines below it: the step
within the episode (and ``done``), the joint action that led to it (action names where the env has them: exact
games) and the rewards of that step.

**The policy** is one function ``act(key, obs, info) -> actions [n]`` int: ``obs [n, ...]`` the observation,
``info`` holds ``action_mask [n, A_max]``, ``global_state [G]`` and ``done []`` (whether ``obs`` starts a new
episode; recurrent policies reset their memory there) — the fields of a deep learner's ``Observation``; ``act=None``
draws uniformly among legal actions. Everything runs on the host one step at a time (``env.reset``, ``env.step``
and the final-state step are jitted once each).

**Files** (:func:`write_video`): ``.gif`` through Pillow (always available; ``loop=0``: repeat forever), ``.mp4``
through imageio-ffmpeg (the ``video`` extra: ``pip install "marlkit[video]"``; H.264, frames padded with white to
even sizes). Written atomically (a temp file in the same folder, then renamed).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import MultiAgentEnv
from marlkit.envs.canvas import with_caption
from marlkit.errors import InvalidGameError, NotApplicableError

Act = Callable[[jax.Array, jax.Array, dict[str, jax.Array]], Any]
"""``act(key, obs, info) -> actions [n]`` (module docstring)."""

VIDEO_SUFFIXES = (".gif", ".mp4")
DEFAULT_STEPS_WITHOUT_LIMIT = 100
"""Steps of :func:`render_episode` when ``steps`` is not given and the env has no time limit."""


@partial(jax.jit, static_argnums=0)
def _reset(env: MultiAgentEnv, key: jax.Array) -> tuple[Any, Any, dict[str, jax.Array]]:
    obs, state = env.reset(key)
    return obs, state, env.state_info(state)


@partial(jax.jit, static_argnums=0)
def _step(env: MultiAgentEnv, key: jax.Array, state: Any, actions: jax.Array) -> tuple:
    """One step and the state it ended on before any auto-reset (compiled once per env: envs hash by value)."""
    return env.step(key, state, actions), env.final_state(key, state, actions)


def random_act(env: MultiAgentEnv) -> Act:
    """The uniformly random legal policy of ``env`` as an ``act`` function (Box actions: uniform in the box,
    in [-1, 1] along an unbounded dimension)."""
    from marlkit.envs.wrappers import random_legal_actions

    def act(key: jax.Array, obs: jax.Array, info: dict[str, jax.Array]) -> jax.Array:
        if env.spec.continuous:  # uniform in the box
            low, high = env.spec.action_bounds
            return jax.random.uniform(
                key,
                low.shape,
                minval=jnp.where(jnp.isfinite(low), low, -1.0),
                maxval=jnp.where(jnp.isfinite(high), high, 1.0),
            )
        return random_legal_actions(key, info["action_mask"])

    return act


def action_labels(env: MultiAgentEnv) -> tuple[tuple[str, ...], ...] | None:
    """Each agent's action names where the env has them (an exact game's), else ``None``."""
    game = getattr(env.unwrapped, "game", None)
    names = getattr(game, "action_names", None)
    return tuple(tuple(a) for a in names) if names else None


def _caption(
    env: MultiAgentEnv, t: int, done: bool, actions: np.ndarray | None, reward: np.ndarray | None
) -> list[str]:
    first = f"{env.spec.name}  step {t}" + ("  (episode over)" if done else "")
    if actions is None or reward is None:
        return [first, "start of an episode"]
    labels = action_labels(env)
    if env.spec.continuous:  # each agent's action vector, its real dimensions
        shown = "; ".join(
            "(" + ", ".join(f"{float(x):.2f}" for x in a[: len(low)]) + ")"
            for a, low in zip(actions, env.spec.action_low or (), strict=False)
        )
    elif labels is None:
        shown = ", ".join(str(int(a)) for a in actions)
    else:
        shown = ", ".join(labels[i][int(a)] for i, a in enumerate(actions))
    rewards = ", ".join(f"{float(r):.3g}" for r in reward)
    return [first, f"actions {shown}   rewards {rewards}"]


def render_episode(
    env: MultiAgentEnv,
    act: Act | None,
    key: int | jax.Array = 0,
    steps: int | None = None,
    *,
    caption: bool = True,
    rewards: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Play ``env`` with ``act`` for ``steps`` steps (default: until the first episode ends, at most the env's
    time limit, or :data:`DEFAULT_STEPS_WITHOUT_LIMIT` steps where it has none) and return ``steps + 1`` (more
    where ``steps`` crosses episode ends) frames ``uint8 [H, W, 3]`` (module docstring). The same ``key`` gives
    the same frames. ``rewards``, a list, receives each step's rewards ``[n]``.

    Raises:
        NotApplicableError: the env does not render.
        InvalidGameError: bad ``steps``, or ``act`` returned actions of the wrong shape.
    """
    from marlkit.envs.games import NO_TIME_LIMIT

    if not env.can_render:
        MultiAgentEnv.render(env.unwrapped, None)  # raises the task's NotApplicableError
    limit = env.spec.max_episode_steps
    until_done = steps is None
    if steps is None:
        steps = DEFAULT_STEPS_WITHOUT_LIMIT if limit >= NO_TIME_LIMIT else limit
    if not isinstance(steps, int | np.integer) or isinstance(steps, bool) or steps < 1:
        raise InvalidGameError(f"render_episode: steps must be an integer >= 1, got {steps!r}")
    act = random_act(env) if act is None else act
    key = jax.random.key(key) if isinstance(key, int | np.integer) else key
    k_reset, key = jax.random.split(key)
    obs, state, extra = _reset(env, k_reset)
    info = {"action_mask": extra["action_mask"], "global_state": extra["global_state"], "done": jnp.bool_(True)}
    n = env.spec.n_agents

    def frame(picture: np.ndarray, lines: list[str]) -> np.ndarray:
        return with_caption(picture, lines) if caption else picture

    frames = [frame(env.render(state), _caption(env, 0, False, None, None))]
    t = 0
    for _ in range(int(steps)):
        key, k_act, k_step = jax.random.split(key, 3)
        actions = jnp.asarray(act(k_act, obs, info))
        if env.spec.continuous:  # Box actions: [n, D_max] numbers, clipped to the box by the step
            if actions.shape != (n, env.spec.max_actions) or not jnp.issubdtype(actions.dtype, jnp.floating):
                raise InvalidGameError(
                    f"render_episode: act must return float actions [{n}, {env.spec.max_actions}], got "
                    f"{actions.dtype} {actions.shape}"
                )
        elif actions.shape != (n,) or not jnp.issubdtype(actions.dtype, jnp.integer):
            raise InvalidGameError(
                f"render_episode: act must return {n} integer actions, got {actions.dtype} {actions.shape}"
            )
        (obs, state, reward, done, step_info), ended = _step(env, k_step, state, actions)
        t += 1
        if rewards is not None:
            rewards.append(np.asarray(reward))
        lines = _caption(env, t, bool(done), np.asarray(actions), np.asarray(reward))
        if bool(done) and ended is not None:
            frames.append(frame(env.unwrapped.render(ended), lines))
        else:
            frames.append(frame(env.render(state), lines))
        info = {"action_mask": step_info["action_mask"], "global_state": step_info["global_state"], "done": done}
        if bool(done):
            if until_done:
                break
            t = 0
            if ended is not None:  # the next episode's first state, which the auto-reset moved to
                frames.append(frame(env.render(state), _caption(env, 0, False, None, None)))
    return frames


def _padded(frames: Sequence[np.ndarray], multiple: int) -> np.ndarray:
    """The frames as one ``[T, H, W, 3]`` array, padded with white to sizes divisible by ``multiple``."""
    shapes = {np.shape(f) for f in frames}
    if not frames or len(shapes) != 1:
        raise InvalidGameError(f"write_video: need one or more frames of one size, got sizes {sorted(shapes)}")
    stack = np.stack([np.asarray(f) for f in frames])
    if stack.dtype != np.uint8 or stack.ndim != 4 or stack.shape[3] != 3:
        raise InvalidGameError(f"write_video: frames must be uint8 [H, W, 3], got {stack.dtype} {stack.shape[1:]}")
    h, w = stack.shape[1:3]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        stack = np.pad(stack, ((0, 0), (0, ph), (0, pw), (0, 0)), constant_values=255)
    return stack


def video_format(path: str | os.PathLike[str]) -> str:
    """The suffix (``.gif`` or ``.mp4``) of a video path, checked before any work: another suffix, or ``.mp4``
    without imageio-ffmpeg, raises (:class:`InvalidGameError`, :class:`NotApplicableError`)."""
    import importlib.util

    name = Path(path).name
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise InvalidGameError(f"{name}: a video file must end in .gif or .mp4")
    if suffix == ".mp4" and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise NotApplicableError(
            f'{name}: MP4 needs imageio-ffmpeg; install it with pip install "marlkit[video]" (or write a .gif)'
        )
    return suffix


def write_video(frames: Sequence[np.ndarray], path: str | os.PathLike[str], fps: float = 10.0) -> Path:
    """Write ``frames`` (``uint8 [H, W, 3]``, one size) to ``path``: ``.gif`` or ``.mp4`` (module docstring), at
    ``fps`` frames per second. Returns the path.

    Raises:
        InvalidGameError: another suffix, no frames, frames of different sizes, a bad ``fps``.
        NotApplicableError: ``.mp4`` without imageio-ffmpeg (install ``marlkit[video]``).
    """
    import imageio.v3 as iio

    from marlkit.atomic import write_with

    path = Path(path)
    suffix = video_format(path)
    if not (isinstance(fps, int | float) and 0 < fps <= 1000):
        raise InvalidGameError(f"write_video: fps must be a number in (0, 1000], got {fps!r}")
    if suffix == ".gif":
        stack = _padded(frames, 1)
        data = iio.imwrite("<bytes>", stack, extension=".gif", duration=1000.0 / fps, loop=0)

        def write(handle: Any) -> None:
            handle.write(data)

        return write_with(path, write)
    stack = _padded(frames, 2)
    import secrets

    import imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp.mp4"
    try:
        with warnings.catch_warnings():  # ffmpeg is a subprocess; JAX warns about any fork in its process
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            writer: Any = imageio.get_writer(
                tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264", macro_block_size=1
            )
            with writer:
                for picture in stack:
                    writer.append_data(picture)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


__all__ = ["Act", "action_labels", "random_act", "render_episode", "video_format", "write_video"]
