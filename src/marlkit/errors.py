"""Errors that marlkit raises at its edges.

This module is a leaf: it imports nothing of marlkit, so every floor of the house may use it. Each error's
message says what was wrong and how to fix it; the CLI prints the message as one line and exits 2.
"""

from __future__ import annotations


class MarlkitError(Exception):
    """Base class of every error marlkit raises on purpose (bad input, a concept that does not apply)."""


class InvalidGameError(MarlkitError, ValueError):
    """A game, or a policy for a game, failed validation: wrong shape, not a distribution, NaN/inf, bad gamma."""


class UnknownNameError(MarlkitError, KeyError):
    """A name (catalog game, learner, concept, ...) that marlkit does not know."""

    def __str__(self) -> str:  # KeyError would quote the message; print it plainly
        return str(self.args[0]) if self.args else ""


class GameFileError(MarlkitError, ValueError):
    """A game file that cannot be read: missing, unreadable, not JSON/NPZ, wrong format or version."""


class NotApplicableError(MarlkitError, ValueError):
    """A solution concept or learner that does not apply to the given game (and the message says what does)."""


class CertificationError(MarlkitError, RuntimeError):
    """A solver's answer failed its independent re-check (e.g. an incentive violation above the tolerance)."""


class LearnerConfigError(MarlkitError, ValueError):
    """A learner's hyper-parameters are malformed (not a schedule, a negative rate, ...) or it cannot run here."""


class PolicyFileError(MarlkitError, ValueError):
    """A policy file that cannot be read: missing, truncated, not a marlkit policy, another format version, a
    parameter digest that does not match, or a policy for another env / spec than the one it is used on."""
