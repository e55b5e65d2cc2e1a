"""Fault injection and the request log, the two test hooks behind `/_emulator`.

Faults are consumed in the order they were added: each matching request uses one unit of a fault's
`count`. The request log keeps only method, path, query and body, never headers, so an API key sent by
the client under test can never leak into test output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Fault(BaseModel):
    """One injected fault (see the contract's Admin section for the accepted bodies)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["error", "drop_stream", "latency"]
    count: int = Field(default=1, ge=1)
    method: str | None = None
    path: str | None = Field(default=None, description="substring of the request path (and its query)")
    status: int | None = Field(default=None, ge=400, le=599)
    message: str | None = None
    code: str | None = None
    retry_after: float | None = Field(default=None, ge=0)
    retry_after_ms: int | None = Field(default=None, ge=0)
    after_events: int = Field(default=0, ge=0, description="events sent before a drop (bytes, for a file)")
    seconds: float = Field(default=0.0, ge=0)
    skip: int = Field(default=0, ge=0, description="matching requests let through before the fault acts")

    @model_validator(mode="after")
    def _needs_status(self) -> Fault:
        if self.kind == "error" and self.status is None:
            raise ValueError("an error fault needs 'status'")
        return self

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method.upper()) and (
            self.path is None or self.path in path
        )

    def headers(self) -> dict[str, str]:
        """Retry hints, as the SDK reads them (seconds or milliseconds)."""
        out: dict[str, str] = {}
        if self.retry_after is not None:
            out["Retry-After"] = f"{self.retry_after:g}"
        if self.retry_after_ms is not None:
            out["retry-after-ms"] = str(self.retry_after_ms)
        return out


@dataclass
class FaultBook:
    """Pending faults; `take` consumes one use of the first match of a kind."""

    faults: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def take(self, kind: str, method: str, path: str) -> Fault | None:
        for i, fault in enumerate(self.faults):
            if fault.kind == kind and fault.matches(method, path):
                if fault.skip:
                    self.faults[i] = fault.model_copy(update={"skip": fault.skip - 1})
                    return None
                if fault.count <= 1:
                    del self.faults[i]
                else:
                    self.faults[i] = fault.model_copy(update={"count": fault.count - 1})
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()


@dataclass
class RequestLog:
    """API requests as received (admin requests are not logged). Bodies are kept raw and parsed when
    the log is read: every request pays for logging, few logs are ever read."""

    _raw: list[tuple[str, str, dict[str, str], bytes | Any]] = field(default_factory=list)

    def record(self, method: str, path: str, query: dict[str, str], raw_body: bytes) -> None:
        # A large upload is summarised at once rather than kept whole in memory.
        body = raw_body if len(raw_body) <= LOGGED_TEXT_BYTES else parse_body(raw_body)
        self._raw.append((method, path, query, body))

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [
            {"method": method, "path": path, "query": query, "body": _parsed(body)}
            for method, path, query, body in self._raw
        ]

    def clear(self) -> None:
        self._raw.clear()


LOGGED_TEXT_BYTES = 64 * 1024


def _parsed(body: bytes | Any) -> Any:
    return parse_body(body) if isinstance(body, bytes) else body


def parse_body(raw: bytes) -> Any:
    """JSON body, or the raw text when it is short text, or `{"bytes": n}` for uploaded file content
    (binary, or long and not JSON), or None when empty."""
    if not raw.strip():
        return None
    if len(raw) <= LOGGED_TEXT_BYTES or raw[:64].lstrip()[:1] in (b"{", b"["):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    if len(raw) <= LOGGED_TEXT_BYTES:
        try:
            return raw.decode()
        except UnicodeDecodeError:
            pass
    return {"bytes": len(raw)}
