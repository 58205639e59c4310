"""Cooperative navigation ("simple spread"; Lowe et al. 2017, Sec. 5 and Appendix) as a marlkit :class:`Env`.

Reference: mpe2's ``simple_spread_v3`` (``N`` agents and ``N`` landmarks, ``local_ratio = 0.5``,
``max_cycles = 25``, discrete actions); observations and rewards here equal its, step by step, from the same
state (``tests/envs/test_mpe.py``). Physics: :mod:`marlkit.envs.mpe.core`.

* **World**: ``n_agents`` agents (radius 0.15, acceleration 5, no speed limit, colliding with each other) and
  ``n_landmarks`` landmarks (radius 0.05, no collisions). Reset: every position ``U(-1, 1)^2``, velocities 0
  (``spawn_range=r``: ``U(-r, r)^2``, a task shifted from mpe2's, for evaluation in unforeseen circumstances).
* **Actions**: ``Discrete(5)`` per agent — no-op, move -x, +x, -y, +y. With ``continuous_actions=True`` (mpe2's
  flag of the same name) a ``Box(0, 1, (5,))`` per agent: the same five entries as intensities, force
  ``5 · (a[2] - a[1], a[4] - a[3])`` (:mod:`marlkit.envs.mpe.core`); out-of-box entries are clipped.
* **Observation** of agent ``i`` (size ``4 + 2L + 4(n - 1)``), in mpe2's order: own velocity (2), own position
  (2), each landmark's position minus own (``2L``, landmark order), each other agent's position minus own
  (``2(n - 1)``, agent order), the other agents' communication (``2(n - 1)`` zeros: the agents are silent, and
  mpe2 keeps their 2-dimensional channel in the observation).
* **Reward** (at the positions after the step): ``r_i = (1 - local_ratio) G + local_ratio C_i`` with the shared
  coverage ``G = -Σ_l min_j |p_j - q_l|`` and the local collision term ``C_i = -#{j ≠ i : |p_i - p_j| < 0.3}``.
* **Episodes** never terminate; they are truncated after ``max_episode_steps``.
* **global_state**: every agent's observation, concatenated in agent order (``n · obs_size``; mpe2's
  ``state()``, MAPPO's "concatenation of local observations").

**Constrained variant** (``constrained=True``; registry name ``constrained_spread``): ``info["cost"] [n, 1]`` is
agent ``i``'s collision count ``#{j ≠ i : |p_i - p_j| < 0.3}`` and ``spec.num_constraints = 1``. As in the
constrained-MARL formulation (Gu et al. 2023, "Safe multi-agent reinforcement learning for multi-robot control",
MACPO), the cost is kept apart from the reward: the reward drops the collision term, ``r_i = (1 - local_ratio)
G``, so ``reward(unconstrained) = reward(constrained) - local_ratio · cost``. Its limit (``limits [n, 1]``) is
``cost_limit`` collisions per agent and undiscounted episode, by default :data:`DEFAULT_COST_LIMIT` = 1.5 per 25 steps
(scaled with ``max_episode_steps``). How 1.5 was chosen (3 agents, 25 steps): random play collides ~1.1 times per
agent and episode, and MAPPO trained on the reward alone (100k steps, ``tests/agents/deep/test_ppo_lagrangian.py``)
climbs to 3.0-3.9 as it learns to cover the landmarks; 1.5 is feasible (random play meets it) and binds (the
unconstrained learner violates it twice over).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import Env, MultiAgentSpec
from marlkit.envs.mpe.core import (
    DEFAULT_ACCEL,
    NUM_MOVES,
    Particles,
    ParticleWorld,
    column_minima,
    draw_uniform,
    lengths,
    offsets,
    physics_step,
    require_count,
    require_flag,
    row_sums,
    touching,
    unit_box,
    without_self,
)
from marlkit.envs.mpe.draw import draw_world
from marlkit.errors import InvalidGameError

Array = jax.Array

AGENT_SIZE = 0.15
LANDMARK_SIZE = 0.05
AGENT_COLOUR = (0.35, 0.35, 0.85)  # mpe2 simple_spread reset_world
LANDMARK_COLOUR = (0.25, 0.25, 0.25)
DEFAULT_COST_LIMIT = 1.5
"""The constrained task's default limit on each agent's undiscounted collision count per 25-step episode (scaled
with ``max_episode_steps``); see the module docstring for how it was chosen."""


@dataclass(frozen=True)
class SimpleSpread(Env):
    """Cooperative navigation: ``n_agents`` agents cover ``n_landmarks`` landmarks (module docstring)."""

    n_agents: int = 3
    n_landmarks: int | None = None  # None: as many landmarks as agents (mpe2's N)
    local_ratio: float = 0.5
    max_episode_steps: int = 25
    constrained: bool = False
    cost_limit: float | None = None  # constrained only: the limit on each agent's episode collisions (None: default)
    continuous_actions: bool = False  # Box(0, 1, (5,)) movement intensities instead of Discrete(5)
    spawn_range: float = 1.0  # reset positions U(-r, r)^2 (mpe2: r = 1); another r is a shifted task
    spec: MultiAgentSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = type(self).__name__
        require_count(name, "n_agents", self.n_agents, 1)
        landmarks = self.n_agents if self.n_landmarks is None else self.n_landmarks
        object.__setattr__(self, "n_landmarks", require_count(name, "n_landmarks", landmarks, 1))
        require_count(name, "max_episode_steps", self.max_episode_steps, 1)
        if not 0.0 <= float(self.local_ratio) <= 1.0:
            raise InvalidGameError(f"{name}: local_ratio is a weight in [0, 1], got {self.local_ratio}")
        if not isinstance(self.constrained, bool | np.bool_):
            raise InvalidGameError(f"{name}: constrained must be True or False, got {self.constrained!r}")
        require_flag(name, "continuous_actions", self.continuous_actions)
        r = self.spawn_range
        if isinstance(r, bool) or not (isinstance(r, int | float) and np.isfinite(r) and r > 0):
            raise InvalidGameError(f"{name}: spawn_range must be a finite number > 0, got {r!r}")
        if self.cost_limit is not None:
            if not self.constrained:
                raise InvalidGameError(f"{name}: cost_limit needs constrained=True (the 'constrained_spread' task)")
            if not (isinstance(self.cost_limit, int | float) and np.isfinite(self.cost_limit) and self.cost_limit >= 0):
                raise InvalidGameError(f"{name}: cost_limit must be a finite number >= 0, got {self.cost_limit!r}")
        object.__setattr__(self, "spec", self._make_spec())

    @property
    def num_landmarks(self) -> int:
        """The landmark count: ``n_landmarks``, or ``n_agents`` where it was left ``None``."""
        return self.n_agents if self.n_landmarks is None else self.n_landmarks

    @property
    def limits(self) -> np.ndarray | None:
        """The constraint limits ``[n, 1]`` (constrained only): ``cost_limit``, or :data:`DEFAULT_COST_LIMIT`
        per ``max_episode_steps = 25`` steps, scaled to the episode length."""
        if not self.constrained:
            return None
        limit = DEFAULT_COST_LIMIT * self.max_episode_steps / 25 if self.cost_limit is None else self.cost_limit
        return np.full((self.n_agents, 1), float(limit))

    @cached_property
    def world(self) -> ParticleWorld:
        n, lm = self.n_agents, self.num_landmarks
        return ParticleWorld(
            size=(AGENT_SIZE,) * n,
            accel=(DEFAULT_ACCEL,) * n,
            max_speed=(np.inf,) * n,
            collide=(True,) * n,
            landmark_size=(LANDMARK_SIZE,) * lm,
            landmark_collide=(False,) * lm,
        )

    def _make_spec(self) -> MultiAgentSpec:
        n = self.n_agents
        size = 4 + 2 * self.num_landmarks + 4 * (n - 1)
        low, high = unit_box((NUM_MOVES,) * n, self.continuous_actions)
        return MultiAgentSpec(
            name="constrained_spread" if self.constrained else "simple_spread",
            n_agents=n,
            agent_names=tuple(f"agent_{i}" for i in range(n)),
            obs_shape=(size,),
            obs_sizes=(size,) * n,
            num_actions=(NUM_MOVES,) * n,
            global_state_size=n * size,
            max_episode_steps=self.max_episode_steps,
            num_constraints=1 if self.constrained else 0,
            action_low=low,
            action_high=high,
            description={
                "source": "Lowe et al. 2017 (cooperative navigation); reference: mpe2 simple_spread_v3",
                "observation": "[vel, pos, landmark - pos (L), other - pos (n-1), zeros (2(n-1), silent comm)]",
                "action": ("[no-op, -x, +x, -y, +y] in [0, 1]" if self.continuous_actions else "no-op, -x, +x, -y, +y"),
                "reward": "(1 - local_ratio) * coverage + local_ratio * (-collisions)",
                "cost": "collisions per agent" if self.constrained else None,
            },
        )

    # -- the task -----------------------------------------------------------------------------------------------
    def reset_env(self, key: Array) -> tuple[Array, Particles]:
        n = self.n_agents
        r = float(self.spawn_range)
        pos = draw_uniform(key, (n + self.num_landmarks, 2), -r, r)
        particles = Particles(pos[:n], jnp.zeros((n, 2), jnp.float32), pos[n:])
        return self._observe(particles, *self._offsets(particles)), particles

    def step_env(self, key: Array, state: Particles, actions: Array) -> tuple[Array, Particles, Array, Array, dict]:
        particles = physics_step(self.world, state, actions)
        to_landmarks, others = self._offsets(particles)
        coverage = -jnp.sum(column_minima(lengths(to_landmarks)))
        world = self.world
        touch = touching(others, without_self(world.agent_radii), without_self(world.agent_contacts))
        collisions = row_sums(touch.astype(jnp.float32))
        shared = (1.0 - self.local_ratio) * coverage
        if self.constrained:
            reward, info = jnp.broadcast_to(shared, (self.n_agents,)), {"cost": collisions[:, None]}
        else:
            reward, info = shared - self.local_ratio * collisions, {}
        return self._observe(particles, to_landmarks, others), particles, reward, jnp.bool_(False), info

    def global_state(self, state: Particles) -> Array:
        return self._observe(state, *self._offsets(state)).reshape(-1)

    def render_env(self, state: Particles) -> np.ndarray:
        """mpe2's picture (:mod:`marlkit.envs.mpe.draw`): blue agents, dark grey landmarks."""
        n, lm = self.n_agents, self.num_landmarks
        return draw_world(
            np.concatenate([state.pos, state.landmark_pos]),
            (AGENT_SIZE,) * n + (LANDMARK_SIZE,) * lm,
            np.array([AGENT_COLOUR] * n + [LANDMARK_COLOUR] * lm),
        )

    # -- helpers ------------------------------------------------------------------------------------------------
    @staticmethod
    def _offsets(particles: Particles) -> tuple[Array, Array]:
        """Each landmark ``[n, L, 2]`` and each other agent ``[n, n - 1, 2]`` relative to each agent."""
        return offsets(particles.pos, particles.landmark_pos), without_self(offsets(particles.pos, particles.pos))

    def _observe(self, particles: Particles, to_landmarks: Array, others: Array) -> Array:
        n = self.n_agents
        return jnp.concatenate(
            [
                particles.vel,
                particles.pos,
                to_landmarks.reshape(n, 2 * self.num_landmarks),
                others.reshape(n, 2 * (n - 1)),
                jnp.zeros((n, 2 * (n - 1)), jnp.float32),
            ],
            axis=1,
        )


__all__ = ["SimpleSpread"]
