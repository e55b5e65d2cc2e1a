"""manage_file_store: File Search stores and their documents, searched with ask_gemini or research."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from gemini_interactions_mcp.tool_names import ToolName
from gemini_interactions_mcp.tools._common import AppContext, app_state, principal, run_service
from gemini_interactions_mcp.tools.outputs import FileStoreOutput
from gemini_interactions_mcp.tools.roots import client_roots

DESCRIPTION = (
    "File Search stores: create, list, get, delete, add (files or folders; a job to poll), documents, "
    f"delete_document. Search them with {ToolName.ASK}(file_search_stores)."
)
Action = Literal["create", "list", "get", "delete", "add", "documents", "delete_document"]
NEEDS_STORE = frozenset({"get", "delete", "add", "documents"})


def _text(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name=ToolName.MANAGE_FILE_STORE,
        title="Manage File Search stores",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True),
    )
    async def manage_file_store(
        action: Action,
        ctx: AppContext,
        store: str | None = None,
        name: Annotated[
            str | None, Field(description="create: display name; delete_document: its name.")
        ] = None,
        files: Annotated[list[str] | None, Field(description="add: files or folders.")] = None,
        page_token: str | None = None,
    ) -> Annotated[CallToolResult, FileStoreOutput]:
        service = app_state(ctx).file_stores
        owner = principal()
        if action in NEEDS_STORE and not store:
            raise ToolError(f"action={action!r} needs `store`.")
        if action == "create":
            created = await run_service(service.create(owner, name))
            text = f"Created {created['name']}. Add files with action='add'."
            return _text(text, {"store": created})
        if action == "list":
            page = await run_service(service.page(owner, page_token))
            lines = [
                f"- {s['name']}: {s.get('display_name') or s.get('displayName') or ''}" for s in page.stores
            ]
            if page.next_page_token:
                lines.append(f"More: call again with page_token={page.next_page_token!r}.")
            return _text("\n".join(lines) or "No stores yet: action='create' makes one.", page.model_dump())
        if action == "delete_document":
            if not name:
                raise ToolError("action='delete_document' needs `name` (the document's name).")
            await run_service(service.delete_document(owner, name))
            return _text(f"Deleted {name}.", {"deleted": name})
        assert store is not None
        if action == "get":
            found = await run_service(service.get(owner, store))
            return _text(json.dumps(found, indent=1), {"store": found})
        if action == "delete":
            await run_service(service.delete(owner, store))
            return _text(f"Deleted {store} and its documents.", {"deleted": store})
        if action == "documents":
            docs = await run_service(service.documents(owner, store, page_token))
            lines = [
                f"- {d['name']}: {d.get('display_name', '')} ({d.get('state', '')})" for d in docs.documents
            ]
            return _text("\n".join(lines) or "No documents yet.", docs.model_dump())
        roots = await client_roots(ctx)
        job = await run_service(service.add(owner, store, files or [], roots))
        text = (
            f"Adding files to {store} in the background: {ToolName.POLL} with "
            f"interaction_id={job.interaction_id!r} shows each file's status."
        )
        return _text(text, {"interaction_id": job.interaction_id, "status": job.status})
