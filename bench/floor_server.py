"""The floor under `ask_gemini` over HTTP: the SDK's echo server, but its tool makes the one upstream request
a turn costs (a streamed POST to the emulator's interactions endpoint, read to its end) and returns the
number of bytes read. No parsing, no state, no rendering: what is left of `ask_gemini`'s server CPU per
call above this server's is what the project's own code costs.

It uses what our server uses to be cheap: the same HTTP client (httpx2 over our HTTP/1.1 transport), the
same garbage collector settings, uvicorn with asyncio's loop under `anyio.run` (which names the loop's
library once for anyio) and no access log, and httpx2's per-request
INFO log off (the SDK's log handler would otherwise render a line per request: a third of the CPU). The
emulator's URL comes from GEMINI_BASE_URL.

    python bench/floor_server.py PORT
"""

import logging
import os
import sys

import anyio
import httpx2
import uvicorn
from mcp.server.mcpserver import MCPServer

from gemini_interactions_mcp.gemini.http11 import Http11Transport
from gemini_interactions_mcp.transport import collect_garbage_again

server = MCPServer("floor")
upstream = httpx2.AsyncClient(transport=Http11Transport(), base_url=os.environ["GEMINI_BASE_URL"])


@server.tool()
async def echo(text: str) -> str:
    body = {"model": "gemini-3.5-flash", "input": text, "stream": True, "background": True, "store": True}
    read = 0
    async with upstream.stream("POST", "/v1beta/interactions", json=body) as response:
        async for piece in response.aiter_bytes():
            read += len(piece)
    return str(read)


if __name__ == "__main__":
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    app = server.streamable_http_app()
    collect_garbage_again()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=int(sys.argv[1]), loop="asyncio", log_level="warning", access_log=False
    )
    anyio.run(uvicorn.Server(config).serve, backend="asyncio")
