"""Reading a server's /metrics: one sample's value out of the Prometheus text exposition."""

from __future__ import annotations

import httpx2


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus exposition (0 if absent)."""
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def scrape(url: str) -> str:
    """The server's /metrics text (`url` without the path)."""
    async with httpx2.AsyncClient() as raw:
        response = await raw.get(f"{url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return response.text
