"""Deep learners by name: ``make_deep_learner(name, **params)`` for configs, the CLI and scripts.

:data:`DEEP_LEARNERS` is a :class:`~marlkit.registry.Registry` whose entries name their class by where it lives
(``"module:Class"``); the module is imported only when the learner is made, so one learner module that is missing
or broken does not take the others with it (the error says which module failed). The defaults are the learner
classes' own (each class cites where its numbers come from); an entry's ``citation`` names the method's source.

>>> from marlkit.agents.deep.registry import DEEP_LEARNERS
>>> sorted(DEEP_LEARNERS)
['atla_ippo', 'atla_mappo', 'coma', 'idqn', 'ippo', 'ippo_lagrangian', 'mappo', 'mappo_lagrangian', 'qmix', 'vdn']
"""

from __future__ import annotations

import dataclasses
from typing import Any

from marlkit.errors import LearnerConfigError, MarlkitError
from marlkit.registry import Registry

DEEP_LEARNERS: Registry[Any] = Registry("deep learner", param_error=LearnerConfigError, param_word="hyper-parameter")
"""Every deep learner by name (case and ``-`` / ``_`` forgiven)."""

DEEP_LEARNERS.add(
    "ippo",
    "marlkit.agents.deep.ppo:IPPO",
    description="independent PPO, one clipped-surrogate learner per agent",
    citation="de Witt et al. 2020",
)
DEEP_LEARNERS.add(
    "mappo",
    "marlkit.agents.deep.ppo:MAPPO",
    description="PPO with a centralised critic on the global state",
    citation="Yu et al. 2022",
)
DEEP_LEARNERS.add(
    "mappo_lagrangian",
    "marlkit.agents.deep.ppo_lagrangian:MAPPOLagrangian",
    description="MAPPO with centralised cost critics and Lagrange multipliers (constrained tasks)",
    citation="Gu et al. 2021 (arXiv:2110.02793); Gu et al. 2023 (Artificial Intelligence 319)",
    aliases=("mappo_l", "mappo_lag"),
)
DEEP_LEARNERS.add(
    "ippo_lagrangian",
    "marlkit.agents.deep.ppo_lagrangian:IPPOLagrangian",
    description="IPPO with local cost critics and Lagrange multipliers (constrained tasks)",
    citation="Gu et al. 2021 (arXiv:2110.02793); de Witt et al. 2020",
    aliases=("ippo_l", "ippo_lag"),
)
DEEP_LEARNERS.add(
    "atla_mappo",
    "marlkit.agents.deep.adversarial:ATLAMAPPO",
    description="MAPPO trained against observation adversaries in an epsilon-ball: learned (ATLA, alternating) "
    "or PGD (adversary=gradient) (robust)",
    citation="Zhang et al. 2021 (ATLA, ICLR); Han et al. 2024 (RMA3C, TMLR); Madry et al. 2018; Yu et al. 2022",
    aliases=("adversarial_mappo",),
)
DEEP_LEARNERS.add(
    "atla_ippo",
    "marlkit.agents.deep.adversarial:ATLAIPPO",
    description="IPPO trained against observation adversaries in an epsilon-ball: learned (ATLA, alternating) "
    "or PGD (adversary=gradient) (robust)",
    citation="Zhang et al. 2021 (ATLA, ICLR); Han et al. 2024 (RMA3C, TMLR); Madry et al. 2018; de Witt et al. 2020",
    aliases=("adversarial_ippo",),
)
DEEP_LEARNERS.add(
    "idqn",
    "marlkit.agents.deep.value_based:IDQN",
    description="independent DQN with replay, target networks and double-Q",
    citation="Mnih et al. 2015; van Hasselt et al. 2016",
)
DEEP_LEARNERS.add(
    "vdn",
    "marlkit.agents.deep.value_based:VDN",
    description="value decomposition: Q_tot = sum of agent Qs",
    citation="Sunehag et al. 2018",
)
DEEP_LEARNERS.add(
    "qmix",
    "marlkit.agents.deep.value_based:QMIX",
    description="monotonic mixing of agent Qs conditioned on the global state",
    citation="Rashid et al. 2018",
)
DEEP_LEARNERS.add(
    "coma",
    "marlkit.agents.deep.coma:COMA",
    description="actor-critic with a counterfactual baseline",
    citation="Foerster et al. 2018",
)


def is_deep_learner(name: object) -> bool:
    """Whether ``name`` names a deep learner (case and ``-``/``_`` forgiven)."""
    return name in DEEP_LEARNERS


def deep_learner_class(name: str) -> type:
    """The class of the deep learner ``name``.

    Raises:
        UnknownNameError: not a deep learner (close matches and every name are listed).
        NotApplicableError: its module cannot be imported.
    """
    cls = DEEP_LEARNERS.load(name)
    assert isinstance(cls, type)
    return cls


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
    try:
        return DEEP_LEARNERS.make(name, **params)
    except MarlkitError:
        raise
    except (TypeError, ValueError) as exc:
        raise LearnerConfigError(f"{name}: {exc}") from None


__all__ = ["DEEP_LEARNERS", "deep_learner_class", "hyper_parameters", "is_deep_learner", "make_deep_learner"]
