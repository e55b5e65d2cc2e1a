"""Client settings: where the API is, the key, timeouts and the retry policy."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

GOOGLE_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1beta"
KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


class RetryPolicy(BaseModel):
    """Bounded retries with exponential backoff and jitter (the SDK's policy, with a total-time bound).

    A server-requested delay (`Retry-After`, `retry-after-ms`) is used as given; if it would overrun
    `max_total_seconds` the client gives up at once and the error carries the delay, so the caller can
    say when to come back instead of holding a tool call open.
    """

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(5, ge=1)
    initial_delay: float = Field(0.5, ge=0)
    max_delay: float = Field(8.0, ge=0)
    multiplier: float = Field(2.0, ge=1)
    jitter: float = Field(0.25, ge=0, le=1)
    max_total_seconds: float = Field(60.0, gt=0)
    retry_statuses: frozenset[int] = frozenset({408, 409, 429, *range(500, 600)})

    def backoff(self, retry: int, random_fraction: float) -> float:
        """Delay before retry number `retry` (0-based), less up to `jitter` of it."""
        delay = min(self.max_delay, self.initial_delay * self.multiplier**retry)
        return delay * (1 - self.jitter * random_fraction)


class ClientConfig(BaseModel):
    """Everything the client needs; the key is a SecretStr so no repr or log can show it."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr | None = None
    base_url: str = GOOGLE_BASE_URL
    api_version: str = DEFAULT_API_VERSION
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(120.0, gt=0, description="longest silence between bytes, streams included")
    retry: RetryPolicy = RetryPolicy()
    max_stream_reconnects: int = Field(5, ge=0)
    service_tier: str | None = Field(
        None, description="`service_tier` of every created interaction (flex, standard, priority)"
    )

    @property
    def is_google(self) -> bool:
        return self.base_url.rstrip("/") == GOOGLE_BASE_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ClientConfig:
        """Key from GEMINI_API_KEY or GOOGLE_API_KEY, GEMINI_BASE_URL, GEMINI_API_VERSION; overrides win."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        key = next((source[name] for name in KEY_VARIABLES if source.get(name, "").strip()), None)
        if key is not None:
            values["api_key"] = SecretStr(key.strip())
        if source.get("GEMINI_BASE_URL", "").strip():
            values["base_url"] = source["GEMINI_BASE_URL"].strip().rstrip("/")
        if source.get("GEMINI_API_VERSION", "").strip():
            values["api_version"] = source["GEMINI_API_VERSION"].strip()
        values.update(overrides)
        if isinstance(values.get("api_key"), str):
            values["api_key"] = SecretStr(values["api_key"])
        if isinstance(values.get("base_url"), str):
            values["base_url"] = values["base_url"].rstrip("/")
        return cls(**values)
