"""`releasegate stack up` keeps the stack running and tears every server down on Ctrl-C/SIGTERM."""

from __future__ import annotations

import signal
import socket
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
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _is_zombie(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
