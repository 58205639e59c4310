"""The partners a person plays with on the play page: a trained policy, a human model, or a tabular learner that
keeps learning from the person's play.

A partner holds every seat the person does not (``seats``, in player order) and offers one shape:

* ``probabilities(state) -> [k, A_max]``: the distribution each of its seats draws its next action from in
  ``state`` (zero on illegal actions);
* ``observe(state, actions [n], rewards [n], next_state, terminated, truncated)``: the joint step that followed
  (a learner updates on it; fixed partners ignore it);
* ``label``, ``kind`` and ``to_json()``.

Partners (:func:`make_partner`):

* ``policy``: a trained policy (a ``.mkp`` file or a finished run directory inside the runs folder — its first
  training seed, or seed index ``k`` with ``RUN_DIR#k`` — through :func:`marlkit.experiment.policies.load_source`,
  which refuses a seed index out of range in one line); it must have been trained on the very game played (same tables,
  :func:`marlkit.offline.dataset.game_digest`). Its probabilities are the policy's at the one-hot observation of the
  state (:class:`marlkit.envs.games.GameEnv`'s observation), in its stochastic mode.
* ``model``: a human model spec (:func:`marlkit.human.models.parse_model`, e.g. ``boltzmann?beta=2``), normal-form
  games only; each seat plays ``model.policy(game, seat)`` (the model's own assumption about the others, e.g. uniform
  partners for Boltzmann), a fixed distribution.
* ``learner``: a registered tabular learner (:data:`marlkit.agents.tabular.registry.LEARNERS`, spec
  ``NAME?hyper=value``, e.g. ``fp``, ``hedge``, ``iql-eps?step_size=0.2``), one group over the partner's seats,
  through the learner contract's pure ``init / policy / update`` (each jitted once; one update per round). It sees
  what the tabular training loop (:mod:`marlkit.train.loop`) gives it: the state index as observation, the joint
  action and rewards; a learner that reads every agent's policy (``needs_policies``) is given the person's
  empirical action frequencies per state (uniform before the first visit) as the person's policy. Actions are drawn
  from ``policy`` (the distribution ``act`` samples from, by the contract) with the session's NumPy generator.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from marlkit.errors import InvalidGameError, MarlkitError, NotApplicableError, PolicyFileError
from marlkit.games import NormalFormGame, StochasticGame, as_stochastic

Game = NormalFormGame | StochasticGame

PARTNER_KINDS = ("learner", "model", "policy")
"""The kinds of partner (module docstring)."""


class Partner(Protocol):
    """What the session asks of a partner (module docstring)."""

    label: str
    kind: str
    seats: tuple[int, ...]

    def probabilities(self, state: int) -> np.ndarray: ...

    def observe(
        self,
        state: int,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_state: int,
        terminated: bool,
        truncated: bool,
    ) -> None: ...

    def to_json(self) -> dict[str, Any]: ...


def padded(rows: Sequence[np.ndarray], width: int) -> np.ndarray:
    """``[k, width]``: each distribution right-padded with zeros."""
    out = np.zeros((len(rows), width))
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


class ModelPartner:
    """A human model in every partner seat: fixed distributions ``model.policy(game, seat)``."""

    kind = "model"

    def __init__(self, spec: str, game: Game, seats: tuple[int, ...]) -> None:
        from marlkit.human.models import model_spec, parse_model

        if not isinstance(game, NormalFormGame):
            raise NotApplicableError(
                "partner: human models play normal-form (matrix) games; pick a matrix game or another partner"
            )
        self.model = parse_model(spec)
        self.seats = seats
        self.label = model_spec(self.model)
        self.table = padded([self.model.policy(game, j) for j in seats], max(game.num_actions))

    def probabilities(self, state: int) -> np.ndarray:
        return self.table

    def observe(self, *args: Any) -> None:
        """A fixed model does not learn."""

    def to_json(self) -> dict[str, Any]:
        from marlkit.human.models import HUMAN_MODELS

        description = HUMAN_MODELS.get(self.model.name).description
        return {"kind": self.kind, "label": self.label, "description": description, "model": self.model.to_json()}


class PolicyPathError(PolicyFileError):
    """A policy path the web app cannot open: ``status`` 403 (it leaves the runs folder, e.g. by a link) or 404
    (absolute, ``..``, malformed, or nothing there)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def inside(runs_dir: Path, source: str) -> Path:
    """``source``, a path relative to the runs folder, resolved by the app's path guard
    (:func:`marlkit.serve.security.inside`), whether or not it exists.

    Raises:
        PolicyPathError: an absolute path, a ``..`` part, or a path that leaves the runs folder (links followed).
        PolicyFileError: an empty path.
    """
    from marlkit.serve.security import PathRefusedError
    from marlkit.serve.security import inside as guarded

    text = str(source).strip()
    if not text:
        raise PolicyFileError("policy: give a policy file (.mkp) or a run directory inside the runs folder")
    try:
        return guarded(Path(runs_dir).resolve(), text, must_exist=False)
    except PathRefusedError as error:
        raise PolicyPathError(
            f"policy: {text!r} is outside the runs folder; pick a policy file or run inside it (a relative path)",
            error.status,
        ) from None


class PolicyPartner:
    """A trained policy of the game played, acting in the partner seats (module docstring)."""

    kind = "policy"

    def __init__(self, source: str, game: Game, seats: tuple[int, ...], runs_dir: Path, seed: int = 0) -> None:
        import jax
        import jax.numpy as jnp

        from marlkit.envs.games import GameEnv
        from marlkit.experiment.policies import load_source
        from marlkit.offline.dataset import game_digest

        text, _, index = str(source).strip().partition("#")
        if index and not index.isdigit():
            raise PolicyFileError(f"policy: {source!r}: after '#' give a training seed index, e.g. my-run/#1")
        path = inside(runs_dir, text)
        if not path.exists():
            raise PolicyPathError(f"policy: {source!r}: no such run directory or policy file in the runs folder", 404)
        if index and not path.is_dir():
            raise PolicyFileError(f"policy: {source!r}: '#k' picks a seed of a run directory; a policy file has one")
        try:
            policies = load_source(path, seed=int(index or 0) if path.is_dir() else None)
        except MarlkitError:
            raise
        except (OSError, ValueError, KeyError) as exc:  # a corrupt run directory is the user's problem, said so
            raise PolicyFileError(f"policy: {source!r} cannot be loaded ({type(exc).__name__}: {exc})") from None
        policy = policies[0]
        env = policy.make_env()
        if not isinstance(env, GameEnv) or game_digest(env.game) != game_digest(game):
            raise PolicyFileError(
                f"policy: {source!r} was trained on {env.spec.name!r}, not on {as_stochastic(game).name!r}; pick a "
                "policy of the game played"
            )
        self.policy = policy
        self.seats = seats
        self.label = f"{Path(text).name}{'#' + index if index else ''} ({policy.learner})"
        g = as_stochastic(game)
        self.num_states, self.n = g.num_states, g.n_players
        self.width = g.max_actions
        self.mask = np.asarray(g.action_mask, dtype=bool)
        self.jnp, self.jax = jnp, jax
        self.key = jax.random.key(seed)
        self.memory = policy.initial_memory(1)
        self.recurrent = bool(jax.tree_util.tree_leaves(self.memory))
        self.first = True
        self.cache: dict[int, np.ndarray] = {}
        self.pending: tuple[int, np.ndarray, Any] | None = None  # (state, probabilities, memory after it)

    def probabilities(self, state: int) -> np.ndarray:
        """The policy's distribution in ``state`` (a feed-forward policy's answers are cached per state; a recurrent
        policy reads its memory of the episode so far, reset at every episode start)."""
        if not self.recurrent and state in self.cache:
            return self.cache[state]
        if self.pending is not None and self.pending[0] == state:
            return self.pending[1]
        jnp = self.jnp
        obs = self.jax.nn.one_hot(jnp.full((self.n,), state), self.num_states, dtype=jnp.float32)
        info = {"action_mask": jnp.asarray(self.mask[:, state]), "global_state": obs[0]}
        self.key, key = self.jax.random.split(self.key)
        out = self.policy(self.policy.observe(obs, info, first=self.first), key, self.memory)
        probs = np.asarray(out.probs[0], dtype=np.float64)[list(self.seats), : self.width]
        probs = np.where(self.mask[list(self.seats), state], probs, 0.0)
        probs = probs / probs.sum(axis=1, keepdims=True)
        if self.recurrent:
            self.pending = (state, probs, out.memory)
        else:
            self.cache[state] = probs
        return probs

    def observe(
        self,
        state: int,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_state: int,
        terminated: bool,
        truncated: bool,
    ) -> None:
        """A trained policy does not learn; a recurrent one keeps its memory within an episode."""
        if not self.recurrent:
            return
        if self.pending is None:
            self.probabilities(state)
        assert self.pending is not None
        self.memory = self.pending[2]
        self.pending = None
        self.first = bool(terminated or truncated)
        if self.first:
            self.memory = self.policy.initial_memory(1)

    def to_json(self) -> dict[str, Any]:
        description = f"a trained {self.policy.learner} policy, sampled (its stochastic mode)"
        return {"kind": self.kind, "label": self.label, "description": description, "learner": self.policy.learner}


@lru_cache(maxsize=32)
def learner_programs(
    learner: Any,
    seats: tuple[int, ...],
    n: int,
    num_states: int,
    num_actions: tuple[int, ...],
    gamma: float,
    legal: tuple[tuple[bool, ...], ...],
) -> tuple[Any, Any, Any, Any]:
    """The jitted ``init(key)``, ``policy(state, s)``, ``update(state, transition)`` and ``table(state) -> [k, S,
    A_max]`` of ``learner`` over ``seats`` (learners compare and hash by value, so every session of one learner on
    one game shares these programs: compiled once per server)."""
    import jax
    import jax.numpy as jnp

    from marlkit.agents.tabular.base import GroupSpec, policy_table

    k, width = len(seats), max(num_actions)
    spec = GroupSpec(
        agents=seats,
        n_agents=n,
        num_states=num_states,
        num_actions=tuple(num_actions[a] for a in seats),
        max_actions=width,
        gamma=gamma,
        legal=jnp.asarray(np.array(legal, dtype=bool).reshape(k, num_states, width)),
    )
    return (
        jax.jit(lambda key: learner.init(key, spec)),
        jax.jit(lambda state, s: learner.policy(state, jnp.full((k,), s, jnp.int32))),
        jax.jit(learner.update),
        jax.jit(lambda state: policy_table(learner.policy, state, k, num_states)),
    )


class LearnerPartner:
    """A registered tabular learner over the partner seats that learns from every round (module docstring)."""

    kind = "learner"

    def __init__(self, spec: str, game: Game, seats: tuple[int, ...], seed: int = 0) -> None:
        import jax
        import jax.numpy as jnp

        from marlkit.agents.tabular.registry import LEARNERS, make_learner
        from marlkit.human.models import parse_spec

        name, params = parse_spec(spec, f"learner spec {spec!r}", "iql-eps?step_size=0.2")
        entry = LEARNERS.get(name)
        self.learner: Any = make_learner(entry.name, game=game, **params)
        g = as_stochastic(game)
        check = getattr(self.learner, "check", None)
        if check is not None:  # as the training loop calls it: on the stochastic view
            check(g, seats)
        self.game, self.seats, self.n, self.S = g, seats, g.n_players, g.num_states
        self.A = g.max_actions
        self.label = spec.strip()
        self.name = entry.name
        self.description = entry.description
        self.mask = np.asarray(g.action_mask, dtype=bool)
        self.person = [i for i in range(self.n) if i not in seats]
        self.person_counts = np.zeros((self.n, self.S, self.A))  # the other seats' counts per state (needs_policies)
        self.needs_policies = bool(getattr(self.learner, "needs_policies", False))
        self.jnp = jnp
        legal = tuple(map(tuple, self.mask[list(seats)].reshape(len(seats), -1).tolist()))
        init, self._policy, self._update, self._table = learner_programs(
            self.learner,  # type: ignore[arg-type]  # learners are frozen dataclasses: hashable by value
            seats,
            self.n,
            self.S,
            tuple(g.num_actions),
            float(g.gamma),
            legal,
        )
        self.state = init(jax.random.key(seed))
        self.updates = 0

    def probabilities(self, state: int) -> np.ndarray:
        probs = np.asarray(self._policy(self.state, state), dtype=np.float64)
        probs = np.where(self.mask[list(self.seats), state], np.maximum(probs, 0.0), 0.0)
        return probs / probs.sum(axis=1, keepdims=True)

    def policies(self) -> np.ndarray:
        """``[n, S, A_max]``: the learner's own table in its seats, the others' empirical frequencies elsewhere."""
        out = np.zeros((self.n, self.S, self.A))
        out[list(self.seats)] = np.asarray(self._table(self.state))
        legal = self.mask.astype(np.float64)
        for i in self.person:
            counts = self.person_counts[i]
            seen = counts.sum(axis=1, keepdims=True)
            uniform = legal[i] / legal[i].sum(axis=1, keepdims=True)
            out[i] = np.where(seen > 0, counts / np.maximum(seen, 1.0), uniform)
        return out

    def observe(
        self,
        state: int,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_state: int,
        terminated: bool,
        truncated: bool,
    ) -> None:
        from marlkit.agents.tabular.base import Transition

        jnp = self.jnp
        policies = jnp.asarray(self.policies(), jnp.float32) if self.needs_policies else None
        seats = np.asarray(self.seats)
        k = len(seats)
        batch = Transition(
            obs=jnp.full((k,), state, jnp.int32),
            actions=jnp.asarray(actions[seats], jnp.int32),
            rewards=jnp.asarray(rewards[seats], jnp.float32),
            next_obs=jnp.full((k,), next_state, jnp.int32),
            terminated=jnp.bool_(terminated),
            truncated=jnp.bool_(truncated),
            legal=jnp.asarray(self.mask[seats, state]),
            next_legal=jnp.asarray(self.mask[seats, next_state]),
            joint_actions=jnp.asarray(actions, jnp.int32),
            joint_rewards=jnp.asarray(rewards, jnp.float32),
            policies=policies,
        )
        self.state, _ = self._update(self.state, batch)
        for i in self.person:
            self.person_counts[i, state, int(actions[i])] += 1.0
        self.updates += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "description": self.description,
            "learner": self.name,
            "updates": self.updates,
        }


def make_partner(
    kind: str,
    spec: str,
    game: Game,
    seats: tuple[int, ...],
    runs_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
) -> Partner:
    """The partner of ``kind`` (``learner`` / ``model`` / ``policy``) named by ``spec`` for ``seats`` of ``game``.

    Raises:
        MarlkitError subclasses, one line each: an unknown kind, model or learner (with close matches), a bad
        parameter, a partner that cannot play this game, a policy path outside the runs folder or of another game.
    """
    text = str(spec or "").strip()
    if kind not in PARTNER_KINDS:
        raise InvalidGameError(f"partner: expected one of {list(PARTNER_KINDS)}, got {kind!r}")
    if not text:
        example = {"learner": "fp", "model": "boltzmann?beta=2", "policy": "my-run/policy.mkp"}[kind]
        raise InvalidGameError(f"partner: give a {kind} (e.g. {example})")
    if kind == "model":
        return ModelPartner(text, game, seats)
    if kind == "learner":
        return LearnerPartner(text, game, seats, seed=seed)
    return PolicyPartner(text, game, seats, Path(runs_dir), seed=seed)


__all__ = [
    "PARTNER_KINDS",
    "LearnerPartner",
    "ModelPartner",
    "Partner",
    "PolicyPartner",
    "PolicyPathError",
    "inside",
    "make_partner",
    "padded",
]
