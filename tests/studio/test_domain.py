"""Specification of bot.studio.domain: the names a domain declares, plus Rasa's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.core import constants

from bot.studio.domain import DEFAULT_ACTIONS, DEFAULT_INTENTS, DEFAULT_SLOTS, DomainNames, NameKind
from bot.studio.errors import DuplicateKey, MalformedYaml

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = """\
version: "3.1"
intents:
  - greet
  - order_status:
      use_entities: [order_id]
entities:
  - order_id
  - product:
      roles: [wanted, owned]
slots:
  eligible:
    type: bool
    mappings: [{type: custom}]
forms:
  address_form:
    required_slots: [new_address]
actions:
  - action_check_cancel
  - action_order_status:
      send_domain: true
responses:
  utter_greet:
    - text: "Hello"
"""
NAMES = DomainNames.from_domain_text(DOMAIN)


class TestFromDomainText:
    """Names come from every section, in the domain's order, whether written as strings or mappings."""

    def test_every_section(self) -> None:
        assert NAMES == DomainNames(intents=("greet", "order_status"), entities=("order_id", "product"),
                                    slots=("eligible",), forms=("address_form",),
                                    actions=("action_check_cancel", "action_order_status"),
                                    responses=("utter_greet",))

    def test_the_real_domain(self) -> None:
        text = (ROOT / "domain.yml").read_text("utf-8")
        data = yaml.safe_load(text)
        names = DomainNames.from_domain_text(text)
        assert names.intents == tuple(data["intents"])
        assert names.actions == tuple(data["actions"])
        assert set(names.responses) == set(data["responses"])
        assert set(names.slots) == set(data["slots"])

    @pytest.mark.parametrize("text", ["", "# nothing yet\n", "- a list\n", "intents: greet\n"])
    def test_missing_or_misshapen_sections_have_no_names(self, text: str) -> None:
        assert DomainNames.from_domain_text(text).intents == ()

    def test_invalid_yaml_raises(self) -> None:
        with pytest.raises(MalformedYaml) as caught:
            DomainNames.from_domain_text("intents: [greet\n")
        assert caught.value.line == 2

    def test_duplicate_keys_raise(self) -> None:
        with pytest.raises(DuplicateKey) as caught:
            DomainNames.from_domain_text("responses:\n  utter_greet: []\n  utter_greet: []\n")
        assert (caught.value.key, caught.value.line) == ("utter_greet", 3)


class TestKnown:
    """What stories, rules and examples may refer to."""

    @pytest.mark.parametrize(("kind", "name", "known"), [
        ("intent", "greet", True),
        ("intent", "order_status", True),
        ("intent", "nlu_fallback", True),
        ("intent", "session_start", True),
        ("intent", "greet/formal", True),
        ("intent", "gret", False),
        ("entity", "product", True),
        ("entity", "order_no", False),
        ("slot", "eligible", True),
        ("slot", "requested_slot", True),
        ("slot", "eligable", False),
        ("form", "address_form", True),
        ("form", "action_two_stage_fallback", True),
        ("form", "invoice_form", False),
        ("action", "action_check_cancel", True),
        ("action", "utter_greet", True),
        ("action", "address_form", True),
        ("action", "action_listen", True),
        ("action", "...", True),
        ("action", "utter_greeting", False),
        ("action", "greet", False),
    ])
    def test_known(self, kind: NameKind, name: str, known: bool) -> None:
        assert NAMES.known(kind, name) is known


class TestDefaults:
    """The copied defaults are Rasa's, so the studio needs no Rasa import at run time."""

    def test_default_intents(self) -> None:
        assert set(constants.DEFAULT_INTENTS) == DEFAULT_INTENTS

    def test_default_actions(self) -> None:
        assert set(constants.DEFAULT_ACTION_NAMES) == DEFAULT_ACTIONS

    def test_default_slots(self) -> None:
        assert set(constants.DEFAULT_SLOT_NAMES) == DEFAULT_SLOTS
