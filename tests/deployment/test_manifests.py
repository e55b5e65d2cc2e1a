"""manifests/deploy: the Dockerfile, compose.yaml, haproxy.cfg and the Kubernetes manifests parse and agree
with the real command line, the variables the server reads, and each other.

No container engine runs here, so nothing is built or started: these checks are what can fail offline.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from typing import Any

import pytest
import yaml

from gemini_interactions_mcp.cli import settings_from_args
from tests.ecosystem.sources import MANIFESTS, parse_cli, server_env_vars
from tests.helpers.cache import ROOT

DEPLOY = MANIFESTS / "deploy"
ENV = {"GEMINI_MCP_TOKENS": "alice:t1"}  # what a deployment provides (from its secret)


def serve_settings(args: list[str]) -> Any:
    """The settings the server would start with from these arguments (and a token in its environment)."""
    return settings_from_args(parse_cli(args), ENV)


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# -- Dockerfile ----------------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, rest) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def exec_form(rest: str) -> list[str]:
    value = json.loads(rest)
    assert isinstance(value, list), f"exec form expected (PID 1 must get SIGTERM): {rest}"
    return value


def test_the_dockerfile_is_multi_stage_non_root_with_a_healthcheck_and_a_real_command() -> None:
    steps = dockerfile()
    stages = [rest for op, rest in steps if op == "FROM"]
    assert len(stages) >= 2 and " AS " in stages[0].upper(), "a build stage and a runtime stage"
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    users = [rest for op, rest in final if op == "USER"]
    assert users and users[-1] not in ("0", "root"), "the runtime stage runs as a non-root user"
    for op, rest in steps:
        if op == "COPY" and not rest.startswith("--from"):
            for source in shlex.split(rest)[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    [entrypoint] = exec_form(next(rest for op, rest in final if op == "ENTRYPOINT"))
    assert entrypoint in scripts
    args = exec_form(next(rest for op, rest in final if op == "CMD"))
    settings = serve_settings(args)
    assert settings.transport == "http" and settings.host == "0.0.0.0"
    [port] = [rest for op, rest in final if op == "EXPOSE"]
    assert int(port) == settings.port
    [health] = [rest for op, rest in final if op == "HEALTHCHECK"]
    assert f"127.0.0.1:{settings.port}/healthz" in health


# -- compose.yaml and haproxy.cfg ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def replicas(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose["services"].items() if "build" in service}


def test_compose_runs_two_replicas_on_redis_behind_haproxy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"redis", "haproxy"} <= services.keys()
    running = replicas(compose)
    assert len(running) == 2
    for service in running.values():
        build = service["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (
            DEPLOY / "Dockerfile"
        ).resolve()
        args = [str(a) for a in service["command"]]
        settings = serve_settings(args)
        assert settings.transport == "http" and settings.host == "0.0.0.0"
        assert re.fullmatch(r"redis://redis:\d+/\d+", flag(args, "--state")), (
            "state shared in the redis service"
        )
        assert set(service["environment"]) <= server_env_vars()
        assert "GEMINI_MCP_REQUEST_STATE_KEYS" in service["environment"], "one key ring for both"
        assert "redis" in service["depends_on"]
    [mounted] = [v.split(":")[0] for v in services["haproxy"]["volumes"]]
    assert (DEPLOY / mounted).resolve() == (DEPLOY / "haproxy.cfg").resolve()


def test_haproxy_keeps_a_2025_session_on_its_replica_and_checks_readiness(compose: dict[str, Any]) -> None:
    config = (DEPLOY / "haproxy.cfg").read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for line in config.splitlines()]
    assert "stick store-response res.hdr(mcp-session-id)" in lines, "affinity learned from the response"
    assert "stick match req.hdr(mcp-session-id)" in lines
    assert "option httpchk GET /readyz" in lines
    servers = {line.split()[2] for line in lines if line.startswith("server ")}
    expected = {
        f"{name}:{flag([str(a) for a in service['command']], '--port')}"
        for name, service in replicas(compose).items()
    }
    assert servers == expected
    [bind] = [line for line in lines if line.startswith("bind ")]
    published = [p for p in compose["services"]["haproxy"]["ports"] if p.endswith(":" + bind.split(":")[-1])]
    assert published, "the port haproxy binds is the one compose publishes"


# -- Kubernetes ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kubernetes() -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            documents[document["kind"]] = document
    return documents


def test_kubernetes_has_the_four_pieces_and_they_agree(kubernetes: dict[str, dict[str, Any]]) -> None:
    assert {"Deployment", "Service", "PodDisruptionBudget", "Secret"} <= kubernetes.keys()
    deployment, service = kubernetes["Deployment"], kubernetes["Service"]
    pdb, secret = kubernetes["PodDisruptionBudget"], kubernetes["Secret"]
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod_labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    [container] = spec["template"]["spec"]["containers"]
    args = [str(a) for a in container["args"]]
    settings = serve_settings(args)
    [port] = container["ports"]
    assert (
        port["containerPort"] == settings.port and service["spec"]["ports"][0]["targetPort"] == port["name"]
    )
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    assert set(secret["stringData"]) <= server_env_vars()
    assert secret["stringData"]["GEMINI_MCP_STATE"].startswith("redis://"), "replicas share their state"
    assert "GEMINI_MCP_REQUEST_STATE_KEYS" in secret["stringData"], "replicas open each other's questions"
    grace = spec["template"]["spec"]["terminationGracePeriodSeconds"]
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert grace > pre_stop + settings.drain_seconds, "the drain ends before the kubelet kills the pod"
    assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
