"""The one registry type: lookup by the one name rule, did-you-mean, parameter errors with defaults, listing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from marlkit.errors import InvalidGameError, NotApplicableError, UnknownNameError
from marlkit.registry import REQUIRED, Entry, Registry, normalise, parameter_defaults, unknown_parameter


@dataclass(frozen=True)
class Shape:
    side: float = 1.0
    colour: str = "red"


def shapes() -> Registry[Shape]:
    registry: Registry[Shape] = Registry("shape", param_error=InvalidGameError, hint="Run `shapes` to list them.")
    registry.add(
        "unit-square", Shape, description="a square", citation="Euclid", defaults={"side": 2.0}, aliases=("sq",)
    )
    registry.add("lazy", "marlkit.no_such_module:Nothing", description="cannot be imported")
    return registry


def test_one_name_rule_aliases_and_getitem() -> None:
    registry = shapes()
    assert normalise(" Unit_Square ") == "unit-square"
    assert registry["Unit Square"] is registry.get("SQ") is registry.entries()["unit-square"]
    assert "unit_square" in registry and "circle" not in registry and 3 not in registry
    assert registry.aliases() == {"sq": "unit-square"}
    assert registry.items() == list(registry.entries().items())
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("Unit_Square", Shape)


def test_unknown_names_suggest_a_close_one_and_the_hint() -> None:
    with pytest.raises(
        UnknownNameError, match=r"did you mean 'unit-square'\?\); known shapes: unit-square, lazy\. Run"
    ):
        shapes().get("unit-sqare")


def test_make_applies_defaults_and_names_unknown_parameters_with_their_defaults() -> None:
    registry = shapes()
    assert registry.make("sq") == Shape(side=2.0)
    assert registry.make("sq", side=3.0, colour="blue") == Shape(3.0, "blue")
    message = (
        r"unit-square: unknown parameter 'colur' \(did you mean 'colour'\?\); "
        r"allowed parameters: side=2.0, colour='red'"
    )
    with pytest.raises(InvalidGameError, match=message):
        registry.make("sq", colur="blue")
    assert dict(registry["sq"].parameters) == {"side": 2.0, "colour": "red"}
    with pytest.raises(TypeError):
        registry["sq"].parameters["side"] = 1.0  # type: ignore[index]  # read-only


def test_lazy_targets_fail_only_when_used() -> None:
    registry = shapes()
    assert registry.names() == ["unit-square", "lazy"]
    with pytest.raises(NotApplicableError, match="no_such_module") as err:
        registry.make("lazy")
    assert isinstance(err.value.__cause__, ImportError)
    with pytest.raises(NotApplicableError, match="no_such_module"):
        Entry("x", "marlkit.no_such_module:Nothing").load("task")


def test_parameter_helpers() -> None:
    def factory(a: int, *, b: str = "x", _private: int = 0) -> None: ...

    assert parameter_defaults(factory) == {"a": REQUIRED, "b": "x"}
    assert parameter_defaults(lambda **kw: None) is None
    assert (
        unknown_parameter("f", "c", {"a": REQUIRED, "b": "x"})
        == "f: unknown parameter 'c'; allowed parameters: a, b='x'"
    )
    assert "none (g takes no hyper-parameters)" in unknown_parameter("g", "c", {}, word="hyper-parameter")


def test_listing_rows() -> None:
    rows = shapes().listing()
    assert rows[0] == {"name": "unit-square", "aliases": "sq", "description": "a square", "citation": "Euclid"}
