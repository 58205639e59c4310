"""Deep MARL learners under the contract of :mod:`marlkit.agents.deep.base` (flax networks, optax optimisers).

The learners:

* :class:`IPPO` and :class:`MAPPO` — independent and centralised-critic PPO (de Witt et al. 2020; Yu et al. 2022);
* :class:`IPPOLagrangian` and :class:`MAPPOLagrangian` — their constrained versions with cost critics and Lagrange
  multipliers (Gu et al. 2021, 2023: MAPPO-L), for tasks with costs;
* :class:`IDQN`, :class:`VDN` and :class:`QMIX` — independent DQN (Tan 1993 with Mnih et al. 2015) and value
  decomposition by a sum (Sunehag et al. 2018) or a monotonic mixing network (Rashid et al. 2018);
* :class:`COMA` — counterfactual multi-agent policy gradients (Foerster et al. 2018);
* :class:`ATLAMAPPO` and :class:`ATLAIPPO` — adversarial training against learned observation adversaries in an
  ε-ball (ATLA, Zhang et al. 2021; RMA3C, Han et al. 2024); the attacks themselves are in ``attacks``.

Each is loaded from its submodule on first use (PEP 562), so ``import marlkit.agents.deep`` imports neither flax
nor optax; ``from marlkit.agents.deep import QMIX`` imports what QMIX needs. The pieces learners share live in
their own modules: the contract (``base``), networks (``networks``), parameter sharing (``sharing``), mixers
(``mixers``), replay buffers (``replay``) and advantage estimators (``advantages``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marlkit.registry import lazy_exports

if TYPE_CHECKING:  # the type checker sees the classes; at run time they load on first use
    from marlkit.agents.deep.adversarial import ATLAIPPO, ATLAMAPPO, AdversarialTraining
    from marlkit.agents.deep.coma import COMA
    from marlkit.agents.deep.ppo import IPPO, MAPPO
    from marlkit.agents.deep.ppo_lagrangian import IPPOLagrangian, MAPPOLagrangian
    from marlkit.agents.deep.value_based import IDQN, QMIX, VDN

_HOME = {
    "IPPO": "ppo",
    "MAPPO": "ppo",
    "IPPOLagrangian": "ppo_lagrangian",
    "MAPPOLagrangian": "ppo_lagrangian",
    "IDQN": "value_based",
    "VDN": "value_based",
    "QMIX": "value_based",
    "COMA": "coma",
    "AdversarialTraining": "adversarial",
    "ATLAMAPPO": "adversarial",
    "ATLAIPPO": "adversarial",
}
"""Re-exported learner -> the submodule that defines it."""


__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals())


__all__ = [
    "ATLAIPPO",
    "ATLAMAPPO",
    "COMA",
    "IDQN",
    "IPPO",
    "MAPPO",
    "QMIX",
    "VDN",
    "AdversarialTraining",
    "IPPOLagrangian",
    "MAPPOLagrangian",
]
