"""Which language a shopper writes in, and which language to answer in.

Pure functions over strings: no framework, no I/O. The Rasa components in
``bot.nlu`` and the web edge are adapters around them.

The shop serves Chinese (``"zh"``) and English (``"en"``). Shoppers often
switch code inside one message ("我的iPhone 15订单什么时候到?"), so detection
counts two things:

* Han characters (CJK punctuation such as "，" or "？" does not count), and
* Latin words (runs of Latin letters, "iPhone" or "don't"; digits do not count).

Example:
    >>> detect("我的iPhone 15订单什么时候到?")
    'mixed'
    >>> reply_language("我的iPhone 15订单什么时候到?")
    'zh'
    >>> reply_language("where is my 快递")
    'en'
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["zh", "en"]
"""A language the shop answers in."""

Detected = Literal["zh", "en", "mixed", "unknown"]
"""What :func:`detect` can say about a message."""

# Han script code points: the Unified Ideographs, Extension A, the compatibility
# ideographs and the supplementary planes (Extensions B to H), plus the iteration
# mark 々 and the ideographic zero 〇, which Unicode also assigns to Han.
_HAN = (
    "\u3005\u3007"
    "\u3400-\u4dbf"
    "\u4e00-\u9fff"
    "\uf900-\ufaff"
    "\U00020000-\U0003134f"
)
# Latin letters: ASCII, Latin-1 (without × and ÷), Latin Extended-A/B,
# Latin Extended Additional (Vietnamese) and the fullwidth forms "ｉＰｈｏｎｅ".
_LATIN = (
    "A-Za-z"
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
    "\u1e00-\u1eff"
    "\uff21-\uff3a\uff41-\uff5a"
)
_HAN_CHAR = re.compile(f"[{_HAN}]")
# An apostrophe or hyphen inside a word keeps it one word: "don't", "e-mail".
_LATIN_WORD = re.compile(f"[{_LATIN}]+(?:['\u2019-][{_LATIN}]+)*")


def is_han(char: str) -> bool:
    """Whether one character is a Han (Chinese) character.

    Args:
        char: A single character.

    Returns:
        ``True`` for "订" or "〇", ``False`` for "？", "a" or "1".
    """
    return _HAN_CHAR.fullmatch(char) is not None


def normalise(text: str) -> str:
    """Normalises a shopper's message before anything reads it.

    Steps, in order:

    1. Unicode NFKC: fullwidth "ｉＰｈｏｎｅ１５？" becomes "iPhone15?" and the
       ideographic space becomes a plain space.
    2. Invisible format characters are removed: the zero-width space, non-joiner
       and joiner (U+200B to U+200D), the word joiner (U+2060), the byte-order
       mark (U+FEFF) and every other Unicode "format" (Cf) character, such as
       bidirectional marks and soft hyphens.
    3. Whitespace controls (newline, tab, carriage return, ...) become spaces;
       all other control characters are removed.
    4. Runs of whitespace collapse to one space, and the ends are stripped.

    A message made only of invisible characters normalises to ``""``; callers
    should reject it rather than classify it.

    Args:
        text: The raw message text.

    Returns:
        The normalised text.

    Example:
        >>> normalise(" 价\\u200b保\\t多少钱？\\n")
        '价保 多少钱?'
        >>> normalise("\\u200b\\ufeff")
        ''
    """
    kept = []
    for char in unicodedata.normalize("NFKC", text):
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char) not in ("Cf", "Cc"):
            kept.append(char)
    return " ".join("".join(kept).split())


def counts(text: str) -> tuple[int, int]:
    """Counts the Han characters and the Latin words in a text.

    Args:
        text: Any text; it need not be normalised.

    Returns:
        ``(han_characters, latin_words)``.

    Example:
        >>> counts("我的iPhone 15订单什么时候到?")
        (9, 1)
        >>> counts("where is my 快递")
        (2, 3)
    """
    return len(_HAN_CHAR.findall(text)), len(_LATIN_WORD.findall(text))


def detect(text: str) -> Detected:
    """Says which languages a message is written in.

    Args:
        text: Any text; it need not be normalised.

    Returns:
        ``"zh"`` if it has Han characters only, ``"en"`` if it has Latin words
        only, ``"mixed"`` if it has both, and ``"unknown"`` if it has neither
        (digits, emoji or punctuation only).

    Example:
        >>> detect("订单什么时候到？")
        'zh'
        >>> detect("where is my order?")
        'en'
        >>> detect("order 260312004417发货了吗")
        'mixed'
        >>> detect("260312004417 👍")
        'unknown'
    """
    han, latin = counts(text)
    if han and latin:
        return "mixed"
    if han:
        return "zh"
    if latin:
        return "en"
    return "unknown"


def dominant(text: str) -> Language | None:
    """The language most of a message is written in.

    Han characters are weighed against Latin words, and a tie goes to Chinese:
    a Chinese word is usually one or two characters, so a sentence with as
    many Han characters as Latin words is mostly Chinese.

    Args:
        text: Any text; it need not be normalised.

    Returns:
        ``"zh"`` or ``"en"``, or ``None`` if the text has neither Han
        characters nor Latin words.

    Example:
        >>> dominant("我的iPhone 15订单什么时候到?")
        'zh'
        >>> dominant("where is my 快递")
        'en'
        >>> dominant("ok 好")
        'zh'
        >>> dominant("12345") is None
        True
    """
    han, latin = counts(text)
    if not han and not latin:
        return None
    return "zh" if han >= latin else "en"


def reply_language(
    text: str, previous: str | None = None, default: Language = "zh"
) -> Language:
    """The language to answer a message in.

    A message in one language is answered in that language; a mixed message is
    answered in its :func:`dominant` language. A message with no words at all
    ("👍", an order number) keeps the conversation's previous language, or the
    shop's default if there is none yet.

    Args:
        text: The shopper's message.
        previous: The language of the conversation so far, if any. A value
            other than ``"zh"`` or ``"en"`` counts as none.
        default: The language used when nothing else decides.

    Returns:
        ``"zh"`` or ``"en"``.

    Example:
        >>> reply_language("我的iPhone 15订单什么时候到?")
        'zh'
        >>> reply_language("where is my 快递", previous="zh")
        'en'
        >>> reply_language("260312004417", previous="en")
        'en'
        >>> reply_language("👍")
        'zh'
    """
    found = dominant(text)
    if found is not None:
        return found
    if previous == "zh":
        return "zh"
    if previous == "en":
        return "en"
    return default


def turn_language(
    *,
    text: str,
    intent: str,
    requested: str | None,
    choice: str | None,
    previous: str | None,
    default: Language = "zh",
) -> tuple[Language, Language | None]:
    """The reply language for one user turn, and the shopper's explicit choice.

    Precedence, highest first:

    1. "English please" / "说中文" (intent ``switch_language`` with a
       ``language`` entity) sets an explicit choice;
    2. an explicit choice made earlier sticks until changed again;
    3. otherwise the language of the message itself (:func:`reply_language`);
       button payloads ("/order_status{...}") and a lone Latin word ("ok",
       "iPhone") say nothing about the language and keep the previous one.

    Args:
        text: The raw user message (a payload starts with "/").
        intent: The predicted intent name.
        requested: The ``language`` entity of this message, if any.
        choice: The explicit choice so far, if any.
        previous: The conversation's language so far, if any.
        default: The language for a conversation that has none yet
            (the signed-in customer's preference).

    Returns:
        ``(language, choice)``.

    Example:
        >>> turn_language(text="English please", intent="switch_language",
        ...               requested="en", choice=None, previous="zh")
        ('en', 'en')
        >>> turn_language(text="ok", intent="affirm", requested=None, choice=None, previous="zh")
        ('zh', None)
    """
    known: tuple[Language, ...] = ("zh", "en")
    if intent == "switch_language" and requested in known:
        picked: Language = "zh" if requested == "zh" else "en"
        return picked, picked
    if choice in known:
        chosen: Language = "zh" if choice == "zh" else "en"
        return chosen, chosen
    prev: Language | None = ("zh" if previous == "zh" else "en") if previous in known else None
    stripped = text.strip()
    if stripped.startswith("/"):
        return prev or default, None
    han, latin = counts(stripped)
    if prev is not None and han == 0 and latin <= 1:
        return prev, None
    return reply_language(stripped, prev, default), None
