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
    """

    def __init__(self, urls: Sequence[str], token: str, timeout_s: float,
                 session: aiohttp.ClientSession | None = None) -> None:
        if not urls:
            raise ValueError("at least one Rasa URL is needed (SHOP_RASA_URLS)")
        self.urls = tuple(urls)
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, connector=aiohttp.TCPConnector(limit=200))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def url_for(self, sender: str) -> str:
        return self.urls[zlib.crc32(sender.encode()) % len(self.urls)]

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("RasaClient.start() was not awaited")
        return self._session

    async def send(self, sender: str, message: str, metadata: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One user turn through the REST channel; returns the bot's messages."""
        url = f"{self.url_for(sender)}/webhooks/rest/webhook"
        body = {"sender": sender, "message": message, "metadata": dict(metadata)}
        try:
            async with self.session.post(url, json=body) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"{url} answered {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"{url}: {exc!r}") from exc
        return data if isinstance(data, list) else []

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only (``/model/parse``), for the agent copilot and operators."""
        url = f"{self.urls[0]}/model/parse"
        try:
            async with self.session.post(url, params={"token": self.token}, json={"text": text}) as r:
                if r.status != 200:
                    raise RasaUnavailable(f"{url} answered {r.status}")
                return dict(await r.json())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"{url}: {exc!r}") from exc

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
