"""HTTP endpoints of `/{version}/interactions` (create, get, cancel, delete)."""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import service, views
from .errors import bad_request, not_found
from .guard import api, emulator_of, path_of
from .streaming import sse_response, start_index
from .validation import parse_create


def json_body(raw: bytes) -> Any:
    """The parsed body, or a 400 with the gateway's wording for malformed JSON."""
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError as err:
        raise bad_request(f"Invalid JSON payload received. {err}.") from None


def flag(request: Request, *names: str) -> bool:
    """A boolean query parameter (first of its accepted spellings that is present)."""
    for name in names:
        value = request.query_params.get(name)
        if value is None:
            continue
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise bad_request(f"Invalid value '{value}' for query parameter '{name}': expected true or false.")
    return False


@api
async def create_interaction(request: Request) -> Response:
    emu = emulator_of(request)
    req = parse_create(json_body(await request.body()))
    record = service.create(emu, req)
    if req.stream:
        drop = emu.faults.take("drop_stream", request.method, path_of(request))
        return sse_response(emu, record, 0, drop)
    if req.background:
        return JSONResponse(views.interaction(record, 0.0, timeline=False, status="in_progress"))
    remaining = record.run.duration - (emu.now() - record.started)
    if remaining > 0:
        await anyio.sleep(remaining)
    return JSONResponse(views.interaction(record, emu.now() - record.started, timeline=False))


@api
async def get_interaction(request: Request) -> Response:
    emu = emulator_of(request)
    record = service.lookup(emu, request.path_params["iid"])
    stream = flag(request, "stream")
    last_event_id = request.query_params.get("last_event_id") or request.query_params.get("lastEventId")
    if last_event_id is not None and not stream:
        raise bad_request("'last_event_id' can only be used with 'stream=true'.")
    if stream:
        first = start_index(record, last_event_id)
        drop = emu.faults.take("drop_stream", request.method, path_of(request))
        return sse_response(emu, record, first, drop)
    include_input = flag(request, "include_input", "includeInput")
    elapsed = emu.now() - record.started
    return JSONResponse(views.interaction(record, elapsed, timeline=True, include_input=include_input))


@api
async def cancel_interaction(request: Request) -> Response:
    emu = emulator_of(request)
    record = service.cancel(emu, request.path_params["iid"])
    return JSONResponse(views.interaction(record, emu.now() - record.started, timeline=True))


@api
async def post_on_interaction(request: Request) -> Response:
    """`POST /interactions/{id}:cancel`, the colon form older docs show."""
    iid: str = request.path_params["iid"]
    if not iid.endswith(":cancel"):
        raise not_found(f"The requested URL {request.url.path} was not found on this server.")
    emu = emulator_of(request)
    record = service.cancel(emu, iid.removesuffix(":cancel"))
    return JSONResponse(views.interaction(record, emu.now() - record.started, timeline=True))


@api
async def delete_interaction(request: Request) -> Response:
    emu = emulator_of(request)
    iid = request.path_params["iid"]
    if emu.store.interactions.pop(iid, None) is None:
        raise not_found(f"Interaction '{iid}' was not found.")
    return JSONResponse({})


ROUTES = [
    Route("/{version}/interactions", create_interaction, methods=["POST"]),
    Route("/{version}/interactions/{iid}/cancel", cancel_interaction, methods=["POST"]),
    Route("/{version}/interactions/{iid}", get_interaction, methods=["GET"]),
    Route("/{version}/interactions/{iid}", delete_interaction, methods=["DELETE"]),
    Route("/{version}/interactions/{iid}", post_on_interaction, methods=["POST"]),
]
