"""The real stack (Rasa server, action server, web service), started fresh for each test module.

Each module gets its own databases, so no module depends on what another one did.

It serves the model that ``make test`` trained (``SHOP_TEST_MODEL``), on free
ports, with its own databases in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from scripts.stack import ROOT, Stack, free_port, latest_model


def model_path() -> Path:
    named = os.environ.get("SHOP_TEST_MODEL")
    model = Path(named) if named else latest_model(ROOT / "models")
    if model is None or not model.exists():
        pytest.fail("no trained model: run `make test` (it trains once) or `rasa train`")
    return model


@contextmanager
def running(s: Stack, timeout_s: float = 240) -> Iterator[Stack]:
    """Start ``s``, yield it, stop it; a failed start prints the tail of every process's log."""
    try:
        s.start(timeout_s=timeout_s)
    except Exception:
        for log in sorted(s.var_dir.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}")
        s.stop()
        raise
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(Stack(var_dir=tmp_path_factory.mktemp("stack"), model=model_path(), web_port=free_port(),
                       rasa_ports=(free_port(),), action_port=free_port(), quiet=True)) as s:
        yield s


class Shopper:
    """A signed-in shopper talking to the web service over HTTP."""

    def __init__(self, base: str, customer_id: str) -> None:
        self.base = base
        self.http = requests.Session()
        resp = self.http.post(f"{base}/api/session", json={"customer_id": customer_id}, timeout=10)
        resp.raise_for_status()
        self.conversation_id = resp.json()["conversation_id"]

    def open(self) -> list[dict[str, Any]]:
        resp = self.http.post(f"{self.base}/api/chat/open", json={}, timeout=60)
        resp.raise_for_status()
        return list(resp.json()["messages"])

    def say(self, text: str, payload: str | None = None, message_id: str | None = None) -> list[dict[str, Any]]:
        resp = self.send(text, payload, message_id)
        resp.raise_for_status()
        return list(resp.json()["messages"])

    def send(self, text: str, payload: str | None = None, message_id: str | None = None) -> requests.Response:
        """One message as the chat page sends it (``message_id``: the page's name for it, kept on a retry)."""
        body: dict[str, Any] = {"text": text}
        if payload is not None:
            body["payload"] = payload
        if message_id is not None:
            body["message_id"] = message_id
        return self.http.post(f"{self.base}/api/messages", json=body, timeout=60)


@pytest.fixture
def shopper(stack: Stack) -> Any:
    return lambda customer_id: Shopper(stack.url, customer_id)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only when a browser exists

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=FLAGS, headless=True)
        yield b
        b.close()
