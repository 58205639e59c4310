"""Deep learners by name: ``make_deep_learner(name, **params)`` for configs, the CLI and scripts.

:data:`DEEP_LEARNERS` maps a name to where its class lives (``"module:Class"``); the module is imported only when
the learner is made, so one learner module that is missing or broken does not take the others with it (the
error says which module failed). The defaults are the learner classes' own (each class cites where its numbers
come from).

>>> from marlkit.agents.deep.registry import DEEP_LEARNERS
>>> sorted(DEEP_LEARNERS)
['coma', 'idqn', 'ippo', 'mappo', 'qmix', 'vdn']
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from marlkit.errors import LearnerConfigError, MarlkitError, UnknownNameError
from marlkit.targets import load_target


@dataclass(frozen=True)
class DeepLearnerEntry:
    """One deep learner: its class as ``"package.module:ClassName"`` and a one-line description with its source."""

    target: str
    description: str

    def load(self) -> type:
        """Import and return the learner's class (:class:`NotApplicableError` if its module cannot be imported)."""
        return load_target(self.target, "learner")


DEEP_LEARNERS: Mapping[str, DeepLearnerEntry] = MappingProxyType(
    {
        "ippo": DeepLearnerEntry(
            "marlkit.agents.deep.ppo:IPPO",
            "independent PPO, one clipped-surrogate learner per agent (de Witt et al. 2020)",
        ),
        "mappo": DeepLearnerEntry(
            "marlkit.agents.deep.ppo:MAPPO", "PPO with a centralised critic on the global state (Yu et al. 2022)"
        ),
        "idqn": DeepLearnerEntry(
            "marlkit.agents.deep.value_based:IDQN",
            "independent DQN with replay, target networks and double-Q (Mnih et al. 2015; van Hasselt et al. 2016)",
        ),
        "vdn": DeepLearnerEntry(
            "marlkit.agents.deep.value_based:VDN", "value decomposition: Q_tot = sum of agent Qs (Sunehag et al. 2018)"
        ),
        "qmix": DeepLearnerEntry(
            "marlkit.agents.deep.value_based:QMIX",
            "monotonic mixing of agent Qs conditioned on the global state (Rashid et al. 2018)",
        ),
        "coma": DeepLearnerEntry(
            "marlkit.agents.deep.coma:COMA",
            "actor-critic with a counterfactual baseline (Foerster et al. 2018)",
        ),
    }
)
"""Every deep learner by name (read-only)."""


def _normalise(name: str) -> str:
    return str(name).strip().lower().replace("-", "_")


def is_deep_learner(name: object) -> bool:
    """Whether ``name`` names a deep learner (case and ``-``/``_`` forgiven)."""
    return isinstance(name, str) and _normalise(name) in DEEP_LEARNERS


def deep_learner_class(name: str) -> type:
    """The class of the deep learner ``name``.

    Raises:
        UnknownNameError: not a deep learner (close matches and every name are listed).
        NotApplicableError: its module cannot be imported.
    """
    key = _normalise(name)
    if key not in DEEP_LEARNERS:
        close = difflib.get_close_matches(key, list(DEEP_LEARNERS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownNameError(f"unknown deep learner {name!r}{hint}; deep learners: {', '.join(DEEP_LEARNERS)}")
    return DEEP_LEARNERS[key].load()


def hyper_parameters(cls: type) -> tuple[str, ...]:
    """The hyper-parameter names of a deep learner class (its dataclass fields that ``__init__`` takes)."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_"))


def make_deep_learner(name: str, **params: Any) -> Any:
    """The deep learner ``name`` with its defaults, overridden by ``params`` (keyword hyper-parameters).

    >>> make_deep_learner("ippo", lr=1e-3).lr  # doctest: +SKIP
    0.001

    Raises:
        UnknownNameError: an unknown learner name.
        LearnerConfigError: an unknown hyper-parameter, or a value the learner rejects.
        NotApplicableError: the learner's module cannot be imported.
    """
    cls = deep_learner_class(name)
    allowed = hyper_parameters(cls)
    for key in params:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise LearnerConfigError(
                f"{name}: unknown hyper-parameter {key!r}{hint}; {cls.__name__} takes: {', '.join(allowed)}"
            )
    try:
        return cls(**params)
    except MarlkitError:
        raise
    except (TypeError, ValueError) as exc:
        raise LearnerConfigError(f"{name}: {exc}") from None


__all__ = [
    "DEEP_LEARNERS",
    "DeepLearnerEntry",
    "deep_learner_class",
    "hyper_parameters",
    "is_deep_learner",
    "make_deep_learner",
]
