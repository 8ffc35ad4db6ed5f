"""The shop channel's named turns read the tracker once: the processor reuses the tracker the lookup read.

The channel as a whole (exactly-once turns through real Rasa servers) is exercised by
tests/e2e/test_scale_inflight.py; this pins down the reuse on its own.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_channel import ShopInput, install_tracker_reuse, reusing


class CountingStore:
    def __init__(self) -> None:
        self.reads: list[str] = []

    async def get_or_create_tracker(self, sender: str, append_action_listen: bool = True) -> DialogueStateTracker:
        self.reads.append(sender)
        return DialogueStateTracker.from_events(sender, [])


def processor(store: CountingStore) -> Any:
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
