"""The Files API (media-files-tools section 5): resumable upload, get, list, delete, expiry after 48 h.

Video and audio files stay PROCESSING for `file_processing_seconds` before they turn ACTIVE (other
kinds are ACTIVE at once); an interaction that references a file by `uri` is refused while the file is
not ACTIVE, and after it expired or was deleted, as the service refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import references, uploads
from .emulator import Emulator
from .guard import api, emulator_of
from .resources import JSON, FileRecord, UploadSession
from .routes_interactions import json_body
from .uploads import RpcError, camel
from .views import rfc3339

_FILE_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_ALNUM = string.ascii_lowercase + string.digits


def _processing(mime: str) -> bool:
    return mime.startswith(("video/", "audio/"))


def resource(emu: Emulator, record: FileRecord) -> JSON:
    """The File resource in proto-JSON (camelCase; int64 as a string)."""
    body: JSON = {
        "name": f"files/{record.id}",
        "mimeType": record.mime_type,
        "sizeBytes": str(len(record.data)),
        "createTime": rfc3339(record.created_wall),
        "updateTime": rfc3339(record.created_wall),
        "expirationTime": rfc3339(record.expires_wall),
        "sha256Hash": record.sha256,
        "uri": record.uri,
        "state": references.file_state(emu, record),
        "source": "UPLOADED",
    }
    if record.display_name:
        body["displayName"] = record.display_name
    return body


def _new_id(emu: Emulator, metadata: JSON) -> str:
    wanted = camel(metadata, "name")
    if wanted is None:
        return "".join(secrets.choice(_ALNUM) for _ in range(12))
    file_id = str(wanted).removeprefix("files/")
    if not _FILE_ID.fullmatch(file_id):
        raise RpcError(
            400,
            f"Invalid file name '{wanted}': up to 40 lowercase letters, digits or dashes, not at the ends.",
        )
    if references.live_file(emu, file_id) is not None:
        raise RpcError(409, f"File files/{file_id} already exists.")
    return file_id


def _finish(emu: Emulator, request: Request) -> Any:
    def finish(session: UploadSession) -> JSON:
        file_id = _new_id(emu, session.metadata)
        data = bytes(session.received)
        now = emu.now()
        delay = emu.config.file_processing_seconds if _processing(session.mime_type) else 0.0
        base = f"{request.url.scheme}://{request.url.netloc}"
        record = FileRecord(
            id=file_id,
            display_name=camel(session.metadata, "display_name"),
            mime_type=session.mime_type,
            data=data,
            sha256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
            created_wall=emu.wall(),
            created=now,
            ready_at=now + delay,
            expires_wall=emu.wall() + emu.config.file_ttl_seconds,
            uri=f"{base}/{request.path_params['version']}/files/{file_id}",
        )
        emu.resources.files[file_id] = record
        return {"file": resource(emu, record)}

    return finish


@api
async def upload(request: Request) -> Response:
    """`POST /upload/{v}/files`: starts a session, or (with `upload_id`) carries its bytes."""
    emu = emulator_of(request)
    if "upload_id" in request.query_params:
        return await uploads.receive(request, emu, _finish(emu, request))
    body = json_body(await request.body()) or {}
    metadata = body.get("file") if isinstance(body, dict) else None
    if not isinstance(metadata, dict):
        metadata = {}
    _new_id(emu, metadata)  # refuse a bad or taken name before any byte is sent
    return uploads.start(request, emu, "files", metadata)


@api
async def get_file(request: Request) -> Response:
    emu = emulator_of(request)
    file_id = request.path_params["file_id"]
    record = references.live_file(emu, file_id)
    if record is None:
        raise RpcError(404, f"File files/{file_id} was not found.")
    return JSONResponse(resource(emu, record))


@api
async def list_files(request: Request) -> Response:
    emu = emulator_of(request)
    live = [f for f in list(emu.resources.files) if references.live_file(emu, f) is not None]
    records = sorted((emu.resources.files[f] for f in live), key=lambda r: -r.created_wall)
    return JSONResponse(uploads.page(request, [resource(emu, r) for r in records], "files"))


@api
async def delete_file(request: Request) -> Response:
    emu = emulator_of(request)
    file_id = request.path_params["file_id"]
    if references.live_file(emu, file_id) is None:
        raise RpcError(404, f"File files/{file_id} was not found.")
    del emu.resources.files[file_id]
    return JSONResponse({})


ROUTES = [
    Route("/upload/{version}/files", upload, methods=["POST"]),
    Route("/{version}/files", list_files, methods=["GET"]),
    Route("/{version}/files/{file_id}", get_file, methods=["GET"]),
    Route("/{version}/files/{file_id}", delete_file, methods=["DELETE"]),
]
