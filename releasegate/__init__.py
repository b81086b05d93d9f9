"""releasegate: production runbooks as an executable post-deploy acceptance suite."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("releasegate")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
