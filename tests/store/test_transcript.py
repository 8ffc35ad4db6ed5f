"""The transcript: a turn's replies are stored all together or not at all."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.transcript import SqlTranscript


class TestAppendMany:
    @pytest.mark.parametrize("texts", [["您好！", "请问有什么可以帮您？"], ["Hello!", "How can I help?"]])
    def test_the_replies_of_a_turn_are_stored_in_order(self, engine: Engine, now: datetime,
                                                        texts: list[str]) -> None:
        transcript = SqlTranscript(engine)
        stored = transcript.append_many("conv-1", "bot", [(t, (), None) for t in texts], now)
        assert [m.text for m in transcript.history("conv-1")] == texts == [m.text for m in stored]

    @pytest.mark.parametrize("texts", [["订单已发货", "物流单号 SF1"], ["Your order has shipped", "Tracking SF1"]])
    def test_a_reply_that_cannot_be_written_takes_the_others_with_it(self, engine: Engine, now: datetime,
                                                                     texts: list[str]) -> None:
        """The second insert fails (its card is not JSON): the first is rolled back with it."""
        transcript = SqlTranscript(engine)
        with pytest.raises(sa.exc.StatementError):
            transcript.append_many("conv-1", "bot", [(texts[0], (), None), (texts[1], (), {"x": object()})], now)
        assert transcript.history("conv-1") == []
