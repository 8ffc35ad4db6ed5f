"""YAML text with positions: parse with ruamel's round-trip loader, edit by splicing lines.

Why splice instead of ``load`` + ``dump``: ruamel re-emits a whole document with one
indentation setting, and this project's files mix two (``domain.yml`` indents some
response lists by two spaces and others by none; ``data/nlu/entities.yml`` and the
stories indent sequences, the NLU files do not). A dump therefore rewrites hundreds
of untouched lines. So edits find their target with ruamel's composed nodes, which
carry exact start and end marks, and replace only those lines or characters; all
other bytes are kept as they were.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from bot.studio.errors import DuplicateKey, MalformedYaml

NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"
_DUPLICATE = re.compile(r'duplicate key "(?P<key>.*?)"')


def load(text: str) -> Any:
    """The round-trip data of ``text`` (``CommentedMap``/``CommentedSeq`` with ``.lc`` positions).

    Raises:
        DuplicateKey: a mapping repeats a key.
        MalformedYaml: any other YAML error, at ruamel's 1-based line and column.
    """
    try:
        return YAML(typ="rt").load(text)
    except YAMLError as error:
        raise _malformed(text, error) from error


def compose(text: str) -> Node | None:
    """The node tree of ``text`` (``None`` for an empty document); nodes have start and end marks.

    Raises:
        MalformedYaml: the text is not YAML (duplicate keys are not detected here; see ``load``).
    """
    try:
        node: Node | None = YAML(typ="rt").compose(text)
    except YAMLError as error:
        raise _malformed(text, error) from error
    return node


def _malformed(text: str, error: YAMLError) -> MalformedYaml:
    if isinstance(error, MarkedYAMLError) and error.problem_mark is not None:
        line, column = error.problem_mark.line + 1, error.problem_mark.column + 1
    elif isinstance(error, ReaderError):
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
    else:
        line, column = 1, 1
    if isinstance(error, DuplicateKeyError):
        match = _DUPLICATE.search(str(error.problem))
        return DuplicateKey(line, column, match.group("key") if match else "")
    detail = getattr(error, "problem", None) or str(error).splitlines()[0]
    return MalformedYaml(line, column, str(detail))


def plain(value: Any) -> Any:
    """Loaded round-trip data as plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def quoted(text: str) -> str:
    r"""``text`` as a one-line YAML double-quoted scalar, escaping what YAML cannot hold raw.

    Example: ``他说"好"`` + newline + ``再见`` becomes ``"他说\"好\"\n再见"``.
    Line and paragraph separators, the BOM and non-printable characters are escaped too.
    """
    return '"' + "".join(_ESCAPES.get(char) or (char if _printable(char) else _escape(char)) for char in text) + '"'


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _printable(char: str) -> bool:
    code = ord(char)
    if code in (0x2028, 0x2029, 0xFEFF):  # line and paragraph separators, byte-order mark
        return False
    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def entries(node: Node | None) -> Iterator[tuple[str, Node]]:
    """The ``(key, value node)`` pairs of a mapping node whose keys are scalars; nothing otherwise."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                yield str(key.value), value


def entry(node: Node | None, key: str) -> Node | None:
    """The value node under ``key`` in a mapping node, or ``None``."""
    return next((value for name, value in entries(node) if name == key), None)


def items(node: Node | None) -> Sequence[Node]:
    """The item nodes of a sequence node; empty for anything else."""
    return list(node.value) if isinstance(node, SequenceNode) else []


def string(node: Node | None) -> str | None:
    """The text of a string scalar node, ``None`` for null, non-strings and collections."""
    if isinstance(node, ScalarNode) and node.tag != NULL_TAG:
        return str(node.value)
    return None


def node_value(node: Node | None) -> Any:
    """A node as plain data, every scalar as its string (``null`` as ``None``); for small values like conditions."""
    if isinstance(node, MappingNode):
        return {str(key.value): node_value(value) for key, value in node.value}
    if isinstance(node, SequenceNode):
        return [node_value(item) for item in node.value]
    return string(node)


def is_null(node: Node | None) -> bool:
    """True for a missing value or an explicit ``null``/``~``/empty scalar."""
    return node is None or (isinstance(node, ScalarNode) and node.tag == NULL_TAG)


def last_line(node: Node, lines: Sequence[str]) -> int:
    """The 0-based index of the last line that holds part of ``node`` (not a trailing blank or comment).

    Block scalars and block collections end where the next token starts, after any
    blank lines and comments; this walks down to the last real content instead.
    """
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        key, value = node.value[-1]
        if isinstance(value, ScalarNode) and value.value == "" and value.style is None:
            return last_line(key, lines)  # an empty value's mark is where the next token starts
        return last_line(value, lines)
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return last_line(node.value[-1], lines)
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        stop = node.end_mark.line if node.end_mark.column == 0 else node.end_mark.line + 1
        content = [i for i in range(node.start_mark.line + 1, min(stop, len(lines))) if lines[i].strip()]
        return content[-1] if content else int(node.start_mark.line)
    end = node.end_mark
    return int(end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line)


def block_lines(node: ScalarNode, lines: Sequence[str]) -> range:
    """The 0-based line indexes of a block scalar's content (``examples: |``), trailing blanks excluded."""
    return range(node.start_mark.line + 1, last_line(node, lines) + 1)


def newline(text: str) -> str:
    """The line ending the text already uses (``\\r\\n`` or ``\\n``), so that inserted lines match it."""
    return "\r\n" if "\r\n" in text else "\n"


def indentation(line: str) -> str:
    """The leading spaces of a line."""
    return line[: len(line) - len(line.lstrip(" "))]


def splice(lines: Sequence[str], start: int, end: int, new: Sequence[str]) -> str:
    """``lines`` (each with its line ending) with ``lines[start:end]`` replaced by ``new``, joined."""
    head = list(lines[:start])
    if new and head and not head[-1].endswith("\n"):
        head[-1] += "\n"  # the file had no final newline; the inserted line needs one before it
    return "".join([*head, *new, *lines[end:]])
