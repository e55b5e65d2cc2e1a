"""Limits and service tier on the command line: flags win over the environment, bad values name the flag."""

from __future__ import annotations

import pytest

from gemini_interactions_mcp.cli import LIMIT_OPTIONS, build_parser, settings_from_args
from gemini_interactions_mcp.config import ServerSettings, SettingsError

LEASE_NAMED = "--job-lease-seconds (or GEMINI_MCP_JOB_LEASE_SECONDS)"


def settings_for(argv: list[str], env: dict[str, str]) -> ServerSettings:
    return settings_from_args(build_parser().parse_args(["serve", *argv]), env)


def test_limits_come_from_flags_over_the_environment_and_default_to_none() -> None:
    env = {
        "GEMINI_MCP_SERVICE_TIER": "flex",
        "GEMINI_MCP_REQUESTS_PER_MINUTE": "30",
        "GEMINI_MCP_REQUEST_BURST": "5",
        "GEMINI_MCP_MAX_RUNNING_JOBS": "3",
        "GEMINI_MCP_DAILY_TOKEN_BUDGET": "2000000",
        "GEMINI_MCP_DAILY_USD_BUDGET": "12.5",
    }
    from_env = settings_for([], env)
    assert (from_env.service_tier, from_env.requests_per_minute, from_env.request_burst) == ("flex", 30, 5)
    assert (from_env.max_running_jobs, from_env.daily_token_budget, from_env.daily_usd_budget) == (
        3,
        2_000_000,
        12.5,
    )
    flags = ["--service-tier", "priority", "--requests-per-minute", "6", "--daily-usd-budget", "1"]
    from_flags = settings_for(flags, env)
    assert (from_flags.service_tier, from_flags.requests_per_minute, from_flags.daily_usd_budget) == (
        "priority",
        6,
        1,
    )
    assert from_flags.max_running_jobs == 3, "what no flag sets still comes from the environment"
    defaults = settings_for([], {})
    assert all(getattr(defaults, name) is None for name in LIMIT_OPTIONS)


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--daily-usd-budget", "-1"], {}, "--daily-usd-budget (or GEMINI_MCP_DAILY_USD_BUDGET)"),
        ([], {"GEMINI_MCP_MAX_RUNNING_JOBS": "lots"}, "--max-running-jobs (or GEMINI_MCP_MAX_RUNNING_JOBS)"),
        ([], {"GEMINI_MCP_SERVICE_TIER": "deferred"}, "--service-tier (or GEMINI_MCP_SERVICE_TIER)"),
        # the other settings a user may get wrong: one line as well, never a traceback
        ([], {"GEMINI_MCP_WAIT_SECONDS": "soon"}, "--wait-seconds (or GEMINI_MCP_WAIT_SECONDS)"),
        (
            [],
            {"GEMINI_MCP_JOB_RETENTION_DAYS": "-1"},
            "--job-retention-days (or GEMINI_MCP_JOB_RETENTION_DAYS)",
        ),
        (["--job-lease-seconds", "0.5"], {}, LEASE_NAMED),  # renewed every third: too short to hold
        ([], {"GEMINI_MCP_JOB_LEASE_SECONDS": "inf"}, LEASE_NAMED),
        ([], {"GEMINI_MCP_JOB_LEASE_SECONDS": "soon"}, LEASE_NAMED),
        (["--drain-seconds", "-1"], {}, "--drain-seconds"),
        (["--max-output-mb", "0"], {}, "--max-output-mb"),
    ],
)
def test_a_bad_setting_names_the_flag_and_variable(argv: list[str], env: dict[str, str], named: str) -> None:
    """`main` prints a SettingsError as one line, so each bad value must become one."""
    with pytest.raises(SettingsError, match="^" + named.replace("(", r"\(").replace(")", r"\)") + ": "):
        settings_for(argv, env)


def test_the_job_lease_comes_from_the_flag_over_the_environment_and_defaults_to_the_services() -> None:
    env = {"GEMINI_MCP_JOB_LEASE_SECONDS": "3"}
    assert settings_for([], env).job_lease_seconds == 3
    assert settings_for(["--job-lease-seconds", "2.5"], env).job_lease_seconds == 2.5
    assert settings_for([], {}).job_lease_seconds is None
    assert settings_for([], {"GEMINI_MCP_JOB_LEASE_SECONDS": " "}).job_lease_seconds is None, "blank: unset"


def test_the_service_tier_flag_offers_only_documented_tiers() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--service-tier", "deferred"])
