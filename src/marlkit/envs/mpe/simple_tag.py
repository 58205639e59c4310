"""Predator-prey ("simple tag"; Lowe et al. 2017, Sec. 5 and Appendix) as a mixed cooperative-competitive
marlkit :class:`Env`.

Reference: mpe2's ``simple_tag_v3`` (``num_good = 1``, ``num_adversaries = 3``, ``num_obstacles = 2``,
``max_cycles = 25``, discrete actions); observations and rewards here equal its, step by step, from the same
state (``tests/envs/test_mpe.py``). Physics: :mod:`marlkit.envs.mpe.core`.

* **Agents**, in mpe2's order: ``n_adversaries`` adversaries (predators; names ``adversary_i``, radius 0.075,
  acceleration 3, top speed 1.0), then ``n_good`` good agents (prey; ``agent_i``, radius 0.05, acceleration 4,
  top speed 1.3). Everything collides, obstacles included (radius 0.2, static). Groups: ``adversaries`` and
  ``agents``. Reset: agents ``U(-1, 1)^2``, obstacles ``U(-0.9, 0.9)^2``, velocities 0.
* **Actions**: ``Discrete(5)`` per agent — no-op, move -x, +x, -y, +y; with ``continuous_actions=True`` (mpe2's
  flag) a ``Box(0, 1, (5,))`` of the same five intensities, force ``accel · (a[2] - a[1], a[4] - a[3])``.
* **Observation** of agent ``i``, in mpe2's order: own velocity (2), own position (2), each obstacle's position
  minus own (``2 n_obstacles``), each other agent's position minus own (``2(n - 1)``, agent order), each *other
  good agent's* velocity (agent order). An adversary sees ``n_good`` velocities, a good agent ``n_good - 1``, so a
  good agent's observation is 2 shorter: it is zero-padded at the end (``spec.obs_sizes`` holds the true sizes).
* **Reward** (at the positions after the step; a touch is a distance below the radii sum): each adversary gets
  ``+10`` for every touching (good agent, adversary) pair — the predators share it; good agent ``i`` gets ``-10``
  for every adversary touching it, minus the boundary penalty ``Σ_axes b(|p_i|)`` with ``b(x) = 0`` for
  ``x < 0.9``, ``10 (x - 0.9)`` for ``x < 1``, ``min(exp(2x - 2), 10)`` beyond.
* **Episodes** never terminate; they are truncated after ``max_episode_steps``.
* **global_state**: every agent's true (unpadded) observation, concatenated in agent order (mpe2's ``state()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import AgentGroup, Env, MultiAgentSpec
from marlkit.envs.mpe.core import (
    NUM_MOVES,
    Particles,
    ParticleWorld,
    draw_uniform,
    offsets,
    physics_step,
    require_count,
    require_flag,
    row_sums,
    touching,
    true_concat,
    unit_box,
    without_self,
)
from marlkit.envs.mpe.draw import draw_world

Array = jax.Array

ADVERSARY = {"size": 0.075, "accel": 3.0, "max_speed": 1.0}
GOOD = {"size": 0.05, "accel": 4.0, "max_speed": 1.3}
OBSTACLE_SIZE = 0.2
OBSTACLE_RANGE = 0.9  # obstacles start in U(-0.9, 0.9)^2
TAG_REWARD = 10.0
ADVERSARY_COLOUR = (0.85, 0.35, 0.35)  # mpe2 simple_tag reset_world
GOOD_COLOUR = (0.35, 0.85, 0.35)
OBSTACLE_COLOUR = (0.25, 0.25, 0.25)


def boundary_penalty(pos: Array) -> Array:
    """mpe2 simple_tag's penalty for leaving the screen, summed over both axes: ``[n, 2] -> [n]``."""
    x = jnp.abs(pos)
    outside = jnp.minimum(jnp.exp(2.0 * x - 2.0), 10.0)
    penalty = jnp.where(x < 0.9, 0.0, jnp.where(x < 1.0, (x - 0.9) * 10.0, outside))
    return penalty[..., 0] + penalty[..., 1]


@dataclass(frozen=True)
class SimpleTag(Env):
    """Predator-prey: ``n_adversaries`` predators chase ``n_good`` prey among obstacles (module docstring)."""

    n_good: int = 1
    n_adversaries: int = 3
    n_obstacles: int = 2
    max_episode_steps: int = 25
    continuous_actions: bool = False  # Box(0, 1, (5,)) movement intensities instead of Discrete(5)
    spec: MultiAgentSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = type(self).__name__
        require_count(name, "n_good", self.n_good, 1)
        require_count(name, "n_adversaries", self.n_adversaries, 1)
        require_count(name, "n_obstacles", self.n_obstacles, 0)
        require_count(name, "max_episode_steps", self.max_episode_steps, 1)
        require_flag(name, "continuous_actions", self.continuous_actions)
        object.__setattr__(self, "spec", self._make_spec())

    @property
    def n_agents(self) -> int:
        return self.n_adversaries + self.n_good

    @cached_property
    def world(self) -> ParticleWorld:
        roles = (ADVERSARY,) * self.n_adversaries + (GOOD,) * self.n_good
        return ParticleWorld(
            size=tuple(r["size"] for r in roles),
            accel=tuple(r["accel"] for r in roles),
            max_speed=tuple(r["max_speed"] for r in roles),
            collide=(True,) * self.n_agents,
            landmark_size=(OBSTACLE_SIZE,) * self.n_obstacles,
            landmark_collide=(True,) * self.n_obstacles,
        )

    def _make_spec(self) -> MultiAgentSpec:
        a, g = self.n_adversaries, self.n_good
        common = 4 + 2 * self.n_obstacles + 2 * (self.n_agents - 1)
        sizes = (common + 2 * g,) * a + (common + 2 * (g - 1),) * g
        low, high = unit_box((NUM_MOVES,) * self.n_agents, self.continuous_actions)
        return MultiAgentSpec(
            name="simple_tag",
            n_agents=self.n_agents,
            agent_names=tuple(f"adversary_{i}" for i in range(a)) + tuple(f"agent_{i}" for i in range(g)),
            obs_shape=(max(sizes),),
            obs_sizes=sizes,
            num_actions=(NUM_MOVES,) * self.n_agents,
            global_state_size=sum(sizes),
            max_episode_steps=self.max_episode_steps,
            groups=(AgentGroup("adversaries", tuple(range(a))), AgentGroup("agents", tuple(range(a, a + g)))),
            action_low=low,
            action_high=high,
            description={
                "source": "Lowe et al. 2017 (predator-prey); reference: mpe2 simple_tag_v3",
                "observation": "[vel, pos, obstacle - pos, other - pos (n-1), other good agents' vel] (+ zero pad)",
                "action": ("[no-op, -x, +x, -y, +y] in [0, 1]" if self.continuous_actions else "no-op, -x, +x, -y, +y"),
                "reward": "adversaries: +10 per (good, adversary) touch; good: -10 per touch - boundary penalty",
            },
        )

    # -- the task -----------------------------------------------------------------------------------------------
    def reset_env(self, key: Array) -> tuple[Array, Particles]:
        n = self.n_agents
        pos = draw_uniform(key, (n + self.n_obstacles, 2))
        particles = Particles(pos[:n], jnp.zeros((n, 2), jnp.float32), OBSTACLE_RANGE * pos[n:])
        return self._observe(particles, offsets(particles.pos, particles.pos)), particles

    def step_env(self, key: Array, state: Particles, actions: Array) -> tuple[Array, Particles, Array, Array, dict]:
        particles = physics_step(self.world, state, actions)
        to_agents = offsets(particles.pos, particles.pos)
        a = self.n_adversaries
        world = self.world
        # [good, adversary] touches: the contact pairs between the two teams
        caught = touching(to_agents[a:, :a], world.agent_radii[a:, :a], world.agent_contacts[a:, :a])
        caught = caught.astype(jnp.float32)
        caught_by = row_sums(caught)  # [good]: adversaries touching each good agent
        adversary_reward = jnp.broadcast_to(TAG_REWARD * jnp.sum(caught_by), (a,))
        good_reward = -TAG_REWARD * caught_by - boundary_penalty(particles.pos[a:])
        reward = jnp.concatenate([adversary_reward, good_reward])
        return self._observe(particles, to_agents), particles, reward, jnp.bool_(False), {}

    def global_state(self, state: Particles) -> Array:
        return true_concat(self._observe(state, offsets(state.pos, state.pos)), self.spec.obs_sizes)

    def render_env(self, state: Particles) -> np.ndarray:
        """mpe2's picture (:mod:`marlkit.envs.mpe.draw`): red adversaries, green prey, dark grey obstacles."""
        a, g, k = self.n_adversaries, self.n_good, self.n_obstacles
        world = self.world
        return draw_world(
            np.concatenate([state.pos, state.landmark_pos]),
            world.size + world.landmark_size,
            np.array([ADVERSARY_COLOUR] * a + [GOOD_COLOUR] * g + [OBSTACLE_COLOUR] * k),
        )

    # -- helpers ------------------------------------------------------------------------------------------------
    def _observe(self, particles: Particles, to_agents: Array) -> Array:
        n, a, g = self.n_agents, self.n_adversaries, self.n_good
        front = jnp.concatenate(
            [
                particles.vel,
                particles.pos,
                offsets(particles.pos, particles.landmark_pos).reshape(n, 2 * self.n_obstacles),
                without_self(to_agents).reshape(n, 2 * (n - 1)),
            ],
            axis=1,
        )
        good_vel = particles.vel[a:]
        adversary_sees = jnp.broadcast_to(good_vel.reshape(1, 2 * g), (a, 2 * g))
        good_sees = without_self(jnp.broadcast_to(good_vel[None], (g, g, 2))).reshape(g, 2 * (g - 1))
        good_sees = jnp.concatenate([good_sees, jnp.zeros((g, 2), jnp.float32)], axis=1)  # pad to adversary size
        return jnp.concatenate([front, jnp.concatenate([adversary_sees, good_sees], axis=0)], axis=1)


__all__ = ["SimpleTag", "boundary_penalty"]
