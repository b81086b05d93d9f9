"""``schema: openapi``: judge a Read API answer by the service's own OpenAPI document.

Runbook 000 defines few fields (releasegate's built-in schemas require only those); the rest of
an endpoint's contract is the service's. A service that publishes an OpenAPI document (FastAPI
serves /openapi.json by default) states it itself, so the answer of each configured endpoint is
validated against that document with openapi-core, a maintained OpenAPI 3.0/3.1 validator.
Only answers to GET and HEAD are judged; nothing here sends a request of its own but the GET of
the document. openapi-core is an optional dependency (``pip install 'releasegate[openapi]'``): the
profile check refuses ``schema: openapi`` without it, before any check runs.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from releasegate.core.errors import CheckFailed
from releasegate.http.client import Fetch

OPENAPI = "openapi"  # the value of an endpoint's ``schema`` that selects this validation
DEFAULT_PATH = "/openapi.json"
JUDGED_METHODS = ("GET", "HEAD")
INSTALL_HINT = "schema: openapi needs openapi-core: pip install 'releasegate[openapi]'"


def available() -> bool:
    return importlib.util.find_spec("openapi_core") is not None


@dataclass
class _Request:
    """openapi-core's Request protocol for an exchange we made (a GET or HEAD, no body)."""

    host_url: str
    path: str
    method: str
    parameters: Any
    content_type: str = ""
    body: bytes | None = None


@dataclass
class _Response:
    """openapi-core's Response protocol for the answer we got."""

    status_code: int
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)
    data: bytes = b""


def _adapters(fetch: Fetch) -> tuple[_Request, _Response]:
    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    url = urlsplit(fetch.url)
    params = RequestParameters(query=ImmutableMultiDict(parse_qsl(url.query, keep_blank_values=True)),
                               header=Headers(dict(fetch.request_headers)))
    request = _Request(f"{url.scheme}://{url.netloc}", url.path or "/", fetch.method.lower(), params)
    response = _Response(fetch.status or 0, fetch.headers.get("content-type", ""),
                         Headers(dict(fetch.headers)), fetch.body)
    return request, response


def _reason(exc: BaseException) -> str:
    """The one line that says what is wrong: the schema errors behind InvalidData, else the error."""
    cause = exc.__cause__
    errors = getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None)
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in getattr(first, "absolute_path", [])) or "(top level)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"at {where}: {getattr(first, 'message', first)}{more}"
    text = " ".join(str(cause or exc).split()) or type(exc).__name__
    return text if len(text) < 240 else text[:240] + "…"


class OpenApiContract:
    """The service's own OpenAPI document, loaded once; judges answers against it."""

    def __init__(self, document: Any, where: str) -> None:
        from openapi_core import Config, OpenAPI

        self.where = where
        if not isinstance(document, Mapping) or "openapi" not in document:
            raise CheckFailed(f"{where} is not an OpenAPI document (no 'openapi' version field)",
                              kind="wrong_body")
        try:
            # No linting of the document itself: it would cost seconds per run and fail every body
            # check over what FastAPI only warns about (a duplicate operationId); the answers are
            # what is judged, and a part of the document they need that is broken says so then.
            self.api = OpenAPI.from_dict(dict(document), config=Config(spec_validator_cls=None))
        except Exception as exc:  # openapi-core's many error types: the document is unusable
            raise CheckFailed(f"{where} is not a valid OpenAPI document: {_reason(exc)}",
                              kind="wrong_body") from None
        try:
            judged = self.api.response_validator_cls is not None
        except Exception:  # openapi-core raises for a version it does not know
            judged = False
        if not judged:
            raise CheckFailed(f"{where} is an OpenAPI document of version {document['openapi']!r}, "
                              "which openapi-core cannot judge (3.0, 3.1 and 3.2 it can)", kind="wrong_body")

    @classmethod
    def from_fetch(cls, fetch: Fetch) -> OpenApiContract:
        __tracebackhide__ = True
        fetch.expect_status(200, why="the service's OpenAPI document is what schema: openapi judges by")
        return cls(fetch.json(), fetch.label)

    def problem(self, fetch: Fetch) -> str | None:
        """Why the answer breaks the document, in one line, or None when it keeps it."""
        if fetch.method.upper() not in JUDGED_METHODS:
            raise ValueError(f"only {' and '.join(JUDGED_METHODS)} answers are judged, not {fetch.method}")
        request, response = _adapters(fetch)
        try:
            self.api.validate_response(request, response)
        except Exception as exc:  # every openapi-core validation error is a broken contract
            name = type(exc).__name__
            if name in ("PathNotFound", "PathsNotFound", "OperationNotFound", "ServerNotFound"):
                return f"{self.where} documents no GET {request.path}: {_reason(exc)}"
            if name == "ResponseNotFound":
                return f"{self.where} documents no {response.status_code} answer for GET {request.path}"
            return f"does not match {self.where} {_reason(exc)}"
        return None
