"""The env contract checker (issue 17, item 7): a small user env passes; one broken variant per rule fails on that
rule, and only on it; user env classes load from ``package.module:ClassName`` targets with one-line errors.

The envs live in a module written to a temporary folder (``lineenvs``), so that targets can name them as a user's
package would.
"""

from __future__ import annotations

import textwrap

import pytest

from marlkit.envs import check_env
from marlkit.envs.check import RULES, check_shapes, load_env_class, load_env_target
from marlkit.errors import InvalidGameError, NotApplicableError

SOURCE = textwrap.dedent(
    '''
    """A user's envs: a line walk, and variants that break one rule of the env contract each."""
    from dataclasses import dataclass, field
    from typing import NamedTuple

    import jax
    import jax.numpy as jnp
    import numpy as np

    from marlkit.envs.base import Env, MultiAgentSpec, TimeState
    from marlkit.envs.canvas import PALETTE, Canvas


    class Pos(NamedTuple):
        x: jax.Array  # [n] int32


    @dataclass(frozen=True)
    class Line(Env):
        """n agents on a line of `size` cells move left / stay / right; reward: minus the distance to the middle;
        the episode terminates when every agent is in the middle."""

        n_agents: int = 2
        size: int = 41
        limit: int = 10
        spec: MultiAgentSpec = field(init=False, repr=False, compare=False)

        def __post_init__(self):
            n = self.n_agents
            spec = MultiAgentSpec(
                name="line", n_agents=n, agent_names=tuple(f"a{i}" for i in range(n)), obs_shape=(2,),
                obs_sizes=(1,) * n, num_actions=(3,) * n, global_state_size=n, max_episode_steps=self.limit,
                obs_low=0.0, obs_high=1.0,
            )
            object.__setattr__(self, "spec", spec)

        def observe(self, x):
            frac = (x.astype(jnp.float32) / (self.size - 1))[:, None]
            return jnp.concatenate([frac, jnp.zeros_like(frac)], axis=1)  # true size 1, zero-padded to 2

        def reset_env(self, key):
            x = jax.random.randint(key, (self.n_agents,), 0, self.size)
            return self.observe(x), Pos(x)

        def step_env(self, key, state, actions):
            x = jnp.clip(state.x + actions - 1, 0, self.size - 1)
            mid = (self.size - 1) // 2
            reward = -jnp.abs(x - mid).astype(jnp.float32)
            return self.observe(x), Pos(x), reward, jnp.all(x == mid), {}

        def global_state(self, state):
            return self.observe(state.x)[:, 0]

        def render_env(self, state):
            canvas = Canvas(12 * self.n_agents, 12 * self.size)
            for i, x in enumerate(state.x.tolist()):
                canvas.circle(12 * x + 6, 12 * i + 6, 5, PALETTE[i])
            return canvas.pixels


    class NotAnEnv:
        pass


    @dataclass(frozen=True)
    class IntObservations(Line):
        def observe(self, x):
            return jnp.stack([x, jnp.zeros_like(x)], axis=1)


    @dataclass(frozen=True)
    class DirtyPadding(Line):
        def observe(self, x):
            return jnp.ones((self.n_agents, 2), jnp.float32) * 0.5


    @dataclass(frozen=True)
    class MissingInfo(Line):
        def step(self, key, state, actions):
            obs, state, reward, done, info = super().step(key, state, actions)
            return obs, state, reward, done, {k: v for k, v in info.items() if k != "final_obs"}


    @dataclass(frozen=True)
    class DoneMismatch(Line):
        def step(self, key, state, actions):
            obs, state, reward, done, info = super().step(key, state, actions)
            return obs, state, reward, jnp.bool_(False), info


    @dataclass(frozen=True)
    class LateFaults(Line):
        """Three faults that only show after a few steps or outside the rollout (one env: a check compiles anew for
        every env class): the step counter never advances, so episodes are never truncated; illegal actions are
        not flagged; the picture is float64."""

        def step(self, key, state, actions):
            obs, state, reward, done, info = super().step(key, TimeState(state.inner, jnp.int32(0)), actions)
            return obs, state, reward, done, {**info, "illegal_action": jnp.zeros(self.n_agents, bool)}

        def render_env(self, state):
            return np.zeros((4, 4, 3))


    @dataclass(frozen=True)
    class GlobalRandom(Line):
        def step_env(self, key, state, actions):
            obs, state, reward, done, info = super().step_env(key, state, actions)
            noise = jax.pure_callback(
                lambda: np.float32(np.random.random()), jax.ShapeDtypeStruct((), jnp.float32), vmap_method="sequential"
            )
            return obs, state, reward + noise, done, info


    @dataclass(frozen=True)
    class PythonBranch(Line):
        def step_env(self, key, state, actions):
            if state.x[0] > 3:  # a Python `if` on a traced value: not jit-able
                actions = actions * 0
            return super().step_env(key, state, actions)


    @dataclass(frozen=True)
    class HostCallback(Line):
        def step_env(self, key, state, actions):
            obs, state, reward, done, info = super().step_env(key, state, actions)
            shape = jax.ShapeDtypeStruct(reward.shape, reward.dtype)
            half = jax.pure_callback(lambda r: np.asarray(r) / 2, shape, reward)  # no vmap_method: not vmap-able
            return obs, state, half, done, info


    class Unhashable(Line):
        __hash__ = None  # what a mutable (eq=True, not frozen) dataclass gets
    '''
)

BROKEN = {
    "Unhashable": {"type"},
    "IntObservations": {"reset"},
    "DirtyPadding": {"reset"},
    "MissingInfo": {"step"},
    "DoneMismatch": {"step"},
    "PythonBranch": {"step"},
    "LateFaults": {"episodes", "illegal actions", "render"},
    # a reward drawn from NumPy's global generator: not a function of the key, and so vmap(step) differs from step
    "GlobalRandom": {"determinism", "vmap"},
    "HostCallback": {"vmap"},
}
"""Each broken env and the rules it breaks."""


@pytest.fixture(scope="module")
def lineenvs(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("user-envs")
    (folder / "lineenvs.py").write_text(SOURCE, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        import lineenvs

        yield lineenvs


def test_a_user_env_follows_the_contract(lineenvs) -> None:
    result = check_env(lineenvs.Line(), key=0)
    assert result.ok and result.checked == RULES and result.steps == 22
    assert result.lines()[0] == "line: follows the env contract (8 rules, 22 steps)"
    assert result.to_json()["findings"] == []


@pytest.mark.parametrize("name", list(BROKEN))
def test_each_broken_env_fails_its_rules(lineenvs, name: str) -> None:
    # LateFaults: a long line (no agent reaches the middle within 12 steps), so only the missing time limit ends
    # no episode of 5 steps
    env = getattr(lineenvs, name)(size=401, limit=5) if name == "LateFaults" else getattr(lineenvs, name)(size=5)
    result = check_env(env, key=0, steps=12, strict=False)
    assert {f.rule for f in result.findings} == BROKEN[name], result.findings
    assert not result.ok and result.lines()[0].endswith("problem(s) with the env contract")
    if name == "Unhashable":  # strict mode raises with every finding on one line
        with pytest.raises(InvalidGameError, match=r"does not follow the env contract: \(1\) \[type\] .*frozen"):
            check_env(env)


def test_shape_check_without_running(lineenvs) -> None:
    assert check_shapes(lineenvs.Line()).ok
    found = check_shapes(lineenvs.IntObservations())
    assert {f.rule for f in found.findings} == {"reset", "step"}
    assert "reset obs must be float32 [2, 2], got int32 [2, 2]" in found.findings[0].message
    assert "info lacks the contract's keys ['final_obs']" in check_shapes(lineenvs.MissingInfo()).message()


def test_targets_load_user_classes_with_one_line_errors(lineenvs) -> None:
    env = load_env_target("lineenvs:Line", {"size": 9})
    assert env == lineenvs.Line(size=9)
    assert load_env_class("lineenvs:Line") is lineenvs.Line
    cases = [
        ("lineenvs.Line", InvalidGameError, "expected 'package.module:ClassName'"),
        ("lineenvs:Nope", NotApplicableError, "module 'lineenvs' has no env class 'Nope'"),
        ("no_such_package.envs:Line", NotApplicableError, "cannot be imported"),
        ("lineenvs:NotAnEnv", InvalidGameError, "is not an env class: NotAnEnv must subclass marlkit.envs.base.Env"),
    ]
    for target, error, message in cases:
        with pytest.raises(error, match=message):
            load_env_target(target)
    with pytest.raises(InvalidGameError, match=r"unknown parameter 'sise' \(did you mean 'size'\?\)"):
        load_env_target("lineenvs:Line", {"sise": 3})
