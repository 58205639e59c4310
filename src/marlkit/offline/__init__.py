"""Offline MARL (issue 20; docs/attacks.md): datasets of logged play and the tabular learners that estimate a game
from them.

* :mod:`marlkit.offline.dataset` — the dataset format (NPZ + a JSON header, never pickle), recording from a game or
  an env with a behaviour policy, counts per (state, joint action);
* :mod:`marlkit.offline.learners` — certainty-equivalence and pessimistic (lower-confidence-bound) offline learners
  that estimate the game and output its solution.

Submodules are imported on use; importing this package imports nothing heavy.
"""
