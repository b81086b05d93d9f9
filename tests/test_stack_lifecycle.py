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
