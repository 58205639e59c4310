"""marlkit: multi-agent reinforcement learning where learning meets game theory."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("marlkit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

from marlkit.registry import lazy_exports

_HOME = {"export_policy": "experiment.policies", "load_policy": "policies.files"}
__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals())
__all__ = ["__version__", "export_policy", "load_policy"]
