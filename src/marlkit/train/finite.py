"""The NaN / inf guard: find the first logging window whose records hold a non-finite value that is not a marker.

Records use NaN as a marker of "undefined" in a few places, and the guard must not stop a healthy run on them:

* ``episode_return`` (and every metric whose name contains ``episode``, e.g. ``constraint/episode_cost/0``) is NaN
  in a window where no episode ended (``episode_count == 0``);
* a metric is NaN for the agents whose learner does not report it (the mask is fixed for the whole run), and
  ``average_policy`` is NaN for the agents whose learner keeps none (a whole agent block).

So a value is **non-finite** (a divergence, not a marker) when it is

1. ``+inf`` or ``-inf``, anywhere (no record uses inf as a marker);
2. NaN in ``policy`` or ``reward_mean`` (always defined), or in ``episode_return`` / an episode metric of a window
   where an episode ended;
3. NaN in an ``average_policy`` agent block that also holds numbers, or that held numbers in an earlier window;
4. NaN in a metric at an agent that reported a number for it in an earlier window (of this process).

:class:`FiniteGuard` keeps what rules 3-4 remember between calls; the runner calls :meth:`FiniteGuard.check` on
every segment's records before writing them (:mod:`marlkit.experiment.runner`), so a run stops at the first such
window, every earlier window stays written, and the message names the seed, the record key and the agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marlkit.train.protocol import Record

ALWAYS_DEFINED = ("policy", "reward_mean")
"""Record fields that are never NaN in a healthy window."""


@dataclass(frozen=True)
class NonFinite:
    """The first non-finite value of a run: logging window, seed index, record key (``policy``,
    ``reward_mean``, ``episode_return`` or ``metrics.<name>``), agent (None where the key has no agent axis)
    and the value (NaN, inf or -inf)."""

    window: int
    seed: int
    key: str
    agent: int | None
    value: float

    def describe(self) -> str:
        """``nan in metrics.td_error of agent 1, seed 3, window 17``."""
        agent = "" if self.agent is None else f" of agent {self.agent}"
        return f"{self.value} in {self.key}{agent}, seed {self.seed}, logging window {self.window}"

    def to_json(self) -> dict[str, Any]:
        """JSON-safe: the value as the string ``"nan"``, ``"inf"`` or ``"-inf"``."""
        return {
            "window": self.window,
            "seed": self.seed,
            "key": self.key,
            "agent": self.agent,
            "value": str(self.value),
        }


@dataclass
class FiniteGuard:
    """Checks consecutive segments of one run's records (rules in the module docstring)."""

    seen: dict[str, np.ndarray] = field(default_factory=dict)
    """Per ``metrics.<name>`` / ``average_policy``: which agents held a number in an earlier window (rules 3-4)."""

    def check(self, records: Record, first_window: int, seeds: Sequence[int]) -> NonFinite | None:
        """The first non-finite value of ``records`` (leaves ``[N, W, ...]``, windows ``first_window ..``), window
        by window, then seed by seed; None when every value is finite or a marker. Remembers what it saw."""
        counts = np.asarray(records.episode_count)
        arrays: dict[str, np.ndarray] = {
            "policy": np.asarray(records.policy),
            "average_policy": np.asarray(records.average_policy),
            "episode_return": np.asarray(records.episode_return),
            "reward_mean": np.asarray(records.reward_mean),
            **{f"metrics.{name}": np.asarray(value) for name, value in records.metrics.items()},
        }
        for w in range(counts.shape[1]):
            for i, seed in enumerate(seeds):
                for key, array in arrays.items():
                    found = self._bad(key, array[i, w], bool(counts[i, w] > 0))
                    if found is not None:
                        agent, value = found
                        return NonFinite(first_window + w, int(seed), key, agent, value)
            for key, array in arrays.items():
                if key == "average_policy" or key.startswith("metrics."):
                    finite = _per_agent(np.isfinite(array[:, w]))  # [N, n] -> [n] over seeds
                    self.seen[key] = finite | self.seen.get(key, np.zeros_like(finite))
        return None

    def _bad(self, key: str, values: np.ndarray, episodes: bool) -> tuple[int | None, float] | None:
        if not np.issubdtype(values.dtype, np.floating) or values.size == 0:
            return None
        infinite = np.isinf(values)
        nan = np.isnan(values)
        if key in ALWAYS_DEFINED or (("episode" in key) and episodes):
            wrong = infinite | nan
        elif key == "average_policy" or key.startswith("metrics."):
            blocks = nan.reshape(nan.shape[0], -1) if nan.ndim else nan.reshape(1, 1)
            partial = blocks.any(axis=1) & ~blocks.all(axis=1)
            earlier = self.seen.get(key, np.zeros(blocks.shape[0], bool)) & blocks.any(axis=1)
            agents = partial | earlier
            wrong = infinite | (nan & agents.reshape((-1,) + (1,) * (nan.ndim - 1)) if nan.ndim else nan & agents[0])
        else:
            wrong = infinite
        if not np.any(wrong):
            return None
        index = np.unravel_index(int(np.argmax(wrong)), wrong.shape) if wrong.ndim else ()
        agent = int(index[0]) if wrong.ndim else None
        return agent, float(values[index])


def _per_agent(finite: np.ndarray) -> np.ndarray:
    """``[N, n, ...]`` finite flags -> ``[n]``: agents with a finite value in some seed (a scalar key: ``[1]``)."""
    if finite.ndim == 1:
        return np.asarray(finite.any(axis=0, keepdims=True))
    return np.asarray(finite.reshape(finite.shape[0], finite.shape[1], -1).any(axis=(0, 2)))


__all__ = ["ALWAYS_DEFINED", "FiniteGuard", "NonFinite"]
