"""The names of the server's tools: one spelling each, for the tools that register them and for every hint
that tells the calling model which tool to call next ("poll again with interaction_id")."""

from __future__ import annotations

from enum import StrEnum


class ToolName(StrEnum):
    ASK = "ask_gemini"
    LIST_CONVERSATIONS = "list_conversations"
    MANAGE_CONVERSATION = "manage_conversation"
    START_RESEARCH = "start_deep_research"
    POLL = "poll_interaction"
    CANCEL = "cancel_interaction"
    MANAGE_AGENT = "manage_agent"
    RUN_AGENT = "run_agent"
    GENERATE_IMAGE = "generate_image"
    SPEAK = "speak"
    MANAGE_FILE_STORE = "manage_file_store"
