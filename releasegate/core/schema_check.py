"""Validate a response body against a JSON Schema in schemas/, failing with one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from releasegate.core.errors import CheckFailed
from releasegate.core.profile import schema_validator

_VALIDATORS: dict[str, jsonschema.protocols.Validator] = {}


def validator_for(name: str) -> jsonschema.protocols.Validator:
    if name not in _VALIDATORS:
        _VALIDATORS[name] = schema_validator(name)
    return _VALIDATORS[name]


def expect_matches_schema(instance: Any, name: str, what: str) -> None:
    """Fail with the first (most relevant) schema violation, naming where in the body it is."""
    __tracebackhide__ = True
    error = jsonschema.exceptions.best_match(validator_for(name).iter_errors(instance))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) < 200 else error.message[:200] + "…"
        shown = name if Path(name).is_absolute() else f"schemas/{name}"  # a team's own, or ours
        kind = "missing" if error.validator == "required" else "wrong_body"  # a field absent, or wrong
        raise CheckFailed(f"{what} does not match {shown} at {where}: {message}", kind=kind)
