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
        ("name: a\x1a\nsteps: 10\n", "unacceptable character #x001a"),  # PyYAML's reader: was exit 1
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
        lambda: IQL(exploration=EpsilonGreedy(1.5)),  # type: ignore[arg-type]
        lambda: Boltzmann(0.0),  # type: ignore[arg-type]
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


# ------------------------------------------------------------------------------------------ found by the fuzzer
# tests/fuzz/test_configs.py found each of these; every one is a single line now, before anything compiles.


def test_the_replicators_discrete_map_can_be_chosen_in_a_config(tmp_path: Path) -> None:
    """The config rebuilt the learner by replacing fields of its default instance, whose step size the Euler
    default had already filled in (0.01), so ``method: discrete`` ("takes no step size") was always refused."""
    import json

    game = tmp_path / "positive.json"  # the discrete map needs positive payoffs (offspring counts)
    game.write_text(json.dumps({"type": "normal-form", "payoffs": [[[3, 1], [2, 2]], [[1, 3], [2, 2]]]}))
    config = load_config(
        {"game": {"file": str(game)}, "learners": {"name": "replicator", "params": {"method": "discrete"}}, "steps": 10}
    )
    assert config.learners[0].params["method"] == "discrete" and config.learners[0].params["step_size"] is None
    params = {"method": "discrete", "step_size": 0.1}
    with pytest.raises(MarlkitError, match="takes no step_size"):
        load_config({"game": {"file": str(game)}, "learners": {"name": "replicator", "params": params}, "steps": 10})


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("{name: smooth-fp, params: {temperature: .inf}}", "learners.params: SmoothFictitiousPlay.temperature"),
        ("{name: hedge, params: {learning_rate: .nan}}", "learners.params: Hedge.learning_rate"),
        ("{name: wolf-iga, params: {step_size: 0.0}}", "learners.params: WoLFIGA.step_size"),  # was accepted
        ("{name: replicator, params: {step_size: 0}}", "learners.params: Replicator.step_size"),
        ("{name: conditional-rm, params: {inertia: -0.0}}", "learners.params: ConditionalRegretMatching.inertia"),
    ],
)
def test_out_of_range_numbers_name_their_key(tmp_path: Path, params: str, expected: str) -> None:
    # a number that became a Constant schedule was refused as "Constant.value: expected a number", naming no key;
    # the dynamics, fictitious-play and no-regret learners did not check their declared ranges at all
    assert expected in _error(tmp_path, BASE + f"learners: {params}\n")


def test_dynamics_and_no_regret_learners_check_their_ranges_in_python() -> None:
    from marlkit.agents.tabular.gradient_ascent import IGA
    from marlkit.agents.tabular.no_regret import Hedge
    from marlkit.games import NormalFormGame
    from marlkit.games.catalog import make

    pennies = make("matching-pennies")
    assert isinstance(pennies, NormalFormGame)
    for build in (lambda: IGA(game=pennies, step_size=0.0), lambda: Hedge(payoffs=pennies, learning_rate=-1.0)):
        with pytest.raises(LearnerConfigError):
            build()


def test_names_have_a_length_limit(tmp_path: Path) -> None:
    from marlkit.experiment.config import MAX_NAME_CHARS

    assert load_config({**_MINIMAL, "name": "n" * MAX_NAME_CHARS}).name == "n" * MAX_NAME_CHARS
    for config, key in (
        ({**_MINIMAL, "name": "n" * (MAX_NAME_CHARS + 1)}, "config: name: "),
        ({**_MINIMAL, "output": {"name": "o" * 5000}}, "config: output.name: "),
        ({**_MINIMAL, "game": "g" * 3000}, "config: game.name: "),  # was OSError: File name too long (exit 1)
        ({**_MINIMAL, "learners": "l" * 3000}, "config: learners.name: "),
        ({**_MINIMAL, "game": "a\x00b"}, "config: game.name: unknown game"),
    ):
        with pytest.raises(MarlkitError) as info:
            load_config(config)
        assert str(info.value).startswith(key) and len(str(info.value)) < 700, str(info.value)[:300]


_MINIMAL = {"game": "matching-pennies", "learners": "iql", "steps": 100}


def test_step_counts_beyond_int32_are_refused_at_once() -> None:
    from marlkit.experiment.config import MAX_STEPS

    tic = time.perf_counter()
    for config in (
        {**_MINIMAL, "steps": 10**40},
        {"env": "simple_spread", "learners": "ippo", "steps": 10**40},  # default_log_every walked 1e38 divisors
        {**_MINIMAL, "max_episode_steps": 2**31},
    ):
        with pytest.raises(ConfigError, match=r"int32"):
            load_config(config)
    assert time.perf_counter() - tic < 5.0
    assert load_config({**_MINIMAL, "steps": MAX_STEPS, "log_every": MAX_STEPS}).steps == MAX_STEPS


def test_long_keys_are_cut_in_key_paths(tmp_path: Path) -> None:
    import yaml

    text = yaml.safe_dump({**_MINIMAL, "diagnostics": {"eps": {"x" * 5000: 0.1}}})  # an explicit "? key"
    message = _error(tmp_path, text)
    assert "diagnostics.eps.'xxx" in message and "(5000 characters)" in message and len(message) < 600
    text = yaml.safe_dump({**_MINIMAL, "learners": {"name": "iql", "params": {"k" * 5000: 1}}})
    message = _error(tmp_path, text)  # a hyper-parameter's name
    assert "learners.params.'kkk" in message and len(message) < 600


# ------------------------------------------------------------------------------------------------ eps rule


def test_each_distance_reaches_its_bound_on_point_masses() -> None:
    """The bounds (marlkit.diagnose.distances.DISTANCE_BOUNDS) are the distances' suprema: two point masses on
    different outcomes reach them (learned p = (0, 1), target q = (1, 0)); TV = 1, L1 = 2, L2 = √2, JS = ln 2
    (Lin 1991, Thm. 4) and KL(q ‖ p) = ln(1 / KL_FLOOR) with p clipped at the floor."""
    import numpy as np

    from marlkit.diagnose.distances import DISTANCE_BOUNDS, DISTANCES

    p, q = np.array([0.0, 1.0]), np.array([1.0, 0.0])
    expected = {"tv": 1.0, "l1": 2.0, "l2": math.sqrt(2), "js": math.log(2), "kl": math.log(1e12)}
    assert set(DISTANCE_BOUNDS) == set(DISTANCES) == set(expected)
    for name, bound in DISTANCE_BOUNDS.items():
        assert float(DISTANCES[name](p, q)) == pytest.approx(bound) == pytest.approx(expected[name])
        rng = np.random.default_rng(0)  # and no pair of distributions exceeds it
        a, b = rng.dirichlet(np.ones(4), 200), rng.dirichlet(np.ones(4) * 0.1, 200)
        assert float(np.max(DISTANCES[name](a, b))) <= bound + 1e-12


@pytest.mark.parametrize(
    ("game", "diagnostics", "refused"),
    [
        ("matching-pennies", {"eps": 1.5}, "diagnostics.eps (for joint_policy): 1.5 is not below 1"),
        ("matching-pennies", {"eps": 1.0}, "not below 1, the largest tv distance"),
        ("matching-pennies", {"eps": 0.99}, None),
        ("matching-pennies", {"eps": 1.5, "distance": "l1"}, None),
        ("matching-pennies", {"eps": 2.0, "distance": "l1"}, "not below 2"),
        ("matching-pennies", {"eps": 0.7, "distance": "js"}, "not below 0.693147"),
        ("matching-pennies", {"eps": 30, "distance": "kl"}, "not below 27.631"),
        ("matching-pennies", {"eps": 20, "distance": "kl"}, None),
        ("matching-pennies", {"eps": {"expected_return": 100, "average_return": 5}}, None),  # payoff units
        ("matching-pennies", {"eps": {"solution_set": 2}}, "diagnostics.eps.solution_set: 2 is not below 1"),
        ("rock-paper-scissors", {"eps": 1.2, "concept": "ce"}, "not below 1"),  # a polytope: a distance too
        ("grid-game-1", {"eps": 1.5}, None),  # general-sum stochastic: judged by NashConv, in payoff units
    ],
)
def test_eps_must_stay_below_the_distances_largest_value(game: str, diagnostics: dict, refused: str | None) -> None:
    """TV <= 1 always, and a verdict asks d < eps: eps >= 1 called every run converged (issue 15)."""
    config = {"game": game, "learners": "iql", "steps": 100, "diagnostics": diagnostics}
    if refused is None:
        assert load_config(config).diagnostics.eps is not None
        return
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert refused in str(info.value) and "every run would count as converged" in str(info.value)


def test_the_diagnostics_refuse_a_vacuous_eps_too() -> None:
    from marlkit.diagnose.criteria import check_eps, eps_bound
    from marlkit.diagnose.solution_sets import solution_set
    from marlkit.errors import InvalidGameError
    from marlkit.games.catalog import make

    listed, nashconv = solution_set(make("matching-pennies")), solution_set(make("grid-game-1"))
    assert eps_bound("joint_policy", "tv", listed) == 1.0 and eps_bound("expected_return", "tv", listed) is None
    assert (
        eps_bound("joint_policy", "tv", nashconv) is None and eps_bound("joint_policy", "mine (user)", listed) is None
    )
    with pytest.raises(InvalidGameError, match=r"eps for 'averaged_joint_policy': 1\.5 is not below 1"):
        check_eps("averaged_joint_policy", 1.5, "tv", listed)
    check_eps("averaged_joint_policy", 1.5, "l1", listed)


def test_a_saved_config_reads_back_when_a_string_looks_like_an_exponent() -> None:
    """The loader reads 1e5 as a number (YAML 1.2), PyYAML's dumper wrote the name '1e5' unquoted (YAML 1.1: a
    string), so a run named 0E0 saved a config.yaml that did not load back (found by the fuzzer)."""
    import yaml

    from marlkit.experiment.config import dump_config
    from marlkit.schema import dump_yaml

    config = load_config({**_MINIMAL, "name": "0E0"})
    assert "name: '0E0'" in dump_config(config) and load_config(yaml.safe_load(dump_config(config))) == config
    assert load_config(load_yaml(dump_config(config))) == config
    data = {"a": "1e5", "b": 1e-4, "c": ["2E3", 2000.0], "d": "x1e3"}
    assert load_yaml(dump_yaml(data)) == data


def test_deep_yaml_is_refused_before_it_is_composed() -> None:
    tic = time.perf_counter()
    for depth in (65, 3000, 20_000):
        with pytest.raises(ConfigError, match="nested deeper than 64"):
            load_yaml("a: 1\nextra: " + "[" * depth + "]" * depth + "\n")
    assert time.perf_counter() - tic < 5.0  # event by event: stops at level 65 (composing first took seconds)
    assert load_yaml("a: " + "[" * 63 + "]" * 63) is not None  # the top mapping and 63 lists: 64 levels
