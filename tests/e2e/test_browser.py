"""The chat page in headless Chromium: pick a customer, talk, tap a suggestion."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.stack import Stack
from tests.e2e.conftest import chromium_path

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


def open_chat(browser: Any, stack: Stack, customer_id: str) -> Any:
    page = browser.new_page()
    page.set_default_timeout(60_000)
    page.goto(stack.url)
    page.locator(f'[data-testid="customer-card"][data-customer-id="{customer_id}"]').click()
    page.locator('[data-testid="msg-bot"]').first.wait_for()
    return page


def send(page: Any, text: str) -> None:
    bots = page.locator('[data-testid="msg-bot"]').count()
    page.locator('[data-testid="message-input"]').fill(text)
    page.locator('[data-testid="send-button"]').click()
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=\"msg-bot\"]').length > {bots}", timeout=60_000)


class TestChatPage:
    def test_a_chinese_shopper_asks_where_the_parcel_is(self, browser: Any, stack: Stack) -> None:
        page = open_chat(browser, stack, "C001")
        send(page, "我的冰箱到哪了")
        assert page.locator('[data-testid="msg-shopper"]').last.inner_text().find("我的冰箱到哪了") >= 0
        page.wait_for_timeout(500)
        assert "SF" in page.locator('[data-testid="msg-bot"]').last.inner_text()
        page.close()

    def test_tapping_the_price_drop_suggestion_files_the_claim(self, browser: Any, stack: Stack) -> None:
        page = open_chat(browser, stack, "C008")
        button = page.locator('[data-testid="quick-reply"]').first
        button.wait_for()
        bots = page.locator('[data-testid="msg-bot"]').count()
        button.click()
        page.wait_for_function(
            f"document.querySelectorAll('[data-testid=\"msg-bot\"]').length > {bots}", timeout=60_000)
        page.wait_for_timeout(500)
        text = page.locator('[data-testid="messages"]').inner_text()
        assert "PP-" in text and "90.00" in text
        page.close()

    def test_script_in_a_message_is_shown_as_text(self, browser: Any, stack: Stack) -> None:
        page = open_chat(browser, stack, "C006")
        send(page, "<img src=x onerror=\"document.title='pwned'\">")
        assert page.title() != "pwned"
        assert "<img" in page.locator('[data-testid="msg-shopper"]').last.inner_text()
        page.close()
