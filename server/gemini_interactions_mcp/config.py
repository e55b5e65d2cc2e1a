"""Server settings: one model, filled from defaults, then the environment, then command-line flags.

Precedence (later wins): built-in defaults < environment variables < command-line flags.
The Gemini client's own settings (key, base URL, API version) are read by `gemini.ClientConfig.from_env`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_JOB_LEASE_SECONDS = 1.0
"""The shortest job watcher lease an operator may set: it is renewed every third of its time to live, so
below a second a slow store round trip or a pause of the event loop would cost a healthy watcher its job
(it stops, and another process takes the job over)."""
ServiceTier = Literal["standard", "flex", "priority"]
"""The tiers the API reference documents (the SDK also lists `deferred`, whose meaning is undocumented)."""


class SettingsError(ValueError):
    """A setting cannot be used as given; the message says which and how to fix it."""


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or len(value) <= len("https://"):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class OAuthSettings(BaseModel):
    """An OAuth 2.1 resource server: whose access tokens are accepted, and for which audience."""

    model_config = ConfigDict(frozen=True)

    issuer: HttpUrl = Field(
        description="The identity provider's issuer URL, exactly as in its tokens' `iss`."
    )
    audience: HttpUrl = Field(description="This server's canonical URL (e.g. https://mcp.example.com/mcp).")
    jwks_url: HttpUrl | None = Field(
        None, description="The signing keys; default: from the issuer's metadata."
    )
    scopes: tuple[str, ...] = Field((), description="Scopes every access token must carry.")


class ServerSettings(BaseModel):
    """Everything the MCP server needs to start, independent of how it was launched."""

    model_config = ConfigDict(frozen=True)

    state: str | None = Field(None, description="SQLite file path, 'memory', or None for the default file.")
    allow_dirs: tuple[Path, ...] = Field(default_factory=lambda: (Path.cwd(),))
    max_file_mb: float = 20.0
    max_total_mb: float = 50.0
    max_upload_mb: float = Field(
        2048.0, gt=0, description="Cap per file sent through the Files API (files over max_file_mb)."
    )
    output_dir: Path | None = Field(
        None,
        description="Where generated images and audio are saved; None: gemini-output/ in the first allowed "
        "folder on stdio, the user data directory over HTTP.",
    )
    default_model: str | None = Field(
        None, description="Model of new conversations; None: the catalog's default."
    )
    ask_wait_seconds: float = Field(
        45.0, description="Soft deadline of ask_gemini before it returns a handle."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    emulator: bool = False
    research_seconds: float = Field(20.0, description="Duration of an emulated Deep Research run.")
    job_retention_days: float = Field(
        55.0, gt=0, description="Finished jobs and saved media older than this are pruned."
    )
    max_output_mb: float = Field(2.0, gt=0, description="Cap of one job's stored output.")
    job_lease_seconds: float | None = Field(
        None,
        ge=MIN_JOB_LEASE_SECONDS,
        allow_inf_nan=False,
        description="How long a crashed or stalled process keeps its background jobs before another "
        "process (a replica, or this one restarted) takes them over; None: JOB_WATCHER_TTL_SECONDS.",
    )
    service_tier: ServiceTier | None = Field(
        None, description="Gemini service tier of every request; None: the API's default (standard)."
    )
    # limits per principal (None: no limit)
    requests_per_minute: float | None = Field(None, gt=0)
    request_burst: int | None = Field(None, ge=1)
    max_running_jobs: int | None = Field(None, ge=1)
    daily_token_budget: int | None = Field(None, ge=1)
    daily_usd_budget: float | None = Field(None, gt=0)
    mcp_config: Path | None = Field(None, description="mcpServers file: the MCP servers Gemini may call.")
    max_tool_rounds: int = Field(10, ge=1, le=100, description="Function-calling rounds in one turn.")
    # HTTP only
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = 8765
    tokens: tuple[tuple[str, SecretStr], ...] = Field((), description="(principal, bearer token) pairs")
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    allow_unauthenticated: bool = False
    oauth: OAuthSettings | None = None
    byok: bool = Field(False, description="Callers may send their own Gemini key (X-Goog-Api-Key).")
    byok_required: bool = Field(False, description="Callers must send their own Gemini key.")
    drain_seconds: int = Field(25, ge=0, description="On SIGTERM, how long open calls may still run.")
    log_format: Literal["text", "json"] = "text"
    request_state_keys: tuple[SecretStr, ...] = Field(
        (),
        description="Keys sealing the state of questions asked in a result (2026-07-28 multi-round-trip), "
        "the first sealing, all opening; the same on every replica. Empty: a key of this process only.",
    )

    @property
    def is_loopback(self) -> bool:
        """Whether the HTTP bind address is reachable only from this machine."""
        if self.host in LOOPBACK_HOSTS:
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_tokens(spec: str, *, source: str) -> tuple[tuple[str, SecretStr], ...]:
    """Parse `principal:token` pairs separated by commas or newlines.

    Blank lines and `#` comments are skipped; a malformed entry or a token given twice is an error
    (naming the line, never the token), so a typo cannot silently open or merge accounts.
    """
    pairs: list[tuple[str, SecretStr]] = []
    seen: set[str] = set()
    entries = [e.strip() for line in spec.splitlines() for e in line.split(",")]
    for number, entry in enumerate(entries, start=1):
        if not entry or entry.startswith("#"):
            continue
        principal, sep, token = entry.partition(":")
        principal, token = principal.strip(), token.strip()
        if not sep or not principal or not token:
            raise SettingsError(f"{source}: entry {number} is not 'principal:token'")
        if token in seen:
            raise SettingsError(f"{source}: entry {number} repeats a token already given")
        seen.add(token)
        pairs.append((principal, SecretStr(token)))
    return tuple(pairs)


def tokens_from_env(env: Mapping[str, str] = os.environ) -> tuple[tuple[str, SecretStr], ...]:
    """Bearer tokens from GEMINI_MCP_TOKENS (`alice:token1,bob:token2`)."""
    spec = env.get("GEMINI_MCP_TOKENS", "")
    return parse_tokens(spec, source="GEMINI_MCP_TOKENS") if spec.strip() else ()
