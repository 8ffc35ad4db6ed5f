"""Specification of bot.studio.checks: each problem code, where it points, and what it names."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import ANY

import pytest

from bot.studio.checks import CODES, Problem, check
from bot.studio.domain import DomainNames
from bot.studio.files import Kind, ProjectFiles

ROOT = Path(__file__).resolve().parents[2]
NAMES = DomainNames(
    intents=("greet", "order_status", "cancel_order", "affirm"),
    entities=("order_id", "product"),
    slots=("eligible", "order_id"),
    forms=("address_form",),
    actions=("action_check_cancel", "action_order_status"),
    responses=("utter_greet", "utter_cancel_kept"),
)
NLU = 'version: "3.1"\nnlu:\n'
STORIES = 'version: "3.1"\nstories:\n'
RULES = 'version: "3.1"\nrules:\n'
ZH = "- condition: [{type: slot, name: language, value: zh}]\n      text: "


def nlu(intent: str, *examples: str) -> str:
    return NLU + f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {e}\n" for e in examples)


def story(*steps: str) -> str:
    return STORIES + "- story: s\n  steps:\n" + "".join(f"  - {s}\n" for s in steps)


def domain(*responses: str) -> str:
    return 'version: "3.1"\nintents:\n  - greet\nresponses:\n' + "".join(responses)


def codes(problems: list[Problem]) -> list[tuple[int, str, dict[str, str | int]]]:
    return [(p.line, p.code, p.params) for p in problems]


class TestClean:
    """Valid files, in both languages and every shape Rasa accepts, have no problems."""

    @pytest.mark.parametrize(("kind", "text"), [
        ("nlu", nlu("order_status", "我的订单发货了吗", "订单[260312004417](order_id)发货了吗")),
        ("nlu", nlu("order_status", "has my order shipped", 'is my [iPhone 15]{"entity": "product"} here')),
        ("nlu", nlu("order_status", '[iPhone 15][{"entity": "product"}, {"entity": "product", "role": "x"}] 到哪了')),
        ("nlu", nlu("nlu_fallback", "???")),
        ("nlu", NLU + "  - regex: order_id\n    examples: |\n      - (?<![0-9])[0-9]{12}(?![0-9])\n"
                      "  - synonym: iPhone 15\n    examples: |\n      - 苹果15\n"
                      "  - lookup: product\n    examples: |\n      - 空调\n"),
        ("nlu", NLU + "# comments are fine\n- intent: greet\n  metadata: {source: ops}\n  examples: |\n    - 你好\n"),
        ("nlu", NLU),
        ("stories", story("intent: cancel_order", "action: action_check_cancel",
                          "slot_was_set:\n    - eligible: true", "intent: affirm", "action: utter_cancel_kept")),
        ("stories", story("intent: order_status\n    entities:\n    - order_id: '260312004417'",
                          "action: action_order_status", "slot_was_set:\n    - order_id", "action: action_listen")),
        ("stories", story("checkpoint: start", "or:\n    - intent: greet\n    - intent: affirm",
                          "action: utter_greet")),
        ("rules", RULES + "- rule: form submitted\n  condition:\n  - active_loop: address_form\n  steps:\n"
                          "  - action: address_form\n  - active_loop: null\n  - slot_was_set:\n"
                          "    - requested_slot: null\n  - action: action_listen\n"),
        ("rules", RULES + "- rule: start\n  conversation_start: true\n  wait_for_user_input: false\n  steps:\n"
                          "  - intent: session_start\n  - action: action_session_start\n"),
        ("test_stories", STORIES + "- story: zh\n  steps:\n  - user: |\n      订单[260312004417](order_id)发货了吗\n"
                                   "    intent: order_status\n  - action: action_order_status\n"),
        ("test_stories", STORIES + "- story: en\n  steps:\n  - user: |\n      where is my order\n"
                                   "    intent: order_status\n  - action: action_order_status\n"),
        ("domain", domain(f"  utter_greet:\n    {ZH}\"您好\"\n    - text: \"Hello\"\n")),
    ])
    def test_no_problems(self, kind: Kind, text: str) -> None:
        assert check(kind, text, NAMES) == []

    @pytest.mark.parametrize("path", [file.path for file in ProjectFiles(ROOT).list()])
    def test_the_project_files_are_clean(self, path: str) -> None:
        files = ProjectFiles(ROOT)
        names = DomainNames.from_domain_text(files.read("domain.yml").text)
        file = next(file for file in files.list() if file.path == path)
        assert [str(p) for p in check(file.kind, files.read(path).text, names)] == []


class TestProblems:
    """Each code points at the offending line and names the offending value."""

    @pytest.mark.parametrize(("kind", "text", "expected"), [
        # YAML itself
        ("nlu", NLU + "- intent: greet\n  examples: |\n    - 你好\n  - [oops\n",
         [(6, "yaml_syntax", {"detail": ANY})]),
        ("nlu", NLU + "- intent: greet\n\texamples: |\n    - hello\n",
         [(4, "yaml_syntax", {"detail": ANY})]),
        ("domain", domain(f"  utter_greet:\n    {ZH}\"您好\n    - text: \"Hello\"\n"),
         [(8, "yaml_syntax", {"detail": ANY})]),
        ("domain", domain(f"  utter_greet:\n    {ZH}\"您好\"\n    - text: \"Hi\"\n"
                          f"  utter_greet:\n    {ZH}\"你好\"\n    - text: \"Hello\"\n"),
         [(9, "duplicate_key", {"key": "utter_greet"})]),
        # shape
        ("nlu", "- intent: greet\n", [(1, "bad_shape", {"expected": "mapping"})]),
        ("nlu", 'version: "3.1"\n', [(1, "missing_key", {"key": "nlu"})]),
        ("nlu", "", [(1, "missing_key", {"key": "nlu"})]),
        ("nlu", "version: 3.1\nnlu:\n", [(1, "bad_shape", {"key": "version", "expected": "string"})]),
        ("nlu", NLU + "- intent: greet\n", [(3, "missing_key", {"key": "examples", "intent": "greet"})]),
        ("nlu", NLU + "- examples: |\n    - 你好\n", [(3, "missing_key", {"key": "intent"})]),
        ("nlu", NLU + "- intent: greet\n  examples:\n  - 你好\n",
         [(5, "bad_shape", {"key": "examples", "expected": "string"})]),
        ("nlu", NLU + "- intent: greet\n  examples: |\n    - 你好\n    在吗\n",
         [(6, "bad_shape", {"key": "examples", "expected": "example_line"})]),
        ("nlu", NLU + "- intent: greet\n  examples: |\n    - hello\n    hi there\n",
         [(6, "bad_shape", {"key": "examples", "expected": "example_line"})]),
        ("nlu", NLU + "- intent:\n  examples: |\n    - hello\n",
         [(3, "bad_shape", {"key": "intent", "expected": "string"})]),
        ("nlu", nlu("order_status", '订单[260312004417]{"entity": order_id}发货了吗'),
         [(5, "bad_shape", {"key": "entity", "expected": "annotation",
                            "example": '订单[260312004417]{"entity": order_id}发货了吗'})]),
        ("nlu", NLU + "- intent: greet\n  exemples: |\n    - hello\n",
         [(3, "missing_key", {"key": "examples", "intent": "greet"}), (4, "unknown_key", {"key": "exemples"})]),
        ("nlu", NLU + "- intnet: greet\n  examples: |\n    - hello\n", [(3, "missing_key", {"key": "intent"})]),
        ("stories", 'version: "3.1"\n', [(1, "missing_key", {"key": "stories"})]),
        ("rules", 'version: "3.1"\n', [(1, "missing_key", {"key": "rules"})]),
        ("stories", STORIES + "- story: s\n", [(3, "missing_key", {"key": "steps", "story": "s"})]),
        ("stories", STORIES + "- steps:\n  - intent: greet\n", [(3, "missing_key", {"key": "story"})]),
        ("stories", STORIES + "- story: s\n  steps: greet\n", [(4, "bad_shape", {"key": "steps", "expected": "list"})]),
        ("stories", story("greet"), [(5, "bad_shape", {"key": "steps", "expected": "mapping"})]),
        ("stories", story("intnet: greet"),
         [(5, "bad_shape", {"key": "steps", "expected": "step"}), (5, "unknown_key", {"key": "intnet"})]),
        ("stories", story("action:"), [(5, "bad_shape", {"key": "action", "expected": "string"})]),
        ("stories", story("slot_was_set: eligible"),
         [(5, "bad_shape", {"key": "slot_was_set", "expected": "list"})]),
        ("rules", RULES + "- rule: r\n  condition:\n  - intent: greet\n  steps:\n  - action: utter_greet\n",
         [(5, "bad_shape", {"key": "condition", "expected": "step"}), (5, "unknown_key", {"key": "intent"})]),
        ("rules", RULES + "- rule: r\n  steps:\n  - action: utter_greet\n  wait_for_user: false\n",
         [(6, "unknown_key", {"key": "wait_for_user"})]),
        # names the domain does not know
        ("nlu", nlu("order_stauts", "我的订单发货了吗"), [(3, "unknown_intent", {"name": "order_stauts"})]),
        ("nlu", nlu("order_stauts", "has my order shipped"), [(3, "unknown_intent", {"name": "order_stauts"})]),
        ("stories", story("intent: order_stauts"), [(5, "unknown_intent", {"name": "order_stauts"})]),
        ("test_stories", STORIES + "- story: s\n  steps:\n  - user: |\n      你好\n    intent: gret\n",
         [(7, "unknown_intent", {"name": "gret"})]),
        ("nlu", nlu("order_status", "我的订单发货了吗", "订单[260312004417](order_no)发货了吗"),
         [(6, "unknown_entity", {"name": "order_no", "example": "订单[260312004417](order_no)发货了吗"})]),
        ("nlu", nlu("order_status", "has order [260312004417](order_no) shipped"),
         [(5, "unknown_entity", {"name": "order_no", "example": "has order [260312004417](order_no) shipped"})]),
        ("nlu", nlu("order_status", 'my [iPhone 15]{"entity": "produkt"} order'),
         [(5, "unknown_entity", {"name": "produkt", "example": 'my [iPhone 15]{"entity": "produkt"} order'})]),
        ("test_stories", STORIES + "- story: s\n  steps:\n  - user: |\n      我的[空调](prodcut)到哪了\n"
                                   "    intent: order_status\n",
         [(6, "unknown_entity", {"name": "prodcut"})]),
        ("stories", story("intent: order_status\n    entities:\n    - order_no: '1'"),
         [(7, "unknown_entity", {"name": "order_no"})]),
        ("stories", story("slot_was_set:\n    - eligable: true"), [(6, "unknown_slot", {"name": "eligable"})]),
        ("stories", story("slot_was_set:\n    - eligable"), [(6, "unknown_slot", {"name": "eligable"})]),
        ("stories", story("active_loop: adress_form"), [(5, "unknown_form", {"name": "adress_form"})]),
        ("stories", story("action: action_check_cancle"), [(5, "unknown_action", {"name": "action_check_cancle"})]),
        ("stories", story("action: utter_greeting"), [(5, "unknown_action", {"name": "utter_greeting"})]),
        ("stories", story("or:\n    - intent: greet\n    - intent: afirm"), [(7, "unknown_intent", {"name": "afirm"})]),
        ("rules", RULES + "- rule: r\n  condition:\n  - active_loop: invoice_form\n  steps:\n  - action: utter_greet\n",
         [(5, "unknown_form", {"name": "invoice_form"})]),
        ("domain", 'forms:\n  address_form:\n    required_slots:\n      - new_adress\n',
         [(4, "unknown_slot", {"name": "new_adress"})]),
        # duplicates
        ("nlu", nlu("order_status", "发货了吗", "订单状态", "发货了吗"),
         [(7, "duplicate_example", {"intent": "order_status", "example": "发货了吗", "first_line": 5})]),
        ("nlu", nlu("order_status", "Where is my order", "where  is my order"),
         [(6, "duplicate_example", {"intent": "order_status", "example": "where  is my order", "first_line": 5})]),
        ("nlu", nlu("order_status", "订单[260312004417](order_id)发货了吗", "订单260312004417发货了吗"),
         [(6, "duplicate_example", {"intent": "order_status", "example": "订单260312004417发货了吗",
                                    "first_line": 5})]),
        ("nlu", nlu("greet", "你好") + "- intent: greet\n  examples: |\n    - 你好\n",
         [(8, "duplicate_example", {"intent": "greet", "example": "你好", "first_line": 5})]),
        # response variants
        ("domain", domain('  utter_greet:\n    - text: "Hello"\n'),
         [(5, "missing_variant", {"response": "utter_greet", "language": "zh"})]),
        ("domain", domain(f'  utter_greet:\n    {ZH}"您好"\n'),
         [(5, "missing_variant", {"response": "utter_greet", "language": "en"})]),
        ("domain", domain(f'  utter_greet:\n    {ZH}"您好"\n    {ZH}"你好"\n    - text: "Hello"\n'),
         [(5, "duplicate_variant", {"response": "utter_greet", "language": "zh"})]),
        ("domain", domain('  utter_greet:\n    - condition: [{type: slot, name: language, value: en}]\n'
                          '      text: "Hello"\n'),
         [(5, "missing_variant", {"response": "utter_greet", "language": "zh"}),
          (5, "missing_variant", {"response": "utter_greet", "language": "en"})]),
        ("domain", domain('  utter_greet: "Hello"\n'), [(5, "bad_shape", {"key": "utter_greet", "expected": "list"})]),
        ("domain", 'version: "3.1"\nintens:\n  - greet\n', [(2, "unknown_key", {"key": "intens"})]),
    ])
    def test_problem(self, kind: Kind, text: str, expected: list[tuple[int, str, dict[str, str | int]]]) -> None:
        problems = check(kind, text, NAMES)
        assert codes(problems) == expected
        assert {p.code for p in problems} <= CODES

    def test_every_code_is_specified_above(self) -> None:
        """Each code in CODES has at least one row in ``test_problem``, so the console can rely on it."""
        rows = TestProblems.test_problem.pytestmark[0].args[1]  # type: ignore[attr-defined]
        assert {code for _, _, expected in rows for _, code, _ in expected} == CODES

    def test_columns_point_at_the_value(self) -> None:
        [problem] = check("stories", story("intent: greet", "action: utter_greeting"), NAMES)
        assert (problem.line, problem.column) == (6, 13)

    def test_columns_inside_an_examples_block_point_at_the_example_line(self) -> None:
        [problem] = check("nlu", nlu("order_status", "发货了吗", "发货了吗"), NAMES)
        assert (problem.line, problem.column) == (6, 5)

    def test_problems_are_sorted_by_position(self) -> None:
        text = story("intent: gret", "action: utter_greeting", "intent: afirm")
        assert [(p.line, p.params["name"]) for p in check("stories", text, NAMES)] == \
            [(5, "gret"), (6, "utter_greeting"), (7, "afirm")]

    def test_a_domain_is_checked_against_its_own_names(self) -> None:
        text = 'slots:\n  new_address:\n    type: text\n    mappings: []\nforms:\n  address_form:\n' \
               '    required_slots:\n      - new_address\n'
        assert check("domain", text, DomainNames()) == []


class TestProblem:
    """A problem is data for the console and one English line for the log."""

    def test_to_json(self) -> None:
        problem = Problem(5, 3, "unknown_intent", {"name": "gret"})
        assert problem.to_json() == {"line": 5, "column": 3, "code": "unknown_intent", "params": {"name": "gret"}}

    def test_str_is_a_log_line(self) -> None:
        assert str(Problem(5, 3, "unknown_intent", {"name": "gret"})) == "5:3 unknown_intent (name=gret)"
        assert str(Problem(1, 1, "missing_key")) == "1:1 missing_key"
