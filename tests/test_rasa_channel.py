"""The shop channel's named turns read the tracker once: the processor reuses the tracker the lookup read.

The channel as a whole (exactly-once turns through real Rasa servers) is exercised by
tests/e2e/test_scale_inflight.py; this pins down the reuse on its own.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_channel import ShopInput, install_tracker_reuse, read_strictly, reusing


class CountingStore:
    domain = Domain.empty()
    event_broker = None

    def __init__(self) -> None:
        self.reads: list[str] = []

    async def get_or_create_tracker(self, sender: str, append_action_listen: bool = True) -> DialogueStateTracker:
        self.reads.append(sender)
        return DialogueStateTracker.from_events(sender, [])


class AwayStore(CountingStore):
    """A tracker store whose database is away (PostgreSQL restarting)."""

    async def get_or_create_tracker(self, sender: str, append_action_listen: bool = True) -> DialogueStateTracker:
        raise ConnectionError("server closed the connection unexpectedly")

    async def retrieve(self, sender: str) -> DialogueStateTracker | None:
        raise ConnectionError("server closed the connection unexpectedly")


def processor(store: Any) -> Any:
    """Just what ``MessageProcessor.get_tracker`` reads from its processor."""
    return SimpleNamespace(tracker_store=store, model_metadata=SimpleNamespace(model_id="m", assistant_id="a"))


class TestReusingTheLookedUpTracker:
    def setup_method(self) -> None:
        ShopInput()  # registering the channel installs the reuse, as credentials.yml does

    async def test_the_next_fetch_of_that_conversation_is_the_tracker_already_read(self) -> None:
        store, held = CountingStore(), DialogueStateTracker.from_events("conv-1", [])
        with reusing("conv-1", held):
            assert await MessageProcessor.get_tracker(processor(store), "conv-1") is held
            assert store.reads == []
            again = await MessageProcessor.get_tracker(processor(store), "conv-1")  # only once
        assert again is not held and store.reads == ["conv-1"]

    async def test_another_conversation_is_read_from_the_store(self) -> None:
        store, held = CountingStore(), DialogueStateTracker.from_events("conv-1", [])
        with reusing("conv-1", held):
            other = await MessageProcessor.get_tracker(processor(store), "conv-2")
        assert other.sender_id == "conv-2" and store.reads == ["conv-2"]

    async def test_nothing_is_reused_outside_the_block(self) -> None:
        store, held = CountingStore(), DialogueStateTracker.from_events("conv-1", [])
        with reusing("conv-1", held):
            pass
        assert await MessageProcessor.get_tracker(processor(store), "conv-1") is not held
        assert store.reads == ["conv-1"]

    def test_installing_twice_wraps_once(self) -> None:
        wrapped = MessageProcessor.get_tracker
        install_tracker_reuse()
        assert MessageProcessor.get_tracker is wrapped


class TestTheLookupRead:
    async def test_reads_the_conversation_and_stamps_the_model(self) -> None:
        store = CountingStore()
        tracker = await read_strictly(processor(FailSafeTrackerStore(store)), "conv-1")
        assert (tracker.sender_id, tracker.model_id, tracker.assistant_id) == ("conv-1", "m", "a")
        assert store.reads == ["conv-1"]

    async def test_a_tracker_store_that_is_away_raises_instead_of_handing_out_an_empty_tracker(self) -> None:
        """Rasa's fail-safe wrapper would answer with an empty in-memory tracker; a turn run on it
        would be saved as if the conversation had no history, and the shopper's message lost."""
        failsafe = FailSafeTrackerStore(AwayStore())
        fallback = await MessageProcessor.get_tracker(processor(failsafe), "conv-1")
        assert fallback.events == type(fallback.events)()  # what stock Rasa would run the turn on
        with pytest.raises(ConnectionError):
            await read_strictly(processor(failsafe), "conv-1")
