"""Issue 15, configs: hostile YAML (alias bombs, deep nesting, duplicate keys, recursive anchors, huge files) is
refused before it is expanded; types are exact (YAML 1.1's ``1e-4`` string is the number it looks like, booleans
and quoted numbers are not numbers); ``seeds`` has a documented maximum; messages cut long values; and every
learner's hyper-parameters are range-checked from their declarations — over whole schedules — before anything
compiles. No test here trains or compiles."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from marlkit.agents.deep.ppo import IPPO
from marlkit.agents.tabular.base import Boltzmann, Constant, EpsilonGreedy, ExponentialDecay, InverseTime, PowerCount
from marlkit.agents.tabular.q_learning import IQL
from marlkit.errors import LearnerConfigError, MarlkitError
from marlkit.experiment.config import MAX_SEEDS, load_config
from marlkit.schema import MAX_YAML_BYTES, MAX_YAML_NODES, SHOWN_CHARS, ConfigError, load_yaml, shown

BASE = "game: matching-pennies\nsteps: 100\n"


def _iql(params: str) -> str:
    return BASE + f"learners: {{name: iql, params: {params}}}\n"


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_config(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(MarlkitError) as info:
        _load(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 600, message  # one short line
    return message


# ------------------------------------------------------------------------------------------------ hostile YAML


def _bomb(levels: int, width: int = 9) -> str:
    text = "a0: &a0 [" + ", ".join(['"x"'] * width) + "]\n"
    for level in range(1, levels + 1):
        text += f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]\n"
    return text


def test_an_alias_bomb_is_measured_without_being_expanded(tmp_path: Path) -> None:
    text = BASE + "learners: iql\n" + _bomb(9)  # ~500 bytes; 9^10 ~ 3.5e9 values once expanded
    assert len(text) < 1000
    tic = time.perf_counter()
    message = _error(tmp_path, text)
    assert time.perf_counter() - tic < 2.0  # memoised per node: never expanded
    assert f"more than {MAX_YAML_NODES} values" in message and "aliases" in message
    assert load_yaml(_bomb(2)) is not None  # a few aliases are fine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("game: " + "[" * 1200 + "]" * 1200 + "\n", "nested deeper than"),
        ("a: &a [*a]\n", "refers to itself"),
        ("steps: 1\nsteps: 2\n", "duplicate key 'steps'"),
        ("steps: [1, 2\n", "not valid YAML at line"),
    ],
)
def test_hostile_yaml_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_a_huge_config_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_YAML_BYTES * 50)
    with pytest.raises(ConfigError, match="larger than"):
        load_config(path)
    with pytest.raises(ConfigError, match="bytes of YAML"):
        load_yaml("x" * (MAX_YAML_BYTES + 1))


# ------------------------------------------------------------------------------------------------ exact types


def test_yaml_1_1_exponents_are_numbers_but_strings_and_booleans_are_not(tmp_path: Path) -> None:
    # PyYAML (YAML 1.1) reads 1e-1 (no dot) as a string; where a number is expected it means the number
    config = _load(tmp_path, _iql("{step_size: 1e-1}"))
    assert config.learners[0].params["step_size"] == pytest.approx(0.1)  # type: ignore[attr-defined]
    assert "got True" in _error(tmp_path, _iql("{step_size: true}"))
    assert "got '0.1'" in _error(tmp_path, _iql("{step_size: '0.1'}"))
    assert "got '1e-1x'" in _error(tmp_path, _iql("{step_size: 1e-1x}"))
    assert "expected a mapping" in _error(tmp_path, _iql("[]"))
    assert "steps: expected an integer >= 1, got 100.0" in _error(
        tmp_path, BASE.replace("100", "100.0") + "learners: iql\n"
    )


def test_seeds_have_a_documented_maximum(tmp_path: Path) -> None:
    message = _error(tmp_path, BASE + "learners: iql\nseeds: 4294967296\n")
    assert f"at most {MAX_SEEDS}" in message
    assert "seed indices" in _error(tmp_path, BASE + f"learners: iql\nseeds: {list(range(MAX_SEEDS + 1))}\n")


def test_messages_cut_long_values(tmp_path: Path) -> None:
    message = _error(tmp_path, _iql("{step_size: '" + "x" * 600_000 + "'}"))
    assert "(600000 characters)" in message and len(message) < 400
    assert len(_error(tmp_path, BASE + "learners: iql\n" + "k" * 100_000 + ": 1\n")) < 600  # an unknown key
    assert len(shown(list(range(10**6)))) <= SHOWN_CHARS and len(shown({"a": [[[[[1]]]]]})) <= SHOWN_CHARS


# ------------------------------------------------------------------------------------------------ ranges


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("{exploration: {type: epsilon-greedy, epsilon: 2.0}}", "exploration.epsilon: expected a schedule"),
        ("{exploration: {type: boltzmann, temperature: 0}}", "values > 0, got 0.0"),
        ("{exploration: {type: boltzmann, temperature: -1}}", "values > 0, got -1.0"),
        ("{step_size: 0}", "step_size"),
        ("{step_size: -0.1}", "step_size"),
        ("{step_size: 1e6}", "in (0, 1], got 1000000.0"),  # α > 1 overshoots every target
        ("{step_size: {type: constant, value: -0.1}}", "got -0.1"),
        ("{step_size: {type: exponential-decay, initial: 0.5, rate: 1.5}}", "limit is inf"),
        ("{step_size: {type: inverse-time, offset: 0.5}}", "first value is 2.0"),  # 1 / 0.5 > 1
        ("{step_size: {type: power-count, scale: 1.0, power: -1}}", "power"),
        ("{initial_q: 1e300}", "beyond float32's range"),
        ("{initial_q: .nan}", "initial_q"),
    ],
)
def test_hyper_parameters_are_range_checked_before_compiling(tmp_path: Path, params: str, expected: str) -> None:
    assert expected in _error(tmp_path, _iql(params))


def test_decaying_schedules_meet_an_open_bound_in_the_limit(tmp_path: Path) -> None:
    # α = 1/(10 + t/1e4) decays to 0 but is > 0 at every step; ε decaying to 0 is a probability
    config = _load(tmp_path, _iql("{step_size: {type: inverse-time, offset: 10, stretch: 1e4}}"))
    assert config.learners[0].params["step_size"]["offset"] == 10.0  # type: ignore[attr-defined]
    assert InverseTime(10.0, 1e4).span() == (0.1, 0.0)
    assert PowerCount(1.0, 0.7).span() == (1.0, 0.0)
    assert ExponentialDecay(16.0, 0.999, 0.05).span() == (16.0, 0.05)
    assert ExponentialDecay(1.0, 2.0).span() == (1.0, math.inf)
    EpsilonGreedy(ExponentialDecay(1.0, 0.99))  # ε: 1 -> 0


def test_the_rules_hold_for_learners_built_in_python() -> None:
    for build in (
        lambda: IQL(step_size=2.0),
        lambda: IQL(exploration=EpsilonGreedy(1.5)),
        lambda: Boltzmann(0.0),
        lambda: Constant(math.nan),
        lambda: IPPO(lr=1e6),  # Adam moves each weight by ~lr per step: lr > 1 diverges (agents/deep/base.py)
        lambda: IPPO(lr=-1e-3),
    ):
        with pytest.raises(LearnerConfigError):
            build()
    from marlkit.agents.tabular.hill_climbing import PHC

    with pytest.raises(LearnerConfigError, match="initial_policy"):
        PHC(initial_policy=(math.nan, 0.5))


def test_yaml_exponent_numbers_are_numbers_everywhere() -> None:
    """Review of issue 15: `lr: 1e-4` was accepted but `epsilon: 1e-1` inside an exploration schedule was refused
    as the string '1e-1' (PyYAML reads YAML 1.1, where a number needs a dot); configs read exponents as numbers
    wherever they appear (YAML 1.2's rule), and other strings stay strings."""
    from marlkit.schema import load_yaml

    data = load_yaml("a: 1e-4\nb: {c: [1e3, -2E+5]}\nd: x1e3\ne: 1.5\nf: 12\n")
    assert data == {"a": 1e-4, "b": {"c": [1000.0, -200000.0]}, "d": "x1e3", "e": 1.5, "f": 12}
    assert isinstance(data["f"], int)
