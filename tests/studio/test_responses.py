"""Specification of bot.studio.responses: zh/en texts side by side, and changing one text and nothing else."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
import yaml

from bot.studio.errors import MissingVariant, NotEditable, UnknownLanguage, UnknownResponse
from bot.studio.responses import Response, Variant, list_responses, set_text

ROOT = Path(__file__).resolve().parents[2]
ZH_CONDITION = "- condition: [{type: slot, name: language, value: zh}]"
DOMAIN = f"""\
version: "3.1"
# greetings first
responses:
  utter_greet:
    {ZH_CONDITION}
      text: "您好，我是小智 😊"
    - text: "Hi, I'm your shopping assistant 😊"

  utter_cancel_eligible:
  {ZH_CONDITION}
    text: "确认要取消订单 {{order_id}} 吗？"
    buttons:
      - title: "确认取消"
        payload: "/affirm"
  - text: "Do you want to cancel order {{order_id}}?"
    buttons:
      - title: "Yes, cancel it"
        payload: "/affirm"
  utter_timeline:
    {ZH_CONDITION}
      text: |
        物流轨迹：
        {{timeline}}

      image: "https://example.com/map.png"
    - text: Tracking history
  utter_en_only:
    - text: 'Only English'
"""


def real_domain() -> str:
    return (ROOT / "domain.yml").read_text("utf-8")


def changes(before: str, after: str) -> list[str]:
    """The ``-``/``+`` lines between two texts, as ``git diff`` shows them (lines end at a newline only)."""
    old, new = re.findall(r"[^\n]*\n|[^\n]+$", before), re.findall(r"[^\n]*\n|[^\n]+$", after)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [line for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
            for line in [*(f"-{x}" for x in old[i1:i2]), *(f"+{x}" for x in new[j1:j2])]]


class TestListResponses:
    """Every response with its zh and en text and its other fields, in domain order."""

    def test_responses(self) -> None:
        assert list_responses(DOMAIN) == (
            Response("utter_greet", Variant("您好，我是小智 😊", {}),
                     Variant("Hi, I'm your shopping assistant 😊", {}), 4),
            Response("utter_cancel_eligible",
                     Variant("确认要取消订单 {order_id} 吗？",
                             {"buttons": [{"title": "确认取消", "payload": "/affirm"}]}),
                     Variant("Do you want to cancel order {order_id}?",
                             {"buttons": [{"title": "Yes, cancel it", "payload": "/affirm"}]}), 9),
            Response("utter_timeline", Variant("物流轨迹：\n{timeline}\n", {"image": "https://example.com/map.png"}),
                     Variant("Tracking history", {}), 19),
            Response("utter_en_only", None, Variant("Only English", {}), 27),
        )

    def test_the_real_domain(self) -> None:
        text = real_domain()
        responses = list_responses(text)
        assert [r.name for r in responses] == list(yaml.safe_load(text)["responses"])
        assert all(r.zh and r.en and r.zh.text and r.en.text for r in responses)
        cancel = next(r for r in responses if r.name == "utter_cancel_eligible")
        assert cancel.text("zh") is not None and cancel.text("zh").startswith("确认要取消订单")  # type: ignore[union-attr]
        assert [b["title"] for b in cancel.en.extras["buttons"]] == ["Yes, cancel it", "No, keep it"]  # type: ignore[union-attr]

    def test_to_json(self) -> None:
        assert list_responses(DOMAIN)[3].to_json() == {
            "name": "utter_en_only", "line": 27, "zh": None, "en": {"text": "Only English", "extras": {}}}

    @pytest.mark.parametrize("text", ["", "version: '3.1'\n", "responses: [utter_greet]\n"])
    def test_no_responses(self, text: str) -> None:
        assert list_responses(text) == ()


class TestSetText:
    """Setting a text changes that one value; buttons, the other language, comments and layout stay."""

    @pytest.mark.parametrize(("name", "language", "text", "before", "after"), [
        ("utter_greet", "zh", "您好！有什么可以帮您？", '      text: "您好，我是小智 😊"\n',
         '      text: "您好！有什么可以帮您？"\n'),
        ("utter_greet", "en", "Hello! How can I help?", '''    - text: "Hi, I'm your shopping assistant 😊"\n''',
         '    - text: "Hello! How can I help?"\n'),
        ("utter_cancel_eligible", "zh", "确定取消订单 {order_id}（不可恢复）吗？",
         '    text: "确认要取消订单 {order_id} 吗？"\n', '    text: "确定取消订单 {order_id}（不可恢复）吗？"\n'),
        ("utter_cancel_eligible", "en", 'Cancel order "{order_id}"?',
         '  - text: "Do you want to cancel order {order_id}?"\n', '  - text: "Cancel order \\"{order_id}\\"?"\n'),
        ("utter_timeline", "en", "Where it's been:\n{timeline}", "    - text: Tracking history\n",
         '    - text: "Where it\'s been:\\n{timeline}"\n'),
        ("utter_en_only", "en", "English only", "    - text: 'Only English'\n", '    - text: "English only"\n'),
    ])
    def test_one_line_changes(self, name: str, language: str, text: str, before: str, after: str) -> None:
        edited = set_text(DOMAIN, name, language, text)
        assert changes(DOMAIN, edited) == [f"-{before}", f"+{after}"]
        assert next(r for r in list_responses(edited) if r.name == name).text(language) == text  # type: ignore[arg-type]

    def test_a_block_text_becomes_one_line_and_the_fields_after_it_stay(self) -> None:
        edited = set_text(DOMAIN, "utter_timeline", "zh", "物流：{timeline}")
        assert changes(DOMAIN, edited) == ["-      text: |\n", "-        物流轨迹：\n", "-        {timeline}\n",
                                           '+      text: "物流：{timeline}"\n']
        [timeline] = [r for r in list_responses(edited) if r.name == "utter_timeline"]
        assert timeline.zh == Variant("物流：{timeline}", {"image": "https://example.com/map.png"})

    def test_buttons_are_kept(self) -> None:
        edited = set_text(DOMAIN, "utter_cancel_eligible", "zh", "真的要取消吗？")
        before, after = (next(r for r in list_responses(t) if r.name == "utter_cancel_eligible")
                         for t in (DOMAIN, edited))
        assert (after.zh.extras, after.en) == (before.zh.extras, before.en)  # type: ignore[union-attr]

    def test_the_same_text_returns_the_domain_unchanged(self) -> None:
        assert set_text(DOMAIN, "utter_greet", "zh", "您好，我是小智 😊") is DOMAIN

    @pytest.mark.parametrize("text", [
        '他说"好"\\再见', "第一行\n第二行", "tab\there", "{name}，您好！", "# not a comment", "",
        "line\u2028separator",
    ])
    def test_any_text_reads_back_exactly(self, text: str) -> None:
        edited = set_text(DOMAIN, "utter_greet", "zh", text)
        assert list_responses(edited)[0].text("zh") == text
        assert len(changes(DOMAIN, edited)) == 2

    def test_unknown_response(self) -> None:
        with pytest.raises(UnknownResponse) as caught:
            set_text(DOMAIN, "utter_greeting", "zh", "你好")
        assert caught.value.name == "utter_greeting"

    def test_missing_variant(self) -> None:
        with pytest.raises(MissingVariant) as caught:
            set_text(DOMAIN, "utter_en_only", "zh", "只有英文")
        assert (caught.value.name, caught.value.language) == ("utter_en_only", "zh")

    @pytest.mark.parametrize("language", ["fr", "ZH", ""])
    def test_unknown_language(self, language: str) -> None:
        with pytest.raises(UnknownLanguage):
            set_text(DOMAIN, "utter_greet", language, "Bonjour")

    def test_a_variant_without_text(self) -> None:
        domain = f"responses:\n  utter_map:\n    {ZH_CONDITION}\n      image: x.png\n    - image: y.png\n"
        with pytest.raises(NotEditable) as caught:
            set_text(domain, "utter_map", "en", "a map")
        assert (caught.value.what, caught.value.reason) == ("utter_map", "no_text")


class TestRealDomain:
    """On the real domain.yml, whose response lists use two indentations, an edit is one line and undoes exactly."""

    SAMPLE = ["utter_greet", "utter_default", "utter_tracking_timeline", "utter_cancel_eligible",
              "utter_cancel_already_shipped", "utter_exchange_not_paid", "utter_exchange_line_returned"]

    def test_the_sample_covers_both_layouts_and_the_last_response(self) -> None:
        text = real_domain()
        assert "\n  - condition:" in text and "\n    - condition:" in text
        assert list_responses(text)[-1].name in self.SAMPLE

    @pytest.mark.parametrize("language", ["zh", "en"])
    @pytest.mark.parametrize("name", SAMPLE)
    def test_one_line_changes_and_undoes_exactly(self, name: str, language: str) -> None:
        text = real_domain()
        [response] = [r for r in list_responses(text) if r.name == name]
        old = response.text(language)  # type: ignore[arg-type]
        assert old is not None
        edited = set_text(text, name, language, old + " (edited)")
        assert len(changes(text, edited)) == 2
        assert set_text(edited, name, language, old) == text
