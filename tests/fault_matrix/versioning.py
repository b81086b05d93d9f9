"""Fault matrix rows of the versioning area (runbook 001 §6.4, 004; runs `-m versioning`).

``unknown_id_500`` is proven in tests/fault_matrix/readapi.py: the same bug fails a check of each area.
"""

from __future__ import annotations

from tests.fault_matrix import Row

PARTS = ("versioning",)

ROWS: list[Row] = [
    Row("", 0, "GO", markers="versioning", parts=PARTS),
    Row("v1_router_unmounted", 2, "ROLLBACK", {
        "test_v1_endpoint_answers_allowed_status[leads]": "/api/v1/leads returned 404, expected 200 or 401",
        "test_v1_endpoint_answers_allowed_status[scan]": "/api/v1/scan?domain=company1.example returned "
                                                         "404, expected 200 or 400",
        "test_supported_legacy_matches_v1_structure[leads]": "/api/v1/leads returned 404, expected 200",
        "test_openapi_lists_v1_paths": "/openapi.json does not list /api/v1/leads, /api/v1/scan, "
                                       "/api/v1/leads/unknown-company.example/sales-summary (of 3",
    }, markers="versioning", parts=PARTS),
    Row("legacy_served_when_removed", 2, "ROLLBACK", {
        "test_legacy_endpoint_follows_decision[scan]": "/scan?domain=company1.example returned 200, "
                                                       "expected 404 or 410 (documented as removed",
    }, markers="versioning", parts=PARTS),
    Row("legacy_supported_removed", 2, "ROLLBACK", {
        "test_legacy_endpoint_follows_decision[leads]": "/leads returned 404, expected 200 (documented as "
                                                        "supported",
        "test_supported_legacy_matches_v1_structure[leads]": "/leads returned 404, expected 200",
        "test_supported_legacy_announces_deprecation[leads]": "/leads returned 404, expected 200",
    }, markers="versioning", parts=PARTS),
    Row("legacy_structure_differs", 2, "ROLLBACK", {
        "test_supported_legacy_matches_v1_structure[leads]": "items[].name: missing in legacy; "
                                                             "items[].company_name: only in legacy; "
                                                             "items[].score: number in v1, string in legacy",
    }, markers="versioning", parts=PARTS),
    Row("legacy_deprecation_headers_missing", 4, "INVESTIGATE", {
        "test_supported_legacy_announces_deprecation[leads]": "/leads: no Deprecation header (RFC 9745); "
                                                              "no Sunset header (RFC 8594)",
    }, markers="versioning", parts=PARTS),
    Row("openapi_missing_v1_path", 4, "INVESTIGATE", {
        "test_openapi_lists_v1_paths": "does not list /api/v1/leads/unknown-company.example/sales-summary "
                                       "(of 3 v1 paths)",
    }, markers="versioning", parts=PARTS),
]
