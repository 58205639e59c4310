"""Reward transforms by name (:data:`REWARD_TRANSFORMS`): what a config's ``reward: NAME`` and scripts build.

A reward transform (:class:`~marlkit.agents.deep.base.RewardTransform`) rewrites the rewards a deep learner
trains on. Entries name their class by where it lives (``"module:Class"``), imported only when built, so listing
them imports no JAX network code.

>>> from marlkit.agents.reward_transforms import REWARD_TRANSFORMS
>>> REWARD_TRANSFORMS.names()
['difference']
"""

from __future__ import annotations

from typing import Any

from marlkit.errors import LearnerConfigError
from marlkit.registry import Registry

REWARD_TRANSFORMS: Registry[Any] = Registry("reward transform", param_error=LearnerConfigError)
"""Every reward transform by name."""

REWARD_TRANSFORMS.add(
    "difference",
    "marlkit.agents.credit:DifferenceRewards",
    description="difference rewards: each agent's own contribution to the team reward, by exact replay or a "
    "learned critic",
    citation="Wolpert & Tumer 2001 (Adv. Complex Syst. 4); Agogino & Tumer 2004 (AAMAS)",
)


def make_reward_transform(name: str, **params: Any) -> Any:
    """The reward transform ``name`` with its defaults overridden by ``params``.

    Raises:
        UnknownNameError: an unknown name (close matches are suggested).
        LearnerConfigError: an unknown parameter (or whatever the transform raises for a bad value).
        NotApplicableError: its module cannot be imported.
    """
    return REWARD_TRANSFORMS.make(name, **params)


__all__ = ["REWARD_TRANSFORMS", "make_reward_transform"]
