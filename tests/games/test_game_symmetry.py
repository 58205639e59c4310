"""Exact symmetry groups of stochastic games (:mod:`marlkit.games.properties.game_symmetry`).

Oracle: every relabelling (a permutation of the states and, at every non-terminal state, of each player's actions)
tried by brute force and kept when it maps the game's arrays onto themselves — checked by relabelling the arrays
here, independently of the module. On matrix games the group's action orbits must be those of
:mod:`marlkit.games.properties.action_symmetry`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.games.catalog import make
from marlkit.games.properties import game_symmetry
from marlkit.games.properties.action_symmetry import action_symmetries
from marlkit.games.properties.game_symmetry import GameSymmetry, game_symmetries, is_game_symmetry
from marlkit.human.other_play import lever_game
from marlkit.human.other_play_stochastic import corridor_game


def relabel_arrays(arrays: tuple[np.ndarray, ...], states: tuple, actions: tuple) -> tuple[np.ndarray, ...]:
    """φ(G) of ``(R, T, μ, terminal, mask)``: R'(ψ s, σ^s a) = R(s, a), T'(ψ s' | ψ s, σ^s a) = T(s' | s, a),
    μ'(ψ s) = μ(s), masks and terminal states likewise."""
    rewards, transitions, initial, terminal, action_mask = arrays
    S, A0, A1 = rewards.shape[1:]
    R, T, mask = np.zeros_like(rewards), np.zeros_like(transitions), np.zeros_like(action_mask)
    mu, term = np.zeros(S), np.zeros(S, dtype=bool)
    for s in range(S):
        t = states[s]
        mu[t], term[t] = initial[s], terminal[s]
        for i, m in enumerate((A0, A1)):
            mask[i, t, [actions[i][s][a] for a in range(m)]] = action_mask[i, s, :m]
        for a0 in range(A0):
            for a1 in range(A1):
                b0, b1 = actions[0][s][a0], actions[1][s][a1]
                R[:, t, b0, b1] = rewards[:, s, a0, a1]
                for s2 in range(S):
                    T[t, b0, b1, states[s2]] = transitions[s, a0, a1, s2]
    return R, T, mu, term, mask


def arrays_of(game: StochasticGame) -> tuple[np.ndarray, ...]:
    return game.rewards, game.transitions, game.initial, game.terminal, game.action_mask


def oracle(game: StochasticGame) -> set[tuple]:
    """Every symmetry by brute force, in the module's canonical form (identity at terminal states, illegal actions
    mapped order-preserving)."""
    S, A = game.num_states, game.num_actions
    live = game.legal_joint_actions() & ~game.terminal[:, None, None]
    found = set()
    terminal_rows = [tuple(range(m)) for m in A]
    for states in itertools.permutations(range(S)):
        if any(game.terminal[states[s]] != game.terminal[s] for s in range(S)):
            continue
        per_state = [
            [terminal_rows[i]] if game.terminal[s] else list(itertools.permutations(range(A[i])))
            for s in range(S)
            for i in range(2)
        ]
        for choice in itertools.product(*per_state):
            actions = tuple(tuple(choice[s * 2 + i] for s in range(S)) for i in range(2))
            R, T, mu, term, mask = relabel_arrays(arrays_of(game), states, actions)
            if not (
                np.allclose(mu, game.initial)
                and np.array_equal(term, game.terminal)
                and np.array_equal(mask[:, ~game.terminal], game.action_mask[:, ~game.terminal])
                and np.allclose(R[:, live], game.rewards[:, live])
                and np.allclose(T[live], game.transitions[live])
            ):
                continue
            found.add((states, canonical(game, states, actions)))
    return found


def canonical(game: StochasticGame, states: tuple, actions: tuple) -> tuple:
    out = []
    for i, m in enumerate(game.num_actions):
        rows = []
        for s in range(game.num_states):
            if game.terminal[s]:
                rows.append(tuple(range(m)))
                continue
            perm = list(actions[i][s])
            legal_here = game.action_mask[i, s, :m]
            illegal_here = [a for a in range(m) if not legal_here[a]]
            illegal_there = [b for b in range(m) if not game.action_mask[i, states[s], b]]
            for a, b in zip(illegal_here, illegal_there, strict=True):
                perm[a] = b
            rows.append(tuple(perm))
        out.append(tuple(rows))
    return tuple(out)


def planted_game(rng: np.random.Generator, S: int, A: int, masked: bool) -> StochasticGame:
    """A random game (small integer rewards, transitions from small integer weights, state S-1 terminal, maybe an
    illegal action here and there) averaged over the powers of a random relabelling φ (the legal actions joined over
    them), so φ is a symmetry and ties give the search decoys."""
    terminal = np.zeros(S, dtype=bool)
    terminal[-1] = True
    psi = tuple(int(x) for x in np.concatenate([rng.permutation(S - 1), [S - 1]]))
    actions = tuple(
        tuple(
            tuple(int(x) for x in rng.permutation(A)) if s < S - 1 and rng.random() < 0.7 else tuple(range(A))
            for s in range(S)
        )
        for _ in range(2)
    )
    R = rng.integers(0, 2, size=(2, S, A, A)).astype(float)
    if rng.random() < 0.5:
        R[1] = R[0]
    T = rng.integers(0, 3, size=(S, A, A, S)).astype(float) + np.eye(S)[rng.integers(0, S, size=(S, A, A))]
    mask = np.ones((2, S, A), dtype=bool)
    if masked:
        for s in range(S - 1):
            if rng.random() < 0.5:
                mask[:, s, rng.integers(A)] = False
    initial = np.eye(S)[0] + np.eye(S)[1]
    phi = GameSymmetry(psi, actions)
    order, power = 1, phi
    while not power.is_identity:
        power, order = phi.compose(power), order + 1
    current = (R, T, initial, terminal, mask)
    total_R, total_T, total_mu, common = np.zeros_like(R), np.zeros_like(T), np.zeros(S), np.zeros_like(mask)
    for _ in range(order):
        total_R, total_T, total_mu = total_R + current[0], total_T + current[1], total_mu + current[2]
        common |= current[4]
        current = relabel_arrays(current, psi, actions)
    return StochasticGame(
        total_T / total_T.sum(axis=-1, keepdims=True),
        total_R / order,
        total_mu / total_mu.sum(),
        0.9,
        terminal=terminal,
        action_mask=common,
    )


def _order(perm: np.ndarray) -> int:
    identity, current, k = np.arange(len(perm)), np.asarray(perm).copy(), 1
    while not np.array_equal(current, identity):
        current, k = np.asarray(perm)[current], k + 1
    return k


def elements(game: StochasticGame) -> set[tuple]:
    return {(g.states, g.actions) for g in game_symmetries(game).elements()}


@pytest.mark.parametrize(("S", "A", "masked"), [(3, 2, False), (4, 2, False), (3, 3, False), (4, 2, True)])
def test_group_equals_brute_force(S: int, A: int, masked: bool) -> None:
    rng = np.random.default_rng(100 * S + 10 * A + masked)
    sizes = []
    for _ in range(4):
        game = planted_game(rng, S, A, masked)
        expected = oracle(game)
        assert elements(game) == expected
        assert game_symmetries(game).order == len(expected)
        sizes.append(len(expected))
    assert max(sizes) > 1  # the planted symmetries are found, not only the identity


def test_every_element_is_an_invariance_and_the_group_is_closed() -> None:
    """Closure: the composition of two found symmetries, and the inverse of one, are found again (membership by
    sifting) and are invariances (direct check); random elements are members."""
    rng = np.random.default_rng(7)
    for game in (corridor_game(3, 2), planted_game(rng, 4, 2, False), make("two-step")):
        group = game_symmetries(game)
        listed = list(group.elements())
        assert len(listed) == group.order == len({(g.states, g.actions) for g in listed})
        for g in listed:
            assert is_game_symmetry(game, g)
        for _ in range(20):
            g, h = listed[rng.integers(len(listed))], listed[rng.integers(len(listed))]
            assert group.contains(g.compose(h)) and is_game_symmetry(game, g.compose(h))
            assert group.contains(g.inverse()) and g.compose(g.inverse()).is_identity
            assert group.contains(group.random(rng))


def test_a_relabelling_that_is_no_symmetry_is_not_a_member() -> None:
    game = corridor_game()
    group = game_symmetries(game)
    swap_start = GameSymmetry(
        states=(0, 1, 2, 3, 4),
        actions=tuple(((1, 0, 2), (0, 1, 2), (0, 1, 2), (0, 1, 2), (0, 1, 2)) for _ in range(2)),
    )  # swaps the doors without swapping the rooms
    assert not is_game_symmetry(game, swap_start) and not group.contains(swap_start)


@pytest.mark.parametrize(("rooms", "levers"), [(1, 1), (2, 2), (3, 2), (2, 3), (4, 4)])
def test_corridor_group_order(rooms: int, levers: int) -> None:
    """Φ permutes the rooms with their doors and, in every room independently, the levers: rooms! (levers!)^rooms."""
    group = game_symmetries(corridor_game(rooms, levers))
    assert group.order == math.factorial(rooms) * math.factorial(levers) ** rooms
    assert group.state_orbits()[1] == tuple(range(1, rooms + 1))


def planted_matrix(rng: np.random.Generator, sizes: tuple[int, int]) -> NormalFormGame:
    payoffs = rng.integers(0, 3, size=(2, *sizes)).astype(float)
    perms = [rng.permutation(m) for m in sizes]
    total, current = np.zeros_like(payoffs), payoffs
    for _ in range(math.lcm(*(_order(p) for p in perms))):
        total += current
        current = current[(slice(None), *np.ix_(*perms))]
    return NormalFormGame(total)


def test_matrix_games_agree_with_action_symmetry() -> None:
    rng = np.random.default_rng(3)
    games = [lever_game(), lever_game(4, 0.5), make("penalty"), make("climbing"), make("rock-paper-scissors")]
    games += [planted_matrix(rng, (3, 3)) for _ in range(10)] + [planted_matrix(rng, (4, 3)) for _ in range(5)]
    for game in games:
        group = game_symmetries(game)
        assert group.action_orbits(0) == action_symmetries(game).orbits
        if game.payoffs[0].size <= 12:  # brute force over every pair of permutations: the group's order
            count = sum(
                np.array_equal(game.payoffs[:, list(p0)][:, :, list(p1)], game.payoffs)
                for p0 in itertools.permutations(range(game.payoffs.shape[1]))
                for p1 in itertools.permutations(range(game.payoffs.shape[2]))
            )
            assert group.order == count
    assert game_symmetries(lever_game()).order == math.factorial(9)  # the nine 1.0 levers, both players alike


def test_caps_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    group = game_symmetries(lever_game())
    with pytest.raises(NotApplicableError, match="362,880 elements, more than the cap of 1,000"):
        list(group.elements(limit=1000))
    monkeypatch.setattr(game_symmetry, "MAX_NODES", 3)
    with pytest.raises(NotApplicableError, match="passed 3 nodes"):
        game_symmetries(corridor_game(3, 3))
    monkeypatch.undo()
    with pytest.raises(NotApplicableError, match="fully observed"):
        game_symmetries(make("dec-tiger"))
    with pytest.raises(InvalidGameError, match="expected a NormalFormGame or StochasticGame"):
        game_symmetries("corridor")
