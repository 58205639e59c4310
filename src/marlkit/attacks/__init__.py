"""Attacks on MARL and defences against them (issue 20; docs/attacks.md).

The floor of attacks and defences sits beside :mod:`marlkit.diagnose`: it reads exact games and solutions
(:mod:`marlkit.games`, :mod:`marlkit.solve`), offline datasets (:mod:`marlkit.offline`), trained learners and the
compiled trainers and evaluation (:mod:`marlkit.agents`, :mod:`marlkit.train`), and shares the observation
uncertainty sets and attacks of robust MARL (:class:`marlkit.games.uncertainty.ObservationBall`,
:mod:`marlkit.agents.deep.attacks`) instead of redefining them.

* :mod:`marlkit.attacks.poisoning` — minimal-cost reward poisoning of an offline dataset so that a target policy
  becomes the one rational offline learners adopt (Wu, McMahan, Zhu & Xie, AAAI 2023);
* :mod:`marlkit.attacks.observation` — observation attacks on trained tabular and deep policies (exact optimal
  attacks where they exist, FGSM / PGD, targeted and untargeted, victim selection, minimal flipping budgets);
* :mod:`marlkit.attacks.backdoor` — backdoors planted at training time (trigger, poison rate, reward hacking), their
  detection (a trigger search) and removal (unlearning by fine-tuning).

Submodules are imported on use; importing this package imports nothing heavy.
"""
