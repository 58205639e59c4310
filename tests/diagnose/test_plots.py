"""Pictures: each function writes a valid PNG of the expected size, atomically; trajectories from real short
training runs on rock-paper-scissors (simplex) and matching pennies (unit square); bad shapes are refused."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from marlkit.agents.tabular import make_learner
from marlkit.diagnose import plots
from marlkit.diagnose.nonstationarity import Nonstationarity, nonstationarity
from marlkit.diagnose.results import CRITERIA, CriterionResult, SeedVerdict, Verdict
from marlkit.errors import NotApplicableError
from marlkit.games import NormalFormGame, catalog
from marlkit.train import History, train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STEPS, LOG_EVERY, SEEDS = 2000, 50, 2  # short: the pictures, not the learning, are under test


def assert_png(path: Path, inches: tuple[float, float]) -> np.ndarray:
    """``path`` is a complete PNG of ``inches`` at the module's DPI and not blank; returns its pixels."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()  # checks the chunks' CRCs: a truncated or corrupt file fails here
    with Image.open(path) as image:
        assert image.size == (round(inches[0] * plots.DPI), round(inches[1] * plots.DPI))
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    assert pixels.std() > 10.0  # something was drawn on the white background
    assert not list(path.parent.glob(".*.tmp"))  # the atomic write left no temp file behind
    return pixels


# ------------------------------------------------------------------------------------------ real histories


@pytest.fixture(scope="module")
def rps() -> tuple[NormalFormGame, History]:
    game = catalog.make("rock-paper-scissors")
    return game, train(game, make_learner("wolf-phc", game), STEPS, seeds=SEEDS, key=0, log_every=LOG_EVERY)


@pytest.fixture(scope="module")
def pennies(fp_pennies_run) -> tuple[NormalFormGame, History]:
    """Fictitious play on matching pennies, shared with the other diagnose tests (tests/diagnose/conftest.py);
    two of its seeds suffice for the pictures."""
    game, history = fp_pennies_run
    return game, history.select_seeds(slice(0, SEEDS))


def test_rps_trajectories_on_the_simplex(rps, tmp_path: Path) -> None:
    game, history = rps
    for average in (False, True):
        path = plots.plot_policy_trajectories(history, game, tmp_path / f"rps-{average}.png", average=average)
        assert path == tmp_path / f"rps-{average}.png"
        assert_png(path, (4.6 * 2 + 0.8, 5.2))  # one triangle per agent


def test_pennies_trajectories_in_the_unit_square(pennies, tmp_path: Path) -> None:
    game, history = pennies
    with_star = assert_png(plots.plot_policy_trajectories(history, game, tmp_path / "mp.png"), (6.4, 6.4))
    without = assert_png(
        plots.plot_policy_trajectories(history, game, tmp_path / "mp-bare.png", equilibria=()), (6.4, 6.4)
    )
    assert np.abs(with_star - without).max() > 100  # the equilibrium star is drawn (and only it differs)


def test_equilibria_default_to_the_nash_enumeration() -> None:
    # Known equilibria: uniform in RPS; (1/2, 1/2) for both in matching pennies (von Neumann & Morgenstern).
    (rps_profile,) = plots._equilibrium_profiles(catalog.make("rock-paper-scissors"), None)
    np.testing.assert_allclose(np.stack(rps_profile), np.full((2, 3), 1 / 3), atol=1e-9)
    (mp_profile,) = plots._equilibrium_profiles(catalog.make("matching-pennies"), None)
    np.testing.assert_allclose(np.stack(mp_profile), np.full((2, 2), 0.5), atol=1e-9)
    pure = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    assert [p.tolist() for p in plots._equilibrium_profiles(catalog.make("matching-pennies"), [pure])[0]] == [
        [1.0, 0.0],
        [0.0, 1.0],
    ]


def test_average_trajectory_uses_empirical_frequencies_without_a_learner_average(rps) -> None:
    game, history = rps
    no_average = History(
        **{name: getattr(history, name) for name in ("steps", "seeds", "policy", "joint_counts", "episode_return")},
        average_policy=np.full_like(history.average_policy, np.nan),
        has_average_policy=np.zeros(2, dtype=bool),
        episode_count=history.episode_count,
        reward_mean=history.reward_mean,
    )
    drawn, what = plots._trajectory_policies(no_average, game, average=True)
    counts = history.joint_counts[:, :, 0].astype(np.float64)  # [N, T, A0, A1], cumulative
    expected = np.stack([counts.sum(axis=3), counts.sum(axis=2)], axis=2) / counts.sum(axis=(2, 3))[..., None, None]
    np.testing.assert_allclose(drawn, expected, atol=1e-12)
    assert "empirical action frequency" in what
    learner, what = plots._trajectory_policies(history, game, average=True)  # WoLF-PHC keeps its own average
    np.testing.assert_allclose(learner, history.average_policy[:, :, :, 0], atol=1e-6)
    assert "learner's average" in what


def test_nonstationarity_picture_from_a_real_run(pennies, tmp_path: Path) -> None:
    game, history = pennies
    ns = nonstationarity(history, game)
    assert isinstance(ns, Nonstationarity)
    assert_png(plots.plot_nonstationarity(ns, tmp_path / "ns.png"), (11.0, 2.9 * 2 + 0.8))


# ------------------------------------------------------------------------------------- criterion pictures


def synthetic_result(criterion: str = "joint_policy", seeds: int = 6, points: int = 40) -> CriterionResult:
    """Seeds that converge (at a known z0), oscillate, or fall slowly; the first two points undefined."""
    rng = np.random.default_rng(np.random.SeedSequence(21))
    z = np.arange(1, points + 1) * 100.0
    rows, verdicts = [], []
    for k in range(seeds):
        noise = 0.005 * rng.random(points)
        if k % 3 == 0:
            z0 = 1000.0 + 300 * k
            rows.append(np.where(z < z0, 0.5 * np.exp(-z / 800) + 0.06, 0.02) + noise)
            verdicts.append(SeedVerdict(Verdict.CONVERGED, z0, "stayed below eps", None, target=k % 2))
        elif k % 3 == 1:
            rows.append(0.2 + 0.15 * np.sin(z / 400 + k) + noise)
            verdicts.append(SeedVerdict(Verdict.NOT_CONVERGED, None, "oscillates", None, target=0))
        else:
            rows.append(0.4 * np.exp(-z / 3000) + noise)
            verdicts.append(SeedVerdict(Verdict.INCONCLUSIVE, None, "still falling", None))
    metric = np.array(rows)
    metric[:, :2] = np.nan
    return CriterionResult(criterion, 0.05, z, metric, "TV to nearest NE", tuple(verdicts), "NE (2)", "tv")


def test_criterion_criteria_and_fan_pictures(tmp_path: Path) -> None:
    result = synthetic_result()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # all-NaN columns must not raise NumPy's RuntimeWarnings
        assert_png(plots.plot_criterion(result, tmp_path / "one.png", labels=("A", "B")), (8.0, 5.0))
        assert_png(plots.plot_seed_fan(result, tmp_path / "fan.png"), (8.0, 5.0))
        grid = {name: synthetic_result(name, seeds=3 + i) for i, name in enumerate(CRITERIA)}
        assert_png(plots.plot_criteria(grid, tmp_path / "grid.png"), (15.0, 3.9 * 2 + 0.9))
        assert_png(plots.plot_criteria(dict(list(grid.items())[:2]), tmp_path / "two.png"), (10.0, 3.9 + 0.9))


def test_seed_quantiles_match_numpy_and_leave_undefined_points_nan() -> None:
    values = np.array([[np.nan, 1.0, 2.0], [np.nan, 3.0, np.nan], [np.nan, 5.0, 4.0]])
    got = plots._seed_quantiles(values, [25, 50, 75])
    assert np.isnan(got[:, 0]).all()
    np.testing.assert_allclose(got[:, 1], np.percentile([1.0, 3.0, 5.0], [25, 50, 75]))
    np.testing.assert_allclose(got[:, 2], np.percentile([2.0, 4.0], [25, 50, 75]))


# ----------------------------------------------------------------------------------------- atomic writes


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path, monkeypatch) -> None:
    path = plots.plot_seed_fan(synthetic_result(), tmp_path / "fan.png")
    before = path.read_bytes()

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(plots.Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        plots.plot_seed_fan(synthetic_result(seeds=3), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fan.png"]


def test_writes_into_a_new_folder_and_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "fan.png"
    plots.plot_seed_fan(synthetic_result(), path)
    first = path.read_bytes()
    plots.plot_seed_fan(synthetic_result(seeds=3), path)
    assert path.read_bytes() != first and path.read_bytes()[:8] == PNG_SIGNATURE


# -------------------------------------------------------------------------------------------- bad shapes


def _history_for(game: NormalFormGame, steps: int = 4) -> History:
    """A minimal History of the right shapes for ``game`` (uniform policies, no play)."""
    n, actions, a_max = game.n_players, tuple(game.num_actions), max(game.num_actions)
    policy = np.zeros((1, steps, n, 1, a_max), dtype=np.float32)
    for i, m in enumerate(actions):
        policy[..., i, :, :m] = 1.0 / m
    return History(
        steps=np.arange(1, steps + 1),
        seeds=np.zeros(1, dtype=np.int64),
        policy=policy,
        average_policy=np.full_like(policy, np.nan),
        has_average_policy=np.zeros(n, dtype=bool),
        joint_counts=np.zeros((1, steps, 1, *actions), dtype=np.int64),
        episode_return=np.zeros((1, steps, n)),
        episode_count=np.zeros((1, steps), dtype=np.int64),
        reward_mean=np.zeros((1, steps, n)),
    )


@pytest.mark.parametrize(
    "payoffs_shape",
    [(2, 2, 3), (2, 4, 4), (3, 2, 2, 2), (2, 3, 2)],
    ids=["2x3", "4x4", "three players of two actions", "3x2"],
)
def test_trajectories_refuse_other_game_shapes(payoffs_shape, tmp_path: Path) -> None:
    game = NormalFormGame(np.zeros(payoffs_shape), name="odd")
    with pytest.raises(NotApplicableError, match=r"2x2|three actions|unit square"):
        plots.plot_policy_trajectories(_history_for(game), game, tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


def test_trajectories_refuse_stochastic_games_and_mismatched_histories(rps, pennies, tmp_path: Path) -> None:
    soccer = catalog.make("soccer")
    with pytest.raises(NotApplicableError, match="states"):
        plots.plot_policy_trajectories(rps[1], soccer, tmp_path / "x.png")
    with pytest.raises(NotApplicableError, match="not recorded on"):
        plots.plot_policy_trajectories(rps[1], pennies[0], tmp_path / "x.png")
    with pytest.raises(NotApplicableError, match="equilibrium 0"):
        plots.plot_policy_trajectories(rps[1], rps[0], tmp_path / "x.png", equilibria=[[np.ones(2) / 2] * 2])


def test_three_players_with_three_actions_get_three_simplices(tmp_path: Path) -> None:
    game = NormalFormGame(np.random.default_rng(np.random.SeedSequence(2)).normal(size=(3, 3, 3, 3)), name="3p")
    path = plots.plot_policy_trajectories(_history_for(game), game, tmp_path / "3p.png", equilibria=())
    assert_png(path, (4.6 * 3 + 0.8, 5.2))


def test_criterion_and_nonstationarity_pictures_refuse_bad_shapes(tmp_path: Path) -> None:
    good = synthetic_result(seeds=3)
    wrong_t = dataclasses.replace(good, metric=good.metric[:, :-1])
    wrong_n = dataclasses.replace(good, metric=good.metric[:2])
    for bad in (wrong_t, wrong_n):
        for draw in (plots.plot_criterion, plots.plot_seed_fan):
            with pytest.raises(NotApplicableError, match="metric must be"):
                draw(bad, tmp_path / "x.png")
        with pytest.raises(NotApplicableError):
            plots.plot_criteria({"joint_policy": bad}, tmp_path / "x.png")
    with pytest.raises(NotApplicableError, match="no criterion"):
        plots.plot_criteria({}, tmp_path / "x.png")
    z = np.arange(5.0)
    ns = Nonstationarity(z, np.zeros((2, 5, 2)), np.zeros((2, 5, 2)), np.zeros((2, 4, 2)), "tv")
    with pytest.raises(NotApplicableError, match="share one shape"):
        plots.plot_nonstationarity(ns, tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


def test_equilibrium_stars_are_drawn_above_flipping_trajectories_and_the_legend_matches(
    tmp_path: Path, monkeypatch
) -> None:
    """Issue 14 item 9: an IQL-like run flipping between pure policies draws vertical lines through the square; the
    stars must be on top of them, and the legend's last-point marker must have the colour it has in the plot."""
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    game = catalog.make("stag-hunt")
    history = _history_for(game, steps=6)
    flips = np.array([[1, 0], [1, 0], [0, 1], [1, 0], [0, 1], [1, 0]], dtype=np.float32)  # player 1 flips
    history.policy[0, :, 0, 0, :] = [1.0, 0.0]
    history.policy[0, :, 1, 0, :] = flips
    figures: list[Figure] = []
    original = Figure.savefig

    def keep(self: Figure, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    plots.plot_policy_trajectories(history, game, tmp_path / "square.png")
    ax = figures[-1].axes[0]
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    trajectory = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert stars and trajectory
    assert min(s.get_zorder() for s in stars) > max(c.get_zorder() for c in trajectory)
    assert min(s.get_zorder() for s in stars) > max(line.get_zorder() for line in ax.lines if line.get_marker() in "os")
    last = [line for line in ax.lines if line.get_marker() == "s"][-1]
    legend = figures[-1].legends[0]
    handle = next(
        h
        for h, t in zip(legend.legend_handles, legend.get_texts(), strict=True)
        if t.get_text() == "last logging point"
    )
    np.testing.assert_allclose(
        np.array(handle.get_markerfacecolor(), dtype=float), np.array(last.get_markerfacecolor(), dtype=float)
    )


def test_a_million_logging_points_are_thinned_to_a_drawable_line(tmp_path: Path) -> None:
    drawn = plots.thinned(1_000_000)
    assert len(drawn) == plots.MAX_POINTS and drawn[0] == 0 and drawn[-1] == 999_999
    assert np.all(np.diff(drawn) > 0) and plots.thinned(10).tolist() == list(range(10))
    # a jagged million-point metric (a 1,000,000-window run's): drawn in full it took 79 s here, thinned a few
    result = synthetic_result(points=1_000_000, seeds=2)
    assert_png(plots.plot_criterion(result, tmp_path / "long.png"), (8.0, 5.0))
