"""releasegate.versioning.api: structure comparison, Deprecation/Sunset headers, OpenAPI paths."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from releasegate.versioning.api import deprecation_problems, shape, structure_diff, unlisted_paths

NOW = datetime(2026, 11, 24, tzinfo=timezone.utc)


def diff(v1, legacy):
    return structure_diff(shape(v1), shape(legacy))


def test_same_structure_different_values_is_no_difference():
    assert diff({"items": [{"a": 1, "b": "x"}], "count": 1},
                {"items": [{"a": 9, "b": "y"}, {"a": 2, "b": "z"}], "count": 2}) == []


def test_missing_extra_and_retyped_keys_are_named_with_their_path():
    v1 = {"items": [{"name": "A", "score": 1, "venue": {"city": "X"}}], "count": 1}
    legacy = {"items": [{"company_name": "A", "score": "1", "venue": {"city": 3}}], "total": 1}
    assert diff(v1, legacy) == [
        "count: missing in legacy",
        "total: only in legacy",
        "items[].name: missing in legacy",
        "items[].company_name: only in legacy",
        "items[].score: number in v1, string in legacy",
        "items[].venue.city: string in v1, number in legacy",
    ]


@pytest.mark.parametrize(("v1", "legacy"), [
    ({"a": None}, {"a": "text"}),  # null fits any type
    ({"a": []}, {"a": [{"x": 1}]}),  # an empty list says nothing about its elements
    ({"a": [{"x": 1}, {"y": 2}]}, {"a": [{"x": 3, "y": 4}]}),  # element keys are merged
    ({"n": 1}, {"n": 1.5}),  # one JSON number type
])
def test_what_is_not_a_difference(v1, legacy):
    assert diff(v1, legacy) == []


def test_top_level_type_change():
    assert diff({"items": []}, [{"x": 1}]) == ["(top level): object in v1, array in legacy"]


def test_deprecation_and_sunset_headers():
    good = {"deprecation": "@1767225600", "sunset": "Sun, 23 May 2027 00:00:00 GMT"}
    assert deprecation_problems(good, NOW) == []
    assert deprecation_problems({}, NOW) == ["no Deprecation header (RFC 9745)",
                                             "no Sunset header (RFC 8594)"]
    assert deprecation_problems({**good, "deprecation": "true"}, NOW) == [
        "Deprecation 'true' is not an RFC 9745 date (@<unix seconds>)"]
    assert deprecation_problems({**good, "sunset": "soon"}, NOW) == [
        "Sunset 'soon' is not an HTTP-date (RFC 8594)"]
    assert deprecation_problems({**good, "sunset": "Mon, 01 Jun 2026 00:00:00 GMT"}, NOW) == [
        "Sunset 'Mon, 01 Jun 2026 00:00:00 GMT' has passed: the endpoint should be gone by now"]
    late = {"deprecation": "@1893456000", "sunset": "Sun, 23 May 2027 00:00:00 GMT"}  # 2030 > 2027
    assert deprecation_problems(late, NOW) == ["Sunset is earlier than Deprecation (RFC 9745 §3)"]


def test_openapi_templates_match_concrete_paths():
    doc = {"paths": {"/api/v1/leads": {}, "/api/v1/leads/{domain}/sales-summary": {}}}
    wanted = ["/api/v1/leads", "/api/v1/leads/example.com/sales-summary", "/api/v1/scan?domain=x",
              "/api/v1/leads/a/b/sales-summary"]
    assert unlisted_paths(doc, wanted) == ["/api/v1/scan?domain=x", "/api/v1/leads/a/b/sales-summary"]


def test_openapi_server_base_path_counts():
    doc = {"servers": [{"url": "https://api.example.com/api/v1"}], "paths": {"/scan": {}}}
    assert unlisted_paths(doc, ["/api/v1/scan"]) == []
    assert unlisted_paths({"paths": "/x"}, ["/x"]) == ["/x"]  # paths must be a mapping
    assert unlisted_paths(["not", "a", "document"], ["/x"]) == ["/x"]
