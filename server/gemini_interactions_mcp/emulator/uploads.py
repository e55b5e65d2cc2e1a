"""Conventions of the proto-JSON resources (Files, File Search): the resumable upload protocol
(media-files-tools section 5.2), errors, field casing and paging.

`start` answers a `X-Goog-Upload-Command: start` request with an upload URL (the same path plus an
`upload_id`); `receive` takes the commands sent to that URL: `upload` (bytes at `X-Goog-Upload-Offset`,
which must be exactly what has arrived so far), `finalize`, `query` (how many bytes arrived, so a client
resumes from there after a failure) and `cancel`. These proto-JSON resources answer errors in the
Google API shape (numeric code plus status name), not the Interactions one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .emulator import Emulator
from .errors import ApiError, gateway_error
from .resources import JSON, UploadSession
from .routes_agents import decode_token, encode_token

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    413: "INVALID_ARGUMENT",
}
MAX_UPLOAD_BYTES = 2 * 1024**3
"""The Files API's per-file limit (2 GB)."""


class RpcError(ApiError):
    """An error of the proto-JSON resources (Files, File Search): `{"error":{"code":404,...,"status"}}`."""

    def response(self) -> JSONResponse:
        return gateway_error(self.status, _STATUS_NAMES.get(self.status, "FAILED_PRECONDITION"), self.message)


def camel_key(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p.title() for p in rest)


def camel(body: JSON, snake: str) -> Any:
    """A request field in either casing (proto-JSON accepts both): `display_name` or `displayName`."""
    return body.get(snake, body.get(camel_key(snake)))


def start(request: Request, emu: Emulator, target: str, metadata: JSON) -> Response:
    """Open an upload session for `target` ("files" or a store id) and hand out its URL."""
    headers = request.headers
    if headers.get("x-goog-upload-protocol", "").lower() != "resumable":
        raise RpcError(400, "Only the resumable upload protocol is supported (X-Goog-Upload-Protocol).")
    if headers.get("x-goog-upload-command", "").lower() != "start":
        raise RpcError(400, "The first request of an upload must carry 'X-Goog-Upload-Command: start'.")
    try:
        total = int(headers.get("x-goog-upload-header-content-length", ""))
    except ValueError:
        raise RpcError(400, "X-Goog-Upload-Header-Content-Length must give the size in bytes.") from None
    if not 0 < total <= MAX_UPLOAD_BYTES:
        raise RpcError(400, f"Upload size {total} is outside 1 byte to 2 GB.")
    mime = headers.get("x-goog-upload-header-content-type") or camel(metadata, "mime_type")
    if not mime:
        raise RpcError(400, "The MIME type is required (X-Goog-Upload-Header-Content-Type).")
    session = UploadSession(secrets.token_urlsafe(18), target, total, str(mime), metadata)
    emu.resources.uploads[session.id] = session
    url = request.url.replace(query=f"upload_id={session.id}&upload_protocol=resumable")
    return Response(
        status_code=200, headers={"X-Goog-Upload-URL": str(url), "X-Goog-Upload-Status": "active"}
    )


async def receive(request: Request, emu: Emulator, finish: Callable[[UploadSession], JSON]) -> Response:
    """One request to an upload URL; `finish` turns the complete session into the final JSON body."""
    session = emu.resources.uploads.get(request.query_params.get("upload_id", ""))
    if session is None:
        raise RpcError(404, "No such upload session (it may have been cancelled or finished).")
    commands = {c.strip().lower() for c in request.headers.get("x-goog-upload-command", "").split(",")}
    if "query" in commands:
        return _status(session)
    if "cancel" in commands:
        emu.resources.uploads.pop(session.id, None)
        return Response(status_code=200, headers={"X-Goog-Upload-Status": "cancelled"})
    if not commands & {"upload", "finalize"}:
        raise RpcError(400, "X-Goog-Upload-Command must be upload, finalize, query or cancel.")
    if session.finished:
        raise RpcError(400, "This upload is already finalized.")
    body = await request.body()
    session.bytes_posted += len(body)
    if "upload" in commands:
        _append(session, request, body)
    if "finalize" not in commands:
        return _status(session)
    if len(session.received) != session.total:
        raise RpcError(
            400, f"Cannot finalize: received {len(session.received)} of {session.total} announced bytes."
        )
    session.finished = True
    result = finish(session)
    emu.resources.uploads.pop(session.id, None)
    return JSONResponse(result, headers={"X-Goog-Upload-Status": "final"})


def _append(session: UploadSession, request: Request, body: bytes) -> None:
    try:
        offset = int(request.headers.get("x-goog-upload-offset", ""))
    except ValueError:
        raise RpcError(400, "X-Goog-Upload-Offset is required with the upload command.") from None
    if offset != len(session.received):
        raise RpcError(
            400,
            f"Invalid X-Goog-Upload-Offset {offset}: {len(session.received)} bytes have been received; "
            "query the upload to resume.",
        )
    if offset + len(body) > session.total:
        raise RpcError(400, f"More bytes than the {session.total} announced at the start of the upload.")
    session.received += body


def _status(session: UploadSession) -> Response:
    return Response(
        status_code=200,
        headers={
            "X-Goog-Upload-Status": "final" if session.finished else "active",
            "X-Goog-Upload-Size-Received": str(len(session.received)),
        },
    )


def page(request: Request, items: list[JSON], key: str) -> JSON:
    """One page of a proto-JSON list (`pageSize` default 10, at most 100; opaque `pageToken`)."""
    query = request.query_params
    raw = query.get("pageSize") or query.get("page_size")
    try:
        size = min(int(raw), 100) if raw else 10
    except ValueError:
        raise RpcError(400, f"Invalid pageSize '{raw}'.") from None
    if size < 1:
        size = 10
    token = query.get("pageToken") or query.get("page_token")
    offset = decode_token(token) if token else 0
    body: JSON = {key: items[offset : offset + size]}
    if offset + size < len(items):
        body["nextPageToken"] = encode_token(offset + size)
    return body
