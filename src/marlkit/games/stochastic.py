"""Stochastic (Markov) games, optionally partially observable and constrained.

A stochastic game (Shapley 1953; Littman 1994) is ``(S, A_1..A_n, T, R_1..R_n, γ, μ_0)``:

* ``transitions[s, a_1, ..., a_n, s']`` = T(s' | s, a);
* ``rewards[i, s, a_1, ..., a_n]`` = R_i(s, a), the expected reward (an outcome-dependent ``[n, S, A.., S']``
  form is accepted and reduced by R_i(s, a) = Σ_s' T(s'|s, a) R_i(s, a, s'));
* ``initial[s]`` = μ_0(s), ``gamma`` in [0, 1), ``terminal[s]`` marks absorbing states whose value is 0;
* ``action_mask[i, s, a]`` marks the legal actions of agent i in state s (docs/architecture.md: ``[n, S, A_max]``).

Constrained games (Altman 1999; Gu et al. 2021, safe MARL) add ``costs[i, j, s, a_1..a_n]`` >= 0 and limits
``limits[i, j]`` >= 0: agent i must keep its discounted cost J_j^i(π) = E[Σ_t γ^t C_j^i(s_t, a_t)] <= limits[i, j].

Exact policy evaluation solves, for each agent, the linear Bellman system (Puterman 1994, Thm. 6.1.1)

    V_i = r_i^π + γ P^π V_i   with  P^π(s, s') = Σ_a π(a|s) T(s'|s, a),  r_i^π(s) = Σ_a π(a|s) R_i(s, a),

with the rows of terminal states set to 0, and returns U_i(π) = μ_0 · V_i.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.metadata import FrozenDict, freeze_metadata
from marlkit.games.observation import ObservationModel
from marlkit.games.validation import (
    PROBABILITY_TOLERANCE,
    as_bool_array,
    as_real_array,
    check_action_names,
    check_distributions,
    check_gamma,
    check_names,
    check_shape,
)


@dataclass(frozen=True, eq=False)
class StochasticGame:
    """An n-player stochastic game; see the module docstring for the meaning and shape of each field.

    ``metadata`` is frozen on construction (:mod:`marlkit.games.metadata`); a normal-form game is read as a
    one-state stochastic game by :func:`marlkit.games.views.as_stochastic`.
    """

    transitions: np.ndarray
    rewards: np.ndarray
    initial: np.ndarray
    gamma: float
    terminal: np.ndarray = None  # type: ignore[assignment]  # None: no terminal state; an array once built
    action_mask: np.ndarray = None  # type: ignore[assignment]  # None: every action legal; an array once built
    costs: np.ndarray | None = None
    limits: np.ndarray | None = None
    observations: ObservationModel | None = None
    name: str = ""
    player_names: tuple[str, ...] = ()
    action_names: tuple[tuple[str, ...], ...] = ()
    state_names: tuple[str, ...] = ()
    description: str = ""
    citation: str = ""
    metadata: Mapping[str, object] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        T = as_real_array("transitions", self.transitions)
        if T.ndim < 3:
            raise InvalidGameError(f"transitions: expected shape [S, A_1, ..., A_n, S'], got {T.shape}")
        S, shape = T.shape[0], T.shape[1:-1]
        n = len(shape)
        if T.shape[-1] != S:
            raise InvalidGameError(
                f"transitions: the last axis (next state) has {T.shape[-1]} entries but there are {S} states"
            )
        if any(m < 1 for m in shape):
            raise InvalidGameError(f"transitions: every player needs at least one action, got shape {T.shape}")
        R = as_real_array("rewards", self.rewards)
        if R.shape == (n, S, *shape, S):
            R = np.einsum("s...t,is...t->is...", T, R)
            R.setflags(write=False)
        check_shape("rewards", R, (n, S, *shape))

        initial = as_real_array("initial", self.initial, ndim=1)
        check_shape("initial", initial, (S,))
        check_distributions("initial", initial)
        gamma = check_gamma(self.gamma)
        terminal = as_bool_array("terminal", np.zeros(S, bool) if self.terminal is None else self.terminal, (S,))
        if np.all(terminal):
            raise InvalidGameError("terminal: every state is terminal; at least one state must be non-terminal")
        a_max = max(shape)
        if self.action_mask is None:
            mask = np.zeros((n, S, a_max), dtype=bool)
            for i, m in enumerate(shape):
                mask[i, :, :m] = True
        else:
            mask = np.asarray(self.action_mask)
        mask = as_bool_array("action_mask", mask, (n, S, a_max))
        for i, m in enumerate(shape):
            if np.any(mask[i, :, m:]):
                raise InvalidGameError(f"action_mask[{i}]: player {i} has {m} actions; entries >= {m} must be False")
            if not np.all(mask[i].any(axis=1)):
                s = int(np.argmin(mask[i].any(axis=1)))
                raise InvalidGameError(f"action_mask[{i}]: player {i} has no legal action in state {s}")

        object.__setattr__(self, "transitions", T)
        object.__setattr__(self, "rewards", R)
        object.__setattr__(self, "initial", initial)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "terminal", terminal)
        object.__setattr__(self, "action_mask", mask)
        check_distributions("transitions", T, where=self.legal_joint_actions() & ~terminal.reshape((S,) + (1,) * n))
        self._check_constraints()
        if self.observations is not None:
            if not isinstance(self.observations, ObservationModel):
                raise InvalidGameError("observations: expected an ObservationModel")
            self.observations.check_against(n, S, shape)
        object.__setattr__(self, "player_names", check_names("player_names", self.player_names, n, "player"))
        object.__setattr__(self, "action_names", check_action_names(self.action_names, shape))
        object.__setattr__(self, "state_names", check_names("state_names", self.state_names, S, "s"))
        object.__setattr__(self, "name", str(self.name))
        object.__setattr__(self, "metadata", freeze_metadata(self.metadata))

    def _check_constraints(self) -> None:
        if (self.costs is None) != (self.limits is None):
            raise InvalidGameError("costs/limits: a constrained game needs both costs [n, m, S, A..] and limits [n, m]")
        if self.costs is None:
            return
        C = as_real_array("costs", self.costs)
        n, S, shape = self.n_players, self.num_states, self.num_actions
        if C.ndim != 3 + n or C.shape[0] != n or C.shape[2:] != (S, *shape):
            raise InvalidGameError(
                f"costs: expected shape [n={n}, m, S={S}, {', '.join(map(str, shape))}], got {C.shape}"
            )
        if np.any(C < 0):
            raise InvalidGameError("costs: costs must be >= 0 (constrained MARL convention); shift them if needed")
        limits = as_real_array("limits", self.limits)
        check_shape("limits", limits, C.shape[:2])
        if np.any(limits < 0):
            raise InvalidGameError("limits: with costs >= 0 a negative limit can never be met; limits must be >= 0")
        object.__setattr__(self, "costs", C)
        object.__setattr__(self, "limits", limits)

    # ----------------------------------------------------------------------------------------------- shape
    @property
    def n_players(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def num_states(self) -> int:
        return int(self.transitions.shape[0])

    @property
    def num_actions(self) -> tuple[int, ...]:
        return tuple(int(m) for m in self.transitions.shape[1:-1])

    @property
    def max_actions(self) -> int:
        return max(self.num_actions)

    @property
    def num_constraints(self) -> int:
        return 0 if self.costs is None else int(self.costs.shape[1])

    @property
    def is_constrained(self) -> bool:
        return self.costs is not None

    @property
    def is_partially_observable(self) -> bool:
        return self.observations is not None

    def legal_joint_actions(self) -> np.ndarray:
        """``[S, A_1, ..., A_n]`` boolean: joint actions whose every component is legal in the state."""
        legal = np.ones((self.num_states, *self.num_actions), dtype=bool)
        for i, m in enumerate(self.num_actions):
            view = [1] * (self.n_players + 1)
            view[0], view[i + 1] = self.num_states, m
            legal &= self.action_mask[i, :, :m].reshape(view)
        return legal

    # ------------------------------------------------------------------------------------------- policies
    def check_policy(self, policy: np.ndarray) -> np.ndarray:
        """Validate a per-agent tabular policy ``[n, S, A_max]``: a distribution over legal actions per state.

        Rows of terminal states are not checked (no action is taken there).
        """
        pi = as_real_array("policy", policy)
        check_shape("policy", pi, (self.n_players, self.num_states, self.max_actions))
        live = ~self.terminal
        illegal = (pi > PROBABILITY_TOLERANCE) & ~self.action_mask & live[None, :, None]
        if np.any(illegal):
            i, s, a = (int(k) for k in np.argwhere(illegal)[0])
            raise InvalidGameError(f"policy: agent {i} puts probability on illegal action {a} in state {s}")
        check_distributions("policy", pi, where=np.broadcast_to(live, pi.shape[:2]))
        return pi

    def check_joint_policy(self, joint: np.ndarray) -> np.ndarray:
        """Validate a correlated joint policy ``[S, A_1, ..., A_n]`` (a distribution per state)."""
        mu = as_real_array("joint policy", joint)
        check_shape("joint policy", mu, (self.num_states, *self.num_actions))
        live = ~self.terminal
        if np.any((mu > PROBABILITY_TOLERANCE) & ~self.legal_joint_actions() & live.reshape(-1, *[1] * self.n_players)):
            raise InvalidGameError("joint policy: puts probability on an illegal joint action")
        check_distributions("joint policy", mu.reshape(self.num_states, -1), where=live)
        return mu

    def joint_action_probabilities(self, policy: np.ndarray, *, joint: bool | None = None) -> np.ndarray:
        """``[S, A_1..A_n]`` joint-action distribution of a per-agent policy ``[n, S, A_max]`` or a joint one.

        ``joint=None`` tells them apart by shape; where the two shapes coincide (e.g. two agents, two states, two
        actions each) the policy is read as per-agent — pass ``joint=True`` for a correlated one.
        """
        policy = np.asarray(policy)
        per_agent_shape = (self.n_players, self.num_states, self.max_actions)
        if joint is None:
            joint = policy.shape == (self.num_states, *self.num_actions) and policy.shape != per_agent_shape
        if joint:
            return self.check_joint_policy(policy)
        pi = self.check_policy(policy)
        product = np.ones((self.num_states, *([1] * self.n_players)))
        for i, m in enumerate(self.num_actions):
            view = [1] * (self.n_players + 1)
            view[0], view[i + 1] = self.num_states, m
            product = product * pi[i, :, :m].reshape(view)
        return product

    # --------------------------------------------------------------------------------------- evaluation
    def _solve_bellman(self, per_step: np.ndarray, policy: np.ndarray, joint: bool | None = None) -> np.ndarray:
        """Solve V = r^π + γ P^π V for each row of ``per_step [k, S, A..]``; returns ``[k, S]``."""
        probabilities = self.joint_action_probabilities(policy, joint=joint).reshape(self.num_states, -1)
        live = (~self.terminal).astype(np.float64)
        P = np.einsum("sa,sat->st", probabilities, self.transitions.reshape(self.num_states, -1, self.num_states))
        r = np.einsum("sa,ksa->ks", probabilities, per_step.reshape(per_step.shape[0], self.num_states, -1))
        P = P * live[:, None]
        r = r * live[None, :]
        system = np.eye(self.num_states) - self.gamma * P
        return np.linalg.solve(system, r.T).T

    def evaluate(self, policy: np.ndarray, *, joint: bool | None = None) -> np.ndarray:
        """State values ``V[i, s]`` of a per-agent ``[n, S, A_max]`` or correlated ``[S, A..]`` joint policy
        (``joint``: as :meth:`joint_action_probabilities`)."""
        return self._solve_bellman(self.rewards, policy, joint)

    def expected_return(self, policy: np.ndarray, *, joint: bool | None = None) -> np.ndarray:
        """``U_i(π) = μ_0 · V_i`` for every agent, shape ``[n]``."""
        return self.evaluate(policy, joint=joint) @ self.initial

    def expected_costs(self, policy: np.ndarray, *, joint: bool | None = None) -> np.ndarray:
        """Discounted costs ``J[i, j] = μ_0 · V^{C_j^i}`` of a constrained game, shape ``[n, m]``."""
        if self.costs is None:
            raise InvalidGameError(f"game {self.name!r} has no costs; expected_costs needs a constrained game")
        n, m = self.costs.shape[:2]
        values = self._solve_bellman(self.costs.reshape(n * m, *self.costs.shape[2:]), policy, joint)
        return (values @ self.initial).reshape(n, m)

    def constraint_violations(self, policy: np.ndarray) -> np.ndarray:
        """``max(0, J[i, j] - limits[i, j])``: how far each cost constraint is exceeded (0 where it holds)."""
        return np.maximum(0.0, self.expected_costs(policy) - self.limits)

    def uniform_policy(self) -> np.ndarray:
        """The per-agent policy that plays every legal action with equal probability, ``[n, S, A_max]``."""
        mask = self.action_mask.astype(np.float64)
        return mask / mask.sum(axis=2, keepdims=True)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        extras = "".join(
            f", {word}"
            for word, flag in (("constrained", self.is_constrained), ("POSG", self.is_partially_observable))
            if flag
        )
        return (
            f"<StochasticGame{label}: {self.n_players} players, {self.num_states} states, actions "
            f"{'x'.join(map(str, self.num_actions))}, gamma={self.gamma}{extras}>"
        )


def policy_from_profile(game: StochasticGame, per_state: Sequence[Sequence[Sequence[float]]]) -> np.ndarray:
    """Pad a nested per-agent, per-state list of action distributions into the ``[n, S, A_max]`` contract."""
    policy = np.zeros((game.n_players, game.num_states, game.max_actions))
    for i, rows in enumerate(per_state):
        for s, row in enumerate(rows):
            policy[i, s, : len(row)] = row
    return game.check_policy(policy)
