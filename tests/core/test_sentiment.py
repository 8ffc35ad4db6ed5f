"""Upset shoppers are recognised in both languages; ordinary questions are not."""

from __future__ import annotations

import pytest

from bot.sentiment import is_upset, load_lexicon, upset_score

LEXICON = load_lexicon()


@pytest.mark.parametrize(("text", "upset"), [
    ("我要投诉你们", True),
    ("什么破冰箱，气死我了", True),
    ("太差了，无语", True),
    ("冰箱漏水了", False),
    ("我的订单到哪了", False),
    ("This is unacceptable", True),
    ("worst service ever, total scam", True),
    ("I'm disappointed, it's broken AGAIN", True),
    ("the fridge is leaking", False),
    ("where is my order?", False),
    ("我的iPhone又是坏的!!!", True),
])
def test_upset(text: str, upset: bool) -> None:
    assert is_upset(text, LEXICON) == upset


def test_english_words_match_whole_words_only() -> None:
    assert upset_score("stillwater", LEXICON) == 0
