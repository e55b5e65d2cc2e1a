"""Our server in processes of its own: `serve --transport http` on a port of 127.0.0.1, against an
upstream (usually the emulator in a thread) and a state (a file, or Redis for replicas).

Tests of several processes (replicas on one Redis, two servers on one SQLite file, a server killed and
restarted) all start them this way. `kill()` is SIGKILL: no drain, no lease released, as when a machine
dies. Each process writes its log to a file, shown when a test fails while it waits for the process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from tests.helpers.servers import free_port, wait_healthy

STOP_TIMEOUT = 15.0
SHORT_LEASE = ("--job-lease-seconds", "2")
"""Flags for a server process a test kills (or cuts off from its store) while it watches a job: another
process takes the job over 2 s on rather than the default 10 s, yet the lease, renewed every 0.7 s,
still holds in a process slowed by a loaded machine."""


class ServerProcess:
    """One server process. Use as a context manager (stopped on the way out, however the test ends)."""

    def __init__(
        self,
        state: str | Path,
        upstream: str,
        *flags: str,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mcp_url = f"{self.url}/mcp"
        self.command = [sys.executable, "-m", "gemini_interactions_mcp", "serve", "--transport", "http"]
        self.command += ["--port", str(self.port), "--state", str(state), *flags]
        self.env = {**os.environ, "GEMINI_BASE_URL": upstream, "GEMINI_API_KEY": "test-key", **(env or {})}
        self.log = log
        self._log_file: IO[bytes] | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        self._log_file = open(self.log, "ab") if self.log is not None else None  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self._log_file or subprocess.DEVNULL,
        )
        return self

    async def ready(self, *, path: str = "/healthz") -> None:
        """Wait until it answers `path` with 200 (failing with its log if it died instead)."""
        try:
            await wait_healthy(self.url, path=path)
        except BaseException:
            raise AssertionError(f"server on {self.port} not ready; log:\n{self.log_tail()}") from None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log and self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the process ends at once, releasing nothing."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still there after STOP_TIMEOUT seconds."""
        self._end(signal.SIGTERM)

    def _end(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
