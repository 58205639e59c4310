"""The cooperative cooking task (Overcooked-AI, Carroll et al. 2019) and its scripted greedy human partner.

* :class:`Cooking` — the task under the functional JAX contract (rules in :mod:`marlkit.envs.cooking.env`);
* :mod:`marlkit.envs.cooking.layouts` — the kitchens and their shortest-path tables;
* :class:`GreedyHuman` — overcooked-ai's ``GreedyHumanModel`` with Boltzmann choice, a pure JAX policy.
"""

from marlkit.envs.cooking.env import Cooking, CookingState
from marlkit.envs.cooking.human import GreedyHuman, greedy_action, greedy_probabilities
from marlkit.envs.cooking.layouts import ACTION_NAMES, LAYOUTS, Layout, get_layout

__all__ = [
    "ACTION_NAMES",
    "LAYOUTS",
    "Cooking",
    "CookingState",
    "GreedyHuman",
    "Layout",
    "get_layout",
    "greedy_action",
    "greedy_probabilities",
]
