"""The Rasa REST channel and HTTP API, as seen from the web service."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp


class RasaUnavailable(Exception):
    """Rasa did not answer in time or answered with an error."""


class RasaClient:
    """Talks to one or more Rasa servers; each conversation sticks to one of them.

    Conversations are sharded by a stable hash of the sender id, so that the
    per-process lock of each Rasa server keeps one conversation's turns in order.

    With ``failover`` (``SHOP_RASA_FAILOVER``, on in the scale profile) a request that
    cannot *connect* to its server goes to the next one in a fixed ring order
    (``order_for``). Only a refused or unreachable connection counts: the request was
    never sent, so no Rasa server has seen the turn and another may take it. A timeout,
    a dropped connection or an error status after the request went out fails the turn
    (``RasaUnavailable``), because the first server may have processed it, and sending
    it again would record the shopper's message twice (and run its actions twice). The
    exception is a named turn (``metadata.message_id``): our channel recognises it when
    it comes again, so a dropped connection is retried (``request``, ``idempotent``).
    Failover is only safe when every server shares the tracker store and the lock store
    (PostgreSQL and ``RedisLockStore``); with the embedded profile's in-memory lock
    stores two servers could interleave one conversation's turns, so it stays off there.
    """

    def __init__(self, urls: Sequence[str], token: str, timeout_s: float,
                 session: aiohttp.ClientSession | None = None, failover: bool = False) -> None:
        if not urls:
            raise ValueError("at least one Rasa URL is needed (SHOP_RASA_URLS)")
        self.urls = tuple(urls)
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.failover = failover
        self._session = session
        self._fresh: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, connector=aiohttp.TCPConnector(limit=200))

    async def __aenter__(self) -> RasaClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._fresh is not None:
            await self._fresh.close()
            self._fresh = None

    def url_for(self, sender: str) -> str:
        """The conversation's own server (its shard)."""
        return self.order_for(sender)[0]

    def order_for(self, sender: str) -> tuple[str, ...]:
        """The servers a conversation's request may go to, in the order they are tried.

        Its shard first, then the ring onwards (with failover), e.g. with three servers
        and shard 1: servers 1, 2, 0. Every web process computes the same order, so a
        conversation whose shard is down moves to one and the same other server.
        """
        first = zlib.crc32(sender.encode()) % len(self.urls)
        if not self.failover:
            return (self.urls[first],)
        return self.urls[first:] + self.urls[:first]

    async def request(self, method: str, sender: str | None, path: str, *, fresh: bool = False,
                      idempotent: bool = False, **kwargs: Any) -> Any:
        """Send one request to the conversation's server (any server for ``sender=None``) and return its JSON.

        Moves on to the next server only when the connection could not be made (see the class
        docstring); a ``sender=None`` request touches no conversation and may go to any server.
        An ``idempotent`` request (one the server recognises when it comes again: a turn with a
        ``message_id``) also moves on when the connection drops before the answer: first to the
        same server on a new connection (the pool may hold a dead server's idle keep-alive
        connections), then to the next. ``fresh`` uses new connections from the start.

        Raises:
            RasaUnavailable: no server answered, or one answered other than 200, or timed out, or
                the connection of a request that is not idempotent dropped after it was sent.
        """
        bases = self.order_for(sender) if sender is not None else self.urls
        sessions = (self.fresh_session,) if fresh else (
            (self.session, self.fresh_session) if idempotent else (self.session,))
        failed: list[str] = []
        for base in bases:
            url = f"{base}{path}"
            for session in sessions:
                try:
                    async with session.request(method, url, **kwargs) as r:
                        if r.status != 200:
                            raise RasaUnavailable(f"{url} answered {r.status}: {(await r.text())[:200]}")
                        return await r.json(content_type=None)
                except aiohttp.ClientConnectorError as exc:  # never sent: another server may take it
                    failed.append(f"{url}: {exc!r}")
                    break
                except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError) as exc:
                    if not idempotent:
                        raise RasaUnavailable(f"{url}: {exc!r}") from exc  # sent: maybe processed, never twice
                    failed.append(f"{url}: {exc!r}")
                except (aiohttp.ClientError, TimeoutError) as exc:  # maybe still running: never sent twice
                    raise RasaUnavailable(f"{url}: {exc!r}") from exc
        raise RasaUnavailable("; ".join(failed))

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("RasaClient.start() was not awaited")
        return self._session

    @property
    def fresh_session(self) -> aiohttp.ClientSession:
        """A session that opens a new connection per request (for the rare recovery after a drop)."""
        if self._fresh is None:
            self._fresh = aiohttp.ClientSession(timeout=self.timeout,
                                                connector=aiohttp.TCPConnector(force_close=True))
        return self._fresh

    async def send(self, sender: str, message: str, metadata: Mapping[str, Any],
                   fresh: bool = False) -> list[dict[str, Any]]:
        """One user turn through our channel (``bot.rasa_channel``); returns the bot's messages.

        With ``metadata["message_id"]`` Rasa records the turn once: sent again, it answers
        with the turn it already has.
        """
        body = {"sender": sender, "message": message, "metadata": dict(metadata)}
        data = await self.request("POST", sender, "/webhooks/shop/webhook", json=body, fresh=fresh,
                                  idempotent=bool(metadata.get("message_id")))
        return data if isinstance(data, list) else []

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only (``/model/parse``), for the agent copilot and operators.

        It touches no conversation, so it goes to the first server that accepts a
        connection, with or without failover.
        """
        data = await self.request("POST", None, "/model/parse", params={"token": self.token}, json={"text": text})
        return dict(data) if isinstance(data, dict) else {}

    async def load_model(self, model_file: str, timeout_s: float = 300) -> None:
        """Make every Rasa server load ``model_file`` (``PUT /model``), one server at a time.

        Rasa swaps its agent only after the new model has loaded and keeps the lock
        store, and trackers live in the shared tracker store: open conversations go
        on. One server at a time keeps the other shards answering meanwhile.
        """
        for base in self.urls:
            url = f"{base}/model"
            try:
                async with self.session.put(url, params={"token": self.token}, json={"model_file": model_file},
                                            timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
                    if r.status != 204:
                        raise RasaUnavailable(f"{url} answered {r.status}: {(await r.text())[:300]}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise RasaUnavailable(f"{url}: {exc!r}") from exc

    async def model_files(self) -> list[str]:
        """The model each Rasa server is serving (``GET /status``)."""
        found = []
        for base in self.urls:
            try:
                async with self.session.get(f"{base}/status", params={"token": self.token}) as r:
                    found.append(str((await r.json()).get("model_file", "")) if r.status == 200 else "")
            except (aiohttp.ClientError, TimeoutError):
                found.append("")
        return found

    async def ready(self) -> bool:
        """Whether every Rasa server is up with a model loaded."""
        try:
            for base in self.urls:
                async with self.session.get(f"{base}/status", params={"token": self.token}) as r:
                    if r.status != 200 or not (await r.json()).get("model_file"):
                        return False
        except (aiohttp.ClientError, TimeoutError):
            return False
        return True


class RasaConversations:
    """The parts of Rasa's HTTP API the agent console needs: pause, resume, record, execute."""

    def __init__(self, client: RasaClient) -> None:
        self.client = client

    async def _post(self, sender: str, path: str, body: Any, **params: str) -> dict[str, Any]:
        data = await self.client.request("POST", sender, f"/conversations/{sender}/{path}", json=body,
                                         params={"token": self.client.token, **params})
        return data if isinstance(data, dict) else {}

    async def slots(self, sender: str) -> dict[str, Any]:
        """The conversation's slots (``GET /conversations/<sender>/tracker``, no events)."""
        data = await self.client.request("GET", sender, f"/conversations/{sender}/tracker",
                                         params={"token": self.client.token, "include_events": "NONE"})
        slots = data.get("slots") if isinstance(data, dict) else None
        return slots if isinstance(slots, dict) else {}

    async def pause(self, sender: str) -> None:
        await self._post(sender, "tracker/events", [{"event": "pause"}], include_events="NONE")

    async def resume(self, sender: str) -> None:
        """Resume, then ``action_listen`` (without it Rasa does not pick up again: NOTES.md)."""
        await self._post(sender, "tracker/events",
                         [{"event": "resume"}, {"event": "action", "name": "action_listen"}],
                         include_events="NONE")

    async def record_agent_message(self, sender: str, text: str, agent_id: str) -> None:
        """Store an agent's message on the tracker as a bot event (the transcript stays complete)."""
        await self._post(sender, "tracker/events",
                         [{"event": "bot", "text": text, "metadata": {"agent_id": agent_id}}],
                         include_events="NONE")

    async def execute(self, sender: str, action: str) -> list[dict[str, Any]]:
        """Run one action (e.g. ``utter_after_handoff``) and return the messages it produced."""
        data = await self._post(sender, "execute", {"name": action}, include_events="NONE")
        # An executed action is not followed by action_listen, and rules only match a user
        # turn that follows one: without it the shopper's next message gets no answer.
        await self._post(sender, "tracker/events", [{"event": "action", "name": "action_listen"}],
                         include_events="NONE")
        messages = data.get("messages")
        return messages if isinstance(messages, list) else []


class ActionServer:
    """Whether Rasa's action server is up, asked of its ``/health``.

    Rasa 3.6 does not tell its REST channel when the action server is down:
    ``RemoteAction.run`` raises, ``MessageProcessor._run_action`` logs "Bot will
    continue, but the actions events are lost" and the turn answers 200 with
    ``[]`` (or only the replies of template responses). An empty answer is
    therefore ambiguous, and the web service asks here before it speaks for the bot.
    """

    def __init__(self, url: str, client: RasaClient, timeout_s: float = 2.0) -> None:
        self.url = url.rstrip("/")
        self.client = client
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def reachable(self) -> bool:
        try:
            async with self.client.session.get(f"{self.url}/health", timeout=self.timeout) as r:
                return r.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False
