"""A play session on the cooking task (Overcooked; :mod:`marlkit.envs.cooking`): the person is one chef, the
partner the other — the greedy human model or a trained policy of the task.

The same shape as :class:`marlkit.serve.play_session.PlaySession` (``play(action)``, ``view()``, ``frame_png()``),
over the task's JAX env: one round is one env step, compiled once per layout (``jax.jit(env.step)``); the frame is
the env's ``render(state)``. Partners:

* ``model``: ``greedy?beta_goal=1&beta_action=3`` — :class:`marlkit.envs.cooking.GreedyHuman`, overcooked-ai's
  GreedyHumanModel with Boltzmann choices (docs/human.md); its bars are its exact distribution
  (``GreedyHuman.probabilities``);
* ``policy``: a trained policy of the same layout (a ``.mkp`` file or a finished run inside the runs folder), its
  probabilities at the partner chef's observation (recurrent memory kept between steps).

Tabular learners need an exact game's states, which the task does not have: refused in one line.

**The log** is the play-log format (:mod:`marlkit.human.playlog`) with ``state`` 0 on every line: the task is no
exact game, so the header's ``game`` names the task (``"digest": null``; its parameters under ``"task"``). The
cooking task starts every episode from the layout's fixed start and its steps are deterministic, so the logged
joint actions replay the episode exactly (tests/serve/test_play_task.py replays one). ``marlkit human fit``, which
fits models of matrix games, refuses such a log in one line ("not a catalog game").
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError, PolicyFileError
from marlkit.serve.play_session import SOURCE, SessionError, new_log_path

TASK_PREFIX = "cooking-"
"""Play-page names of the cooking task's layouts: ``cooking-<layout>`` (the env's own name)."""
GREEDY = ("greedy", "greedy-human")
CHEF_COLOUR_NAMES = ("blue", "red")
"""The colours of chefs 0 and 1 in :func:`marlkit.envs.cooking.render.render_kitchen` (``CHEF_COLOURS``)."""
LEGEND = (
    "Black mark: where a chef faces (interact acts on that cell). Dark grey: pot (yellow bars: onions in it, orange "
    "bar: cooking time); yellow-brown: onions; lavender: dishes; green: serving counter; grey: counters. A square on "
    "a chef or counter: an onion (yellow), a dish (white) or a soup (orange). Three onions in a pot cook a soup in 20 "
    "steps; bring a dish, take the soup, serve it: 20 points for both chefs."
)


def task_names() -> tuple[str, ...]:
    """``cooking-<layout>`` for every layout of the cooking task."""
    from marlkit.envs.cooking.layouts import LAYOUTS

    return tuple(TASK_PREFIX + name for name in LAYOUTS)


def is_task(name: str) -> bool:
    return str(name).strip().lower().replace("_", "-") in {n.replace("_", "-") for n in task_names()}


@lru_cache(maxsize=8)
def programs(layout: str) -> tuple[Any, Any, Any, Any]:
    """The env of ``layout`` and its jitted ``reset(key)``, ``step(key, state, actions)`` and ``greedy(state, agent,
    beta_goal, beta_action) -> [6]`` (shared by every session of the layout)."""
    import jax

    from marlkit.envs import make
    from marlkit.envs.cooking.human import greedy_probabilities

    env: Any = make("cooking", layout=layout)  # a Cooking env
    greedy = jax.jit(lambda state, agent, bg, ba: greedy_probabilities(env, state, agent, bg, ba))
    return env, jax.jit(env.reset), jax.jit(env.step), greedy


class TaskSession:
    """One person playing a chef of the cooking task (module docstring)."""

    def __init__(
        self,
        game_name: str,
        seat: int,
        partner_kind: str,
        partner_spec: str,
        *,
        runs_dir: str | os.PathLike[str],
        log_dir: str | os.PathLike[str],
        seed: int | None = None,
        session_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import jax

        from marlkit.human.models import parse_spec
        from marlkit.human.playlog import FORMAT, VERSION, marlkit_version

        name = str(game_name).strip().lower().replace("-", "_")
        layout = name[len(TASK_PREFIX) :]
        if not is_task(game_name):
            raise InvalidGameError(f"game: {game_name!r} is not a cooking layout; pick one of {list(task_names())}")
        self.env, self._reset, self._step, self._greedy = programs(layout)
        spec = self.env.spec
        self.n = spec.n_agents
        if isinstance(seat, bool) or not isinstance(seat, int | np.integer) or not 0 <= int(seat) < self.n:
            raise InvalidGameError(f"seat: pick a chef of {spec.name}: 0 or 1; got {seat!r}")
        self.seat = int(seat)
        self.other = 1 - self.seat
        self.seats = (self.other,)
        self.name = spec.name
        self.layout = layout
        self.seed = secrets.randbits(31) if seed is None else int(seed)
        self.key = jax.random.key(self.seed)
        self.rng = np.random.default_rng(self.seed)
        text = str(partner_spec or "").strip()
        self.partner_kind = partner_kind
        if partner_kind == "learner":
            raise NotApplicableError(
                "partner: tabular learners need an exact game's states; on the cooking task pick the greedy human "
                "model (greedy?beta_goal=1&beta_action=3) or a trained policy of the task"
            )
        if partner_kind == "model":
            model, params = parse_spec(text or "greedy", f"human model spec {text!r}", "greedy?beta_goal=1")
            if model.strip().lower() not in GREEDY:
                raise InvalidGameError(
                    f"partner: on the cooking task the human model is the greedy human "
                    f"(greedy?beta_goal=1&beta_action=3), got {model!r}"
                )
            unknown = set(params) - {"beta_goal", "beta_action"}
            if unknown:
                raise InvalidGameError(
                    f"partner: the greedy human takes beta_goal and beta_action, not {sorted(unknown)}"
                )
            from marlkit.envs.cooking import GreedyHuman

            betas: dict[str, Any] = dict(params)
            human = GreedyHuman(self.env, **betas)  # checks β >= 0
            self.betas = (float(human.beta_goal), float(human.beta_action))
            self.label = f"greedy?beta_goal={self.betas[0]:g}&beta_action={self.betas[1]:g}"
            self.description = "overcooked-ai's greedy human: Boltzmann choice of a sub-goal, then of an action"
            self.policy = None
        elif partner_kind == "policy":
            from marlkit.experiment.policies import load_source
            from marlkit.serve.play_partners import PolicyPathError, inside

            path = inside(Path(runs_dir), text)
            if not path.exists():
                raise PolicyPathError(f"policy: {text!r}: no such run directory or policy file in the runs folder", 404)
            policy = load_source(path, seed=0 if path.is_dir() else None)[0]
            if policy.spec.name != spec.name:
                raise PolicyFileError(f"policy: {text!r} was trained on {policy.spec.name!r}, not on {spec.name!r}")
            policy.check_env(self.env)
            self.policy = policy
            self.memory = policy.initial_memory(1)
            self.label = f"{Path(text).name} ({policy.learner})"
            self.description = f"a trained {policy.learner} policy, sampled (its stochastic mode)"
        else:
            raise InvalidGameError(f"partner: expected one of ['learner', 'model', 'policy'], got {partner_kind!r}")
        self.obs, self.state = self._reset(self.next_key())
        self.first = True
        self.id = session_id or secrets.token_urlsafe(12)
        self.clock = clock
        self.started = self.touched = clock()
        self.lock = threading.Lock()
        self.episode = 0
        self.step = 0
        self.rounds = 0
        self.scores = np.zeros(self.n)
        self.episode_return = np.zeros(self.n)
        self.soups = 0
        self.returns: list[list[float]] = []
        self.last: dict[str, Any] | None = None
        self.probs = self.partner_probabilities()
        self.log_path = new_log_path(log_dir, self.name, self.started)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "marlkit": marlkit_version(),
            "game": {
                "name": self.name,
                "digest": None,
                "n_players": self.n,
                "num_actions": list(spec.num_actions),
                "num_states": 1,
                "player_names": list(spec.agent_names),
                "action_names": [list(self.action_names)] * self.n,
                "task": {
                    "name": "cooking",
                    "layout": layout,
                    "max_episode_steps": int(self.env.max_episode_steps),
                    "cook_time": int(self.env.cook_time),
                    "shaping": float(self.env.shaping),
                    "shaping_horizon": int(self.env.shaping_horizon),
                },
            },
            "source": f"{SOURCE}: person as chef {self.seat}, partner {partner_kind} {self.label}",
        }
        self.log_lines = [json.dumps(header, allow_nan=False)]
        self.write_log()

    @property
    def action_names(self) -> tuple[str, ...]:
        from marlkit.envs.cooking.layouts import ACTION_NAMES

        return tuple(ACTION_NAMES)

    def next_key(self) -> Any:
        import jax

        self.key, key = jax.random.split(self.key)
        return key

    def partner_probabilities(self) -> np.ndarray:
        """``[6]``: the partner chef's distribution over its next action in the current state."""
        import jax.numpy as jnp

        if self.policy is None:
            probs = self._greedy(self.state, self.other, jnp.float32(self.betas[0]), jnp.float32(self.betas[1]))
        else:
            info = self.env.state_info(self.state)
            observation = self.policy.observe(self.obs, info, first=self.first)
            out = self.policy(observation, self.next_key(), self.memory)
            self.pending_memory = out.memory
            probs = out.probs[0, self.other]
        p = np.asarray(probs, dtype=np.float64)
        return p / p.sum()

    def legal_actions(self) -> list[int]:
        return list(range(len(self.action_names)))

    def play(self, action: object) -> dict[str, Any]:
        """One env step with the person's ``action`` and the partner's, drawn from :meth:`partner_probabilities`."""
        import jax.numpy as jnp

        if isinstance(action, bool) or not isinstance(action, int | np.integer):
            raise SessionError(f"action: expected an action index (an integer), got {action!r}")
        a = int(action)
        if not 0 <= a < len(self.action_names):
            choices = ", ".join(f"{i} ({n})" for i, n in enumerate(self.action_names))
            raise SessionError(f"action {a} is not an action of a chef; actions: {choices}")
        from marlkit.serve.play_session import MAX_ROUNDS

        if self.rounds >= MAX_ROUNDS:
            raise SessionError(f"this session has reached {MAX_ROUNDS} rounds; start a new one from /play")
        from marlkit.human.playlog import check_record

        probs = self.probs
        joint = np.zeros(self.n, dtype=np.int64)
        joint[self.seat] = a
        joint[self.other] = int(self.rng.choice(len(probs), p=probs))
        if self.policy is not None:
            self.memory = self.pending_memory
        self.obs, self.state, reward, done, info = self._step(
            self.next_key(), self.state, jnp.asarray(joint, jnp.int32)
        )
        rewards = np.asarray(reward, dtype=np.float64)
        served = int(np.asarray(info["soups_served"]).sum())
        now = self.clock()
        row = {
            "episode": self.episode,
            "step": self.step,
            "state": 0,
            "actions": joint.tolist(),
            "rewards": rewards.tolist(),
            "human": [i == self.seat for i in range(self.n)],
            "time": now,
        }
        check_record(row, self.n, list(self.env.spec.num_actions), 1, where="record")
        self.log_lines.append(json.dumps(row, allow_nan=False))
        self.rounds += 1
        self.soups += served
        self.scores += rewards
        self.episode_return += rewards
        self.last = {
            "actions": joint.tolist(),
            "rewards": rewards.tolist(),
            "partner_probabilities": [probs.tolist()],
            "soups_served": served,
            "terminated": bool(np.asarray(info["terminated"])),
            "truncated": bool(np.asarray(info["truncated"])),
        }
        self.first = bool(np.asarray(done))
        if self.first:
            self.returns.append(self.episode_return.tolist())
            self.episode_return = np.zeros(self.n)
            self.episode += 1
            self.step = 0
        else:
            self.step += 1
        self.probs = self.partner_probabilities()
        self.touched = now
        self.write_log()
        return self.view()

    def write_log(self) -> None:
        from marlkit.atomic import write_text

        write_text(self.log_path, "\n".join(self.log_lines) + "\n")

    def view(self) -> dict[str, Any]:
        names = list(self.action_names)
        return {
            "id": self.id,
            "game": self.name,
            "kind": "task",
            "seat": self.seat,
            "player_names": list(self.env.spec.agent_names),
            "action_names": [names] * self.n,
            "partner": {"kind": self.partner_kind, "label": self.label, "description": self.description},
            "partner_seats": [self.other],
            "partner_policy": [{"seat": self.other, "probabilities": self.probs.tolist()}],
            "rounds": self.rounds,
            "scores": self.scores.tolist(),
            "mean_scores": (self.scores / max(self.rounds, 1)).tolist(),
            "episode": self.episode,
            "step": self.step,
            "episode_steps": int(self.env.max_episode_steps),
            "soups": self.soups,
            "legal_actions": self.legal_actions(),
            "expected_payoffs": None,
            "payoff_table": None,
            "disc": f"the {CHEF_COLOUR_NAMES[self.seat]} chef",
            "legend": LEGEND,
            "last": self.last,
            "log": self.log_path.name,
            "returns": self.returns[-20:],
            "episodes_finished": len(self.returns),
        }

    def frame_png(self, scale: int = 6) -> bytes:
        """The env's ``render(state)``, each pixel drawn ``scale`` x ``scale``, as PNG."""
        import io

        from PIL import Image

        picture = np.asarray(self.env.render(self.state))
        picture = picture.repeat(scale, axis=0).repeat(scale, axis=1)
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="PNG")
        return buffer.getvalue()


__all__ = ["CHEF_COLOUR_NAMES", "LEGEND", "TASK_PREFIX", "TaskSession", "is_task", "programs", "task_names"]
