"""Uncertainty sets: the threat models of robust MARL, kept as separate objects that wrap a game or a task.

Three sets (docs/robust.md):

* :class:`StateUncertainty` — a **state-adversarial** stochastic game (Zhang et al. 2020, "Robust deep RL against
  adversarial perturbations on state observations" for one agent; Han et al. 2024, "What is the solution for
  state-adversarial multi-agent RL?", TMLR). For each attacked agent j, ``B^j(s)`` is the set of states the
  adversary may make agent j perceive when the true state is s; agent j then acts with ``π_j(· | ŝ_j)``. Every
  ``B^j(s)`` contains s (the adversary may leave a state alone), and unattacked agents have ``B^i(s) = {s}``.
  Stored as a boolean ``allowed[j, s, ŝ]`` of shape ``[n, S, S]``.
* :class:`ObservationBall` — the same threat on a task with vector observations: for each attacked agent, an
  ``L_p`` ball of radius ε around the observation vector (``p`` ∈ {1, 2, ∞}).
* :class:`ModelUncertainty` — a **model-adversarial** stochastic game (Zhang, Sun, Basar et al. 2020, "Robust
  multi-agent RL with model uncertainty", NeurIPS; Iyengar 2005 and Nilim & El Ghaoui 2005 for the
  (s, a)-rectangular sets): nature picks, independently at each (s, a), a reward in the box
  ``[R_i(s, a) - ε_i(s), R_i(s, a) + ε_i(s)]`` and a next-state distribution in the ball
  ``{p ∈ Δ(S) : ||p - T(·|s, a)||_q <= δ(s)}`` (``q`` ∈ {1, ∞}).

Sets are frozen, validated at construction and against a game (:meth:`check_against`), and round-trip to JSON
(:func:`uncertainty_to_dict` / :func:`uncertainty_from_dict`, :func:`save_uncertainty` / :func:`load_uncertainty`).
The singleton sets (``B^j(s) = {s}``, ε = δ = 0) give back the nominal game exactly.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from marlkit.errors import GameFileError, InvalidGameError

__all__ = [
    "ModelUncertainty",
    "ObservationBall",
    "StateUncertainty",
    "Uncertainty",
    "load_uncertainty",
    "save_uncertainty",
    "state_ball",
    "state_distance",
    "uncertainty_from_dict",
    "uncertainty_to_dict",
]

TRANSITION_NORMS = ("l1", "linf")
OBSERVATION_NORMS = ("l1", "l2", "linf")


def _check_attacked(attacked: Sequence[int], n_agents: int, where: str) -> tuple[int, ...]:
    try:
        agents = tuple(int(a) for a in attacked)
    except (TypeError, ValueError):
        raise InvalidGameError(f"{where}: attacked must be a list of agent indices, got {attacked!r}") from None
    if any(isinstance(a, bool) for a in attacked):
        raise InvalidGameError(f"{where}: attacked must be agent indices, not booleans")
    if len(set(agents)) != len(agents):
        raise InvalidGameError(f"{where}: attacked lists agent(s) twice: {list(agents)}")
    if len(agents) > n_agents:
        raise InvalidGameError(f"{where}: {len(agents)} attacked agents but the game has {n_agents} (M must be <= N)")
    bad = [a for a in agents if not 0 <= a < n_agents]
    if bad:
        raise InvalidGameError(f"{where}: attacked agent {bad[0]} does not exist; agents are 0..{n_agents - 1}")
    return tuple(sorted(agents))


def _check_radius(name: str, value: Any) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidGameError(f"{name}: expected a number or an array of numbers, got {value!r}") from None
    if not np.all(np.isfinite(array)):
        raise InvalidGameError(f"{name}: must be finite, got {value!r}")
    if np.any(array < 0):
        raise InvalidGameError(f"{name}: a radius must be >= 0, got {array.min():g}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class StateUncertainty:
    """``allowed[j, s, ŝ]``: whether agent j may be made to perceive ŝ in true state s (module docstring).

    Build it with :meth:`from_sets`, :meth:`from_distance` or :meth:`everywhere`; ``attacked`` is derived from
    ``allowed`` (the agents with some ŝ != s allowed) unless given, and an agent listed as attacked may still have
    only singleton sets (it is then not attacked in effect).
    """

    allowed: np.ndarray
    attacked: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        allowed = np.asarray(self.allowed)
        if allowed.dtype != np.bool_:
            if allowed.dtype.kind not in "iuf" or not np.all(np.isin(allowed, (0, 1))):
                raise InvalidGameError("state uncertainty: allowed must hold booleans (or 0/1)")
            allowed = allowed.astype(np.bool_)
        else:
            allowed = allowed.copy()
        if allowed.ndim != 3 or allowed.shape[1] != allowed.shape[2] or allowed.shape[0] < 1:
            raise InvalidGameError(f"state uncertainty: allowed must have shape [n, S, S], got {allowed.shape}")
        n, S = allowed.shape[0], allowed.shape[1]
        missing = np.argwhere(~allowed[:, np.arange(S), np.arange(S)])
        if missing.size:
            j, s = (int(v) for v in missing[0])
            raise InvalidGameError(
                f"state uncertainty: B^{j}({s}) must contain the true state {s} (the adversary may leave it alone)"
            )
        perturbed = tuple(int(j) for j in np.flatnonzero(allowed.sum(axis=2).max(axis=1) > 1))
        attacked = _check_attacked(self.attacked, n, "state uncertainty") if self.attacked else perturbed
        outside = sorted(set(perturbed) - set(attacked))
        if outside:
            raise InvalidGameError(
                f"state uncertainty: agent {outside[0]} has perturbed states but is not in attacked={list(attacked)}"
            )
        allowed.setflags(write=False)
        object.__setattr__(self, "allowed", allowed)
        object.__setattr__(self, "attacked", attacked)

    # ------------------------------------------------------------------------------------------- builders

    @classmethod
    def from_sets(cls, n_agents: int, num_states: int, sets: Mapping[int, Sequence[Sequence[int]]]) -> StateUncertainty:
        """``sets[j][s]`` lists the states agent j may perceive in state s (s is added if missing)."""
        allowed = np.zeros((n_agents, num_states, num_states), dtype=bool)
        allowed[:, np.arange(num_states), np.arange(num_states)] = True
        attacked = _check_attacked(list(sets), n_agents, "state uncertainty")
        for j in attacked:
            rows = sets[j]
            if len(rows) != num_states:
                raise InvalidGameError(
                    f"state uncertainty: sets[{j}] must list one set per state ({num_states}), got {len(rows)}"
                )
            for s, row in enumerate(rows):
                for t in row:
                    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= t < num_states:
                        raise InvalidGameError(
                            f"state uncertainty: sets[{j}][{s}] names state {t!r}, outside 0..{num_states - 1}"
                        )
                    allowed[j, s, int(t)] = True
        return cls(allowed, attacked)

    @classmethod
    def from_distance(cls, n_agents: int, distance: Any, radius: float, attacked: Sequence[int]) -> StateUncertainty:
        """``B^j(s) = {ŝ : d(s, ŝ) <= radius}`` for every attacked agent j, from a state distance ``[S, S]``."""
        d = np.asarray(distance, dtype=np.float64)
        if d.ndim != 2 or d.shape[0] != d.shape[1]:
            raise InvalidGameError(f"state uncertainty: distance must be a square [S, S] matrix, got {d.shape}")
        if not np.all(np.isfinite(d)) or np.any(d < 0) or np.any(np.diag(d) != 0):
            raise InvalidGameError("state uncertainty: distance must be finite, >= 0 and 0 on the diagonal")
        eps = float(_check_radius("state uncertainty: radius", radius))
        agents = _check_attacked(attacked, n_agents, "state uncertainty")
        S = d.shape[0]
        allowed = np.broadcast_to(np.eye(S, dtype=bool), (n_agents, S, S)).copy()
        for j in agents:
            allowed[j] = d <= eps
        return cls(allowed, agents)

    @classmethod
    def everywhere(cls, n_agents: int, num_states: int, attacked: Sequence[int]) -> StateUncertainty:
        """The strongest adversary: each attacked agent may be shown any state."""
        return cls.from_distance(n_agents, 1.0 - np.eye(num_states), 1.0, attacked)

    @classmethod
    def none(cls, n_agents: int, num_states: int) -> StateUncertainty:
        """No attack: every ``B^j(s) = {s}`` (the nominal game)."""
        return cls(np.broadcast_to(np.eye(num_states, dtype=bool), (n_agents, num_states, num_states)).copy())

    # -------------------------------------------------------------------------------------------- queries

    @property
    def n_agents(self) -> int:
        return int(self.allowed.shape[0])

    @property
    def num_states(self) -> int:
        return int(self.allowed.shape[1])

    def perceivable(self, agent: int, state: int) -> tuple[int, ...]:
        """``B^agent(state)`` as sorted state indices."""
        return tuple(int(t) for t in np.flatnonzero(self.allowed[agent, state]))

    def is_trivial(self) -> bool:
        """Whether every set is the singleton ``{s}`` (the nominal game)."""
        return bool(
            np.array_equal(self.allowed, np.broadcast_to(np.eye(self.num_states, dtype=bool), self.allowed.shape))
        )

    def check_against(self, game: Any) -> None:
        """Raise :class:`~marlkit.errors.InvalidGameError` unless the sets fit ``game`` (a stochastic game of the
        same agents and states, fully observable: a POSG's agents perceive observations, not states)."""
        n, S = int(game.n_players), int(getattr(game, "num_states", 1))
        if (self.n_agents, self.num_states) != (n, S):
            raise InvalidGameError(
                f"state uncertainty: sets are for {self.n_agents} agents and {self.num_states} states, but the game "
                f"has {n} agents and {S} states"
            )
        if getattr(game, "observations", None) is not None:
            raise InvalidGameError(
                "state uncertainty: the game is partially observable; a state adversary perturbs the state an agent "
                "perceives, so it needs a fully observable game"
            )


@dataclass(frozen=True, eq=False)
class ObservationBall:
    """An ``L_norm`` ball of radius ``epsilon`` around each attacked agent's observation vector (tasks)."""

    epsilon: float
    attacked: tuple[int, ...] = (0,)
    norm: str = "linf"

    def __post_init__(self) -> None:
        eps = float(_check_radius("observation ball: epsilon", self.epsilon))
        norm = str(self.norm).lower()
        if norm not in OBSERVATION_NORMS:
            raise InvalidGameError(
                f"observation ball: norm must be one of {list(OBSERVATION_NORMS)}, got {self.norm!r}"
            )
        if not self.attacked:
            raise InvalidGameError("observation ball: attacked must name at least one agent")
        attacked = _check_attacked(self.attacked, max(int(a) for a in self.attacked) + 1, "observation ball")
        object.__setattr__(self, "epsilon", eps)
        object.__setattr__(self, "norm", norm)
        object.__setattr__(self, "attacked", attacked)

    def check_against(self, n_agents: int, observation_shape: tuple[int, ...] | None) -> None:
        """Raise unless the attacked agents exist and their observations are vectors (``observation_shape`` is
        ``None`` for an env whose observations are not real vectors)."""
        _check_attacked(self.attacked, n_agents, "observation ball")
        if observation_shape is None or len(observation_shape) != 1:
            raise InvalidGameError(
                "observation ball: the env's observations are not real vectors, so an L_p ball around them is "
                "undefined; attack a task with vector observations (MPE, LBF) or use a state uncertainty on a game"
            )


@dataclass(frozen=True, eq=False)
class ModelUncertainty:
    """Reward boxes and transition balls, (s, a)-rectangular (module docstring).

    ``reward_radius`` is ε: a number, one per state ``[S]`` or one per agent and state ``[n, S]``.
    ``transition_radius`` is δ: a number or one per state ``[S]``, in the ``norm`` ("l1" or "linf") of the
    difference of next-state distributions. Shapes are checked against a game by :meth:`check_against`.
    """

    reward_radius: Any = 0.0
    transition_radius: Any = 0.0
    norm: str = "l1"

    def __post_init__(self) -> None:
        eps = _check_radius("model uncertainty: reward_radius", self.reward_radius)
        delta = _check_radius("model uncertainty: transition_radius", self.transition_radius)
        if eps.ndim > 2:
            raise InvalidGameError(f"model uncertainty: reward_radius must be a number, [S] or [n, S], got {eps.shape}")
        if delta.ndim > 1:
            raise InvalidGameError(f"model uncertainty: transition_radius must be a number or [S], got {delta.shape}")
        norm = str(self.norm).lower()
        if norm not in TRANSITION_NORMS:
            raise InvalidGameError(
                f"model uncertainty: norm must be one of {list(TRANSITION_NORMS)}, got {self.norm!r}"
            )
        object.__setattr__(self, "reward_radius", eps)
        object.__setattr__(self, "transition_radius", delta)
        object.__setattr__(self, "norm", norm)

    def reward_radii(self, n_agents: int, num_states: int) -> np.ndarray:
        """ε as a ``[n, S]`` array."""
        eps = self.reward_radius
        if eps.ndim == 1 and eps.shape != (num_states,):
            raise InvalidGameError(
                f"model uncertainty: reward_radius has {eps.shape[0]} entries; the game has {num_states} states"
            )
        if eps.ndim == 2 and eps.shape != (n_agents, num_states):
            raise InvalidGameError(
                f"model uncertainty: reward_radius has shape {eps.shape}; expected [n, S] = [{n_agents}, {num_states}]"
            )
        return np.broadcast_to(eps, (n_agents, num_states)).astype(np.float64)

    def transition_radii(self, num_states: int) -> np.ndarray:
        """δ as a ``[S]`` array."""
        delta = self.transition_radius
        if delta.ndim == 1 and delta.shape != (num_states,):
            raise InvalidGameError(
                f"model uncertainty: transition_radius has {delta.shape[0]} entries; the game has {num_states} states"
            )
        return np.broadcast_to(delta, (num_states,)).astype(np.float64)

    def is_trivial(self) -> bool:
        """Whether both sets are singletons (ε = δ = 0: the nominal game)."""
        return not (np.any(self.reward_radius > 0) or np.any(self.transition_radius > 0))

    def check_against(self, game: Any) -> None:
        """Raise unless the radii's shapes fit ``game``."""
        n, S = int(game.n_players), int(getattr(game, "num_states", 1))
        self.reward_radii(n, S)
        self.transition_radii(S)


Uncertainty = StateUncertainty | ObservationBall | ModelUncertainty


def state_distance(game: Any) -> np.ndarray:
    """The state distance that turns a radius ε into sets ``B(s) = {ŝ : d(s, ŝ) <= ε}``: the game's
    ``metadata["state_distance"]`` where it has one (a catalog game may suggest its threat), else the discrete
    metric (ε >= 1 lets the adversary show any state, ε < 1 none)."""
    S = int(getattr(game, "num_states", 1))
    given = game.metadata.get("state_distance")
    if given is None:
        return 1.0 - np.eye(S)
    d = np.asarray(given, dtype=np.float64)
    if d.shape != (S, S):
        raise InvalidGameError(f"metadata state_distance: expected shape [{S}, {S}], got {d.shape}")
    return d


def state_ball(game: Any, radius: float, attacked: Sequence[int]) -> StateUncertainty:
    """``B^j(s) = {ŝ : d(s, ŝ) <= radius}`` for the attacked agents, with the game's :func:`state_distance`,
    checked against the game."""
    uncertainty = StateUncertainty.from_distance(int(game.n_players), state_distance(game), radius, attacked)
    uncertainty.check_against(game)
    return uncertainty


# ----------------------------------------------------------------------------------------------------- files


def uncertainty_to_dict(uncertainty: Uncertainty) -> dict[str, Any]:
    """The JSON form (``{"type": "state" | "observation" | "model", ...}``)."""
    if isinstance(uncertainty, StateUncertainty):
        sets = {
            str(j): [list(uncertainty.perceivable(j, s)) for s in range(uncertainty.num_states)]
            for j in uncertainty.attacked
        }
        return {
            "type": "state",
            "n_agents": uncertainty.n_agents,
            "num_states": uncertainty.num_states,
            "attacked": list(uncertainty.attacked),
            "sets": sets,
        }
    if isinstance(uncertainty, ObservationBall):
        return {
            "type": "observation",
            "epsilon": uncertainty.epsilon,
            "norm": uncertainty.norm,
            "attacked": list(uncertainty.attacked),
        }
    if isinstance(uncertainty, ModelUncertainty):
        return {
            "type": "model",
            "reward_radius": uncertainty.reward_radius.tolist(),
            "transition_radius": uncertainty.transition_radius.tolist(),
            "norm": uncertainty.norm,
        }
    raise InvalidGameError(f"not an uncertainty set: {uncertainty!r}")


_KEYS = {
    "state": ("type", "n_agents", "num_states", "attacked", "sets"),
    "observation": ("type", "epsilon", "norm", "attacked"),
    "model": ("type", "reward_radius", "transition_radius", "norm"),
}


def uncertainty_from_dict(data: Mapping[str, Any]) -> Uncertainty:
    """Inverse of :func:`uncertainty_to_dict`; unknown keys and wrong types are errors."""
    if not isinstance(data, Mapping):
        raise InvalidGameError(f"uncertainty: expected a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if kind not in _KEYS:
        raise InvalidGameError(f"uncertainty: type must be one of {sorted(_KEYS)}, got {kind!r}")
    unknown = sorted(set(data) - set(_KEYS[kind]))
    if unknown:
        raise InvalidGameError(f"uncertainty: unknown key {unknown[0]!r} for type {kind!r}; known: {list(_KEYS[kind])}")
    if kind == "state":
        for key in ("n_agents", "num_states"):
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidGameError(f"uncertainty: {key} must be a positive integer, got {value!r}")
        sets = data.get("sets", {})
        if not isinstance(sets, Mapping):
            raise InvalidGameError("uncertainty: sets must map an agent index to one list of states per state")
        try:
            parsed = {int(j): rows for j, rows in sets.items()}
        except ValueError:
            raise InvalidGameError("uncertainty: the keys of sets must be agent indices") from None
        for j, rows in parsed.items():
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise InvalidGameError(f"uncertainty: sets[{j}] must be a list of lists of state indices")
        result = StateUncertainty.from_sets(data["n_agents"], data["num_states"], parsed)
        attacked = data.get("attacked")
        if attacked is not None:
            result = StateUncertainty(result.allowed, tuple(attacked) if attacked else ())
        return result
    if kind == "observation":
        attacked = data.get("attacked", [0])
        if not isinstance(attacked, list):
            raise InvalidGameError("uncertainty: attacked must be a list of agent indices")
        return ObservationBall(_number(data, "epsilon"), tuple(attacked), str(data.get("norm", "linf")))
    return ModelUncertainty(
        _radius(data, "reward_radius"), _radius(data, "transition_radius"), str(data.get("norm", "l1"))
    )


def _number(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidGameError(f"uncertainty: {key} must be a finite number, got {value!r}")
    return float(value)


def _radius(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key, 0.0)
    if isinstance(value, (bool, str)):
        raise InvalidGameError(f"uncertainty: {key} must be a number or a list of numbers, got {value!r}")
    return value


def save_uncertainty(uncertainty: Uncertainty, path: str | os.PathLike[str]) -> Path:
    """Write the JSON form atomically."""
    from marlkit.atomic import write_text

    target = Path(path)
    write_text(target, json.dumps(uncertainty_to_dict(uncertainty), indent=2) + "\n")
    return target


def load_uncertainty(path: str | os.PathLike[str]) -> Uncertainty:
    """Read a JSON uncertainty set (:func:`uncertainty_from_dict`)."""
    target = Path(path)
    try:
        data = json.loads(target.read_text())
    except FileNotFoundError:
        raise GameFileError(f"{target}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise GameFileError(f"{target}: not a JSON uncertainty set ({exc})") from None
    return uncertainty_from_dict(data)
