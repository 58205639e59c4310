"""`marlkit solve`: every concept on catalog games, --select with reasons, --json, and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marlkit.cli import main


def solve_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main(["solve", *args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_nash_chicken_has_three_equilibria(capsys: pytest.CaptureFixture[str]) -> None:
    data = solve_json(capsys, "chicken", "--concept", "nash")
    assert data["complete"] is True
    values = sorted(tuple(round(v, 9) for v in eq["values"]) for eq in data["equilibria"])
    # Aumann (1974) chicken (6,6)/(2,7)/(7,2)/(0,0): two pure equilibria and the mixed one worth 14/3 each.
    assert values == [(2.0, 7.0), (round(14 / 3, 9), round(14 / 3, 9)), (7.0, 2.0)]


def test_nash_with_selection_explains_the_choice(capsys: pytest.CaptureFixture[str]) -> None:
    data = solve_json(capsys, "stag-hunt", "--select", "risk")
    # Harsanyi & Selten (1988): in the stag hunt [[4,0],[3,3]] (hare, hare) risk-dominates: 3*3 = 9 > 1*1.
    assert data["selection"]["chosen"] == "(hare, hare)"
    assert "9 > 1" in data["selection"]["ranked"][0]["reason"]
    main(["solve", "stag-hunt", "--select", "payoff"])
    out = capsys.readouterr().out
    assert "payoff-dominates" in out


def test_nash_three_players(capsys: pytest.CaptureFixture[str]) -> None:
    data = solve_json(capsys, "minority-game")
    assert data["equilibria"] and all(eq["epsilon"] <= 1e-9 for eq in data["equilibria"])


def test_minimax_matrix_and_stochastic(capsys: pytest.CaptureFixture[str]) -> None:
    data = solve_json(capsys, "biased-rps", "--concept", "minimax")
    # OpenSpiel's golden test (Bošanský et al. 2016): unique equilibrium (1/16, 10/16, 5/16), value 0.
    assert np.allclose(data["profile"][0], [1 / 16, 10 / 16, 5 / 16], atol=1e-8)
    assert abs(data["values"][0]) < 1e-9
    repeated = solve_json(capsys, "matching-pennies", "--concept", "minimax")
    assert np.allclose(repeated["profile"][0], [0.5, 0.5])


def test_ce_of_chicken_maximises_welfare(capsys: pytest.CaptureFixture[str]) -> None:
    data = solve_json(capsys, "chicken", "--concept", "ce")
    # Welfare-maximising CE of chicken (6,6)/(2,7)/(7,2)/(0,0): 1/2 on (swerve, swerve), 1/4 on each asymmetric
    # outcome; welfare 10.5 (derivation in tests/solve/test_correlated.py).
    assert data["objective_value"] == pytest.approx(10.5, abs=1e-8)
    cce = solve_json(capsys, "chicken", "--concept", "cce")
    assert cce["objective_value"] >= data["objective_value"] - 1e-9


def test_pareto_and_welfare(capsys: pytest.CaptureFixture[str]) -> None:
    data = solve_json(capsys, "prisoners-dilemma", "--concept", "pareto")
    assert [1, 1] not in data["pure"]["joint_actions"]  # (D, D) is Pareto-dominated by (C, C)
    welfare = solve_json(capsys, "prisoners-dilemma", "--concept", "welfare")
    assert welfare["best"]["utilitarian"]["value"] == 6.0  # (C, C): 3 + 3


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "battle-of-the-sexes"]) == 0
    out = capsys.readouterr().out
    assert "Nash equilibria" in out and "3 equilibria: all equilibria" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("prisoners-dilemma", "--concept", "minimax"), "nash"),
        (("chicken", "--concept", "bargain"), "unknown concept"),
        (("chicken", "--select", "vibes"), "pareto"),
        (("chicken", "--concept", "ce", "--select", "risk"), "--select ranks Nash equilibria"),
        (("grid-game-1", "--concept", "minimax"), "zero-sum"),
    ],
)
def test_concepts_that_do_not_apply(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str) -> None:
    code = main(["solve", *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1


def test_minimax_on_a_stochastic_game_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from marlkit.games import repeated_game, save_game
    from marlkit.games.catalog import make

    # Repeated biased RPS with gamma = 0.5: the stationary minimax policy is the stage game's (1/16, 10/16, 5/16)
    # and the value is 0 / (1 - gamma) = 0 (Shapley 1953: the value of the repeated zero-sum game is v / (1 - γ)).
    path = save_game(repeated_game(make("biased-rps"), 0.5), tmp_path / "repeated.json")
    data = solve_json(capsys, str(path), "--concept", "minimax")
    assert data["values"][0] == pytest.approx(0.0, abs=1e-8)
    assert np.allclose(data["policy"][0][0], [1 / 16, 10 / 16, 5 / 16], atol=1e-6)
    assert main(["solve", str(path), "--concept", "minimax"]) == 0
    assert "Shapley value iteration" in capsys.readouterr().out


def test_minimax_on_a_stochastic_game_prints_the_policies(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 item 7: the table shows each player's minimax policy per state, not only the state values."""
    from marlkit.games import repeated_game, save_game
    from marlkit.games.catalog import make

    path = save_game(repeated_game(make("biased-rps"), 0.5), tmp_path / "repeated.json")
    assert main(["solve", str(path), "--concept", "minimax"]) == 0
    out = capsys.readouterr().out
    assert "minimax policies" in out and "policy" in out
    names = make("biased-rps").action_names[0]
    assert (
        f"{names[0]}: 0.0625" in out and f"{names[1]}: 0.625" in out and f"{names[2]}: 0.312" in out
    )  # 3 significant digits


def test_solve_numbers_equilibria_as_the_diagnosis_does(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 item 3: `solve`'s #k is the diagnosis's NEk (vertex enumeration finds stag hunt's (hare, hare)
    before (stag, stag); both now use the canonical order), and the labels show the profile."""
    from marlkit.diagnose.solution_sets import solution_set
    from marlkit.games.catalog import make

    for name in ("stag-hunt", "chicken", "battle-of-the-sexes", "volunteers-dilemma"):
        data = solve_json(capsys, name)
        nash = solution_set(make(name))
        assert len(nash.labels) == len(data["equilibria"]), name
        for k, eq in enumerate(data["equilibria"]):
            assert nash.labels[k].startswith(f"NE{k + 1} ("), name
            joint = nash.joints[k, 0].reshape([len(p) for p in eq["profile"]])
            product = np.einsum(
                ",".join("abcd"[: len(eq["profile"])]) + "->" + "abcd"[: len(eq["profile"])],
                *[np.array(p) for p in eq["profile"]],
            )
            np.testing.assert_allclose(joint, product, atol=1e-12, err_msg=name)
    assert main(["solve", "stag-hunt"]) == 0
    out = capsys.readouterr().out
    first = next(line for line in out.splitlines() if line.strip().startswith("│ 1") or " 1 │" in line)
    assert "stag" in first and "hare" not in first


def test_volunteers_dilemma_solve_lists_all_seven(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 item 2: the 3-player volunteer's dilemma has exactly 7 equilibria and `solve` says all."""
    data = solve_json(capsys, "volunteers-dilemma")
    assert data["complete"] and len(data["equilibria"]) == 7
    assert main(["solve", "volunteers-dilemma"]) == 0
    out = capsys.readouterr().out
    assert "7 equilibria: all equilibria" in out
