"""Where releasegate's suites, schemas and fixtures are: in a checkout or inside an installed wheel.

In a checkout they are the top-level folders of the layout (DESIGN: Layout). A wheel carries copies
of them under ``releasegate/_bundle/`` (setup.py puts them there), so ``releasegate demo`` and
``releasegate run`` work from any directory without a checkout.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # releasegate/, this file is in releasegate/core/
_CHECKOUT = PACKAGE.parent
_BUNDLE = PACKAGE / "_bundle"


def _data_root() -> Path:
    if (_CHECKOUT / "suites").is_dir() and (_CHECKOUT / "schemas").is_dir():
        return _CHECKOUT
    return _BUNDLE


ROOT = _data_root()
IN_CHECKOUT = ROOT == _CHECKOUT
SUITES = ROOT / "suites"
SCHEMAS = ROOT / "schemas"
FIXTURES = ROOT / "fixtures"
