"""The operator console on the real stack: edit → train → test → publish in Chromium, no downtime, rollback.

The stack here serves a private copy of the Rasa project, so the edits never
touch the repository. Rasa's training cache is shared with ``make test``'s
training, so only what the edit changes (the NLU components) is retrained.
The tests run in order and share one model history.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from scripts.stack import ROOT, Stack, free_port
from tests.conftest import copy_project
from tests.e2e.conftest import Shopper, model_path, running

#: A zh and an en phrasing the trained model gets wrong (checked first, below), taught as ``invoice``.
NEW_ZH = "单位走账用的东西能给吗"
NEW_EN = "my accountant wants a stamped slip"
TRAINING_TIMEOUT_MS = 20 * 60 * 1000


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"), model_path())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, project: Path) -> Iterator[Stack]:
    with running(Stack(var_dir=tmp_path_factory.mktemp("stack"), project_dir=project,
                       model=project / "models" / model_path().name, web_port=free_port(),
                       rasa_ports=(free_port(), free_port()), action_port=free_port(), quiet=True,
                       extra_env={"RASA_CACHE_DIRECTORY": str(ROOT / ".rasa" / "cache")}),
                 timeout_s=300) as s:
        yield s


def operator(stack: Stack, operator_id: str = "O02") -> requests.Session:
    http = requests.Session()
    resp = http.post(f"{stack.url}/api/ops/session", json={"operator_id": operator_id, "password": "demo"},
                     timeout=10)
    resp.raise_for_status()
    return http


def parse_everywhere(stack: Stack, text: str) -> set[str]:
    """The intent each Rasa server gives ``text`` (two shards: both must have the same model)."""
    return {requests.post(f"http://127.0.0.1:{port}/model/parse", params={"token": stack.token},
                          json={"text": text}, timeout=30).json()["intent"]["name"] for port in stack.rasa_ports}


def texts(messages: list[dict[str, Any]]) -> str:
    return " ".join(m.get("text") or "" for m in messages)


def invoice_flow(messages: list[dict[str, Any]]) -> bool:
    """The bot started the invoice flow: it talks about the invoice, or asks which order to invoice."""
    payloads = [b.get("payload", "") for m in messages for b in m.get("buttons") or []]
    return "发票" in texts(messages) or "invoice" in texts(messages).lower() or \
        any(p.startswith("/invoice") for p in payloads)


class TestEditTrainPublish:
    def test_the_serving_model_gets_the_new_phrasings_wrong(self, stack: Stack) -> None:
        assert "invoice" not in parse_everywhere(stack, NEW_ZH)
        assert "invoice" not in parse_everywhere(stack, NEW_EN)
        fang = Shopper(stack.url, "C001")
        fang.open()
        assert not invoice_flow(fang.say(NEW_ZH))

    def test_edit_train_and_publish_in_the_browser_without_dropping_a_conversation(
            self, stack: Stack, browser: Any, project: Path) -> None:
        # An open conversation, mid-flow: James asked to cancel and the bot asked him to confirm.
        james = Shopper(stack.url, "C004")
        james.open()
        assert "cancel" in texts(james.say("I want to cancel my iPhone order")).lower()
        # An English example through the API, the Chinese one through the page.
        api = operator(stack)
        added = api.post(f"{stack.url}/api/ops/examples", json={"intent": "invoice", "language": "en",
                                                                  "text": NEW_EN}, timeout=10)
        assert added.status_code == 200, added.text
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{stack.url}/ops")
        page.get_by_test_id("op-id").fill("O01")
        page.get_by_test_id("op-password").fill("demo")
        page.get_by_test_id("op-login").click()
        page.get_by_test_id("op-name").wait_for()
        page.get_by_test_id("tab-nlu").click()
        page.get_by_test_id("intent-invoice").click()
        page.get_by_test_id("add-example-zh").fill(NEW_ZH)
        page.get_by_test_id("add-example-zh-submit").click()
        page.get_by_test_id("example-zh").filter(has_text=NEW_ZH).wait_for()
        assert NEW_ZH in (project / "data/nlu/zh/orders.yml").read_text("utf-8")

        page.get_by_test_id("tab-train").click()
        page.get_by_test_id("train").click()
        page.locator('[data-testid="train-status"][data-status="running"]').wait_for()
        busy = api.post(f"{stack.url}/api/ops/train", json={}, timeout=10)
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "training_busy"
        page.locator('[data-testid="train-status"]:not([data-status="running"])').wait_for(
            timeout=TRAINING_TIMEOUT_MS)
        job = api.get(f"{stack.url}/api/ops/train", timeout=10).json()["job"]
        assert job["status"] == "succeeded", job.get("output")
        for lang in ("zh", "en"):
            assert job["candidate_report"]["nlu"][lang]["n"] > 100
        page.get_by_test_id("report").wait_for()

        # Shoppers keep talking while the model is swapped.
        failures: list[str] = []
        stop = threading.Event()

        def chatter() -> None:
            emily = Shopper(stack.url, "C002")
            while not stop.is_set():
                try:
                    if not emily.say("where is my order?"):
                        failures.append("no reply")
                except requests.RequestException as exc:
                    failures.append(repr(exc))

        talker = threading.Thread(target=chatter)
        talker.start()
        try:
            page.get_by_test_id("publish").click()
            reason = page.get_by_test_id("publish-reason")
            serving = page.get_by_test_id("serving-model")
            page.wait_for_function(
                "() => document.querySelector('[data-testid=serving-model]')?.textContent.includes('candidate-')"
                " || !!document.querySelector('[data-testid=publish-reason]:not([hidden])')")
            if reason.is_visible() and "candidate-" not in (serving.text_content() or ""):
                reason.fill("new invoice phrasings; figures within noise")
                page.get_by_test_id("publish").click()
            page.wait_for_function(
                "() => document.querySelector('[data-testid=serving-model]')?.textContent.includes('candidate-')",
                timeout=180_000)
        finally:
            stop.set()
            talker.join()
        assert failures == []
        assert job["candidate"] in serving.text_content()

        # The open conversation goes on where it was: the confirmation still cancels the order.
        assert "cancelled" in texts(james.say("yes")).lower()

    def test_the_running_bot_now_understands_the_new_phrasings(self, stack: Stack) -> None:
        assert parse_everywhere(stack, NEW_ZH) == {"invoice"}
        assert parse_everywhere(stack, NEW_EN) == {"invoice"}
        fang = Shopper(stack.url, "C001")
        fang.open()
        assert invoice_flow(fang.say(NEW_ZH))
        emily = Shopper(stack.url, "C002")
        emily.open()
        assert invoice_flow(emily.say(NEW_EN))

    def test_rollback_serves_the_previous_model_again(self, stack: Stack) -> None:
        api = operator(stack)
        models = api.get(f"{stack.url}/api/ops/models", timeout=10).json()
        previous = models["previous"]
        assert previous == model_path().name
        resp = api.post(f"{stack.url}/api/ops/rollback", json={"reason": "rollback drill"}, timeout=300)
        assert resp.status_code == 200, resp.text
        assert "invoice" not in parse_everywhere(stack, NEW_ZH)
        status = [requests.get(f"http://127.0.0.1:{p}/status", params={"token": stack.token}, timeout=10).json()
                  for p in stack.rasa_ports]
        assert {Path(s["model_file"]).name for s in status} == {previous}

    def test_every_change_is_in_the_audit_trail(self, stack: Stack) -> None:
        entries = operator(stack).get(f"{stack.url}/api/ops/audit", timeout=10).json()["entries"]
        actions = [(e["actor"], e["action"]) for e in reversed(entries)]
        assert ("O02", "example_added") in actions and ("O01", "example_added") in actions
        assert ("O01", "training_started") in actions
        assert ("O01", "published") in actions
        assert actions[-1] == ("O02", "rolled_back")
