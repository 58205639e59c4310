"""``marlkit render-episode RUN_DIR|POLICY --out episode.gif|mp4``: watch a trained policy play one episode.

The policy of a run directory (one of its seeds: ``--run-seed``, an index into the run's seeds) or of a policy file
(``marlkit export``; docs/policies.md) plays its env from the episode
seed ``--seed`` (independent of training) for ``--steps`` steps (default: one episode), and every state is drawn
(:func:`marlkit.envs.render_episode`: the env's own picture, with the step, the joint action and the rewards below
it) into an animated GIF or an MP4 (``--out``; MP4 needs ``pip install "marlkit[video]"``).

* a deep run (a task, or a game played by deep learners): ``--mode stochastic`` samples the learners' policy
  (``learner.act``, what it trained with), ``greedy`` takes each agent's most probable legal action;
* a tabular run on an exact game: the last recorded policy table of that seed (``history.policy``), sampled or its
  most probable action.

The command is named ``render-episode`` because ``marlkit.cli.render`` is the module of table rendering.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from marlkit.cli.context import console, print_json
from marlkit.errors import InvalidGameError

MODES = ("greedy", "stochastic")


@dataclass(frozen=True)
class RenderedEpisode:
    """What ``render-episode`` wrote: the file, its frame count and size, and how the episode was played."""

    out: str
    env: str
    frames: int
    height: int
    width: int
    fps: float
    seed: int
    run_seed: int
    mode: str
    returns: list[float]

    def to_json(self) -> dict[str, object]:
        return {
            "out": self.out,
            "env": self.env,
            "frames": self.frames,
            "size": [self.height, self.width],
            "fps": self.fps,
            "seed": self.seed,
            "run_seed": self.run_seed,
            "mode": self.mode,
            "returns": self.returns,
        }

    def lines(self) -> list[str]:
        shown = ", ".join(f"{r:.3f}" for r in self.returns)
        return [
            f"{self.env}: {self.frames} frames of {self.width}x{self.height} at {self.fps:g} fps "
            f"({self.mode}, run seed {self.run_seed}, episode seed {self.seed})",
            f"returns per agent: {shown}",
            f"wrote {self.out}",
        ]


def run_policy(source: Path, run_seed: int, mode: str) -> tuple[Any, Any]:
    """``(env, act)``: the policy of a finished run directory (its seed index ``run_seed``) or of a policy file
    (:func:`marlkit.experiment.policies.load_source`), its env, and the policy as an ``act(key, obs, info) ->
    actions`` function (:func:`marlkit.envs.render_episode`) in ``mode`` (module docstring)."""
    from marlkit.experiment.policies import load_source

    if source.is_dir():
        (policy,) = load_source(source, seed=run_seed, mode=mode)
    else:
        if run_seed != 0:
            raise InvalidGameError("--run-seed picks a seed of a run directory; a policy file holds one policy")
        (policy,) = load_source(source, mode=mode)
    return policy.make_env(), policy.act_function()


def render_episode_command(
    run_dir: Annotated[
        str, typer.Argument(help="A finished run directory (`marlkit run`) or a policy file (`marlkit export`).")
    ],
    out: Annotated[str, typer.Option("--out", "-o", help="The video file: .gif (always) or .mp4 (the video extra).")],
    seed: Annotated[int, typer.Option("--seed", help="Episode seed (independent of training).")] = 0,
    steps: Annotated[
        int | None, typer.Option("--steps", help="Steps to play (default: one episode); crosses episode ends.")
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="greedy | stochastic (how the policy picks actions).")] = "greedy",
    run_seed: Annotated[int, typer.Option("--run-seed", help="Which of the run's seeds plays (0-based index).")] = 0,
    fps: Annotated[float, typer.Option("--fps", help="Frames per second of the video.")] = 5.0,
    caption: Annotated[
        bool, typer.Option("--caption/--no-caption", help="Write the step, actions and rewards under each frame.")
    ] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Render one episode of a trained run's (or a policy file's) policy to an animated GIF or an MP4."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.envs.render import render_episode, video_format, write_video

    if mode not in MODES:
        raise InvalidGameError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    if steps is not None and steps < 1:
        raise InvalidGameError(f"--steps must be >= 1, got {steps}")
    if not 0 < fps <= 1000:
        raise InvalidGameError(f"--fps must be a number in (0, 1000], got {fps:g}")
    if run_seed < 0:
        raise InvalidGameError(f"--run-seed must be >= 0, got {run_seed}")
    video_format(out)  # a bad suffix, or MP4 without ffmpeg: refused before any work
    env, act = run_policy(Path(run_dir), run_seed, mode)
    rewards: list[Any] = []
    frames = render_episode(env, act, seed, steps, caption=caption, rewards=rewards)
    path = write_video(frames, out, fps)
    import numpy as np

    returns = np.sum(np.asarray(rewards, np.float64), axis=0) if rewards else np.zeros(env.spec.n_agents)
    result = RenderedEpisode(
        str(path),
        env.spec.name,
        len(frames),
        int(frames[0].shape[0]),
        int(frames[0].shape[1]),
        float(fps),
        seed,
        run_seed,
        mode,
        [float(r) for r in returns],
    )
    if json_output:
        print_json(result.to_json())
        return
    out_console = console()
    for line in result.lines():
        out_console.print(line, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("render-episode")(render_episode_command)


__all__ = ["RenderedEpisode", "register", "render_episode_command", "run_policy"]
