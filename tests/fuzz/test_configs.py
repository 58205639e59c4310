"""Fuzzing experiment configs through ``marlkit run`` (issue 15, "A fuzz suite in the tests": configs).

Hypothesis generates **valid** YAML configs from the schema (docs/experiments.md, :mod:`marlkit.experiment.config`):
every tabular learner on a catalog game it applies to and every deep learner on a task or a game, with
hyper-parameters drawn inside their declared ranges (both ends of a closed range included, schedules and
explorations among them), seeds as a count or a list, optional diagnostics, output and sinks sections. From a valid
config it makes **invalid** ones by exactly one labelled mutation each:

* ``wrong-type``: a string for a number (``"3"``, ``"0.9"``), a boolean, a float for an integer, a list for a
  mapping (``params: []``), a mapping for a number, at every level;
* ``range``: each declared range's both sides (just outside, or on an open bound), NaN, ±inf, 1e308, -0.0 on a
  bound open at 0;
* ``unknown-key``: a misspelt key at every level (the message must offer the key as "did you mean");
* ``missing``: a required key removed;
* ``huge-int``: ``seeds: 4294967296``, 2**64-sized keys, steps and network sizes;
* ``yaml``: alias bombs, deep nesting, duplicate keys, ``!!python/object`` and other tags, ``!!binary``,
  timestamps, YAML 1.1 booleans (``yes``/``no``/``on``) where a number or a name is expected, several documents,
  invalid UTF-8, a scalar or a list as the document;
* ``name``: over-long names, control characters, markup, path separators;
* ``unknown-name``: unknown learners, games, concepts, distances, criteria.

Each case runs the real entry point in this process, ``marlkit.cli.main(["run", config, ...])``, with training cut
off right after validation and planning: the runner's ``rundir.clean_stale_temp`` (its first step after
:func:`~marlkit.experiment.config.load_config`, :func:`~marlkit.experiment.sinks.check_sinks` and
:func:`~marlkit.experiment.trainers.plan_for`) raises :class:`Accepted`, a ``BaseException`` the CLI's error boundary
does not catch — reaching it means the config was accepted. Every case must end in one of two ways, under a per-case
time limit (no hang):

* an invalid case: exit 2 with exactly one stderr line ``error: ...`` (not an internal error), at most
  :data:`MAX_MESSAGE` characters (no echo of a huge value), naming the mutated field, nothing on stdout, nothing on
  disk;
* a valid case: accepted.

No traceback, no internal error (exit 1), no silent acceptance of an invalid config, no refusal of a valid one. Two
end-to-end tests (at the bottom) let ``rundir.create`` run for real, to check that a valid config gets its run
directory and an invalid one leaves nothing.

Budget: ``MARLKIT_FUZZ_EXAMPLES`` cases per test (default 80 valid + 200 invalid, derandomized: the same cases on
every run). The campaign (bench/fuzz_configs.py)::

    MARLKIT_FUZZ_EXAMPLES=2000 MARLKIT_FUZZ_SEED=1 pytest -n 0 -p no:cacheprovider tests/fuzz/test_configs.py
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
import types
import typing
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from marlkit.agents.deep.registry import DEEP_LEARNERS, deep_learner_class
from marlkit.agents.tabular.registry import LEARNERS, make_learner
from marlkit.cli import main
from marlkit.experiment import rundir, runner
from marlkit.experiment.params import EXPLORATIONS, FORMS
from marlkit.games.catalog import make
from marlkit.schema import Rules, dump_yaml, rules_of, settable

EXAMPLES = int(os.environ.get("MARLKIT_FUZZ_EXAMPLES", "0"))
SEED = os.environ.get("MARLKIT_FUZZ_SEED")
CASE_SECONDS = 20.0
"""Per-case time limit; a case takes well under a second."""
MAX_MESSAGE = 800
"""The longest error line a config may get: the longest legitimate ones list every allowed key, game or learner
after the config's path."""


def _settings(examples: int) -> Any:
    config = settings(
        max_examples=examples,
        derandomize=SEED is None,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],  # no explain: its tracer
    )  # slows a failing case's reruns ~50-fold, past the per-case limit
    return (lambda f: seed(int(SEED))(config(f))) if SEED is not None else config


# ------------------------------------------------------------------------------------------ running a case
class Accepted(BaseException):
    """Raised where the runner would start creating the run: the config passed every check."""


def _accepted() -> None:
    raise Accepted


def run_config(path: Path, root: Path) -> tuple[str, int, str, str]:
    """``marlkit run path`` in this process, stopped right after validation: ``("accepted", 0, out, err)`` or
    ``("exit", code, out, err)``. A RuntimeWarning is an error (an internal error, exit 1)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error", RuntimeWarning)
        patch.setattr(rundir, "clean_stale_temp", _accepted)
        try:
            code = main(["run", str(path), "--root", str(root), "--no-progress"])
        except Accepted:
            return "accepted", 0, out.getvalue(), err.getvalue()
    return "exit", code, out.getvalue(), err.getvalue()


def check_case(text: bytes, expect: str, where: tuple[str, ...], folder: Path, limit: Any, one_line: Any) -> None:
    """One config (its file bytes) through ``marlkit run``; ``expect`` is ``valid`` or ``invalid``, ``where`` the
    texts one of which the error must contain (the field's name); ``limit`` and ``one_line`` are the fuzz fixtures
    of tests/fuzz/conftest.py (``fuzz_limit``, ``fuzz_outcome``)."""
    path, root = folder / "case.yaml", folder / "runs"
    path.write_bytes(text)
    with limit(CASE_SECONDS):
        outcome, code, out, err = run_config(path, root)
    assert "Traceback" not in err, err[-3000:]
    assert not root.exists() or not any(root.iterdir()), "a run folder was written"
    if outcome == "accepted":
        assert expect == "valid", f"an invalid config was accepted ({where}):\n{text[:2000].decode(errors='replace')}"
        return
    one_line("run", code, out, err)
    lines = err.strip().splitlines()
    assert code == 2 and expect == "invalid", (
        f"a valid config was refused (exit {code}): {err[-500:]}\n{text[:2000].decode(errors='replace')}"
    )
    assert len(lines[0]) <= MAX_MESSAGE, f"{len(lines[0])} characters: {lines[0][:1000]}"
    assert any(w in lines[0] for w in where), f"the error does not name {where}: {lines[0]}"


# ------------------------------------------------------------------------------------------- valid configs
ALL_TABULAR = ["matching-pennies", "prisoners-dilemma", "rock-paper-scissors", "grid-game-1", "chicken"]
STAGE = ["matching-pennies", "prisoners-dilemma", "rock-paper-scissors", "chicken", "stag-hunt"]
TABULAR_GAMES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(["iql", "iql-eps", "phc", "wolf-phc", "jal-am", "nash-q", "ce-q"], tuple(ALL_TABULAR)),
    "minimax-q": ("matching-pennies", "rock-paper-scissors", "biased-rps"),
    **dict.fromkeys(["fp", "smooth-fp", "regret-matching", "conditional-rm", "hedge"], tuple(STAGE)),
    "replicator": ("matching-pennies", "prisoners-dilemma", "rock-paper-scissors"),
    **dict.fromkeys(["iga", "wolf-iga"], ("matching-pennies", "prisoners-dilemma", "chicken", "stag-hunt")),
    **dict.fromkeys(["lagrangian-iql", "lagrangian-phc", "lagrangian-wolf-phc"], ("resource-sharing",)),
    **dict.fromkeys(["cql", "robust-q"], ("coordination", "climbing", "two-step")),
}
"""Catalog games each tabular learner applies to (a learner that needs a zero-sum, common-payoff, one-state,
two-action or constrained game gets one)."""

DEEP_ENVS: dict[str, tuple[Any, ...]] = {
    **dict.fromkeys(["ippo", "mappo", "atla_mappo", "atla_ippo", "idqn", "vdn", "qmix", "coma"], ("simple_spread",)),
    **dict.fromkeys(["mappo_lagrangian", "ippo_lagrangian"], ("constrained_spread",)),
}
"""A task each deep learner trains on (Lagrangian learners need a task with costs)."""

FIXED = {"initial_policy", "equilibrium", "inner", "attacked", "cost_limit", "adversary_log_std", "inertia"}
"""Fields whose valid values depend on the game (its shape; conditional regret matching's inertia must exceed
2 M (|A_i| - 1), M the payoff bound) or hold a whole learner: left at their defaults."""


def _members(hint: Any) -> tuple[Any, ...]:
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    return typing.get_args(hint) if union else (hint,)


def _in_range(rules: Rules, integer: bool, small: bool) -> st.SearchStrategy[Any]:
    """Numbers inside a declared range (closed ends included); ``small`` keeps integers modest (sizes)."""
    low, high = rules.range or (None, None)
    open_low, open_high = rules.open in ("low", "both"), rules.open in ("high", "both")
    if integer:
        first = 0 if low is None else int(low) + (1 if open_low and float(low).is_integer() else 0)
        last = (first + (16 if small else 10**6)) if high is None else int(high) - (1 if open_high else 0)
        return st.integers(first, last)
    lo = -1e3 if low is None else float(low)
    hi = (lo + 1e3) if high is None else float(high)
    ends = [x for x, is_open in ((lo, open_low), (hi, open_high)) if not is_open and low is not None]
    inner = st.floats(lo, hi, exclude_min=open_low, exclude_max=open_high, allow_nan=False)
    return st.one_of(inner, st.sampled_from(ends)) if ends else inner


def schedule_value(draw: st.DrawFn, rules: Rules) -> Any:
    """A schedule whose every value lies in the range: a number, a constant, an inverse-time decay or an
    exponential decay towards a floor."""
    low, high = rules.range or (None, None)
    kind = draw(st.sampled_from(["number", "constant", "inverse-time", "exponential-decay"]))
    if kind in ("number", "constant"):
        value = draw(_in_range(rules, False, False))
        return value if kind == "number" else {"type": "constant", "value": value}
    top = 1.0 if high is None else float(high)
    if kind == "inverse-time":  # S / (O + t / T): S / O at t = 0, -> 0 (an open bound at 0 is met in the limit)
        if low is not None and (low > 0 or (rules.open not in ("low", "both") and low > 0)):
            return draw(_in_range(rules, False, False))
        offset = draw(st.floats(1.0, 100.0))
        return {"type": "inverse-time", "offset": offset, "stretch": draw(st.floats(1.0, 1e4)), "scale": top}
    initial = draw(st.floats(0.5 * top, top))  # exponential decay from `initial` to a floor inside the range
    floor = max(0.0 if low is None else float(low), 0.0)
    if rules.open in ("low", "both") and floor == (low or 0.0):
        floor = floor + 0.01 * top
    return {"type": "exponential-decay", "initial": initial, "rate": draw(st.floats(0.5, 0.999)), "floor": floor}


def exploration_value(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(list(EXPLORATIONS)))
    if kind == "greedy":
        return draw(st.sampled_from(["greedy", {"type": "greedy"}]))
    if kind == "epsilon-greedy":
        return {"type": kind, "epsilon": schedule_value(draw, Rules(range=(0, 1)))}
    return {"type": kind, "temperature": schedule_value(draw, Rules(range=(1e-3, 100)))}


def param_value(draw: st.DrawFn, name: str, hint: Any, rules: Rules) -> Any:
    """A value of one hyper-parameter inside its declaration (annotation, range, choices)."""
    members = [m for m in _members(hint) if m is not type(None)]
    nullable = len(members) < len(_members(hint))
    if nullable and draw(st.integers(0, 5)) == 0:
        return None
    if rules.choices is not None:
        return draw(st.sampled_from(rules.choices))
    forms = [m for m in members if m in FORMS]
    if forms and FORMS[forms[0]].tags is EXPLORATIONS:
        return exploration_value(draw)
    if forms:
        return schedule_value(draw, rules)
    first = members[0]
    if first is bool:
        return draw(st.booleans())
    if first is int:
        return draw(_in_range(rules, True, True))
    if first is float:
        return draw(_in_range(rules, False, False))
    if typing.get_origin(first) is tuple:  # network sizes: tuple[int, ...]
        return draw(st.lists(_in_range(rules, True, True).map(lambda k: 4 + k), min_size=1, max_size=2))
    raise AssertionError(f"no generator for {name}: {hint}")


def _fields(cls: type) -> dict[str, tuple[Any, Rules]]:
    return {
        name: (hint, rules_of(f))
        for name, (f, hint) in settable(cls, FORMS).items()
        if (name not in FIXED and typing.get_origin(hint) is not typing.Union) or name not in FIXED
    }


def learner_fields(name: str) -> dict[str, tuple[Any, Rules]]:
    cls = deep_learner_class(name) if name in DEEP_LEARNERS else type(make_learner(name, make(TABULAR_GAMES[name][0])))
    return {k: v for k, v in _fields(cls).items() if k not in FIXED}


DEEP_CHECKS = {"num_minibatches": 1, "batch_size": 8, "buffer_size": 256, "learning_starts": 0}
"""Deep hyper-parameters held where a cross-field rule ties them to others (the rule is a documented refusal,
tested by the learners' own tests): one minibatch, a batch smaller than the buffer."""


@st.composite
def valid_config(draw: st.DrawFn) -> dict[str, Any]:
    deep = draw(st.integers(0, 3)) == 0
    name = draw(st.sampled_from(sorted(DEEP_ENVS if deep else TABULAR_GAMES)))
    fields = learner_fields(name)
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), max_size=4, unique=True)) if fields else []
    params = {k: param_value(draw, k, *fields[k]) for k in chosen}
    if name == "replicator":  # documented rules that depend on the game: the discrete map needs positive
        params["method"] = "euler"  # payoffs; an Euler step dt needs dt x (payoff range) < 1 (ranges here <= 5)
        if "step_size" in params:
            params["step_size"] = draw(st.floats(1e-4, 0.15))
    pairs = {"wolf-phc": ("delta", "delta_lose"), "wolf-iga": ("l_min", "l_max")}  # WoLF: slow < fast (documented)
    if name in pairs and any(k in params for k in pairs[name]):
        rate = draw(st.floats(1e-3, 0.5))
        params.update({pairs[name][0]: rate, pairs[name][1]: 2 * rate})
    if name == "robust-q" and "payoff" in params:  # its games here are common-payoff (zero-sum needs zero-sum)
        params["payoff"] = "team"
    if params.get("adversary") == "gradient" and params.get("train_team") is False:
        params["train_team"] = True  # ATLA: only a learned adversary is trained alone (a documented rule)
    if "lagrangian" in name:  # the Lagrangian learners are feed-forward only (a documented rule)
        params.pop("recurrent", None)
    data: dict[str, Any] = {}
    if draw(st.booleans()):
        data["name"] = draw(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,30}\Z"))
    if deep:
        for key in DEEP_CHECKS:
            if key in params:
                params[key] = DEEP_CHECKS[key]
        if "rollout_length" in fields:
            params["rollout_length"] = draw(st.integers(1 if "atla" not in name else 0, 8))
        data["env"] = draw(st.sampled_from(DEEP_ENVS[name]))
        num_envs = draw(st.integers(1, 4))
        data["num_envs"] = num_envs
        learner = deep_learner_class(name)(**{k: v for k, v in params.items() if k in ("rollout_length",)})
        rollout = learner.rollout_length or getattr(getattr(learner, "inner", None), "rollout_length", 1)
        data["steps"] = num_envs * rollout * draw(st.integers(1, 4))
    else:
        data["game"] = draw(st.sampled_from(TABULAR_GAMES[name]))
        data["steps"] = draw(st.sampled_from([1, 10, 100, 1000, 4200]))
        if draw(st.booleans()):
            divisors = [d for d in range(1, data["steps"] + 1) if data["steps"] % d == 0]
            data["log_every"] = draw(st.sampled_from(divisors))
    full_entry = bool(params) or draw(st.booleans())
    data["learners"] = {"name": name, "params": params} if full_entry else name
    if draw(st.booleans()):
        data["seeds"] = draw(
            st.one_of(st.integers(1, 8), st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4, unique=True))
        )
    if draw(st.booleans()):
        data["key"] = draw(st.integers(0, 2**63 - 1))
    if not deep and draw(st.booleans()):
        data["diagnostics"] = diagnostics(draw)
    if draw(st.booleans()):
        data["output"] = {"root": draw(st.sampled_from(["runs", "out/here"]))}
    if draw(st.integers(0, 4)) == 0:
        data["sinks"] = {"tensorboard": False, "wandb": {"enabled": False}, "mlflow": None}
    return data


LISTED = {"matching-pennies", "prisoners-dilemma", "rock-paper-scissors", "chicken", "stag-hunt", "biased-rps"}
"""Two-player normal-form games: their Nash equilibria are enumerated, so the policy criteria are distances."""

BOUNDS = {"tv": 1.0, "l1": 2.0, "l2": math.sqrt(2.0), "js": math.log(2.0), "kl": math.log(1e12)}
"""The largest value of each policy distance between two distributions (marlkit.diagnose.distances)."""


def diagnostics(draw: st.DrawFn) -> dict[str, Any]:
    distance = draw(st.sampled_from(sorted(BOUNDS)))
    section: dict[str, Any] = {"distance": distance}
    if draw(st.booleans()):
        section["eps"] = draw(st.floats(1e-6, BOUNDS[distance], exclude_min=True, exclude_max=True))
    elif draw(st.booleans()):
        section["eps"] = {
            "joint_policy": draw(st.floats(1e-3, BOUNDS[distance], exclude_max=True)),
            "expected_return": 7.5,  # a return gap: payoff units, no bound
        }
    return section


# -------------------------------------------------------------------------------------- invalid mutations
WRONG_FOR: dict[str, list[Any]] = {
    "int": ["3", "0.9", True, False, 2.5, [3], {"a": 1}, "1e3"],
    "float": ["3", "0.9", True, False, [0.5], "0.1x", "nan"],
    "str": [3, True, 1.5, ["x"], {"a": 1}],
    "mapping": [[], "[]", 3, True, ["a", "b"]],
    "bool": ["true", 1, 0, "yes please", [True]],
}


def _deep(data: dict[str, Any]) -> bool:
    return "env" in data


def _learner(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The learner's name and its params mapping (created in ``data`` if the learner was a bare name)."""
    entry = data["learners"]
    if isinstance(entry, str):
        entry = data["learners"] = {"name": entry, "params": {}}
    return entry["name"], entry.setdefault("params", {})


def _kind(hint: Any, rules: Rules) -> str:
    members = [m for m in _members(hint) if m is not type(None)]
    if rules.choices is not None or members[0] is str:
        return "str"
    if members[0] is bool:
        return "bool"
    if members[0] is int:
        return "int"
    return "float"


def _outside(rules: Rules, integer: bool) -> list[Any]:
    """Values just outside a declared range, or on its open bounds; NaN / inf / 1e308 for numbers."""
    low, high = rules.range or (None, None)
    open_low, open_high = rules.open in ("low", "both"), rules.open in ("high", "both")
    out: list[Any] = []
    if low is not None:
        out.append(low if open_low else (low - 1 if integer else low - max(1e-3, abs(low) * 1e-3)))
        if open_low and low == 0 and not integer:
            out.append(-0.0)
    if high is not None:
        out.append(high if open_high else (high + 1 if integer else high + max(1e-3, abs(high) * 1e-3)))
    if not integer:
        out += [math.nan, math.inf, -math.inf] + ([1e308] if high is not None else []) + ([-1e308] if low else [])
    return [int(x) if integer else float(x) for x in out]


KINDS = (
    "wrong-type",
    "param-type",
    "range",
    "unknown-key",
    "missing",
    "huge-int",
    "yaml",
    "name",
    "unknown-name",
    "eps",
)
"""The mutations (module docstring); the invalid-config test runs each with an equal share of the budget."""


@st.composite
def invalid_config(draw: st.DrawFn, kind: str) -> tuple[bytes, tuple[str, ...]]:
    """(file bytes, texts one of which the error names) of a valid config made invalid by one ``kind`` mutation."""
    return mutate(draw, draw(valid_config()), kind)


def _dump(data: Any) -> bytes:
    """The config as a user writes it: marlkit's own YAML writer (a name such as ``1e5`` quoted: unquoted, it is
    the number YAML 1.2 and the loader read)."""
    return dump_yaml(data).encode()


def mutate(draw: st.DrawFn, data: dict[str, Any], kind: str) -> tuple[bytes, tuple[str, ...]]:
    deep = _deep(data)
    if kind == "wrong-type":
        top = {
            "steps": "int", "seeds": "int", "key": "int", "log_every": "int", "checkpoint_every": "int",
            "name": "str", "learners": "mapping", "diagnostics": "mapping", "output": "mapping", "sinks": "mapping",
        }  # fmt: skip
        if deep:
            top["num_envs"] = "int"
            top["env"] = "mapping"
        else:
            top["game"] = "mapping"
            top["max_episode_steps"] = "int"
        key = draw(st.sampled_from(sorted(top)))
        pool = [
            v for v in WRONG_FOR[top[key]] if not (key in ("learners", "env", "game", "name") and isinstance(v, str))
        ]
        if key in ("learners", "game", "env", "sinks", "output", "diagnostics"):
            pool = [v for v in pool if not isinstance(v, list | str)] + ([["a", "b"]] if key != "learners" else [3])
        if key == "seeds":
            pool = [v for v in pool if not isinstance(v, list)] + [[0, 0], [], [-1], [True], [0.5]]
        data[key] = draw(st.sampled_from(pool))
        return _dump(data), (key,)
    if kind == "param-type":
        name, params = _learner(data)
        fields = learner_fields(name)
        where = f"params.{draw(st.sampled_from(sorted(fields)))}" if fields else "params"
        if not fields or draw(st.integers(0, 5)) == 0:
            data["learners"]["params"] = draw(st.sampled_from([[], "x", 3, [{"a": 1}]]))
            return _dump(data), ("learners.params", "learners")
        field = where.split(".")[1]
        hint, rules = fields[field]
        value_kind = _kind(hint, rules)
        pool = list(WRONG_FOR[value_kind])
        if rules.choices is not None:
            pool += ["not-a-choice", rules.choices[0].upper() + "x"]
        if any(m in FORMS for m in _members(hint)):
            pool = [v for v in pool if not isinstance(v, dict)] + [{"type": "sometimes"}, {"type": "constant"}]
        if typing.get_origin(_members(hint)[0]) is tuple:
            pool = [3, "8", [True], ["8"], [8.5], {"a": 8}]
        params[field] = draw(st.sampled_from(pool))
        return _dump(data), (f"learners.params.{field}", f"learners.params: {_classname(name)}.{field}")
    if kind == "range":
        name, params = _learner(data)
        choices = [(k, h, r) for k, (h, r) in learner_fields(name).items() if r.range is not None]
        top_ranges = {"steps": (1, None), "key": (0, 2**63 - 1), "log_every": (1, None), "checkpoint_every": (1, None)}
        if draw(st.booleans()) or not choices:
            key = draw(st.sampled_from(sorted(top_ranges)))
            data[key] = draw(st.sampled_from(_outside(Rules(range=top_ranges[key]), True)))
            return _dump(data), (key,)
        field, hint, rules = draw(st.sampled_from(choices))
        integer = _kind(hint, rules) == "int"
        if typing.get_origin(_members(hint)[0]) is tuple:
            params[field] = [draw(st.sampled_from(_outside(rules, True)))]
        else:
            params[field] = draw(st.sampled_from(_outside(rules, integer)))
        return _dump(data), (f"learners.params.{field}", f"{_classname(name)}.{field}", f"params.{field}")
    if kind == "eps" and data.get("game") in LISTED:
        # a policy-distance criterion judged against listed equilibria: eps at or above the distance's largest
        # value calls every run converged (marlkit.diagnose.criteria.eps_bound)
        distance = draw(st.sampled_from(sorted(BOUNDS)))
        eps = draw(st.sampled_from([BOUNDS[distance], 1.5 * BOUNDS[distance], 1e6]))
        if draw(st.booleans()):
            data["diagnostics"] = {"distance": distance, "eps": eps}
            return _dump(data), ("diagnostics.eps (for joint_policy)",)
        criterion = draw(st.sampled_from(["joint_policy", "empirical_distribution", "solution_set"]))
        data["diagnostics"] = {"distance": distance, "eps": {criterion: eps, "expected_return": 1e6}}
        return _dump(data), (f"diagnostics.eps.{criterion}",)
    if kind in ("unknown-key", "eps"):  # eps on a game judged by NashConv: a misspelt key instead
        return unknown_key(draw, data)
    if kind == "missing":
        required = ["steps", "learners"] + ([] if deep else ["game"])
        key = draw(st.sampled_from([*required, "learners.name"]))
        if key == "learners.name":
            _learner(data)
            del data["learners"]["name"]
            return _dump(data), ("learners.name", "learners: ", "missing")
        del data[key]
        return _dump(data), (key,)
    if kind == "huge-int":
        key, value = draw(
            st.sampled_from(
                [
                    ("seeds", 4294967296),
                    ("seeds", 2**70),
                    ("key", 2**64),
                    ("steps", 10**40),
                    ("log_every", 10**30),
                    ("steps", 2**31),
                    ("max_episode_steps", 10**25),
                ]
                + ([("num_envs", 10**15)] if deep else [])
            )
        )
        huge: Any = value
        if key == "max_episode_steps" and deep:  # a deep run on a task has no max_episode_steps key
            key, huge = "seeds", [2**40]
        data[key] = huge
        return _dump(data), (key,)
    if kind == "yaml":
        return yaml_feature(draw, data)
    if kind == "name":
        key = draw(st.sampled_from(["name", "output.name"]))
        bad_name: str = draw(
            st.sampled_from(
                ["x" * 5000, "a\u001b[31mb", "[bold]x[/bold]", "a\nb", "a\u0000b", "../escape", "a/b", "", " x",
                 "\u202eevil", ".hidden", "-dash"]
            )
        )  # fmt: skip
        if key == "name":
            data["name"] = bad_name
        else:
            data["output"] = {**data.get("output", {}), "name": bad_name}
        return _dump(data), (key,)
    # unknown-name
    target = draw(st.sampled_from(["learner", "game", "concept", "distance", "criterion", "env", "schedule"]))
    if target == "learner":
        name, params = _learner(data)
        data["learners"]["name"] = draw(st.sampled_from([name + "x", "nope", "x" * 3000, name.upper() + "_"]))
        if data["learners"]["name"] in LEARNERS or data["learners"]["name"] in DEEP_LEARNERS:
            data["learners"]["name"] = "nope"
        return _dump(data), ("learners.name", "learners")
    if target == "game" and not deep:
        data["game"] = draw(st.sampled_from(["matching-penies", "nope", "y" * 3000, {"name": "nope", "params": {}}]))
        return _dump(data), ("game",)
    if target == "env" and deep:
        data["env"] = draw(
            st.sampled_from(["simple_sprad", "nope", {"name": "simple_spread", "params": {"n_agens": 3}}])
        )
        return _dump(data), ("env",)
    if target == "schedule":
        name, params = _learner(data)
        forms = [k for k, (h, r) in learner_fields(name).items() if any(m in FORMS for m in _members(h))]
        if forms:
            field = draw(st.sampled_from(forms))
            params[field] = {"type": draw(st.sampled_from(["inverse_time", "constnt", "linear", ""]))}
            return _dump(data), (f"learners.params.{field}",)
    if deep:  # diagnostics judge exact games only: a deep run on a task refuses the section
        data["diagnostics"] = {"concept": "nsh"}
        return _dump(data), ("diagnostics",)
    section = dict(data.get("diagnostics") or {})
    if target == "concept":
        section["concept"] = draw(st.sampled_from(["nsh", "Nash", "x" * 1000, "pareto?"]))
    elif target == "distance":
        section["distance"] = draw(st.sampled_from(["tvv", "L1", "euclid"]))
    else:
        section["eps"] = {draw(st.sampled_from(["joint_polcy", "returns", "x" * 500])): 0.1}
    data["diagnostics"] = section
    return _dump(data), ("diagnostics",)


def _classname(name: str) -> str:
    if name in DEEP_LEARNERS:
        return deep_learner_class(name).__name__
    return type(make_learner(name, make(TABULAR_GAMES[name][0]))).__name__


MISSPELT = {"steps": "step", "seeds": "seed", "learners": "learner", "log_every": "log-every", "game": "gmae",
            "diagnostics": "diagnostic", "output": "outptu", "key": "kye", "num_envs": "num_env"}  # fmt: skip


def unknown_key(draw: st.DrawFn, data: dict[str, Any]) -> tuple[bytes, tuple[str, ...]]:
    """A misspelt key at one level: top, the learner's entry, its params, a schedule, diagnostics, output, sinks,
    game; the message must name the path and offer the right key."""
    level = draw(st.sampled_from(["top", "entry", "params", "diagnostics", "output", "sinks", "game"]))
    if level == "top":
        right = draw(st.sampled_from([k for k in MISSPELT if k in data]))
        data[MISSPELT[right]] = data.pop(right)
        return _dump(data), (f"did you mean '{right}'",)
    if level in ("entry", "params"):
        name, params = _learner(data)
        if level == "entry":
            data["learners"]["parms"] = data["learners"].pop("params")
            return _dump(data), ("did you mean 'params'",)
        fields = learner_fields(name)
        if not fields:
            params["step_size"] = 0.1
            return _dump(data), ("learners.params.step_size",)
        right = draw(st.sampled_from(sorted(fields)))
        # one letter changed (a short name gets one more: difflib's 0.6 cutoff does not match 'lx' to 'lr')
        wrong = right + "s" if len(right) <= 3 else right[:-1] + ("x" if right[-1] != "x" else "y")
        params[wrong] = params.pop(right, 1)
        return _dump(data), (f"did you mean '{right}'",)
    if level == "diagnostics" and not _deep(data):
        data["diagnostics"] = {**(data.get("diagnostics") or {}), "distnce": "tv"}
        return _dump(data), ("did you mean 'distance'",)
    if level == "output":
        data["output"] = {"rot": "runs"}
        return _dump(data), ("did you mean 'root'",)
    if level == "sinks":
        data["sinks"] = {"tensorbord": True}
        return _dump(data), ("did you mean 'tensorboard'",)
    if level == "game" and not _deep(data):
        data["game"] = {"nme": data["game"]}
        return _dump(data), ("did you mean 'name'",)
    data["zzz_unknown"] = 1
    return _dump(data), ("zzz_unknown",)


BOMB = "".join(
    [f"a0: &a0 [{', '.join(['x'] * 9)}]\n"] + [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]\n" for k in range(1, 10)]
)


def yaml_feature(draw: st.DrawFn, data: dict[str, Any]) -> tuple[bytes, tuple[str, ...]]:
    """A YAML-level attack or surprise; the text is the valid config's with one change."""
    feature = draw(
        st.sampled_from(
            ["bomb", "deep", "duplicate", "python-tag", "binary", "timestamp", "yes-no", "documents", "utf8",
             "scalar", "list", "empty", "set", "recursive", "tab"]
        )
    )  # fmt: skip
    text = _dump(data).decode()
    if feature == "bomb":
        return (text + BOMB).encode(), ("aliases",)
    if feature == "deep":
        depth = draw(st.integers(70, 3000))
        return (text + "extra: " + "[" * depth + "]" * depth + "\n").encode(), ("nested deeper",)
    if feature == "duplicate":
        key = draw(st.sampled_from(list(data)))
        return (
            text + f"{key}: {yaml.safe_dump(data[key], default_flow_style=True).strip().removesuffix('...')}\n"
        ).encode(), ("duplicate key",)
    if feature == "python-tag":
        tag = draw(
            st.sampled_from(
                [
                    "!!python/object/apply:os.system ['true']",
                    "!!python/name:os.system",
                    "!!python/object:object {}",
                    "!custom 3",
                ]
            )
        )
        key = draw(st.sampled_from(["steps", "name"]))
        text = _replace(text, key, tag)
        return text.encode(), ("not valid YAML",)
    if feature == "binary":
        return _replace(text, "name", "!!binary aGVsbG8=").encode(), ("name",)
    if feature == "timestamp":
        key = draw(st.sampled_from(["name", "steps", "seeds"]))
        return _replace(text, key, "2001-12-14").encode(), (key,)
    if feature == "yes-no":
        key = draw(st.sampled_from(["steps", "name", "seeds", "key"]))
        return _replace(text, key, draw(st.sampled_from(["yes", "no", "on", "off"]))).encode(), (key,)
    if feature == "documents":
        return (text + "---\n" + text).encode(), ("single document", "not valid YAML")
    if feature == "utf8":
        return text.encode() + b"name2: \xff\xfe\n", ("not UTF-8",)
    if feature == "scalar":
        return draw(st.sampled_from([b"3\n", b"hello\n", b"null\n", b""])), ("expected a mapping", "config")
    if feature == "list":
        return ("- " + text.replace("\n", "\n  ")).encode(), ("expected a mapping",)
    if feature == "empty":
        return b"   \n# nothing\n", ("expected a mapping", "config")
    if feature == "set":
        return _replace(text, "steps", "!!set {a, b}").encode(), ("steps",)
    if feature == "recursive":
        return (text + "loop: &l [*l]\n").encode(), ("refers to itself",)
    return text.replace("\n", "\n\t", 1).encode() + b"\n", ("not valid YAML",)


def _replace(text: str, key: str, value: str) -> str:
    """``text`` with the top-level ``key``'s value replaced (added if absent)."""
    lines = text.splitlines()
    kept, skipping = [], False
    for line in lines:
        if line.startswith(f"{key}:"):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or line.startswith("-")):
            continue
        skipping = False
        kept.append(line)
    return "\n".join([*kept, f"{key}: {value}"]) + "\n"


# ----------------------------------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="marlkit-config-fuzz-") as name:
        previous = os.getcwd()
        os.chdir(name)  # output.root: runs (relative) would land here if anything were written
        try:
            yield Path(name)
        finally:
            os.chdir(previous)


@_settings(EXAMPLES or 80)
@given(data=valid_config())
def test_valid_configs_are_accepted(folder: Path, data: dict[str, Any], fuzz_limit: Any, fuzz_outcome: Any) -> None:
    check_case(_dump(data), "valid", (), folder, fuzz_limit, fuzz_outcome)


@pytest.mark.parametrize("kind", KINDS)
def test_invalid_configs_are_refused_in_one_line(folder: Path, kind: str, fuzz_limit: Any, fuzz_outcome: Any) -> None:
    """``MARLKIT_FUZZ_EXAMPLES`` (default 200) cases in all, shared equally by the mutations."""

    @_settings(-(-(EXAMPLES or 200) // len(KINDS)))
    @given(case=invalid_config(kind))
    def one(case: tuple[bytes, tuple[str, ...]]) -> None:
        check_case(case[0], "invalid", case[1], folder, fuzz_limit, fuzz_outcome)

    one()


def test_a_valid_config_gets_its_run_directory_and_an_invalid_one_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end through ``rundir.create`` (training stubbed at ``runner._execute``): the run directory holds the
    resolved config, the game and an empty metrics file; a config refused by any check leaves no folder."""

    def stop(path: Path, *args: Any) -> None:
        raise Accepted

    monkeypatch.setattr(runner, "_execute", stop)
    root = tmp_path / "runs"
    good = tmp_path / "good.yaml"
    good.write_text("game: matching-pennies\nlearners: {name: iql, params: {step_size: 1.0}}\nsteps: 100\nseeds: 2\n")
    with pytest.raises(Accepted):
        main(["run", str(good), "--root", str(root), "--no-progress"])
    (run_dir,) = root.iterdir()
    assert {p.name for p in run_dir.iterdir()} == {"config.yaml", "game.npz", "metrics.jsonl"}
    bad = tmp_path / "bad.yaml"
    for text in (
        "game: matching-pennies\nlearners: iql\nsteps: 100\nseeds: 4294967296\n",
        "game: matching-pennies\nlearners: {name: iql, params: {step_size: .nan}}\nsteps: 100\n",
        "game: matching-pennies\nlearners: iql\nsteps: 100\ndiagnostics: {eps: 1.5}\n",
    ):
        bad.write_text(text)
        other = tmp_path / "other"
        assert main(["run", str(bad), "--root", str(other), "--no-progress"]) == 2
        assert not other.exists()
