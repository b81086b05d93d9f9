"""The reference stack's profile without a credential in it: every one becomes a ``${VAR}``.

`releasegate stack up` writes the profile under reports/ (the folder CI uploads), so its
passwords, tokens and keys go into environment variables instead: this process exports them
(an in-process run such as `releasegate demo` reads them from there) and, for another shell, a
``KEY=value`` file only its owner can read, outside reports/.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from releasegate.core.redact import URL_SHAPE, is_credential_header, is_credential_key

_DEFAULTED = re.compile(r"^\$\{(?P<name>[A-Za-z_]\w*):-(?P<default>[^}]*)\}$")


def _var(keys: tuple[str, ...]) -> str:
    """RG_REF_<PATH>_SECRET: a name that says it holds a secret, so redaction masks its value."""
    return "RG_REF_" + re.sub(r"\W+", "_", "_".join(keys)).upper() + "_SECRET"


def externalise(profile: Any, env: dict[str, str], keys: tuple[str, ...] = ()) -> Any:
    """``profile`` with each credential replaced by a ``${VAR}``; ``env`` gets their values."""
    if isinstance(profile, Mapping):
        out = {}
        for key, value in profile.items():
            sub = (*keys, str(key))
            if isinstance(value, str) and value and (
                    (is_credential_key(str(key)) and not URL_SHAPE.match(value))
                    or (keys and keys[-1].endswith("headers") and is_credential_header(str(key)))):
                out[key] = _to_var(value, sub, env)
            else:
                out[key] = externalise(value, env, sub)
        return out
    if isinstance(profile, list):
        return [externalise(v, env, (*keys, str(i))) for i, v in enumerate(profile)]
    if isinstance(profile, str) and (found := _DEFAULTED.match(profile)):
        env[found.group("name")] = found.group("default")  # the value this stack's app was given
        return f"${{{found.group('name')}}}"
    if isinstance(profile, str) and URL_SHAPE.match(profile):
        try:
            password = urlsplit(profile).password
        except ValueError:
            password = None
        if password:
            name = _var((*keys, "password"))
            env[name] = password
            return profile.replace(f":{password}@", f":${{{name}}}@", 1)
    return profile


def _to_var(value: str, keys: tuple[str, ...], env: dict[str, str]) -> str:
    if _DEFAULTED.match(value):
        return externalise(value, env, keys)
    env[_var(keys)] = value
    return f"${{{_var(keys)}}}"


@contextmanager
def exported(env: Mapping[str, str], env_file: Path | None = None) -> Iterator[None]:
    """Export ``env`` in this process while the stack runs; write it to ``env_file`` (0600) for
    another shell's `set -a; . FILE`; restore the environment and remove the file afterwards."""
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    if env_file is not None:
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as out:
            out.writelines(f"{name}={shlex.quote(value)}\n" for name, value in sorted(env.items()))
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if env_file is not None:
            env_file.unlink(missing_ok=True)
            with suppress(OSError):
                env_file.parent.rmdir()


def private_env_file() -> Path:
    """A file path in a fresh folder only this user can enter, outside reports/."""
    return Path(tempfile.mkdtemp(prefix="rg-stack-env-")) / "reference-target.env"
