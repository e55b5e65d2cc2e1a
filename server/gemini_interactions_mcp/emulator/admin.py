"""`/_emulator` endpoints: the HTTP face of the Emulator's test hooks (never authenticated).

The config endpoint never returns the API key itself, only whether one is set, so a test that prints
the config cannot leak it.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .config import EmulatorConfig
from .errors import ApiError, bad_request, error_response
from .guard import emulator_of
from .routes_interactions import json_body


def _public_config(config: EmulatorConfig) -> dict[str, Any]:
    body = config.model_dump(exclude={"api_key"})
    body["api_key_set"] = config.api_key is not None
    return body


def _first_error(err: ValidationError) -> str:
    detail = err.errors()[0]
    where = ".".join(str(p) for p in detail["loc"])
    return f"{where}: {detail['msg']}" if where else str(detail["msg"])


async def add_fault(request: Request) -> Response:
    emu = emulator_of(request)
    try:
        body = json_body(await request.body())
        if not isinstance(body, dict):
            raise bad_request("Expected a JSON object describing the fault.")
        fault = emu.add_fault(body)
    except ValidationError as err:
        return error_response(400, f"Invalid fault: {_first_error(err)}")
    except ApiError as err:
        return err.response()
    return JSONResponse(fault.model_dump(exclude_none=True))


async def list_faults(request: Request) -> Response:
    faults = emulator_of(request).pending_faults()
    return JSONResponse({"faults": [f.model_dump(exclude_none=True) for f in faults]})


async def clear_faults(request: Request) -> Response:
    emulator_of(request).clear_faults()
    return JSONResponse({})


async def list_requests(request: Request) -> Response:
    return JSONResponse({"requests": emulator_of(request).requests()})


async def clear_requests(request: Request) -> Response:
    emulator_of(request).clear_requests()
    return JSONResponse({})


async def reset(request: Request) -> Response:
    emulator_of(request).reset()
    return JSONResponse({})


async def get_config(request: Request) -> Response:
    return JSONResponse(_public_config(emulator_of(request).config))


async def update_config(request: Request) -> Response:
    emu = emulator_of(request)
    try:
        body = json_body(await request.body())
        if not isinstance(body, dict):
            raise bad_request("Expected a JSON object of EmulatorConfig fields.")
        config = emu.configure(**body)
    except ValidationError as err:
        return error_response(400, f"Invalid config: {_first_error(err)}")
    except ApiError as err:
        return err.response()
    return JSONResponse(_public_config(config))


ROUTES = [
    Route("/_emulator/faults", add_fault, methods=["POST"]),
    Route("/_emulator/faults", list_faults, methods=["GET"]),
    Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
    Route("/_emulator/requests", list_requests, methods=["GET"]),
    Route("/_emulator/requests", clear_requests, methods=["DELETE"]),
    Route("/_emulator/reset", reset, methods=["POST"]),
    Route("/_emulator/config", get_config, methods=["GET"]),
    Route("/_emulator/config", update_config, methods=["POST"]),
]
