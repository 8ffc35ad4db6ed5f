"""Personal data in free text: find phone numbers and street addresses, then mask or replace them.

Finding is separate from rendering: :func:`find` returns the spans, :func:`mask`
renders them for people who must not read them, and :func:`pseudonymise` replaces
them with fixed sample values for text that is kept as training data.

Who sees what:

- **shoppers** see their own conversation as it is;
- **agents** see the real transcript: they act for the shopper on the shopper's own
  orders (confirm a new delivery address, call a number back) and already see the
  customer's record;
- **operators** read conversations of many customers from Rasa's tracker store to
  curate training data: they get them masked (``138****5678``, ``上海市浦东新区****``);
- **logs** of every process are masked by :func:`install_log_masking`;
- **training data** written from a conversation (an intent correction, a test story)
  is pseudonymised, never masked: ``138****5678`` would teach the NLU that phone
  numbers contain stars, and the real number would put a customer's phone into git.
  ``13800138000`` keeps the shape the entity extractor learns from, as the sample
  numbers already in ``data/nlu`` do.

Addresses are found by the customer's own addresses (``known``) and by common
patterns: a zh road or estate with a house number (``世纪大道88号1203室``,
``阳光小区3栋2单元501室``), an en house number and street (``Room 502, 18 Huaihai
Road``). The city and district before a zh street, and the district and city after
an en one, are kept: they locate nobody and tell an operator what the message was about.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["phone", "address"]

#: What masked digits and masked addresses are replaced with.
STARS = "****"
#: Sample values that replace personal data in training data.
SAMPLE_PHONE = "13800138000"
SAMPLE_ADDRESS = {"zh": "人民路1号", "en": "1 Main Street"}

# A Chinese mobile number: 1[3-9] and 9 more digits, optionally +86/0086 and
# spaced or dashed as 3-4-4. Not inside a longer run of letters or digits (order
# ids have 12 digits, tracking numbers start with letters).
_PHONE = re.compile(
    r"(?<![0-9A-Za-z])(?P<prefix>(?:\+|00)86[ -]?)?(?P<number>1[3-9]\d(?:[ -]?\d{4}){2})(?![0-9A-Za-z])")

# After a zh house number: building, unit, floor and room, e.g. 2单元801, 1203室, B座.
_ZH_UNITS = r"(?:\s*(?:[A-Za-z]?\d{1,4}[A-Za-z]?(?!\d)(?:号楼|栋|幢|座|单元|楼|层|室|房|号)?|[A-Za-z]座))*"
_ZH_ANCHOR = re.compile(
    r"(?:路|街|大道|巷|弄|胡同)\s*\d{1,5}(?:-\d{1,5})?号" + _ZH_UNITS
    + r"|(?:小区|花园|公寓|大厦|新村|家园|苑)\s*[A-Za-z]?\d{1,4}(?:号楼|栋|幢|座)" + _ZH_UNITS)
_CJK = re.compile(r"[\u3400-\u9fff]")
# The street name before an anchor stops at an area (市, 区...) or at a word that leads into it (是, 到...).
_ZH_STOP = frozenset("省市区县镇乡旗是到在为往址寄送改")
_ZH_NAME_MAX = 10

_EN_UNIT = r"(?:room|rm|apt|apartment|unit|flat|suite|ste)\.?\s*#?\s*[0-9A-Za-z-]{1,6}"
_EN_STOPWORDS = r"(?:the|a|an|on|in|my|of|to|at|for|and|is|it|from|by|with|or)\b"
_EN_STREET = re.compile(
    rf"(?<![0-9A-Za-z])(?:{_EN_UNIT},?\s+)?(?:no\.?\s*)?\d{{1,5}}[A-Za-z]?(?:-\d{{1,5}})?,?\s+"
    rf"(?:(?!{_EN_STOPWORDS})[A-Za-z][A-Za-z'’.-]*\s+){{1,4}}"
    r"(?:road|rd|street|st|avenue|ave|lane|ln|boulevard|blvd|drive|dr|way|highway|hwy|alley)\b\.?"
    rf"(?:,?\s*{_EN_UNIT})?",
    re.IGNORECASE)

#: Known values shorter than this are not searched for (they would match ordinary words).
_KNOWN_MIN = 6


@dataclass(frozen=True)
class Span:
    """Personal data at ``text[start:end]``."""

    start: int
    end: int
    kind: Kind


def find(text: str, known: Iterable[str] = ()) -> list[Span]:
    """The phone numbers and street addresses in ``text``, in order, never overlapping.

    Args:
        text: Any free text.
        known: The customer's own phone numbers and addresses; an occurrence that
            the patterns miss is masked whole.

    >>> find("电话13812345678")
    [Span(start=2, end=13, kind='phone')]
    """
    found = [Span(m.start("number"), m.end(), "phone") for m in _PHONE.finditer(text)]
    found += [_zh_street(text, m) for m in _ZH_ANCHOR.finditer(text)]
    found += [Span(m.start(), m.end(), "address") for m in _EN_STREET.finditer(text)]
    merged = _merge(found)
    lowered = text.casefold()
    for value in {v.strip().casefold() for v in known if len(v.strip()) >= _KNOWN_MIN}:
        start = lowered.find(value)
        while start != -1:
            end = start + len(value)
            if not any(s.start < end and start < s.end for s in merged):
                merged.append(Span(start, end, "phone" if _PHONE.fullmatch(text[start:end]) else "address"))
            start = lowered.find(value, end)
    return sorted(merged, key=lambda s: s.start)


def mask(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with phone numbers as ``138****5678`` and street addresses as ``****``.

    >>> mask("请送到上海市浦东新区世纪大道88号1203室，电话 +86 138-1234-5678")
    '请送到上海市浦东新区****，电话 +86 138****5678'
    """
    return _render(text, find(text, known), _masked)


def pseudonymise(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with personal data replaced by sample values, for training data.

    >>> pseudonymise("my number is 13912345678, 18 Huaihai Road, Shanghai")
    'my number is 13800138000, 1 Main Street, Shanghai'
    """
    return _render(text, find(text, known), _sample)


def pseudonymise_spans(text: str, known: Iterable[str] = ()) -> tuple[str, list[tuple[Span, int, int]]]:
    """Like :func:`pseudonymise`, also saying where each replaced span now is.

    Returns:
        The new text, and for each span of the old text the ``(start, end)`` of its
        replacement in the new text, so that offsets into the old text (entities) can follow.

    >>> pseudonymise_spans("电话13912345678")
    ('电话13800138000', [(Span(start=2, end=13, kind='phone'), 2, 13)])
    """
    moved: list[tuple[Span, int, int]] = []
    parts, at, shift = [], 0, 0
    for span in find(text, known):
        sample = _sample(text[span.start:span.end], span)
        parts += [text[at:span.start], sample]
        moved.append((span, span.start + shift, span.start + shift + len(sample)))
        shift += len(sample) - (span.end - span.start)
        at = span.end
    return "".join([*parts, text[at:]]), moved


#: Keys of a JSON document whose values are identifiers or times, never free text.
IDENTIFIER_KEYS = frozenset({"sender_id", "conversation_id", "at", "started_at", "last_at", "intent", "entity",
                             "extractor", "kind", "language", "detected"})


def mask_json(value: Any, known: Iterable[str] = (), keep: frozenset[str] = IDENTIFIER_KEYS) -> Any:
    """A copy of a JSON-like value with every string masked, except under the keys in ``keep``."""
    known = tuple(known)
    if isinstance(value, str):
        return mask(value, known)
    if isinstance(value, Mapping):
        return {k: v if k in keep else mask_json(v, known, keep) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_json(v, known, keep) for v in value]
    return value


def _zh_street(text: str, anchor: re.Match[str]) -> Span:
    """The anchor (road and number, or estate and building) with the street name before it."""
    start = anchor.start()
    while (start > 0 and anchor.start() - start < _ZH_NAME_MAX and _CJK.match(text[start - 1])
           and text[start - 1] not in _ZH_STOP):
        start -= 1
    return Span(start, anchor.end(), "address")


def _merge(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if out and span.start < out[-1].end:
            last = out.pop()
            kind: Kind = "address" if "address" in (last.kind, span.kind) else "phone"
            out.append(Span(last.start, max(last.end, span.end), kind))
        else:
            out.append(span)
    return out


def _render(text: str, spans: list[Span], render: Callable[[str, Span], str]) -> str:
    parts, at = [], 0
    for span in spans:
        parts += [text[at:span.start], render(text[span.start:span.end], span)]
        at = span.end
    return "".join([*parts, text[at:]])


def _masked(found: str, span: Span) -> str:
    digits = re.sub(r"\D", "", found)
    if span.kind == "phone" and len(digits) == 11:
        return f"{digits[:3]}{STARS}{digits[-4:]}"
    return STARS


def _sample(found: str, span: Span) -> str:
    if span.kind == "phone":
        return SAMPLE_PHONE
    return SAMPLE_ADDRESS["zh" if _CJK.search(found) else "en"]


# -- logs -----------------------------------------------------------------------------


def mask_record(record: logging.LogRecord) -> None:
    """Mask the message and traceback of a log record in place."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it when the record is emitted
        return
    masked = mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)


class MaskingFilter(logging.Filter):
    """A logging filter that masks personal data in every record it sees (and drops none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def install_log_masking() -> None:
    """Mask personal data in every log record this process makes, whichever logger or handler.

    A filter on the root logger would miss records of other loggers (filters do not
    propagate) and handlers that Rasa or Sanic configure later, so the record factory
    is wrapped instead. Process entry points call this once; calling it again does nothing.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "masks_personal_data", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        mask_record(record)
        return record

    factory.masks_personal_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
