"""Rasa's ``examples: |`` format: one ``- `` line per example, entities annotated inline.

An example such as ``订单[260312004417](order_id)发货了吗`` or
``my [iPhone 15]{"entity": "product"} order`` is shown to the model as its plain text
(``订单260312004417发货了吗``) with the annotated spans as entities. The annotation
grammar is Rasa 3.6's ``ENTITY_REGEX`` (``rasa/shared/nlu/training_data/entities_parser.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

#: ``[text](entity)``, ``[text](entity:value)``, ``[text]{"entity": ...}`` or ``[text][{...}, {...}]``.
ANNOTATION = re.compile(
    r"\[(?P<entity_text>[^\]]+?)\](\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)|\{(?P<entity_dict>[^}]+?)\}"
    r"|\[(?P<list_entity_dicts>.*?)\])"
)
_SINGLE_DICT = re.compile(r"{(?P<entity_dict>[^}]+?)\}")
_SPACE = re.compile(r"\s+")
#: What Rasa strips around an example (``STRIP_SYMBOLS`` in its YAML reader).
STRIP = "\n\r "
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


@dataclass(frozen=True)
class ExampleLine:
    """One line of an examples block: its index in the block and the example, or ``None`` if not ``- ``."""

    index: int
    example: str | None
    raw: str


def example_lines(block: str) -> list[ExampleLine]:
    """Each non-blank line of an ``examples`` block (Rasa skips blank ones) with the example it holds.

    Example: ``"- hi\\n- hello [Ann](name)\\n"`` gives ``hi`` at 0 and ``hello [Ann](name)`` at 1.
    """
    lines = []
    for index, raw in enumerate(block.split("\n")):
        if not raw.strip():
            continue
        example = raw[1:].strip(STRIP) if raw.startswith("-") else None
        lines.append(ExampleLine(index, example, raw))
    return lines


def plain_text(example: str) -> str:
    """The example as the model sees it: annotations replaced by their text."""
    return ANNOTATION.sub(lambda match: match.group("entity_text"), example)


def example_key(example: str) -> str:
    """What makes two examples the same: the plain text, case-folded, with runs of spaces as one.

    So ``Where is my order`` and ``where  is my [order](product)`` are duplicates
    (they teach the model the same text), and Chinese is compared as written.
    """
    return _SPACE.sub(" ", plain_text(example).strip()).casefold()


def annotated_entities(example: str) -> list[str | None]:
    """The entity names annotated in an example, in order; ``None`` for an unreadable ``{...}`` annotation."""
    names: list[str | None] = []
    for match in ANNOTATION.finditer(example):
        if match.group("entity"):
            names.append(match.group("entity").strip())
        elif match.group("entity_dict"):
            names.append(_entity_of("{" + match.group("entity_dict") + "}"))
        else:
            names += [_entity_of(inner.group(0)) for inner in _SINGLE_DICT.finditer(match.group("list_entity_dicts"))]
    return names


def _entity_of(annotation: str) -> str | None:
    try:
        value = json.loads(annotation)
    except json.JSONDecodeError:
        return None
    entity = value.get("entity") if isinstance(value, dict) else None
    return entity if isinstance(entity, str) else None
