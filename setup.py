"""Build hook only; everything else is in pyproject.toml.

A wheel must run without a checkout (`releasegate demo` from any directory), so it carries copies
of the top-level suites/, schemas/ and fixtures/ under releasegate/_bundle/; in a checkout they
stay where the layout puts them (releasegate/core/paths.py finds either).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLED = ("suites", "schemas", "fixtures")


class BuildPyWithBundle(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        for name in BUNDLED:
            shutil.copytree(HERE / name, Path(self.build_lib) / "releasegate" / "_bundle" / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"),
                            dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithBundle})
