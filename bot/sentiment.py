"""Is the shopper upset? A transparent lexicon score, so agents can see why a chat was handed over."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

WORDS_FILE = Path(__file__).with_name("sentiment_words.yml")
_LATIN_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Lexicon:
    strong: Mapping[str, Sequence[str]]
    mild: Mapping[str, Sequence[str]]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Mapping[str, Sequence[str]]]) -> Lexicon:
        def words(table: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
            return {lang: tuple(str(w).lower() for w in ws) for lang, ws in table.items()}

        return cls(strong=words(data["strong"]), mild=words(data["mild"]))


def load_lexicon(path: Path = WORDS_FILE) -> Lexicon:
    return Lexicon.from_mapping(yaml.safe_load(path.read_text("utf-8")))


def upset_score(text: str, lexicon: Lexicon) -> int:
    """Strong words count 2, mild words 1, "!!!" or a shouted (ALL CAPS) word 1.

    Example: "我要投诉！！！" scores 3 (投诉 2, !!! 1); "where is my order" scores 0.
    """
    lower = text.lower()
    words = set(_LATIN_WORD.findall(lower))
    score = 0
    for weight, table in ((2, lexicon.strong), (1, lexicon.mild)):
        score += weight * sum(1 for w in table.get("zh", ()) if w in lower)
        score += weight * sum(1 for w in table.get("en", ()) if w in words)
    if re.search(r"[!！]{3,}", text):
        score += 1
    if any(len(w) >= 3 and w.isupper() for w in re.findall(r"[A-Za-z]+", text)):
        score += 1
    return score


def is_upset(text: str, lexicon: Lexicon, threshold: int = 2) -> bool:
    return upset_score(text, lexicon) >= threshold
