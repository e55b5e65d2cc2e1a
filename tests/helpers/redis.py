"""A real Redis for the tests: installed from Debian's `redis-server` when missing (as root, where
apt-get works), started on a free port, persisted to a temporary folder so it can be restarted.

Where Redis can be neither found nor installed, the tests that need it FAIL with what to install: a
silently skipped Redis suite would let the Redis store rot unnoticed in CI.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.servers import free_port
from tests.helpers.unwritable import is_root

HOW_TO_INSTALL = (
    "the Redis tests need redis-server: install it (Debian/Ubuntu: `apt-get install redis-server`, "
    "macOS: `brew install redis`) or run the tests as root on a Debian-like machine, where they install it"
)
START_TIMEOUT = 20.0


def redis_server_binary() -> str:
    """The path of redis-server, installing the Debian package first if it is missing and we may."""
    found = shutil.which("redis-server")
    if found is None and is_root() and shutil.which("apt-get"):
        install = ["apt-get", "install", "-y", "-q", "redis-server"]
        if subprocess.run(install, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True)
            subprocess.run(install, capture_output=True)
        found = shutil.which("redis-server")
    if found is None:
        pytest.fail(HOW_TO_INSTALL)
    return found


class RedisServer:
    """One redis-server process on 127.0.0.1, with append-only persistence in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.binary = redis_server_binary()
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        command += ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                self.stop()
                pytest.fail(f"redis-server did not start: {stderr[-1000:]}")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (its data stays on disk for the next start)."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
