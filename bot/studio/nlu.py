"""Training examples per intent, zh and en side by side, and line-sized edits to NLU files.

The NLU files (``data/nlu/<language>/<feature>.yml``) hold items such as::

    - intent: order_status
      examples: |
        - 发货了吗
        - 订单[260312004417](order_id)发货了吗

``intent_table`` gathers each domain intent's examples from every file of each
language, and ``missing_language`` lists the intents one language lacks (the
project's rule is that every intent has zh and en examples). ``add_example``,
``remove_example`` and ``replace_example`` change one line of a file's text (or add
or drop one intent item) and keep every other byte, comments included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.studio import document
from bot.studio.domain import DomainNames
from bot.studio.errors import DuplicateExample, ExampleNotFound, InvalidExample, MalformedYaml, NotEditable
from bot.studio.examples import LINE_BREAKS, STRIP, example_key, example_lines
from bot.studio.files import DOMAIN, LANGUAGES, FileSource, Language

T = TypeVar("T")
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_/-]*")
#: Words YAML (1.1 or 1.2) reads as booleans or null, so an intent so named must be quoted.
_RESERVED = frozenset({"null", "true", "false", "yes", "no", "on", "off", "y", "n"})


@dataclass(frozen=True)
class Example:
    """One training example as written (annotations included), the file it is in and its 1-based line."""

    text: str
    path: str
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "path": self.path, "line": self.line}


@dataclass(frozen=True)
class IntentRow:
    """An intent's zh and en examples; ``declared`` is False for an intent the domain does not list."""

    intent: str
    zh: tuple[Example, ...] = ()
    en: tuple[Example, ...] = ()
    declared: bool = True

    def examples(self, language: Language) -> tuple[Example, ...]:
        return self.zh if language == "zh" else self.en

    def to_json(self) -> dict[str, Any]:
        return {"intent": self.intent, "declared": self.declared,
                "zh": [e.to_json() for e in self.zh], "en": [e.to_json() for e in self.en]}


IntentTable = tuple[IntentRow, ...]


def read_examples(text: str, path: str = "") -> dict[str, list[Example]]:
    """Every intent's examples in one NLU file's text, in file order (an intent may have several items).

    Raises:
        MalformedYaml: the text is not YAML.
    """
    found: dict[str, list[Example]] = {}
    for intent, item in _intent_items(document.compose(text)):
        node = document.entry(item, "examples")
        if document.string(node) is not None:
            found.setdefault(intent, []).extend(
                Example(example, path, line + 1) for line, example in _rows(node))
    return found


def intent_table(files: FileSource) -> IntentTable:
    """Each domain intent with its examples in each language, in the domain's order.

    Intents that have examples but are not in the domain come last (``declared``
    False), so that a typo in an intent name shows up instead of hiding. Files
    outside ``data/nlu/zh`` and ``data/nlu/en`` (such as ``entities.yml``) hold no
    language's examples and are not read.

    Raises:
        MalformedYaml: a file is not YAML (``path`` names it).
    """
    domain = _located(DOMAIN, DomainNames.from_domain_text, files.read(DOMAIN).text)
    gathered: dict[str, dict[Language, list[Example]]] = {}
    for file in files.list():
        if file.kind == "nlu" and file.language:
            found = _located(file.path, partial(read_examples, path=file.path), files.read(file.path).text)
            for intent, examples in found.items():
                gathered.setdefault(intent, {}).setdefault(file.language, []).extend(examples)
    intents = [*domain.intents, *(intent for intent in gathered if intent not in domain.intents)]
    return tuple(IntentRow(intent, tuple(gathered.get(intent, {}).get("zh", [])),
                           tuple(gathered.get(intent, {}).get("en", [])), intent in domain.intents)
                 for intent in intents)


def missing_language(table: IntentTable) -> dict[str, tuple[Language, ...]]:
    """The intents without examples in some language, and which: ``{"rate": ("en",), "invoice": ("zh", "en")}``."""
    gaps = {row.intent: tuple(language for language in LANGUAGES if not row.examples(language)) for row in table}
    return {intent: languages for intent, languages in gaps.items() if languages}


def file_for(table: IntentTable, intent: str, language: Language, default: str) -> str:
    """Where a new ``language`` example of ``intent`` goes: the first file that already has some, else ``default``."""
    row = next((row for row in table if row.intent == intent), None)
    examples = row.examples(language) if row else ()
    return examples[0].path if examples else default


def add_example(text: str, intent: str, example: str) -> str:
    """The NLU file's text with ``example`` appended to ``intent``'s block.

    When the file has no item for ``intent``, one is added after the last item in
    the file's own indentation; an empty file becomes a complete NLU file.

    Raises:
        InvalidExample: the example is empty or spans lines.
        DuplicateExample: the file already has it for this intent (see ``example_key``).
        NotEditable: the intent's ``examples`` is not a ``|`` block, or ``nlu`` is not a block list.
        MalformedYaml: the text is not YAML.
    """
    example = _clean(example)
    before = read_examples(text).get(intent, [])
    if any(example_key(old.text) == example_key(example) for old in before):
        raise DuplicateExample(intent, example)
    root, lines, nl = document.compose(text), text.splitlines(keepends=True), document.newline(text)
    items = [item for name, item in _intent_items(root) if name == intent]
    if items:
        block = _block(intent, items[0])
        rows = _rows(block)
        after = document.last_line(block, lines) if rows else block.start_mark.line
        indent = document.indentation(lines[rows[0][0]]) if rows else " " * (items[0].start_mark.column + 2)
        edited = document.splice(lines, after + 1, after + 1, [f"{indent}- {example}{nl}"])
        position = len(rows)  # the first item's examples come first in file order
    else:
        edited = _append_item(root, lines, nl, intent, example)
        position = len(before)
    texts = [e.text for e in before]
    return _verified(text, edited, intent, [*texts[:position], example, *texts[position:]])


def remove_example(text: str, intent: str, example: str) -> str:
    """The NLU file's text without that line; the last example of an item takes the whole item with it.

    Raises:
        ExampleNotFound: the file has no such example for ``intent`` (compared as written, trimmed).
        NotEditable: the intent's ``examples`` is not a ``|`` block.
        MalformedYaml: the text is not YAML.
    """
    root, lines = document.compose(text), text.splitlines(keepends=True)
    expected = [e.text for e in read_examples(text).get(intent, [])]
    item, rows, line = _find(root, intent, example)
    expected.remove(example.strip(STRIP))
    if len(rows) > 1:
        return _verified(text, document.splice(lines, line, line + 1, []), intent, expected)
    return _verified(text, _drop_item(root, item, lines), intent, expected)


def replace_example(text: str, intent: str, old: str, new: str) -> str:
    """The NLU file's text with example ``old`` of ``intent`` rewritten as ``new``, on the same line.

    Raises:
        InvalidExample: ``new`` is empty or spans lines.
        ExampleNotFound: the file has no example ``old`` for ``intent``.
        DuplicateExample: another example of ``intent`` in the file is already ``new``.
        NotEditable: the intent's ``examples`` is not a ``|`` block.
        MalformedYaml: the text is not YAML.
    """
    new, old = _clean(new), old.strip(STRIP)
    root, lines = document.compose(text), text.splitlines(keepends=True)
    expected = [e.text for e in read_examples(text).get(intent, [])]
    line = _find(root, intent, old)[2]
    if new == old:
        return text
    others = list(expected)
    others.remove(old)
    if any(example_key(other) == example_key(new) for other in others):
        raise DuplicateExample(intent, new)
    expected[expected.index(old)] = new
    ending = lines[line][len(lines[line].rstrip("\r\n")):]
    rewritten = f"{document.indentation(lines[line])}- {new}{ending}"
    return _verified(text, document.splice(lines, line, line + 1, [rewritten]), intent, expected)


# -- internals ----------------------------------------------------------------------------
def _clean(example: str) -> str:
    cleaned = example.strip(STRIP)
    if not cleaned.strip():
        raise InvalidExample(example, "empty")
    if any(char in LINE_BREAKS for char in cleaned):
        raise InvalidExample(example, "multiple_lines")
    return cleaned


def _intent_items(root: Node | None) -> list[tuple[str, MappingNode]]:
    found = []
    for item in document.items(document.entry(root, "nlu")):
        name = document.string(document.entry(item, "intent"))
        if isinstance(item, MappingNode) and name is not None:
            found.append((name, item))
    return found


def _block(intent: str, item: MappingNode) -> ScalarNode:
    """The item's ``examples: |`` node; other layouts are valid Rasa but not edited here."""
    node = document.entry(item, "examples")
    if isinstance(node, ScalarNode) and node.style == "|":
        return node
    raise NotEditable(intent, "examples_not_block")


def _rows(node: Node | None) -> list[tuple[int, str]]:
    """``(0-based file line, example)`` for each example of an ``examples`` node.

    A ``|`` block has one file line per row; any other string is placed at its start.
    """
    if not isinstance(node, ScalarNode):
        return []
    first = node.start_mark.line + 1 if node.style == "|" else node.start_mark.line
    step = 1 if node.style == "|" else 0
    return [(first + row.index * step, row.example) for row in example_lines(str(node.value)) if row.example]


def _find(root: Node | None, intent: str, example: str) -> tuple[MappingNode, list[tuple[int, str]], int]:
    """The item, its rows and the 0-based line of ``example`` of ``intent``."""
    target = example.strip(STRIP)
    for name, item in _intent_items(root):
        if name == intent:
            rows = _rows(_block(intent, item))
            for line, text in rows:
                if text == target:
                    return item, rows, line
    raise ExampleNotFound(intent, example)


def _append_item(root: Node | None, lines: list[str], nl: str, intent: str, example: str) -> str:
    """Add a new ``- intent:`` item after the last item, in the layout the file already uses."""
    plain = _PLAIN_NAME.fullmatch(intent) and intent.lower() not in _RESERVED
    name = intent if plain else document.quoted(intent)
    if root is None:
        prefix = "".join(lines) + (nl if lines and not lines[-1].endswith("\n") else "")
        return f'{prefix}version: "3.1"{nl}nlu:{nl}- intent: {name}{nl}  examples: |{nl}    - {example}{nl}'
    if not isinstance(root, MappingNode):
        raise NotEditable("nlu", "not_mapping")
    nlu = document.entry(root, "nlu")
    nlu_key = next((key.start_mark for key, _ in root.value if isinstance(key, ScalarNode) and key.value == "nlu"),
                   None)
    if nlu_key is None or nlu is None:
        return document.splice(lines, len(lines), len(lines), [f"nlu:{nl}", *_item_lines(0, 2, 4, name, example, nl)])
    if document.is_null(nlu):
        return document.splice(lines, nlu_key.line + 1, nlu_key.line + 1,
                               _item_lines(nlu_key.column, 2, 4, name, example, nl))
    if not isinstance(nlu, SequenceNode) or nlu.flow_style:
        raise NotEditable("nlu", "not_block_list")
    first = nlu.value[0]
    dash = lines[first.start_mark.line][: first.start_mark.column].rfind("-")
    if dash < 0:
        raise NotEditable("nlu", "layout")  # a bare "-" line before the item's keys
    key = first.start_mark.column - dash
    sample = next((_block("", item) for _, item in _intent_items(root) if _is_block(item)), None)
    content = key + 2
    if sample is not None and _rows(sample):
        content = len(document.indentation(lines[_rows(sample)[0][0]])) - dash
    separated = len(nlu.value) < 2 or _blank_above(lines, nlu.value[1].start_mark.line)
    after = document.last_line(nlu, lines) + 1
    new = ([nl] if separated else []) + _item_lines(dash, key, content, name, example, nl)
    return document.splice(lines, after, after, new)


def _blank_above(lines: list[str], line: int) -> bool:
    """Whether a blank line separates this line from the content above it (comment lines in between are skipped)."""
    above = line - 1
    while above >= 0 and lines[above].lstrip().startswith("#"):
        above -= 1
    return above >= 0 and not lines[above].strip()


def _is_block(item: MappingNode) -> bool:
    node = document.entry(item, "examples")
    return isinstance(node, ScalarNode) and node.style == "|"


def _item_lines(dash: int, key: int, content: int, name: str, example: str, nl: str) -> list[str]:
    """``- intent: x`` / ``examples: |`` / ``- example`` lines; columns relative to the dash."""
    pad = " " * dash
    return [f"{pad}-{' ' * (key - 1)}intent: {name}{nl}", f"{pad}{' ' * key}examples: |{nl}",
            f"{pad}{' ' * content}- {example}{nl}"]


def _drop_item(root: Node | None, item: MappingNode, lines: list[str]) -> str:
    """The text without ``item``'s lines, and without the blank line that separated it."""
    start, end = item.start_mark.line, document.last_line(item, lines) + 1
    kept = [*lines[:start], *lines[end:]]
    key_line = next((key.start_mark.line for key, _ in (root.value if isinstance(root, MappingNode) else [])
                     if isinstance(key, ScalarNode) and key.value == "nlu"), -1)
    if start > 0 and not kept[start - 1].strip() and (start == len(kept) or not kept[start].strip()):
        del kept[start - 1]
    elif start < len(kept) and not kept[start].strip() and start - 1 == key_line:
        del kept[start]
    return "".join(kept)


def _verified(before: str, edited: str, intent: str, expected: Sequence[str]) -> str:
    """The edited text, once it parses and says what was intended.

    ``intent`` must now have exactly ``expected`` and every other intent what it had.
    Text splicing is exact only if the layout is as assumed; this turns any
    surprise into ``NotEditable`` instead of a silently wrong file.
    """
    wanted = {**_texts(before), intent: list(expected)}
    try:
        found = _texts(edited)
    except MalformedYaml as error:
        raise NotEditable(intent, "layout") from error
    if found != {name: examples for name, examples in wanted.items() if examples}:
        raise NotEditable(intent, "layout")
    return edited


def _texts(text: str) -> dict[str, list[str]]:
    """Each intent's example texts in an NLU file; intents without examples are left out."""
    return {name: [e.text for e in examples] for name, examples in read_examples(text).items() if examples}


def _located(path: str, parse: Callable[[str], T], text: str) -> T:
    """``parse(text)``, with ``path`` added to a ``MalformedYaml`` it raises."""
    try:
        return parse(text)
    except MalformedYaml as error:
        raise error.located(path) from error
