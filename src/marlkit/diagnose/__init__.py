"""Diagnostics of learning runs against exact solutions (reads a History and a game)."""

from marlkit.diagnose.summary import LearningSummary, summarize

__all__ = ["LearningSummary", "summarize"]
