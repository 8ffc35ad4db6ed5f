"""Live delivery of messages to open pages (websockets), per channel.

A channel is a conversation id (the shopper's chat page) or ``AGENTS`` (every agent
console). ``Hub`` delivers inside one web process; it is the embedded default and the
test fake. ``RedisHub`` fans messages out to every web process through Redis pub/sub,
so that an agent served by one process reaches a shopper served by another.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections import defaultdict
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, Protocol

import redis.asyncio
from aiohttp import WSCloseCode, WSMsgType, web
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: The channel every agent console listens on (shopper pages listen on their conversation id).
AGENTS = "agents"


class Socket(Protocol):
    """What the hub needs of an open page: ``web.WebSocketResponse`` has it."""

    async def send_str(self, data: str) -> None: ...

    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...


class Hub:
    """This process's open websockets per channel; ``publish`` delivers to them directly.

    Args:
        send_timeout_s: How long one socket may take to accept a message. A page that
            is slower is closed (it reloads its history when it reconnects), so it cannot
            hold up delivery to everyone else.
    """

    def __init__(self, *, send_timeout_s: float = 5.0) -> None:
        self._sockets: dict[str, set[Socket]] = defaultdict(set)
        self._send_timeout_s = send_timeout_s

    def subscribe(self, channel: str, ws: Socket) -> None:
        self._sockets[channel].add(ws)

    def unsubscribe(self, channel: str, ws: Socket) -> None:
        sockets = self._sockets.get(channel)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[channel]

    def listeners(self, channel: str) -> int:
        """Sockets on ``channel`` in *this* process.

        With several web processes this is not presence: it counts local pages only,
        so no caller may use it to decide whether to publish. (Agent presence is the
        ``online`` flag in the handoff store.)
        """
        return len(self._sockets.get(channel, ()))

    def check(self) -> None:
        """Raise ``HubUnavailable`` if a publish would fail now; callers check before they write.

        In one process delivery cannot fail, so this never raises.
        """

    async def start(self) -> None:
        """Nothing to connect in one process."""

    async def publish(self, channel: str, payload: Mapping[str, Any]) -> None:
        """Send ``payload`` (JSON-serialisable) to every page on ``channel``."""
        await self._deliver(channel, json.dumps(dict(payload)))

    async def close_all(self, code: int = WSCloseCode.GOING_AWAY) -> None:
        """Close every socket of this process (their pages reconnect and reload history)."""
        sockets = [ws for group in self._sockets.values() for ws in group]
        self._sockets.clear()
        await asyncio.gather(*(self._close(ws, code) for ws in sockets))

    async def close(self) -> None:
        """Shutdown: close every socket."""
        await self.close_all()

    async def _deliver(self, channel: str, text: str) -> None:
        """Send one encoded message to this process's sockets on ``channel``; drop those that fail."""
        sockets = list(self._sockets.get(channel, ()))
        results = await asyncio.gather(
            *(asyncio.wait_for(ws.send_str(text), self._send_timeout_s) for ws in sockets), return_exceptions=True)
        failed = [(ws, result) for ws, result in zip(sockets, results, strict=True) if isinstance(result, Exception)]
        for ws, result in failed:
            log.info("dropping a websocket on %s: %r", channel, result)
            self.unsubscribe(channel, ws)
        await asyncio.gather(*(self._close(ws, WSCloseCode.TRY_AGAIN_LATER) for ws, _ in failed))

    async def _close(self, ws: Socket, code: int) -> None:
        # aiohttp closes the transport itself when close() times out or is cancelled.
        with suppress(Exception):
            await asyncio.wait_for(ws.close(code=code), 1.0)


class RedisHub(Hub):
    """Fans messages out to every web process through Redis pub/sub.

    ``publish`` only sends to Redis (channel ``prefix + channel``, the payload as JSON).
    One listener task per process holds a pattern subscription to ``prefix*`` and
    delivers each message to this process's sockets, the publisher's own included, so
    there is a single path and a single order: messages that one process publishes to
    one channel reach every page in the order they were published.

    One pattern rather than a subscription per channel: every process receives every
    message and drops those with no local socket (a dict lookup). With a handful of web
    processes that costs little, and in return opening a page needs no Redis round
    trip, no page can open before its subscription is in place, and a reconnect
    restores one pattern instead of thousands of channels.

    When Redis does not answer, ``check`` and ``publish`` raise ``HubUnavailable``
    within ``timeout_s`` (the web edge answers 503 ``hub_unavailable``), every local
    socket is closed (asking 1013 "try again later": pub/sub keeps nothing, so a page
    must reload its history, which the pages do whenever they reconnect), and the
    listener reconnects with jittered exponential backoff.

    Args:
        url: The Redis URL, e.g. ``redis://127.0.0.1:6379/0``.
        prefix: Prepended to every channel; shops sharing one Redis need different ones.
        timeout_s: The longest a publish or a connection attempt may take.
        ping_interval_s: How long the listener waits in silence before it sends PING;
            no answer within another interval means the connection is dead.
        backoff_s: First and longest pause between reconnection attempts.
        send_timeout_s: See ``Hub``.
    """

    def __init__(self, url: str, *, prefix: str = "shop:ws:", timeout_s: float = 1.0, ping_interval_s: float = 5.0,
                 backoff_s: tuple[float, float] = (0.1, 5.0), send_timeout_s: float = 5.0) -> None:
        super().__init__(send_timeout_s=send_timeout_s)
        self._where = re.sub(r"//[^@/]*@", "//***@", url)  # never log a password
        self._redis = redis.asyncio.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._ping_interval_s = ping_interval_s
        self._backoff_s = backoff_s
        self._up = asyncio.Event()
        self._tried = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    def check(self) -> None:
        if not self._up.is_set():
            raise HubUnavailable(self._where, "not subscribed")

    async def start(self) -> None:
        """Start the listener and wait for its first connection attempt, whatever the outcome.

        Redis away at startup is not fatal: the process serves pages, answers 503 where
        live messages are needed, and the listener keeps trying.
        """
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name=f"redis-hub-listener {self._where}")
        with suppress(TimeoutError):
            async with asyncio.timeout(3 * self._timeout_s):  # connect, subscribe, and a margin
                await self._tried.wait()

    async def publish(self, channel: str, payload: Mapping[str, Any]) -> None:
        """Send ``payload`` to every process's pages on ``channel``.

        Raises:
            HubUnavailable: Redis refused or did not answer within ``timeout_s``.
        """
        text = json.dumps(dict(payload))
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._redis.publish(self._prefix + channel, text)
        except (RedisError, OSError) as exc:  # OSError covers TimeoutError
            raise HubUnavailable(self._where, repr(exc)) from exc

    async def close(self) -> None:
        """Stop the listener, close every socket, then the Redis connections."""
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self._up.clear()
        await self.close_all()
        await self._redis.close(close_connection_pool=True)

    async def _listen(self) -> None:
        """Keep one subscription alive: on failure close local pages, wait, reconnect."""
        first, longest = self._backoff_s
        delay = first
        while True:
            try:
                await self._session()
            except (RedisError, OSError) as exc:
                if self._up.is_set():
                    log.warning("lost Redis at %s (%r): live messages fail until it is back", self._where, exc)
                    delay = first
                elif not self._tried.is_set():
                    log.warning("no Redis at %s (%r): live messages fail until it answers", self._where, exc)
                else:
                    log.debug("Redis at %s still unavailable: %r", self._where, exc)
            except Exception:
                log.exception("the Redis listener failed; reconnecting")
            self._up.clear()
            self._tried.set()
            await self.close_all(WSCloseCode.TRY_AGAIN_LATER)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, longest)

    async def _session(self) -> None:
        """One connection's life: subscribe, then deliver until it fails (it only ends by raising)."""
        async with self._redis.pubsub() as pubsub:
            await pubsub.psubscribe(re.sub(r"([*?\[\]\\])", r"\\\1", self._prefix) + "*")
            confirmed = await pubsub.get_message(timeout=self._timeout_s)
            if confirmed is None or confirmed["type"] != "psubscribe":
                raise TimeoutError(f"no answer to PSUBSCRIBE within {self._timeout_s}s")
            await self._connected()
            pinged = False
            while True:
                message = await pubsub.get_message(timeout=self._ping_interval_s)
                if message is None:
                    if pinged:
                        raise TimeoutError(f"no answer to PING within {self._ping_interval_s}s")
                    await pubsub.ping()
                    pinged = True
                    continue
                pinged = False
                if message["type"] == "pmessage":
                    channel = message["channel"].decode("utf-8", "replace")[len(self._prefix):]
                    await self._deliver(channel, message["data"].decode("utf-8", "replace"))

    async def _connected(self) -> None:
        # A page that opened while Redis was away (between check() and subscribe()) may
        # have missed messages: close it so that it reloads its history.
        await self.close_all(WSCloseCode.TRY_AGAIN_LATER)
        self._up.set()
        self._tried.set()
        log.info("live messages go through Redis at %s (channels %s*)", self._where, self._prefix)


class HubUnavailable(Exception):
    """Redis does not answer, so live messages cannot reach the pages of other web processes."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"Redis at {where} is unavailable ({reason}): live messages cannot be delivered; "
                         "check that Redis runs there, or fix SHOP_REDIS_URL")
        self.where = where
        self.reason = reason


async def serve(request: web.Request, hub: Hub, channel: str) -> web.WebSocketResponse:
    """Hold one page's websocket on ``channel`` until it closes; foreign origins are refused.

    Raises:
        ForeignOrigin: the Origin header names another host (cross-site websocket hijacking).
        HubUnavailable: messages cannot be delivered now; refused before the handshake (503).
    """
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise ForeignOrigin(origin)
    hub.check()
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
