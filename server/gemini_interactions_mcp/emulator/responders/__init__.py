"""Responders: deterministic stand-ins for the model, Deep Research and managed agents."""

from __future__ import annotations

from ..plan import Run
from . import agents, image, model, research, speech
from .common import TurnContext

__all__ = ["TurnContext", "respond"]


def respond(ctx: TurnContext) -> Run:
    """Dispatch on what the request targets (the service has already resolved the agent kind)."""
    if ctx.request.kind == "model":
        if ctx.request.name in image.IMAGE_MODELS:
            return image.respond(ctx)
        if speech.is_speech_model(ctx.request.name):
            return speech.respond(ctx)
        return model.respond(ctx)
    if ctx.request.name in research.AGENTS:
        return research.respond(ctx)
    return agents.respond(ctx)
