"""The load benchmark's pure parts: levels and think time, the conversation mix, replies, tallies and the headline.

The benchmark itself starts the whole stack, so it is run by hand (``python -m bench.load --quick``);
these tests pin down what it sends and how it counts.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace

import pytest

from bench.load import (
    CLAIMANTS,
    HANDOFF_ASKS,
    LANGUAGE_OF,
    ORDER_QUESTIONS,
    Level,
    Outcome,
    Reply,
    Script,
    Step,
    Summary,
    Tally,
    Think,
    Turn,
    allot,
    check_stored,
    follow,
    headline,
    parse_levels,
    parse_think,
    resent,
    script_length,
    scripts_for,
    summarise,
    summary_table,
    tally,
)

HEADLINE = re.compile(
    r"^profile=scale shards=2 cold_start_s=[\d.]+ p50_ms_50=[\d.]+ p99_ms_50=[\d.]+ p50_ms_200=[\d.]+ "
    r"p99_ms_200=[\d.]+ errors=\d+ resent=\d+ claims=\d+ handoffs=\d+ db_check=(ok|MISMATCH) sat_tps_50=[\d.]+ "
    r"stock_tps_50=[\d.]+ ratio_50=[\d.]+ peak_mb=\d+$")


def summary(p50: float = 30.0, errors: int = 0, tps: float = 10.0) -> Summary:
    return Summary(turns=100, errors=errors, tps=tps, p50_ms=p50, p95_ms=p50 * 2, p99_ms=p50 * 3)


class TestOptions:
    @pytest.mark.parametrize(("text", "levels"), [("50,200,500", (50, 200, 500)), ("10", (10,)), ("30,10", (30, 10))])
    def test_levels_are_numbers_separated_by_commas(self, text: str, levels: tuple[int, ...]) -> None:
        """Each level is a number of concurrent conversations, run in the order given."""
        assert parse_levels(text) == levels

    @pytest.mark.parametrize("text", ["", "50,,200", "fifty", "0", "-5", "50,50"])
    def test_bad_levels_name_the_value_and_the_fix(self, text: str) -> None:
        """Empty, non-numeric, non-positive and repeated levels are refused with an example."""
        with pytest.raises(argparse.ArgumentTypeError, match=r"--conversations .*e\.g\. 50,200,500"):
            parse_levels(text)

    @pytest.mark.parametrize(("text", "think"), [("4,6", Think(4, 6)), ("5", Think(5, 5)), ("0.5,1", Think(0.5, 1))])
    def test_think_is_the_shortest_and_longest_seconds(self, text: str, think: Think) -> None:
        """``4,6`` is 4-6 s; one number is a fixed think time."""
        assert parse_think(text) == think

    @pytest.mark.parametrize("text", ["6,4", "0,6", "0", "a,b", "1,2,3", ""])
    def test_bad_think_times_are_refused(self, text: str) -> None:
        """Think time must be above zero, the shortest first; no think time is what saturation measures."""
        with pytest.raises(argparse.ArgumentTypeError, match="--think"):
            parse_think(text)


class TestMix:
    @pytest.mark.parametrize(("n", "orders", "claims", "handoffs"), [
        (10, 8, 1, 1), (30, 23, 4, 3), (50, 38, 7, 5), (200, 150, 30, 20), (500, 375, 75, 50),
        (3, 1, 1, 1), (1, 1, 0, 0),
    ])
    def test_kinds_come_in_their_shares_with_each_at_least_once(
            self, n: int, orders: int, claims: int, handoffs: int) -> None:
        """75/15/10 % by largest remainder; small levels still have one claim and one handoff."""
        assert Counter(allot(n)) == Counter({"orders": orders, "claim": claims, "handoff": handoffs}) - Counter()

    @pytest.mark.parametrize(("duration_s", "think", "steps", "ask_before"), [
        (60, Think(4, 6), 16, 8), (20, Think(4, 6), 6, 1), (10, Think(5, 5), 3, 1),
    ])
    def test_scripts_outlast_the_phase_and_ask_in_time(
            self, duration_s: float, think: Think, steps: int, ask_before: int) -> None:
        """One message per shortest think time, and the claim or handoff early enough for the longest."""
        assert script_length(duration_s, think) == (steps, ask_before)

    def test_the_same_seed_gives_the_same_scripts(self) -> None:
        """Runs are comparable: the conversations are a function of the seed."""
        assert scripts_for(50, 7, 16, 8) == scripts_for(50, 7, 16, 8)
        assert scripts_for(50, 7, 16, 8) != scripts_for(50, 8, 16, 8)

    def test_claims_are_made_by_customers_with_a_claimable_price_drop(self) -> None:
        """Every claim script has exactly one claim, from C002 or C008, in their language or mixed, with a tap."""
        scripts = [s for s in scripts_for(200, 3, 16, 8) if s.kind == "claim"]
        assert len(scripts) == 30
        assert {s.customer_id for s in scripts} == {c.customer_id for c in CLAIMANTS}
        for s in scripts:
            [ask] = [step for step in s.steps if step.kind == "claim"]
            who = next(c for c in CLAIMANTS if c.customer_id == s.customer_id)
            assert ask.language in (LANGUAGE_OF[s.customer_id], "mixed")
            assert ask.text in who.asks[ask.language] and ask.tap == who.tap
            assert s.steps.index(ask) < 8 and len(s.steps) == 16

    def test_a_handoff_is_the_last_message(self) -> None:
        """After asking for a person the shopper says nothing more to the bot."""
        scripts = [s for s in scripts_for(200, 3, 16, 8) if s.kind == "handoff"]
        assert len(scripts) == 20
        for s in scripts:
            assert [step.kind for step in s.steps].count("handoff") == 1
            assert s.steps[-1].kind == "handoff" and len(s.steps) <= 8
            assert s.steps[-1].text in HANDOFF_ASKS[s.steps[-1].language]

    def test_order_conversations_ask_only_order_questions_in_every_language(self) -> None:
        """Order scripts are the greater part, and zh, en and mixed messages all occur."""
        scripts = scripts_for(200, 3, 16, 8)
        steps = [step for s in scripts if s.kind == "orders" for step in s.steps]
        assert all(step.kind == "question" and step.text in ORDER_QUESTIONS[step.language] for step in steps)
        assert {step.language for s in scripts for step in s.steps} == {"zh", "en", "mixed"}
        assert 0.15 < Counter(step.language for step in steps)["mixed"] / len(steps) < 0.35


class TestReplies:
    BODY = ('{"messages": [{"text": "好消息！本次保价退款 ¥90.00。保价单号 PP-261124-8D4040。", "buttons": []},'
            ' {"text": "Which order do you mean?", "buttons": ['
            '{"title": "AirPods Pro (2nd generation) · 2026-11-09 · …1676", "payload": "/price_protection{}"},'
            '{"title": "Midea inverter air conditioner 1.5HP · 2026-10-30 · …3757",'
            ' "payload": "/price_protection{\\"order_id\\": \\"1\\"}"}]},'
            ' {"text": "I\'ve opened ticket TK-261124-F78FB1; an agent will pick it up.", "buttons": []}]}')

    def test_claim_and_ticket_numbers_are_read_from_the_text(self) -> None:
        """PP- numbers are claims, TK- numbers are tickets."""
        reply = Reply.from_json(self.BODY)
        assert reply.ids("PP") == {"PP-261124-8D4040"}
        assert reply.ids("TK") == {"TK-261124-F78FB1"}

    def test_the_shopper_taps_the_order_with_the_product_named(self) -> None:
        """The button is found by a word of its title, in either language; none matches → no tap."""
        reply = Reply.from_json(self.BODY)
        assert reply.button(("Midea", "美的")) == ("Midea inverter air conditioner 1.5HP · 2026-10-30 · …3757",
                                                 '/price_protection{"order_id": "1"}')
        assert reply.button(("飞鹤", "Feihe")) is None

    @pytest.mark.parametrize("body", ["", "not json", "[]", '{"messages": null}', '{"messages": ["x"]}'])
    def test_anything_else_is_an_empty_reply(self, body: str) -> None:
        assert Reply.from_json(body) == Reply()


class FakeChat:
    """The web front door as a conversation sees it: canned replies by message or payload, and what was sent."""

    def __init__(self, replies: Mapping[str, Reply]) -> None:
        self.replies = replies
        self.sent: list[tuple[str, str | None]] = []

    async def send(self, text: str, payload: str | None = None) -> tuple[Turn, Reply]:
        self.sent.append((text, payload))
        return Turn(time.monotonic(), 0.001), self.replies.get(payload or text, Reply(("ok",)))


FAST = Think(0.001, 0.002)
WHICH_ORDER = Reply(("Which order do you mean?",), (
    ("AirPods Pro · 2026-11-09 · …1676", "/price_protection{1}"),
    ("Midea air conditioner · 2026-10-30 · …3757", "/price_protection{2}")))


class TestFollow:
    async def test_the_shopper_taps_the_order_asked_about_and_goes_on(self) -> None:
        """A claim naming no product: the bot asks which order, the shopper taps it, the claim number counts."""
        script = Script("C002", (Step("where is my order", "en"), Step("price protection please", "en", "claim",
                                                                       ("Midea", "美的")), Step("thanks", "en")))
        chat = FakeChat({"price protection please": WHICH_ORDER,
                         "/price_protection{2}": Reply(("Your claim number is PP-261124-8EEF72.",))})
        turns: list[Turn] = []
        outcome = await follow(chat, script, FAST, random.Random(1), time.monotonic() + 10, turns)
        assert chat.sent == [("where is my order", None), ("price protection please", None),
                             ("Midea air conditioner · 2026-10-30 · …3757", "/price_protection{2}"), ("thanks", None)]
        assert outcome == Outcome("claim", True, frozenset({"PP-261124-8EEF72"}))
        assert len(turns) == 4

    @pytest.mark.parametrize("handed_over_at", ["转人工", "我的订单到哪了"])
    async def test_after_a_ticket_number_the_shopper_sends_nothing_more(self, handed_over_at: str) -> None:
        """Asked for or not, a ticket number ends the conversation: the chat is with a person now."""
        script = Script("C001", (Step("我的订单到哪了", "zh"), Step("转人工", "zh", "handoff"), Step("谢谢", "zh")))
        chat = FakeChat({handed_over_at: Reply(("已为您登记工单 TK-261124-31189B。",))})
        outcome = await follow(chat, script, FAST, random.Random(1), time.monotonic() + 10, [])
        assert chat.sent[-1] == (handed_over_at, None)
        assert ("谢谢", None) not in chat.sent
        assert outcome.ticket_ids == {"TK-261124-31189B"}

    async def test_nothing_is_sent_once_the_phase_is_over(self) -> None:
        """A conversation whose phase has ended says nothing and has asked nothing."""
        chat = FakeChat({})
        script = Script("C001", (Step("转人工", "zh", "handoff"),))
        assert await follow(chat, script, FAST, random.Random(1), time.monotonic(), []) == Outcome("handoff", False)
        assert chat.sent == []


class TestTally:
    def test_claims_and_handoffs_are_counted_from_what_the_replies_said(self) -> None:
        """Asked is not answered: only a claim or ticket number in a reply counts."""
        outcomes = [
            Outcome("claim", True, frozenset({"PP-261124-AAAAAA"})),
            Outcome("claim", True, frozenset({"PP-261124-AAAAAA"})),  # the same claim, already filed
            Outcome("claim", False),  # the phase ended before the ask
            Outcome("handoff", True, ticket_ids=frozenset({"TK-261124-000001"})),
            Outcome("handoff", True),  # asked, but no ticket number came back
            Outcome("orders", False, ticket_ids=frozenset({"TK-261124-000002"})),
        ]
        assert tally(outcomes) == Tally(
            claims_scripted=3, claims_asked=2, claims_answered=2, handoffs_scripted=2, handoffs_asked=2,
            handoffs_made=1, unscripted_tickets=1, claim_ids=frozenset({"PP-261124-AAAAAA"}),
            ticket_ids=frozenset({"TK-261124-000001", "TK-261124-000002"}))

    def test_the_database_must_hold_exactly_the_numbers_shown(self) -> None:
        """Shown but not stored, and stored but never shown, are both reported; agreement is silent."""
        seen = {"claims": frozenset({"PP-1"}), "tickets": frozenset({"TK-1", "TK-2"})}
        assert check_stored(seen, seen) == []
        assert check_stored(seen, {"claims": frozenset({"PP-1", "PP-2"}), "tickets": frozenset({"TK-1"})}) == [
            "claims: 1 in the database never shown in a reply: PP-2",
            "tickets: 1 shown in replies but not in the database: TK-2"]


class TestReport:
    def test_the_headline_has_every_level_and_the_comparison(self) -> None:
        """One key=value line; errors add up realistic and saturation failures."""
        levels = [Level(50, summary(30, errors=1), Tally(claims_answered=7, handoffs_made=5)),
                  Level(200, replace(summary(45, errors=2), resent=4), Tally(claims_answered=30, handoffs_made=20))]
        sat = {1: summary(tps=30), 10: summary(tps=50), 50: summary(tps=60, errors=3)}
        stock = {1: summary(tps=25), 10: summary(tps=30), 50: summary(tps=32)}
        line = headline("scale", 2, 41.26, levels, sat, stock, 2345.4, True)
        assert HEADLINE.match(line), line
        assert " p99_ms_200=135.0 " in line and " errors=6 resent=4 " in line
        assert " claims=37 handoffs=25 db_check=ok " in line
        assert line.endswith(" sat_tps_50=60.0 stock_tps_50=32.0 ratio_50=1.88 peak_mb=2345")

    def test_the_summary_table_has_a_row_per_phase_and_level(self) -> None:
        lines = summary_table([("realistic", "50", summary(30)), ("ours sat", "c=50", summary(12.5, errors=4))])
        assert len(lines) == 3
        assert lines[1].split() == ["realistic", "50", "30.0", "60.0", "90.0", "10.0", "0"]
        assert lines[2].split() == ["ours", "sat", "c=50", "12.5", "25.0", "37.5", "10.0", "4"]


def test_claimants_speak_every_language_they_are_scripted_in() -> None:
    """A claimant's asks cover their own language and mixed, which is what pick_language draws."""
    for c in CLAIMANTS:
        assert set(c.asks) == {LANGUAGE_OF[c.customer_id], "mixed"}
        assert all(c.asks.values())


class TestResending:
    """The realistic phase sends as the chat page does: the same message again on no answer, 503 or 409."""

    @staticmethod
    def server(*answers: tuple[int, str] | Exception) -> tuple[list[int], object]:
        calls: list[int] = []

        async def post() -> tuple[int, str]:
            calls.append(len(calls))
            answer = answers[min(len(calls) - 1, len(answers) - 1)]
            if isinstance(answer, Exception):
                raise answer
            return answer
        return calls, post

    async def test_a_503_then_an_answer_is_one_turn_sent_twice(self) -> None:
        calls, post = self.server((503, '{"error": {"code": "rasa_unavailable"}}'), (200, '{"messages": []}'))
        turn, body = await resent(post, delays=(0.01, 0.01, 0.01))
        assert (len(calls), turn.attempts, turn.error, body) == (2, 2, None, '{"messages": []}')

    async def test_no_answer_and_a_message_in_progress_are_sent_again(self) -> None:
        calls, post = self.server(TimeoutError(), (409, '{"error": {"code": "message_in_progress"}}'),
                                  (200, "{}"))
        turn, _ = await resent(post, delays=(0.01, 0.01, 0.01))
        assert (len(calls), turn.attempts, turn.error) == (3, 3, None)

    async def test_after_the_last_resend_the_turn_is_an_error_with_its_waits_counted(self) -> None:
        calls, post = self.server((503, "busy"))
        turn, body = await resent(post, delays=(0.01, 0.02, 0.04))
        assert (len(calls), turn.attempts, body) == (4, 4, "")
        assert turn.error == "HTTP 503: busy" and turn.latency_s >= 0.05  # 0.07 s of waits, less clock slack

    @pytest.mark.parametrize("answer", [(400, '{"error": {"code": "invalid_type"}}'),
                                        (409, '{"error": {"code": "conflict"}}'), (500, "oops")])
    async def test_other_failures_are_not_sent_again(self, answer: tuple[int, str]) -> None:
        calls, post = self.server(answer)
        turn, _ = await resent(post, delays=(0.01, 0.01, 0.01))
        assert (len(calls), turn.attempts) == (1, 1) and turn.error is not None

    def test_resent_turns_are_counted_in_the_phase(self) -> None:
        now = time.monotonic()
        turns = [Turn(now, 0.1), Turn(now, 3.2, attempts=2), Turn(now, 7.5, "HTTP 503: busy", attempts=4)]
        s = summarise(turns, now, now + 10)
        assert (s.turns, s.errors, s.resent) == (2, 1, 2)
        assert "resent=2" in s.row()
