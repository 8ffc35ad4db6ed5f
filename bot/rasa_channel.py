"""Rasa's REST channel, plus exactly-once turns: ``POST /webhooks/shop/webhook``.

Registered in ``credentials.yml`` as ``bot.rasa_channel.ShopInput`` (a Rasa custom
channel: ``rasa run``, ``rasa shell`` and the HTTP API are unchanged). It takes the same
body as the REST channel, ``{"sender", "message", "metadata"}``, and answers the same list
of messages. When ``metadata.message_id`` is set (the web service always sets it for
shopper messages), the turn happens once: under the conversation's lock (the same lock
``Agent.handle_message`` takes, shared between servers by ``RedisLockStore``) the
channel looks for a user event with that id in the tracker, answers with that turn's
bot messages if there is one (``bot.turns.replies_after``), and runs the turn
otherwise. A request resent after a server died mid-turn, or after the web process
carrying it died, so never records the shopper's message twice, nor runs its actions
twice.

The turn then reuses the tracker the lookup read (``reusing``): still under the lock,
nobody can have changed it, so the processor's own fetch would read the same events
from the tracker store a second time (a few milliseconds on every turn). The lookup
reads past Rasa's ``FailSafeTrackerStore`` (``read_strictly``): when the tracker store
fails, that wrapper hands out an empty in-memory tracker, and a turn run on it would
be saved as if the conversation had no history, losing the shopper's message (seen
with PostgreSQL coming back after an outage). A failed read is a 500 instead, which
the web service answers with a 503 the chat page retries.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.turns import replies_after

log = logging.getLogger(__name__)

#: A tracker read under the conversation's lock, for the processor's next fetch of it.
_prefetched: ContextVar[tuple[str, DialogueStateTracker] | None] = ContextVar("shop_prefetched", default=None)


@contextlib.contextmanager
def reusing(sender: str, tracker: DialogueStateTracker) -> Iterator[None]:
    """The next ``MessageProcessor.get_tracker(sender)`` in this task returns ``tracker``, once.

    Only for a tracker just read under ``sender``'s lock and not changed since.
    Needs ``install_tracker_reuse()``; without it the processor simply reads again.
    """
    token = _prefetched.set((sender, tracker))
    try:
        yield
    finally:
        _prefetched.reset(token)


async def read_strictly(processor: MessageProcessor, sender: str) -> DialogueStateTracker:
    """``processor.get_tracker(sender)``, but a tracker-store error raises instead of falling back.

    Rasa's ``FailSafeTrackerStore`` answers a failed read with a tracker from an in-memory
    store; this reads the store it wraps, and stamps the model as ``get_tracker`` does.
    """
    store = processor.tracker_store
    inner = store._tracker_store if isinstance(store, FailSafeTrackerStore) else store
    tracker = await inner.get_or_create_tracker(sender, append_action_listen=False)
    tracker.model_id = processor.model_metadata.model_id
    if tracker.assistant_id is None:
        tracker.assistant_id = processor.model_metadata.assistant_id
    return tracker


def install_tracker_reuse() -> None:
    """Make ``MessageProcessor.get_tracker`` honour ``reusing`` (once; later calls do nothing)."""
    original = MessageProcessor.get_tracker
    if getattr(original, "_shop_reuse", False):
        return

    async def get_tracker(self: MessageProcessor, conversation_id: str) -> DialogueStateTracker:
        held = _prefetched.get()
        if held is not None and held[0] == conversation_id:
            _prefetched.set(None)
            return held[1]
        return await original(self, conversation_id)

    get_tracker._shop_reuse = True  # type: ignore[attr-defined]
    MessageProcessor.get_tracker = get_tracker  # type: ignore[method-assign]


class ShopInput(InputChannel):
    def __init__(self) -> None:
        install_tracker_reuse()

    @classmethod
    def name(cls) -> str:
        return "shop"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        shop_webhook = Blueprint(f"shop_webhook_{type(self).__name__}",
                                 inspect.getmodule(self).__name__)  # type: ignore[union-attr]

        @shop_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @shop_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            given = body.get("metadata")
            metadata: dict[str, Any] = given if isinstance(given, dict) else {}
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json({"error": "sender and message (strings) are required"}, status=400)
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata)
            message_id = metadata.get("message_id")
            if not isinstance(message_id, str) or not message_id:
                await on_new_message(message)
                return response.json(collector.messages)
            agent = request.app.ctx.agent
            async with agent.lock_store.lock(sender):
                tracker = await read_strictly(agent.processor, sender)
                done = replies_after([e.as_dict() for e in tracker.events], message_id, sender)
                if done is not None:
                    log.info("turn %s of %s was recorded before: answered from the tracker", message_id, sender)
                    return response.json(done)
                with reusing(sender, tracker):
                    await agent.processor.handle_message(message)
            return response.json(collector.messages)

        return shop_webhook
