"""Validation of the create-interaction body (section 4 of the wire spec) into a normalised request.

Rejections use the service's wording style ("... at 'tools[0]'") so client error handling is exercised
with realistic messages. Unknown top-level fields are rejected like the Google gateway does, which
catches clients that send misspelt or legacy fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import bad_request
from .plan import JSON

T = TypeVar("T")

CONTENT_TYPES = frozenset({"text", "image", "audio", "video", "document"})
RESULT_BLOCK = "function_result"
"""Also accepted as a content block of user input: an SDK sends results that way and the service
answers them (reference media-files-tools.md section 1.4 B)."""
STEP_TYPES = frozenset(
    {
        "user_input",
        "model_output",
        "thought",
        "function_call",
        "function_result",
        "code_execution_call",
        "code_execution_result",
        "google_search_call",
        "google_search_result",
        "url_context_call",
        "url_context_result",
        "file_search_call",
        "file_search_result",
        "google_maps_call",
        "google_maps_result",
        "mcp_server_tool_call",
        "mcp_server_tool_result",
        "retrieval_call",
        "retrieval_result",
        "processing_call",
        "processing_result",
    }
)
TOOL_TYPES = frozenset(
    {
        "function",
        "google_search",
        "code_execution",
        "url_context",
        "file_search",
        "google_maps",
        "mcp_server",
        "computer_use",
        "retrieval",
    }
)
ECHOED = (
    "previous_interaction_id",
    "system_instruction",
    "tools",
    "generation_config",
    "agent_config",
    "response_format",
    "safety_settings",
    "labels",
    "service_tier",
    "webhook_config",
    "environment",
)
_FLAGS = ("stream", "store", "background")
_OTHER = (
    "model",
    "agent",
    "input",
    "continuation_token",
    "cached_content",
    "response_mime_type",
    "response_modalities",
)
KNOWN_FIELDS = frozenset((*ECHOED, *_FLAGS, *_OTHER))


@dataclass(frozen=True)
class CreateRequest:
    """A syntactically valid create body; semantic checks against state happen in `service`."""

    kind: str
    """"model" or "agent"."""
    name: str
    input_value: Any
    input_steps: list[JSON]
    stream: bool
    store: bool
    background: bool
    previous_interaction_id: str | None
    system_instruction: str | None
    tools: list[JSON]
    generation_config: JSON
    agent_config: JSON | None
    response_format: Any
    environment: str | JSON | None
    echo: JSON


def parse_create(body: Any) -> CreateRequest:
    """Check the body's shape and normalise `input` into steps."""
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: expected a JSON object.")
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        raise bad_request(f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.')
    kind, name = _target(body)
    flags = {flag: _optional(body, flag, bool, "a boolean") for flag in _FLAGS}
    if "input" not in body and "continuation_token" not in body:
        raise bad_request("'input' is required.")
    tools = validate_tools(body.get("tools"))
    generation_config = _optional(body, "generation_config", dict, "an object") or {}
    agent_config = _optional(body, "agent_config", dict, "an object")
    if kind == "model" and agent_config is not None:
        raise bad_request("'agent_config' can only be used with 'agent', not with 'model'.")
    if kind == "agent" and "generation_config" in body:
        raise bad_request("'generation_config' can only be used with 'model', not with 'agent'.")
    if agent_config is not None and not isinstance(agent_config.get("type"), str):
        raise bad_request("'agent_config.type' is required.")
    environment = body.get("environment")
    if environment is not None and not isinstance(environment, str | dict):
        raise bad_request("'environment' must be a string (\"remote\" or an environment id) or an object.")
    echo = {key: body[key] for key in ECHOED if key in body and body[key] is not None}
    return CreateRequest(
        kind=kind,
        name=name,
        input_value=body.get("input"),
        input_steps=normalise_input(body.get("input")) if "input" in body else [],
        stream=flags["stream"] is True,
        store=flags["store"] is not False,
        background=flags["background"] is True,
        previous_interaction_id=_optional(body, "previous_interaction_id", str, "a string"),
        system_instruction=_optional(body, "system_instruction", str, "a string"),
        tools=tools,
        generation_config=generation_config,
        agent_config=agent_config,
        response_format=_response_format(body.get("response_format")),
        environment=environment,
        echo=echo,
    )


def normalise_input(value: Any) -> list[JSON]:
    """Input as a list of steps: a string or content(s) become one `user_input` step."""
    if isinstance(value, str):
        if not value.strip():
            raise bad_request("'input' must not be empty.")
        return [{"type": "user_input", "content": [{"type": "text", "text": value}]}]
    if isinstance(value, dict):
        _content(value, "input", user=True)
        return [{"type": "user_input", "content": [value]}]
    if isinstance(value, list) and value:
        if all(isinstance(v, dict) and v.get("type") in STEP_TYPES for v in value):
            for i, step in enumerate(value):
                _step(step, f"input[{i}]")
            return list(value)
        for i, item in enumerate(value):
            _content(item, f"input[{i}]", user=True)
        return [{"type": "user_input", "content": list(value)}]
    raise bad_request(
        "'input' must be a string, a content object, or a non-empty list of content objects or steps."
    )


def _target(body: JSON) -> tuple[str, str]:
    model, agent = body.get("model"), body.get("agent")
    if model is not None and agent is not None:
        raise bad_request("Specify either 'model' or 'agent', not both.")
    if model is None and agent is None:
        raise bad_request("One of 'model' or 'agent' is required.")
    kind, name = ("model", model) if model is not None else ("agent", agent)
    if not isinstance(name, str) or not name.strip():
        raise bad_request(f"'{kind}' must be a non-empty string.")
    return kind, name.removeprefix("models/").removeprefix("agents/")


def _content(item: Any, where: str, *, user: bool = False) -> None:
    """One content block; `user` content may also carry function results."""
    if not isinstance(item, dict):
        raise bad_request(f"Invalid content at '{where}': expected an object with a 'type'.")
    kind = item.get("type")
    if user and kind == RESULT_BLOCK:
        _function_result(item, where)
        return
    if kind not in CONTENT_TYPES:
        raise bad_request(f"The value '{kind}' is not supported for 'type' at '{where}'.")
    if kind == "text" and not isinstance(item.get("text"), str):
        raise bad_request(f"'text' is required and must be a string at '{where}'.")
    if kind != "text" and not (isinstance(item.get("data"), str) or isinstance(item.get("uri"), str)):
        raise bad_request(f"'{kind}' content needs 'data' or 'uri' at '{where}'.")


def _step(step: JSON, where: str) -> None:
    kind = step["type"]
    if kind in ("user_input", "model_output"):
        content = step.get("content", [])
        if not isinstance(content, list):
            raise bad_request(f"'content' must be a list at '{where}'.")
        for i, item in enumerate(content):
            _content(item, f"{where}.content[{i}]", user=kind == "user_input")
    elif kind == RESULT_BLOCK:
        _function_result(step, where)


def _function_result(item: JSON, where: str) -> None:
    if not isinstance(item.get("call_id"), str):
        raise bad_request(f"'call_id' is required at '{where}'.")
    if "result" not in item:
        raise bad_request(f"'result' is required at '{where}'.")


def validate_tools(value: Any) -> list[JSON]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request("'tools' must be a list.")
    for i, tool in enumerate(value):
        if not isinstance(tool, dict):
            raise bad_request(f"Invalid tool at 'tools[{i}]': expected an object.")
        kind = tool.get("type")
        if kind not in TOOL_TYPES:
            raise bad_request(f"The value '{kind}' is not supported for 'type' at 'tools[{i}]'.")
        if kind == "function" and not (isinstance(tool.get("name"), str) and tool["name"]):
            raise bad_request(f"'name' is required for a function tool at 'tools[{i}]'.")
        if kind == "function" and "parameters" in tool and not isinstance(tool["parameters"], dict):
            raise bad_request(f"'parameters' must be a JSON schema object at 'tools[{i}]'.")
        if kind == "mcp_server":
            _mcp_server(tool, f"tools[{i}]")
    return list(value)


def _mcp_server(tool: JSON, where: str) -> None:
    """A remote MCP server: the URL Google calls, and a name (optional) without hyphens, the documented
    rule."""
    name = tool.get("name", "")
    if not isinstance(name, str) or "-" in name:
        raise bad_request(f"An mcp_server's 'name' must be a string without '-' at '{where}'.")
    if not isinstance(tool.get("url"), str) or not tool["url"].startswith(("https://", "http://")):
        raise bad_request(f"'url' must be the server's http(s) URL at '{where}'.")


def _response_format(value: Any) -> Any:
    items = value if isinstance(value, list) else [value] if value is not None else []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise bad_request(
                f"Invalid response format at 'response_format[{i}]': expected an object with a 'type'."
            )
        if item["type"] not in ("text", "image", "audio", "video"):
            raise bad_request(f"The value '{item['type']}' is not supported for 'type' at 'response_format'.")
        if "schema" in item and not isinstance(item["schema"], dict):
            raise bad_request("'response_format.schema' must be a JSON schema object.")
    return value


def _optional(body: JSON, key: str, kind: type[T], noun: str) -> T | None:
    """The field if it is absent, null or a `kind`; else the gateway's "'key' must be a boolean."."""
    value = body.get(key)
    if value is not None and not isinstance(value, kind):
        raise bad_request(f"'{key}' must be {noun}.")
    return value
