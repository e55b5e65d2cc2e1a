"""Files of a managed agent's sandbox (media-files-tools section 8): list a folder, read a file.

`GET /{v}/environments/{env}/files/{path}` lists a folder's entries (all descendants with
`recursive=true`) or describes one file; with `alt=media` it returns the file's bytes. Paths are
relative to the sandbox root (`workspace/notes/turn-1.txt`). A sandbox holds its inline sources and
every file its runs wrote (responders report them in `Run.notes["files"]`).
"""

from __future__ import annotations

import base64
import mimetypes

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import uploads
from .emulator import Emulator
from .errors import not_found
from .guard import api, emulator_of
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


def _entry(env: EnvironmentRecord, path: str, data: bytes | None) -> JSON:
    stamp = rfc3339(env.last_accessed_wall)
    return {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "type": "file" if data is not None else "directory",
        "mime_type": (mimetypes.guess_type(path)[0] or "application/octet-stream")
        if data is not None
        else "",
        "size_bytes": str(len(data) if data is not None else 0),
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
        if request.query_params.get("alt") == "media":
            return Response(files[path], media_type=_entry(env, path, files[path])["mime_type"])
        return JSONResponse({"files": [_entry(env, path, files[path])]})
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
            entries.setdefault(sub, _entry(env, sub, files.get(sub) if depth == len(parts) else None))
    listing = [entries[k] for k in sorted(entries)]
    body = uploads.page(request, listing, "files")
    if "nextPageToken" in body:
        body["next_page_token"] = body.pop("nextPageToken")
    return JSONResponse(body)


ROUTES = [
    Route("/{version}/environments/{env_id}/files", env_files, methods=["GET"]),
    Route("/{version}/environments/{env_id}/files/{path:path}", env_files, methods=["GET"]),
]
