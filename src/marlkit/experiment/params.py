"""Learner hyper-parameters as plain YAML/JSON values, and back — read by the learners' own annotations and rules.

A learner (tabular or deep) is a frozen dataclass whose fields carry their rules (:func:`marlkit.schema.setting`:
range, choices, doc); a config overrides fields by name and :func:`configure` reads each value by the field's
annotation (:func:`marlkit.schema.read`), then rebuilds the learner, whose ``__post_init__`` checks the rules:

* a number, string, boolean or ``null`` where the annotation allows one; a list for a tuple;
* a **schedule** (step sizes, exploration rates): a number (a constant) or ``{type: NAME, ...}`` with ``NAME``
  in :data:`SCHEDULES`, e.g. ``{type: inverse-time, offset: 10, stretch: 1e4}``;
* an **exploration**: ``greedy``, ``{type: epsilon-greedy, epsilon: SCHEDULE}`` or
  ``{type: boltzmann, temperature: SCHEDULE}`` (:data:`EXPLORATIONS`).

Every learner computes in float32, so a finite number beyond float32's range (|x| > 3.4e38, e.g. ``initial_q:
1e300``) is refused for every learner alike (:data:`FLOAT32_MAX`); the ranges of the fields themselves (step sizes
in (0, 1], probabilities in [0, 1], temperatures and learning rates > 0, ...) are declared once on the learners'
fields and on the shared schedules and explorations (:mod:`marlkit.agents.tabular.base`), and a schedule is
checked over every value it takes (its first value and its limit).

Fields the registry fills from the game (payoff tables, the game itself, stage solvers) are not settable.
:func:`learner_params` is the inverse: every settable field of a built learner as plain values, so the resolved
config saved with a run rebuilds the same learner.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from marlkit.agents.tabular.base import (
    Boltzmann,
    Constant,
    EpsilonGreedy,
    Exploration,
    ExponentialDecay,
    Greedy,
    InverseTime,
    PowerCount,
    Schedule,
)
from marlkit.errors import LearnerConfigError, MarlkitError
from marlkit.schema import (
    ConfigError,
    Form,
    Forms,
    check,
    key_text,
    plain,
    read,
    rules_of,
    settable,
    unknown_key,
)

SCHEDULES: Mapping[str, type] = {
    "constant": Constant,
    "power-count": PowerCount,
    "exponential-decay": ExponentialDecay,
    "inverse-time": InverseTime,
}
"""Schedule ``type`` names in a config and the classes they build (:mod:`marlkit.agents.tabular.base`)."""

EXPLORATIONS: Mapping[str, type] = {"greedy": Greedy, "epsilon-greedy": EpsilonGreedy, "boltzmann": Boltzmann}
"""Exploration ``type`` names in a config and the classes they build."""

FORMS: Forms = {
    Schedule: Form("a schedule", SCHEDULES, number=Constant),
    Exploration: Form("an exploration", EXPLORATIONS, bare=True),
}
"""The tagged families a hyper-parameter may be (:class:`marlkit.schema.Form`)."""


def settable_fields(learner: Any) -> dict[str, Any]:
    """The fields of a learner (an instance or its class) a config may set, with their annotations."""
    cls = learner if isinstance(learner, type) else type(learner)
    return {name: hint for name, (_, hint) in settable(cls, FORMS).items()}


def convert(value: Any, hint: Any, path: str) -> Any:
    """``value`` (plain YAML data) as a hyper-parameter of annotation ``hint`` (:class:`ConfigError` naming
    ``path`` and the accepted forms otherwise)."""
    return read(hint, value, path, forms=FORMS)


FLOAT32_MAX = 3.4028234663852886e38
"""The largest finite float32: a learner's hyper-parameter beyond it would be inf inside the compiled program."""


def check_float32(params: Mapping[str, Any], path: str) -> None:
    """:class:`ConfigError` naming the first number in ``params`` (plain data) beyond float32's finite range."""
    stack: list[tuple[str, Any]] = [(path, params)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((f"{where}.{k}", v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
        elif isinstance(value, float) and math.isfinite(value) and abs(value) > FLOAT32_MAX:
            raise ConfigError(
                f"{where}: {value!r} is beyond float32's range (|x| <= 3.4e38), which the learners compute in; "
                "use a smaller magnitude"
            )


def configure(
    learner: Any, params: Mapping[str, Any], path: str, name: str, make: Callable[..., Any] | None = None
) -> Any:
    """``learner`` (an instance, or a class to build) with the fields in ``params`` replaced, each read by its
    annotation; errors name ``path`` (``learners[0].params``) and the learner's ``name``.

    ``make(**values)``, when given, builds the learner afresh from the values (a registry's factory, which adds
    its own defaults and the game): an instance's fields are what its ``__post_init__`` made of its arguments (the
    replicator turns ``step_size: null`` into its Euler step 0.01), so replacing fields of an instance could
    contradict a value given here (``method: discrete`` takes no step size)."""
    cls = learner if isinstance(learner, type) else type(learner)
    fields = settable(cls, FORMS)
    values = {}
    for key, value in params.items():
        if key not in fields:
            raise ConfigError(unknown_key(f"{path}.{key_text(key)}", key, list(fields), f"parameters of {name}"))
        f, hint = fields[key]
        rules = rules_of(f)
        read_value = read(hint, value, f"{path}.{key}", rules, FORMS)
        # the declared range and choices first, as the learner's own __post_init__ words them (Class.field), so a
        # value is never refused by a later conversion that loses the key (a number made a Constant schedule)
        try:
            values[key] = check(
                dataclasses.replace(rules, check=None), read_value, f"{cls.__name__}.{key}", hint, FORMS
            )
        except ConfigError as exc:
            raise LearnerConfigError(f"{path}: {exc}") from None
    try:
        if make is not None:
            built = make(**values)
        else:
            built = cls(**values) if isinstance(learner, type) else dataclasses.replace(learner, **values)
    except MarlkitError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {name}: {exc}") from None
    check_float32({key: to_plain(getattr(built, key)) for key in values}, path)
    return built


def to_plain(value: Any) -> Any:
    """A hyper-parameter value as plain YAML data (the inverse of :func:`convert`)."""
    return plain(value, FORMS)


def learner_params(learner: Any) -> dict[str, Any]:
    """Every settable hyper-parameter of ``learner`` as plain data (defaults included)."""
    return {name: to_plain(getattr(learner, name)) for name in settable_fields(learner)}


__all__ = [
    "EXPLORATIONS",
    "FLOAT32_MAX",
    "FORMS",
    "SCHEDULES",
    "ConfigError",
    "check_float32",
    "configure",
    "convert",
    "learner_params",
    "settable_fields",
    "to_plain",
]
