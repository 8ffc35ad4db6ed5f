"""Specification of bot.routing: who gets which ticket, in what order, and the SLA clock.

Every ticket below joins the queue at T0 = 2026-11-23 10:00:00 Shanghai time
unless a row says otherwise, so it is due at 11:40:00 (100 minutes), near
breach from 11:25:00 and breached from 11:40:01; optional skills are dropped
from 10:03:00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InvalidData, NotAllowed, ShopError
from bot.policy import load_policy
from bot.routing import (
    DEFAULT_CONFIG,
    PRIORITY_NORMAL,
    PRIORITY_SAFETY,
    PRIORITY_VIP,
    REASONS,
    SKILLS,
    Agent,
    NotYourTicket,
    RoutingConfig,
    Ticket,
    TicketNotFound,
    TicketStatus,
    assign_waiting,
    can_act,
    estimated_wait_minutes,
    find_ticket,
    handoff_news,
    is_relaxed,
    loads,
    open_ticket,
    priority,
    queue_facts,
    queue_order,
    queue_position,
    resolve,
    route,
    sla_due,
    sla_state,
    take_over,
    transfer,
)

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
POLICY = load_policy(Path(__file__).resolve().parents[2] / "policy.yml")


def after(minutes: float = 0, seconds: float = 0) -> datetime:
    """T0 plus a wait."""
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def agent(agent_id: str, languages: str = "zh", skills: tuple[str, ...] = (), *, capacity: int = 2,
          online: bool = True, load: int = 0) -> Agent:
    """An agent; ``languages`` like ``"zh"``, ``"en"`` or ``"zh en"``."""
    return Agent(agent_id=agent_id, name=f"Agent {agent_id}", languages=frozenset(languages.split()),
                 skills=frozenset(skills), capacity=capacity, online=online, load=load)


def ticket(ticket_id: str = "T1", language: str = "zh", *, required: tuple[str, ...] = (),
           optional: tuple[str, ...] = (), vip: bool = False, safety: bool = False,
           created: datetime = T0, **more: Any) -> Ticket:
    """A queued ticket opened at ``created``."""
    return Ticket(ticket_id=ticket_id, conversation_id=f"conv-{ticket_id}", customer_id="C002",
                  language=language, reason=more.pop("reason", "ask_human"),
                  required_skills=frozenset(required), optional_skills=frozenset(optional),
                  vip=vip, safety=safety, created_at=created, **more)


# id, ticket, agents, now, expected agent id
ROUTES: list[tuple[str, Ticket, list[Agent], datetime, str | None]] = [
    ("zh-speaker-for-zh", ticket(language="zh"), [agent("A1", "en"), agent("A2", "zh")], T0, "A2"),
    ("en-speaker-for-en", ticket(language="en"), [agent("A1", "en"), agent("A2", "zh")], T0, "A1"),
    ("bilingual-serves-zh", ticket(language="zh"), [agent("A1", "en"), agent("A2", "zh en")], T0, "A2"),
    ("bilingual-serves-en", ticket(language="en"), [agent("A1", "zh"), agent("A2", "zh en")], T0, "A2"),
    ("zh-nobody-speaks-it", ticket(language="zh"), [agent("A1", "en")], after(60), None),
    ("en-nobody-speaks-it", ticket(language="en"), [agent("A1", "zh")], after(60), None),
    ("zh-required-skill-beats-load",
     ticket(language="zh", required=("price_protection",)),
     [agent("A1", "zh"), agent("A2", "zh", ("price_protection",), load=1)], T0, "A2"),
    ("en-required-skill-beats-load",
     ticket(language="en", required=("safety",)),
     [agent("A1", "en"), agent("A2", "en", ("safety",), load=1)], T0, "A2"),
    ("zh-required-skill-never-relaxed",
     ticket(language="zh", required=("safety",)), [agent("A1", "zh", ("appliances",))], after(90), None),
    ("en-required-skill-never-relaxed",
     ticket(language="en", required=("price_protection",)), [agent("A1", "en")], after(90), None),
    ("zh-optional-needed-at-2m59s",
     ticket(language="zh", optional=("appliances",)), [agent("A1", "zh")], after(2, 59), None),
    ("zh-optional-dropped-at-3m00s",
     ticket(language="zh", optional=("appliances",)), [agent("A1", "zh")], after(3), "A1"),
    ("zh-optional-dropped-at-3m01s",
     ticket(language="zh", optional=("appliances",)), [agent("A1", "zh")], after(3, 1), "A1"),
    ("en-optional-needed-at-2m59s",
     ticket(language="en", optional=("digital", "returns")), [agent("A1", "en", ("digital",))],
     after(2, 59), None),
    ("en-optional-dropped-at-3m01s",
     ticket(language="en", optional=("digital", "returns")), [agent("A1", "en", ("digital",))],
     after(3, 1), "A1"),
    ("zh-specialist-preferred-before-relaxation",
     ticket(language="zh", optional=("appliances",)),
     [agent("A1", "zh"), agent("A2", "zh", ("appliances",), load=1)], after(2, 59), "A2"),
    ("zh-least-loaded-after-relaxation",
     ticket(language="zh", optional=("appliances",)),
     [agent("A1", "zh"), agent("A2", "zh", ("appliances",), load=1)], after(3, 1), "A1"),
    ("en-most-optional-skills-on-equal-load",
     ticket(language="en", optional=("appliances", "returns")),
     [agent("A1", "en", ("returns",)), agent("A2", "en", ("appliances", "returns")), agent("A3", "en")],
     after(5), "A2"),
    ("zh-least-loaded-first",
     ticket(language="zh"), [agent("A1", "zh", load=1), agent("A2", "zh", load=0)], T0, "A2"),
    ("en-least-loaded-first",
     ticket(language="en"), [agent("A1", "en", load=0, capacity=5), agent("A2", "en", load=3, capacity=5)],
     T0, "A1"),
    ("zh-agent-id-breaks-ties", ticket(language="zh"), [agent("B2", "zh"), agent("B1", "zh")], T0, "B1"),
    ("zh-full-agent-skipped",
     ticket(language="zh"), [agent("A1", "zh", capacity=2, load=2), agent("A2", "zh", load=1)], T0, "A2"),
    ("en-everyone-full",
     ticket(language="en"), [agent("A1", "en", capacity=1, load=1), agent("A2", "en", capacity=0)],
     after(30), None),
    ("zh-offline-agent-skipped",
     ticket(language="zh"), [agent("A1", "zh", online=False), agent("A2", "zh", load=1)], T0, "A2"),
    ("en-everyone-offline", ticket(language="en"), [agent("A1", "en", online=False)], after(30), None),
    ("zh-not-back-to-the-transferring-agent",
     ticket(language="zh", transferred_by="A1"), [agent("A1", "zh"), agent("A2", "zh", load=1)], T0, "A2"),
    ("en-transferring-agent-only-after-relaxation",
     ticket(language="en", transferred_by="A1"), [agent("A1", "en")], after(3), "A1"),
    ("zh-no-agents", ticket(language="zh"), [], T0, None),
]


class TestRoute:
    """Language and required skills always; optional skills until 3 minutes; least loaded first."""

    @pytest.mark.parametrize("tkt, agents, now, expected",
                             [pytest.param(*row[1:], id=row[0]) for row in ROUTES])
    def test_route(self, tkt: Ticket, agents: list[Agent], now: datetime, expected: str | None) -> None:
        """The agent chosen, or nobody."""
        chosen = route(tkt, agents, now, DEFAULT_CONFIG)
        assert (chosen.agent_id if chosen else None) == expected

    @pytest.mark.parametrize("wait, relaxed", [
        (timedelta(minutes=2, seconds=59), False),
        (timedelta(minutes=3), True),
        (timedelta(minutes=3, seconds=1), True),
    ])
    def test_relaxation_boundary(self, wait: timedelta, relaxed: bool) -> None:
        """Optional skills are dropped once the ticket has waited 3 minutes."""
        assert is_relaxed(ticket(), T0 + wait) is relaxed

    def test_relaxation_counts_from_requeue(self) -> None:
        """A transferred ticket gets 3 fresh minutes for its preferences."""
        t = ticket(optional=("appliances",), queued_at=after(10))
        assert route(t, [agent("A1")], after(12, 59)) is None
        assert route(t, [agent("A1")], after(13)) is not None

    def test_relax_after_comes_from_config(self) -> None:
        """With 10 minutes, a ticket waiting 5 still needs its optional skills."""
        slow = RoutingConfig(relax_after=timedelta(minutes=10))
        assert route(ticket(optional=("books",)), [agent("A1")], after(5), slow) is None


class TestQueue:
    """Safety first, then VIP, then first come first served; nobody starves."""

    @pytest.mark.parametrize("language, vip, safety, expected", [
        ("zh", False, False, PRIORITY_NORMAL),
        ("en", False, False, PRIORITY_NORMAL),
        ("zh", True, False, PRIORITY_VIP),
        ("en", True, False, PRIORITY_VIP),
        ("zh", False, True, PRIORITY_SAFETY),
        ("en", True, True, PRIORITY_SAFETY),
    ])
    def test_priority(self, language: str, vip: bool, safety: bool, expected: int) -> None:
        """Safety beats VIP beats everyone else."""
        assert priority(ticket(language=language, vip=vip, safety=safety)) == expected
        assert PRIORITY_SAFETY > PRIORITY_VIP > PRIORITY_NORMAL

    @pytest.mark.parametrize("tickets, now, expected", [
        pytest.param([ticket("N1", created=after(0)), ticket("V1", "en", vip=True, created=after(5)),
                      ticket("S1", safety=True, created=after(10))], after(11), ["S1", "V1", "N1"],
                     id="safety-then-vip-then-normal"),
        pytest.param([ticket("N2", "en", created=after(2)), ticket("N1", created=after(1))], after(3),
                     ["N1", "N2"], id="first-come-first-served"),
        pytest.param([ticket("V2", vip=True, created=after(2)), ticket("V1", "en", vip=True, created=after(1))],
                     after(3), ["V1", "V2"], id="vips-in-arrival-order"),
        pytest.param([ticket("B", created=T0), ticket("A", "en", created=T0)], after(1), ["A", "B"],
                     id="same-second-by-id"),
        pytest.param([ticket("N1", created=T0), ticket("V1", vip=True, created=after(80))], after(84, 59),
                     ["V1", "N1"], id="vip-first-while-sla-ok"),
        pytest.param([ticket("N1", created=T0), ticket("V1", "en", vip=True, created=after(80))], after(85),
                     ["N1", "V1"], id="near-breach-served-as-vip"),
        pytest.param([ticket("N1", created=T0), ticket("S1", safety=True, created=after(80))], after(101),
                     ["S1", "N1"], id="breached-still-after-safety"),
        pytest.param([ticket("A1", status=TicketStatus.ASSIGNED, assigned_to="X"), ticket("Q1", "en"),
                      ticket("R1", status=TicketStatus.RESOLVED)], after(1), ["Q1"],
                     id="only-queued-tickets"),
    ])
    def test_queue_order(self, tickets: list[Ticket], now: datetime, expected: list[str]) -> None:
        """The order tickets are served in."""
        assert [t.ticket_id for t in queue_order(tickets, now)] == expected

    def test_queue_position(self) -> None:
        """1-based, VIPs ahead; ``None`` once the ticket is not waiting."""
        tickets = [ticket("N1", created=after(0)), ticket("N2", "en", created=after(1)),
                   ticket("V1", vip=True, created=after(2))]
        positions = {t.ticket_id: queue_position(t, tickets, after(3)) for t in tickets}
        assert positions == {"V1": 1, "N1": 2, "N2": 3}
        assigned = replace(tickets[0], status=TicketStatus.ASSIGNED, assigned_to="A1")
        assert queue_position(assigned, tickets, after(3)) is None

    @pytest.mark.parametrize("position, agents, language, expected", [
        (1, [agent("A1", "zh"), agent("A2", "zh")], "zh", 3),
        (1, [agent("A1", "en"), agent("A2", "en")], "en", 3),
        (5, [agent("A1", "zh")], "zh", 30),
        (3, [agent("A1", "en"), agent("A2", "zh en"), agent("A3", "zh")], "en", 9),
        (1, [agent(f"A{i}", "zh") for i in range(10)], "zh", 1),
        (2, [agent("A1", "zh"), agent("A2", "zh", online=False)], "zh", 12),
        (1, [agent("A1", "zh")], "en", None),
        (4, [], "zh", None),
        (4, [agent("A1", "zh"), agent("A2", "en")], None, 12),
    ])
    def test_estimated_wait(self, position: int, agents: list[Agent], language: str | None,
                            expected: int | None) -> None:
        """ceil(position x 6 minutes / online agents who speak the language), at least 1."""
        assert estimated_wait_minutes(position, agents, DEFAULT_CONFIG, language=language) == expected

    @pytest.mark.parametrize("position", [0, -1])
    def test_position_starts_at_one(self, position: int) -> None:
        """A position below 1 is a bug in the caller."""
        with pytest.raises(InvalidData):
            estimated_wait_minutes(position, [agent("A1")])

    def test_queue_facts(self) -> None:
        """What the consoles show beside a queued and an assigned ticket."""
        tickets = [ticket("N1", "en"), ticket("V1", "en", vip=True)]
        facts = queue_facts(tickets[0], tickets, [agent("A1", "en")], after(90))
        assert facts == {"sla_due": "2026-11-23T11:40:00+08:00", "sla_state": "near", "position": 1,
                         "wait_minutes": 6}
        mine = take_over(tickets[1], agent("A1", "en"), after(1))
        assert queue_facts(mine, tickets, [], after(2))["position"] is None


class TestHandoffNews:
    """What the shopper is told right after their ticket is routed."""

    @pytest.mark.parametrize(("language", "agents", "status"), [
        ("zh", [], "offline"),
        ("en", [agent("A1", "zh")], "offline"),  # nobody online speaks en
        ("zh", [agent("A1", "zh", online=False)], "offline"),
        ("en", [agent("A1", "zh en", capacity=1, load=1)], "queued"),  # a speaker is online but busy
        ("zh", [agent("A1", "zh", capacity=1, load=1)], "queued"),
    ])
    def test_waiting_tickets(self, language: str, agents: list[Agent], status: str) -> None:
        news = handoff_news(ticket("T1", language), [ticket("T1", language)], agents, T0)
        assert (news["ticket_id"], news["status"]) == ("T1", status)
        assert ("position" in news) == (status == "queued")

    @pytest.mark.parametrize("language", ["zh", "en"])
    def test_an_assigned_ticket_is_never_offline(self, language: str) -> None:
        """Its agent may have gone offline since; the shopper is still with them."""
        mine = take_over(ticket("T1", language), agent("A1", language), T0)
        news = handoff_news(mine, [mine], [agent("A1", language, online=False)], T0)
        assert news["status"] == "assigned" and news["position"] is None


class TestAssignWaiting:
    """Queued tickets go out in queue order, each assignment adding to the agent's load."""

    def test_capacity_fills_up(self) -> None:
        """Three tickets, two agents with room for one: the VIP and the oldest are assigned."""
        tickets = [ticket("N1", created=after(0)), ticket("N2", created=after(1)),
                   ticket("V1", vip=True, created=after(2))]
        agents = [agent("A1", capacity=1), agent("A2", capacity=1)]
        assert assign_waiting(tickets, agents, after(3)) == [("V1", "A1"), ("N1", "A2")]

    def test_load_spreads_work(self) -> None:
        """With room for two each, the least loaded agent takes the next ticket."""
        tickets = [ticket("Z1", "zh", created=after(0)), ticket("E1", "en", created=after(1)),
                   ticket("Z2", "zh", created=after(2))]
        agents = [agent("A1", "zh en", capacity=2), agent("A2", "zh en", capacity=2)]
        assert assign_waiting(tickets, agents, after(3)) == [("Z1", "A1"), ("E1", "A2"), ("Z2", "A1")]

    def test_unroutable_ticket_does_not_block(self) -> None:
        """A safety ticket nobody can take leaves the agent free for the next one."""
        tickets = [ticket("S1", safety=True, required=("safety",)), ticket("N1", "en")]
        assert assign_waiting(tickets, [agent("A1", "zh en")], after(1)) == [("N1", "A1")]

    def test_loads_count_assigned_tickets(self) -> None:
        """``loads`` sets each agent's load from the assigned tickets."""
        tickets = [ticket("T1", status=TicketStatus.ASSIGNED, assigned_to="A1"),
                   ticket("T2", status=TicketStatus.ASSIGNED, assigned_to="A1"),
                   ticket("T3", status=TicketStatus.RESOLVED, assigned_to="A2"), ticket("T4")]
        assert [a.load for a in loads([agent("A1", load=7), agent("A2", load=7)], tickets)] == [2, 0]


class TestSla:
    """Due 100 minutes after opening; near within 15 minutes; breached from the next second."""

    def test_due_is_the_after_sales_promise(self) -> None:
        """The policy's decision_due_minutes, counted from when the ticket was opened."""
        assert sla_due(ticket(), POLICY) == datetime(2026, 11, 23, 11, 40, tzinfo=TZ)
        assert sla_due(ticket(), RoutingConfig.from_policy(POLICY)) == sla_due(ticket(), POLICY)

    @pytest.mark.parametrize("language, now, expected", [
        ("zh", after(0), "ok"),
        ("en", after(84, 59), "ok"),
        ("zh", after(85), "near"),
        ("en", after(99, 59), "near"),
        ("zh", after(100), "near"),
        ("en", after(100, 1), "breached"),
        ("zh", after(300), "breached"),
    ])
    def test_state(self, language: str, now: datetime, expected: str) -> None:
        """To the second."""
        assert sla_state(ticket(language=language), now, RoutingConfig.from_policy(POLICY)) == expected

    def test_resolved_clock_stops(self) -> None:
        """A ticket resolved in time stays "ok" for ever after."""
        done = resolve(ticket(), after(20))
        assert sla_state(done, after(500)) == "ok"

    def test_transfer_keeps_the_clock(self) -> None:
        """The promise was made to the shopper when the ticket was opened."""
        mine = take_over(ticket(), agent("A1"), after(1))
        moved = transfer(mine, "safety", "smoke", after(90))
        assert sla_due(moved, POLICY) == sla_due(ticket(), POLICY)
        assert sla_state(moved, after(101)) == "breached"


class TestActingOnTickets:
    """Only the assigned agent acts; anyone who speaks the language may take over."""

    def test_own_ticket(self) -> None:
        """The assigned agent may act."""
        can_act("A1", take_over(ticket(), agent("A1"), after(1)))

    @pytest.mark.parametrize("tkt, agent_id", [
        pytest.param(ticket(), "A1", id="queued-ticket"),
        pytest.param(ticket(status=TicketStatus.ASSIGNED, assigned_to="A2"), "A1", id="someone-elses"),
        pytest.param(ticket(status=TicketStatus.RESOLVED, assigned_to="A2"), "A1", id="someone-elses-resolved"),
    ])
    def test_not_your_ticket(self, tkt: Ticket, agent_id: str) -> None:
        """NotYourTicket names the ticket and the agent."""
        with pytest.raises(NotYourTicket) as caught:
            can_act(agent_id, tkt)
        assert (caught.value.ticket_id, caught.value.agent_id, caught.value.code) == (
            tkt.ticket_id, agent_id, "not_your_ticket")
        assert isinstance(caught.value, ShopError)

    def test_own_resolved_ticket(self) -> None:
        """A resolved ticket is closed even for its agent."""
        done = resolve(take_over(ticket(), agent("A1"), after(1)), after(2))
        with pytest.raises(NotAllowed, match="ticket_resolved"):
            can_act("A1", done)

    @pytest.mark.parametrize("language", ["zh", "en"])
    def test_take_from_queue(self, language: str) -> None:
        """A queued ticket becomes the agent's."""
        mine = take_over(ticket(language=language), agent("A1", language), after(2))
        assert (mine.status, mine.assigned_to, mine.assigned_at) == (TicketStatus.ASSIGNED, "A1", after(2))

    def test_take_over_from_another_agent(self) -> None:
        """After a take-over the new agent may act and the old one may not."""
        theirs = take_over(ticket(), agent("A2"), after(1))
        mine = take_over(theirs, agent("A1"), after(5))
        can_act("A1", mine)
        with pytest.raises(NotYourTicket):
            can_act("A2", mine)

    def test_take_own_ticket_again(self) -> None:
        """Taking a ticket one already has changes nothing."""
        mine = take_over(ticket(), agent("A1"), after(1))
        assert take_over(mine, agent("A1"), after(9)) == mine

    @pytest.mark.parametrize("tkt, who, reason", [
        pytest.param(ticket(language="en"), agent("A1", "zh"), "language_not_spoken", id="en-ticket-zh-agent"),
        pytest.param(ticket(language="zh"), agent("A1", "en"), "language_not_spoken", id="zh-ticket-en-agent"),
        pytest.param(ticket(), agent("A1", online=False), "agent_offline", id="offline"),
        pytest.param(ticket(status=TicketStatus.RESOLVED), agent("A1"), "ticket_resolved", id="resolved"),
    ])
    def test_take_over_refused(self, tkt: Ticket, who: Agent, reason: str) -> None:
        """A shopper is only ever answered in their language, by someone online."""
        with pytest.raises(NotAllowed) as caught:
            take_over(tkt, who, after(1))
        assert caught.value.reason == reason

    @pytest.mark.parametrize("language, note", [("zh", "  顾客说空调冒烟，请安全专员处理 "),
                                                ("en", "Shopper says the AC smokes")])
    def test_transfer(self, language: str, note: str) -> None:
        """Back to the queue with the new skill required, the old ones preferred, and the note."""
        mine = take_over(ticket(language=language, required=("price_protection",), optional=("appliances",)),
                         agent("A1", language, ("price_protection",)), after(1))
        moved = transfer(mine, "safety", note, after(4))
        assert moved.status == TicketStatus.QUEUED and moved.assigned_to is None
        assert moved.required_skills == {"safety"}
        assert moved.optional_skills == {"price_protection", "appliances"}
        assert moved.note == note.strip()
        assert (moved.transferred_by, moved.queued_at, moved.created_at) == ("A1", after(4), T0)

    def test_transferred_ticket_goes_to_someone_else(self) -> None:
        """The transferring agent is not offered it straight back."""
        a1, a2 = agent("A1", "zh", ("safety",)), agent("A2", "zh", ("safety",), load=1)
        moved = transfer(take_over(ticket(), a1, after(1)), "safety", "", after(2))
        assert route(moved, [a1, a2], after(2)) == a2

    def test_transfer_to_unknown_skill(self) -> None:
        """The skill must be one of SKILLS."""
        with pytest.raises(InvalidData, match="cooking"):
            transfer(ticket(), "cooking", "", after(1))

    def test_resolve(self) -> None:
        """Resolved once, with the time; a second time is refused."""
        done = resolve(take_over(ticket(), agent("A1"), after(1)), after(7))
        assert (done.status, done.resolved_at, done.assigned_to) == (TicketStatus.RESOLVED, after(7), "A1")
        with pytest.raises(NotAllowed, match="ticket_resolved"):
            resolve(done, after(8))
        with pytest.raises(NotAllowed, match="ticket_resolved"):
            transfer(done, "returns", "", after(8))

    def test_find_ticket(self) -> None:
        """TicketNotFound names the id."""
        assert find_ticket([ticket("T1"), ticket("T2")], "T2").ticket_id == "T2"
        with pytest.raises(TicketNotFound) as caught:
            find_ticket([ticket("T1")], "T9")
        assert (caught.value.ticket_id, caught.value.code) == ("T9", "ticket_not_found")


class TestOpenTicket:
    """A ticket's skills follow from why and about what it was opened."""

    @pytest.mark.parametrize("language, reason, safety, topic, category, required, optional", [
        ("zh", "ask_human", False, "orders", "appliances", set(), {"orders", "appliances"}),
        ("en", "fallbacks", False, None, None, set(), set()),
        ("zh", "claim_review", False, "price_protection", "digital", {"price_protection"}, {"digital"}),
        ("en", "policy_review", False, "returns", "fresh", {"returns"}, {"fresh"}),
        ("zh", "safety", True, None, "appliances", {"safety"}, {"appliances"}),
        ("en", "negative_sentiment", True, "returns", None, {"safety"}, {"returns"}),
    ])
    def test_skills(self, language: str, reason: str, safety: bool, topic: str | None, category: str | None,
                    required: set[str], optional: set[str]) -> None:
        """Safety and reviews require their skill; the rest is only preferred."""
        t = open_ticket("T1", "conv-1", "C001", language, reason, T0, vip=True, safety=safety, topic=topic,
                        category=category, note=" 转人工 ")
        assert (t.required_skills, t.optional_skills) == (required, optional)
        assert (t.status, t.created_at, t.queued_at, t.note, t.vip) == (TicketStatus.QUEUED, T0, T0, "转人工", True)

    def test_every_reason_opens(self) -> None:
        """Each reason in REASONS is accepted; an unknown one is not."""
        for reason in REASONS:
            open_ticket("T1", "c", "C001", "zh", reason, T0)
        with pytest.raises(InvalidData, match="bored"):
            open_ticket("T1", "c", "C001", "zh", "bored", T0)


class TestValues:
    """Tickets and agents validate themselves and survive JSON."""

    def test_ticket_json_round_trip(self) -> None:
        """Every field comes back."""
        t = transfer(take_over(ticket("T7", "en", required=("returns",), optional=("digital",), vip=True),
                               agent("A1", "en"), after(1)), "safety", "smoke", after(2))
        assert Ticket.from_json(t.to_json()) == t
        assert t.to_json()["status"] == "queued"

    def test_agent_json_round_trip(self) -> None:
        """Languages and skills come back as sets."""
        a = agent("A1", "zh en", ("appliances", "safety"), capacity=3, load=1)
        assert Agent.from_json(a.to_json()) == a
        assert a.to_json()["languages"] == ["en", "zh"]

    @pytest.mark.parametrize("build, what", [
        pytest.param(lambda: agent("A1", "fr"), "languages", id="agent-language"),
        pytest.param(lambda: agent("A1", skills=("cooking",)), "skills", id="agent-skill"),
        pytest.param(lambda: agent("A1", capacity=-1), "capacity", id="agent-capacity"),
        pytest.param(lambda: ticket(language="fr"), "language", id="ticket-language"),
        pytest.param(lambda: ticket(required=("cooking",)), "required_skills", id="ticket-skill"),
        pytest.param(lambda: ticket(status=TicketStatus.ASSIGNED), "assigned_to", id="assigned-to-nobody"),
        pytest.param(lambda: ticket(assigned_to="A1"), "assigned_to", id="queued-with-agent"),
        pytest.param(lambda: ticket(created=datetime(2026, 11, 23, 10)), "created_at", id="naive-time"),
        pytest.param(lambda: Ticket.from_json({"ticket_id": "T1"}), "ticket", id="json-missing-keys"),
    ])
    def test_invalid(self, build: Any, what: str) -> None:
        """InvalidData names what is wrong."""
        with pytest.raises(InvalidData) as caught:
            build()
        assert what in caught.value.what

    def test_every_skill_is_a_category_or_topic(self) -> None:
        """The skills the console offers for a transfer."""
        assert set(SKILLS) == {"appliances", "digital", "mother_baby", "beauty", "books", "fresh", "apparel",
                               "price_protection", "returns", "orders", "safety"}

    @pytest.mark.parametrize("overrides", [
        {"relax_after": timedelta(0)},
        {"near_breach": timedelta(minutes=100)},
        {"handling_time": timedelta(minutes=-6)},
    ])
    def test_invalid_config(self, overrides: dict[str, timedelta]) -> None:
        """Durations are positive and the warning comes before the deadline."""
        with pytest.raises(InvalidData):
            RoutingConfig(**overrides)

    def test_config_from_policy(self) -> None:
        """The SLA is policy.yml's decision_due_minutes."""
        assert RoutingConfig.from_policy(POLICY).sla == timedelta(minutes=POLICY.decision_due_minutes)
        assert RoutingConfig.from_policy(POLICY, near_breach=timedelta(minutes=5)).near_breach == \
            timedelta(minutes=5)
