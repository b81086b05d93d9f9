"""Connect, list and call through the official ``mcp`` SDK client, as real MCP clients do.

A server can pass every wire-level check and still break real clients (an SSE event type the
SDK ignores, a result its validation rejects). This runs the SDK's own ``streamable_http_client``
with ``ClientSession`` (session revisions) or ``Client`` pinned to 2026-07-28, with the profile's
headers on every request, on its own event loop, bounded by one overall deadline.

The SDK takes ~1 s of CPU to import. ``BackgroundSdkRun`` runs the same conversation in a child
process (``python -m releasegate.mcp.sdk_check``, the request on stdin, the outcome as JSON on
stdout) started as the run begins, so on a multi-core machine it overlaps the other checks
instead of adding to the run; ``run_sdk_client`` does it in-process.
"""

from __future__ import annotations

import builtins
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import anyio

MAX_PAGES = 50
# Python 3.10 has no BaseExceptionGroup builtin (anyio brings a backport there).
_GROUPS = tuple(t for t in (getattr(builtins, "BaseExceptionGroup", None),) if t is not None)


IMPORT_ALLOWANCE_S = 20.0  # on top of the conversation's deadline, for the child to start


@dataclass(frozen=True)
class SdkRequest:
    """Everything the SDK conversation needs (the headers may hold credentials: never in argv)."""

    url: str
    headers: Mapping[str, str]
    verify: bool | str
    timeout_s: float
    deadline_s: float
    tool: str
    arguments: Mapping[str, Any]
    modern_version: str | None = None


@dataclass
class SdkStep:
    name: str
    ok: bool
    detail: str
    elapsed_ms: float


@dataclass
class SdkOutcome:
    steps: list[SdkStep] = field(default_factory=list)
    failure: str | None = None

    def as_evidence(self) -> dict[str, Any]:
        return {"sdk_steps": [f"{s.name}: {'ok' if s.ok else 'FAILED'} in {s.elapsed_ms:.0f} ms"
                              + (f" ({s.detail})" if s.detail else "") for s in self.steps]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SdkOutcome:
        return cls([SdkStep(**step) for step in data.get("steps", [])], data.get("failure"))


def _one_line(exc: BaseException) -> str:
    """The innermost meaningful exception of a (possibly grouped) failure, in one line."""
    while _GROUPS and isinstance(exc, _GROUPS) and getattr(exc, "exceptions", None):
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def run_sdk_client(request: SdkRequest) -> SdkOutcome:
    """initialize (or adopt 2026-07-28), tools/list, tools/call the tool; never raises."""
    outcome = SdkOutcome()
    url, headers, verify = request.url, request.headers, request.verify
    timeout_s, deadline_s, tool = request.timeout_s, request.deadline_s, request.tool
    arguments, modern_version = request.arguments, request.modern_version

    async def step(name: str, action: Callable[[], Awaitable[Any]],
                   judge: Callable[[Any], str | None] = lambda _: None) -> Any:
        started = time.perf_counter()
        try:
            value = await action()
        except BaseException as exc:
            outcome.steps.append(SdkStep(name, False, _one_line(exc), _ms(started)))
            raise
        problem = judge(value)
        outcome.steps.append(SdkStep(name, problem is None, problem or "", _ms(started)))
        if problem:
            raise _StepFailed(f"{name}: {problem}")
        return value

    # Imported before the deadline starts: the SDK takes ~0.5 s to import, more on a busy machine.
    import httpx2
    from mcp import Client, ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.types import PaginatedRequestParams

    async def main() -> None:
        limits = httpx2.Timeout(timeout_s)
        async with httpx2.AsyncClient(headers=dict(headers), timeout=limits, verify=verify,
                                      trust_env=False) as http:
            transport = streamable_http_client(url, http_client=http)
            if modern_version is not None:
                async with Client(transport, mode=modern_version) as client:
                    await _exercise(step, lambda cursor: client.list_tools(cursor=cursor),
                                    client.call_tool, tool, arguments)
                return
            async with transport as (read, write), ClientSession(read, write) as session:
                await step("initialize", session.initialize)
                await _exercise(step, lambda cursor: session.list_tools(
                    params=PaginatedRequestParams(cursor=cursor) if cursor else None),
                    session.call_tool, tool, arguments)

    async def bounded() -> None:
        with anyio.fail_after(deadline_s):
            await main()

    try:
        anyio.run(bounded)
    except _StepFailed as exc:
        outcome.failure = str(exc)
    except TimeoutError:
        stuck = outcome.steps[-1].name if outcome.steps else "connecting"
        done = [s.name for s in outcome.steps if s.ok]
        outcome.failure = (f"did not finish within {deadline_s:g}s (done: {', '.join(done) or 'nothing'};"
                           f" stuck after {stuck})")
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        failed = next((s for s in outcome.steps if not s.ok), None)
        outcome.failure = f"{failed.name}: {failed.detail}" if failed else _one_line(exc)
    return outcome


async def _exercise(step: Callable[..., Awaitable[Any]], page: Callable[[str | None], Awaitable[Any]],
                    call: Callable[..., Awaitable[Any]], tool: str, arguments: Mapping[str, Any]) -> None:
    """tools/list through every page as a real client does, then the call."""

    async def list_all() -> list[str]:
        names: list[str] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            result = await page(cursor)
            names += [t.name for t in result.tools]
            cursor = result.next_cursor
            if not cursor:
                break
        return names

    def listed(names: list[str]) -> str | None:
        return None if tool in names else f"{tool!r} not among the {len(names)} tools listed"

    def called(result: Any) -> str | None:
        if result.is_error:
            text = " ".join(getattr(c, "text", "") for c in result.content)
            return f"isError: true ({' '.join(text.split())[:160]})"
        return None

    await step("tools/list", list_all, listed)
    await step(f"tools/call {tool}", lambda: call(tool, dict(arguments)), called)


class _StepFailed(Exception):
    pass


class BackgroundSdkRun:
    """The SDK conversation in a child process, started now, read when the check runs."""

    def __init__(self, request: SdkRequest) -> None:
        self.request = request
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        self._proc = subprocess.Popen([sys.executable, "-m", "releasegate.mcp.sdk_check"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr)
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(asdict(request)).encode())  # small: fits the pipe
        self._proc.stdin.close()
        self._outcome: SdkOutcome | None = None

    def outcome(self) -> SdkOutcome:
        if self._outcome is None:
            self._outcome = self._wait()
        return self._outcome

    def _wait(self) -> SdkOutcome:
        budget = self.request.deadline_s + IMPORT_ALLOWANCE_S
        try:
            self._proc.wait(budget)
        except subprocess.TimeoutExpired:
            self.close()
            return SdkOutcome(failure=f"did not finish within {budget:g}s (the SDK process was stopped)")
        assert self._proc.stdout is not None
        try:
            return SdkOutcome.from_json(json.loads(self._proc.stdout.read() or b"null") or {})
        except (ValueError, TypeError):
            self._stderr.seek(0)
            lines = self._stderr.read().decode(errors="replace").strip().splitlines()
            last = lines[-1][:200] if lines else "no output"
            return SdkOutcome(failure=f"the SDK client process ended without an outcome (exit "
                                      f"{self._proc.returncode}: {last})")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(5)
        for pipe in (self._proc.stdout, self._stderr):
            if pipe is not None:
                pipe.close()


def main() -> None:
    """``python -m releasegate.mcp.sdk_check``: an SdkRequest on stdin, the outcome on stdout."""
    data = json.loads(sys.stdin.read())
    outcome = run_sdk_client(SdkRequest(**data))
    sys.stdout.write(json.dumps(asdict(outcome)))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
