"""manifests/server.json against the MCP Registry's published schema and against what the server reads."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client

from tests.ecosystem.sources import MANIFESTS, load_json, parse_cli, serve_settings, server_env_vars
from tests.helpers.servers import free_port, wait_healthy

VENDOR = Path(__file__).parent / "vendor"
SCHEMA_SHA256 = "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0"  # see vendor/README.md


@pytest.fixture(scope="module")
def server_json() -> dict[str, Any]:
    return load_json(MANIFESTS / "server.json")  # type: ignore[no-any-return]


def test_the_vendored_schema_is_the_published_one(server_json: dict[str, Any]) -> None:
    schema_file = VENDOR / "server.schema.json"
    assert hashlib.sha256(schema_file.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert load_json(schema_file)["$id"] == server_json["$schema"]


def test_server_json_validates_against_the_registry_schema(server_json: dict[str, Any]) -> None:
    schema = load_json(VENDOR / "server.schema.json")
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(server_json)]
    assert errors == []


def test_the_schema_check_rejects_a_broken_server_json(server_json: dict[str, Any]) -> None:
    schema = load_json(VENDOR / "server.schema.json")
    broken = {**server_json, "description": "x" * 101}  # the registry caps descriptions at 100 characters
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def test_every_package_declares_exactly_the_variables_the_server_reads(server_json: dict[str, Any]) -> None:
    read = server_env_vars()
    assert {"GEMINI_API_KEY", "GEMINI_MCP_STATE"} <= read  # the scan itself works
    for package in server_json["packages"]:
        declared = [v["name"] for v in package["environmentVariables"]]
        assert len(declared) == len(set(declared))
        assert set(declared) == read, f"{package['transport']['type']}: declare {read - set(declared)}"
        secrets = {v["name"] for v in package["environmentVariables"] if v.get("isSecret")}
        assert {"GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_MCP_TOKENS"} <= secrets


def package_argv(package: dict[str, Any]) -> list[str]:
    """The command line a registry client builds from `packageArguments`."""
    argv: list[str] = []
    for argument in package["packageArguments"]:
        argv += [argument["name"], argument["value"]] if argument["type"] == "named" else [argument["value"]]
    return argv


def test_stdio_and_streamable_http_packages_run_real_cli_arguments(server_json: dict[str, Any]) -> None:
    by_transport = {p["transport"]["type"]: p for p in server_json["packages"]}
    assert set(by_transport) == {"stdio", "streamable-http"}
    for transport, package in by_transport.items():
        args = parse_cli(package_argv(package))
        assert args.command == "serve" and args.transport == ("http" if transport != "stdio" else "stdio")
        if transport == "streamable-http":
            settings = serve_settings(package_argv(package))
            assert package["transport"]["url"] == f"http://{settings.host}:{settings.port}/mcp"


def start(*command: str | Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.anyio
async def test_the_streamable_http_package_serves_at_its_url(
    server_json: dict[str, Any], wheel_venv: Path, tmp_path: Path
) -> None:
    """The installed wheel, started with the package's arguments (on a free port), answers at the URL."""
    (package,) = [p for p in server_json["packages"] if p["transport"]["type"] == "streamable-http"]
    argv, port = package_argv(package), free_port()
    default_port = str(serve_settings(argv).port)
    argv = [str(port) if a == default_port else a for a in argv]
    url = package["transport"]["url"].replace(f":{default_port}/", f":{port}/")
    script = wheel_venv / "gemini-interactions-mcp"
    process = start(script, *argv, "--emulator", "--state", "memory", cwd=tmp_path)
    try:
        await wait_healthy(url.removesuffix("/mcp"))
        async with Client(url) as client:
            assert "ask_gemini" in {t.name for t in (await client.list_tools()).tools}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_pypi_ownership_marker_is_in_the_readme(server_json: dict[str, Any]) -> None:
    """The registry proves PyPI ownership by finding `mcp-name: <name>` in the package description."""
    readme = (MANIFESTS.parent / "README.md").read_text(encoding="utf-8")
    assert f"mcp-name: {server_json['name']}" in readme
