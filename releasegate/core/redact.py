"""Masking of secrets in everything releasegate writes: reports, JUnit, summary, terminal.

Only credentials are masked (Hurl's rule: declared secrets, not every variable): values in
credential-named fields and headers (password, token, Authorization, ...), a URL's or connection
string's password, values of ``${VAR}``s whose names say they are secrets (TOKEN, PASSWORD,
SECRET, KEY, ...) and of those the profile lists under ``secrets:``. Everything else a ``${VAR}``
gave (environment labels, hosts, paths, user names) is evidence and stays visible. URLs stay
readable: scheme, user name, host, port and path are kept, their password and credential query
values masked, so a reader knows which host was checked and as whom.

A reproduce command (``shell()``) goes one step further: a value that came from ``${VAR}`` is
written back as ``"$VAR"``, so the command can be pasted into a shell that has the same
environment, and nothing secret is printed.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit, urlunsplit

MASK = "***"

# Field names whose values are credentials wherever they appear (headers, JSON bodies, profiles).
# Matched as whole words of the key (split at -, _, . and camelCase): "db_password", "X-API-Key",
# "authToken" are credentials; "passed", "bypass" and "author" are not.
CREDENTIAL_KEY = re.compile(
    r"password|passwd|secret|credential|apikey|privatekey"  # unmistakable anywhere (PGPASSWORD)
    r"|(?:^|_)(?:pass|token|auth|authorization|cookie|dsn|api_key|private_key|session_?id)(?:$|_)",
)
# A URL-shaped value: shown with its userinfo and query values masked, not hidden whole.
URL_SHAPE = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s/?#]+", re.I)
# Userinfo inside free text: scheme://user:password@ -> scheme://user:***@, scheme://token@ ->
# scheme://***@ (in place only: a user name is not masked elsewhere, see url_secrets)
_URL_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://)(?P<user>[^\s/?#@:]*)"
                           r"(?::(?P<password>[^\s/?#@]*))?@", re.I)
# A user name rather than a token in a URL's userinfo: letters (and . _ -) with at most a few
# digits at the end ("postgres", "releasegate_ro", "svc-backup2"); a Sentry DSN's 32-hex key is not.
_NAME = re.compile(r"[A-Za-z][A-Za-z_.-]{0,31}[0-9]{0,4}")
# Names of ${VAR}s whose values are secrets (matched as words: HUNTER_API_KEY, PGPASSWORD,
# SENTRY_AUTH_TOKEN, MCP_TOKEN); DEPLOY_ENV, READ_API_URL or MONKEY are not.
_SECRET_VARIABLE = re.compile(r"password|passwd|secret|token|credential|apikey|privatekey"
                              r"|(?:^|_)(?:pass|pwd|key|auth|dsn|cookie|session|sig|signature)(?:$|_)",
                              re.I)
# Query parameters whose values are credentials whatever the URL: ?token=..., &sig=...
_CREDENTIAL_QUERY = re.compile(r"(?i)([?&](?:[\w.-]*(?:token|key|secret|password|passwd|sig|signature"
                               r"|auth)[\w.-]*)=)([^&#\s'\"]+)")
# libpq's key=value connection strings: password=secret or password='se cret'
_CONNINFO_PASSWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+)")
# The excerpt marker (evidence.excerpt): a secret cut there leaves only a prefix of itself.
CUT = "…"
# Values shorter than this are not masked as free text: masking "1" or "ok" everywhere would make
# the report unreadable and protects nothing. Credential-named fields are masked whatever their length.
MIN_SECRET_LENGTH = 4


def looks_like_name(user: str) -> bool:
    """A URL's user name (shown) rather than a token placed where the user goes (masked)."""
    return _NAME.fullmatch(user) is not None


def is_secret_variable(name: str) -> bool:
    """Does an environment variable's name say its value is a credential?"""
    return _SECRET_VARIABLE.search(name) is not None


def _mask_userinfo(match: re.Match[str]) -> str:
    user, password = match.group("user"), match.group("password")
    if password is not None:
        return f"{match.group('head')}{user}:{MASK if password else ''}@"
    return f"{match.group('head')}{MASK}@"  # alone it may be a token (https://TOKEN@host)


def is_credential_key(key: str) -> bool:
    """True for field names that hold credentials (see CREDENTIAL_KEY)."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return CREDENTIAL_KEY.search(re.sub(r"[^A-Za-z0-9]+", "_", words).lower()) is not None


# Request headers that carry credentials, whatever their exact name: X-Admin-Key, X-Auth-Token,
# Authorization, Cookie, X-Signature ... (a header named like that is never safe to print).
_CREDENTIAL_HEADER = re.compile(r"key|token|secret|auth|signature|cookie|session|password", re.I)


def is_credential_header(name: str) -> bool:
    return is_credential_key(name) or _CREDENTIAL_HEADER.search(name) is not None


def header_secrets(headers: Mapping[str, Any]) -> set[str]:
    """The credential values of a headers mapping: the whole value and what follows its scheme
    ("Bearer abc" -> "Bearer abc" and "abc"), also when a profile gives them literally."""
    found: set[str] = set()
    for name, value in headers.items():
        if isinstance(value, str) and value and is_credential_header(str(name)):
            found |= {value, value.split(" ", 1)[-1]}
    return found


def url_secrets(url: str) -> set[str]:
    """The parts of a URL that are credentials: its password, a token in the user's place and
    the values of credential-named query parameters, each as written and percent-decoded. A
    user name is not one: masking "postgres" would erase every "postgres" in the evidence."""
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return set()
    found = {password} if password else set()
    if user and password is None and not looks_like_name(unquote(user)):
        found.add(user)
    found |= {unquote(p) for p in found}
    found |= {value for key, value in parse_qsl(parts.query, keep_blank_values=False)
              if is_credential_key(key) or _CREDENTIAL_HEADER.search(key) or key.lower() == "sig"}
    return found


def conninfo_password(text: str) -> str | None:
    """The password of a libpq key=value connection string ("host=db password=s3cret")."""
    found = _CONNINFO_PASSWORD.search(text)
    if found is None:
        return None
    value = found.group(2)
    return value[1:-1].replace("\\'", "'") if value.startswith("'") else value


def encodings(secret: str) -> set[str]:
    """The forms a secret takes on the wire and in reports: as is, percent-encoded (a query
    value, a URL's userinfo), form-encoded, and escaped inside a JSON string."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}


def mask_url(url: str) -> str:
    """scheme://***@host:port/path?key=*** — what a report may show of a URL-valued setting."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
    except ValueError:  # not parseable after all: nothing of it is known to be safe
        return MASK
    netloc = _URL_USERINFO.sub(_mask_userinfo, f"x://{parts.netloc.rsplit('@', 1)[0]}@")[4:] + host \
        if "@" in parts.netloc else host
    query = "&".join(f"{k}={MASK}" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Redactor:
    """Replaces known secret values and credential-looking fields with ``***``.

    ``secrets`` are the values to mask; ``env`` maps values read from the environment to their
    variable's name, for reproduce commands (``shell()``).
    """

    def __init__(self, secrets: Iterable[str] = (), env: Mapping[str, str] | None = None) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._env = {v: k for v, k in (env or {}).items() if isinstance(v, str)
                     and len(v) >= MIN_SECRET_LENGTH}
        self._env_pattern = (re.compile("|".join(re.escape(v) for v in sorted(self._env, key=len,
                                                                              reverse=True)))
                             if self._env else None)
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (e.g. ones a check learned at run time)."""
        fresh = {form for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH
                 for form in encodings(s)}
        if fresh - self._secrets:
            self._secrets |= fresh
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def text(self, value: str) -> str:
        """Mask secrets, URL userinfo and credential query values inside free text."""
        if not value:
            return value
        if self._pattern is not None:
            value = self._pattern.sub(MASK, value)
            if CUT in value:
                value = self._cut_secrets(value)
        value = _URL_USERINFO.sub(_mask_userinfo, value)
        value = _CONNINFO_PASSWORD.sub(lambda m: m.group(1) + MASK, value)
        return _CREDENTIAL_QUERY.sub(lambda m: m.group(1) + MASK, value)

    def _cut_secrets(self, value: str) -> str:
        """An excerpt cut inside a secret keeps a piece of it beside the … mark: mask that
        piece too (the end of a secret before the cut, the start after a leading one)."""
        def piece(text: str, *, tail: bool) -> int:
            for secret in self._secrets:
                for size in range(len(secret) - 1, MIN_SECRET_LENGTH - 1, -1):
                    part = secret[:size] if tail else secret[-size:]
                    if (text.endswith(part) if tail else text.startswith(part)):
                        return size
            return 0

        pieces = value.split(CUT)
        for i in range(len(pieces) - 1):  # before each mark: a secret's start
            size = piece(pieces[i], tail=True)
            if size:
                pieces[i] = pieces[i][:-size] + MASK
        for i in range(1, len(pieces)):  # after each mark: a secret's end
            size = piece(pieces[i], tail=False)
            if size:
                pieces[i] = MASK + pieces[i][size:]
        return CUT.join(pieces)

    def value(self, value: Any, key: str | None = None) -> Any:
        """Mask a JSON-like value; a credential-named key masks its whole value, except that a
        URL keeps its scheme, host, port and path (``dsn: postgresql://***@db:5432/app``)."""
        if isinstance(value, str) and URL_SHAPE.match(value):
            return self.text(mask_url(value)) if key is not None and is_credential_key(key) \
                else self.text(value)
        if key is not None and is_credential_key(key) and not (
                value is None or value == "" or isinstance(value, bool)):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: self.value(v, k) for k, v in headers.items()}

    def shell(self, argv: Iterable[str]) -> str:
        """A command line to reproduce a request: ${VAR} values back as "$VAR", secrets masked.

        Each argument is quoted for a POSIX shell; a value from the environment becomes a
        double-quoted variable reference inside it ('Bearer '"$TOKEN"), so the command works
        where the same variables are exported.
        """
        return " ".join(self._shell_word(arg) for arg in argv)

    def _shell_word(self, arg: str) -> str:
        if self._env_pattern is None or not self._env_pattern.search(arg):
            return shlex.quote(self.text(arg))
        out, last = [], 0
        for match in self._env_pattern.finditer(arg):
            if match.start() > last:
                out.append(shlex.quote(self.text(arg[last:match.start()])))
            out.append(f'"${{{self._env[match.group(0)]}}}"')
            last = match.end()
        if last < len(arg):
            out.append(shlex.quote(self.text(arg[last:])))
        return "".join(out)


def register_secrets(redactor: Redactor, headers: Mapping[str, str] | None, *values: str) -> None:
    """Mask credential headers (X-Admin-Key, Authorization, …) and tokens in every output, also
    when the profile gave them literally rather than as ${VAR}."""
    redactor.add([*(v for v in values if v), *header_secrets(headers or {})])
