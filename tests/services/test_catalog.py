"""The shipped catalog and the resolution rules: defaults, deprecations, aliases, unknown ids."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gemini_interactions_mcp.services.catalog import Catalog, Resolution

CURRENT_MODELS = [
    "gemini-3.5-flash",
    "gemini-3.1-pro-preview",
    "gemini-3.1-flash-lite",
    "gemini-3-pro-image",
    "gemini-3.1-flash-image",
    "gemini-3.1-flash-tts-preview",
    "gemma-4-31b-it",
    "gemma-4-26b-a4b-it",
]


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.load()


def test_load_is_cached() -> None:
    assert Catalog.load() is Catalog.load()


def test_shipped_models_and_agents(catalog: Catalog) -> None:
    data = catalog.as_dict()
    assert [m["id"] for m in data["models"]] == CURRENT_MODELS
    assert all(m["description"] for m in data["models"] + data["agents"])
    assert {a["id"] for a in data["agents"]} == {
        "deep-research-preview-04-2026",
        "deep-research-max-preview-04-2026",
        "antigravity-preview-05-2026",
    }
    json.dumps(data)  # plain JSON data for the resource


@pytest.mark.parametrize("model", CURRENT_MODELS)
def test_current_models_resolve_to_themselves(catalog: Catalog, model: str) -> None:
    assert catalog.resolve_model(model) == Resolution(model)


@pytest.mark.parametrize("requested", [None, "", "  "])
def test_no_model_means_the_default(catalog: Catalog, requested: str | None) -> None:
    assert catalog.resolve_model(requested) == Resolution("gemini-3.5-flash")


@pytest.mark.parametrize(
    "old", ["gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-2.0-flash", "gemini-1.5-pro"]
)
def test_deprecated_models_are_replaced_with_a_note(catalog: Catalog, old: str) -> None:
    resolution = catalog.resolve_model(old)
    assert resolution == Resolution(
        "gemini-3.5-flash", f"{old} is deprecated; used gemini-3.5-flash instead."
    )


def test_unknown_model_is_passed_through_with_a_note(catalog: Catalog) -> None:
    resolution = catalog.resolve_model(" gemini-9-ultra ")
    assert resolution.id == "gemini-9-ultra"
    assert resolution.note is not None and "does not know gemini-9-ultra" in resolution.note
    assert "API decides" in resolution.note


def test_an_agent_deprecation_does_not_apply_to_models(catalog: Catalog) -> None:
    assert (
        catalog.resolve_model("deep-research-pro-preview-12-2025").id == "deep-research-pro-preview-12-2025"
    )


@pytest.mark.parametrize(
    ("requested", "resolved"),
    [
        ("fast", "deep-research-preview-04-2026"),
        ("max", "deep-research-max-preview-04-2026"),
        ("deep-research-max-preview-04-2026", "deep-research-max-preview-04-2026"),
        ("antigravity-preview-05-2026", "antigravity-preview-05-2026"),
    ],
)
def test_agents_and_aliases(catalog: Catalog, requested: str, resolved: str) -> None:
    assert catalog.resolve_agent(requested) == Resolution(resolved)


def test_deprecated_agent_is_replaced_with_a_note(catalog: Catalog) -> None:
    resolution = catalog.resolve_agent("deep-research-pro-preview-12-2025")
    assert resolution.id == "deep-research-preview-04-2026"
    assert resolution.note == (
        "deep-research-pro-preview-12-2025 is deprecated; used deep-research-preview-04-2026 instead."
    )


def test_custom_agents_pass_silently_but_unknown_builtin_looking_ids_get_a_note(catalog: Catalog) -> None:
    assert catalog.resolve_agent("my-reviewer") == Resolution("my-reviewer")
    unknown = catalog.resolve_agent("deep-research-preview-01-2030")
    assert unknown.id == "deep-research-preview-01-2030" and unknown.note is not None


@pytest.mark.parametrize(
    ("agent", "kind"),
    [
        ("fast", "deep-research"),
        ("deep-research-pro-preview-12-2025", "deep-research"),
        ("deep-research-max-preview-04-2026", "deep-research"),
        ("antigravity-preview-05-2026", "managed"),
        ("antigravity-preview-09-2026", "managed"),
        ("my-reviewer", "custom"),
    ],
)
def test_kind_of_agent(catalog: Catalog, agent: str, kind: str) -> None:
    assert catalog.kind_of_agent(agent) == kind


def test_markdown_lists_everything_briefly(catalog: Catalog) -> None:
    page = catalog.render_markdown()
    for model in CURRENT_MODELS:
        assert f"`{model}`" in page
    assert "`gemini-3.5-flash` (default)" in page
    assert "alias `fast`" in page and "`gemini-2.5-*` -> `gemini-3.5-flash`" in page
    assert len(page) < 3000


@pytest.mark.parametrize(
    "broken",
    [
        {"default_model": "nope"},
        {"default_managed_agent": "deep-research-preview-04-2026"},
        {"deprecations": [{"pattern": "x-*", "replacement": "missing"}]},
        {"agents": [{"id": "a", "kind": "managed", "aliases": ["a"], "description": "d"}]},
        {"unexpected": 1},
    ],
)
def test_inconsistent_catalog_data_is_rejected(catalog: Catalog, broken: dict[str, object]) -> None:
    data = {**catalog.as_dict(), **broken}
    with pytest.raises(ValidationError):
        Catalog.from_json(json.dumps(data))
