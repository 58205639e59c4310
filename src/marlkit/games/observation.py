"""Observation models that turn a stochastic game into a partially observable one (a POSG / Dec-POMDP).

Each agent i has its own observation matrix, in one of two forms (Oliehoek & Amato 2016, Def. 2.1):

* state-only ``O_i[s', o]`` of shape ``[S, Obs_i]`` — the probability that agent i observes o in state s';
* action-dependent ``O_i[s', a_1, ..., a_n, o]`` of shape ``[S, A_1, ..., A_n, Obs_i]`` — the probability
  that agent i observes o after the joint action a led to s' (the Dec-Tiger form).

A deterministic map ``obs_of_state[s] = o`` is accepted through :meth:`ObservationModel.deterministic`.
At reset an agent observes ``O_i[s_0]`` in the state-only form; in the action-dependent form the first
observation is undefined (Dec-POMDP agents start with an empty history), and simulators say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.validation import as_real_array, check_distributions, check_names


@dataclass(frozen=True, eq=False)
class ObservationModel:
    """Per-agent observation matrices (see the module docstring for the two accepted forms)."""

    matrices: tuple[np.ndarray, ...]
    observation_names: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if len(self.matrices) == 0:
            raise InvalidGameError("observations: expected one observation matrix per agent, got none")
        matrices = tuple(as_real_array(f"observations[{i}]", m) for i, m in enumerate(self.matrices))
        for i, m in enumerate(matrices):
            if m.ndim < 2 or m.shape[-1] < 1:
                raise InvalidGameError(
                    f"observations[{i}]: expected [S, Obs_i] or [S, A_1..A_n, Obs_i], got shape {m.shape}"
                )
            check_distributions(f"observations[{i}]", m)
        object.__setattr__(self, "matrices", matrices)
        names = self.observation_names or ((),) * len(matrices)
        if len(names) != len(matrices):
            raise InvalidGameError(
                f"observation_names: expected one list per agent ({len(matrices)}), got {len(names)}"
            )
        object.__setattr__(
            self,
            "observation_names",
            tuple(
                check_names(f"observation_names[{i}]", list(n), m.shape[-1], "o")
                for i, (n, m) in enumerate(zip(names, matrices, strict=True))
            ),
        )

    @classmethod
    def deterministic(
        cls, obs_of_state: Sequence[Sequence[int]], num_observations: Sequence[int], names: Sequence = ()
    ) -> ObservationModel:
        """Build the model from deterministic maps ``obs_of_state[i][s]`` (one per agent)."""
        matrices = []
        for i, (row, count) in enumerate(zip(obs_of_state, num_observations, strict=True)):
            mapping = np.asarray(row)
            if mapping.ndim != 1 or mapping.dtype.kind not in "iu" or np.any((mapping < 0) | (mapping >= count)):
                raise InvalidGameError(
                    f"observations[{i}]: a deterministic map must list one observation index in 0..{count - 1} "
                    "per state"
                )
            matrices.append(np.eye(count)[mapping])
        return cls(tuple(matrices), tuple(names))

    @property
    def n_agents(self) -> int:
        return len(self.matrices)

    @property
    def num_observations(self) -> tuple[int, ...]:
        return tuple(int(m.shape[-1]) for m in self.matrices)

    def is_action_dependent(self, agent: int) -> bool:
        return self.matrices[agent].ndim > 2

    def check_against(self, n_players: int, num_states: int, num_actions: tuple[int, ...]) -> None:
        """Raise unless every matrix fits a game with these sizes."""
        if self.n_agents != n_players:
            raise InvalidGameError(f"observations: expected {n_players} agents' matrices, got {self.n_agents}")
        for i, m in enumerate(self.matrices):
            allowed = ((num_states, m.shape[-1]), (num_states, *num_actions, m.shape[-1]))
            if m.shape not in allowed:
                raise InvalidGameError(f"observations[{i}]: expected shape {allowed[0]} or {allowed[1]}, got {m.shape}")
