"""Utilities, best responses, regrets, NashConv and exploitability on exact games.

One set of function names serves both exact models; the implementation is picked by the game's type
(``functools.singledispatch``):

* **Normal-form games** (:class:`~marlkit.games.NormalFormGame`). A mixed profile σ is one probability vector per
  player. The deviation payoffs of player i are U_i(a_i, σ_-i) for every own action a_i (a tensor contraction of
  the payoff tensor with the other players' strategies; Shoham & Leyton-Brown 2009, Def. 3.2.7).
* **Stochastic games** (:class:`~marlkit.games.StochasticGame`). A policy is per-agent tabular ``[n, S, A_max]``.
  The others' fixed policies induce an MDP for player i (Filar & Vrieze 1997, §3.1); its optimal value,
  computed exactly by policy iteration (Howard 1960; Puterman 1994, §6.4), is the best-response value U_i^BR.

The regret (gain) of player i is ``max_{σ_i'} U_i(σ_i', σ_-i) - U_i(σ)``, and

    NashConv(σ) = Σ_i regret_i(σ)          (Lanctot et al. 2017, "A unified game-theoretic approach to MARL",
                                             NeurIPS, §3; OpenSpiel's ``nash_conv``),

which is >= 0 and is 0 exactly at a Nash equilibrium. In a two-player constant-sum game the exploitability is the
mean gain ``NashConv / 2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import singledispatch
from typing import NamedTuple

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.normal_form import MixedProfile, NormalFormGame
from marlkit.games.properties import require_two_player_zero_sum
from marlkit.games.stochastic import StochasticGame

BEST_RESPONSE_TOLERANCE = 1e-9
"""Absolute tolerance within which a pure action counts as a best response (docs/architecture.md, Numerics)."""

_EINSUM_MAX_SIZE = 4096
"""Up to this many payoff entries one naive ``einsum`` beats a chain of ``tensordot`` calls (measured)."""


class PureBestResponse(NamedTuple):
    """Best response of one player in a normal-form game: its value and every pure action that attains it."""

    value: float
    actions: tuple[int, ...]


class PolicyBestResponse(NamedTuple):
    """Best response of one player in a stochastic game to the others' fixed policies.

    Attributes:
        value: U_i^BR = μ_0 · V*, the optimal value of the MDP the others induce.
        state_values: V*[s] of that MDP (0 at terminal states).
        policy: the full ``[n, S, A_max]`` policy with the player's rows replaced by a deterministic best response
            (the others' rows unchanged).
        upper_bound: True for a partially observable game, where a state-based best response may use information
            the player does not have, so ``value`` is an upper bound on what an observation-based policy reaches.
    """

    value: float
    state_values: np.ndarray
    policy: np.ndarray
    upper_bound: bool


# ------------------------------------------------------------------------------------------- normal form
def contract_others(payoff: np.ndarray, profile: Sequence[np.ndarray], keep: Sequence[int]) -> np.ndarray:
    """Contract one player's payoff tensor ``[A_1, ..., A_n]`` with every strategy except those in ``keep``.

    Returns a tensor over the kept players' actions (in increasing player order): with ``keep=(i,)`` it is the
    deviation-payoff vector U(a_i, σ_-i), with ``keep=(i, j)`` the matrix U(a_i, a_j, σ_-ij). A low-level helper:
    no validation (callers pass checked profiles). Cost is O(Π_k A_k) per call; no Python loop over joint actions.
    """
    kept = sorted(set(keep))
    if payoff.size <= _EINSUM_MAX_SIZE:  # one C call: least overhead on small tensors
        operands: list = [payoff, list(range(payoff.ndim))]
        for j in range(payoff.ndim):
            if j not in kept:
                operands += [profile[j], [j]]
        return np.asarray(np.einsum(*operands, kept), dtype=np.float64)
    u = payoff
    for j in reversed(range(payoff.ndim)):  # descending, so lower axis numbers stay valid
        if j not in kept:
            u = np.tensordot(u, profile[j], axes=([j], [0]))
    return np.asarray(u, dtype=np.float64)


def deviation_payoffs(game: NormalFormGame, profile: MixedProfile) -> list[np.ndarray]:
    """For each player i the vector ``U_i(a_i, σ_-i)`` over own actions a_i (Shoham & Leyton-Brown, Def. 3.2.7)."""
    sigma = game.check_profile(profile)
    return [contract_others(game.payoffs[i], sigma, (i,)) for i in range(game.n_players)]


def _normal_form_regrets(game: NormalFormGame, sigma: list[np.ndarray]) -> np.ndarray:
    """Per-player gains ``max_a U_i(a, σ_-i) - U_i(σ)`` of a checked profile.

    Computed as Σ_a σ_i(a) (max - U_i(a, σ_-i)), a sum of non-negative terms, so rounding never makes a gain
    negative (a profile may sum to 1 only within the validation tolerance; negative rounding is clipped to 0).
    """
    gains = np.empty(game.n_players)
    for i in range(game.n_players):
        dev = contract_others(game.payoffs[i], sigma, (i,))
        gains[i] = max(0.0, float(sigma[i] @ (dev.max() - dev)))
    return gains


def _check_player(player: int, n_players: int) -> int:
    if not isinstance(player, int | np.integer) or not (0 <= int(player) < n_players):
        raise InvalidGameError(f"player: expected an index in 0..{n_players - 1}, got {player!r}")
    return int(player)


def _unsupported(name: str, game: object) -> NotApplicableError:
    return NotApplicableError(
        f"{name}: expected a NormalFormGame or a StochasticGame, got {type(game).__name__}; "
        "build the game with marlkit.games first"
    )


@singledispatch
def best_response(
    game: object, profile: object, player: int, tol: float = BEST_RESPONSE_TOLERANCE
) -> PureBestResponse | PolicyBestResponse:
    """Best response of ``player`` to the others' strategies in ``profile``.

    * Normal-form game, ``profile`` a mixed profile: returns :class:`PureBestResponse` ``(value, actions)`` with
      value = max_a U_i(a, σ_-i) and every pure action within ``tol`` of it (a mixed best response is any mixture of
      them).
    * Stochastic game, ``profile`` a policy ``[n, S, A_max]``: returns :class:`PolicyBestResponse`, solving the
      induced MDP exactly by policy iteration (strict-improvement margin ``tol``, default 1e-10 there).
    """
    raise _unsupported("best_response", game)


@best_response.register
def _(game: NormalFormGame, profile: Sequence, player: int, tol: float = BEST_RESPONSE_TOLERANCE) -> PureBestResponse:
    sigma = game.check_profile(profile)
    i = _check_player(player, game.n_players)
    dev = contract_others(game.payoffs[i], sigma, (i,))
    value = float(dev.max())
    return PureBestResponse(value, tuple(int(a) for a in np.flatnonzero(dev >= value - tol)))


@singledispatch
def best_response_values(game: object, profile: object) -> np.ndarray:
    """``[n]``: each player's best-response value max_{σ_i'} U_i(σ_i', σ_-i) (U_i^BR in a stochastic game)."""
    raise _unsupported("best_response_values", game)


@best_response_values.register
def _(game: NormalFormGame, profile: Sequence) -> np.ndarray:
    return np.array([dev.max() for dev in deviation_payoffs(game, profile)])


@singledispatch
def regrets(game: object, profile: object) -> np.ndarray:
    """``[n]``: each player's gain from a unilateral best-response deviation, max U_i(·, σ_-i) - U_i(σ) >= 0.

    Works for a normal-form game (``profile`` a mixed profile) and a stochastic game (``profile`` a per-agent
    policy ``[n, S, A_max]``; for a POSG the state-based gain is an upper bound, see :func:`best_response`).
    """
    raise _unsupported("regrets", game)


@regrets.register
def _(game: NormalFormGame, profile: Sequence) -> np.ndarray:
    return _normal_form_regrets(game, game.check_profile(profile))


def nash_conv(game: NormalFormGame | StochasticGame, profile: MixedProfile | np.ndarray) -> float:
    """NashConv = Σ_i (max_{σ_i'} U_i(σ_i', σ_-i) - U_i(σ)) (Lanctot et al. 2017, §3; OpenSpiel ``nash_conv``).

    Non-negative, and 0 exactly at a Nash equilibrium. Applies to any game with any number of players; for a
    stochastic game the best responses are state-based (an upper bound in a POSG).
    """
    return float(np.sum(regrets(game, profile)))


# ---------------------------------------------------------------------------------------- exploitability
def exploitability(game: NormalFormGame | StochasticGame, profile: MixedProfile | np.ndarray) -> float:
    """Exploitability of a profile in a two-player zero-sum (constant-sum) game: the mean gain NashConv / 2.

    Equals ``(BR_0(σ_1) + BR_1(σ_0) - c) / 2`` for constant sum c: how much a best-responding opponent wins, on
    average over the two seats, beyond the value (Lanctot et al. 2017, §3; OpenSpiel ``exploitability``). Raises
    :class:`NotApplicableError` for other games (the zero-/constant-sum rule is
    :func:`marlkit.games.properties.constant_sum_total`).
    """
    if not isinstance(game, NormalFormGame | StochasticGame):
        raise _unsupported("exploitability", game)
    require_two_player_zero_sum(
        game,
        "exploitability",
        allow_constant_sum=True,
        applies_to="two-player zero-sum (constant-sum) games",
        instead="Use nash_conv, which applies to any game.",
    )
    return nash_conv(game, profile) / 2.0


# ------------------------------------------------------------------------------------------- stochastic
def induced_mdp(game: StochasticGame, policy: np.ndarray, player: int) -> tuple[np.ndarray, np.ndarray]:
    """The MDP the others' fixed policies induce for ``player``: rewards ``[S, A_i]`` and transitions ``[S, A_i, S']``.

    R(s, a_i) = Σ_{a_-i} π_-i(a_-i | s) R_i(s, a_i, a_-i), P(s' | s, a_i) likewise (Filar & Vrieze 1997, §3.1).
    Rows of terminal states are zero (their value is 0); ``policy`` must already be checked.
    """
    n, S = game.n_players, game.num_states
    others = np.ones((S,) + (1,) * n)
    for j, m in enumerate(game.num_actions):
        if j != player:
            view = [1] * (n + 1)
            view[0], view[j + 1] = S, m
            others = others * policy[j, :, :m].reshape(view)
    axes = tuple(1 + j for j in range(n) if j != player)
    live = (~game.terminal).astype(np.float64)
    R = (others * game.rewards[player]).sum(axis=axes) * live[:, None]
    P = (others[..., None] * game.transitions).sum(axis=axes) * live[:, None, None]
    return R, P


def _policy_iteration(
    R: np.ndarray, P: np.ndarray, legal: np.ndarray, gamma: float, tol: float, max_iter: int = 10_000
) -> tuple[np.ndarray, np.ndarray]:
    """Howard's policy iteration (Puterman 1994, §6.4) on an MDP with action mask ``legal [S, A]``.

    Each policy is evaluated exactly (a linear solve); an action replaces the current one only if it improves the
    Q-value by more than ``tol`` (relative to max(1, |Q|)), so the loop terminates and the final deterministic
    policy is optimal to within ``tol · max(1, |Q|) / (1 - γ)``. Returns (V [S], actions [S]).
    """
    S = R.shape[0]
    actions = np.argmax(legal, axis=1)  # first legal action
    rows = np.arange(S)
    for _ in range(max_iter):
        V = np.linalg.solve(np.eye(S) - gamma * P[rows, actions], R[rows, actions])
        Q = np.where(legal, R + gamma * P @ V, -np.inf)
        best = Q.argmax(axis=1)
        current = Q[rows, actions]
        improve = Q[rows, best] > current + tol * np.maximum(1.0, np.abs(current))
        if not np.any(improve):
            return V, actions
        actions = np.where(improve, best, actions)
    raise RuntimeError(f"policy iteration did not converge in {max_iter} iterations (tol={tol})")


@best_response.register
def _(game: StochasticGame, profile: np.ndarray, player: int, tol: float = 1e-10) -> PolicyBestResponse:
    """Exact state-based best response by policy iteration on the induced MDP.

    Illegal actions (``game.action_mask``) are never chosen and terminal states have value 0. Costs of a
    constrained game are ignored (this is the unconstrained best response). In a POSG the best response may
    condition on the hidden state, so its value is an upper bound on what the player can reach from its
    observations (``upper_bound=True``); an exact observation-based best response is a POMDP and is not computed.
    """
    pi = game.check_policy(profile)
    i = _check_player(player, game.n_players)
    R, P = induced_mdp(game, pi, i)
    m = game.num_actions[i]
    V, actions = _policy_iteration(R, P, game.action_mask[i, :, :m], game.gamma, tol)
    response = np.array(pi, dtype=np.float64)
    response[i] = 0.0
    response[i, np.arange(game.num_states), actions] = 1.0
    return PolicyBestResponse(float(game.initial @ V), V, response, game.is_partially_observable)


@best_response_values.register
def _(game: StochasticGame, profile: np.ndarray) -> np.ndarray:
    return np.array([best_response(game, profile, i).value for i in range(game.n_players)])


@regrets.register
def _(game: StochasticGame, profile: np.ndarray) -> np.ndarray:
    # U_i^BR >= U_i(π) exactly; both come from exact linear solves, so clip rounding below 0.
    return np.maximum(0.0, best_response_values(game, profile) - game.expected_return(profile))
