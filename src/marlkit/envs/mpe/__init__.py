"""The multi-agent particle environments (MPE; Lowe et al. 2017) on marlkit's functional JAX contract.

Tasks: :class:`SimpleSpread` (cooperative navigation, and its constrained variant with a collision cost),
:class:`SimpleTag` (predator-prey, mixed cooperative-competitive), :class:`SpeakerListener` (communication).
Physics in :mod:`marlkit.envs.mpe.core`; every task reproduces the reference package ``mpe2`` step by step.
"""

from marlkit.envs.mpe.simple_spread import SimpleSpread
from marlkit.envs.mpe.simple_tag import SimpleTag
from marlkit.envs.mpe.speaker_listener import SpeakerListener

__all__ = ["SimpleSpread", "SimpleTag", "SpeakerListener"]
