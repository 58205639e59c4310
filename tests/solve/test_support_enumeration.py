"""All Nash equilibria of small n-player games by exact support enumeration (issue 14, item 2)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from marlkit.games import NormalFormGame
from marlkit.games.catalog import make
from marlkit.solve.best_response import nash_conv
from marlkit.solve.n_player import equilibria as qre_equilibria
from marlkit.solve.nash import nash_equilibria
from marlkit.solve.support_enumeration import METHOD, all_equilibria, enumerable, exact_payoffs


def _same(p: tuple[np.ndarray, ...], q: tuple[np.ndarray, ...], atol: float = 1e-6) -> bool:
    return all(np.allclose(a, b, atol=atol) for a, b in zip(p, q, strict=True))


def _generic(shape: tuple[int, ...], seed: int) -> NormalFormGame:
    """Integer payoffs in a wide range: generic in practice (no ties), and exact rationals of small size."""
    rng = np.random.default_rng(seed)
    return NormalFormGame(rng.integers(-1000, 1001, size=(len(shape), *shape)).astype(np.float64))


def test_volunteers_dilemma_has_exactly_seven_equilibria() -> None:
    """Diekmann (1985), 3 players, benefit 1, cost 0.5: a volunteer gets 0.5, an ignorer 1 if someone volunteered.

    * pure: exactly one volunteers (3);
    * two mix, one ignores: player i is indifferent iff 0.5 = P(j volunteers) -> 1/2 each; the ignorer then gets
      1 - (1/2)^2 = 3/4 >= 1/2 (3);
    * symmetric: indifference 0.5 = 1 - q^2 with q = P(ignore), so q = 1/√2 and P(volunteer) = 1 - 1/√2.
    """
    game = make("volunteers-dilemma")
    result = nash_equilibria(game)
    assert result.complete and not result.degenerate and result.method == METHOD and len(result) == 7
    profiles = [e.profile for e in result]
    V, N, H = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.5, 0.5])  # volunteer, ignore, half
    q = 1 / np.sqrt(2)
    expected = [
        (V, N, N), (N, V, N), (N, N, V),
        (H, H, N), (H, N, H), (N, H, H),
        (np.array([1 - q, q]),) * 3,
    ]  # fmt: skip
    for e in expected:
        assert sum(_same(p, e, atol=1e-15) for p in profiles) == 1, e
    assert all(e.epsilon <= 1e-15 for e in result)
    np.testing.assert_allclose(result[6].values, [0.5, 0.5, 0.5], atol=1e-15)  # the symmetric one: v = b - c


def test_exact_payoffs_are_a_positive_affine_image() -> None:
    game = NormalFormGame(np.array([[[0.1, 0.3], [-0.25, 2.0]], [[1.0, 1.0], [3.5, -1.0]]]))
    ints = exact_payoffs(game)
    for i in range(2):
        x, y = game.payoffs[i].reshape(-1), np.array(ints[i].reshape(-1), dtype=np.float64)
        lo, hi = int(np.argmin(x)), int(np.argmax(x))
        slope = (y[hi] - y[lo]) / (x[hi] - x[lo])
        assert y[lo] == 0 and slope > 0 and np.allclose(y, slope * (x - x[lo]), rtol=1e-12, atol=0)


@pytest.mark.parametrize(("shape", "seeds"), [((2, 2, 2), range(8)), ((2, 2, 2, 2), range(2)), ((3, 2, 2), range(2))])
def test_random_games_are_complete_and_certified(shape: tuple[int, ...], seeds: range) -> None:
    """Every listed equilibrium has NashConv 0 (up to float rounding) and exactly one support; an independent
    search (logit-QRE homotopy from several random priors, then Newton on the guessed support, certified by
    NashConv) never finds an equilibrium outside the list."""
    for seed in seeds:
        game = _generic(shape, seed)
        result = all_equilibria(game)
        assert result.complete, (shape, seed, result.notes)
        assert len(result) % 2 == 1  # a generic game has an odd number of equilibria (Wilson 1971)
        for e in result:
            assert nash_conv(game, e.profile) <= 1e-9 * 1000
        for a, b in itertools.combinations(result, 2):
            assert not _same(a.profile, b.profile)
        search = qre_equilibria(game, starts=3 if len(shape) < 4 else 2, seed=seed)
        for found in search:
            assert any(_same(found.profile, e.profile, atol=1e-5) for e in result), (shape, seed, found.profile)


def test_against_gambit_enumpoly_when_installed(gambit) -> None:
    for seed in range(3):
        game = _generic((2, 2, 2), seed)
        g = gambit.game(*[game.payoffs[i].astype(int) for i in range(3)])
        theirs = gambit.nash.enumpoly_solve(g).equilibria
        ours = all_equilibria(game)
        assert len(theirs) == len(ours)
        for eq in theirs:
            profile = tuple(gambit.profile(g, eq))
            assert any(_same(profile, e.profile, atol=1e-6) for e in ours)


@pytest.mark.slow
def test_a_3x3x3_game_is_complete_and_certified() -> None:
    """Integer payoffs up to 1000 (measured 26 s on a loaded shared 2-core CPU, 5-10 s for payoffs up to 9: the
    Gröbner bases grow with the payoffs' bit size; a timing, not asserted). Checked against the independent search
    as above."""
    game = _generic((3, 3, 3), 1)
    result = all_equilibria(game)
    assert result.complete
    assert all(nash_conv(game, e.profile) <= 1e-6 for e in result)
    for found in qre_equilibria(game, starts=2, seed=1):
        assert any(_same(found.profile, e.profile, atol=1e-5) for e in result), found.profile


def test_continuum_is_reported_not_listed_as_complete() -> None:
    """The 3-player minority game: while two players take opposite sides, the third is in the minority whatever
    it does and gets 0 either way, so any mix of it is an equilibrium — a continuum; the set is not claimed
    complete (nor finite), and every listed member is an equilibrium."""
    game = make("minority-game", players=3)
    result = nash_equilibria(game)
    assert not result.complete and result.degenerate
    assert any("not shown finite" in note for note in result.notes)
    assert all(nash_conv(game, e.profile) <= 1e-12 for e in result)


def test_size_rule_and_routing() -> None:
    assert enumerable(make("volunteers-dilemma")) and enumerable(NormalFormGame(np.zeros((3, 3, 3, 3))))
    assert enumerable(NormalFormGame(np.zeros((4, 2, 2, 2, 2))))
    assert not enumerable(NormalFormGame(np.zeros((5, 2, 2, 2, 2, 2))))  # 5 players
    large = nash_equilibria(make("public-goods", players=6))
    assert not large.complete and any("too large for the complete support enumeration" in n for n in large.notes)


def test_costly_exact_arithmetic_is_skipped_and_reported_incomplete() -> None:
    """Full-precision float payoffs become ~62-bit integers; the large support systems are then skipped (their
    Gröbner bases took minutes) and the result says it may be incomplete — never "all equilibria" — while what it
    lists (exact enumeration of the small supports plus the homotopy search) is certified."""
    game = NormalFormGame(np.random.default_rng(1).standard_normal((3, 3, 3, 3)))
    result = nash_equilibria(game)
    assert not result.complete and any("skipped" in note for note in result.notes)
    assert len(result) >= 1 and all(nash_conv(game, e.profile) <= 1e-6 for e in result)
