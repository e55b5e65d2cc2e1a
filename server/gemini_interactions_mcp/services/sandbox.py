"""Sandbox files of managed agents: listed, and downloaded into the output folder when a run ends.

An environment belongs to the principal whose run made it (recorded when the run ends); over HTTP no one
else may list it, download from it or run in it, and someone else's id reads like an unknown one (the
local principal owns the key and may use any). `run_agent(download=[...])` names files by path or glob,
relative to the sandbox root (`workspace/notes/*.txt`) or to its workspace (`notes/*.txt`); when the run
finishes they are saved as media (each with a `gemini://media/` link) and listed in the run's output.
Requests made in this process only: a run that outlives a restart ends without its download.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass
from fnmatch import fnmatchcase

from gemini_interactions_mcp.gemini import (
    EnvironmentFile,
    GeminiError,
    Interaction,
    NotFoundError,
    SandboxFilesAPI,
)
from gemini_interactions_mcp.gemini.units import MIB, cap_mb
from gemini_interactions_mcp.services.errors import UnknownHandleError, explain_upstream
from gemini_interactions_mcp.services.media import MediaLibrary, TooLarge
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL
from gemini_interactions_mcp.services.results import SavedMedia
from gemini_interactions_mcp.state import JobRecord, ResourceRecord, Store
from gemini_interactions_mcp.tool_names import ToolName

WORKSPACE = "workspace/"
MAX_FILES = 100
MAX_FILE_BYTES = 100 * MIB
"""The most a downloaded sandbox file may be: counted as it arrives, whatever the listing says."""
MAX_LISTED = 500


def unknown_environment(env_id: str) -> UnknownHandleError:
    return UnknownHandleError(
        f"No sandbox environment {env_id!r} for you: use the environment_id of one of your "
        f"{ToolName.RUN_AGENT} runs."
    )


def matches(path: str, patterns: Sequence[str]) -> bool:
    """Whether a sandbox path is named by a pattern, from the sandbox root or from its workspace."""
    inside = path.removeprefix(WORKSPACE)
    return any(fnmatchcase(path, p.lstrip("/")) or fnmatchcase(inside, p.lstrip("/")) for p in patterns)


@dataclass
class _Pending:
    owner: str
    patterns: list[str]


class SandboxService:
    def __init__(self, *, store: Store, api: SandboxFilesAPI, media: MediaLibrary) -> None:
        self._store = store
        self._api = api
        self._media = media
        self._pending: dict[str, _Pending] = {}

    async def check(self, owner: str, env_id: str) -> str:
        """The environment id, if the owner may use it ("remote" always may)."""
        env_id = env_id.strip().removeprefix("environments/")
        if env_id == "remote" or owner == LOCAL_PRINCIPAL:
            return env_id
        if await self._store.get_resource(owner, "environment", env_id) is None:
            raise unknown_environment(env_id)
        return env_id

    async def download_when_done(self, job: JobRecord, patterns: list[str]) -> None:
        """Download the matching files when the run ends (now, if it already has)."""
        if not patterns:
            return
        current = await self._store.get_job(job.owner, job.interaction_id)
        if current is not None and current.is_finished:
            await self._deliver(current, patterns)
        else:
            self._pending[job.interaction_id] = _Pending(job.owner, patterns)

    async def finishing(self, job: JobRecord, interaction: Interaction, output: str) -> str:
        """A JobService output hook: the run's environment becomes its owner's, and the files asked
        for are downloaded and listed in its output before the run reads as finished."""
        env_id = interaction.environment_id or job.environment_id
        if env_id:
            record = ResourceRecord(owner=job.owner, kind="environment", id=env_id, created=time.time())
            await self._store.put_resource(record)
        pending = self._pending.pop(job.interaction_id, None)
        if pending is None:
            return output
        return output + "\n" + await self._downloaded(job.owner, env_id, pending.patterns)

    async def _deliver(self, job: JobRecord, patterns: list[str]) -> None:
        """For a run that finished before the download was asked for: add it to the stored output."""
        note = await self._downloaded(job.owner, job.environment_id, patterns)
        current = await self._store.get_job(job.owner, job.interaction_id)
        if current is not None:
            await self._store.update_job(
                current.model_copy(update={"output": (current.output or "") + "\n" + note})
            )

    async def _downloaded(self, owner: str, env_id: str | None, patterns: list[str]) -> str:
        """Download, and say what was saved (or why nothing was)."""
        if not env_id:
            lines = ["The run has no sandbox environment: nothing to download."]
        else:
            try:
                saved, lines = await self.download(owner, env_id, patterns)
            except UnknownHandleError as exc:
                lines = [f"Downloading from the sandbox failed: {exc}"]
            else:
                lines = [f"- {m.path or m.name}: {m.uri}" for m in saved] + lines
        return "\n".join(["", "Downloaded from the sandbox:", *lines])

    async def files(self, owner: str, env_id: str) -> list[EnvironmentFile]:
        """Every file of the owner's sandbox (folders walked), up to MAX_LISTED."""
        env_id = await self.check(owner, env_id)
        found: list[EnvironmentFile] = []
        token: str | None = None
        try:
            while len(found) < MAX_LISTED:
                page = await self._api.list(env_id, "", recursive=True, page_size=100, page_token=token)
                found += [f for f in page.files if f.type == "file"]
                token = page.next_page_token
                if not token:
                    break
        except NotFoundError:
            raise unknown_environment(env_id) from None
        except GeminiError as exc:
            raise explain_upstream(exc, what="listing the sandbox") from None
        return found[:MAX_LISTED]

    async def download(
        self, owner: str, env_id: str, patterns: Sequence[str]
    ) -> tuple[list[SavedMedia], list[str]]:
        """Save the sandbox files matching `patterns` as the owner's media; notes on what was not."""
        wanted = [f for f in await self.files(owner, env_id) if matches(f.path, patterns)]
        notes: list[str] = []
        if not wanted:
            notes.append(f"No file matched {', '.join(patterns)}.")
        if len(wanted) > MAX_FILES:
            notes.append(f"{len(wanted)} files matched; the first {MAX_FILES} were downloaded.")
        saved: list[SavedMedia] = []
        too_large = f"over {cap_mb(MAX_FILE_BYTES)}"
        for file in wanted[:MAX_FILES]:
            if (file.size_bytes or 0) > MAX_FILE_BYTES:
                notes.append(f"{file.path}: skipped, {too_large}.")
                continue
            try:
                async with aclosing(self._api.download(env_id, file.path)) as chunks:
                    media = await self._media.save(
                        owner,
                        chunks,
                        file.mime_type or "application/octet-stream",
                        kind="file",
                        source=env_id,
                        label=file.path,
                        name=f"sandbox-{env_id}/{file.path}",
                        limit=MAX_FILE_BYTES,
                    )
            except TooLarge:
                listed = f"listed as {file.size_bytes or 0:,} bytes"
                notes.append(f"{file.path}: not saved, {too_large} when downloaded ({listed}).")
                continue
            except GeminiError as exc:
                notes.append(f"{file.path}: {explain_upstream(exc, what='downloading it')}")
                continue
            except OSError as exc:  # the output folder refused it (full, read-only): the others may fit
                why = exc.strerror or type(exc).__name__
                notes.append(f"{file.path}: not saved, writing it failed ({why}).")
                continue
            saved.append(media)
        return saved, notes

    async def listing(self, owner: str, env_id: str) -> str:
        """The sandbox's files as markdown (what `gemini://environments/{id}` shows)."""
        files = await self.files(owner, env_id)
        lines = [
            f"# Sandbox {env_id}",
            "",
            f"{len(files)} file(s); download with {ToolName.RUN_AGENT}(download=[...]).",
        ]
        lines += [
            f"- `{f.path}` ({f.size_bytes or 0:,} bytes, {f.mime_type or 'unknown type'})" for f in files
        ]
        return "\n".join(lines) + "\n"
