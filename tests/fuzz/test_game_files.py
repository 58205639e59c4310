"""Fuzzing game files through ``marlkit show`` and ``marlkit solve`` (issue 15, "A fuzz suite in the tests").

Hypothesis generates valid games (odd numbers included: subnormals, 1e299, huge integers, markup and unicode in
names) and malformed or adversarial files made from them — JSON with wrong types at every field, wrong leaves
inside arrays, unknown keys, duplicate keys, deep nesting, NaN / Infinity / overflowing literals, huge or
fractional sparse arrays, over-long or control-character names, truncated text; NPZ archives with members of the
wrong kind (complex, pickled objects, strings, booleans, wrong ndim), unknown members, broken headers, members
declaring huge shapes, truncated or bit-flipped bytes — and runs both commands in this process
(``marlkit.cli.main``), each under a per-case time limit. Every case must end in one of two ways:

* exit 2 with exactly one stderr line starting ``error: `` (not an internal error) and nothing on stdout;
* exit 0 with a valid result: ``show`` prints, ``solve --json`` gives equilibria that an independent check
  (brute force over joint actions, below) certifies, and every pure equilibrium found by brute force is listed.

A case built to be invalid must be refused (no silent acceptance); a valid one must be accepted; a random bit
flip may go either way. No traceback, no internal error (exit 1), no hang, no RuntimeWarning (NumPy's included:
each is an error inside a case).

Budget: ``MARLKIT_FUZZ_EXAMPLES`` cases per test (default 150 JSON + 100 NPZ, derandomized: the same cases on
every run, about 20 s on one core). The larger campaign (bench/ and /work/notes/parse.md)::

    MARLKIT_FUZZ_EXAMPLES=3000 MARLKIT_FUZZ_SEED=1 pytest -n 0 -p no:cacheprovider tests/fuzz/test_game_files.py

runs a seeded (reproducible, different from the default) campaign of that many cases per test.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from marlkit.games import NormalFormGame, game_from_dict, game_to_dict, load_game, save_game

EXAMPLES = int(os.environ.get("MARLKIT_FUZZ_EXAMPLES", "0"))
SEED = os.environ.get("MARLKIT_FUZZ_SEED")
CASE_SECONDS = 20.0
"""Per-case time limit (both commands); the slowest valid case takes well under a second."""


def _settings(default: int) -> Any:
    config = settings(
        max_examples=EXAMPLES or default,
        derandomize=SEED is None,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    return (lambda f: seed(int(SEED))(config(f))) if SEED is not None else config


# ------------------------------------------------------------------------------------------ running a case
def check_case(path: Path, expect: str, cli: Any, limit: Any, outcome: Any) -> None:
    """Both commands on ``path``; ``expect`` is ``valid``, ``invalid`` or ``either`` (module docstring); ``cli``,
    ``limit`` and ``outcome`` are the fuzz fixtures of tests/fuzz/conftest.py."""
    with limit(CASE_SECONDS):
        show = cli("show", str(path))
        solve = cli("solve", str(path), "--json")
    for name, (code, out, err) in (("show", show), ("solve", solve)):
        outcome(name, code, out, err)
        if code == 0:
            assert err == "", f"{name} succeeded with stderr output: {err[-3000:]}"
    file_refused = show[0] == 2
    if expect == "invalid":
        assert file_refused, f"an invalid file was accepted by show ({path.name})"
    if expect == "valid":
        assert not file_refused, f"a valid file was refused: {show[2]}"
    if file_refused:
        assert solve[0] == 2 and str(path) in solve[2], "show refused the file but solve did not"
        return
    game = load_game(path)
    if isinstance(game, NormalFormGame):
        if solve[0] == 2 and "incentives" in solve[2]:
            # refused as unresolvable: check the rule independently (smallest incentive < 1e-10 x the spread)
            assert smallest_incentive_ratio(game) < 1e-10, f"refused a resolvable game: {solve[2]}"
            return
        assert solve[0] == 0, f"solve refused a valid normal-form game: {solve[2]}"
        recertify(game, json.loads(solve[1]))
    else:
        assert solve[0] == 2 and "nash" in solve[2], solve[2]  # Nash takes normal-form games; one line saying so


def smallest_incentive_ratio(game: NormalFormGame) -> float:
    """min over players of (smallest positive u_i(a_i, a_-i) - u_i(a_i', a_-i), beyond 8 ulps of the two values)
    / (player's payoff spread), by brute force over pairs of joint actions (marlkit.solve.certify's rule)."""
    payoffs = np.asarray(game.payoffs, dtype=np.float64)
    joints = list(itertools.product(*(range(m) for m in game.num_actions)))
    best = math.inf
    for i in range(game.n_players):
        values = [float(payoffs[(i, *a)]) for a in joints]
        spread = max(values) - min(values)
        for a in joints:
            for k in range(game.num_actions[i]):
                b = (*a[:i], k, *a[i + 1 :])
                x, y = float(payoffs[(i, *a)]), float(payoffs[(i, *b)])
                gap = abs(x - y)
                if spread > 0 and gap > 8 * np.spacing(max(abs(x), abs(y))):
                    best = min(best, gap / spread)
    return best


def recertify(game: NormalFormGame, result: dict[str, Any]) -> None:
    """An independent check of ``solve --json``: by brute force over joint actions (Python loops, not the
    solver's tensor code), each equilibrium's regret per player is at most 1e-5 x that player's payoff spread
    (the certificate of marlkit.solve.certify), and every pure equilibrium is listed."""
    payoffs = np.asarray(game.payoffs, dtype=np.float64)
    n, actions = game.n_players, game.num_actions
    joints = list(itertools.product(*(range(m) for m in actions)))
    low = [min(float(payoffs[(i, *a)]) for a in joints) for i in range(n)]
    high = [max(float(payoffs[(i, *a)]) for a in joints) for i in range(n)]
    for eq in result["equilibria"]:
        profile = [np.asarray(p, dtype=np.float64) for p in eq["profile"]]
        for i in range(n):
            spread = high[i] - low[i]
            if spread == 0:
                continue
            deviation = [0.0] * actions[i]
            for a in joints:
                weight = math.prod(profile[j][a[j]] for j in range(n) if j != i)
                deviation[a[i]] += weight * (float(payoffs[(i, *a)]) - low[i]) / spread
            value = sum(profile[i][k] * deviation[k] for k in range(actions[i]))
            assert max(deviation) - value <= 1e-5 + 1e-12, f"player {i} regret {max(deviation) - value} in {eq}"
    pure = {
        a
        for a in joints
        if all(
            payoffs[(i, *a)] >= max(payoffs[(i, *a[:i], b, *a[i + 1 :])] for b in range(actions[i])) for i in range(n)
        )
    }
    listed = {tuple(int(np.argmax(p)) for p in e["profile"]) for e in result["equilibria"] if e["pure"]}
    if len(pure) <= 100:
        assert pure <= listed, f"pure equilibria {sorted(pure - listed)} missing from {result['notes']}"
    assert pure or len(result["equilibria"]) or not result["complete"], "no equilibrium reported as all of them"


# ------------------------------------------------------------------------------------------- valid games
NAME = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), min_size=1, max_size=12)
ODD_NUMBERS = st.one_of(
    st.integers(-5, 5),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.floats(-1e300, 1e300, allow_nan=False, allow_subnormal=True),
    st.sampled_from([5e-324, -5e-324, 1e-300, 1e299, -1e299, 1e14, 1e14 + 1, -1e14, 2**53, 2**53 + 1, 0.1, 1e-9]),
    st.integers(-(10**299), 10**299),
)


@st.composite
def normal_form(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 3))
    actions = [draw(st.integers(1, 3 if n < 3 else 2)) for _ in range(n)]
    numbers = draw(st.sampled_from(["small", "odd", "scaled"]))
    values = st.integers(-3, 3) if numbers != "odd" else ODD_NUMBERS
    size = n * math.prod(actions)
    flat = draw(st.lists(values, min_size=size, max_size=size))
    payoffs = np.array(flat, dtype=object).reshape(n, *actions)
    if numbers == "scaled":  # a small game seen through u -> offset + scale * u per player: the same equilibria
        for i in range(n):
            scale = draw(st.sampled_from([1e-300, 1e-200, 1e-20, 1e-5, 1.0, 1e5, 1e20, 1e200, 1e299]))
            offset = draw(st.sampled_from([0.0, 1.0, -1e14, 1e14, 1e100, -1e250]))
            payoffs[i] = np.vectorize(lambda u, s=scale, o=offset: float(o + s * u), otypes=[object])(payoffs[i])
    payoffs = payoffs.tolist()
    data: dict[str, Any] = {"format": "marlkit.game", "version": 1, "type": "normal-form", "payoffs": payoffs}
    if draw(st.booleans()):
        data["name"] = draw(NAME)
        data["players"] = draw(st.lists(NAME, min_size=n, max_size=n, unique=True))
        data["actions"] = [draw(st.lists(NAME, min_size=m, max_size=m, unique=True)) for m in actions]
    return data


@st.composite
def stochastic(draw: st.DrawFn) -> dict[str, Any]:
    n, states = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    actions = [draw(st.integers(1, 2)) for _ in range(n)]
    cells = states * math.prod(actions)
    weights = np.array(draw(st.lists(st.integers(0, 4), min_size=cells * states, max_size=cells * states)), float)
    weights = weights.reshape(cells, states)
    weights[weights.sum(axis=1) == 0, 0] = 1.0
    transitions = (weights / weights.sum(axis=1, keepdims=True)).reshape(states, *actions, states)
    rewards = draw(st.lists(ODD_NUMBERS, min_size=n * cells, max_size=n * cells))
    data: dict[str, Any] = {
        "type": "stochastic",
        "transitions": transitions.tolist(),
        "rewards": np.array(rewards, dtype=object).reshape(n, states, *actions).tolist(),
        "initial": [1.0] + [0.0] * (states - 1),
        "gamma": draw(st.floats(0.0, 0.99)),
    }
    if draw(st.booleans()):
        data["terminal"] = [False, *draw(st.lists(st.booleans(), min_size=states - 1, max_size=states - 1))]
        data["states"] = draw(st.lists(NAME, min_size=states, max_size=states, unique=True))
    return data


VALID = st.one_of(normal_form(), stochastic())


# --------------------------------------------------------------------------------------- invalid mutations
WRONG_VALUES: dict[str, list[Any]] = {
    "type": [["normal-form"], 3, None, "normal form", "Normal-Form", {"a": 1}],
    "name": [3, True, None, ["x"], {"a": 1}, "x" * 201, "a\u001b[31mb", "a\nb"],
    "description": [3, False, None, ["x"], "x" * 20_001, "\u0007"],
    "players": ["rc", 5, True, [1, 2], [["a"], ["b"]], None, {"a": 1}],
    "actions": ["ab", 3, True, [["a", "b"], "cd"], [[1, 2]], None],
    "payoffs": ["3", True, 3, None, {"shape": "x"}, [[["3"]]], [], {"a": 1}],
    "transitions": ["1", True, [[["x"]]], None, 1.0],
    "rewards": ["0", False, None, [[[True]]]],
    "initial": ["1", [True], None, [[1.0]]],
    "gamma": ["0.9", True, False, [0.9], None, 1.0, -0.1, {"v": 0.9}],
    "terminal": ["no", 3, [["x"]], [0.5]],
    "version": ["1", True, 1.0, 2, None, [1]],
    "format": ["marlkit", 1, None, ["marlkit.game"]],
    "metadata": [[], "x", 3, True],
    "states": ["abc", 3, [1, 2, 3], True],
}
WRONG_LEAVES = ["3", True, False, None, [1.0], {"a": 1}, "0.9", []]


def _first_leaf_path(value: Any) -> list[int]:
    path = []
    while isinstance(value, list) and value and isinstance(value[0], list):
        path.append(0)
        value = value[0]
    return path


@st.composite
def invalid_json(draw: st.DrawFn) -> tuple[bytes, str]:
    """(file bytes, "invalid" or "either") from a valid game made malformed."""
    data = draw(VALID)
    kind = draw(
        st.sampled_from(
            [
                "wrong-type",
                "wrong-leaf",
                "unknown-key",
                "nested",
                "sparse",
                "duplicate",
                "literal",
                "truncated",
                "flip",
                "deep-json",
                "huge-int",
            ]
        )
    )
    arrays = [k for k in ("payoffs", "rewards", "transitions") if k in data]
    if kind == "wrong-type":
        key = draw(st.sampled_from([k for k in WRONG_VALUES if k in _fields(data)]))
        data[key] = draw(st.sampled_from(WRONG_VALUES[key]))
        return json.dumps(data).encode(), "invalid"
    if kind == "wrong-leaf":
        key = draw(st.sampled_from(arrays))
        target = data[key]
        for k in _first_leaf_path(target):
            target = target[k]
        target[draw(st.integers(0, len(target) - 1))] = draw(st.sampled_from(WRONG_LEAVES))
        return json.dumps(data).encode(), "invalid"
    if kind == "unknown-key":
        key = draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in _fields(data) and k not in ALL_FIELDS))
        data[key] = draw(st.sampled_from([1, "x", None, [1]]))
        return json.dumps(data).encode(), "invalid"
    if kind == "nested":
        key = draw(st.sampled_from(arrays))
        levels = draw(st.integers(1, 80))
        for _ in range(levels):
            data[key] = [data[key]]
        # rewards may also be given per next state, [n, S, A_1..A_n, S']: one extra level of a one-player,
        # one-state, one-action game is that form (found by the seed-4 campaign), so it may be accepted
        ambiguous = key == "rewards" and levels == 1 and np.asarray(data[key], dtype=object).size == 1
        return json.dumps(data).encode(), "either" if ambiguous else "invalid"
    if kind == "sparse":
        key = draw(st.sampled_from(arrays))
        shape = list(np.array(data[key], dtype=object).shape)
        bad = draw(
            st.sampled_from(
                [
                    {"shape": [*shape[:-1], 10**6, 10**5], "indices": [], "values": []},
                    {"shape": shape, "indices": [[0.5] * len(shape)], "values": [1.0]},
                    {"shape": shape, "indices": [[-1] * len(shape)], "values": [1.0]},
                    {"shape": shape, "indices": [list(shape)], "values": [1.0]},
                    {"shape": shape, "indices": [[0] * len(shape)], "values": ["1"]},
                    {"shape": shape, "indices": [[0] * len(shape)] * 2, "values": [1.0, 2.0]},
                    {"shape": shape, "indices": [[0] * len(shape)], "values": [1.0, 2.0]},
                    {"shape": [True] * len(shape), "indices": [], "values": []},
                    {"shape": shape, "indices": [], "values": [], "value": []},
                ]
            )
        )
        data[key] = bad
        return json.dumps(data).encode(), "invalid"
    if kind == "duplicate":
        text = json.dumps(data)
        return (text[:-1] + ', "type": ' + json.dumps(data["type"]) + "}").encode(), "invalid"
    if kind == "literal":
        text = json.dumps(data)
        literal = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1e301", "9" * 320]))
        key = draw(st.sampled_from(arrays))
        target = data[key]
        for k in _first_leaf_path(target):
            target = target[k]
        target[0] = "__LITERAL__"
        text = json.dumps(data).replace('"__LITERAL__"', literal)
        return text.encode(), "invalid"
    if kind == "truncated":
        text = json.dumps(data).encode()
        return text[: draw(st.integers(0, len(text) - 1))], "invalid"
    if kind == "flip":
        text = bytearray(json.dumps(data).encode())
        for _ in range(draw(st.integers(1, 4))):
            position = draw(st.integers(0, len(text) - 1))
            text[position] ^= 1 << draw(st.integers(0, 7))
        return bytes(text), "either"
    if kind == "deep-json":
        depth = draw(st.integers(65, 5000))
        data["metadata"] = "__DEEP__"
        return json.dumps(data).replace('"__DEEP__"', "[" * depth + "]" * depth).encode(), "invalid"
    # huge-int: an integer of more than 309 digits (overflows a float64) in an array
    key = draw(st.sampled_from(arrays))
    target = data[key]
    for k in _first_leaf_path(target):
        target = target[k]
    target[0] = "__BIG__"
    digits = draw(st.integers(310, 5000))
    return json.dumps(data).replace('"__BIG__"', "9" * digits).encode(), "invalid"


ALL_FIELDS = {
    "format", "version", "type", "name", "description", "citation", "players", "actions", "metadata", "payoffs",
    "states", "gamma", "transitions", "rewards", "initial", "terminal", "action_mask", "costs", "limits",
    "observations",
}  # fmt: skip


def _fields(data: dict[str, Any]) -> set[str]:
    """The fields a game of this type may have (a wrong value for one of these is what the test injects)."""
    common = {"format", "version", "type", "name", "description", "players", "actions", "metadata"}
    if data["type"] == "normal-form":
        return common | {"payoffs"}
    return common | {"transitions", "rewards", "initial", "gamma", "terminal", "states"}


# ------------------------------------------------------------------------------------------------- NPZ
def _npz_members(data: dict[str, Any], folder: Path) -> dict[str, np.ndarray]:
    path = save_game(game_from_dict(data), folder / "base.npz")
    with np.load(path) as archive:
        return {k: archive[k] for k in archive.files}


def _declared_member(path: Path, members: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> None:
    """An archive whose member ``name`` declares ``shape`` in its .npy header but holds 64 bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, array in members.items():
            with archive.open(f"{key}.npy", "w") as handle:
                if key == name:
                    np.lib.format.write_array_header_1_0(
                        handle, {"descr": "<f8", "fortran_order": False, "shape": shape}
                    )
                    handle.write(b"\0" * 64)
                else:
                    np.lib.format.write_array(handle, array, allow_pickle=False)


@st.composite
def npz_case(draw: st.DrawFn) -> tuple[dict[str, Any], str, Any]:
    """(a valid game's dict, the mutation, its parameter): written by :func:`write_npz`."""
    data = draw(VALID)
    kind = draw(st.sampled_from(["valid", "member", "extra", "header", "declared", "truncated", "flip", "flip"]))
    parameter: Any = None
    if kind == "member":
        parameter = draw(st.sampled_from(["complex", "object", "strings", "bool", "ndim", "missing-header", "0d"]))
    elif kind == "extra":
        parameter = draw(st.sampled_from(["payof", "terminals", "observations_0", "x", "__header__2"]))
    elif kind == "header":
        parameter = draw(
            st.sampled_from(["list", "not-json", "array", "unknown-key", "wrong-type", "duplicate", "deep", "bytes"])
        )
    elif kind == "declared":
        parameter = draw(st.sampled_from([(2, 10**5, 10**5), (10**9,), (2**40, 2**30)]))
    elif kind in ("truncated", "flip"):
        parameter = draw(st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=6))
    return data, kind, parameter


def write_npz(case: tuple[dict[str, Any], str, Any], folder: Path) -> tuple[Path, str]:
    data, kind, parameter = case
    members = _npz_members(data, folder)
    path = folder / "case.npz"
    array_key = "payoffs" if "payoffs" in members else "rewards"
    header = json.loads(str(members["__header__"]))
    if kind == "valid":
        np.savez_compressed(path, **members)
        return path, "valid"
    if kind == "member":
        target = members[array_key]
        replacement = {
            "complex": target + 1j,
            "object": np.array([1, "x"], dtype=object),
            "strings": target.astype(str),
            "bool": np.ones(target.shape, dtype=bool),
            "ndim": target.reshape(-1),
            "0d": np.array(1.0),
        }.get(parameter)
        if parameter == "missing-header":
            del members["__header__"]
        else:
            members[array_key] = replacement
        np.savez(path, **members)  # object arrays are pickled by np.savez: the archive an attacker would write
        return path, "invalid"
    if kind == "extra":
        members[parameter] = members[array_key]
        np.savez(path, **members)
        return path, "invalid"
    if kind == "header":
        text = {
            "list": json.dumps([header]),
            "not-json": "{" + json.dumps(header),
            "unknown-key": json.dumps({**header, "payof": 1}),
            "wrong-type": json.dumps({**header, "type": ["normal-form"]}),
            "duplicate": json.dumps(header)[:-1] + ', "type": "normal-form"}',
            "deep": json.dumps({**header, "metadata": "__D__"}).replace('"__D__"', "[" * 3000 + "]" * 3000),
        }.get(parameter)
        if parameter == "array":
            members["__header__"] = np.array([json.dumps(header)] * 2)
        elif parameter == "bytes":
            members["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        else:
            members["__header__"] = np.array(text)
        np.savez(path, **members)
        return path, "invalid"
    if kind == "declared":
        _declared_member(path, members, array_key, parameter)
        return path, "invalid"
    np.savez_compressed(path, **members)
    raw = bytearray(path.read_bytes())
    if kind == "truncated":
        path.write_bytes(bytes(raw[: int(parameter[0] * len(raw))]))
        return path, "invalid"
    for fraction in parameter:
        position = int(fraction * len(raw))
        raw[position] ^= 1 << (position % 8)
    path.write_bytes(bytes(raw))
    return path, "either"


# ----------------------------------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="marlkit-fuzz-") as name:
        yield Path(name)


CONCEPTS = ("ce", "cce", "pareto", "welfare", "minimax")


@_settings(60)
@given(data=VALID, concept=st.sampled_from(CONCEPTS))
def test_valid_game_files_are_accepted_and_solved_correctly(
    folder: Path, data: dict[str, Any], concept: str, fuzz_cli: Any, fuzz_limit: Any, fuzz_outcome: Any
) -> None:
    """Valid games (odd numbers included) are accepted from JSON and NPZ, Nash is re-certified independently, and
    one other concept ends in a result or one error line (e.g. minimax on a general-sum game)."""
    for suffix in (".json", ".npz"):
        path = folder / f"valid{suffix}"
        if suffix == ".json":
            path.write_text(json.dumps(data))
        else:
            save_game(game_from_dict(data), path)
        check_case(path, "valid", fuzz_cli, fuzz_limit, fuzz_outcome)
        assert game_to_dict(load_game(path))["type"] == data["type"]
    with fuzz_limit(CASE_SECONDS):
        code, out, err = fuzz_cli("solve", str(path), "--concept", concept, "--json")
    fuzz_outcome("solve --concept", code, out, err)
    if code == 0:
        assert err == "" and "concept" in json.loads(out), err[-3000:]


@_settings(150)
@given(case=invalid_json())
def test_malformed_json_game_files_are_refused_in_one_line(
    folder: Path, case: tuple[bytes, str], fuzz_cli: Any, fuzz_limit: Any, fuzz_outcome: Any
) -> None:
    content, expect = case
    path = folder / "case.json"
    path.write_bytes(content)
    check_case(path, expect, fuzz_cli, fuzz_limit, fuzz_outcome)


@_settings(100)
@given(case=npz_case())
def test_malformed_npz_game_files_are_refused_in_one_line(
    folder: Path, case: tuple[dict[str, Any], str, Any], fuzz_cli: Any, fuzz_limit: Any, fuzz_outcome: Any
) -> None:
    path, expect = write_npz(case, folder)
    check_case(path, expect, fuzz_cli, fuzz_limit, fuzz_outcome)
