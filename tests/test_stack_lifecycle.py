"""`releasegate stack up` keeps the stack running and tears every server down on Ctrl-C/SIGTERM."""

from __future__ import annotations

import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support import REPO


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stack_up_serves_until_interrupted_then_stops_everything(tmp_path, sig):
    proc = subprocess.Popen(
        [sys.executable, "-m", "releasegate.cli", "stack", "up", "--report-dir", str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()  # the profile path is the one line on stdout
        profile = Path(line)
        assert profile.is_file(), (line, proc.stderr.read() if proc.poll() is not None else "")
        base_url = yaml.safe_load(profile.read_text())["health"]["base_url"]
        assert httpx.get(f"{base_url}/healthz/ready", timeout=5).status_code == 200
        env_file = _credentials_beside_not_in(profile)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    for pid in children}
        assert any("postgres -D" in c for c in commands.values()), commands
        assert any("redis-server" in c for c in commands.values()), commands
        port = int(base_url.rsplit(":", 1)[1])
        proc.send_signal(sig)
        assert proc.wait(30) == 130
        stderr = proc.stderr.read()
        assert "interrupted; everything started was stopped" in stderr
        deadline = time.monotonic() + 5
        while _port_open(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _port_open(port), "the reference app still listens"
        for pid, command in commands.items():
            assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), f"{command} survived"
        assert not env_file.exists(), "the credentials file outlived the stack"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _credentials_beside_not_in(profile: Path) -> Path:
    """Issue 16 §5: the profile under the report folder holds ${VARS}, not one credential; their
    values are in a file only the owner reads, outside that folder, and the profile loads with it."""
    from releasegate.core.profile import load_target

    text = profile.read_text()
    env_file = Path(re.search(r"and in (\S+) for another shell", text).group(1))
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert profile.parent not in env_file.parents
    lines = env_file.read_text().splitlines()
    env = {k: shlex.split(v)[0] for k, v in (line.split("=", 1) for line in lines)}
    assert len(env) >= 6, env  # redis, backup redis, MCP bearer, Read API, Sentry DSN/token, pilot keys
    for name, value in env.items():
        assert value.split()[-1] not in text, f"{name}'s value is in the profile in clear"
    redactor = load_target(profile, env=env).redactor()
    for name, value in env.items():
        assert "***" in redactor.text(value), f"{name} is not masked in the outputs"
    return env_file


def _is_zombie(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_sigterm_to_a_process_holding_the_stack_tears_it_down(tmp_path):
    """Not only the releasegate command: any script using running_stack() cleans up on SIGTERM."""
    script = tmp_path / "hold.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from releasegate.reference.stack import running_stack\n"
        "with running_stack(only=('health',)) as stack:\n"
        "    print(stack.base_url, flush=True)\n"
        "    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        base_url = proc.stdout.readline().strip()
        port = int(base_url.rsplit(":", 1)[1])
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        assert children and _port_open(port)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        deadline = time.monotonic() + 5
        while _port_open(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _port_open(port), "the reference app still listens"
        assert all(not Path(f"/proc/{pid}").exists() or _is_zombie(pid) for pid in children)
    finally:
        if proc.poll() is None:
            proc.kill()
