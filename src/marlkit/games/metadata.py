"""Read-only game metadata: a deep, frozen copy taken when a game is built.

A game is immutable (frozen dataclass, read-only arrays); its ``metadata`` must be too, or a caller could
change what a game says about itself (e.g. the catalog parameters that rebuild it) after others have read it.
On construction every mapping becomes a :class:`FrozenDict`, every list a :class:`FrozenList` (tuples stay
tuples), and every array a read-only copy. The frozen types subclass ``dict`` and ``list``, so they compare
equal to plain ones and ``json.dumps`` writes them unchanged (the JSON round trip of docs/game-format.md keeps working).

>>> meta = freeze({"catalog": {"parameters": {"seed": 3}}, "tags": ["a"]})
>>> meta == {"catalog": {"parameters": {"seed": 3}}, "tags": ["a"]}
True
>>> meta["catalog"]["parameters"]["seed"] = 4
Traceback (most recent call last):
...
TypeError: game metadata is read-only; build a new game with dataclasses.replace(game, metadata=...)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import numpy as np

from marlkit.errors import InvalidGameError

READ_ONLY = "game metadata is read-only; build a new game with dataclasses.replace(game, metadata=...)"


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise TypeError(READ_ONLY)


class FrozenDict(dict[str, Any]):
    """A ``dict`` whose mutating methods raise ``TypeError`` (values are frozen by :func:`freeze`)."""

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return FrozenDict, (dict(self),)

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> FrozenDict:
        return self


class FrozenList(list[Any]):
    """A ``list`` whose mutating methods raise ``TypeError`` (items are frozen by :func:`freeze`)."""

    __setitem__ = __delitem__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse
    __iadd__ = __imul__ = _refuse

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return FrozenList, (list(self),)

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> FrozenList:
        return self


def _frozen_array(value: np.ndarray) -> np.ndarray:
    array = np.array(value, copy=True)
    array.setflags(write=False)
    return array


def freeze(value: object) -> Any:
    """A deep, read-only copy of ``value``: mappings -> :class:`FrozenDict` (keys as given), lists ->
    :class:`FrozenList`, tuples -> tuples of frozen items, arrays -> read-only copies; scalars and strings are
    returned as they are."""
    if isinstance(value, FrozenDict | FrozenList):
        return value
    if isinstance(value, Mapping):
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return FrozenList(freeze(item) for item in value)
    if isinstance(value, tuple):
        return tuple(freeze(item) for item in value)
    if isinstance(value, np.ndarray):
        return _frozen_array(value)
    return value


def freeze_metadata(metadata: object) -> FrozenDict:
    """The frozen copy of a game's ``metadata`` (``None`` counts as empty); anything but a mapping is refused."""
    if metadata is None:
        return FrozenDict()
    if not isinstance(metadata, Mapping):
        raise InvalidGameError(f"metadata: expected a mapping (dict) of JSON-friendly values, got {metadata!r}")
    frozen: FrozenDict = freeze(metadata)
    return frozen
