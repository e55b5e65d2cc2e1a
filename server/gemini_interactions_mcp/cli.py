"""Command line: `serve` (the default; stdio or HTTP), `emulator`, and `demo`.

Imports are deferred to the chosen command so the stdio path loads neither the HTTP server stack nor the
emulator: IDEs start this process often, and start-up time is what users feel. On stdio the wire is
claimed before anything heavy is imported, so the client's first message is answered at once
(transport/stdio.py).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.logs import configure_logging

if TYPE_CHECKING:
    from gemini_interactions_mcp.config import OAuthSettings, ServerSettings

COMMANDS = ("serve", "emulator", "demo")
SETTING_DEFAULT = argparse.SUPPRESS
"""The default of a flag whose setting has a default in ServerSettings: a flag not given is left out,
so the setting's own default applies (one home for each default; the help may still name it)."""
SETTING_DEFAULT_OPTIONS = frozenset(
    {
        "host",
        "port",
        "max_file_mb",
        "max_total_mb",
        "max_upload_mb",
        "max_output_mb",
        "max_tool_rounds",
        "research_seconds",
        "log_level",
        "log_format",
        "drain_seconds",
    }
)


def _tool_rounds(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 100, got {value!r}")
    return int(value)


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the MCP server (stdio by default)")
    p.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    p.add_argument("--host", default=SETTING_DEFAULT, help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=SETTING_DEFAULT, help="HTTP port (default 8765)")
    p.add_argument(
        "--state",
        default=None,
        help="state store: a SQLite file path, 'memory', or redis://host:port/db (rediss:// for TLS) for "
        "replicas (env GEMINI_MCP_STATE, ignored with --emulator; "
        "default: memory with --emulator, else a file under "
        "the user data directory)",
    )
    p.add_argument(
        "--allow-dir",
        action="append",
        default=None,
        type=Path,
        help="directory local files may be read from when the client offers no MCP roots "
        "(repeatable; default: the working directory)",
    )
    p.add_argument(
        "--max-file-mb",
        type=float,
        default=SETTING_DEFAULT,
        help="size cap per file sent inline (MB); bigger ones are uploaded",
    )
    p.add_argument(
        "--max-total-mb", type=float, default=SETTING_DEFAULT, help="size cap of all files in one call (MB)"
    )
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=SETTING_DEFAULT,
        help="size cap per file uploaded through the Files API (MB; the API allows 2048)",
    )
    p.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="where generated images and audio are saved (env GEMINI_MCP_OUTPUT_DIR; default: gemini-output/ "
        "in the first allowed folder on stdio, the user data directory over HTTP)",
    )
    p.add_argument("--model", default=None, help="default model (env GEMINI_MCP_MODEL)")
    p.add_argument(
        "--wait-seconds",
        type=float,
        default=None,
        help="soft deadline of ask_gemini, generate_image and speak before they return a handle to poll "
        "(env GEMINI_MCP_WAIT_SECONDS; default 45)",
    )
    p.add_argument(
        "--job-retention-days",
        type=float,
        default=None,
        help="keep finished background results and saved media this long; media files are deleted only "
        "from the server's own folder (env GEMINI_MCP_JOB_RETENTION_DAYS; default 55, like Gemini's paid "
        "tier)",
    )
    p.add_argument(
        "--max-output-mb", type=float, default=SETTING_DEFAULT, help="cap of one job's stored output (MB)"
    )
    p.add_argument(
        "--job-lease-seconds",
        type=float,
        default=None,
        help="how long a crashed or stalled server process keeps its background jobs before another "
        "process (a replica, or this one restarted) takes them over; renewed every third of it, so "
        "shorter means more store writes (env GEMINI_MCP_JOB_LEASE_SECONDS; default 10, at least 1)",
    )
    _limit_arguments(p)
    p.add_argument(
        "--mcp-config",
        type=Path,
        default=None,
        help="mcpServers JSON file (Claude Desktop/Cursor/Gemini CLI format): MCP servers Gemini may call "
        "(env GEMINI_MCP_CONFIG)",
    )
    p.add_argument(
        "--max-tool-rounds",
        type=_tool_rounds,
        default=SETTING_DEFAULT,
        help="function-calling rounds in one turn, 1-100 (default 10)",
    )
    p.add_argument("--emulator", action="store_true", help="use an embedded emulator instead of Gemini")
    p.add_argument(
        "--research-seconds",
        type=float,
        default=SETTING_DEFAULT,
        help="with --emulator: how long an emulated Deep Research run takes",
    )
    p.add_argument("--token-file", type=Path, help="file with one 'principal:token' per line (HTTP auth)")
    p.add_argument("--allowed-host", action="append", default=[], help="extra Host header value to accept")
    p.add_argument(
        "--allowed-origin", action="append", default=[], help="extra Origin header value to accept"
    )
    p.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="allow a non-loopback HTTP bind without bearer tokens (anyone who can reach it can use it)",
    )
    p.add_argument("--log-level", default=SETTING_DEFAULT, choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument(
        "--log-format",
        default=SETTING_DEFAULT,
        choices=["text", "json"],
        help="stderr log lines (json: one object each)",
    )
    p.add_argument(
        "--drain-seconds",
        type=int,
        default=SETTING_DEFAULT,
        help="HTTP: on SIGTERM, how long open calls may still run before the process exits (default 25)",
    )
    p.add_argument(
        "--byok",
        action="store_true",
        help="HTTP callers may send their own Gemini key in X-Goog-Api-Key (used for their calls only, "
        "never stored)",
    )
    p.add_argument(
        "--byok-required", action="store_true", help="like --byok, and refuse callers without a key"
    )
    oauth = p.add_argument_group("OAuth 2.1 access tokens (HTTP; with or without --token-file)")
    oauth.add_argument("--oauth-issuer", help="the identity provider's issuer URL (as in its tokens' iss)")
    oauth.add_argument(
        "--oauth-audience", help="this server's canonical URL, e.g. https://mcp.example.com/mcp"
    )
    oauth.add_argument("--oauth-jwks-url", help="the signing keys (default: from the issuer's metadata)")
    oauth.add_argument(
        "--oauth-scope", action="append", default=[], help="a scope every token must carry (repeatable)"
    )


def _oauth_settings(args: argparse.Namespace) -> OAuthSettings | None:
    from pydantic import ValidationError

    from gemini_interactions_mcp.config import OAuthSettings, SettingsError

    if not args.oauth_issuer and not args.oauth_audience:
        if args.oauth_jwks_url or args.oauth_scope:
            raise SettingsError("--oauth-jwks-url and --oauth-scope need --oauth-issuer and --oauth-audience")
        return None
    if not args.oauth_issuer or not args.oauth_audience:
        raise SettingsError("OAuth needs both --oauth-issuer and --oauth-audience")
    try:
        return OAuthSettings(
            issuer=args.oauth_issuer,
            audience=args.oauth_audience,
            jwks_url=args.oauth_jwks_url,
            scopes=tuple(args.oauth_scope),
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise SettingsError(f"--oauth-{str(error['loc'][0]).replace('_', '-')}: {error['msg']}") from None


LIMIT_OPTIONS = {
    "service_tier": "GEMINI_MCP_SERVICE_TIER",
    "requests_per_minute": "GEMINI_MCP_REQUESTS_PER_MINUTE",
    "request_burst": "GEMINI_MCP_REQUEST_BURST",
    "max_running_jobs": "GEMINI_MCP_MAX_RUNNING_JOBS",
    "daily_token_budget": "GEMINI_MCP_DAILY_TOKEN_BUDGET",
    "daily_usd_budget": "GEMINI_MCP_DAILY_USD_BUDGET",
}
"""Settings for service tier and per-principal limits, and the environment variable of each."""


def _limit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--service-tier",
        choices=["standard", "flex", "priority"],
        default=None,
        help="Gemini service tier of every request: flex costs half and may take minutes, priority costs "
        "more and is faster (env GEMINI_MCP_SERVICE_TIER; default: the API's, standard)",
    )
    p.add_argument(
        "--requests-per-minute",
        type=float,
        default=None,
        help="per caller: calls that start Gemini work per minute (env GEMINI_MCP_REQUESTS_PER_MINUTE)",
    )
    p.add_argument(
        "--request-burst",
        type=int,
        default=None,
        help="per caller: such calls allowed at once (env GEMINI_MCP_REQUEST_BURST; default: one minute's)",
    )
    p.add_argument(
        "--max-running-jobs",
        type=int,
        default=None,
        help="per caller: background jobs running at once (env GEMINI_MCP_MAX_RUNNING_JOBS)",
    )
    p.add_argument(
        "--daily-token-budget",
        type=int,
        default=None,
        help="per caller: tokens per UTC day (env GEMINI_MCP_DAILY_TOKEN_BUDGET)",
    )
    p.add_argument(
        "--daily-usd-budget",
        type=float,
        default=None,
        help="per caller: estimated USD per UTC day (env GEMINI_MCP_DAILY_USD_BUDGET)",
    )


def _emulator_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("emulator", help="run the local Interactions API emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8800)
    p.add_argument("--api-key", default=None, help="require this API key (default: no key needed)")
    p.add_argument("--research-seconds", type=float, default=20.0, help="duration of a Deep Research run")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gemini-interactions-mcp",
        description="MCP server for Google's Gemini Interactions API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command")
    _serve_parser(sub)
    _emulator_parser(sub)
    demo = sub.add_parser("demo", help="drive the server on the embedded emulator and print a transcript")
    demo.add_argument("--research-seconds", type=float, default=6.0)
    return parser


def _output_dir(value: Path | str | None) -> Path | None:
    return Path(value).expanduser().resolve() if value else None


def settings_from_args(args: argparse.Namespace, env: dict[str, str] | None = None) -> ServerSettings:
    """Merge defaults, environment and flags (flags win) into validated settings; a bad value is a
    SettingsError naming its flag (and variable), which `main` prints as one line."""
    from pydantic import ValidationError

    from gemini_interactions_mcp.config import ServerSettings, SettingsError, parse_tokens, tokens_from_env

    environ = dict(os.environ if env is None else env)
    tokens = tokens_from_env(environ)
    if args.token_file is not None:
        try:
            text = args.token_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"--token-file {args.token_file}: {exc.strerror}") from None
        tokens = tokens + parse_tokens(text, source=f"--token-file {args.token_file}")
    mcp_config = args.mcp_config or (
        Path(environ["GEMINI_MCP_CONFIG"]) if environ.get("GEMINI_MCP_CONFIG") else None
    )
    if mcp_config is not None:
        from gemini_interactions_mcp.downstream.config import ConfigError, load_config

        try:
            load_config(mcp_config, environ)  # a bad file stops the start here, naming the line
        except ConfigError as exc:
            raise SettingsError(str(exc)) from None
    try:
        return ServerSettings(
            **_flag_or_variable_settings(args, environ),
            **{name: value for name, value in vars(args).items() if name in SETTING_DEFAULT_OPTIONS},
            transport=args.transport,
            # With --emulator only an explicit --state counts: GEMINI_MCP_STATE names the real store.
            state=args.state if args.emulator else args.state or environ.get("GEMINI_MCP_STATE") or None,
            allow_dirs=tuple(d.resolve() for d in (args.allow_dir or [Path.cwd()])),
            output_dir=_output_dir(args.output_dir or environ.get("GEMINI_MCP_OUTPUT_DIR")),
            default_model=args.model or environ.get("GEMINI_MCP_MODEL") or ServerSettings().default_model,
            emulator=args.emulator,
            mcp_config=mcp_config,
            tokens=tokens,
            allowed_hosts=tuple(args.allowed_host),
            allowed_origins=tuple(args.allowed_origin),
            allow_unauthenticated=args.allow_unauthenticated,
            oauth=_oauth_settings(args),
            byok=args.byok or args.byok_required,
            byok_required=args.byok_required,
            request_state_keys=_request_state_keys(environ),
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise SettingsError(f"{_named(str(error['loc'][0]))}: {error['msg']}") from None


REQUEST_STATE_KEYS = "GEMINI_MCP_REQUEST_STATE_KEYS"
MIN_REQUEST_STATE_KEY_CHARS = 32
FLAGS = {"ask_wait_seconds": "--wait-seconds", "default_model": "--model", "allow_dirs": "--allow-dir"}
"""The settings whose flag is not their name with dashes."""
VARIABLES = {
    **LIMIT_OPTIONS,
    "ask_wait_seconds": "GEMINI_MCP_WAIT_SECONDS",
    "job_retention_days": "GEMINI_MCP_JOB_RETENTION_DAYS",
    "job_lease_seconds": "GEMINI_MCP_JOB_LEASE_SECONDS",
}
"""The environment variable of each validated setting that has one (the rest are read as given)."""


def _named(setting: str) -> str:
    """How a user set `setting`: its flag, and its environment variable where there is one."""
    flag = FLAGS.get(setting, "--" + setting.replace("_", "-"))
    return f"{flag} (or {VARIABLES[setting]})" if setting in VARIABLES else flag


def _request_state_keys(environ: dict[str, str]) -> tuple[Any, ...]:
    """Replicas must open each other's sealed multi-round-trip state: a shared key ring, from the
    environment only (a secret has no flag: command lines are visible to every local user)."""
    from pydantic import SecretStr

    from gemini_interactions_mcp.config import SettingsError

    keys = [k.strip() for k in environ.get(REQUEST_STATE_KEYS, "").split(",") if k.strip()]
    if any(len(k) < MIN_REQUEST_STATE_KEY_CHARS for k in keys):
        raise SettingsError(
            f"{REQUEST_STATE_KEYS}: each key needs at least {MIN_REQUEST_STATE_KEY_CHARS} characters "
            "(e.g. from: openssl rand -hex 32)"
        )
    return tuple(SecretStr(k) for k in keys)


def _flag_or_variable_settings(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, Any]:
    """The settings that have an environment variable, where given (the flag wins; a blank variable is
    unset), checked, naming the culprit; the rest keep ServerSettings' defaults."""
    from pydantic import ValidationError

    from gemini_interactions_mcp.config import ServerSettings, SettingsError

    values: dict[str, Any] = {}
    for name, variable in VARIABLES.items():
        flag = getattr(args, FLAGS.get(name, name).removeprefix("--").replace("-", "_"))
        value = flag if flag is not None else environ.get(variable, "").strip()
        if value not in (None, ""):
            values[name] = value
    try:
        ServerSettings.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise SettingsError(f"{_named(str(error['loc'][0]))}: {error['msg']}") from None
    return values


def main(argv: Sequence[str] | None = None) -> None:
    raw = list(sys.argv[1:] if argv is None else argv)
    if not raw or (raw[0] not in COMMANDS and raw[0] not in ("-h", "--help", "--version")):
        raw = ["serve", *raw]
    args = build_parser().parse_args(raw)
    if args.command == "emulator":
        from gemini_interactions_mcp.emulator import EmulatorConfig
        from gemini_interactions_mcp.emulator.server import run as run_emulator

        configure_logging("INFO")
        run_emulator(
            args.host, args.port, EmulatorConfig(api_key=args.api_key, research_seconds=args.research_seconds)
        )
        return
    if args.command == "demo":
        from gemini_interactions_mcp.demo import run_demo

        run_demo(research_seconds=args.research_seconds)
        return
    stdio = None
    if args.transport == "stdio":
        from gemini_interactions_mcp.transport.stdio import StdioChannel

        gc.disable()  # until the server is built: see transport.collect_garbage_again
        stdio = StdioChannel.claim()
    from gemini_interactions_mcp.config import SettingsError

    try:
        settings = settings_from_args(args)
    except SettingsError as exc:
        sys.exit(f"gemini-interactions-mcp: {exc}")
    configure_logging(settings.log_level, settings.log_format)
    from gemini_interactions_mcp.transport import run

    try:
        if settings.transport == "http":
            _check_state(settings)
        run(settings, stdio)
    except SettingsError as exc:
        sys.exit(f"gemini-interactions-mcp: {exc}")
    except KeyboardInterrupt:
        pass
    except BaseException as exc:
        failure = _store_failure(exc)
        if failure is None:
            raise
        sys.exit(f"gemini-interactions-mcp: {failure}")


def _check_state(settings: ServerSettings) -> None:
    """Open and close the state store before serving HTTP: uvicorn would report a store that cannot
    be opened (read-only, damaged) as a traceback, and the user deserves one line."""
    import anyio

    from gemini_interactions_mcp.state import open_store, state_spec

    async def probe() -> None:
        await (await open_store(state_spec(settings.state, emulated=settings.emulator))).close()

    anyio.run(probe)


def _store_failure(exc: BaseException) -> Exception | None:
    """The state store error behind a failed start, however deeply task groups wrapped it."""
    from gemini_interactions_mcp.state import StoreError

    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _store_failure(inner)
            if found is not None:
                return found
    return None
