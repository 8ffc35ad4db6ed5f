"""The chat page in headless Chromium: pick a customer, talk, tap a suggestion."""

from __future__ import annotations

import sqlite3
from typing import Any

from scripts.stack import Stack


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
        page = open_chat(browser, stack, "C002")
        button = page.locator('[data-testid="quick-reply"]').first
        button.wait_for()
        bots = page.locator('[data-testid="msg-bot"]').count()
        button.click()
        page.wait_for_function(
            f"document.querySelectorAll('[data-testid=\"msg-bot\"]').length > {bots}", timeout=60_000)
        page.wait_for_timeout(500)
        text = page.locator('[data-testid="messages"]').inner_text()
        assert "PP-" in text and "251.00" in text
        page.close()

    def test_script_in_a_message_is_shown_as_text(self, browser: Any, stack: Stack) -> None:
        page = open_chat(browser, stack, "C006")
        send(page, "<img src=x onerror=\"document.title='pwned'\">")
        assert page.title() != "pwned"
        assert "<img" in page.locator('[data-testid="msg-shopper"]').last.inner_text()
        page.close()


class TestHandoffInTwoBrowsers:
    """A shopper and an agent, each in their own browser context, on the same conversation."""

    def test_agent_joins_replies_and_hands_back(self, browser: Any, stack: Stack) -> None:
        agent_ctx = browser.new_context()
        agent = agent_ctx.new_page()
        agent.set_default_timeout(60_000)
        agent.goto(f"{stack.url}/agent")
        agent.locator('[data-testid="agent-login-id"]').fill("A01")
        agent.locator('[data-testid="agent-login-password"]').fill("demo")
        agent.locator('[data-testid="agent-login-submit"]').click()
        toggle = agent.locator('[data-testid="online-toggle"]')
        toggle.wait_for()
        agent.wait_for_function("document.querySelector('[data-testid=online-toggle]').dataset.online")
        if toggle.get_attribute("data-online") != "true":
            toggle.click()

        shopper_ctx = browser.new_context()
        shopper = shopper_ctx.new_page()
        shopper.set_default_timeout(60_000)
        shopper.goto(stack.url)
        shopper.locator('[data-testid="customer-card"][data-customer-id="C004"]').click()
        shopper.locator('[data-testid="msg-bot"]').first.wait_for()
        send(shopper, "转人工")

        ticket = agent.locator('[data-testid="my-ticket"]').first
        ticket.wait_for()
        ticket.click()
        agent.locator('[data-testid="transcript"]').get_by_text("转人工").first.wait_for()
        agent.locator('[data-testid="reply-input"]').fill("您好，我是客服李娜，<b>马上</b>为您处理iPhone的价保。")
        agent.locator('[data-testid="reply-send"]').click()

        relayed = shopper.locator('[data-testid="msg-agent"]').last
        relayed.wait_for()
        assert "<b>马上</b>" in relayed.inner_text()  # shown as text, not HTML

        action = agent.locator('[data-testid="resolution-action"]')
        action.wait_for()
        action.click()  # the copilot's suggestion: approve the iPhone's price protection (¥600, needs review)
        agent.wait_for_function(  # the copilot refreshes right after, so check the text, not visibility
            "document.querySelector('[data-testid=resolution-result]').textContent.includes('PP-')")
        with sqlite3.connect(stack.var_dir / "shop.db") as db:
            claims = db.execute("SELECT status FROM claims WHERE customer_id='C004'").fetchall()
        assert claims == [("approved",)]

        agent.locator('[data-testid="resolve-button"]').click()
        shopper.get_by_text("1-5").first.wait_for()
        agent_ctx.close()
        shopper_ctx.close()
