"""Checks on a data file's text before it is saved: YAML syntax, shape, and names the domain knows.

``check(kind, text, names)`` returns problems rather than raising, so that the editor
can mark every line at once. Each problem has a stable ``code`` (one of ``CODES``) and
``params`` naming the offending value; the console translates the code into zh/en text.

This is a fast first line, not a replacement for ``rasa data validate``: it looks at
one file against the domain, e.g. ``- intent: order_stauts`` in a story is
``unknown_intent`` on that line, and ``- 订单[123](order_no)`` is ``unknown_entity``
when the domain has no ``order_no``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.scalarstring import LiteralScalarString

from bot.studio import document
from bot.studio.domain import DomainNames, NameKind
from bot.studio.errors import DuplicateKey, MalformedYaml
from bot.studio.examples import annotated_entities, example_key, example_lines
from bot.studio.files import Kind
from bot.studio.responses import variant_language

#: Every code a problem can have; the console has zh and en text for each.
CODES = frozenset({
    "yaml_syntax",        # params: detail (ruamel's English, for the curious)
    "duplicate_key",      # key
    "bad_shape",          # key, expected: mapping | list | string | example_line | annotation | step
    "missing_key",        # key (and the item's name when it has one)
    "unknown_key",        # key
    "unknown_intent",     # name
    "unknown_entity",     # name
    "unknown_slot",       # name
    "unknown_form",       # name
    "unknown_action",     # name
    "duplicate_example",  # intent, example, first_line
    "missing_variant",    # response, language (zh | en)
    "duplicate_variant",  # response, language
})

TOP_KEYS: Mapping[str, frozenset[str]] = {
    "nlu": frozenset({"version", "nlu", "responses"}),
    "stories": frozenset({"version", "stories", "rules"}),
    "domain": frozenset({"version", "intents", "entities", "slots", "forms", "actions", "responses",
                         "session_config", "e2e_actions", "config"}),
}
NLU_ITEM_KINDS = ("intent", "synonym", "regex", "lookup")
STORY_KEYS = frozenset({"story", "steps", "metadata"})
RULE_KEYS = frozenset({"rule", "steps", "condition", "metadata", "conversation_start", "wait_for_user_input"})
STEP_KEYS = frozenset({"intent", "user", "entities", "action", "bot", "slot_was_set", "active_loop",
                       "checkpoint", "or", "metadata"})
#: A step must have one of these (``entities`` and ``metadata`` only qualify a step).
STEP_EVENTS = STEP_KEYS - {"entities", "metadata"}
CONDITION_KEYS = frozenset({"active_loop", "slot_was_set"})

Params = dict[str, str | int]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (1-based line and column), what (``code``) and about what."""

    line: int
    column: int
    code: str
    params: Params = field(default_factory=dict)

    def __str__(self) -> str:
        details = ", ".join(f"{key}={value}" for key, value in self.params.items())
        return f"{self.line}:{self.column} {self.code}" + (f" ({details})" if details else "")

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "code": self.code, "params": dict(self.params)}


def check(kind: Kind, text: str, names: DomainNames) -> list[Problem]:
    """The problems in ``text``, a file of ``kind``, sorted by position (then code); empty when it may be saved.

    ``names`` are the domain's; a domain file is checked against the names it declares itself.
    """
    try:
        data = document.load(text)
    except DuplicateKey as error:
        return [Problem(error.line, error.column, "duplicate_key", {"key": error.key})]
    except MalformedYaml as error:
        return [Problem(error.line, error.column, "yaml_syntax", {"detail": error.detail})]
    checker = _Checker(names, text.split("\n"))
    if kind == "domain":
        checker.domain(data)
    elif kind == "nlu":
        checker.nlu(data)
    else:
        checker.stories(data, "rules" if kind == "rules" else "stories")
    return sorted(checker.problems, key=lambda problem: (problem.line, problem.column, problem.code))


Position = tuple[int, int]
START: Position = (1, 1)


def _key_at(mapping: Any, key: str) -> Position:
    line, column = mapping.lc.key(key)
    return line + 1, column + 1


def _value_at(mapping: Any, key: str) -> Position:
    """Where the value under ``key`` starts; a null value has no text, so its key's position."""
    if mapping[key] is None:
        return _key_at(mapping, key)
    line, column = mapping.lc.value(key)
    return line + 1, column + 1


def _item_at(sequence: Any, index: int) -> Position:
    line, column = sequence.lc.item(index)
    return line + 1, column + 1


class _Checker:
    """Walks loaded round-trip data (``.lc`` gives positions) and collects problems."""

    def __init__(self, names: DomainNames, lines: list[str]) -> None:
        self.names = names
        self.lines = lines
        self.problems: list[Problem] = []

    def report(self, at: Position, code: str, **params: str | int) -> None:
        self.problems.append(Problem(at[0], at[1], code, params))

    # -- shared ---------------------------------------------------------------------
    def top(self, data: Any, allowed: Collection[str], required: str | None) -> bool:
        """Check the top-level mapping; False when there is nothing more to check."""
        if data is None:
            if required:
                self.report(START, "missing_key", key=required)
            return False
        if not isinstance(data, dict):
            self.report(START, "bad_shape", expected="mapping")
            return False
        self.unknown_keys(data, allowed)
        if "version" in data and not isinstance(data["version"], str):
            self.report(_value_at(data, "version"), "bad_shape", key="version", expected="string")
        return True

    def unknown_keys(self, mapping: Any, allowed: Collection[str]) -> None:
        for key in mapping:
            if key not in allowed:
                self.report(_key_at(mapping, key), "unknown_key", key=str(key))

    def sequence(self, mapping: Any, key: str) -> list[Any]:
        """The list under ``key`` (``null`` is an empty list); reports ``bad_shape`` for anything else."""
        value = mapping.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.report(_key_at(mapping, key), "bad_shape", key=key, expected="list")
            return []
        return value

    def name(self, mapping: Any, key: str, kind: NameKind | None, nullable: bool = False) -> str | None:
        """The string under ``key``, reported as ``bad_shape`` if not a string and ``unknown_<kind>`` if unknown."""
        value = mapping[key]
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value.strip():
            self.report(_value_at(mapping, key), "bad_shape", key=key, expected="string")
            return None
        if kind is not None and not self.names.known(kind, value):
            self.report(_value_at(mapping, key), f"unknown_{kind}", name=value)
        return value

    def block_rows(self, mapping: Any, key: str) -> Callable[[int], Position]:
        """Where row ``index`` of the multi-line string under ``key`` is in the file.

        A literal block (``examples: |``) starts on the line after the ``|``, one file
        line per row; any other string is reported at its start.
        """
        value_line, value_column = _value_at(mapping, key)
        if not isinstance(mapping[key], LiteralScalarString):
            return lambda index: (value_line, value_column)

        def at(index: int) -> Position:
            line = value_line + 1 + index
            text = self.lines[line - 1] if line - 1 < len(self.lines) else ""
            return line, len(text) - len(text.lstrip(" ")) + 1

        return at

    def entities_in(self, text: str, at: Position, **context: str) -> None:
        for entity in annotated_entities(text):
            if entity is None:
                self.report(at, "bad_shape", key="entity", expected="annotation", **context)
            elif not self.names.known("entity", entity):
                self.report(at, "unknown_entity", name=entity, **context)

    # -- nlu ------------------------------------------------------------------------
    def nlu(self, data: Any) -> None:
        if not self.top(data, TOP_KEYS["nlu"], "nlu"):
            return
        if "nlu" not in data:
            self.report(START, "missing_key", key="nlu")
            return
        seen: dict[str, dict[str, int]] = {}  # intent -> example key -> first line
        items = self.sequence(data, "nlu")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                self.report(_item_at(items, index), "bad_shape", key="nlu", expected="mapping")
                continue
            kind = next((key for key in NLU_ITEM_KINDS if key in item), None)
            if kind is None:
                self.report(_item_at(items, index), "missing_key", key="intent")
                continue
            self.unknown_keys(item, {kind, "examples", "metadata"})
            name = self.name(item, kind, "intent" if kind == "intent" else None)
            if "examples" not in item:
                self.report(_key_at(item, kind), "missing_key", key="examples", **{kind: name or ""})
            elif not isinstance(item["examples"], str):
                self.report(_value_at(item, "examples"), "bad_shape", key="examples", expected="string")
            else:
                self.examples(item, kind, name, seen.setdefault(name or "", {}))

    def examples(self, item: Any, kind: str, name: str | None, seen: dict[str, int]) -> None:
        row_at = self.block_rows(item, "examples")
        for row in example_lines(item["examples"]):
            at = row_at(row.index)
            if not row.example:
                self.report(at, "bad_shape", key="examples", expected="example_line")
            elif kind == "intent":
                self.entities_in(row.example, at, example=row.example)
                key = example_key(row.example)
                if key in seen:
                    self.report(at, "duplicate_example", intent=name or "", example=row.example,
                                first_line=seen[key])
                else:
                    seen[key] = at[0]

    # -- stories, rules and test stories -------------------------------------------
    def stories(self, data: Any, main: str) -> None:
        if not self.top(data, TOP_KEYS["stories"], main):
            return
        if "stories" not in data and "rules" not in data:
            self.report(START, "missing_key", key=main)
        for section, title, allowed in (("stories", "story", STORY_KEYS), ("rules", "rule", RULE_KEYS)):
            if section not in data:
                continue
            entries = self.sequence(data, section)
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    self.report(_item_at(entries, index), "bad_shape", key=section, expected="mapping")
                    continue
                self.unknown_keys(entry, allowed)
                if title not in entry:
                    self.report(_item_at(entries, index), "missing_key", key=title)
                if "steps" not in entry:
                    self.report(_item_at(entries, index), "missing_key", key="steps", **{title: str(entry.get(title))})
                else:
                    self.steps(entry, "steps", STEP_KEYS)
                if "condition" in entry and section == "rules":
                    self.steps(entry, "condition", CONDITION_KEYS)

    def steps(self, parent: Any, key: str, allowed: frozenset[str]) -> None:
        steps = self.sequence(parent, key)
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                self.report(_item_at(steps, index), "bad_shape", key=key, expected="mapping")
                continue
            self.unknown_keys(step, allowed)
            if not any(event in step for event in STEP_EVENTS & allowed):
                self.report(_item_at(steps, index), "bad_shape", key=key, expected="step")
            self.step(step)

    def step(self, step: Any) -> None:
        if "intent" in step:
            self.name(step, "intent", "intent")
        if "action" in step:
            self.name(step, "action", "action")
        if "active_loop" in step:
            self.name(step, "active_loop", "form", nullable=True)
        for key in ("user", "bot", "checkpoint"):
            if key in step:
                self.name(step, key, None)
        if isinstance(step.get("user"), str):
            row_at = self.block_rows(step, "user")
            for index, line in enumerate(step["user"].split("\n")):
                self.entities_in(line, row_at(index))
        if "entities" in step:
            self.named_items(step, "entities", "entity")
        if "slot_was_set" in step:
            self.named_items(step, "slot_was_set", "slot")
        if "or" in step:
            self.steps(step, "or", STEP_KEYS)

    def named_items(self, step: Any, key: str, kind: NameKind) -> None:
        """``- eligible`` or ``- eligible: true`` items: each name must be a known ``kind``."""
        values = self.sequence(step, key)
        for index, value in enumerate(values):
            if isinstance(value, dict):
                for name in value:
                    if not self.names.known(kind, str(name)):
                        self.report(_key_at(value, name), f"unknown_{kind}", name=str(name))
            elif isinstance(value, str):
                if not self.names.known(kind, value):
                    self.report(_item_at(values, index), f"unknown_{kind}", name=value)
            else:
                self.report(_item_at(values, index), "bad_shape", key=key, expected="string")

    # -- domain ---------------------------------------------------------------------
    def domain(self, data: Any) -> None:
        if not self.top(data, TOP_KEYS["domain"], None):
            return
        self.names = DomainNames.from_data(data)
        forms = data.get("forms")
        for spec in forms.values() if isinstance(forms, dict) else ():
            if isinstance(spec, dict) and "required_slots" in spec:
                self.named_items(spec, "required_slots", "slot")
        responses = data.get("responses")
        if responses is None:
            return
        if not isinstance(responses, dict):
            self.report(_key_at(data, "responses"), "bad_shape", key="responses", expected="mapping")
            return
        for name, variants in responses.items():
            at = _key_at(responses, name)
            if not isinstance(variants, list) or not all(isinstance(variant, dict) for variant in variants):
                self.report(at, "bad_shape", key=str(name), expected="list")
                continue
            languages = [variant_language(variant) for variant in variants]
            for language in ("zh", "en"):
                count = languages.count(language)
                if count != 1:
                    self.report(at, "missing_variant" if count == 0 else "duplicate_variant",
                                response=str(name), language=language)
