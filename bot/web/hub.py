"""Live delivery of messages to open chat pages (websockets), per conversation."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

#: The channel every agent console listens on (shopper pages listen on their conversation id).
AGENTS = "agents"


class Hub:
    """Owns every open websocket; ``close_all`` runs at shutdown."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)

    def subscribe(self, channel: str, ws: web.WebSocketResponse) -> None:
        self._sockets[channel].add(ws)

    def unsubscribe(self, channel: str, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(channel)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[channel]

    def listeners(self, channel: str) -> int:
        return len(self._sockets.get(channel, ()))

    async def publish(self, channel: str, payload: Mapping[str, Any]) -> None:
        sockets = list(self._sockets.get(channel, ()))
        results = await asyncio.gather(*(ws.send_json(dict(payload)) for ws in sockets),
                                       return_exceptions=True)
        for ws, result in zip(sockets, results, strict=True):
            if isinstance(result, Exception):
                log.info("dropping websocket on %s: %r", channel, result)
                self.unsubscribe(channel, ws)

    async def close_all(self) -> None:
        sockets = [ws for group in self._sockets.values() for ws in group]
        self._sockets.clear()
        await asyncio.gather(*(ws.close(code=1001) for ws in sockets), return_exceptions=True)


async def serve(request: web.Request, hub: Hub, channel: str) -> web.WebSocketResponse:
    """Hold one page's websocket on ``channel`` until it closes; foreign origins are refused.

    Raises:
        ForeignOrigin: the Origin header names another host (cross-site websocket hijacking).
    """
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise ForeignOrigin(origin)
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    hub.subscribe(channel, ws)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        hub.unsubscribe(channel, ws)
    return ws


class ForeignOrigin(Exception):
    """A websocket opened from another site's page."""
