"""The domain's responses side by side in zh and en, and editing one variant's text.

Every response has a zh variant, selected by the ``language`` slot, and an en
default without a condition (``tests/test_project.py`` guards this)::

    utter_thanks:
      - condition: [{type: slot, name: language, value: zh}]
        text: "不客气，很高兴能帮到您！"
      - text: "You're welcome, glad I could help!"

``set_text`` replaces only the characters of that one ``text`` value; buttons, the
other variant, comments and layout stay byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from bot.studio import document
from bot.studio.errors import MissingVariant, NotEditable, UnknownLanguage, UnknownResponse
from bot.studio.files import LANGUAGES, Language

ZH_CONDITION = [{"type": "slot", "name": "language", "value": "zh"}]


def variant_language(variant: Mapping[str, Any]) -> Language | None:
    """``zh`` for the language-slot variant, ``en`` for the unconditional default, ``None`` for others."""
    condition = variant.get("condition")
    if not condition:
        return "en"
    return "zh" if document.plain(condition) == ZH_CONDITION else None


@dataclass(frozen=True)
class Variant:
    """One language's variant: its text and every other field (buttons, image, custom...) as plain data."""

    text: str | None
    extras: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "extras": dict(self.extras)}


@dataclass(frozen=True)
class Response:
    """A response by name with its zh and en variants (``None`` when missing) and its 1-based line."""

    name: str
    zh: Variant | None
    en: Variant | None
    line: int

    def text(self, language: Language) -> str | None:
        variant = self.zh if language == "zh" else self.en
        return variant.text if variant else None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "line": self.line,
                "zh": self.zh.to_json() if self.zh else None, "en": self.en.to_json() if self.en else None}


def list_responses(domain_text: str) -> tuple[Response, ...]:
    """Every response in the domain, in the domain's order.

    Raises:
        MalformedYaml: the domain is not YAML.
    """
    responses = _responses(document.load(domain_text))
    found = []
    for name, variants in responses.items():
        line = responses.lc.key(name)[0] + 1
        by_language: dict[Language, Variant] = {}
        for variant in variants if isinstance(variants, list) else ():
            language = variant_language(variant) if isinstance(variant, dict) else None
            if language and language not in by_language:
                text = variant.get("text")
                extras = {str(key): document.plain(value) for key, value in variant.items()
                          if key not in ("text", "condition")}
                by_language[language] = Variant(text if isinstance(text, str) else None, extras)
        found.append(Response(str(name), by_language.get("zh"), by_language.get("en"), line))
    return tuple(found)


def set_text(domain_text: str, name: str, language: str, text: str) -> str:
    """The domain text with response ``name``'s ``language`` variant saying ``text``; nothing else changes.

    The new value is written as a one-line double-quoted string (the domain's own
    style); setting the text it already has returns the domain unchanged.

    Raises:
        UnknownLanguage: ``language`` is not zh or en.
        UnknownResponse: the domain has no response ``name``.
        MissingVariant: the response has no variant in that language.
        NotEditable: the variant has no ``text`` string to replace.
        MalformedYaml: the domain is not YAML.
    """
    if language not in LANGUAGES:
        raise UnknownLanguage(language)
    node = _text_node(document.compose(domain_text), name, language)
    if node.value == text:
        return domain_text
    start, end = node.start_mark.index, node.end_mark.index
    if node.style in ("|", ">"):
        end = start + len(domain_text[start:end].rstrip())  # keep the line break and blank lines after a block
    edited = domain_text[:start] + document.quoted(text) + domain_text[end:]
    if _text_node(document.compose(edited), name, language).value != text:
        raise NotEditable(name, "text_layout")  # defensive: the splice must say exactly the new text
    return edited


def _text_node(root: Node | None, name: str, language: str) -> ScalarNode:
    """The scalar node of response ``name``'s ``text`` in ``language``."""
    response = document.entry(document.entry(root, "responses"), name)
    if response is None:
        raise UnknownResponse(name)
    variant = next((variant for variant in document.items(response)
                    if isinstance(variant, MappingNode) and _node_language(variant) == language), None)
    if variant is None:
        raise MissingVariant(name, language)
    node = document.entry(variant, "text")
    if not isinstance(node, ScalarNode) or document.string(node) is None:
        raise NotEditable(name, "no_text")
    return node


def _node_language(variant: MappingNode) -> Language | None:
    """``variant_language`` for a composed node."""
    condition = document.node_value(document.entry(variant, "condition"))
    if not condition:
        return "en"
    return "zh" if condition == ZH_CONDITION else None


def _responses(data: Any) -> Any:
    """The ``responses`` mapping of loaded domain data, or an empty one."""
    responses = data.get("responses") if isinstance(data, dict) else None
    return responses if isinstance(responses, CommentedMap) else CommentedMap()
