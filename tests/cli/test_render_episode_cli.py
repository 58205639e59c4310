"""`marlkit render-episode RUN_DIR --out episode.gif|mp4`, `marlkit check-env TARGET`, and a user's own env class
in a config (``env: {target: ..., params: ...}``) run, rendered and refused with one-line errors."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from marlkit.cli import main

WALK = textwrap.dedent(
    '''
    """A user's package: a walk on a ring (the env a config names by target), and an env with int observations."""
    from dataclasses import dataclass, field
    from typing import NamedTuple

    import jax
    import jax.numpy as jnp

    from marlkit.envs.base import Env, MultiAgentSpec
    from marlkit.envs.canvas import PALETTE, Canvas


    class Ring(NamedTuple):
        x: jax.Array  # [n] int32


    @dataclass(frozen=True)
    class Walk(Env):
        """Agents on a ring of `size` cells step back / stay / forward; each is paid 1 on cell 0."""

        n_agents: int = 2
        size: int = 5
        spec: MultiAgentSpec = field(init=False, repr=False, compare=False)

        def __post_init__(self):
            n = self.n_agents
            spec = MultiAgentSpec("walk", n, tuple(f"w{i}" for i in range(n)), (1,), (1,) * n, (3,) * n, n, 6)
            object.__setattr__(self, "spec", spec)

        def observe(self, x):
            return (x.astype(jnp.float32) / self.size)[:, None]

        def reset_env(self, key):
            x = jax.random.randint(key, (self.n_agents,), 0, self.size)
            return self.observe(x), Ring(x)

        def step_env(self, key, state, actions):
            x = (state.x + actions - 1) % self.size
            return self.observe(x), Ring(x), (x == 0).astype(jnp.float32), jnp.bool_(False), {}

        def global_state(self, state):
            return self.observe(state.x)[:, 0]

        def render_env(self, state):
            canvas = Canvas(10 * self.n_agents, 10 * self.size)
            for i, x in enumerate(state.x.tolist()):
                canvas.circle(10 * x + 5, 10 * i + 5, 4, PALETTE[i])
            return canvas.pixels


    @dataclass(frozen=True)
    class IntWalk(Walk):
        def observe(self, x):
            return x[:, None]


    class Plain:
        pass
    '''
)


@pytest.fixture(scope="module")
def user_package(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("user-package")
    (folder / "walkenvs.py").write_text(WALK, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        yield folder


def _read_gif(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    return iio.imread(path, index=None)


def test_render_episode_of_a_trained_run(small_spread_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "episode.gif"
    assert main(["render-episode", str(small_spread_run), "--out", str(out), "--seed", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # a 10-step episode of 2-agent simple spread: the reset frame and one per step, 700 x 700 plus the caption
    assert data["frames"] == 11 and data["size"] == [738, 700] and data["mode"] == "greedy"
    assert len(data["returns"]) == 2 and data["returns"][0] == data["returns"][1] < 0  # shared coverage reward
    frames = _read_gif(out)
    assert frames.shape == (11, 738, 700, 3)
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))  # the agents move
    # the same policy from a policy file (marlkit export) plays the same episode, frame for frame
    policy_file, again = tmp_path / "spread.mkp", tmp_path / "again.gif"
    assert main(["export", str(small_spread_run), "--seed", "0", "--out", str(policy_file)]) == 0
    capsys.readouterr()
    assert main(["render-episode", str(policy_file), "--out", str(again), "--seed", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["returns"] == data["returns"]
    assert np.array_equal(_read_gif(again), frames)


def test_render_episode_refuses_bad_input(small_spread_run: Path, tmp_path: Path, capsys) -> None:
    for args, message in [
        (["--out", str(tmp_path / "e.avi")], "e.avi: a video file must end in .gif or .mp4"),
        (["--out", str(tmp_path / "e.gif"), "--run-seed", "3"], "seed 3 does not exist; the run trained 3 seeds"),
        (["--out", str(tmp_path / "e.gif"), "--mode", "best"], "--mode 'best': expected one of greedy, stochastic"),
        (["--out", str(tmp_path / "e.gif"), "--steps", "0"], "--steps must be >= 1"),
    ]:
        assert main(["render-episode", str(small_spread_run), *args]) == 2
        assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_check_env_command(user_package: Path, capsys) -> None:
    # a passing env is checked in tests/envs/test_check_env.py; here the command's output and exit code
    assert main(["check-env", "walkenvs:IntWalk", "-p", "size=4", "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert not data["ok"] and data["env"] == "walk" and data["checked"] == ["type", "reset"]
    assert data["findings"][0] == {"rule": "reset", "message": "reset obs must be float32 [2, 1], got int32 [2, 1]"}
    assert main(["check-env", "walkenvs:IntWalk"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("walk: 2 problem(s) with the env contract") and "state_info global_state must be" in out
    assert main(["check-env", "walkenvs:Plain"]) == 2
    assert "is not an env class" in capsys.readouterr().err


def _config(root: Path, env: object) -> dict:
    return {
        "name": "walk",
        "env": env,
        "learners": {"name": "ippo", "params": {"rollout_length": 6, "hidden": [8], "update_epochs": 1}},
        "num_envs": 4,
        "steps": 48,
        "seeds": 1,
        "output": {"root": str(root)},
    }


def test_a_user_env_runs_and_renders_like_a_task(user_package: Path, tmp_path: Path, capsys) -> None:
    import yaml

    from marlkit.experiment.config import load_config

    config = load_config(_config(tmp_path, {"target": "walkenvs:Walk", "params": {"size": 7}}))
    assert config.env.target == "walkenvs:Walk" and dict(config.env.params) == {"n_agents": 2, "size": 7}
    path = tmp_path / "walk.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path / "runs", {"target": "walkenvs:Walk"})), encoding="utf-8")
    assert main(["run", str(path)]) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    saved = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    assert saved["env"] == {"target": "walkenvs:Walk", "params": {"n_agents": 2, "size": 5}}
    capsys.readouterr()
    out = tmp_path / "walk.gif"
    assert main(["render-episode", str(run_dir), "--out", str(out), "--no-caption", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["env"] == "walk" and data["frames"] == 7 and data["size"] == [20, 50]  # 6 steps, the env's picture
    assert _read_gif(out).shape == (7, 20, 50, 3)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"target": "walkenvs:Nope"}, "env.target 'walkenvs:Nope': module 'walkenvs' has no env class 'Nope'"),
        ({"target": "walkenvs:Plain"}, "env.target 'walkenvs:Plain' is not an env class"),
        ({"target": "walkenvs"}, "expected 'package.module:ClassName'"),
        ({"target": "walkenvs:IntWalk"}, "env.target 'walkenvs:IntWalk': walk does not follow the env contract"),
        ({"target": "walkenvs:Walk", "params": {"sise": 3}}, "unknown parameter 'sise' (did you mean 'size'?)"),
        ({"target": "walkenvs:Walk", "name": "lbf"}, "give exactly one of name"),
    ],
)
def test_bad_env_targets_are_one_line_errors(user_package: Path, tmp_path: Path, capsys, env, message) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path / "runs", env)), encoding="utf-8")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()
