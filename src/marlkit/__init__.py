"""marlkit: multi-agent reinforcement learning where learning meets game theory."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("marlkit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
