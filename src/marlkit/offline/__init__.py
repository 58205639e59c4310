"""Offline MARL (issue 20; docs/attacks.md): datasets of logged play and the tabular learners that estimate a game
from them.

* :mod:`marlkit.offline.dataset` — the dataset format (NPZ + a JSON header, never pickle), counts per (state, joint
  action), reward means and empirical transitions;
* :mod:`marlkit.offline.record` — recording a dataset from an exact game with a behaviour policy (or a designed
  coverage);
* :mod:`marlkit.offline.estimate` — the estimated game and the learners' confidence set (a reward box ρ/sqrt(N));
* :mod:`marlkit.offline.dominance` — dominance / saddle gaps of a target policy, linear in the rewards, and their
  exact worst case over the box;
* :mod:`marlkit.offline.learners` — certainty-equivalence and pessimistic (lower-confidence-bound) offline learners
  that estimate the game and output its solution.

Submodules are imported on use; importing this package imports nothing heavy.
"""
