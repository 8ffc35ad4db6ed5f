"""The Rasa project's own invariants: domain, data, actions and responses agree."""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

import actions.orders
from bot import protection, returns
from bot.web.errors import STATUS

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text("utf-8"))
#: Responses named by the pure core's decisions (``Decision.response``), by topic.
DECISION_REASONS = {"price_protection": protection.REASONS, "return": returns.RETURN_REASONS,
                    "exchange": returns.EXCHANGE_REASONS, "cancel": returns.CANCEL_REASONS}
TRIGGER_INTENTS: set[str] = set()  # intents only ever sent as payloads


def intents() -> list[str]:
    return [i if isinstance(i, str) else next(iter(i)) for i in DOMAIN["intents"]]


def nlu_intents(language: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in (ROOT / "data/nlu" / language).glob("*.yml"):
        for block in yaml.safe_load(path.read_text("utf-8")).get("nlu", []):
            if "intent" in block:
                n = len([x for x in block["examples"].splitlines() if x.strip().startswith("- ")])
                counts[block["intent"]] = counts.get(block["intent"], 0) + n
    return counts


def registered_actions() -> set[str]:
    executor = ActionExecutor()
    executor.register_package("actions")
    return set(executor.actions)


class TestDomain:
    def test_domain_actions_are_exactly_the_registered_actions(self) -> None:
        assert set(DOMAIN["actions"]) == registered_actions()

    @pytest.mark.parametrize("language", ["zh", "en"])
    def test_every_intent_has_at_least_40_examples_in_each_language(self, language: str) -> None:
        counts = nlu_intents(language)
        missing = {i: counts.get(i, 0) for i in intents()
                   if i not in TRIGGER_INTENTS and counts.get(i, 0) < 40}
        assert missing == {}

    def test_every_response_has_a_zh_variant_and_an_en_default(self) -> None:
        for name, variants in DOMAIN["responses"].items():
            zh = [v for v in variants if v.get("condition") == [{"type": "slot", "name": "language", "value": "zh"}]]
            default = [v for v in variants if not v.get("condition")]
            assert len(zh) == 1 and len(default) == 1, name

    def test_every_response_an_action_names_exists(self) -> None:
        responses = set(DOMAIN["responses"])
        source = "\n".join(p.read_text("utf-8") for p in (ROOT / "actions").glob("*.py"))
        named = set(re.findall(r'"(utter_[a-z_]+)"', source))
        assert named - responses == set()

    def test_actions_never_send_literal_text(self) -> None:
        for path in (ROOT / "actions").glob("*.py"):
            tree = ast.parse(path.read_text("utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "utter_message":
                    assert "text" not in {k.arg for k in node.keywords}, path.name

    def test_intent_labels_cover_every_intent_in_both_languages(self) -> None:
        labels = yaml.safe_load((ROOT / "actions/intent_labels.yml").read_text("utf-8"))
        for intent in intents():
            if intent not in TRIGGER_INTENTS:
                assert labels[intent]["zh"] and labels[intent]["en"], intent

    def test_ui_strings_have_the_same_keys_in_both_languages(self) -> None:
        strings = json.loads((ROOT / "bot/web/static/i18n.json").read_text("utf-8"))
        assert set(strings["zh"]) == set(strings["en"])

    def test_agent_console_strings_have_the_same_keys_in_both_languages(self) -> None:
        strings = json.loads((ROOT / "bot/web/static/agent_i18n.json").read_text("utf-8"))
        assert set(strings["zh"]) == set(strings["en"])

    def test_every_web_error_code_has_text(self) -> None:
        strings = json.loads((ROOT / "bot/web/static/i18n.json").read_text("utf-8"))
        for code in STATUS:
            assert f"error.{code}" in strings["zh"] and f"error.{code}" in strings["en"], code


class TestPureCore:
    FRAMEWORKS = ("aiohttp", "rasa", "rasa_sdk", "sqlalchemy", "sanic", "tensorflow")
    CORE = ["bot/catalog.py", "bot/orders.py", "bot/errors.py", "bot/language.py", "bot/display.py",
            "bot/resolution.py", "bot/chat.py", "bot/policy.py", "bot/protection.py", "bot/returns.py",
            "bot/andon.py", "bot/decision.py", "bot/routing.py", "bot/copilot.py", "bot/prediction.py",
            "bot/sentiment.py", "bot/studio/conversations.py", "bot/studio/checks.py", "bot/studio/document.py",
            "bot/studio/domain.py", "bot/studio/examples.py", "bot/studio/nlu.py", "bot/studio/responses.py",
            "bot/studio/progress.py", "bot/studio/evaluation.py", "bot/privacy.py", "bot/rate_limit.py"]

    @pytest.mark.parametrize("module", CORE)
    def test_the_core_imports_no_framework_and_reads_no_clock(self, module: str) -> None:
        path = ROOT / module
        if not path.exists():
            pytest.fail(f"{module} is part of the core and must exist")
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in self.FRAMEWORKS, f"{module} imports {name}"
            if isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "today"):
                assert not (isinstance(node.value, ast.Name) and node.value.id in ("datetime", "date")), module


class TestRasaData:
    def test_rasa_data_validate_is_clean(self) -> None:
        """Only warnings about responses that custom actions (not stories) send are allowed."""
        result = subprocess.run([str(Path(sys.executable).parent / "rasa"), "data", "validate"],
                                cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        # actions send responses, and the web service executes one after a handoff
        source = "\n".join(p.read_text("utf-8") for p in [*(ROOT / "actions").glob("*.py"),
                                                           *(ROOT / "bot/web").glob("*.py")])
        prefixes = set(re.findall(r'"(utter_[a-z_]+?)_?\{', source)) | set(re.findall(r'f"(utter_[a-z_]+)_\{', source))
        decided = {f"utter_{topic}_{r}" for topic, reasons in DECISION_REASONS.items() for r in reasons}
        decided |= {f"utter_ask_{slot}" for form in DOMAIN["forms"].values() for slot in form["required_slots"]}
        for line in (result.stdout + result.stderr).splitlines():
            if "UserWarning" not in line:
                continue
            m = re.search(r"The utterance '(utter_\w+)' is not used in any story or rule", line)
            assert m, f"unexpected warning: {line}"
            name = m.group(1)
            assert f'"{name}"' in source or name in decided or any(name.startswith(p) for p in prefixes), \
                f"{name} is neither in a story nor sent by an action"


def test_registered_actions_are_classes_of_the_actions_package() -> None:
    assert all(issubclass(c, Action) for _, c in inspect.getmembers(actions.orders, inspect.isclass)
               if c.__module__ == "actions.orders" and c.__name__.startswith("Action"))
