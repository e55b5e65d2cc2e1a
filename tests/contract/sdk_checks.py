"""Checks that an SDK-parsed object is fully understood by the SDK (google-genai 3.3.0).

The SDK parses responses leniently: an unknown `type` becomes an `Unknown*` wrapper, a known `type`
whose payload does not validate also becomes one, an unknown enum value becomes `UnrecognizedStr`, an
unknown field lands in `model_extra`, and if the whole body fails validation it is built unvalidated.
Each of those hides an emulator/SDK disagreement, so these helpers surface them with a JSON-path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from google.genai._gaos.types.basemodel import UnrecognizedStr
from google.genai._gaos.utils.serializers import unmarshal
from pydantic import BaseModel

# The SDK's open-union fallbacks (`class Unknown*` under google/genai/_gaos/types/).
UNKNOWN_WRAPPERS = frozenset(
    {
        "UnknownStep",
        "UnknownContent",
        "UnknownAnnotation",
        "UnknownStepDeltaData",
        "UnknownInteractionSSEEvent",
        "UnknownThoughtSummaryContent",
        "UnknownFunctionResultSubcontent",
        "UnknownTool",
        "UnknownInteractionAgentConfig",
        "UnknownTranscriptionMode",
        "UnknownAgentTool",
    }
)
# Open enums whose values are free-form identifiers (custom agent ids, new model names).
OPEN_IDENTIFIERS = frozenset({"model", "agent"})
# Fields on the wire the SDK knowingly leaves undeclared (spec section 5.1: `object` on Interaction).
ALLOWED_EXTRAS = frozenset({("Interaction", "object")})
# Free-form JSON objects (a tool's result object): any key is legitimate there.
OPEN_OBJECTS = frozenset(
    {
        "FunctionResultStepResult",
        "FunctionResultDeltaResult",
        "MCPServerToolResultStepResult",
        "MCPServerToolResultDeltaResult",
    }
)


@dataclass
class Report:
    """What a walk found, each entry a JSON-path plus detail."""

    unknown: list[str] = field(default_factory=list)
    unrecognized: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    types: set[str] = field(default_factory=set)


def walk(value: Any, path: str = "$", report: Report | None = None) -> Report:
    """Visit every model, list and dict under `value` (steps, contents, annotations, deltas, events)."""
    report = report if report is not None else Report()
    if isinstance(value, BaseModel):
        name = type(value).__name__
        report.types.add(name)
        if name in UNKNOWN_WRAPPERS or getattr(value, "is_unknown", False) is True:
            report.unknown.append(f"{path}: {name} {getattr(value, 'raw', value)!r}")
            return report
        for key in value.__pydantic_extra__ or {}:
            if (name, key) not in ALLOWED_EXTRAS and name not in OPEN_OBJECTS:
                report.extras.append(f"{path}.{key} (undeclared on {name})")
        for key, item in value.__dict__.items():
            if isinstance(item, UnrecognizedStr) and key not in OPEN_IDENTIFIERS:
                report.unrecognized.append(f"{path}.{key} = {item!r} (not in the {name} enum)")
            walk(item, f"{path}.{key}", report)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            walk(item, f"{path}[{i}]", report)
    elif isinstance(value, dict):
        for key, item in value.items():
            walk(item, f"{path}.{key}", report)
    return report


def revalidate(obj: BaseModel) -> BaseModel:
    """Validate the object's wire form again, strictly (raises where the SDK silently went lenient)."""
    wire = obj.model_dump(mode="json", by_alias=True, exclude_unset=True)
    parsed: BaseModel = unmarshal(wire, type(obj), coerce_iterables=False, allow_unknown_union_variants=True)
    return parsed


def assert_known(obj: Any, where: str = "") -> Report:
    """Every step/content/annotation/delta/event parsed into a known SDK type, with known enum values."""
    objs = obj if isinstance(obj, list) else [obj]
    report = Report()
    for i, item in enumerate(objs):
        path = f"$[{i}]" if isinstance(obj, list) else "$"
        if isinstance(item, BaseModel):
            walk(revalidate(item), path, report)
        else:
            walk(item, path, report)
    assert not report.unknown, f"{where} parsed into Unknown* wrappers: {report.unknown}"
    assert not report.unrecognized, f"{where} has enum values the SDK does not know: {report.unrecognized}"
    return report


def assert_declared(obj: Any, where: str = "") -> None:
    """Every field the emulator sent is declared by the SDK type that received it."""
    report = walk(obj)
    assert not report.extras, f"{where} carries fields the SDK does not declare: {report.extras}"


def emulator_text(body: dict[str, Any]) -> str:
    """The answer text in a raw emulator Interaction: text blocks of its last `model_output` step."""
    outputs = [s for s in body.get("steps", []) if s.get("type") == "model_output"]
    assert outputs, f"no model_output step in {body.get('id')}"
    return "".join(c["text"] for c in outputs[-1].get("content", []) if c.get("type") == "text")


def validate_create_body(body: dict[str, Any]) -> BaseModel:
    """Validate a create-interaction request body against the SDK's request model, strictly.

    `CreateModelInteraction` or `CreateAgentInteraction` (by `model`/`agent`), in pydantic strict mode
    (no "true"-string booleans, no "5"-string integers), then no undeclared field (a misspelling) and
    no `Unknown*` variant (an unknown tool/step/content type) anywhere. Model and agent ids are open
    enums, which strict mode would refuse for custom ids, so they are checked as plain strings.
    """
    from google.genai._gaos.types.interactions import CreateAgentInteraction, CreateModelInteraction

    kind = "agent" if "agent" in body else "model"
    typ = CreateAgentInteraction if kind == "agent" else CreateModelInteraction
    name = body.get(kind)
    assert isinstance(name, str) and name, f"'{kind}' must be a non-empty string: {name!r}"
    known = "antigravity-preview-05-2026" if kind == "agent" else "gemini-3.5-flash"
    parsed: BaseModel = typ.model_validate({**body, kind: known}, strict=True)
    report = walk(parsed)
    assert not report.unknown, f"request parsed into Unknown* wrappers: {report.unknown}"
    assert not report.extras, f"request has fields the SDK does not declare: {report.extras}"
    assert not report.unrecognized, f"request has enum values the SDK does not know: {report.unrecognized}"
    return parsed


def poll(client: Any, interaction_id: str, timeout: float = 5.0) -> Any:
    """GET until the interaction leaves `in_progress` (the docs' polling loop)."""
    deadline = time.monotonic() + timeout
    while True:
        got = client.interactions.get(interaction_id)
        if got.status != "in_progress" or time.monotonic() > deadline:
            return got
        time.sleep(0.05)
