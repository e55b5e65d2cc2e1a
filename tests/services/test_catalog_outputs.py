"""What each model produces, the default model per output, and deprecated image/speech ids."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gemini_interactions_mcp.services.catalog import Catalog


def test_outputs_defaults_and_substitutions() -> None:
    catalog = Catalog.load()
    assert catalog.models_for("image") == ["gemini-3.1-flash-image", "gemini-3-pro-image"]
    assert catalog.models_for("speech") == ["gemini-3.1-flash-tts-preview"]
    assert catalog.output_of("gemini-3.5-flash") == "text" and catalog.output_of("new-model") is None
    for old, new in (
        ("gemini-2.5-flash-image", "gemini-3.1-flash-image"),
        ("gemini-2.5-flash-image-preview", "gemini-3.1-flash-image"),
        ("gemini-3-pro-image-preview", "gemini-3-pro-image"),
        ("gemini-3.1-flash-image-preview", "gemini-3.1-flash-image"),
        ("gemini-2.5-flash-preview-tts", "gemini-3.1-flash-tts-preview"),
        ("gemini-2.5-pro", "gemini-3.5-flash"),
    ):
        resolved = catalog.resolve_model(old)
        assert resolved.id == new and resolved.note and "deprecated" in resolved.note


def test_a_default_must_produce_its_output() -> None:
    data = Catalog.load().as_dict()
    data["default_models"] = {"image": "gemini-3.5-flash"}
    with pytest.raises(ValidationError, match="not a model with that output"):
        Catalog.from_json(json.dumps(data))
