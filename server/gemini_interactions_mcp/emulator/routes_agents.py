"""HTTP endpoints of `/{version}/agents` (section 12) and `/{version}/environments` (section 13).

Custom agents are validated like the service does: the id is client-chosen and must be a lowercase
slug, the base agent is a managed agent or another custom agent (a fork), a `base_environment` naming
an environment must name an existing one, and int64 fields travel as strings.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import views
from .errors import ApiError, bad_request, not_found
from .guard import api, emulator_of
from .plan import JSON
from .responders import agents as managed
from .responders import research
from .routes_interactions import json_body
from .validation import validate_tools

_AGENT_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
_AGENT_FIELDS = frozenset(
    {"id", "base_agent", "description", "system_instruction", "tools", "base_environment", "agent_config"}
)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def agent_from_body(body: Any, existing: set[str], environments: set[str]) -> JSON:
    """Validate a create-agent body against the existing agents and environments; return the resource."""
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: expected a JSON object.")
    unknown = sorted(set(body) - _AGENT_FIELDS)
    if unknown:
        raise bad_request(f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.')
    agent_id = body.get("id")
    if not isinstance(agent_id, str) or not agent_id:
        raise bad_request("'id' is required.")
    if not _AGENT_ID.fullmatch(agent_id):
        raise bad_request(
            f"Invalid agent id '{agent_id}': use 1 to 63 lowercase letters, digits or hyphens, "
            "starting with a letter."
        )
    base = body.get("base_agent")
    if not isinstance(base, str) or (base not in managed.AGENTS and base not in existing):
        allowed = ", ".join(sorted(managed.AGENTS))
        raise bad_request(
            f"Unknown base_agent '{base}'. Supported base agents: {allowed}, or one of your own agents."
        )
    if agent_id in existing or agent_id in managed.AGENTS or agent_id in research.AGENTS:
        raise ApiError(409, f"Agent '{agent_id}' already exists.")
    for key in ("description", "system_instruction"):
        if key in body and not isinstance(body[key], str):
            raise bad_request(f"'{key}' must be a string.")
    agent: JSON = {k: v for k, v in body.items() if v is not None}
    if "tools" in agent:
        validate_tools(agent["tools"])
    env = agent.get("base_environment")
    if env is not None and not isinstance(env, str | dict):
        raise bad_request("'base_environment' must be a string or an object.")
    named = env.get("environment_id") if isinstance(env, dict) else None if env == "remote" else env
    if isinstance(named, str) and named.removeprefix("environments/") not in environments:
        raise not_found(f"Environment '{named}' was not found.")
    if "agent_config" in agent:
        agent["agent_config"] = _agent_config(agent["agent_config"])
    return agent


def _agent_config(config: Any) -> JSON:
    if not isinstance(config, dict) or config.get("type") != "antigravity":
        raise bad_request("'agent_config.type' must be 'antigravity'.")
    out = dict(config)
    if "max_total_tokens" in out:
        value = out["max_total_tokens"]
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.isdigit())
        ):
            raise bad_request("'agent_config.max_total_tokens' must be an integer (int64, may be a string).")
        out["max_total_tokens"] = str(int(value))
    return out


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["o"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request(f"Invalid page_token '{token}'.") from None
    if not isinstance(offset, int) or offset < 0:
        raise bad_request(f"Invalid page_token '{token}'.")
    return offset


def page(items: list[JSON], request: Request, key: str) -> JSON:
    """One page of `items` per `page_size` (default 50, capped at 100) and opaque `page_token`."""
    raw_size = request.query_params.get("page_size") or request.query_params.get("pageSize")
    try:
        size = int(raw_size) if raw_size else DEFAULT_PAGE_SIZE
    except ValueError:
        raise bad_request(f"Invalid page_size '{raw_size}': expected an integer.") from None
    if size < 0:
        raise bad_request("'page_size' must not be negative.")
    size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    token = request.query_params.get("page_token") or request.query_params.get("pageToken")
    offset = decode_token(token) if token else 0
    body: JSON = {key: items[offset : offset + size]}
    if offset + size < len(items):
        body["next_page_token"] = encode_token(offset + size)
    return body


@api
async def create_agent(request: Request) -> Response:
    emu = emulator_of(request)
    agent = agent_from_body(
        json_body(await request.body()), set(emu.store.agents), set(emu.store.environments)
    )
    emu.store.agents[agent["id"]] = agent
    return JSONResponse(agent)


@api
async def list_agents(request: Request) -> Response:
    return JSONResponse(page(list(emulator_of(request).store.agents.values()), request, "agents"))


@api
async def get_agent(request: Request) -> Response:
    agent_id = request.path_params["agent_id"]
    agent = emulator_of(request).store.agents.get(agent_id)
    if agent is None:
        raise not_found(f"Agent '{agent_id}' was not found.")
    return JSONResponse(agent)


@api
async def delete_agent(request: Request) -> Response:
    agent_id = request.path_params["agent_id"]
    if emulator_of(request).store.agents.pop(agent_id, None) is None:
        raise not_found(f"Agent '{agent_id}' was not found.")
    return JSONResponse({})


@api
async def list_environments(request: Request) -> Response:
    envs = [views.environment(e) for e in emulator_of(request).store.environments.values()]
    return JSONResponse(page(envs, request, "environments"))


@api
async def get_environment(request: Request) -> Response:
    env_id = request.path_params["env_id"]
    env = emulator_of(request).store.environments.get(env_id)
    if env is None:
        raise not_found(f"Environment '{env_id}' was not found.")
    return JSONResponse(views.environment(env))


@api
async def delete_environment(request: Request) -> Response:
    env_id = request.path_params["env_id"]
    if emulator_of(request).store.environments.pop(env_id, None) is None:
        raise not_found(f"Environment '{env_id}' was not found.")
    return JSONResponse({})


ROUTES = [
    Route("/{version}/agents", create_agent, methods=["POST"]),
    Route("/{version}/agents", list_agents, methods=["GET"]),
    Route("/{version}/agents/{agent_id}", get_agent, methods=["GET"]),
    Route("/{version}/agents/{agent_id}", delete_agent, methods=["DELETE"]),
    Route("/{version}/environments", list_environments, methods=["GET"]),
    Route("/{version}/environments/{env_id}", get_environment, methods=["GET"]),
    Route("/{version}/environments/{env_id}", delete_environment, methods=["DELETE"]),
]
