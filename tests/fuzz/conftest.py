"""Helpers shared by the fuzz suites: the CLI run in this process with a per-case time limit."""

from __future__ import annotations

import contextlib
import io
import signal
import warnings
from collections.abc import Callable, Iterator

import pytest

from marlkit.cli import main


class CaseTimeout(BaseException):
    """Raised by the alarm: a BaseException, so that the CLI's error boundary cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in this (main) thread after ``seconds`` (SIGALRM)."""

    def alarm(signum: int, frame: object) -> None:
        raise CaseTimeout(f"a case ran longer than {seconds} s (a hang)")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``marlkit argv`` in this process: (exit code, stdout, stderr). Any RuntimeWarning is an error (the CLI then
    reports an internal error, exit 1, and the case fails)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_one_line_or_success(name: str, code: int, out: str, err: str) -> None:
    """A command ended in exit 0, or in exit 2 with exactly one ``error: `` line on stderr (not an internal
    error) and nothing on stdout; never a traceback or another exit code."""
    assert code in (0, 2), f"{name} exited {code}: {err[-3000:]}"
    assert "Traceback" not in err and "Traceback" not in out, err[-3000:]
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), f"{name}: {err[-3000:]}"
        assert not lines[0].startswith("error: internal error"), lines[0]
        assert out == "", f"{name} printed before its error: {out[-500:]}"


@pytest.fixture(scope="session")
def fuzz_cli() -> Callable[..., tuple[int, str, str]]:
    """:func:`run_cli` for the fuzz tests."""
    return run_cli


@pytest.fixture(scope="session")
def fuzz_limit() -> Callable[[float], contextlib.AbstractContextManager[None]]:
    """:func:`time_limit` for the fuzz tests."""
    return time_limit


@pytest.fixture(scope="session")
def fuzz_outcome() -> Callable[[str, int, str, str], None]:
    """:func:`assert_one_line_or_success` for the fuzz tests."""
    return assert_one_line_or_success
