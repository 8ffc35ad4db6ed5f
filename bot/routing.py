"""Human handoff: agents, tickets, routing and the SLA clock.

When the bot hands a conversation to a person it opens a ``Ticket``. Tickets
wait in one queue and are routed to ``Agent`` s by these rules (the skills-based
routing of contact-centre suites such as Zendesk, Salesforce Omni-Channel and
Genesys, kept small):

* **Order of the queue.** Safety reports first, then VIP shoppers, then
  everyone else, first come first served within each class. A ticket whose SLA
  is near breach or breached is served as a VIP ticket, so a stream of VIPs can
  never starve it.
* **Who may take a ticket.** An agent who is online, has room (``load <
  capacity``), speaks the ticket's language and has every required skill. While
  the ticket is fresh the agent must also have every optional skill (the
  category's specialist, say) and must not be the agent who just transferred it
  away; after ``relax_after`` (3 minutes) of waiting those preferences are
  dropped, so nobody waits forever for the perfect agent. Language and required
  skills are never dropped.
* **Which of them.** The least loaded, then the one matching most optional
  skills, then the smallest ``agent_id`` (so the choice is deterministic).
* **The SLA.** Every ticket is due ``decision_due_minutes`` (100) after it was
  opened: the after-sales promise in ``policy.yml``. It is "near" within
  ``near_breach`` (15 minutes) of that moment and "breached" from the first
  second after it. A transfer does not restart the clock.

Everything here is pure: the shell passes the tickets, the agents, a
``RoutingConfig`` and ``now``, and stores what comes back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from bot.decision import require_aware
from bot.errors import InvalidData, NotAllowed, ShopError
from bot.policy import LANGUAGES, Policy

#: Skills that name a product category (the values of ``bot.catalog.Category``
#: that agents specialise in).
CATEGORY_SKILLS = ("appliances", "digital", "mother_baby", "beauty", "books", "fresh", "apparel")
#: Skills that name an after-sales topic.
TOPIC_SKILLS = ("price_protection", "returns", "orders", "safety")
#: Every skill an agent may have or a ticket may ask for.
SKILLS = (*CATEGORY_SKILLS, *TOPIC_SKILLS)

#: Why a conversation was handed to a person.
REASONS = (
    "ask_human",  # the shopper asked for a person
    "fallbacks",  # the bot did not understand several times in a row
    "negative_sentiment",  # the shopper is upset
    "claim_review",  # a price-protection claim above the auto-approval limit
    "safety",  # a safety hazard was reported (fire, smoke, electric shock...)
    "policy_review",  # a rule sends the case to a person (e.g. quality not covered)
    "transfer",  # an agent passed the ticket on
)

#: ``sla_state`` values.
SLA_STATES = ("ok", "near", "breached")

#: ``priority`` values: bigger is served first.
PRIORITY_NORMAL = 0
PRIORITY_VIP = 1
PRIORITY_SAFETY = 2


class TicketStatus(str, Enum):
    """Where a ticket stands."""

    QUEUED = "queued"  # waiting for an agent
    ASSIGNED = "assigned"  # an agent is talking to the shopper
    RESOLVED = "resolved"  # done, the conversation is back with the bot


class TicketNotFound(ShopError):
    """No ticket has this id."""

    code = "ticket_not_found"

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"ticket {ticket_id!r} not found")
        self.ticket_id = ticket_id


class NotYourTicket(ShopError):
    """An agent acted on a ticket that is not assigned to them; take it over first."""

    code = "not_your_ticket"

    def __init__(self, ticket_id: str, agent_id: str) -> None:
        super().__init__(f"ticket {ticket_id!r} is not assigned to agent {agent_id!r}; "
                         "take it over before acting on it")
        self.ticket_id = ticket_id
        self.agent_id = agent_id


class DecisionDue(Protocol):
    """Anything that knows when a decision asked for at ``now`` is due (``Policy`` does)."""

    def decision_due(self, now: datetime) -> datetime: ...


@dataclass(frozen=True)
class RoutingConfig:
    """The routing and SLA numbers.

    Attributes:
        sla: How long after it is opened a ticket is due; the caller takes it
            from ``policy.decision_due_minutes`` (``from_policy``).
        near_breach: A ticket due within this long is "near" breach.
        relax_after: After waiting this long, optional skills are no longer required.
        handling_time: Average time an agent spends on one ticket, for the wait estimate.
    """

    sla: timedelta = timedelta(minutes=100)
    near_breach: timedelta = timedelta(minutes=15)
    relax_after: timedelta = timedelta(minutes=3)
    handling_time: timedelta = timedelta(minutes=6)

    def __post_init__(self) -> None:
        for name in ("sla", "near_breach", "relax_after", "handling_time"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise InvalidData(f"routing.{name}", f"{value!r}; use a positive timedelta")
        if self.near_breach >= self.sla:
            raise InvalidData("routing.near_breach", f"{self.near_breach} is not shorter than "
                              f"the SLA ({self.sla})")

    @classmethod
    def from_policy(cls, policy: Policy, **overrides: timedelta) -> RoutingConfig:
        """The defaults, with the SLA from ``policy.decision_due_minutes`` and any ``overrides``."""
        return cls(**{"sla": timedelta(minutes=policy.decision_due_minutes), **overrides})

    def decision_due(self, now: datetime) -> datetime:
        """When a ticket opened at ``now`` is due."""
        return now + self.sla


DEFAULT_CONFIG = RoutingConfig()


@dataclass(frozen=True)
class Agent:
    """A customer-service agent.

    Attributes:
        languages: The languages they serve shoppers in, ``"zh"`` and/or ``"en"``.
        skills: Category and topic skills from ``SKILLS``.
        capacity: How many tickets they handle at once.
        online: Whether they take tickets now.
        load: How many tickets are assigned to them now (``loads`` counts them).
    """

    agent_id: str
    name: str
    languages: frozenset[str]
    skills: frozenset[str]
    capacity: int
    online: bool
    load: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", _words("agent languages", self.languages, LANGUAGES))
        object.__setattr__(self, "skills", _words("agent skills", self.skills, SKILLS))
        if not self.agent_id.strip():
            raise InvalidData("agent_id", "an agent needs an id")
        for name in ("capacity", "load"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidData(f"agent {name}", f"{value!r}; use a whole number >= 0")

    @property
    def has_room(self) -> bool:
        """Online with fewer tickets than their capacity."""
        return self.online and self.load < self.capacity

    def to_json(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "name": self.name,
            "languages": sorted(self.languages),
            "skills": sorted(self.skills),
            "capacity": self.capacity,
            "online": self.online,
            "load": self.load,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Agent:
        try:
            return cls(
                agent_id=str(data["agent_id"]),
                name=str(data["name"]),
                languages=frozenset(_strings(data["languages"])),
                skills=frozenset(_strings(data.get("skills", ()))),
                capacity=data["capacity"],
                online=bool(data.get("online", False)),
                load=data.get("load", 0),
            )
        except (KeyError, TypeError) as exc:
            raise InvalidData("agent", exc) from exc


@dataclass(frozen=True)
class Ticket:
    """A conversation handed to a person.

    Attributes:
        reason: Why, one of ``REASONS``.
        required_skills: Skills the agent must have, whatever the wait.
        optional_skills: Skills preferred until ``relax_after`` of waiting.
        vip: The shopper is a VIP (served before other shoppers).
        safety: A safety hazard was reported (served before everyone).
        created_at: When the ticket was opened; the SLA counts from here.
        status: queued, assigned or resolved.
        assigned_to: The agent talking to the shopper (kept once resolved).
        note: The last handoff note (why the bot or an agent passed it on).
        queued_at: When it last joined the queue (a transfer re-queues it);
            skill relaxation counts from here. Defaults to ``created_at``.
        transferred_by: The agent who last transferred it away; they are not
            offered it again until its preferences are relaxed.
        assigned_at / resolved_at: When it was last assigned and when resolved.
    """

    ticket_id: str
    conversation_id: str
    customer_id: str
    language: str
    reason: str
    required_skills: frozenset[str]
    optional_skills: frozenset[str]
    vip: bool
    safety: bool
    created_at: datetime
    status: TicketStatus = TicketStatus.QUEUED
    assigned_to: str | None = None
    note: str = ""
    queued_at: datetime | None = None
    transferred_by: str | None = None
    assigned_at: datetime | None = None
    resolved_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise InvalidData("ticket language", f"{self.language!r}; use one of {', '.join(LANGUAGES)}")
        if self.reason not in REASONS:
            raise InvalidData("ticket reason", f"{self.reason!r}; use one of {', '.join(REASONS)}")
        object.__setattr__(self, "status", TicketStatus(self.status))
        object.__setattr__(self, "required_skills", _words("required_skills", self.required_skills, SKILLS))
        object.__setattr__(self, "optional_skills",
                           _words("optional_skills", self.optional_skills, SKILLS) - self.required_skills)
        for name in ("created_at", "queued_at", "assigned_at", "resolved_at"):
            when = getattr(self, name)
            if when is not None:
                require_aware(name, when)
        if self.queued_at is None:
            object.__setattr__(self, "queued_at", self.created_at)
        if self.status == TicketStatus.ASSIGNED and not self.assigned_to:
            raise InvalidData("ticket assigned_to", f"ticket {self.ticket_id} is assigned to nobody")
        if self.status == TicketStatus.QUEUED and self.assigned_to is not None:
            raise InvalidData("ticket assigned_to", f"queued ticket {self.ticket_id} is assigned "
                              f"to {self.assigned_to}; queued tickets belong to nobody")

    @property
    def waiting_since(self) -> datetime:
        """When it last joined the queue."""
        assert self.queued_at is not None  # set in __post_init__
        return self.queued_at

    def to_json(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "conversation_id": self.conversation_id,
            "customer_id": self.customer_id,
            "language": self.language,
            "reason": self.reason,
            "required_skills": sorted(self.required_skills),
            "optional_skills": sorted(self.optional_skills),
            "vip": self.vip,
            "safety": self.safety,
            "created_at": self.created_at.isoformat(),
            "status": self.status.value,
            "assigned_to": self.assigned_to,
            "note": self.note,
            "queued_at": self.waiting_since.isoformat(),
            "transferred_by": self.transferred_by,
            "assigned_at": _iso(self.assigned_at),
            "resolved_at": _iso(self.resolved_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ticket:
        try:
            return cls(
                ticket_id=str(data["ticket_id"]),
                conversation_id=str(data["conversation_id"]),
                customer_id=str(data["customer_id"]),
                language=str(data["language"]),
                reason=str(data["reason"]),
                required_skills=frozenset(_strings(data.get("required_skills", ()))),
                optional_skills=frozenset(_strings(data.get("optional_skills", ()))),
                vip=bool(data.get("vip", False)),
                safety=bool(data.get("safety", False)),
                created_at=datetime.fromisoformat(str(data["created_at"])),
                status=TicketStatus(data.get("status", TicketStatus.QUEUED.value)),
                assigned_to=None if data.get("assigned_to") is None else str(data["assigned_to"]),
                note=str(data.get("note", "")),
                queued_at=_time(data.get("queued_at")),
                transferred_by=None if data.get("transferred_by") is None else str(data["transferred_by"]),
                assigned_at=_time(data.get("assigned_at")),
                resolved_at=_time(data.get("resolved_at")),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidData("ticket", exc) from exc


# --------------------------------------------------------------------------- opening


def open_ticket(ticket_id: str, conversation_id: str, customer_id: str, language: str, reason: str,
                now: datetime, *, vip: bool = False, safety: bool = False, topic: str | None = None,
                category: str | None = None, note: str = "") -> Ticket:
    """A new queued ticket, with the skills its reason and subject call for.

    A safety ticket requires the ``safety`` skill. A claim or policy review
    requires its ``topic`` skill (only a price-protection specialist approves a
    ¥600 claim). Otherwise the topic and the product's ``category`` are only
    preferred: "ask_human" about an AC goes to an appliance specialist who
    knows orders if one is free within 3 minutes, else to anyone who speaks
    the language.

    Example: ``open_ticket("T1", "conv-1", "C002", "en", "claim_review", now,
    topic="price_protection", category="appliances")`` requires
    ``{"price_protection"}`` and prefers ``{"appliances"}``.

    Raises:
        InvalidData: an unknown reason, language, topic or category.
    """
    require_aware("now", now)
    wanted = {s for s in (topic, category) if s}
    required: set[str] = set()
    if safety:
        required.add("safety")
    if topic and reason in ("claim_review", "policy_review"):
        required.add(topic)
    return Ticket(ticket_id=ticket_id, conversation_id=conversation_id, customer_id=customer_id,
                  language=language, reason=reason, required_skills=frozenset(required),
                  optional_skills=frozenset(wanted - required), vip=vip, safety=safety,
                  created_at=now, note=note.strip())


# --------------------------------------------------------------------------- the queue


def priority(ticket: Ticket) -> int:
    """How urgent a ticket is by who and what it is: safety 2, VIP 1, others 0 (bigger first).

    A VIP's safety report is a safety ticket like any other: safety comes first.
    """
    if ticket.safety:
        return PRIORITY_SAFETY
    return PRIORITY_VIP if ticket.vip else PRIORITY_NORMAL


def queue_order(tickets: Iterable[Ticket], now: datetime,
                config: RoutingConfig = DEFAULT_CONFIG) -> list[Ticket]:
    """The queued tickets in the order they are served.

    Bigger ``priority`` first; a ticket near or past its SLA counts at least as
    VIP (anti-starvation); then the oldest ``created_at`` (a transferred ticket
    keeps its place); then ``ticket_id``. Assigned and resolved tickets are left out.

    Example: a normal ticket opened at 10:00, a VIP one at 10:05 and a safety
    one at 10:10 are served safety, VIP, normal; at 11:26 the 10:00 ticket is
    within 15 minutes of its 11:40 SLA and goes before the 10:05 VIP.
    """
    require_aware("now", now)
    return sorted((t for t in tickets if t.status == TicketStatus.QUEUED),
                  key=lambda t: _queue_key(t, now, config))


def queue_position(ticket: Ticket, tickets: Iterable[Ticket], now: datetime,
                   config: RoutingConfig = DEFAULT_CONFIG) -> int | None:
    """The 1-based place of a queued ``ticket`` among the queued ``tickets``; ``None``
    once it is assigned or resolved (it is not waiting any more)."""
    require_aware("now", now)
    if ticket.status != TicketStatus.QUEUED:
        return None
    mine = _queue_key(ticket, now, config)
    ahead = sum(1 for t in tickets if t.status == TicketStatus.QUEUED
                and t.ticket_id != ticket.ticket_id and _queue_key(t, now, config) < mine)
    return ahead + 1


def estimated_wait_minutes(position: int, agents: Iterable[Agent],
                           config: RoutingConfig = DEFAULT_CONFIG, *,
                           language: str | None = None) -> int | None:
    """A rough wait for the shopper at ``position``, in whole minutes, rounded up.

    Model: the online agents who speak ``language`` (any, when ``None``) each
    finish a ticket every ``handling_time`` (6 minutes) on average, so the
    queue moves ``agents / handling_time`` tickets a minute:
    ``ceil(position * 6 / agents)``. Position 1 with two agents waits 3 minutes;
    position 5 with one agent 30. At least 1 minute; ``None`` when no such
    agent is online (nobody can say).

    Raises:
        InvalidData: ``position`` is below 1.
    """
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        raise InvalidData("queue position", f"{position!r}; positions start at 1")
    serving = sum(1 for a in agents if a.online and (language is None or language in a.languages))
    if serving == 0:
        return None
    minutes = position * (config.handling_time / timedelta(minutes=1)) / serving
    return max(1, math.ceil(round(minutes, 9)))


# --------------------------------------------------------------------------- routing


def can_serve(agent: Agent, ticket: Ticket, now: datetime,
              config: RoutingConfig = DEFAULT_CONFIG) -> bool:
    """Whether ``agent`` may be given ``ticket`` now (the rules in the module docstring)."""
    if not agent.has_room or ticket.language not in agent.languages:
        return False
    if not ticket.required_skills <= agent.skills:
        return False
    if is_relaxed(ticket, now, config):
        return True
    return ticket.optional_skills <= agent.skills and agent.agent_id != ticket.transferred_by


def is_relaxed(ticket: Ticket, now: datetime, config: RoutingConfig = DEFAULT_CONFIG) -> bool:
    """Whether ``ticket`` has waited ``relax_after`` or longer since it (re)joined the queue.

    With 3 minutes, a ticket queued at 10:00:00 still needs its optional skills
    at 10:02:59 and no longer does at 10:03:00.
    """
    return require_aware("now", now) - ticket.waiting_since >= config.relax_after


def route(ticket: Ticket, agents: Iterable[Agent], now: datetime,
          config: RoutingConfig = DEFAULT_CONFIG) -> Agent | None:
    """The best agent for ``ticket`` now, or ``None`` when nobody may take it yet.

    Among the agents who ``can_serve`` it: the least loaded, then the one with
    most of its optional skills, then the smallest ``agent_id``.
    """
    require_aware("now", now)
    able = [a for a in agents if can_serve(a, ticket, now, config)]
    if not able:
        return None
    return min(able, key=lambda a: (a.load, -len(ticket.optional_skills & a.skills), a.agent_id))


def assign_waiting(tickets: Iterable[Ticket], agents: Iterable[Agent], now: datetime,
                   config: RoutingConfig = DEFAULT_CONFIG) -> list[tuple[str, str]]:
    """Route every queued ticket that can be routed, in ``queue_order``.

    Each assignment adds one to its agent's load before the next ticket is
    routed, so three tickets and two free agents of capacity 1 give two
    assignments. A ticket nobody can take is skipped; it does not block the
    tickets behind it. The caller applies the pairs (``take_over``) and stores them.

    Returns:
        ``(ticket_id, agent_id)`` pairs, in the order they were decided.
    """
    pool = {a.agent_id: a for a in agents}
    pairs: list[tuple[str, str]] = []
    for ticket in queue_order(tickets, now, config):
        agent = route(ticket, pool.values(), now, config)
        if agent is None:
            continue
        pool[agent.agent_id] = replace(agent, load=agent.load + 1)
        pairs.append((ticket.ticket_id, agent.agent_id))
    return pairs


def loads(agents: Iterable[Agent], tickets: Iterable[Ticket]) -> list[Agent]:
    """``agents`` with ``load`` set to the number of tickets assigned to each."""
    counts: dict[str, int] = {}
    for t in tickets:
        if t.status == TicketStatus.ASSIGNED and t.assigned_to is not None:
            counts[t.assigned_to] = counts.get(t.assigned_to, 0) + 1
    return [replace(a, load=counts.get(a.agent_id, 0)) for a in agents]


# --------------------------------------------------------------------------- the SLA


def sla_due(ticket: Ticket, policy: DecisionDue) -> datetime:
    """When the shopper was promised a decision: ``created_at`` + 100 minutes.

    ``policy`` is the shop's ``Policy`` (or a ``RoutingConfig``, which carries
    the same number). A ticket opened 10:00:00 is due 11:40:00.
    """
    return policy.decision_due(ticket.created_at)


def sla_state(ticket: Ticket, now: datetime, config: RoutingConfig = DEFAULT_CONFIG) -> str:
    """``"ok"``, ``"near"`` or ``"breached"``, to the second.

    Due 11:40:00 with 15 minutes' warning: ok until 11:24:59, near from
    11:25:00 through 11:40:00, breached from 11:40:01. A resolved ticket's clock
    stopped when it was resolved.
    """
    require_aware("now", now)
    due = sla_due(ticket, config)
    at = now
    if ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None:
        at = min(now, ticket.resolved_at)
    if at > due:
        return "breached"
    if at >= due - config.near_breach:
        return "near"
    return "ok"


def queue_facts(ticket: Ticket, tickets: Iterable[Ticket], agents: Iterable[Agent], now: datetime,
                config: RoutingConfig = DEFAULT_CONFIG) -> dict[str, Any]:
    """What the consoles show beside a ticket: ``sla_due`` (ISO), ``sla_state``,
    ``position`` and ``wait_minutes`` (both ``None`` unless it is queued)."""
    position = queue_position(ticket, tickets, now, config)
    wait = (None if position is None
            else estimated_wait_minutes(position, agents, config, language=ticket.language))
    return {"sla_due": sla_due(ticket, config).isoformat(), "sla_state": sla_state(ticket, now, config),
            "position": position, "wait_minutes": wait}


def handoff_news(ticket: Ticket, tickets: Iterable[Ticket], agents: Iterable[Agent], now: datetime,
                 config: RoutingConfig = DEFAULT_CONFIG) -> dict[str, Any]:
    """What the shopper is told once their new ticket has been routed.

    ``status`` is ``"offline"`` when no agent took the ticket and no online agent
    speaks its language: the shopper hears so honestly and the bot keeps
    serving. Otherwise it is the ticket's status (``"assigned"`` or
    ``"queued"``, and the bot pauses), with the ``queue_facts``.

    Example: a zh ticket while only Tom (en, zh) is online and busy is
    ``{"ticket_id": ..., "status": "queued", "position": 1, "wait_minutes": 6, ...}``.
    """
    agents = list(agents)
    if ticket.assigned_to is None and not any(a.online and ticket.language in a.languages for a in agents):
        return {"ticket_id": ticket.ticket_id, "status": "offline"}
    return {"ticket_id": ticket.ticket_id, "status": ticket.status.value,
            **queue_facts(ticket, tickets, agents, now, config)}


# --------------------------------------------------------------------------- acting on tickets


def find_ticket(tickets: Iterable[Ticket], ticket_id: str) -> Ticket:
    """The ticket with this id.

    Raises:
        TicketNotFound: there is none.
    """
    for t in tickets:
        if t.ticket_id == ticket_id:
            return t
    raise TicketNotFound(ticket_id)


def can_act(agent_id: str, ticket: Ticket) -> None:
    """Allow an agent to reply to, transfer or resolve ``ticket`` only when it is theirs.

    Raises:
        NotYourTicket: it is queued or assigned to someone else (take it over first).
        NotAllowed: ``ticket_resolved`` when it was theirs and is resolved.
    """
    if ticket.assigned_to != agent_id or ticket.status == TicketStatus.QUEUED:
        raise NotYourTicket(ticket.ticket_id, agent_id)
    _not_resolved(ticket)


def take_over(ticket: Ticket, agent: Agent, now: datetime) -> Ticket:
    """``ticket`` assigned to ``agent`` from ``now``, from the queue or from another agent.

    Used both by ``assign_waiting`` results and by an agent's "Take over"
    button. The agent must be online and speak the shopper's language (a
    shopper is never answered in a language they did not write in); capacity is
    not checked here, a person may choose to take one more. Taking a ticket
    one already has changes nothing.

    Raises:
        NotAllowed: ``ticket_resolved``, ``agent_offline`` or ``language_not_spoken``.
    """
    require_aware("now", now)
    _not_resolved(ticket)
    if not agent.online:
        raise NotAllowed("agent_offline", agent_id=agent.agent_id)
    if ticket.language not in agent.languages:
        raise NotAllowed("language_not_spoken", agent_id=agent.agent_id, language=ticket.language)
    if ticket.status == TicketStatus.ASSIGNED and ticket.assigned_to == agent.agent_id:
        return ticket
    return replace(ticket, status=TicketStatus.ASSIGNED, assigned_to=agent.agent_id, assigned_at=now)


def transfer(ticket: Ticket, skill: str, note: str, now: datetime) -> Ticket:
    """``ticket`` back in the queue for an agent with ``skill``, carrying ``note``.

    The new skill becomes the only required one; the skills required before
    become preferences (a price-protection ticket transferred to ``safety``
    prefers a safety agent who also knows price protection). The transferring
    agent is not offered it again until its preferences relax, and the SLA
    keeps counting from ``created_at``.

    Raises:
        InvalidData: ``skill`` is not one of ``SKILLS``.
        NotAllowed: ``ticket_resolved``.
    """
    require_aware("now", now)
    if skill not in SKILLS:
        raise InvalidData("transfer skill", f"{skill!r}; use one of {', '.join(SKILLS)}")
    _not_resolved(ticket)
    preferred = (ticket.required_skills | ticket.optional_skills) - {skill}
    return replace(ticket, status=TicketStatus.QUEUED, assigned_to=None, assigned_at=None,
                   required_skills=frozenset({skill}), optional_skills=frozenset(preferred),
                   note=note.strip(), queued_at=now,
                   transferred_by=ticket.assigned_to or ticket.transferred_by)


def resolve(ticket: Ticket, now: datetime) -> Ticket:
    """``ticket`` resolved at ``now``: the conversation goes back to the bot.

    A queued ticket may be resolved too (the shopper left before anyone took it).

    Raises:
        NotAllowed: ``ticket_resolved`` when it already is.
    """
    require_aware("now", now)
    _not_resolved(ticket)
    return replace(ticket, status=TicketStatus.RESOLVED, resolved_at=now)


# --------------------------------------------------------------------------- helpers


def _queue_key(ticket: Ticket, now: datetime, config: RoutingConfig) -> tuple[int, datetime, str]:
    rank = priority(ticket)
    if sla_state(ticket, now, config) != "ok":
        rank = max(rank, PRIORITY_VIP)
    return -rank, ticket.created_at, ticket.ticket_id


def _not_resolved(ticket: Ticket) -> None:
    if ticket.status == TicketStatus.RESOLVED:
        raise NotAllowed("ticket_resolved", ticket_id=ticket.ticket_id)


def _words(what: str, values: Iterable[str], known: Sequence[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise InvalidData(what, f"{values!r}; expected a set of names, not one text")
    found = frozenset(values)
    unknown = sorted(found - set(known))
    if unknown:
        raise InvalidData(what, f"unknown {unknown[0]!r}; use any of {', '.join(known)}")
    return found


def _strings(values: Any) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise TypeError(f"expected a list of names, got {values!r}")
    return [str(v) for v in values]


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))
