"""Strict reading of untrusted files: JSON and NPZ parsed with exact types, limits checked before allocating.

Every reader of a user's file (game files, and the play logs, datasets and policy-file headers that reuse this
module) goes through these functions, so one malformed file gives one clear error line, never a traceback, a
hang, a huge allocation or a silently coerced value. The rules (docs: /work/notes/parse.md → docs/game-format.md):

* **Exact types.** A number is a JSON number (``int`` or ``float``), never a string (``"3"``) or a boolean
  (``true``); a string is a string; a list where a scalar is expected (or the reverse) is refused.
* **JSON.** Duplicate keys are refused (``object_pairs_hook``); ``NaN`` / ``Infinity`` / numbers that overflow a
  float64 (``1e999``) are refused; integers of more than :data:`MAX_INT_DIGITS` digits are refused (a 400-digit
  integer would otherwise fail later with OverflowError); nesting deeper than :data:`MAX_DEPTH` is refused.
* **Sizes.** A file larger than :func:`max_file_bytes` is refused before it is read; an array whose declared
  shape has more than :func:`max_elements` entries is refused before anything is allocated (a 100-byte sparse
  array declaring ``[2, 100000, 100000]``, a deflate bomb).
* **NPZ** is opened as a zip archive member by member: every member must be a ``.npy`` array of a plain kind
  (bool, integer or float; no objects — pickles —, complex numbers, structured or string arrays, except where a
  reader asks for a string), with its shape read from the ``.npy`` header and checked before its data is read;
  zip, deflate and CRC errors become one line.
* **Unknown keys** are refused with the closest known key (``did you mean``).
* **Text** (names) has a length limit (:data:`MAX_NAME_LENGTH`) and no control characters (they would reach the
  terminal: ANSI escapes).

Each function takes ``error``: the :class:`~marlkit.errors.MarlkitError` subclass to raise (``GameFileError`` for
game files, ``PolicyFileError`` for policy files, ...). This module is a leaf: it imports only the other leaves.
"""

from __future__ import annotations

import json
import math
import os
import reprlib
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from marlkit.errors import MarlkitError
from marlkit.registry import did_you_mean

ErrorType = type[MarlkitError]

MAX_DEPTH = 64
"""Deepest nesting of JSON lists / objects accepted (a game's deepest array has one level per player plus two)."""
MAX_INT_DIGITS = 300
"""Longest JSON integer accepted, in digits (float64 holds up to ~1.8e308; longer integers overflow)."""
MAX_NAME_LENGTH = 200
"""Longest name (game, player, action, state, observation) in characters."""
MAX_TEXT_LENGTH = 20_000
"""Longest free text (a description, a citation) in characters."""
DEFAULT_MAX_ELEMENTS = 2**25
"""Default largest array, in entries (33.5 million: 256 MiB as float64); ``MARLKIT_MAX_ELEMENTS`` overrides it."""
DEFAULT_MAX_FILE_BYTES = 2**28
"""Default largest file read (256 MiB); ``MARLKIT_MAX_FILE_BYTES`` overrides it."""
PLAIN_KINDS = "biuf"
"""The NumPy dtype kinds an NPZ member may have: bool, signed / unsigned integer, float."""
MAX_MEMBERS = 4096
"""Most members an NPZ archive may have."""
MAX_SHOWN = 80
"""Characters of a user's value quoted in an error message (:func:`shorten`)."""


def _limit(variable: str, default: int) -> int:
    raw = os.environ.get(variable)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise MarlkitError(f"{variable}={shorten(raw)}: expected a positive whole number") from None
    if value < 1:
        raise MarlkitError(f"{variable}={value}: expected a positive whole number")
    return value


def max_elements() -> int:
    """The largest array accepted, in entries: ``MARLKIT_MAX_ELEMENTS`` or :data:`DEFAULT_MAX_ELEMENTS`."""
    return _limit("MARLKIT_MAX_ELEMENTS", DEFAULT_MAX_ELEMENTS)


def max_file_bytes() -> int:
    """The largest file accepted, in bytes: ``MARLKIT_MAX_FILE_BYTES`` or :data:`DEFAULT_MAX_FILE_BYTES`."""
    return _limit("MARLKIT_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES)


# ----------------------------------------------------------------------------------------------- messages
def clip(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` with control characters escaped (``\\x1b``), cut to ``limit`` characters with ``...`` and its total
    length: safe to put in a one-line message or on a terminal."""
    head = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text[: 2 * limit])
    if len(head) > limit or len(text) > 2 * limit:
        return head[: max(limit - 3, 1)] + f"... ({len(text):,} characters)"
    return head


def shorten(value: object, limit: int = MAX_SHOWN) -> str:
    """``repr``-like text of a user's value for an error message (strings quoted): control characters escaped, at
    most about ``limit`` characters (:func:`clip`), so a message stays one short line."""
    if isinstance(value, str):
        return f"'{clip(value, limit)}'"
    return clip(_short_repr(value, limit), limit)


def _short_repr(value: object, limit: int) -> str:
    """``repr`` bounded in work and length (``reprlib``: a few items per level, a few levels); JSON's spelling of
    ``true`` / ``false`` / ``null``."""
    if isinstance(value, bool | np.bool_) or value is None:
        return {True: "true", False: "false", None: "null"}[None if value is None else bool(value)]
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxtuple, short.maxdict = 3, 6, 6, 6
    short.maxstring = short.maxother = short.maxlong = limit
    try:
        return short.repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def kind_of(value: object) -> str:
    """The JSON kind of ``value`` as a user wrote it: ``string``, ``boolean``, ``number``, ``list``, ``object``."""
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    if value is None:
        return "null"
    if isinstance(value, np.ndarray):
        return f"array of shape {list(value.shape)}"
    return type(value).__name__


def wrong(field: str, expected: str, value: object, error: ErrorType) -> MarlkitError:
    """The error ``<field>: expected <expected>, got <kind> <value>``."""
    return error(f"{field}: expected {expected}, got {kind_of(value)} {shorten(value)}")


# ------------------------------------------------------------------------------------------------- JSON
def _pairs(error: ErrorType) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise error(f"duplicate key {shorten(key)} in a JSON object; each key may appear once")
            result[key] = value
        return result

    return hook


def _parse_int(error: ErrorType) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise error(f"an integer of {len(text.lstrip('-'))} digits; numbers must fit a float64 (|x| < 1.8e308)")
        return int(text)

    return parse


def _parse_float(error: ErrorType) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise error(f"the number {shorten(text)} overflows a float64; numbers must be finite (|x| < 1.8e308)")
        return value

    return parse


def _parse_constant(error: ErrorType) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        raise error(f"{text} is not a JSON number; every number must be finite")

    return parse


def loads_json(text: str | bytes, error: ErrorType, what: str = "the JSON") -> Any:
    """Parse JSON strictly (duplicate keys, NaN / Infinity, overflowing numbers, over-long integers and nesting
    deeper than :data:`MAX_DEPTH` refused); any failure is one ``error`` line."""
    try:
        data = json.loads(
            text,
            object_pairs_hook=_pairs(error),
            parse_int=_parse_int(error),
            parse_float=_parse_float(error),
            parse_constant=_parse_constant(error),
        )
    except RecursionError:
        raise error(f"{what} is nested too deeply (at most {MAX_DEPTH} levels of lists / objects)") from None
    except json.JSONDecodeError as exc:
        raise error(
            f"cannot read {what}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except UnicodeDecodeError as exc:
        raise error(f"cannot read {what}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    check_depth(data, error, what)
    return data


def check_depth(data: Any, error: ErrorType, what: str = "the JSON") -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise error(f"{what} is nested too deeply (at most {MAX_DEPTH} levels of lists / objects)")
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, list | Mapping))


def regular_file(path: Path, error: ErrorType) -> Path:
    """``path`` if it is a regular file, looked at without following a symbolic link (``lstat``): a link, a folder,
    a FIFO or a device is refused (reading through a link would read — or a later write truncate — its target; a
    FIFO would block the reader)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if stat.S_ISLNK(info.st_mode):
        raise error(f"{path}: a symbolic link, which marlkit does not follow here; replace it with the file itself")
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
        raise error(f"{path}: {kind}, where a file is expected")
    return path


def read_limited(path: Path, error: ErrorType) -> bytes:
    """The bytes of ``path`` after checking its size against :func:`max_file_bytes` (refused before reading)."""
    limit = max_file_bytes()
    try:
        size = path.stat().st_size
        if size > limit:
            raise error(
                f"{path}: {size:,} bytes is larger than the limit of {limit:,} (set MARLKIT_MAX_FILE_BYTES to "
                "read larger files)"
            )
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise error(f"{path}: larger than the limit of {limit:,} bytes (set MARLKIT_MAX_FILE_BYTES)")
    return data


# ------------------------------------------------------------------------------------- typed fields
def check_keys(where: str, data: Mapping[str, Any], known: Sequence[str], what: str, error: ErrorType) -> None:
    """Refuse any key of ``data`` not in ``known``, naming its path (``where`` + key) and the closest known key."""
    for key in data:
        if key not in known:
            path = f"{where}.{key}" if where else str(key)
            raise error(
                f"{clip(path)}: unknown field{did_you_mean(str(key), tuple(known))}; {what} has the "
                f"fields {', '.join(known)}"
            )


def mapping(field: str, value: Any, error: ErrorType) -> Mapping[str, Any]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, Mapping):
        raise wrong(field, "an object", value, error)
    return value


def string(field: str, value: Any, error: ErrorType, *, limit: int = MAX_NAME_LENGTH, multiline: bool = False) -> str:
    """``value`` if it is a string of at most ``limit`` characters without control characters (``multiline``
    allows newlines and tabs, for free text)."""
    if not isinstance(value, str):
        raise wrong(field, "a string", value, error)
    if len(value) > limit:
        raise error(f"{field}: {len(value):,} characters is longer than the limit of {limit:,} ({shorten(value)})")
    allowed = "\n\t" if multiline else ""
    bad = next((ch for ch in value if ch not in allowed and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise error(
            f"{field}: contains the control character {bad.encode('unicode_escape').decode('ascii')}; names "
            "are plain text"
        )
    return value


def string_list(field: str, value: Any, error: ErrorType, *, limit: int = MAX_NAME_LENGTH) -> list[str]:
    """``value`` if it is a list of strings (each checked by :func:`string`)."""
    if not isinstance(value, list):
        raise wrong(field, "a list of names", value, error)
    return [string(f"{field}[{k}]", v, error, limit=limit) for k, v in enumerate(value)]


def name_lists(field: str, value: Any, error: ErrorType) -> list[list[str]]:
    """``value`` if it is a list of lists of names (e.g. each player's action names)."""
    if not isinstance(value, list):
        raise wrong(field, "a list of name lists", value, error)
    return [string_list(f"{field}[{i}]", row, error) for i, row in enumerate(value)]


def integer(field: str, value: Any, error: ErrorType, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` if it is a JSON integer (not a boolean, not a float such as ``2.0``) within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise wrong(field, "a whole number", value, error)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise error(f"{field}: expected a whole number in {bounds}, got {shorten(value)}")
    return value


def number(field: str, value: Any, error: ErrorType) -> float:
    """``value`` as a float if it is a finite JSON number (an int or a float; not a boolean, not a string)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise wrong(field, "a number", value, error)
    try:
        result = float(value)
    except OverflowError:
        raise error(f"{field}: {shorten(value)} overflows a float64; numbers must be below 1.8e308") from None
    if not math.isfinite(result):
        raise error(f"{field}: expected a finite number, got {result}")
    return result


def check_size(field: str, shape: Sequence[int], error: ErrorType) -> None:
    """Refuse a declared ``shape`` with more than :func:`max_elements` entries (before anything is allocated)."""
    limit = max_elements()
    size = math.prod(int(s) for s in shape)
    if size > limit:
        raise error(
            f"{field}: shape {list(shape)} has {size:,} entries, more than the limit of {limit:,} (set "
            "MARLKIT_MAX_ELEMENTS to read larger arrays)"
        )


def _shape_of(field: str, value: Any, error: ErrorType, booleans: bool) -> tuple[tuple[int, ...], str]:
    """The shape of a nested list and the kind of its leaves (``number`` or ``boolean``), checking that it is
    regular, that every leaf has that one kind (booleans only where ``booleans``), and that it is not too large —
    iteratively, before allocating."""
    shape: list[int] = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if len(shape) > MAX_DEPTH:
            raise error(f"{field}: nested too deeply (at most {MAX_DEPTH} levels)")
        if not probe:
            break
        probe = probe[0]
    check_size(field, shape, error)
    leaf = "boolean" if booleans and isinstance(probe, bool) else "number"
    level: list[Any] = [value]
    for depth, size in enumerate(shape):
        following: list[Any] = []
        for k, item in enumerate(level):
            if not isinstance(item, list) or len(item) != size:
                got = f"a list of {len(item)}" if isinstance(item, list) else f"{kind_of(item)} {shorten(item, 40)}"
                where = _index(shape[:depth], k)
                raise error(
                    f"{field}{where}: expected a list of {size} (the array must have a regular shape "
                    f"{shape}), got {got}"
                )
            following.extend(item)
        level = following
    for k, item in enumerate(level):
        if leaf == "boolean":
            ok = isinstance(item, bool)
        else:
            ok = isinstance(item, int | float) and not isinstance(item, bool)
        if not ok:
            expected = "true / false (like its first entry)" if leaf == "boolean" else "a number"
            raise wrong(f"{field}{_index(shape, k)}", expected, item, error)
    return tuple(shape), leaf


def _index(shape: Sequence[int], flat: int) -> str:
    """``[i, j, k]``: the index of entry ``flat`` of an array of ``shape`` (row-major)."""
    if not shape:
        return ""
    return str([int(i) for i in np.unravel_index(flat, tuple(shape))]) if math.prod(shape) else ""


def real_array(field: str, value: Any, error: ErrorType, *, booleans: bool = False) -> np.ndarray:
    """A nested list of JSON numbers as a float64 array (or of ``true`` / ``false`` as a bool array where
    ``booleans``), exact types and a regular shape checked, the size limited before allocating."""
    if isinstance(value, np.ndarray):
        return npz_array(field, value, error, booleans=booleans)
    if not isinstance(value, list):
        raise wrong(field, "a (nested) list of numbers", value, error)
    shape, leaf = _shape_of(field, value, error, booleans)
    if leaf == "boolean":
        return np.array(value, dtype=np.bool_).reshape(shape)
    try:
        array = np.array(value, dtype=np.float64).reshape(shape)
    except OverflowError:
        raise error(f"{field}: an entry overflows a float64; numbers must be below 1.8e308") from None
    return array


def sparse_array(field: str, value: Mapping[str, Any], error: ErrorType) -> np.ndarray:
    """A ``{"shape", "indices", "values"}`` sparse array as a dense float64 one: whole-number shape and indices
    (fractional ones refused, not truncated), each index inside the shape and listed once, finite values; the size
    of the declared shape is checked before the dense array is allocated."""
    check_keys(field, value, ("shape", "indices", "values"), "a sparse array", error)
    for key in ("shape", "indices", "values"):
        if key not in value:
            raise error(f"{field}: a sparse array needs 'shape', 'indices' (one index list per entry) and 'values'")
    raw_shape = value["shape"]
    if not isinstance(raw_shape, list) or not raw_shape:
        raise wrong(f"{field}.shape", "a non-empty list of sizes", raw_shape, error)
    if len(raw_shape) > MAX_DEPTH:
        raise error(f"{field}.shape: {len(raw_shape)} dimensions is more than {MAX_DEPTH}")
    shape = tuple(integer(f"{field}.shape[{k}]", s, error, low=0) for k, s in enumerate(raw_shape))
    check_size(field, shape, error)
    indices, values = value["indices"], value["values"]
    if not isinstance(indices, list):
        raise wrong(f"{field}.indices", "a list of index lists", indices, error)
    if not isinstance(values, list):
        raise wrong(f"{field}.values", "a list of numbers", values, error)
    if len(indices) != len(values):
        raise error(f"{field}: sparse indices and values do not fit: {len(indices)} indices, {len(values)} values")
    if len(values) > max(math.prod(shape), 0):
        raise error(f"{field}: sparse indices and values do not fit the shape {list(shape)} (more entries than cells)")
    rows = np.zeros((len(indices), len(shape)), dtype=np.int64)
    for k, index in enumerate(indices):
        if not isinstance(index, list) or len(index) != len(shape):
            raise wrong(f"{field}.indices[{k}]", f"a list of {len(shape)} whole numbers", index, error)
        for d, i in enumerate(index):
            rows[k, d] = integer(f"{field}.indices[{k}][{d}]", i, error)
    if len(rows) and (np.any(rows < 0) or np.any(rows >= np.array(shape))):
        k = int(np.argmax(np.any((rows < 0) | (rows >= np.array(shape)), axis=1)))
        raise error(
            f"{field}: sparse indices and values do not fit the shape {list(shape)} (indices[{k}] = {rows[k].tolist()})"
        )
    data = np.array([number(f"{field}.values[{k}]", v, error) for k, v in enumerate(values)], dtype=np.float64)
    dense = np.zeros(shape)
    if len(rows):
        flat = np.asarray(np.ravel_multi_index(tuple(rows.T), shape))
        if np.unique(flat).size != flat.size:
            raise error(f"{field}: sparse indices list a cell twice; each cell may appear once")
        dense.reshape(-1)[flat] = data
    return dense


def npz_array(field: str, array: np.ndarray, error: ErrorType, *, booleans: bool = False) -> np.ndarray:
    """An NPZ member's array, refused unless its dtype is a plain real kind (bool, integer, float): complex arrays
    would lose their imaginary part, objects are pickles, strings are not numbers."""
    if array.dtype.kind not in PLAIN_KINDS:
        raise error(f"{field}: dtype {array.dtype} is not a real number type; store bool, integer or float arrays")
    if array.dtype.kind == "b" and not booleans:
        raise error(f"{field}: a boolean array where numbers are expected")
    return array


# ------------------------------------------------------------------------------------------------- NPZ
def read_npz(
    path: Path,
    error: ErrorType,
    *,
    allowed: Callable[[str], bool],
    describe: Callable[[str], str],
    strings: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """The members of an NPZ archive as arrays, read defensively.

    ``allowed(name)`` says which member names the format has (``describe(name)`` gives the error for another);
    members named in ``strings`` must be 0-d unicode strings (e.g. a JSON header) of at most
    :func:`max_file_bytes` bytes; every other member must be a bool / integer / float array, its shape checked
    against :func:`max_elements` from the ``.npy`` header before its data is read. Not a zip file, a truncated or
    bit-flipped archive, an empty one, a pickled member: one ``error`` line.
    """
    limit = max_file_bytes()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise error(f"cannot read the file ({exc.strerror or exc})") from None
    if size > limit:
        raise error(f"{size:,} bytes is larger than the limit of {limit:,} (set MARLKIT_MAX_FILE_BYTES)")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if not infos:
                raise error("cannot read the NPZ archive: it is empty (no members)")
            if len(infos) > MAX_MEMBERS:
                raise error(f"the NPZ archive has {len(infos):,} members, more than the limit of {MAX_MEMBERS:,}")
            result: dict[str, np.ndarray] = {}
            for info in infos:
                result.update(_member(archive, info, error, allowed, describe, strings))
            return result
    except MarlkitError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise error(
            f"cannot read the NPZ archive: a damaged, truncated or non-zip file ({shorten(str(exc))})"
        ) from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise error(f"cannot read the NPZ archive ({shorten(str(exc))})") from None


def _member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    error: ErrorType,
    allowed: Callable[[str], bool],
    describe: Callable[[str], str],
    strings: Sequence[str],
) -> dict[str, np.ndarray]:
    if not info.filename.endswith(".npy"):
        raise error(f"archive member {shorten(info.filename)}: not a .npy array; an NPZ archive holds only arrays")
    name = info.filename[: -len(".npy")]
    if not allowed(name):
        raise error(describe(name))
    limit = max_elements()
    if info.file_size > 8 * limit + 4096:
        raise error(
            f"archive member {shorten(name)}: {info.file_size:,} bytes uncompressed, more than the limit of "
            f"{limit:,} entries (set MARLKIT_MAX_ELEMENTS to read larger arrays)"
        )
    with archive.open(info) as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise error(f"archive member {shorten(name)}: .npy format version {version} is not supported")
    if name in strings:
        if dtype.kind != "U" or shape != ():
            raise error(f"{name}: expected a single string (a JSON text), got dtype {dtype} and shape {list(shape)}")
    else:
        if dtype.kind not in PLAIN_KINDS or dtype.hasobject or dtype.fields is not None:
            raise error(f"{name}: dtype {dtype} is not a real number type; store bool, integer or float arrays")
        check_size(name, shape, error)
    if math.prod(shape) * dtype.itemsize > info.file_size:
        raise error(f"{name}: the archive member is shorter than the shape {list(shape)} its header declares")
    with archive.open(info) as handle:
        array = np.lib.format.read_array(handle, allow_pickle=False)
    if array.shape != tuple(shape):  # pragma: no cover - read_array checks the header it wrote
        raise error(f"{name}: the data does not match its header's shape {list(shape)}")
    return {name: array}


def prefixed(path: Path, error: ErrorType, exc: MarlkitError) -> MarlkitError:
    """``exc``'s message as an ``error`` that starts with ``path`` (once)."""
    message = str(exc)
    return error(message if message.startswith(f"{path}") else f"{path}: {message}")


def read_archive(
    path: Path,
    error: ErrorType,
    *,
    allowed: Callable[[str], bool],
    describe: Callable[[str], str],
    header: str,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, arrays)`` of an NPZ archive with a JSON header member (marlkit's checkpoints, Histories, run
    segments): a regular file (:func:`regular_file`: no link followed) read member by member (:func:`read_npz`),
    its ``header`` member a JSON object parsed strictly; every message starts with ``path``."""
    path = Path(path)
    try:
        regular_file(path, error)
        contents = read_npz(path, error, allowed=allowed, describe=describe, strings=(header,))
        if header not in contents:
            raise error(f"no {header} member: not a marlkit file, or a damaged one")
        parsed = loads_json(str(contents.pop(header)), error, f"the {header} member")
        if not isinstance(parsed, dict):
            raise wrong(header, "a JSON object", parsed, error)
    except MarlkitError as exc:
        raise prefixed(path, error, exc) from None
    return parsed, contents
