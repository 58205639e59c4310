"""Trained policies as files and as players (issue 17; docs/policies.md): policy files (:mod:`.files`) and the env
they are for (:mod:`.spec`), actors that act without training — fixed, tabular, teams (:mod:`.actors`) —, the
evaluation protocol (:mod:`.evaluate`), play-against partners (:mod:`.partners`) and cross-play matrices
(:mod:`.crossplay`).

This floor sits beside :mod:`marlkit.attacks` (it may import every floor below ``experiment``); reading a run
directory is :mod:`marlkit.experiment.policies`'s job. Submodules are imported on use. (The cross-play function is
``marlkit.policies.crossplay.crossplay``: a package attribute of that name is the submodule.)
"""

from marlkit.registry import lazy_exports

_HOME = {
    "Policy": "files",
    "PolicyOutput": "files",
    "load_policy": "files",
    "save_policy": "files",
    "EnvRef": "spec",
    "FIXED_POLICIES": "actors",
    "Team": "actors",
    "evaluate_policy": "evaluate",
    "PolicyEvaluation": "evaluate",
    "CrossPlay": "crossplay",
}
__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals())
__all__ = sorted(_HOME)
