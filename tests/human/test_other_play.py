"""Other-Play (Hu, Lerer, Peysakhovich & Foerster 2020): exact action symmetries, the Other-Play game, and the
lever game's published values; a central Q-learner trained on the Other-Play game finds the OP optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from marlkit.errors import NotApplicableError
from marlkit.games import NormalFormGame
from marlkit.games.catalog import make
from marlkit.games.properties.action_symmetry import action_symmetries, is_symmetry
from marlkit.human.other_play import (
    cross_play_value,
    lever_game,
    other_play_game,
    other_play_optimum,
)


def brute_force_orbits(game: NormalFormGame) -> tuple:
    """The oracle: every tuple of permutations checked, orbits joined along each symmetry found."""
    sizes = game.payoffs.shape[1:]
    parent = [list(range(size)) for size in sizes]

    def find(p: list[int], x: int) -> int:
        while p[x] != x:
            x = p[x]
        return x

    for perms in itertools.product(*(itertools.permutations(range(size)) for size in sizes)):
        if is_symmetry(game, perms):
            for i, sigma in enumerate(perms):
                for x, y in enumerate(sigma):
                    parent[i][find(parent[i], x)] = find(parent[i], y)
    orbits = []
    for p in parent:
        groups: dict[int, list[int]] = {}
        for a in range(len(p)):
            groups.setdefault(find(p, a), []).append(a)
        orbits.append(tuple(tuple(sorted(g)) for g in sorted(groups.values())))
    return tuple(orbits)


def planted(rng: np.random.Generator, sizes: tuple[int, ...]) -> NormalFormGame:
    """A random game made invariant under a random relabelling φ (payoffs averaged over φ's powers), with a few
    payoff ties so the search has decoys."""
    n = len(sizes)
    payoffs = rng.integers(0, 3, size=(n, *sizes)).astype(float)
    perms = [rng.permutation(size) for size in sizes]
    total, current = np.zeros_like(payoffs), payoffs
    order = int(np.lcm.reduce([max(1, _order(p)) for p in perms]))
    for _ in range(order):
        total += current
        current = current[(slice(None), *np.ix_(*perms))]
    return NormalFormGame(total / order)


def _order(perm: np.ndarray) -> int:
    identity, current, k = np.arange(len(perm)), perm.copy(), 1
    while not np.array_equal(current, identity):
        current, k = current[perm], k + 1
    return k


@pytest.mark.parametrize("sizes", [(3, 3), (4, 3), (2, 2, 2), (3, 2, 2)])
def test_orbits_equal_brute_force_on_random_games(sizes: tuple[int, ...]) -> None:
    rng = np.random.default_rng(len(sizes) * 10 + sizes[0])
    for _ in range(15):
        game = (
            planted(rng, sizes)
            if rng.random() < 0.7
            else NormalFormGame(rng.integers(0, 2, (len(sizes), *sizes)).astype(float))
        )
        assert action_symmetries(game).orbits == brute_force_orbits(game)


def test_catalog_games_have_the_symmetries_their_tables_show() -> None:
    assert action_symmetries(make("penalty")).orbits == (((0, 2), (1,)), ((0, 2), (1,)))  # the two optima
    assert action_symmetries(make("climbing")).trivial
    assert action_symmetries(make("rock-paper-scissors")).orbits == (((0, 1, 2),), ((0, 1, 2),))  # the cycle


def test_lever_game_published_values() -> None:
    """Hu et al. (2020, §3): self-play picks one of the nine levers worth 1 and scores 1 with itself but 1/9 with
    an independently trained partner; Other-Play picks the lever worth 0.9 and scores 0.9 with both."""
    game = lever_game()
    result = other_play_optimum(game)
    assert result.symmetries.orbits[0] == (tuple(range(9)), (9,))
    assert len(result.self_play_optima) == 9 and result.self_play_value == 1.0
    assert result.self_play_cross_play == pytest.approx(1 / 9, abs=1e-12)
    assert result.other_play_optima == ((9, 9),)
    assert result.other_play_value == pytest.approx(0.9, abs=1e-12)
    assert result.other_play_cross_play == pytest.approx(0.9, abs=1e-12)
    bar = other_play_game(game).payoffs[0]  # Ū(a, b) = mean of U(a, c) over c in b's orbit
    assert bar[3, 5] == pytest.approx(1 / 9) and bar[9, 9] == pytest.approx(0.9) and bar[9, 0] == 0.0


def test_cross_play_value_is_the_symmetry_average() -> None:
    game = lever_game(levers=4, low=0.5)
    first = np.array([0.5, 0.5, 0.0, 0.0])
    second = np.array([0.0, 1.0, 0.0, 0.0])
    # lever 1 relabelled uniformly over {0, 1, 2}: a match with probability 1/3 when first plays 0 or 1
    assert cross_play_value(game, first, second) == pytest.approx([1 / 3, 1 / 3])
    with pytest.raises(NotApplicableError, match="sums to"):
        cross_play_value(game, [0.5, 0.4, 0.0, 0.0], second)


def test_central_q_on_the_other_play_game_finds_the_op_optimum() -> None:
    """Central Q-learning converges to an optimal joint action of a deterministic common-payoff game, so trained
    on the game it learns a self-play convention (a 1.0 lever; cross-play 1/9) and trained on the Other-Play game
    Ū it learns the 0.9 lever (cross-play 0.9) — on every one of 4 seeds (10,000 steps: 100 joint actions each
    tried ~100 times under its exploration)."""
    from marlkit.agents.tabular import make_learner
    from marlkit.train import train

    game = lever_game()
    for trained_on, expected in ((game, 1 / 9), (other_play_game(game), 0.9)):
        history = train(trained_on, make_learner("cql", trained_on), 10_000, seeds=4, key=1)
        for policy in history.policy[:, -1, :, 0]:  # [n, A] per seed (ε-greedy: its greedy action is learned)
            greedy = np.eye(10)[policy.argmax(axis=-1)]
            assert cross_play_value(game, greedy[0], greedy[1]) == pytest.approx([expected, expected], abs=1e-12)


def test_other_play_refuses_what_it_does_not_cover() -> None:
    with pytest.raises(NotApplicableError, match="2-player"):
        other_play_game(make("public-goods", players=3))
    with pytest.raises(NotApplicableError, match="common"):
        other_play_optimum(make("matching-pennies"))
    with pytest.raises(NotApplicableError, match="levers"):
        lever_game(levers=1)
