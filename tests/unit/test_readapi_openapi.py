"""``schema: openapi``: a Read API answer judged by the service's own OpenAPI document (openapi-core).

The documents are FastAPI's own (3.1.0), built from tests/independent/readapi_app.py without a
server; the answers are Fetch records as the engine makes them.
"""

from __future__ import annotations

import json

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.http.client import Fetch

pytest.importorskip("openapi_core")
pytest.importorskip("fastapi")

from releasegate.readapi.openapi import OpenApiContract
from tests.independent.readapi_app import create_app

BASE = "http://127.0.0.1:8080"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def contract() -> OpenApiContract:
    return OpenApiContract(create_app().openapi(), "GET /openapi.json")


def answer(path: str, body: object, status: int = 200, method: str = "GET") -> Fetch:
    return Fetch(method, BASE + path, status=status, headers=JSON, body=json.dumps(body).encode())


def test_an_answer_that_keeps_the_document_passes(contract):
    body = {"results": [{"team_id": 3901, "team_name": "Manchester United", "league": 39}]}
    assert contract.problem(answer("/v1/teams?search=united&league_id=39", body)) is None


def test_a_wrong_type_is_named_with_its_place(contract):
    body = {"results": [{"team_id": "3901", "team_name": "Manchester United", "league": 39}]}
    problem = contract.problem(answer("/v1/teams?league_id=39", body))
    assert problem is not None and "'3901' is not of type 'integer'" in problem


def test_a_path_or_status_the_document_does_not_know(contract):
    assert "documents no GET /v1/nowhere" in contract.problem(answer("/v1/nowhere", {}))
    assert "documents no 418 answer" in contract.problem(answer("/v1/health", {}, status=418))


def test_only_get_and_head_answers_are_judged(contract):
    with pytest.raises(ValueError, match="only GET and HEAD"):
        contract.problem(answer("/v1/fixtures", {}, method="POST"))


@pytest.mark.parametrize("document", [{"swagger": "2.0"}, [], {"openapi": "9.9.9", "paths": {}}])
def test_a_document_that_is_not_openapi_fails_the_check(document):
    with pytest.raises(CheckFailed, match="OpenAPI document"):
        OpenApiContract(document, "GET /openapi.json")


def test_a_broken_part_of_the_document_is_a_problem_of_the_answer_not_a_crash():
    broken = {"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {
        "/v1/health": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Nowhere"}}}}}}}}}
    problem = OpenApiContract(broken, "GET /openapi.json").problem(answer("/v1/health", {"ok": True}))
    assert problem and "GET /openapi.json" in problem


def test_a_duplicate_operation_id_is_not_judged(contract):
    """FastAPI warns about it and serves the document: the answers are what is judged."""
    document = create_app(frozenset({"accepts_post"})).openapi()
    OpenApiContract(document, "GET /openapi.json")
