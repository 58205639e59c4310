"""Regression tests for the bad game files of issue 15 ("Crashes and wrong answers on bad files"): each concrete
example is fed through ``marlkit show`` / ``marlkit solve`` in-process and must give one ``error:`` line and exit 2
(or, for a valid game, the right answer); plus the strict reader's limits and the CLI's error boundary."""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from marlkit import strict
from marlkit.cli import main
from marlkit.errors import GameFileError
from marlkit.games import NormalFormGame, load_game, save_game

PD = {"type": "normal-form", "payoffs": [[[3, 0], [5, 1]], [[3, 5], [0, 1]]]}
STOCHASTIC = {"type": "stochastic", "transitions": [[[1.0]]], "rewards": [[[0.0]]], "initial": [1], "gamma": 0.5}


def run(*argv: str) -> tuple[int, str, str]:
    """``marlkit argv`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_refused(path: Path, message: str) -> None:
    """``show`` and ``solve`` both exit 2 with one ``error:`` line naming the file and containing ``message``."""
    for command in ("show", "solve"):
        code, out, err = run(command, str(path))
        lines = err.strip().splitlines()
        assert code == 2, (command, code, err[-2000:])
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), err[-2000:]
        assert "internal error" not in err and message in lines[0], lines[0]
        assert out == ""


def write(tmp_path: Path, name: str, data: object | None = None, text: str | None = None) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if text is None else text)
    return path


# ------------------------------------------------------------------------------- JSON: exact types, limits
JSON_CASES = [
    # (name, file text, what the error line says)
    ("bigint", json.dumps(PD).replace("[3, 0]", "[" + "9" * 400 + ", 0]"), "an integer of 400 digits"),
    ("overflowing-float", json.dumps(PD).replace("[3, 0]", "[1e999, 0]"), "overflows a float64"),
    ("type-list", json.dumps({**PD, "type": ["normal-form"]}), "type: expected one of"),
    ("players-5", json.dumps({**PD, "players": 5}), "players: expected a list of names, got number 5"),
    ("players-rc", json.dumps({**PD, "players": "rc"}), "players: expected a list of names, got string 'rc'"),
    ("nested-1000", '{"type": "normal-form", "payoffs": ' + "[" * 1200 + "]" * 1200 + "}", "nested too deeply"),
    (
        "nested-metadata",
        json.dumps({**PD, "metadata": {"a": [[[[[[[[[[[]]]]]]]]]]]}}).replace("[]", "[" * 80 + "]" * 80),
        "nested too deeply",
    ),
    (
        "string-3",
        json.dumps({**PD, "payoffs": [[["3", 0], [5, 1]], [[3, 5], [0, 1]]]}),
        "payoffs[0, 0, 0]: expected a number, got string '3'",
    ),
    (
        "true",
        json.dumps({**PD, "payoffs": [[[True, 0], [5, 1]], [[3, 5], [0, 1]]]}),
        "payoffs[0, 0, 0]: expected a number, got boolean true",
    ),
    ("gamma-string", json.dumps({**STOCHASTIC, "gamma": "0.9"}), "gamma: expected a number, got string '0.9'"),
    ("gamma-false", json.dumps({**STOCHASTIC, "gamma": False}), "gamma: expected a number, got boolean false"),
    ("gamma-list", json.dumps({**STOCHASTIC, "gamma": [0.9]}), "gamma: expected a number, got list"),
    ("version-true", json.dumps({**PD, "version": True}), "version: expected a whole number, got boolean true"),
    (
        "duplicate-key",
        '{"type": "normal-form", "payoffs": [[[1]]], "payoffs": ' + json.dumps(PD["payoffs"]) + "}",
        "duplicate key 'payoffs'",
    ),
    ("nan", json.dumps(PD).replace("[3, 0]", "[NaN, 0]"), "NaN is not a JSON number"),
    ("infinity", json.dumps(PD).replace("[3, 0]", "[-Infinity, 0]"), "-Infinity is not a JSON number"),
    ("huge-payoff", json.dumps(PD).replace("[3, 0]", "[1e308, 0]"), "magnitude at most 1e+300"),
    (
        "fractional-index",
        json.dumps({"type": "normal-form", "payoffs": {"shape": [2, 2, 2], "indices": [[0, 0.5, 1]], "values": [1.0]}}),
        "payoffs.indices[0][1]: expected a whole number, got number 0.5",
    ),
    (
        "index-twice",
        json.dumps(
            {
                "type": "normal-form",
                "payoffs": {"shape": [2, 2, 2], "indices": [[0, 0, 1], [0, 0, 1]], "values": [1.0, 2.0]},
            }
        ),
        "a cell twice",
    ),
    (
        "sparse-bomb",
        json.dumps({"type": "normal-form", "payoffs": {"shape": [2, 100000, 100000], "indices": [], "values": []}}),
        "20,000,000,000 entries, more than the limit",
    ),
    ("name-20k", json.dumps({**PD, "name": "x" * 20000}), "name: 20,000 characters is longer than the limit of 200"),
    (
        "action-name-ansi",
        json.dumps({**PD, "actions": [["C", "\u001b[31mD"], ["C", "D"]]}),
        "actions[0][1]: contains the control character \\x1b",
    ),
    ("name-null", json.dumps({**PD, "name": None}), "name: expected a string, got null"),
    ("metadata-list", json.dumps({**PD, "metadata": []}), "metadata: expected an object, got list"),
    ("not-utf8", "\udcff", "not UTF-8"),
]


@pytest.mark.parametrize(("name", "text", "message"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_bad_json_game_files_give_one_error_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert_refused(path, message)


def test_a_long_name_is_refused_fast_and_the_message_is_short(tmp_path: Path) -> None:
    path = write(tmp_path, "g.json", {**PD, "name": "x" * 40000})
    code, _, err = run("show", str(path))
    assert code == 2 and len(err) < 400  # the message quotes 80 characters of the value, not 40,000


def test_file_size_limit_is_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "g.json", PD)
    monkeypatch.setenv("MARLKIT_MAX_FILE_BYTES", "10")
    assert_refused(path, "larger than the limit of 10 (set MARLKIT_MAX_FILE_BYTES")


def test_element_limit_can_be_raised_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "g.json", {"type": "normal-form", "payoffs": np.zeros((2, 30, 30)).tolist()})
    monkeypatch.setenv("MARLKIT_MAX_ELEMENTS", "1000")
    assert_refused(path, "shape [2, 30, 30] has 1,800 entries, more than the limit of 1,000")
    monkeypatch.setenv("MARLKIT_MAX_ELEMENTS", "2000")
    assert load_game(path).num_actions == (30, 30)


# ----------------------------------------------------------------------------------- NPZ: opened defensively
def _pd_archive(tmp_path: Path) -> Path:
    return save_game(NormalFormGame(PD["payoffs"], name="pd"), tmp_path / "pd.npz")


def _members(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as archive:
        return {k: archive[k] for k in archive.files}


def test_truncated_and_bit_flipped_archives(tmp_path: Path) -> None:
    archive = _pd_archive(tmp_path)
    raw = archive.read_bytes()
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("payoffs.npy")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # the member's deflate data
    for cut in (0, 10, len(raw) // 2, len(raw) - 1):
        path = tmp_path / f"cut{cut}.npz"
        path.write_bytes(raw[:cut])
        assert_refused(path, "cannot read the NPZ archive")
    flipped = bytearray(raw)
    flipped[start + info.compress_size // 2] ^= 0x40  # inside the deflated payoffs: a CRC or zlib error
    path = tmp_path / "flip.npz"
    path.write_bytes(bytes(flipped))
    assert_refused(path, "cannot read the NPZ archive")


def test_npy_renamed_npz_and_empty_archive(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros(3))
    os.replace(tmp_path / "a.npy", tmp_path / "a.npz")
    assert_refused(tmp_path / "a.npz", "cannot read the NPZ archive")
    zipfile.ZipFile(tmp_path / "empty.npz", "w").close()
    assert_refused(tmp_path / "empty.npz", "it is empty")


def test_archive_members_of_the_wrong_kind(tmp_path: Path) -> None:
    members = _members(_pd_archive(tmp_path))
    header = str(members["__header__"])
    cases = {
        "list-header": ({**members, "__header__": np.array([header, header])}, "__header__: expected a single string"),
        "complex": ({**members, "payoffs": members["payoffs"] + 1j}, "payoffs: dtype complex128 is not a real number"),
        "object": ({**members, "payoffs": np.array([1, "x"], dtype=object)}, "payoffs: dtype object is not a real"),
        "strings": ({**members, "payoffs": np.array(["1", "2"])}, "payoffs: dtype <U1 is not a real number"),
        "bool": ({**members, "payoffs": np.ones((2, 2, 2), bool)}, "payoffs: a boolean array where numbers"),
        "header-not-json": ({**members, "__header__": np.array("{")}, "cannot read __header__: not valid JSON"),
        "header-list": ({**members, "__header__": np.array("[1]")}, "__header__: expected a JSON object, got list"),
        "payoffs-in-header": (
            {**members, "__header__": np.array(json.dumps({**json.loads(header), "payoffs": [[[1]]]}))},
            "__header__.payoffs: arrays are archive members",
        ),
        "extra-member": ({**members, "payofs": members["payoffs"]}, "archive member 'payofs': unknown (did you mean"),
        "wrong-ndim": ({**members, "payoffs": np.zeros((2, 2))}, "payoffs: a game of 2 players needs 3 dimensions"),
        "no-header": ({"payoffs": members["payoffs"]}, "no __header__ entry"),
    }
    for name, (arrays, message) in cases.items():
        path = tmp_path / f"{name}.npz"
        np.savez(path, **arrays)  # object arrays are pickled by np.savez: what an attacker would write
        assert_refused(path, message)


def test_member_shape_is_checked_before_its_data_is_read(tmp_path: Path) -> None:
    """A member whose .npy header declares [2, 100000, 100000] (149 GiB) with 16 bytes of data behind it."""
    header = json.dumps({"type": "normal-form"})
    path = tmp_path / "declared.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("__header__.npy", "w") as handle:
            np.lib.format.write_array(handle, np.array(header))
        with archive.open("payoffs.npy", "w") as handle:
            np.lib.format.write_array_header_1_0(
                handle, {"descr": "<f8", "fortran_order": False, "shape": (2, 100000, 100000)}
            )
            handle.write(b"\0" * 16)
    assert_refused(path, "payoffs: shape [2, 100000, 100000] has 20,000,000,000 entries, more than the limit")


def test_member_shorter_than_its_header_and_too_many_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A member declaring [2, 1000, 1000] (within the limit) but holding 16 bytes is refused before the 16 MB
    array is allocated; an archive of more than strict.MAX_MEMBERS members is refused before any is read."""
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("__header__.npy", "w") as handle:
            np.lib.format.write_array(handle, np.array(json.dumps({"type": "normal-form"})))
        with archive.open("payoffs.npy", "w") as handle:
            np.lib.format.write_array_header_1_0(
                handle, {"descr": "<f8", "fortran_order": False, "shape": (2, 1000, 1000)}
            )
            handle.write(b"\0" * 16)
    assert_refused(path, "payoffs: the archive member is shorter than the shape [2, 1000, 1000] its header declares")
    monkeypatch.setattr(strict, "MAX_MEMBERS", 2)
    members = _members(_pd_archive(tmp_path))
    np.savez(tmp_path / "many.npz", **members, observations_0=np.zeros(1), observations_1=np.zeros(1))
    assert_refused(tmp_path / "many.npz", "the NPZ archive has 4 members, more than the limit of 2")


def test_deflate_bomb_is_refused_before_decompressing(tmp_path: Path) -> None:
    """A member inflating to 300 MB (> 8 bytes x the element limit) from a few hundred KB of deflate."""
    path = tmp_path / "bomb.npz"
    chunk = b"\0" * (1 << 22)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("__header__.npy", "w") as handle:
            np.lib.format.write_array(handle, np.array(json.dumps({"type": "normal-form"})))
        with archive.open("payoffs.npy", "w", force_zip64=True) as handle:
            np.lib.format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": (37500000,)})
            for _ in range(300_000_000 // len(chunk) + 1):
                handle.write(chunk)
    assert path.stat().st_size < 2_000_000
    assert_refused(path, "bytes uncompressed, more than the limit")


# --------------------------------------------------------------------------------- valid games, right answers
def test_a_game_with_an_illegal_action_shows_and_solves(tmp_path: Path) -> None:
    """A stochastic game where one action is illegal in a state: ``show`` prints the masked cells as '-'."""
    data = {
        **STOCHASTIC,
        "transitions": [[[[1.0], [1.0]], [[1.0], [1.0]]]],
        "rewards": [[[[1.0, 2.0], [3.0, 4.0]]], [[[1.0, 2.0], [3.0, 4.0]]]],
        "action_mask": [[[True, False]], [[True, True]]],
    }
    path = write(tmp_path, "masked.json", data)
    code, out, err = run("show", str(path))
    assert code == 0 and err == "", err
    assert "│ -, - " in out and "nan" not in out and "-: an illegal joint action" in out
    code, _out, err = run("solve", str(path), "--concept", "minimax")
    assert code in (0, 2) and "internal error" not in err and "Traceback" not in err


def _solve_json(path: Path) -> dict:
    code, out, err = run("solve", str(path), "--json")
    assert code == 0, err
    return json.loads(out)


def test_payoffs_spanning_the_float64_range_keep_their_pure_equilibrium(tmp_path: Path) -> None:
    """Payoffs from 5e-324 to 1e299 (issue 15: "0 equilibria: all equilibria" where a pure one exists).

    Hand check: at (a0, a0) player 0 gets 5e-324 > -1e299 (its deviation) and player 1 gets 1e299 > -1e299, so
    (a0, a0) is a pure equilibrium; at (a1, a1) player 0 gains by moving to a0 (1e299 > 1e-300), etc."""
    path = write(
        tmp_path,
        "span.json",
        text='{"type": "normal-form", "payoffs": [[[5e-324, 1e299], [-1e299, 1e-300]], '
        "[[1e299, -1e299], [1e-300, 1e299]]]}",
    )
    result = _solve_json(path)
    pure = [e["supports"] for e in result["equilibria"] if e["pure"]]
    assert [[0], [0]] in pure
    assert any("mapped affinely onto [0, 1]" in note for note in result["notes"])


def test_tiny_incentives_on_a_huge_offset_are_resolved(tmp_path: Path) -> None:
    """Matching pennies with incentives of 1 on an offset of 1e14 (issue 15: three "equilibria" with NashConv
    1.25 and 5.0). The game is u = 1e14 + matching pennies (player 0 wants to match, player 1 to differ); its
    unique equilibrium is (1/2, 1/2) for both (von Neumann), the same as matching pennies since equilibria are
    invariant to adding a constant."""
    big = 1e14
    payoffs = [[[big + 1, big - 1], [big - 1, big + 1]], [[big - 1, big + 1], [big + 1, big - 1]]]
    result = _solve_json(write(tmp_path, "offset.json", {"type": "normal-form", "payoffs": payoffs}))
    assert len(result["equilibria"]) == 1
    eq = result["equilibria"][0]
    assert np.allclose(eq["profile"], [[0.5, 0.5], [0.5, 0.5]], atol=1e-12)
    assert eq["epsilon"] <= 1e-5 * 2  # certified: regret <= 1e-5 x the spread (2) per player


def test_subnormal_payoff_differences_are_resolved(tmp_path: Path) -> None:
    """Player 0's payoffs are 1e-300 times a coordination game, player 1's 1e299 times one: the equilibria are
    those of [[1, 0], [0, 2]] / [[1, 0], [0, 1]]: (a0, a0), (a1, a1) and the mixed x = (1/2, 1/2), y = (2/3, 1/3)
    (player 1 mixes so that player 0 is indifferent: 1·y = 2·(1 - y))."""
    path = write(
        tmp_path,
        "tiny.json",
        text='{"type": "normal-form", "payoffs": [[[1e-300, 0], [0, 2e-300]], [[1e299, 0], [0, 1e299]]]}',
    )
    result = _solve_json(path)
    profiles = sorted(tuple(np.round(np.concatenate(e["profile"]), 9)) for e in result["equilibria"])
    assert profiles == sorted(
        [(1.0, 0.0, 1.0, 0.0), (0.0, 1.0, 0.0, 1.0), (0.5, 0.5, round(2 / 3, 9), round(1 / 3, 9))]
    )


def test_every_equilibrium_is_recertified_and_bad_ones_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver that returns a wrong profile (here: injected) has it dropped with a note; the exact pure check
    adds the pure equilibrium it missed, and the set is marked incomplete."""
    from marlkit.solve import nash
    from marlkit.solve.results import Equilibrium, EquilibriumSet

    game = NormalFormGame(PD["payoffs"])
    wrong = Equilibrium((np.array([1.0, 0.0]), np.array([1.0, 0.0])), np.zeros(2), ((0,), (0,)), 0.0, "injected")
    monkeypatch.setattr(nash, "_solve", lambda g, tol: EquilibriumSet((wrong,), True, False, "injected"))
    result = nash.nash_equilibria(game)
    assert [e.supports for e in result] == [((1,), (1,))]  # (D, D), the prisoner's dilemma's only equilibrium
    assert result.complete is False
    assert any("failed the re-certification" in n for n in result.notes)
    assert any("exact pure check" in n for n in result.notes)


# ------------------------------------------------------------------------------------------ the CLI boundary
def test_user_strings_are_not_read_as_markup(tmp_path: Path) -> None:
    path = write(tmp_path, "g.json", {**PD, "name": "my PD[/bold] [red]x", "actions": [["[b]C", "D"], ["C", "D"]]})
    for command in ("show", "solve"):
        code, out, err = run(command, str(path))
        assert code == 0 and err == "", err
        assert "my PD[/bold] [red]x" in out
    code, out, _ = run("show", str(path))
    assert "[b]C" in out


def test_unexpected_exceptions_are_one_line_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import marlkit.cli.games as games_cli

    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("x" * 5000)

    monkeypatch.setattr(games_cli, "resolve_game", boom)
    code, out, err = run("show", "prisoners-dilemma")
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: internal error: ZeroDivisionError: xxx")
    assert "--debug" in lines[0] and "Traceback" not in err and len(lines[0]) < 600
    code, _out, err = run("--debug", "show", "prisoners-dilemma")
    assert code == 1 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error: internal error")


def test_eof_error_is_an_internal_error_not_aborted(monkeypatch: pytest.MonkeyPatch) -> None:
    import marlkit.cli.games as games_cli

    def eof(*args: object, **kwargs: object) -> None:
        raise EOFError("unexpected end")

    monkeypatch.setattr(games_cli, "resolve_game", eof)
    code, _, err = run("show", "prisoners-dilemma")
    assert code == 1 and "error: internal error: EOFError: unexpected end" in err


def test_error_lines_escape_control_characters_and_are_bounded() -> None:
    from marlkit.cli import one_line

    line = one_line("bad\nname \x1b[31m" + "y" * 10_000)
    assert "\n" not in line and "\x1b" not in line and "\\x1b" in line and len(line) < 2100


def test_shorten_bounds_any_value() -> None:
    assert strict.shorten("a\x00b") == "'a\\x00b'"
    assert len(strict.shorten(list(range(10**6)))) < 100
    assert len(strict.shorten([[list(range(1000))] * 1000] * 1000)) < 100
    assert strict.shorten(True) == "true" and strict.shorten(None) == "null"


def test_strict_json_refuses_what_python_json_accepts() -> None:
    for text, message in (
        ('{"a": 1, "a": 2}', "duplicate key"),
        ("[NaN]", "NaN is not a JSON number"),
        ("[1e400]", "overflows a float64"),
        ("[" * 100 + "]" * 100, "nested too deeply"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ):
        with pytest.raises(GameFileError, match=message):
            strict.loads_json(text, GameFileError)
    assert strict.loads_json('{"a": [1, 2.5, "x", true, null]}', GameFileError) == {"a": [1, 2.5, "x", True, None]}


def test_catalog_parameters_are_read_as_strict_json() -> None:
    for value, message in (("NaN", "--param k: NaN is not a JSON number"), ("1e999", "--param k: the number '1e999'")):
        code, out, err = run("show", "prisoners-dilemma", "--param", f"k={value}")
        assert code == 2 and err.startswith(f"error: {message}") and out == "", err


@pytest.mark.parametrize("big", [1e12, 1e300])
@pytest.mark.parametrize("concept", ["nash", "ce"])
def test_incentives_too_small_for_the_payoff_range_are_refused(tmp_path: Path, big: float, concept: str) -> None:
    """Review of issue 15's fix: u0 = [[1, big], [0, 1]], u1 = [[1, 0], [0, -big]]. Each player has a strictly
    dominant action (row a0: 1 > 0 and big > 1; column b0: 1 > 0 and 0 > -big), so (a0, b0) is the only
    equilibrium — but row's incentive of 1 at column b0 is 1/big of its payoff range, below what float64 solvers
    resolve: the solvers listed (a0, b1) as an "equilibrium" (NashConv 1) and CE put all mass on it. Refused in
    one line instead of answered wrongly."""
    path = write(tmp_path, "wide.json", {"type": "normal-form", "payoffs": [[[1, big], [0, 1]], [[1, 0], [0, -big]]]})
    code, out, err = run("solve", str(path), "--concept", concept)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "incentives" in err and "\n" not in err.strip()


def test_a_pure_non_equilibrium_never_passes_the_certificate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The certificate's tolerance stays below half a player's smallest incentive, however wide its payoff range:
    penalty-like payoffs with k = -1e9 (resolvable: incentives of 1 on a range of 1e9) and an injected (a0, b1),
    whose regret is 1, is dropped, though 1 < 1e-5 x the spread."""
    from marlkit.solve import nash
    from marlkit.solve.results import Equilibrium, EquilibriumSet

    game = NormalFormGame([[[1, 1e9], [0, 1]], [[1, 0], [0, -1e9]]])
    wrong = Equilibrium((np.array([1.0, 0.0]), np.array([0.0, 1.0])), np.zeros(2), ((0,), (1,)), 0.0, "injected")
    monkeypatch.setattr(nash, "_solve", lambda g, tol: EquilibriumSet((wrong,), True, False, "injected"))
    result = nash.nash_equilibria(game)
    assert [e.supports for e in result] == [((0,), (0,))]
    assert any("failed the re-certification" in n for n in result.notes)
