"""Specification of bot.studio.nlu: the zh/en table per intent, and edits that change one line and keep the rest."""

from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.studio.errors import DuplicateExample, ExampleNotFound, InvalidExample, MalformedYaml, NotEditable
from bot.studio.files import MemoryFiles, ProjectFiles
from bot.studio.nlu import (
    Example,
    IntentRow,
    add_example,
    file_for,
    intent_table,
    missing_language,
    read_examples,
    remove_example,
    replace_example,
)

ROOT = Path(__file__).resolve().parents[2]
NLU_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "data/nlu").rglob("*.yml"))

ZH_ORDERS = """\
version: "3.1"
nlu:
- intent: order_status
  examples: |
    - 发货了吗
    - 订单[260312004417](order_id)发货了吗

# tracking questions
- intent: track_shipment
  examples: |
    - 快递到哪了
"""
EN_ORDERS = """\
version: "3.1"
nlu:
- intent: order_status
  examples: |
    - has my order shipped
    - what's the status of order [260312004417](order_id)

# tracking questions
- intent: track_shipment
  examples: |
    - where is my parcel
"""
ZH_LAST = "    - 订单[260312004417](order_id)发货了吗\n"
EN_LAST = "    - what's the status of order [260312004417](order_id)\n"


def changes(before: str, after: str) -> list[str]:
    """The ``-``/``+`` lines between two texts, as ``git diff`` shows them (lines end at a newline only)."""
    old, new = re.findall(r"[^\n]*\n|[^\n]+$", before), re.findall(r"[^\n]*\n|[^\n]+$", after)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [line for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
            for line in [*(f"-{x}" for x in old[i1:i2]), *(f"+{x}" for x in new[j1:j2])]]


class TestReadExamples:
    """Examples are read as written, each with its file and 1-based line."""

    @pytest.mark.parametrize(("text", "intent", "expected"), [
        (ZH_ORDERS, "order_status", [("发货了吗", 5), ("订单[260312004417](order_id)发货了吗", 6)]),
        (EN_ORDERS, "order_status", [("has my order shipped", 5),
                                     ("what's the status of order [260312004417](order_id)", 6)]),
        (ZH_ORDERS, "track_shipment", [("快递到哪了", 11)]),
        (EN_ORDERS, "track_shipment", [("where is my parcel", 11)]),
    ])
    def test_examples_and_lines(self, text: str, intent: str, expected: list[tuple[str, int]]) -> None:
        found = read_examples(text, "data/nlu/x/orders.yml")[intent]
        assert [(e.text, e.line) for e in found] == expected
        assert {e.path for e in found} == {"data/nlu/x/orders.yml"}

    def test_an_intent_in_two_items_has_both_in_file_order(self) -> None:
        text = ZH_ORDERS + "- intent: order_status\n  examples: |\n    - 订单状态\n"
        assert [e.text for e in read_examples(text)["order_status"]] == \
            ["发货了吗", "订单[260312004417](order_id)发货了吗", "订单状态"]

    def test_regexes_and_synonyms_are_not_intents(self) -> None:
        assert read_examples((ROOT / "data/nlu/entities.yml").read_text("utf-8")) == {}


DOMAIN = 'version: "3.1"\nintents:\n  - greet\n  - order_status\n  - rate\n'
TABLE_FILES = {
    "domain.yml": DOMAIN,
    "data/nlu/zh/chitchat.yml": "nlu:\n- intent: greet\n  examples: |\n    - 你好\n    - 在吗\n",
    "data/nlu/en/chitchat.yml": "nlu:\n- intent: greet\n  examples: |\n    - hello\n",
    "data/nlu/zh/orders.yml": "nlu:\n- intent: order_status\n  examples: |\n    - 发货了吗\n"
                              "- intent: order_stauts\n  examples: |\n    - 订单状态\n",
    "data/nlu/entities.yml": "nlu:\n- intent: rate\n  examples: |\n    - 5 stars\n",
}
TABLE = intent_table(MemoryFiles(TABLE_FILES))


class TestIntentTable:
    """Each domain intent, in domain order, with zh and en examples and where they live."""

    def test_rows(self) -> None:
        assert TABLE == (
            IntentRow("greet", zh=(Example("你好", "data/nlu/zh/chitchat.yml", 4),
                                   Example("在吗", "data/nlu/zh/chitchat.yml", 5)),
                      en=(Example("hello", "data/nlu/en/chitchat.yml", 4),)),
            IntentRow("order_status", zh=(Example("发货了吗", "data/nlu/zh/orders.yml", 4),)),
            IntentRow("rate"),
            IntentRow("order_stauts", zh=(Example("订单状态", "data/nlu/zh/orders.yml", 7),), declared=False),
        )

    def test_missing_language(self) -> None:
        assert missing_language(TABLE) == {"order_status": ("en",), "rate": ("zh", "en"), "order_stauts": ("en",)}

    def test_the_real_project_has_every_intent_in_both_languages(self) -> None:
        table = intent_table(ProjectFiles(ROOT))
        assert missing_language(table) == {}
        assert all(row.declared for row in table)
        domain = yaml.safe_load((ROOT / "domain.yml").read_text("utf-8"))
        assert [row.intent for row in table] == domain["intents"]

    def test_the_real_counts_match_a_plain_yaml_reading(self) -> None:
        counts: dict[tuple[str, str], int] = {}
        for path in (ROOT / "data/nlu").glob("*/*.yml"):
            for item in yaml.safe_load(path.read_text("utf-8"))["nlu"]:
                key = (item["intent"], path.parent.name)
                counts[key] = counts.get(key, 0) + item["examples"].count("\n- ") + 1
        table = intent_table(ProjectFiles(ROOT))
        assert {(row.intent, lang): len(row.examples(lang)) for row in table for lang in ("zh", "en")} == counts

    def test_a_broken_file_is_named(self) -> None:
        files = MemoryFiles({**TABLE_FILES, "data/nlu/en/orders.yml": "nlu:\n- intent: [oops\n"})
        with pytest.raises(MalformedYaml) as caught:
            intent_table(files)
        assert (caught.value.path, caught.value.line) == ("data/nlu/en/orders.yml", 3)

    def test_to_json(self) -> None:
        assert TABLE[1].to_json() == {"intent": "order_status", "declared": True, "en": [],
                                      "zh": [{"text": "发货了吗", "path": "data/nlu/zh/orders.yml", "line": 4}]}


class TestFileFor:
    """A new example goes where the intent's examples in that language already are, else the caller's default."""

    @pytest.mark.parametrize(("intent", "language", "expected"), [
        ("greet", "zh", "data/nlu/zh/chitchat.yml"),
        ("greet", "en", "data/nlu/en/chitchat.yml"),
        ("order_status", "zh", "data/nlu/zh/orders.yml"),
        ("order_status", "en", "data/nlu/en/default.yml"),
        ("rate", "zh", "data/nlu/zh/default.yml"),
        ("unheard_of", "en", "data/nlu/en/default.yml"),
    ])
    def test_file_for(self, intent: str, language: str, expected: str) -> None:
        assert file_for(TABLE, intent, language, f"data/nlu/{language}/default.yml") == expected  # type: ignore[arg-type]


class TestAddExample:
    """Adding an example adds one line at the end of the intent's block, in the block's indentation."""

    @pytest.mark.parametrize(("text", "intent", "example", "added_after"), [
        (ZH_ORDERS, "order_status", "我的单子到哪一步了", ZH_LAST),
        (ZH_ORDERS, "order_status", "订单[251109887201](order_id)怎么还没发", ZH_LAST),
        (EN_ORDERS, "order_status", "any update on my order?", EN_LAST),
        (EN_ORDERS, "track_shipment", "where's my [iPhone 15](product)", "    - where is my parcel\n"),
        (ZH_ORDERS, "track_shipment", "  物流到哪了  ", "    - 快递到哪了\n"),
    ])
    def test_one_line_is_added(self, text: str, intent: str, example: str, added_after: str) -> None:
        edited = add_example(text, intent, example)
        assert changes(text, edited) == [f"+    - {example.strip()}\n"]
        assert edited.splitlines(keepends=True).index(f"    - {example.strip()}\n") - 1 == \
            edited.splitlines(keepends=True).index(added_after)
        assert read_examples(edited)[intent][-1].text == example.strip()

    def test_comments_and_other_items_are_kept(self) -> None:
        edited = add_example(ZH_ORDERS, "order_status", "看下我的订单")
        assert edited == ZH_ORDERS.replace("发货了吗\n\n# tracking", "发货了吗\n    - 看下我的订单\n\n# tracking")

    def test_an_indented_layout_is_followed(self) -> None:
        text = 'nlu:\n  - intent: greet\n    examples: |\n      - hello\n'
        assert add_example(text, "greet", "hi") == text + "      - hi\n"

    def test_a_file_without_a_final_newline(self) -> None:
        assert add_example("nlu:\n- intent: greet\n  examples: |\n    - 你好", "greet", "在吗") == \
            "nlu:\n- intent: greet\n  examples: |\n    - 你好\n    - 在吗\n"

    def test_crlf_line_endings_are_kept(self) -> None:
        text = "nlu:\r\n- intent: greet\r\n  examples: |\r\n    - hello\r\n"
        assert add_example(text, "greet", "hi") == text + "    - hi\r\n"

    @pytest.mark.parametrize(("text", "example"), [(ZH_ORDERS, "你好"), (EN_ORDERS, "hello")])
    def test_a_new_intent_is_appended_as_an_item_in_the_same_layout(self, text: str, example: str) -> None:
        edited = add_example(text, "greet", example)
        assert edited == text + f"\n- intent: greet\n  examples: |\n    - {example}\n"

    def test_a_new_intent_in_an_indented_file_without_blank_lines(self) -> None:
        text = 'nlu:\n  - intent: greet\n    examples: |\n      - hello\n' \
               '  - intent: deny\n    examples: |\n      - no\n'
        assert add_example(text, "affirm", "yes") == text + "  - intent: affirm\n    examples: |\n      - yes\n"

    def test_a_new_intent_before_a_following_top_level_key(self) -> None:
        text = "nlu:\n- intent: greet\n  examples: |\n    - hello\n\nresponses: {}\n"
        assert add_example(text, "deny", "no") == "nlu:\n- intent: greet\n  examples: |\n    - hello\n\n" \
            "- intent: deny\n  examples: |\n    - no\n\nresponses: {}\n"

    @pytest.mark.parametrize(("text", "expected"), [
        ("nlu:\n- intent: greet\n  examples: |\n- intent: deny\n  examples: |\n    - no\n",
         "nlu:\n- intent: greet\n  examples: |\n    - 你好\n- intent: deny\n  examples: |\n    - no\n"),
        ("nlu:\n- intent: greet\n  examples: |-\n    - 在吗\n- intent: deny\n  examples: |\n    - no\n",
         "nlu:\n- intent: greet\n  examples: |-\n    - 在吗\n    - 你好\n- intent: deny\n  examples: |\n    - no\n"),
        ("nlu:\n- intent: greet\n  examples: |\n    - 在吗\n  # deny next\n- intent: deny\n  examples: |\n    - no\n",
         "nlu:\n- intent: greet\n  examples: |\n    - 在吗\n    - 你好\n  # deny next\n- intent: deny\n"
         "  examples: |\n    - no\n"),
        ("nlu:\n- intent: greet\n  examples: |\n    - 在吗\n  metadata:\n",
         "nlu:\n- intent: greet\n  examples: |\n    - 在吗\n    - 你好\n  metadata:\n"),
    ])
    def test_block_edge_cases(self, text: str, expected: str) -> None:
        """An empty block, ``|-`` chomping, a comment after the block, a key after the block."""
        assert add_example(text, "greet", "你好") == expected

    @pytest.mark.parametrize(("text", "expected"), [
        ("", 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n'),
        ("# greetings\n", '# greetings\nversion: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n'),
        ('version: "3.1"\nnlu:\n', 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n'),
        ('version: "3.1"\n', 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n'),
    ])
    def test_an_empty_file_becomes_an_nlu_file(self, text: str, expected: str) -> None:
        assert add_example(text, "greet", "你好") == expected

    @pytest.mark.parametrize(("intent", "written"), [
        ("faq/ask_price", "faq/ask_price"), ("yes", '"yes"'), ("null", '"null"'), ("404", '"404"'),
        ("ask human", '"ask human"'),
    ])
    def test_a_new_intent_name_is_quoted_when_yaml_would_misread_it(self, intent: str, written: str) -> None:
        edited = add_example(EN_ORDERS, intent, "hmm")
        assert f"- intent: {written}\n" in edited
        assert [e.text for e in read_examples(edited)[intent]] == ["hmm"]

    @pytest.mark.parametrize(("text", "intent", "example"), [
        (ZH_ORDERS, "order_status", "发货了吗"),
        (ZH_ORDERS, "order_status", " 订单260312004417发货了吗 "),
        (EN_ORDERS, "order_status", "Has my order  shipped"),
        (EN_ORDERS, "order_status", "what's the status of order 260312004417"),
    ])
    def test_a_duplicate_is_refused(self, text: str, intent: str, example: str) -> None:
        with pytest.raises(DuplicateExample) as caught:
            add_example(text, intent, example)
        assert (caught.value.intent, caught.value.example) == (intent, example.strip())

    @pytest.mark.parametrize(("example", "reason"), [
        ("", "empty"), ("   ", "empty"), ("你好\n在吗", "multiple_lines"), ("hi\r\nthere", "multiple_lines"),
        ("hi\u2028there", "multiple_lines"),
    ])
    def test_an_invalid_example_is_refused(self, example: str, reason: str) -> None:
        with pytest.raises(InvalidExample) as caught:
            add_example(ZH_ORDERS, "order_status", example)
        assert caught.value.reason == reason

    @pytest.mark.parametrize(("text", "what", "reason"), [
        ('nlu:\n- intent: greet\n  examples: "- hello\\n- hi"\n', "greet", "examples_not_block"),
        ("nlu:\n- intent: greet\n  examples:\n  - text: hello\n", "greet", "examples_not_block"),
        ("nlu: [{intent: deny, examples: '- no'}]\n", "nlu", "not_block_list"),
        ("- intent: greet\n", "nlu", "not_mapping"),
    ])
    def test_layouts_it_does_not_edit(self, text: str, what: str, reason: str) -> None:
        with pytest.raises(NotEditable) as caught:
            add_example(text, "greet", "hey")
        assert (caught.value.what, caught.value.reason) == (what, reason)


class TestRemoveExample:
    """Removing an example removes its line; the last one takes its item and the blank line with it."""

    @pytest.mark.parametrize(("intent", "written"), [
        ("faq/ask_price", "faq/ask_price"), ("yes", '"yes"'), ("null", '"null"'), ("404", '"404"'),
        ("ask human", '"ask human"'),
    ])
    def test_a_new_intent_name_is_quoted_when_yaml_would_misread_it(self, intent: str, written: str) -> None:
        edited = add_example(EN_ORDERS, intent, "hmm")
        assert f"- intent: {written}\n" in edited
        assert [e.text for e in read_examples(edited)[intent]] == ["hmm"]

    @pytest.mark.parametrize(("text", "intent", "example"), [
        (ZH_ORDERS, "order_status", "发货了吗"),
        (ZH_ORDERS, "order_status", "订单[260312004417](order_id)发货了吗"),
        (EN_ORDERS, "order_status", "has my order shipped"),
        (EN_ORDERS, "order_status", "  what's the status of order [260312004417](order_id) "),
    ])
    def test_one_line_is_removed(self, text: str, intent: str, example: str) -> None:
        assert changes(text, remove_example(text, intent, example)) == [f"-    - {example.strip()}\n"]

    def test_the_last_example_of_the_last_item(self) -> None:
        assert remove_example(ZH_ORDERS, "track_shipment", "快递到哪了") == \
            ZH_ORDERS.replace("- intent: track_shipment\n  examples: |\n    - 快递到哪了\n", "")

    def test_the_last_example_of_a_middle_item(self) -> None:
        text = "nlu:\n- intent: a\n  examples: |\n    - x\n\n- intent: b\n  examples: |\n    - y\n\n" \
               "- intent: c\n  examples: |\n    - z\n"
        assert remove_example(text, "b", "y") == \
            "nlu:\n- intent: a\n  examples: |\n    - x\n\n- intent: c\n  examples: |\n    - z\n"

    def test_the_last_example_of_the_first_item(self) -> None:
        text = "nlu:\n- intent: a\n  examples: |\n    - x\n\n- intent: b\n  examples: |\n    - y\n"
        assert remove_example(text, "a", "x") == "nlu:\n- intent: b\n  examples: |\n    - y\n"

    def test_an_item_ending_in_an_empty_value_takes_only_its_own_lines(self) -> None:
        text = "nlu:\n- intent: greet\n  examples: |\n    - hi\n  metadata:\n- intent: deny\n  examples: |\n    - no\n"
        assert remove_example(text, "greet", "hi") == "nlu:\n- intent: deny\n  examples: |\n    - no\n"

    @pytest.mark.parametrize(("intent", "example"), [
        ("order_status", "快递到哪了"), ("order_status", "发货"), ("greet", "你好"),
    ])
    def test_an_example_that_is_not_there(self, intent: str, example: str) -> None:
        with pytest.raises(ExampleNotFound) as caught:
            remove_example(ZH_ORDERS, intent, example)
        assert (caught.value.intent, caught.value.example) == (intent, example)


class TestReplaceExample:
    """Replacing an example rewrites its line in place."""

    @pytest.mark.parametrize(("text", "old", "new"), [
        (ZH_ORDERS, "发货了吗", "发货了没"),
        (ZH_ORDERS, "订单[260312004417](order_id)发货了吗", "订单[260312004417](order_id)发了吗"),
        (EN_ORDERS, "has my order shipped", "has my order shipped yet"),
        (EN_ORDERS, "has my order shipped", "has my [iPhone 15](product) shipped"),
    ])
    def test_the_line_is_rewritten(self, text: str, old: str, new: str) -> None:
        edited = replace_example(text, "order_status", old, new)
        assert changes(text, edited) == [f"-    - {old}\n", f"+    - {new}\n"]
        assert text.splitlines().index(f"    - {old}") == edited.splitlines().index(f"    - {new}")

    def test_the_same_text_changes_nothing(self) -> None:
        assert replace_example(ZH_ORDERS, "order_status", "发货了吗", " 发货了吗 ") == ZH_ORDERS

    def test_only_the_case_changes(self) -> None:
        edited = replace_example(EN_ORDERS, "order_status", "has my order shipped", "Has my order shipped")
        assert changes(EN_ORDERS, edited) == ["-    - has my order shipped\n", "+    - Has my order shipped\n"]

    @pytest.mark.parametrize(("text", "old", "new"), [
        (ZH_ORDERS, "发货了吗", "订单260312004417发货了吗"),
        (EN_ORDERS, "has my order shipped", "What's the status of order 260312004417"),
    ])
    def test_a_duplicate_is_refused(self, text: str, old: str, new: str) -> None:
        with pytest.raises(DuplicateExample):
            replace_example(text, "order_status", old, new)

    def test_an_example_that_is_not_there(self) -> None:
        with pytest.raises(ExampleNotFound):
            replace_example(EN_ORDERS, "order_status", "where is my parcel", "where is it")

    def test_an_invalid_replacement(self) -> None:
        with pytest.raises(InvalidExample):
            replace_example(EN_ORDERS, "order_status", "has my order shipped", "has my\norder shipped")


class TestRealFiles:
    """On the project's own NLU files, edits are as small as a hand edit and undo exactly."""

    @pytest.mark.parametrize("path", NLU_FILES)
    def test_saving_unchanged_text_is_byte_identical(self, path: str, tmp_path: Path) -> None:
        copy = tmp_path / path
        copy.parent.mkdir(parents=True)
        shutil.copy(ROOT / path, copy)
        files = ProjectFiles(tmp_path)
        read = files.read(path)
        assert files.write(path, read.text, read.version) == read.version
        assert copy.read_bytes() == (ROOT / path).read_bytes()

    @pytest.mark.parametrize("path", [p for p in NLU_FILES if "/zh/" in p or "/en/" in p])
    def test_add_to_each_intent_is_one_line_and_remove_undoes_it(self, path: str) -> None:
        text = (ROOT / path).read_text("utf-8")
        example = "这是一个新的例句 [260101000001](order_id)" if "/zh/" in path else \
            "a brand new example [260101000001](order_id)"
        for intent in read_examples(text):
            added = add_example(text, intent, example)
            assert changes(text, added) == [f"+    - {example}\n"]
            assert remove_example(added, intent, example) == text
            replaced = replace_example(added, intent, example, example + "!")
            assert changes(added, replaced) == [f"-    - {example}\n", f"+    - {example}!\n"]

    @pytest.mark.parametrize("path", [p for p in NLU_FILES if "/zh/" in p or "/en/" in p])
    def test_a_new_intent_only_adds_lines_and_remove_undoes_it(self, path: str) -> None:
        text = (ROOT / path).read_text("utf-8")
        added = add_example(text, "brand_new", "新的 / new")
        assert changes(text, added) == ["+\n", "+- intent: brand_new\n", "+  examples: |\n", "+    - 新的 / new\n"]
        assert remove_example(added, "brand_new", "新的 / new") == text
