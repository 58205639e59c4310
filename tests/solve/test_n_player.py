"""n-player Nash: exact pure equilibria, and the logit-homotopy + support-Newton mixed equilibrium."""

from __future__ import annotations

import itertools

import nashpy
import numpy as np
import pytest

from marlkit.errors import InvalidGameError
from marlkit.games import NormalFormGame
from marlkit.solve.best_response import nash_conv
from marlkit.solve.n_player import ApproximationWarning, equilibria, mixed_equilibrium, pure_equilibria

RPS_A = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
MATCHING_PENNIES = NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]])
RPS = NormalFormGame([RPS_A, -RPS_A])
# Shapley 1964, "Some topics in two-person games": the unique equilibrium is both uniform (fictitious play cycles).
SHAPLEY = NormalFormGame([[[0, 1, 0], [0, 0, 1], [1, 0, 0]], [[0, 0, 1], [1, 0, 0], [0, 1, 0]]], name="Shapley's game")
PD = NormalFormGame([[[-1, -4], [0, -3]], [[-1, 0], [-4, -3]]])  # (C, D); (D, D) unique equilibrium


def jordan_game() -> NormalFormGame:
    """Jordan 1993 (GEB 5, "Three problems in learning mixed-strategy Nash equilibria"), cyclic matching pennies:
    player 0 wants to match player 1, player 1 to match player 2, player 2 to mismatch player 0. With p, q, r the
    heads probabilities, player 0's best reply is heads iff q > 1/2, player 1's iff r > 1/2, player 2's iff
    p < 1/2; no pure profile and no partly mixed profile survives this cycle, so (1/2, 1/2, 1/2) is the unique
    equilibrium."""
    u = np.zeros((3, 2, 2, 2))
    for a in itertools.product(range(2), repeat=3):
        u[(0, *a)] = 1 if a[0] == a[1] else -1
        u[(1, *a)] = 1 if a[1] == a[2] else -1
        u[(2, *a)] = 1 if a[2] != a[0] else -1
    return NormalFormGame(u, name="Jordan's game")


def brute_force_pure(game: NormalFormGame) -> set[tuple[int, ...]]:
    found = set()
    for joint in itertools.product(*map(range, game.num_actions)):
        stable = True
        for i, m in enumerate(game.num_actions):
            for b in range(m):
                dev = list(joint)
                dev[i] = b
                if game.payoffs[(i, *dev)] > game.payoffs[(i, *joint)]:
                    stable = False
        if stable:
            found.add(joint)
    return found


# ------------------------------------------------------------------------------------------------ pure
@pytest.mark.parametrize("seed", range(8))
def test_pure_equilibria_match_brute_force_on_three_player_games(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # small integer payoffs: many ties, so weak equilibria are exercised too
    game = NormalFormGame(rng.integers(0, 4, size=(3, 2, 3, 3)).astype(float))
    result = pure_equilibria(game)
    found = {tuple(int(np.argmax(p)) for p in e.profile) for e in result}
    assert found == brute_force_pure(game)
    assert result.complete
    assert all(e.is_pure and e.epsilon == 0.0 for e in result)


def test_pure_equilibria_of_classic_games() -> None:
    assert [e.supports for e in pure_equilibria(PD)] == [((1,), (1,))]
    assert len(pure_equilibria(MATCHING_PENNIES)) == 0
    coordination = NormalFormGame([np.eye(2), np.eye(2)])
    assert [e.supports for e in pure_equilibria(coordination)] == [((0,), (0,)), ((1,), (1,))]
    assert not pure_equilibria(coordination).degenerate
    assert pure_equilibria(NormalFormGame(np.zeros((2, 2, 2)))).degenerate


# ----------------------------------------------------------------------------------------------- mixed
@pytest.mark.parametrize(
    ("game", "expected"),
    [
        (MATCHING_PENNIES, [np.full(2, 0.5)] * 2),
        (RPS, [np.full(3, 1 / 3)] * 2),
        (SHAPLEY, [np.full(3, 1 / 3)] * 2),
        (jordan_game(), [np.full(2, 0.5)] * 3),
        (PD, [np.eye(2)[1]] * 2),
    ],
)
def test_mixed_equilibrium_of_games_with_a_unique_equilibrium(game: NormalFormGame, expected) -> None:
    eq = mixed_equilibrium(game)
    assert eq.epsilon <= 1e-12
    assert eq.epsilon == pytest.approx(nash_conv(game, eq.profile), abs=0)
    for p, q in zip(eq.profile, expected, strict=True):
        np.testing.assert_allclose(p, q, atol=1e-12)
    assert "logit" in eq.method and "uncertified" not in eq.method


def test_shapley_game_has_a_unique_equilibrium_by_vertex_enumeration() -> None:
    # the oracle agrees that the uniform profile is the only equilibrium of Shapley's game
    eqs = list(nashpy.Game(SHAPLEY.payoffs[0], SHAPLEY.payoffs[1]).vertex_enumeration())
    assert len(eqs) == 1
    np.testing.assert_allclose(eqs[0][0], np.full(3, 1 / 3))


@pytest.mark.parametrize(("seed", "shape"), [(s, sh) for s in range(6) for sh in [(2, 2), (3, 3), (3, 4), (4, 4)]])
def test_two_player_result_is_a_vertex_enumeration_equilibrium(seed: int, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(1000 * seed + shape[0] * 10 + shape[1])
    A, B = rng.normal(size=shape), rng.normal(size=shape)
    eq = mixed_equilibrium(NormalFormGame([A, B]))
    assert eq.epsilon <= 1e-9
    oracle = list(nashpy.Game(A, B).vertex_enumeration())
    distance = min(max(np.abs(eq.profile[0] - x).max(), np.abs(eq.profile[1] - y).max()) for x, y in oracle)
    assert distance <= 1e-6


@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 3, 3)])
def test_random_three_player_games_certify_on_at_least_95_percent(shape: tuple[int, ...]) -> None:
    # McKelvey & McLennan 1996 (Handbook of Computational Economics, §6): generic 3-player 2x2x2 games have at
    # most 9 totally mixed equilibria, so polishing must pick the right support and root. Measured: 50/50 on
    # both shapes (max NashConv ~1e-15).
    epsilons = []
    for seed in range(50):
        game = NormalFormGame(np.random.default_rng(seed).normal(size=(3, *shape)))
        eq = mixed_equilibrium(game)  # an uncertified result warns (ApproximationWarning) and counts as a failure
        assert eq.epsilon == pytest.approx(nash_conv(game, eq.profile), abs=0)
        epsilons.append(eq.epsilon)
    epsilons = np.array(epsilons)
    rate = float(np.mean(epsilons <= 1e-9))
    print(f"{shape}: certified {rate:.0%}, failures' NashConv {epsilons[epsilons > 1e-9].tolist()}")
    assert rate >= 0.95


def test_four_player_game_and_invariance_under_affine_payoff_maps() -> None:
    rng = np.random.default_rng(11)
    game = NormalFormGame(rng.normal(size=(4, 2, 3, 2, 2)))
    eq = mixed_equilibrium(game)
    assert eq.epsilon <= 1e-9
    # Positive affine maps per player leave equilibria (and the logit branch, after [0, 1] rescaling) unchanged.
    scaled = NormalFormGame(game.payoffs * np.array([2.0, 0.5, 10.0, 3.0])[:, None, None, None, None] + 7.0)
    eq2 = mixed_equilibrium(scaled)
    for p, q in zip(eq.profile, eq2.profile, strict=True):
        np.testing.assert_allclose(p, q, atol=1e-9)


def test_one_player_game() -> None:
    game = NormalFormGame([[1.0, 3.0, 2.0]])
    assert [e.supports for e in pure_equilibria(game)] == [((1,),)]
    np.testing.assert_allclose(mixed_equilibrium(game).profile[0], [0, 1, 0], atol=1e-12)


def test_uncertified_result_is_flagged_and_warned() -> None:
    game = NormalFormGame(np.random.default_rng(5).normal(size=(3, 3, 3, 3)))
    with pytest.warns(ApproximationWarning, match="NashConv"):
        eq = mixed_equilibrium(game, tol=1e-300, max_steps=1, restarts=0)
    assert eq.method.endswith("(uncertified)")
    assert eq.epsilon == pytest.approx(nash_conv(game, eq.profile), abs=0)


def test_equilibria_collects_pure_and_mixed_without_duplicates() -> None:
    # Coordination game: pure (0, 0), (1, 1) and the mixed (1/2, 1/2). The symmetric principal branch stays on
    # the mixed equilibrium through the pitchfork at λ = 2 (a degenerate path); random priors lead to pure ones.
    coordination = NormalFormGame([np.eye(2), np.eye(2)])
    result = equilibria(coordination, starts=4)
    assert not result.complete
    assert all(e.epsilon <= 1e-9 for e in result)
    profiles = [np.concatenate(e.profile) for e in result]
    assert len(profiles) == 3
    for a, b in itertools.combinations(profiles, 2):
        assert np.abs(a - b).max() > 1e-6
    assert any(np.allclose(p, 0.5) for p in profiles)


def test_bad_input() -> None:
    with pytest.raises(InvalidGameError, match="tol"):
        mixed_equilibrium(RPS, tol=0.0)
    with pytest.raises(InvalidGameError, match="NormalFormGame"):
        mixed_equilibrium(RPS_A)
    with pytest.raises(InvalidGameError, match="max_steps"):
        equilibria(RPS, max_steps=0)
