"""Runbook 000 §3.3: access control of the Read API in production — basic auth and IP allowlist."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.profile import require_section
from releasegate.readapi.api import NONE, RIGHT, SPOOF_HEADERS, WRONG, forwarding_claim, is_local_host

pytestmark = pytest.mark.readapi

CREDENTIALS_REMEDY = ("000 §3.3: set READ_API_BASIC_USER and READ_API_BASIC_PASSWORD on read_api and "
                      "redeploy; without credentials it must answer 401 with WWW-Authenticate: Basic")
ALLOWLIST_REMEDY = ("000 §3.3: set READ_API_IP_ALLOWLIST (comma-separated ops addresses) on read_api "
                    "and redeploy; the list must be judged on the connecting address")


@pytest.fixture
def protected(readapi, target):
    """The path the access-control checks knock on (auth configured, else N/A)."""
    require_section(target, "read_api.auth")
    path = readapi.api.protected_path()
    if path is None:
        pytest.skip(f"read_api.auth.path (or an endpoint other than health): not configured in target "
                    f"{target.name}")
    readapi.evidence.note(path=path)
    return path


@pytest.mark.runbook("000", "§3.3", "no credentials: 401 with a Basic challenge")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(CREDENTIALS_REMEDY)
def test_no_credentials_get_401_with_basic_challenge(readapi, protected):
    fetch = readapi.call(protected, which=NONE)
    fetch.expect_status(401, why="anyone who reaches the Read API can read it without credentials")
    challenge = fetch.headers.get("www-authenticate", "")
    readapi.evidence.note(www_authenticate=challenge or None)
    if not challenge.lower().startswith("basic"):
        raise CheckFailed(f"{fetch.label} answered 401 without a Basic challenge (WWW-Authenticate: "
                          f"{challenge or 'missing'}): clients cannot tell how to authenticate",
                          cause=fetch.key)


@pytest.mark.runbook("000", "§3.3", "wrong credentials: 401")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §3.3: the service accepts a wrong password: compare against "
                    "READ_API_BASIC_PASSWORD (in constant time) and redeploy")
def test_wrong_credentials_get_401(readapi, protected):
    readapi.call(protected, which=WRONG).expect_status(
        401, why="a wrong password was accepted: basic auth protects nothing")


@pytest.mark.runbook("000", "§3.3", "right credentials: 200")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §3.3: the profile's credentials no longer work: compare READ_API_BASIC_USER / "
                    "READ_API_BASIC_PASSWORD on read_api with what the runner exports (rotated?)")
def test_right_credentials_get_200(readapi, protected):
    readapi.call(protected, which=RIGHT).expect_status(200, why="the ops credentials must be let in")


@pytest.mark.parametrize("header", SPOOF_HEADERS)
@pytest.mark.runbook("000", "§3.3", "a forwarding header claiming a trusted address, no credentials: 401")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §3.3: require basic auth from every client whatever X-Forwarded-For, X-Real-IP or "
                    "Forwarded claim; a forwarding header says where a request came from, it never "
                    "authenticates (trust it only from your own proxy, and only for logging/allowlists)")
def test_forwarding_header_without_credentials_gets_401(readapi, protected, header):
    claimed = readapi.api.trusted_address()
    claim = forwarding_claim(header, claimed)
    readapi.evidence.note(claimed=claim, credentials="none")
    readapi.call(protected, which=NONE, headers=claim).expect_status(
        401, why=f"{header}: {claim[header]} without credentials was let in: a forwarding header any "
                 "client can set stood in for the password")


@pytest.mark.runbook("000", "§3.3", "credentials are not sent over plain http to a non-local host")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §3.3: put the Read API behind TLS (https://) before basic-auth credentials "
                    "cross a network; base64 is not encryption")
def test_credentials_not_sent_over_plain_http(readapi, target):
    require_section(target, "read_api.auth")
    url = readapi.api.base_url
    readapi.evidence.note(base_url=url)
    if url.lower().startswith("http://") and not is_local_host(url):
        raise CheckFailed(f"read_api.base_url {url} is plain http to a non-local host: the basic-auth "
                          "credentials cross the network readable by anyone on the path")


@pytest.fixture
def allowlist(readapi, target):
    """The allowlist expectations (N/A without allowlist.outside_address)."""
    require_section(target, "read_api.allowlist")
    return readapi.api.allowlist()


def _expect_refused(fetch, allowlist, what: str, why: str) -> None:
    """A refusal is one of refused_status, or no connection at all when the list is a firewall."""
    __tracebackhide__ = True
    if fetch.status in allowlist["refused_status"]:
        return
    if fetch.status is None and allowlist.get("network_refusal") and fetch.unreachable:
        return
    fetch.require_response()
    wanted = " or ".join(map(str, allowlist["refused_status"]))
    raise CheckFailed(f"{fetch.label} {what} answered {fetch.status_text()}, expected {wanted}: {why}",
                      cause=fetch.key)


@pytest.mark.runbook("000", "§3.3", "the IP allowlist refuses an address not on the list")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(ALLOWLIST_REMEDY)
def test_allowlist_refuses_unlisted_address(readapi, protected, allowlist):
    outside = allowlist["outside_address"]
    fetch = readapi.call(protected, which=RIGHT, source=outside)
    readapi.evidence.note(source_address=outside, refused_status=allowlist["refused_status"])
    _expect_refused(fetch, allowlist, f"from {outside}, which is not on the allowlist,",
                    "the allowlist is not enforced")


@pytest.mark.runbook("000", "§3.3", "a spoofed X-Forwarded-For does not get past the allowlist")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §3.3: judge READ_API_IP_ALLOWLIST on the connecting address; trust "
                    "X-Forwarded-For only from your own proxy (e.g. uvicorn --forwarded-allow-ips=<proxy>)")
def test_allowlist_ignores_spoofed_forwarded_for(readapi, target, protected, allowlist):
    outside, listed = allowlist["outside_address"], allowlist["listed_address"]
    if not listed:
        pytest.skip("read_api.allowlist.listed_address (or source_address): not configured in target "
                    f"{target.name}")
    claims = {SPOOF_HEADERS[0]: listed, SPOOF_HEADERS[1]: listed, SPOOF_HEADERS[2]: f"for={listed}"}
    fetch = readapi.call(protected, which=RIGHT, source=outside, headers=claims)
    readapi.evidence.note(source_address=outside, claimed=listed)
    _expect_refused(fetch, allowlist, f"from {outside} claiming {listed} in {', '.join(SPOOF_HEADERS)}",
                    "the allowlist trusts a header any client can set")
