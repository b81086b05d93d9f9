"""Runbook 000 §3.1: the Read API's REST endpoints (read-only)."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.readapi.bodies import filter_misses

pytestmark = pytest.mark.readapi


@pytest.mark.runbook("000", "§3.1", "the Read API endpoint answers 200")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §3.1: check the read_api service logs and its Postgres connection (the 000 §2 "
                    "queries); roll back if this deploy broke the endpoint")
def test_endpoint_answers_200(readapi, endpoint):
    readapi.get(endpoint).expect_status(200, why="consumers and ops read through this endpoint")


@pytest.mark.runbook("000", "§3.1", "the endpoint's body keeps its contract: runbook 000's fields, the "
                    "service's own schema or OpenAPI document")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §3.1: the body changed shape and consumers parse it: roll back, or publish the "
                    "change under a new version instead of changing /v1 in place")
def test_endpoint_body_matches_schema(readapi, endpoint):
    if readapi.api.schema_for(endpoint) is None and readapi.api.item_schema_for(endpoint) is None:
        pytest.skip(f"read_api.endpoints.{endpoint}.schema: not configured (runbook 000 defines no fields "
                    "for it, so none is built in; name the service's own: a file, or openapi)")
    readapi.expect_contract(endpoint)


@pytest.mark.runbook("000", "§3.1", "the limit parameter is honoured")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §3.1 (limit=): restore the page-size cap in the endpoint's query; unbounded "
                    "answers load Postgres and every client")
def test_limit_is_honoured(readapi, limited_endpoint):
    ep = readapi.api.endpoint(limited_endpoint)
    param = ep["limit_param"]
    limit = int(ep["params"][param])
    items = readapi.items(limited_endpoint)
    label = readapi.get(limited_endpoint).label
    readapi.evidence.note(**{param: limit, "items_returned": len(items)})
    if len(items) > limit:
        raise CheckFailed(f"{label} returned {len(items)} items for {param}={limit}: the limit is "
                          "ignored, a client asking for one page gets everything")
    if len(items) < limit:
        raise Inconclusive(f"{label} returned {len(items)} items, fewer than {param}={limit}: choose "
                           f"parameters that match more than {limit} items to judge the limit")


@pytest.mark.runbook("000", "§3.1", "the filters are honoured: every returned item matches them")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §3.1 (league_id, date, status, search …): the query ignores a filter and "
                    "consumers get other data than they asked for; fix the WHERE clause or roll back")
def test_filters_are_honoured(readapi, filtered_endpoint):
    ep = readapi.api.endpoint(filtered_endpoint)
    asked = {p: ep["params"][p] for p in ep["filters"] if p in (ep.get("params") or {})}
    if not asked:
        pytest.skip(f"none of the filters of read_api.endpoints.{filtered_endpoint} is in its params")
    readapi.evidence.note(filters=asked)
    items = readapi.items(filtered_endpoint)
    label = readapi.get(filtered_endpoint).label
    if not items:
        raise Inconclusive(f"{label} returned no items: the filters cannot be judged; choose "
                           "parameters that match data")
    misses = filter_misses(items, ep["filters"], ep["params"])
    if misses:
        absent = all(" has no " in miss for miss in misses)  # the field is missing, not wrong
        raise CheckFailed(f"{label} returned items outside the filter: {'; '.join(misses)}",
                          cause=readapi.get(filtered_endpoint).key,
                          kind="missing" if absent else "wrong_body")


@pytest.mark.runbook("000", "§3.1", "an unknown id answers 404, not 500")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §3.1: map a missing row to 404 in the handler; a 500 pages on-call and "
                    "hides real errors")
def test_unknown_id_gives_404(readapi, unknown_id_endpoint):
    path = readapi.api.endpoint(unknown_id_endpoint)["unknown_path"]
    fetch = readapi.call(path)
    why = "the handler crashes on a missing row" if fetch.status and fetch.status >= 500 \
        else "an id that does not exist is not found"
    fetch.expect_status(404, why=why)


@pytest.mark.runbook("000", "§3.1", "the Read API is read-only: write methods never answer 2xx")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §0 and §3.1: read_api is read-only; remove the write route (or refuse "
                    "non-GET methods at the ingress) and give the service a read-only DB role")
def test_write_method_is_refused(readapi, write_method, run_state):
    methods, paths = readapi.api.read_only()
    if write_method not in methods:
        pytest.skip(f"read_api.read_only.methods does not list {write_method}")
    if run_state.allow_mutations:
        accepted = []
        for path in paths:
            fetch = readapi.call(path, method=write_method).require_response()
            if 200 <= (fetch.status or 0) < 300:
                accepted.append(f"{write_method} {path} answered {fetch.status}")
        readapi.evidence.note(mode="write probes (--allow-mutations)", paths=paths)
    else:
        accepted, unjudged = [], []
        for path in paths:
            fetch = readapi.call(path, method="OPTIONS").require_response()
            allow = fetch.headers.get("allow")
            if allow is None:
                unjudged.append(path)
            elif write_method in {m.strip().upper() for m in allow.split(",")}:
                accepted.append(f"OPTIONS {path} lists {write_method} in Allow ({allow!r})")
        readapi.evidence.note(mode="OPTIONS Allow header (no write sent without --allow-mutations)",
                              paths=paths, no_allow_header=unjudged)
        if len(unjudged) == len(paths):
            pytest.skip(f"OPTIONS answers carry no Allow header: run with --allow-mutations to send "
                        f"{write_method} with an empty body")
    if accepted:
        raise CheckFailed(f"the Read API accepts {write_method}: {'; '.join(accepted[:3])}")
