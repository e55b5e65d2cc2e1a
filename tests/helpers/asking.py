"""An AskService assembled as app.py assembles it, for service-level tests of a turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gemini_interactions_mcp.gemini import InteractionsClient
from gemini_interactions_mcp.services.ask import AskService
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.chain import ConversationChain
from gemini_interactions_mcp.services.conversations import ConversationDirectory
from gemini_interactions_mcp.services.files import FileLoader
from gemini_interactions_mcp.services.heartbeats import Heartbeats
from gemini_interactions_mcp.services.inputs import TurnInputs
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.state import Store


async def quiet(_: str) -> None:
    """A progress sink that shows nothing."""
    return None


def ask_service(
    store: Store,
    client: InteractionsClient,
    jobs: JobService,
    root: Path,
    *,
    chain: ConversationChain | None = None,
    **options: Any,
) -> AskService:
    """The service over `store` reading files under `root`; `options` are AskService's optional parts
    (actions, ledger, ...), `chain` one the test has wired itself."""
    return AskService(
        directory=ConversationDirectory(store),
        chain=chain or ConversationChain(store=store, client=client, jobs=jobs),
        client=client,
        jobs=jobs,
        catalog=Catalog.load(),
        inputs=TurnInputs(FileLoader([root])),
        heartbeats=Heartbeats(),
        **options,
    )
