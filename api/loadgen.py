"""A minimal HTTP/1.1 keep-alive client for load on the producer API (`./run bench api`, the 500-client test).

httpx's async connection pool spends more CPU per request than the API itself does, so with both on one
2-core machine it measured the client, not the server. This client writes the request and reads the status
line, the headers and a Content-Length body over one asyncio connection per simulated client — nothing else.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field


class HttpConnection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: bytes = b"",
                      content_type: str = "application/json") -> tuple[int, bytes]:
        """(status, body); reconnects when the server closed the connection."""
        if self._writer is None:
            await self._connect()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self._writer.write(head + body)
        await self._writer.drain()
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionError(f"the server closed the connection before answering {method} {path}")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        data = await self._reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
            self._writer = self._reader = None


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    statuses: dict[int, int] = field(default_factory=dict)
    wall: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)


async def post_events(host: str, port: int, per_client: list[list[dict]]) -> LoadResult:
    """One connection per client, all clients at once, each posting its events one after another."""
    result = LoadResult()
    bodies = [[json.dumps(e).encode() for e in mine] for mine in per_client]

    async def client(mine: list[bytes]):
        conn = HttpConnection(host, port)
        try:
            for body in mine:
                t0 = time.perf_counter()
                status, _ = await conn.request("POST", "/events", body)
                result.latencies.append(time.perf_counter() - t0)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(mine) for mine in bodies))
    result.wall = time.perf_counter() - t0
    return result
