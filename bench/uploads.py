"""Large inputs: what a 30 MB file costs on its first call (upload) and on later ones (reuse).

.venv/bin/python -m bench.uploads

The server runs in process against the emulator on a loopback socket (so the bytes really cross a
connection); each figure is the median of a few calls.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig
from tests.helpers.servers import ServerThread

MIB = 1024 * 1024
SIZE = 30 * MIB
ROUNDS = 3


async def ask(client: Client, path: Path) -> float:
    started = time.perf_counter()
    result = await client.call_tool("ask_gemini", {"prompt": "Summarise.", "files": [str(path)]})
    assert not result.is_error
    return time.perf_counter() - started


async def main() -> None:
    firsts: list[float] = []
    reuses: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for round_number in range(ROUNDS):
            path = Path(folder) / f"big-{round_number}.pdf"
            path.write_bytes(b"%PDF-1.7\n" + bytes([round_number]) * (SIZE - 9))
            app = create_app(EmulatorConfig())
            with ServerThread(app, lifespan="off") as emulator:
                settings = ServerSettings(state="memory", allow_dirs=(Path(folder),))
                config = ClientConfig(base_url=emulator.url, api_key=None)
                async with Client(build_server(settings, client_config=config)) as client:
                    firsts.append(await ask(client, path))
                    reuses.append(await ask(client, path))
                chunks = [r for r in app.state.emulator.requests() if "upload_id" in r["query"]]
    print(f"30 MB PDF, {len(chunks)} chunk requests per upload (8 MiB chunks)")
    print(f"first call (hash + upload + answer): median {statistics.median(firsts):.2f} s")
    print(f"later call (hash + metadata check + answer): median {statistics.median(reuses):.2f} s")


if __name__ == "__main__":
    anyio.run(main)
