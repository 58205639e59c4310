"""Human interaction (issue 21; docs/human.md): human behaviour models, fitting them from logged play, human-aware
training and evaluation, hand-over of control, interpretability and fairness.

The ``human/`` floor sits beside :mod:`marlkit.diagnose`: it reads exact games and solutions (:mod:`marlkit.games`,
:mod:`marlkit.solve`), and plugs its models in where learners plug in (the one registry, the one trainer protocol).
Submodules are imported on use; importing this package imports nothing heavy.
"""
