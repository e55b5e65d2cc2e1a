"""Files of a managed agent's sandbox (media-files-tools section 8): list a folder, read a file.

`GET /{v}/environments/{env}/files/{path}` lists a folder's entries (all descendants with
`recursive=true`) or describes one file; with `alt=media` it returns the file's bytes. Paths are
relative to the sandbox root (`workspace/notes/turn-1.txt`). A sandbox holds its inline sources and
every file its runs wrote (responders report them in `Run.notes["files"]`).

Two test hooks act on downloads as a real sandbox can: a size listed in
`Resources.environment_listed_sizes` stands in for the true one (a file still growing), and a
`drop_stream` fault cuts the body after `after_events` bytes, short of its Content-Length.
"""

from __future__ import annotations

import base64
import mimetypes

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import uploads
from .emulator import Emulator
from .errors import not_found
from .guard import api, emulator_of, path_of
from .resources import JSON
from .store import EnvironmentRecord
from .views import rfc3339


def sandbox(emu: Emulator, env: EnvironmentRecord) -> dict[str, bytes]:
    """Every file of the sandbox: inline sources first, then what runs wrote (a later write wins)."""
    files: dict[str, bytes] = {}
    for source in env.sources:
        if isinstance(source, dict) and source.get("type") == "inline" and source.get("target"):
            content = str(source.get("content", ""))
            data = base64.b64decode(content) if source.get("encoding") == "base64" else content.encode()
            files[str(source["target"]).lstrip("/")] = data
    files.update(emu.resources.environment_files.get(env.id, {}))
    return files


PIECE = 64 * 1024
"""A file body is sent in pieces of this size, as a real server's arrives: a client reading it whole
would show in its memory."""


class _FileBody(Response):
    """A file's bytes in pieces. With `cut`, the body stops after that many bytes, as a dropped
    connection does: the Content-Length promises the whole file, and the app returns without finishing
    the response (the server then closes the socket)."""

    def __init__(self, data: bytes, media_type: str, cut: int | None = None) -> None:
        super().__init__(media_type=media_type)
        self.raw_headers = [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(data)).encode()),
        ]
        self._data = data
        self._cut = cut

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        end = len(self._data) if self._cut is None else min(self._cut, len(self._data))
        for at in range(0, end, PIECE):
            piece = self._data[at : min(at + PIECE, end)]
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        if self._cut is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def _entry(emu: Emulator, env: EnvironmentRecord, path: str, data: bytes | None) -> JSON:
    stamp = rfc3339(env.last_accessed_wall)
    listed = emu.resources.environment_listed_sizes.get(env.id, {}).get(path)
    return {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "type": "file" if data is not None else "directory",
        "mime_type": (mimetypes.guess_type(path)[0] or "application/octet-stream")
        if data is not None
        else "",
        "size_bytes": str(listed if listed is not None else len(data) if data is not None else 0),
        "created": rfc3339(env.created_wall),
        "modified": stamp,
    }


@api
async def env_files(request: Request) -> Response:
    emu = emulator_of(request)
    env_id = request.path_params["env_id"]
    env = emu.store.environments.get(env_id)
    if env is None:
        raise not_found(f"Environment '{env_id}' was not found.")
    path = request.path_params.get("path", "").strip("/").removeprefix(f"environments/{env_id}/")
    files = sandbox(emu, env)
    if path in files:
        entry = _entry(emu, env, path, files[path])
        if request.query_params.get("alt") == "media":
            drop = emu.faults.take("drop_stream", request.method, path_of(request))
            return _FileBody(files[path], entry["mime_type"], drop.after_events if drop else None)
        return JSONResponse({"files": [entry]})
    prefix = f"{path}/" if path else ""
    below = sorted(p for p in files if p.startswith(prefix))
    if not below:
        raise not_found(f"No file or folder '{path}' in environment '{env_id}'.")
    if request.query_params.get("alt") == "media":
        raise not_found(f"'{path}' is a folder; only files can be downloaded.")
    recursive = request.query_params.get("recursive", "").lower() in ("true", "1")
    entries: dict[str, JSON] = {}
    for full in below:
        parts = full[len(prefix) :].split("/")
        for depth in range(1, len(parts) + 1 if recursive else 2):
            sub = prefix + "/".join(parts[:depth])
            entries.setdefault(sub, _entry(emu, env, sub, files.get(sub) if depth == len(parts) else None))
    listing = [entries[k] for k in sorted(entries)]
    body = uploads.page(request, listing, "files")
    if "nextPageToken" in body:
        body["next_page_token"] = body.pop("nextPageToken")
    return JSONResponse(body)


ROUTES = [
    Route("/{version}/environments/{env_id}/files", env_files, methods=["GET"]),
    Route("/{version}/environments/{env_id}/files/{path:path}", env_files, methods=["GET"]),
]
