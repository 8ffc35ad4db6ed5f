"""Specification of bot.language: normalisation, detection and the reply language."""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import pytest

import bot.language
from bot.language import counts, detect, dominant, is_han, normalise, reply_language


class TestNormalise:
    """normalise() makes invisible and width differences disappear."""

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("  我要退款  ", "我要退款"),
            ("where   is\tmy\norder", "where is my order"),
            ("ｉＰｈｏｎｅ１５　价保？", "iPhone15 价保?"),  # NFKC: fullwidth, U+3000
            ("价\u200b保", "价保"),  # zero-width space
            ("退\u200c\u200d款", "退款"),  # zero-width non-joiner and joiner
            ("\ufeffhello\u2060world", "helloworld"),  # byte-order mark, word joiner
            ("order\u200e 123\u202e", "order 123"),  # bidirectional marks
            ("a\x00b\x07c", "abc"),  # other control characters are dropped
            ("line one\r\nline two", "line one line two"),
            ("\u200b\u200d\ufeff", ""),  # invisible-only input becomes empty
            ("", ""),
        ],
    )
    def test_normalises(self, raw: str, expected: str) -> None:
        """Each raw text normalises to the expected text."""
        assert normalise(raw) == expected

    def test_is_idempotent(self) -> None:
        """Normalising twice changes nothing more."""
        once = normalise(" ｗｈｅｒｅ\u200b 是 \t我的快递？ ")
        assert normalise(once) == once


class TestDetect:
    """detect() labels a message zh, en, mixed or unknown."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("订单什么时候到？", "zh"),
            ("我要转人工", "zh"),
            ("能价保吗", "zh"),
            ("where is my order?", "en"),
            ("I want a refund", "en"),
            ("Café crème, s'il vous plaît", "en"),  # accented Latin is Latin
            ("ｗｈｅｒｅ ｉｓ ｍｙ ｏｒｄｅｒ", "en"),  # fullwidth Latin is Latin
            ("我的iPhone 15订单什么时候到?", "mixed"),
            ("order 260312004417发货了吗", "mixed"),
            ("where is my 快递", "mixed"),
            ("260312004417", "unknown"),
            ("👍👍", "unknown"),
            ("？！。，", "unknown"),  # CJK punctuation is not Chinese
            ("", "unknown"),
        ],
    )
    def test_detects(self, text: str, expected: str) -> None:
        """Each text gets the expected label."""
        assert detect(text) == expected


class TestCounts:
    """counts() weighs Han characters against Latin words."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("我的iPhone 15订单什么时候到?", (9, 1)),
            ("where is my 快递", (2, 3)),
            ("don't e-mail me", (0, 3)),  # apostrophes and hyphens join a word
            ("SF1234567890", (0, 1)),  # digits are not words
            ("〇々", (2, 0)),  # Han by Unicode, though outside the main block
        ],
    )
    def test_counts(self, text: str, expected: tuple[int, int]) -> None:
        """Each text has the expected (Han characters, Latin words)."""
        assert counts(text) == expected

    @pytest.mark.parametrize(
        ("char", "expected"),
        [("订", True), ("〇", True), ("𠀀", True), ("？", False), ("a", False), ("1", False)],
    )
    def test_is_han(self, char: str, expected: bool) -> None:
        """Only Han characters are Han; CJK punctuation is not."""
        assert is_han(char) is expected


class TestReplyLanguage:
    """reply_language() answers in the shopper's dominant language."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("我的iPhone 15订单什么时候到?", "zh"),
            ("where is my 快递", "en"),
            ("ok 好", "zh"),  # a tie goes to Chinese
            ("please help me with 退款", "en"),
            ("我要退货 refund", "zh"),
            ("12345", None),
        ],
    )
    def test_dominant(self, text: str, expected: str | None) -> None:
        """A mixed message's dominant language is the one with more weight."""
        assert dominant(text) == expected

    @pytest.mark.parametrize(
        ("text", "previous", "expected"),
        [
            ("订单什么时候到", None, "zh"),
            ("订单什么时候到", "en", "zh"),  # a Chinese message switches to Chinese
            ("where is my order", "zh", "en"),
            ("我的iPhone 15订单什么时候到?", "en", "zh"),
            ("where is my 快递", "zh", "en"),
            ("260312004417", "en", "en"),  # no words: keep the previous language
            ("👍", "zh", "zh"),
            ("👍", None, "zh"),  # nothing decides: the default
            ("👍", "fr", "zh"),  # an unknown previous language counts as none
        ],
    )
    def test_reply_language(self, text: str, previous: str | None, expected: str) -> None:
        """Each message is answered in the expected language."""
        assert reply_language(text, previous) == expected

    def test_default_is_a_parameter(self) -> None:
        """A message with no words and no history gets the given default."""
        assert reply_language("260312004417", None, default="en") == "en"


def test_docstring_examples_hold() -> None:
    """The examples in bot.language's docstrings are true."""
    result = doctest.testmod(bot.language)
    assert result.attempted > 0
    assert result.failed == 0


def test_language_imports_no_framework() -> None:
    """bot.language is pure: it imports only the standard library."""
    tree = ast.parse(Path(bot.language.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= {"__future__", "re", "typing", "unicodedata"}
