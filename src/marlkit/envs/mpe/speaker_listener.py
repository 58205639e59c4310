"""Cooperative communication ("speaker-listener"; Lowe et al. 2017, Sec. 5 and Appendix) as a marlkit
:class:`Env`.

Reference: mpe2's ``simple_speaker_listener_v4`` (``max_cycles = 25``, discrete actions); observations and
rewards here equal its, step by step, from the same state (``tests/envs/test_mpe.py``). Physics:
:mod:`marlkit.envs.mpe.core`.

* **Agents**: ``speaker_0`` (agent 0; cannot move, speaks) and ``listener_0`` (agent 1; moves, silent: radius
  0.075, acceleration 5, no speed limit). Three landmarks (radius 0.04); nothing collides. Groups: ``speaker``
  and ``listener``. Reset: the goal landmark uniform over the three, listener and landmark positions
  ``U(-1, 1)^2``, velocity 0, no message yet (zeros). The speaker's position plays no part in the task and is
  not kept.
* **Actions**: the speaker has ``Discrete(3)`` — say message 0, 1 or 2 (the message is that one-hot vector,
  mpe2's ``dim_c = 3``); the listener has ``Discrete(5)`` — no-op, move -x, +x, -y, +y. The speaker's actions
  3 and 4 are masked (``info["action_mask"]``). With ``continuous_actions=True`` (mpe2's flag): the speaker has a
  ``Box(0, 1, (3,))`` and its message is that vector itself (mpe2 sets the communication state to the action), the
  listener a ``Box(0, 1, (5,))`` of movement intensities (force ``5 · (a[2] - a[1], a[4] - a[3])``).
* **Observation**: the speaker sees the goal landmark's colour (3: red ``(0.65, 0.15, 0.15)``, green, blue for
  landmarks 0, 1, 2), zero-padded to 11; the listener sees, in mpe2's order, its velocity (2), each landmark's
  position minus its own (6), and the speaker's message of this step (3).
* **Reward** (shared by both, after the step): minus the squared distance from the listener to the goal landmark.
* **Episodes** never terminate; they are truncated after ``max_episode_steps``.
* **global_state**: the speaker's 3 and the listener's 11 observation entries, concatenated (mpe2's ``state()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import AgentGroup, Env, MultiAgentSpec
from marlkit.envs.mpe.core import (
    DEFAULT_ACCEL,
    NUM_MOVES,
    Particles,
    ParticleWorld,
    draw_uniform,
    offsets,
    physics_step,
    require_count,
    require_flag,
    true_concat,
    unit_box,
)
from marlkit.envs.mpe.draw import draw_world, message_text

Array = jax.Array

N_LANDMARKS = 3
N_MESSAGES = 3
LANDMARK_COLOURS = np.array([[0.65, 0.15, 0.15], [0.15, 0.65, 0.15], [0.15, 0.15, 0.65]], np.float32)
LISTENER = ParticleWorld(
    size=(0.075,),
    accel=(DEFAULT_ACCEL,),
    max_speed=(np.inf,),
    collide=(False,),
    landmark_size=(0.04,) * N_LANDMARKS,
    landmark_collide=(False,) * N_LANDMARKS,
)
SPEAKER_OBS, LISTENER_OBS = 3, 2 + 2 * N_LANDMARKS + N_MESSAGES
GOAL_HIGHLIGHT = 0.45  # mpe2: the listener's colour is its goal landmark's colour + 0.45


class SpeakerListenerState(NamedTuple):
    """The listener's particle world, the goal landmark and the message the speaker said last."""

    particles: Particles  # one particle: the listener
    goal: Array  # [] int32 in 0..2
    message: Array  # [3] float32, one-hot (continuous: the speaker's vector; zeros before the first step)


@dataclass(frozen=True)
class SpeakerListener(Env):
    """The speaker knows the goal, the listener moves to it; only the message links them (module docstring)."""

    max_episode_steps: int = 25
    continuous_actions: bool = False  # Box message (3) and Box movement (5) instead of Discrete(3) / Discrete(5)
    spec: MultiAgentSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require_count(type(self).__name__, "max_episode_steps", self.max_episode_steps, 1)
        require_flag(type(self).__name__, "continuous_actions", self.continuous_actions)
        object.__setattr__(self, "spec", self._make_spec())

    def _make_spec(self) -> MultiAgentSpec:
        low, high = unit_box((N_MESSAGES, NUM_MOVES), self.continuous_actions)
        return MultiAgentSpec(
            name="speaker_listener",
            n_agents=2,
            agent_names=("speaker_0", "listener_0"),
            obs_shape=(LISTENER_OBS,),
            obs_sizes=(SPEAKER_OBS, LISTENER_OBS),
            num_actions=(N_MESSAGES, NUM_MOVES),
            global_state_size=SPEAKER_OBS + LISTENER_OBS,
            max_episode_steps=self.max_episode_steps,
            groups=(AgentGroup("speaker", (0,)), AgentGroup("listener", (1,))),
            action_low=low,
            action_high=high,
            description={
                "source": "Lowe et al. 2017 (cooperative communication); reference: mpe2 simple_speaker_listener_v4",
                "observation": "speaker: goal colour (3, padded); listener: [vel, landmark - pos (3), message (3)]",
                "action": (
                    "speaker: message vector in [0, 1]^3; listener: [no-op, -x, +x, -y, +y] in [0, 1]"
                    if self.continuous_actions
                    else "speaker: message 0..2; listener: no-op, -x, +x, -y, +y"
                ),
                "reward": "-|listener - goal landmark|^2, shared",
            },
        )

    # -- the task -----------------------------------------------------------------------------------------------
    def reset_env(self, key: Array) -> tuple[Array, SpeakerListenerState]:
        u = draw_uniform(key, (1 + 2 * (1 + N_LANDMARKS),), 0.0, 1.0)  # one PRNG call: goal, then positions
        goal = jnp.minimum(jnp.floor(u[0] * N_LANDMARKS), N_LANDMARKS - 1).astype(jnp.int32)
        pos = (2.0 * u[1:] - 1.0).reshape(1 + N_LANDMARKS, 2)
        state = SpeakerListenerState(
            Particles(pos[:1], jnp.zeros((1, 2), jnp.float32), pos[1:]), goal, jnp.zeros(N_MESSAGES, jnp.float32)
        )
        return self._observe(state), state

    def step_env(
        self, key: Array, state: SpeakerListenerState, actions: Array
    ) -> tuple[Array, SpeakerListenerState, Array, Array, dict]:
        if self.continuous_actions:  # mpe2: the communication state is the action vector (no noise)
            message = actions[0, :N_MESSAGES]
        else:
            message = (jnp.arange(N_MESSAGES) == actions[0]).astype(jnp.float32)
        particles = physics_step(LISTENER, state.particles, actions[1:])
        state = SpeakerListenerState(particles, state.goal, message)
        gap = particles.pos[0] - particles.landmark_pos[state.goal]
        reward = jnp.broadcast_to(-jnp.sum(gap * gap), (2,))
        return self._observe(state), state, reward, jnp.bool_(False), {}

    def global_state(self, state: SpeakerListenerState) -> Array:
        return true_concat(self._observe(state), self.spec.obs_sizes)

    def render_env(self, state: SpeakerListenerState) -> np.ndarray:
        """mpe2's picture (:mod:`marlkit.envs.mpe.draw`): the listener in its goal's colour lightened by 0.45, the
        red, green and blue landmarks, and the speaker's message as text. The speaker, whose position the task
        does not keep, is not drawn as a disc (mpe2 draws it at a random, meaningless spot)."""
        p = state.particles
        goal = int(state.goal)
        return draw_world(
            np.concatenate([p.pos, p.landmark_pos]),
            LISTENER.size + LISTENER.landmark_size,
            np.concatenate([LANDMARK_COLOURS[goal][None] + GOAL_HIGHLIGHT, LANDMARK_COLOURS]),
            messages=(message_text(self.spec.agent_names[0], np.asarray(state.message)),),
        )

    # -- helpers ------------------------------------------------------------------------------------------------
    @staticmethod
    def _observe(state: SpeakerListenerState) -> Array:
        p = state.particles
        colour = jnp.asarray(LANDMARK_COLOURS)[state.goal]
        speaker = jnp.concatenate([colour, jnp.zeros(LISTENER_OBS - SPEAKER_OBS, jnp.float32)])
        listener = jnp.concatenate([p.vel[0], offsets(p.pos, p.landmark_pos).reshape(-1), state.message])
        return jnp.stack([speaker, listener])


__all__ = ["SpeakerListener", "SpeakerListenerState"]
