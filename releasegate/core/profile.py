"""Target profiles: one YAML file per environment, ``${VAR}`` expansion, schema validation.

A profile is loaded and validated before any check runs, so a typo or an unset variable stops the
run with one line naming the key path or the variable instead of failing fifty checks.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from releasegate.core import profile_checks
from releasegate.core.errors import NotApplicable, ProfileError
from releasegate.core.paths import SCHEMAS as SCHEMA_DIR
from releasegate.core.redact import (
    URL_SHAPE,
    Redactor,
    conninfo_password,
    header_secrets,
    is_credential_key,
    is_secret_variable,
    url_secrets,
)

SCHEMA_BASE = "https://releasegate.dev/schemas/"
# libyaml's loader when PyYAML was built with it (~10x faster than the pure-Python one); the
# same safe subset of YAML either way.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}|\$\$")


@dataclass(frozen=True)
class Timeouts:
    """Per-request limits: connect, read (between bytes) and total (whole exchange)."""

    connect: float = 2.0
    read: float = 5.0
    total: float = 10.0
    name: str = "the total timeout"  # what the total is called when it runs out

    def capped(self, total: float, name: str | None = None) -> Timeouts:
        """The same limits, none longer than ``total`` (called ``name`` in messages)."""
        if total >= self.total:
            return Timeouts(self.connect, self.read, self.total, name or self.name)
        return Timeouts(min(self.connect, total), min(self.read, total), total, name or self.name)


@dataclass(frozen=True)
class Target:
    """A validated, expanded target profile."""

    path: Path
    data: Mapping[str, Any] = field(repr=False)  # holds credentials: never in a traceback
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # value read -> its VAR name

    def redactor(self) -> Redactor:
        """Masks this profile's secrets; writes its ${VAR} values back as $VAR in commands."""
        return Redactor(self.secrets, env=self.env)

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def environment(self) -> str | None:
        return self.data.get("environment")

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(**self.data.get("defaults", {}).get("timeouts", {}))

    @property
    def body_limit(self) -> int:
        return int(self.data.get("defaults", {}).get("body_limit_bytes", 1024 * 1024))

    @property
    def severity_overrides(self) -> Mapping[str, str]:
        return self.data.get("severity", {})

    @property
    def meta(self) -> Mapping[str, Any]:
        return self.data.get("meta", {})

    def hosts(self) -> list[str]:
        """scheme://host[:port] of every URL-valued setting: which hosts this run checks."""
        found: set[str] = set()

        def walk(node: Any, key: str) -> None:
            if isinstance(node, Mapping):
                for k, v in node.items():
                    walk(v, str(k))
            elif isinstance(node, list):
                for v in node:
                    walk(v, key)
            elif isinstance(node, str) and URL_SHAPE.match(node) and \
                    key.lower().endswith(("url", "uri", "dsn")):
                parts = urlsplit(node)
                port = f":{parts.port}" if parts.port else ""
                found.add(f"{parts.scheme}://{parts.hostname}{port}")

        walk({k: v for k, v in self.data.items() if k != "meta"}, "")
        return sorted(found)

    def section(self, dotted: str) -> Mapping[str, Any] | None:
        """The sub-mapping at ``a.b.c``, or None when any part is absent from the profile."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node


def require_section(target: Target, dotted: str) -> Any:
    """The profile section a check needs; N/A for this target when the profile has none."""
    __tracebackhide__ = True
    section = target.section(dotted)
    if section is None:
        raise NotApplicable(f"{dotted}: not configured in target {target.name}")
    return section


def _dotted(keys: tuple[Any, ...]) -> str:
    """('health', 'probes', 0) -> 'health.probes[0]' for messages."""
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def expand(node: Any, env: Mapping[str, str], secrets: set[str],
           typed: dict[tuple[Any, ...], Any], keys: tuple[Any, ...] = (),
           used: dict[str, str] | None = None, declared: frozenset[str] = frozenset()) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string; ``$$`` is a literal ``$``.

    A value read from a variable whose name says it is a credential (``is_secret_variable``) or
    that the profile declares under ``secrets:`` is added to ``secrets`` so that redaction masks
    it — in a URL-valued setting only what lands in its password or query: the scheme, host,
    port and path stay visible in every output. Other values (``environment: ${DEPLOY_ENV}``)
    are evidence and stay visible; credentials among them are found by their place afterwards
    (``_collect_literal_secrets``). ``used`` collects each value read and its variable's name,
    for reproduce commands.
    Every value stays a string; where a string that is exactly one reference reads as a number
    or boolean, that reading goes into ``typed`` so validation can use it where the schema wants
    one (``timeout_s: ${T:-3}`` is 3, while ``X-API-Key: ${KEY}`` with KEY=123456 stays text).
    """
    used = {} if used is None else used
    if isinstance(node, Mapping):
        return {k: expand(v, env, secrets, typed, (*keys, k), used, declared) for k, v in node.items()}
    if isinstance(node, list):
        return [expand(v, env, secrets, typed, (*keys, i), used, declared)
                for i, v in enumerate(node)]
    if isinstance(node, date):  # YAML reads 2026-12-31 as a date; a profile is JSON-like text
        return node.isoformat()
    if not isinstance(node, str) or "$" not in node:
        return node
    read: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group("name"), match.group("default")
        if name in env:
            if name in declared or is_secret_variable(name):
                read.append(env[name])
            used[env[name]] = name
            return env[name]
        if default is not None:
            return default
        raise ProfileError(
            f"{_dotted(keys)}: environment variable {name} is not set "
            f"(export {name}=... or write ${{{name}:-default}} in the profile)"
        )

    value = _VAR.sub(substitute, node)
    if URL_SHAPE.match(value) and read:  # only its password and query; the host stays visible
        hidden = url_secrets(value)
        secrets.update(hidden)
        secrets.update(v for v in read if any(v in part for part in hidden))
    else:
        secrets.update(read)
    whole = _VAR.fullmatch(node)
    if whole and whole.group(0) != "$$" and value.strip():
        try:
            reading = yaml.load(value, Loader=_SafeLoader)
        except yaml.YAMLError:  # e.g. a password starting with '@' or '!': text only
            reading = None
        if isinstance(reading, (int, float, bool)):
            typed[keys] = reading
    return value


def _first_error(data: Any, typed: dict[tuple[Any, ...], Any],
                 validator: jsonschema.protocols.Validator) -> jsonschema.ValidationError | None:
    """The profile's most relevant schema error, after using a reference's numeric/boolean reading
    wherever the schema rejects it as a string: one validation pass unless a reading was used."""
    while True:
        errors = list(validator.iter_errors(data))
        fixable = {keys for keys in (tuple(e.absolute_path) for e in errors
                                     if e.validator == "type") if keys in typed}
        if not fixable:
            return jsonschema.exceptions.best_match(errors)
        for keys in fixable:
            parent = data
            for key in keys[:-1]:
                parent = parent[key]
            parent[keys[-1]] = typed.pop(keys)


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A JSON Schema from schemas/ (or a team's own, by absolute path), parsed once per process."""
    return json.loads((SCHEMA_DIR / name).read_text())  # an absolute name replaces SCHEMA_DIR


def _retrieve(uri: str) -> Resource[Any]:
    """Resolve ``$ref``s between files of schemas/ (each profile section has its own file)."""
    if not uri.startswith(SCHEMA_BASE):
        raise NoSuchResource(ref=uri)
    return Resource.from_contents(load_schema(uri.removeprefix(SCHEMA_BASE)))


SCHEMA_REGISTRY: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]


def schema_validator(name: str) -> jsonschema.protocols.Validator:
    """A validator for schemas/<name> that follows $refs into the other files of schemas/."""
    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=SCHEMA_REGISTRY, format_checker=cls.FORMAT_CHECKER)


def _describe(error: jsonschema.ValidationError) -> str:
    """One line naming the key path and what is wrong with it."""
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key {', '.join(map(repr, extra))} (allowed: {', '.join(allowed)})"
    if error.validator == "required":
        return f"{where}: {error.message}"
    return f"{where}: {error.message}"


def _collect_literal_secrets(node: Any, secrets: set[str], key: str = "") -> None:
    """Credentials written literally rather than as ${VAR} are secrets too, from the moment the
    profile loads (not when their area's first check runs): credential headers (``headers:``,
    ``admin_headers:`` of any section), credential-named fields (password, token, dsn, ...),
    a URL's password and a libpq connection string's ``password=``."""
    if isinstance(node, Mapping):
        for sub, value in node.items():
            if str(sub).endswith("headers") and isinstance(value, Mapping):
                secrets |= header_secrets(value)
            else:
                _collect_literal_secrets(value, secrets, str(sub))
    elif isinstance(node, list):
        for value in node:
            _collect_literal_secrets(value, secrets, key)
    elif isinstance(node, str) and node:
        if URL_SHAPE.match(node):  # its password, a token as user, credential query values
            secrets |= url_secrets(node)
        elif password := conninfo_password(node):
            secrets.add(password)
        elif key and is_credential_key(key):
            secrets.add(node)


_LOADED: dict[tuple[str, str, frozenset[tuple[str, str]]], Target] = {}


def load_target(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Target:
    """Read, expand and validate a profile; raise ProfileError with one line on any problem.

    `releasegate run` checks the profile before pytest starts and the plugin loads it again in
    the same process: a second load of the same text under the same environment is a copy of
    the first (validation is most of a one-area run's own start-up, benches/README.md)."""
    profile_path = Path(path)
    try:
        text = profile_path.read_text()
    except FileNotFoundError:
        raise ProfileError(f"target profile {profile_path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:  # a directory, no permission, not text
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ProfileError(f"target profile {profile_path} cannot be read: {why}") from None
    environ = os.environ if env is None else env
    key = (str(profile_path.resolve()), text, frozenset(environ.items()))
    if key not in _LOADED:
        _LOADED[key] = _load(profile_path, text, environ)
    loaded = _LOADED[key]
    return Target(path=profile_path, data=copy.deepcopy(loaded.data), secrets=loaded.secrets,
                  env=dict(loaded.env))


def _load(profile_path: Path, text: str, environ: Mapping[str, str]) -> Target:
    try:
        raw = yaml.load(text, Loader=_SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ProfileError(f"target profile {profile_path}{where}: {problem}") from None
    if not isinstance(raw, Mapping):
        raise ProfileError(f"target profile {profile_path}: expected a mapping at the top level")
    secrets: set[str] = set()
    typed: dict[tuple[Any, ...], Any] = {}
    used: dict[str, str] = {}
    declared = raw.get("secrets")
    declared = frozenset(v for v in declared if isinstance(v, str)) if isinstance(declared, list) \
        else frozenset()
    try:
        data = expand(raw, environ, secrets, typed, used=used, declared=declared)
    except ProfileError as exc:
        raise ProfileError(f"target profile {profile_path}: {exc}") from None
    _collect_literal_secrets({k: v for k, v in data.items() if k != "secrets"}, secrets)
    validator = schema_validator("profile.schema.json")
    error = _first_error(data, typed, validator)
    if error is not None:
        # The offending value may have come from a ${VAR}: mask it like every other output.
        detail = Redactor(secrets).text(_describe(error))
        raise ProfileError(f"target profile {profile_path}: {detail}")
    profile_checks.resolve_schema_paths(data, profile_path.parent)
    problem = next(profile_checks.problems(data, SCHEMA_DIR), None)
    if problem is not None:
        raise ProfileError(f"target profile {profile_path}: {Redactor(secrets).text(problem)}")
    return Target(path=profile_path, data=data, secrets=frozenset(secrets), env=used)
