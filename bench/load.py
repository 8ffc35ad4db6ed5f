"""Turn latency, throughput and memory of the whole assistant, and the same against stock Rasa.

``python -m bench.load [--profile embedded|scale] [--conversations 50,200,500] [--think 4,6]
[--shards N] [--quick] [--model PATH] [--seed N]``

Starts the real stack (``scripts.stack.Stack``) on free ports with a fresh ``var_dir`` under
``bench/out/``, as one of the two profiles:

- **embedded** (``make run``): SQLite files in the ``var_dir``, one web process, one
  action-server worker and ``--shards`` Rasa servers (default 1);
- **scale** (``make scale``, ``python -m scripts.stack --profile scale``): the shop and Rasa's
  tracker store in PostgreSQL, Rasa's locks and the live messages through Redis (the servers
  ``SHOP_DATABASE_URL``, ``SHOP_TRACKER_URL`` and ``SHOP_REDIS_URL`` name, by default
  127.0.0.1:5432 and :6379), two web processes on one port, two action-server workers and two
  Rasa servers. The run gets databases and a Redis prefix of its own
  (``SharedStores.throwaway``), dropped and deleted afterwards (``SharedStores.drop``).

It measures, in this order:

1. **cold start**: seconds from ``Stack.start()`` until every process answers;
2. **realistic load**, once per ``--conversations`` level (default 50, 200 and 500): that many
   conversations at once through the web front door (``POST /api/session``, ``POST
   /api/chat/open``, then ``POST /api/messages``, one cookie jar each). The sign-ins and chat
   openings come first and are not measured. Each conversation follows a seeded script
   (``scripts_for``): three in four ask order questions (status, tracking, delivery time,
   returns, refunds, greetings), about one in seven claims price protection for a price drop
   (C002's air conditioner or C008's formula, by name or by tapping the order the bot offers)
   and one in ten ends by asking for a person, after which it sends nothing more; every message
   is in the customer's language or, one time in four, mixed zh/en. The next message follows
   the previous reply after ``--think`` seconds (uniform, default 4-6). Messages are sent as the
   chat page sends them: named (``message_id``) and sent again after 1, 2 and 4 s on no answer,
   a 503 or a 409 (``RETRY_DELAYS_S``); a turn's latency runs from its first sending to its
   answer. The claims and tickets are counted from the replies, then checked against the shop
   database, so a turn answered twice or a ticket nobody was told of shows up;
3. **turn profile**: at concurrency 1, the same message through the web, straight
   to Rasa's REST channel, to ``/model/parse`` (NLU only), the tracker fetch
   (tracker store) and the action server (each custom action of the turn);
4. **saturation**: closed loop, no think time, at concurrency 1, 10 and 50;
5. **stock**: the same saturation against one stock ``rasa run`` (same model,
   same action server, its own SQLite tracker store), posting
   ``{"sender", "message", "metadata"}`` to ``/webhooks/rest/webhook``;
   the metadata carries the customer as our front door does, so the actions do
   the same work;
6. **memory**: peak RSS (``VmHWM``) of every process of the profile and its children
   (Sanic's action-server workers, anything a web process starts).

CPU seconds per process are sampled around each measured phase to show which process
is the bottleneck, and how many cores the servers use. Conversations in closed loops
start afresh every 20 turns, so trackers stay the size of a real conversation.

It ends with one table of every phase, the memory table and, last, the headline:
``profile=… shards=… cold_start_s=… p50_ms_<n>=… p99_ms_<n>=… (each level) errors=… claims=…
handoffs=… db_check=… sat_tps_50=… stock_tps_50=… ratio_50=… peak_mb=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import jsonschema
import numpy as np
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.machine import CORES, NOISY_PCT, CpuMeter, command_name, parent_pid, peak_rss_mb, process_tree, pss_mb
from bot.settings import Settings
from bot.store.database import create_engine
from bot.store.schema import claims, tickets
from bot.store.seed import CUSTOMERS
from scripts.stack import RASA, ROOT, SharedStores, Stack, free_port, latest_model

OUT = ROOT / "bench" / "out"
CONCURRENCIES = (1, 10, 50)
TURNS_PER_CONVERSATION = 20  # closed loops start a new conversation after this many turns
LANGUAGE_OF = {c.customer_id: c.language for c in CUSTOMERS}

#: Order questions, by language: status, tracking, delivery time, returns, refunds, greetings.
ORDER_QUESTIONS: dict[str, tuple[str, ...]] = {
    "zh": ("你好", "在吗", "我的订单到哪了", "帮我查下订单状态", "快递单号是多少", "帮我查一下物流",
           "什么时候能送到", "大概还要几天到货", "我想退货", "这个还能退吗", "退款什么时候到账", "谢谢"),
    "en": ("hi", "hello there", "where is my order", "what's the status of my order",
           "can I get the tracking number", "track my parcel please", "when will it arrive",
           "how long until delivery", "I want to return an item", "how do I return this",
           "where is my refund", "thanks"),
    "mixed": ("hi 你好", "我的iPhone 15订单什么时候到?", "my 订单 status pls", "tracking number 是多少",
              "return 怎么申请", "快递 when will it arrive", "退款 refund 到了吗"),
}
#: Price questions that name no product: the bot asks which order (or answers for the one in context).
PRICE_QUESTIONS: dict[str, tuple[str, ...]] = {
    "zh": ("刚买就降价了，能补差价吗", "价格保护怎么申请"),
    "en": ("the price dropped, can I get the difference?", "do you offer price protection"),
    "mixed": ("price drop 了，能退差价吗",),
}
#: What closed loops and the turn profile send: order and price questions. Nothing that opens a
#: form or pauses the bot (no handoff, cancel, address or invoice), so every turn is like the next.
MESSAGES = {lang: ORDER_QUESTIONS[lang] + PRICE_QUESTIONS[lang] for lang in ORDER_QUESTIONS}


@dataclass(frozen=True)
class Claimant:
    """A demo customer with a claimable price drop (``bot.store.seed``), and how they claim it.

    Some asks name the product, and the bot files the claim at once; the others name none,
    and the bot asks which order, offering buttons whose titles carry the product's name
    (``tap``): the shopper taps it, and the claim is filed on that turn.
    """

    customer_id: str
    tap: tuple[str, ...]
    asks: Mapping[str, tuple[str, ...]]


#: C002's air conditioner dropped ¥251 after delivery, C008's formula ¥90 (3 tins); both are
#: approved at once. (C009's ¥600 iPhone drop goes to review and hands the chat over, so not here.)
CLAIMANTS = (
    Claimant("C002", ("Midea", "美的"), {
        "en": ("the Midea air conditioner is cheaper now, can I get the difference?", "price protection please",
               "I want the price difference back"),
        "mixed": ("我的 Midea 空调降价了, can I get the difference?", "价保 for my order please")}),
    Claimant("C008", ("飞鹤", "Feihe"), {
        "zh": ("奶粉降价了，能保价吗？", "申请价保"),
        "mixed": ("my 奶粉 is cheaper now, 能补差价吗", "奶粉 price drop 了，能保价吗")}),
)
#: Asking for a person, by language (``ask_human``).
HANDOFF_ASKS: dict[str, tuple[str, ...]] = {
    "zh": ("转人工", "我要找真人客服"),
    "en": ("I want to talk to a human", "transfer me to a human"),
    "mixed": ("转人工 please", "I want 人工 service"),
}
#: Shares (percent) of the kinds of realistic conversations.
MIX = (("orders", 75), ("claim", 15), ("handoff", 10))
CLAIM_ID = "PP"  # bot.store.aftersales.new_id: PP-261124-8EEF72
TICKET_ID = "TK"


# --- the functional core: scripts, replies and turns in, figures out ------------------------

def pick_language(customer_id: str, rng: random.Random) -> str:
    """A message language: the customer's own three times in four, otherwise mixed zh/en."""
    return "mixed" if rng.random() < 0.25 else LANGUAGE_OF[customer_id]


def customer_for(i: int) -> str:
    return CUSTOMERS[i % len(CUSTOMERS)].customer_id


@dataclass(frozen=True)
class Think:
    """Seconds a shopper takes before the next message, uniform in ``[low, high]``."""

    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


def parse_levels(text: str) -> tuple[int, ...]:
    """``--conversations``: comma-separated numbers of concurrent conversations, e.g. ``50,200,500``."""
    try:
        levels = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--conversations {text!r}: give whole numbers separated by commas, e.g. 50,200,500") from None
    if any(n < 1 for n in levels) or len(set(levels)) != len(levels):
        raise argparse.ArgumentTypeError(
            f"--conversations {text!r}: each level must be at least 1 and given once, e.g. 50,200,500")
    return levels


def parse_think(text: str) -> Think:
    """``--think``: the shortest and longest think time in seconds, e.g. ``4,6`` (``5`` means 5,5)."""
    try:
        parts = [float(part) for part in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not 0 < parts[0] <= parts[1]:
        raise argparse.ArgumentTypeError(
            f"--think {text!r}: give the shortest and longest seconds, above 0, e.g. 4,6 "
            "(the saturation phases are the ones without think time)")
    return Think(parts[0], parts[1])


@dataclass(frozen=True)
class Step:
    """One message of a scripted conversation.

    ``kind`` is ``question``, ``claim`` or ``handoff``. When the reply offers a button whose title
    has one of the ``tap`` words (the bot asking which order), the shopper taps it next.
    """

    text: str
    language: str
    kind: str = "question"
    tap: tuple[str, ...] = ()


@dataclass(frozen=True)
class Script:
    """What one shopper will say, in order, if the phase lasts long enough."""

    customer_id: str
    steps: tuple[Step, ...]

    @property
    def kind(self) -> str:
        """``claim`` or ``handoff`` if one of its steps is, else ``orders``."""
        return next((s.kind for s in self.steps if s.kind != "question"), "orders")


def allot(n: int, shares: Sequence[tuple[str, int]] = MIX) -> list[str]:
    """``n`` kinds in the given percent shares (largest remainder), each at least once when ``n`` allows.

    Example: 10 conversations at 75/15/10 % → 8 ``orders``, 1 ``claim``, 1 ``handoff``.
    """
    counts = {kind: n * pct // 100 for kind, pct in shares}
    by_remainder = sorted(shares, key=lambda kv: -(n * kv[1] % 100))  # stable: ties keep the table's order
    for kind, _ in by_remainder[:n - sum(counts.values())]:
        counts[kind] += 1
    if n >= len(shares):
        for kind in [k for k, c in counts.items() if c == 0]:
            counts[kind] += 1
            counts[max(counts, key=lambda k: counts[k])] -= 1
    return [kind for kind, _ in shares for _ in range(counts[kind])]


def script_length(duration_s: float, think: Think) -> tuple[int, int]:
    """Messages per script, and the bound below which the claim or handoff comes, for a phase.

    A script has more messages than the phase can take (one per shortest think time), so
    nobody falls silent early. The claim or handoff comes at a position the phase reaches
    even with the longest think times, leaving time for the tap that may follow.

    Example: 60 s at 4-6 s → 16 messages, the claim or handoff among the first 8.
    """
    steps = math.ceil(duration_s / think.low) + 1
    return steps, max(1, int((duration_s - 2 * think.high) // think.high))


def question(customer_id: str, rng: random.Random) -> Step:
    language = pick_language(customer_id, rng)
    return Step(rng.choice(ORDER_QUESTIONS[language]), language)


def claimant(customer_id: str) -> Claimant:
    return next(c for c in CLAIMANTS if c.customer_id == customer_id)


def make_script(kind: str, customer_id: str, steps: int, ask_before: int, rng: random.Random) -> Script:
    """One conversation of ``kind``: order questions, with a claim or a handoff at a seeded position.

    A handoff is its last message: a chat with a person says nothing more to the bot.
    """
    questions = [question(customer_id, rng) for _ in range(steps)]
    if kind == "orders":
        return Script(customer_id, tuple(questions))
    at = rng.randrange(min(ask_before, steps))
    language = pick_language(customer_id, rng)
    if kind == "claim":
        who = claimant(customer_id)
        ask = Step(rng.choice(who.asks[language]), language, "claim", who.tap)
        return Script(customer_id, (*questions[:at], ask, *questions[at:steps - 1]))
    return Script(customer_id, (*questions[:at], Step(rng.choice(HANDOFF_ASKS[language]), language, "handoff")))


def scripts_for(n: int, seed: int, steps: int, ask_before: int) -> list[Script]:
    """``n`` seeded conversations in ``MIX``'s shares, shuffled.

    Order and handoff conversations go to C001-C010 in turn; claims alternate between the
    ``CLAIMANTS``. The same seed gives the same scripts.
    """
    rng = random.Random(seed)
    kinds = allot(n)
    rng.shuffle(kinds)
    claims_so_far = 0
    out = []
    for i, kind in enumerate(kinds):
        if kind == "claim":
            customer = CLAIMANTS[claims_so_far % len(CLAIMANTS)].customer_id
            claims_so_far += 1
        else:
            customer = customer_for(i)
        out.append(make_script(kind, customer, steps, ask_before, random.Random(rng.getrandbits(64))))
    return out


@dataclass(frozen=True)
class Reply:
    """What the web front door answered to one message: the bot's lines and buttons."""

    texts: tuple[str, ...] = ()
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload)

    @classmethod
    def from_json(cls, body: str) -> Reply:
        """``{"messages": [{"text", "buttons": [{"title", "payload"}]}]}``; anything else is an empty reply."""
        try:
            messages = json.loads(body).get("messages") or []
        except (ValueError, AttributeError):
            return cls()
        ok = [m for m in messages if isinstance(m, dict)]
        return cls(texts=tuple(str(m.get("text") or "") for m in ok),
                   buttons=tuple((str(b.get("title", "")), str(b.get("payload", "")))
                                 for m in ok for b in m.get("buttons") or [] if isinstance(b, dict)))

    def ids(self, prefix: str) -> frozenset[str]:
        """Claim (``PP``) or ticket (``TK``) numbers the bot mentioned, e.g. ``TK-261124-31189B``."""
        pattern = re.compile(rf"\b{prefix}-\d{{6}}-[0-9A-F]{{6}}\b")
        return frozenset(m for text in self.texts for m in pattern.findall(text))

    def button(self, words: Iterable[str]) -> tuple[str, str] | None:
        """The first button whose title has one of ``words``, as (title, payload)."""
        return next(((t, p) for t, p in self.buttons if any(w in t for w in words)), None)


@dataclass(frozen=True)
class Outcome:
    """What one scripted conversation achieved: did it ask, and which claims and tickets it was told of."""

    kind: str
    asked: bool
    claim_ids: frozenset[str] = frozenset()
    ticket_ids: frozenset[str] = frozenset()

    @classmethod
    def of(cls, kind: str, asked: bool, replies: Iterable[Reply]) -> Outcome:
        seen = list(replies)
        return cls(kind, asked, frozenset().union(*(r.ids(CLAIM_ID) for r in seen)),
                   frozenset().union(*(r.ids(TICKET_ID) for r in seen)))


@dataclass(frozen=True)
class Tally:
    """Claims and handoffs of one realistic phase, from the replies."""

    claims_scripted: int = 0
    claims_asked: int = 0
    claims_answered: int = 0  # claim conversations told a claim number (new, or the one already filed)
    handoffs_scripted: int = 0
    handoffs_asked: int = 0
    handoffs_made: int = 0  # handoff conversations told a ticket number
    unscripted_tickets: int = 0  # conversations handed over without asking (should be 0)
    claim_ids: frozenset[str] = frozenset()
    ticket_ids: frozenset[str] = frozenset()

    def row(self) -> str:
        return (f"claims: {self.claims_scripted} scripted, {self.claims_asked} asked, {self.claims_answered} told a "
                f"claim number ({len(self.claim_ids)} distinct); handoffs: {self.handoffs_scripted} scripted, "
                f"{self.handoffs_asked} asked, {self.handoffs_made} told a ticket number; "
                f"unscripted handoffs: {self.unscripted_tickets}")


def tally(outcomes: Sequence[Outcome]) -> Tally:
    """Count claims and handoffs asked for and answered.

    Example: a claim conversation whose claim ask went out and whose reply carried
    ``PP-261124-8EEF72`` counts once in ``claims_asked`` and once in ``claims_answered``.
    """
    claim, handoff = ([o for o in outcomes if o.kind == k] for k in ("claim", "handoff"))
    return Tally(
        claims_scripted=len(claim), claims_asked=sum(o.asked for o in claim),
        claims_answered=sum(bool(o.claim_ids) for o in claim),
        handoffs_scripted=len(handoff), handoffs_asked=sum(o.asked for o in handoff),
        handoffs_made=sum(bool(o.ticket_ids) for o in handoff),
        unscripted_tickets=sum(bool(o.ticket_ids) for o in outcomes if o.kind != "handoff"),
        claim_ids=frozenset().union(*(o.claim_ids for o in outcomes)),
        ticket_ids=frozenset().union(*(o.ticket_ids for o in outcomes)))


def check_stored(seen: Mapping[str, frozenset[str]], stored: Mapping[str, frozenset[str]]) -> list[str]:
    """Differences between the numbers the replies showed and the rows in the database, per kind.

    Example: replies showed claims {PP-1} but the ``claims`` table holds {PP-1, PP-2} →
    ``["claims: 1 in the database never shown in a reply: PP-2"]``. Empty when they agree.
    """
    out = []
    for kind, shown in seen.items():
        rows = stored.get(kind, frozenset())
        if missing := sorted(shown - rows):
            out.append(f"{kind}: {len(missing)} shown in replies but not in the database: {', '.join(missing[:5])}")
        if unseen := sorted(rows - shown):
            out.append(f"{kind}: {len(unseen)} in the database never shown in a reply: {', '.join(unseen[:5])}")
    return out


@dataclass(frozen=True)
class Turn:
    """One shopper message and its reply, as the client saw it."""

    start: float  # time.monotonic() when the request was first sent
    latency_s: float  # until the answer (or the last failure), resends and their waits included
    error: str | None = None
    attempts: int = 1  # 2..4: the page sent it again (RETRY_DELAYS_S)

    @property
    def end(self) -> float:
        return self.start + self.latency_s


@dataclass(frozen=True)
class Summary:
    """Latency percentiles and throughput of the turns that ended inside a window."""

    turns: int
    errors: int
    tps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_kinds: tuple[tuple[str, int], ...] = ()
    cpu: tuple[tuple[str, float], ...] = ()  # CpuMeter.percent over the phase (100 = one core)
    resent: int = 0  # turns the page had to send more than once (answered or not)

    @property
    def other_cpu_pct(self) -> float:
        """CPU used by processes outside the benchmark meanwhile."""
        return dict(self.cpu).get(CpuMeter.OTHER, 0.0)

    @property
    def servers_cpu_pct(self) -> float:
        """CPU used by the servers under test (not the load client, not other processes)."""
        return sum(p for name, p in self.cpu if name not in (CpuMeter.CLIENT, CpuMeter.OTHER))

    def cpu_row(self) -> str:
        return "cpu% " + " ".join(f"{name}={p:.0f}" for name, p in self.cpu) + f" (of {CORES}00)"

    def row(self) -> str:
        resent = f" resent={self.resent}" if self.resent else ""
        return (f"turns={self.turns:5d} errors={self.errors:4d} tps={self.tps:6.1f} "
                f"p50={self.p50_ms:7.1f}ms p95={self.p95_ms:7.1f}ms p99={self.p99_ms:7.1f}ms{resent}")


def summarise(turns: Sequence[Turn], window_start: float, window_end: float) -> Summary:
    """Figures for the turns that ended in ``[window_start, window_end]``.

    Throughput counts successful turns only; percentiles are over successful turns, each
    from its first sending to its answer (a resent turn's waits included).

    Example: 40 ok turns ending inside a 20 s window → ``tps == 2.0``.
    """
    inside = [t for t in turns if window_start <= t.end <= window_end]
    ok = [t.latency_s * 1000 for t in inside if t.error is None]
    failed = Counter(t.error for t in inside if t.error is not None)
    p50, p95, p99 = (float(np.percentile(ok, q)) if ok else float("nan") for q in (50, 95, 99))
    return Summary(turns=len(ok), errors=sum(failed.values()), tps=len(ok) / (window_end - window_start),
                   p50_ms=p50, p95_ms=p95, p99_ms=p99,
                   error_kinds=tuple((str(k), v) for k, v in failed.most_common(5)),
                   resent=sum(t.attempts > 1 for t in inside))


@dataclass(frozen=True)
class Level:
    """One realistic phase: its turns' figures and what its conversations achieved."""

    conversations: int
    summary: Summary
    tally: Tally


def summary_table(rows: Sequence[tuple[str, str, Summary]]) -> list[str]:
    """One line per (phase, level) with p50/p95/p99, turns/s and errors."""
    out = [f"  {'phase':<12} {'level':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'tps':>7} {'errors':>7}"]
    out.extend(f"  {phase:<12} {level:>6} {s.p50_ms:>8.1f} {s.p95_ms:>8.1f} {s.p99_ms:>8.1f} {s.tps:>7.1f} "
               f"{s.errors:>7d}" for phase, level, s in rows)
    return out


def headline(profile: str, shards: int, cold_s: float, levels: Sequence[Level], sat: Mapping[int, Summary],
             stock: Mapping[int, Summary], peak_mb: float, db_ok: bool) -> str:
    """The last line: ``key=value`` figures, comparable across runs with ``tail -1``.

    ``errors`` counts failed turns in every realistic level and every saturation level of ours
    (after the page's resends); ``resent`` the realistic turns the page had to send more than
    once; ``claims`` and ``handoffs`` are the conversations told a claim or ticket number.
    """
    c = CONCURRENCIES[-1]
    ratio = sat[c].tps / stock[c].tps if stock[c].tps else float("nan")
    errors = sum(lv.summary.errors for lv in levels) + sum(s.errors for s in sat.values())
    per_level = " ".join(f"p50_ms_{lv.conversations}={lv.summary.p50_ms:.1f} p99_ms_{lv.conversations}="
                         f"{lv.summary.p99_ms:.1f}" for lv in levels)
    resent = sum(lv.summary.resent for lv in levels)
    return (f"profile={profile} shards={shards} cold_start_s={cold_s:.1f} {per_level} errors={errors} "
            f"resent={resent} "
            f"claims={sum(lv.tally.claims_answered for lv in levels)} "
            f"handoffs={sum(lv.tally.handoffs_made for lv in levels)} db_check={'ok' if db_ok else 'MISMATCH'} "
            f"sat_tps_{c}={sat[c].tps:.1f} stock_tps_{c}={stock[c].tps:.1f} ratio_{c}={ratio:.2f} "
            f"peak_mb={peak_mb:.0f}")


# --- processes: start-up and stock Rasa ------------------------------------------------------

def rasa_start_phases(log: Path, started_at: datetime) -> str:
    """Where a Rasa server's start-up went, from its log's timestamps (1 s resolution).

    Rasa logs ``Loading model …`` once its imports (TensorFlow, spaCy, …) are done
    and ``Rasa server is up and running`` once the model is loaded.
    """
    marks: dict[str, datetime] = {}
    for line in log.read_text(errors="replace").splitlines():
        for key, needle in (("model", "Loading model"), ("up", "Rasa server is up and running")):
            if needle in line and key not in marks:
                with contextlib.suppress(ValueError):
                    marks[key] = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
    if len(marks) < 2:
        return f"{log.name}: no start-up marks"
    imports = (marks["model"] - started_at.replace(microsecond=0)).total_seconds()
    return (f"{log.stem}: process start to 'Loading model' {imports:.0f}s (imports, tracker store), "
            f"model load {(marks['up'] - marks['model']).total_seconds():.0f}s")


class ReadyWatch:
    """Records when each process of a starting stack first answers (a thread polling every 0.25 s)."""

    def __init__(self, stack: Stack) -> None:
        self.urls = {"actions": f"http://127.0.0.1:{stack.action_port}/health", "web": f"{stack.url}/api/customers",
                     **{f"rasa{i}": f"http://127.0.0.1:{p}/status?token={stack.token}"
                        for i, p in enumerate(stack.rasa_ports)}}
        self.ready: dict[str, float] = {}
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll_once(self) -> None:
        for name, url in self.urls.items():
            if name in self.ready:
                continue
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200 and (not name.startswith("rasa") or b"model_file" in r.read()):
                        self.ready[name] = time.monotonic() - self.started
            except OSError:
                pass

    def _poll(self) -> None:
        while not self._stop.is_set() and len(self.ready) < len(self.urls):
            self._poll_once()
            self._stop.wait(0.25)

    def __enter__(self) -> ReadyWatch:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll_once()  # a process that became ready after the last poll

    def row(self) -> str:
        return ", ".join(f"{name} {t:.1f}s" for name, t in sorted(self.ready.items(), key=lambda kv: kv[1]))


@dataclass
class StockRasa:
    """One stock ``rasa run`` (REST channel only) serving the same model with our action server."""

    var_dir: Path
    model: Path
    action_port: int
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 180) -> float:
        endpoints = self.var_dir / "stock-endpoints.yml"
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{self.var_dir / "stock-tracker.db"}"\n',
            encoding="utf-8")
        credentials = self.var_dir / "stock-credentials.yml"  # the REST channel alone, not our channel
        credentials.write_text("rest:\n", encoding="utf-8")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "SANIC_WORKERS": "1", "PYTHONPATH": str(ROOT)}
        log = (self.var_dir / "stock-rasa.log").open("ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [RASA, "run", "-i", "127.0.0.1", "-p", str(self.port), "-m", str(self.model),
             "--endpoints", str(endpoints), "--credentials", str(credentials)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stock rasa exited with {self.proc.returncode}; see {self.var_dir}/stock-rasa.log")
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"stock rasa not ready after {timeout_s}s")
            try:
                with urllib.request.urlopen(f"{self.url}/webhooks/rest/", timeout=2) as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@dataclass(frozen=True)
class Profile:
    """Which processes a run starts, and where their state lives (``python -m scripts.stack --profile``)."""

    name: str
    shards: int
    web_workers: int = 1
    action_workers: int = 1

    @classmethod
    def of(cls, name: str, shards: int | None) -> Profile:
        """``embedded``: one Rasa server unless told; ``scale``: two of every kind, as ``make scale`` starts them."""
        if name == "scale":
            return cls("scale", shards or 2, web_workers=2, action_workers=2)
        return cls("embedded", shards or 1)

    def stack(self, var_dir: Path, model: Path, stores: SharedStores | None) -> Stack:
        return Stack(var_dir=var_dir, model=model, web_port=free_port(), web_workers=self.web_workers,
                     rasa_ports=tuple(free_port() for _ in range(self.shards)), action_port=free_port(),
                     action_workers=self.action_workers, stores=stores, quiet=True,
                     extra_env={"SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                                # closed loops of one session and hundreds of sign-ins at once are the
                                # point here, not abuse: rate limits off (stock has none either)
                                "SHOP_SESSION_RATE": "0", "SHOP_SIGN_IN_RATE": "0"})


@dataclass(frozen=True)
class SharedServers:
    """The PostgreSQL and Redis servers of a scale run, when they run on this machine.

    Their work is the profile's, so their CPU gets rows of its own (PostgreSQL's backends are
    children of its postmaster) instead of counting as other load. They serve any other client
    too: what a test suite running meanwhile makes them do counts as ours.
    """

    stores: SharedStores | None = None
    pids: Mapping[str, int] = field(default_factory=dict)  # "postgres": the postmaster, "redis": the server

    @classmethod
    def find(cls, stores: SharedStores) -> SharedServers:
        engine = sa.create_engine(stores.database_url)
        try:
            with engine.connect() as c:
                postmaster = parent_pid(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
        finally:
            engine.dispose()
        client = redis.Redis.from_url(stores.redis_url)
        try:
            redis_pid = int(client.info("server")["process_id"])
        finally:
            client.close()
        found = {"postgres": postmaster or 0, "redis": redis_pid}
        return cls(stores, {name: pid for name, pid in found.items() if command_name(pid).startswith(name)})

    def row(self) -> str:
        return ", ".join([f"{name} (pid {pid})" for name, pid in self.pids.items()]
                         or ["none (not on this machine: their CPU is not counted)"])

    def memory(self) -> dict[str, tuple[int, float]]:
        """PSS now of the PostgreSQL backends serving the run's databases, and of Redis."""
        if self.stores is None:
            return {}
        out = {}
        if "postgres" in self.pids:
            names = [make_url(url).database for url in (self.stores.database_url, self.stores.tracker_url)]
            engine = sa.create_engine(self.stores.database_url)
            try:
                with engine.connect() as c:
                    backends = list(c.execute(sa.text(
                        "SELECT pid FROM pg_stat_activity WHERE datname IN :names AND pid <> pg_backend_pid()"
                    ).bindparams(sa.bindparam("names", expanding=True)), {"names": names}).scalars())
            finally:
                engine.dispose()
            out["postgres"] = (len(backends), pss_mb(backends))
        if "redis" in self.pids:
            out["redis"] = (1, pss_mb([self.pids["redis"]]))
        return out


def stored_ids(database_url: str) -> dict[str, frozenset[str]]:
    """Every claim and ticket number in the shop database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            return {"claims": frozenset(c.execute(sa.select(claims.c.claim_id)).scalars()),
                    "tickets": frozenset(c.execute(sa.select(tickets.c.ticket_id)).scalars())}
    finally:
        engine.dispose()


# --- clients: one conversation each ---------------------------------------------------------

class Conversation(Protocol):
    async def say(self, text: str) -> Turn: ...
    async def close(self) -> None: ...


class Chat(Protocol):
    """A conversation whose replies are read (``WebShopper``)."""

    async def send(self, text: str, payload: str | None = None) -> tuple[Turn, Reply]: ...


#: The chat page's resend schedule (``RETRY_DELAYS_MS`` in bot/web/static/chat.js): a message that
#: gets no answer, a 503 or a 409 ``message_in_progress`` is sent again under the same
#: ``message_id`` after 1, 2 and 4 s, and the web service answers it once.
RETRY_DELAYS_S = (1.0, 2.0, 4.0)


def resendable(status: int, body: str) -> bool:
    """Whether the page sends a message again after this answer (status 0: no answer at all)."""
    return status in (0, 503) or (status == 409 and "message_in_progress" in body)


async def attempt(post: Callable[[], Awaitable[tuple[int, str]]]) -> tuple[int, str, str | None]:
    """One request: (status, body, error); status 0 and an error when there was no answer."""
    try:
        status, text = await post()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return 0, "", f"{type(exc).__name__}: {exc}"[:200]
    return status, text, None if status == 200 else f"HTTP {status}: {text[:160]}"


async def timed(post: Callable[[], Awaitable[tuple[int, str]]]) -> tuple[Turn, str]:
    """Run one request: the ``Turn`` and the response body (never raises; no body on failure)."""
    start = time.monotonic()
    _, text, error = await attempt(post)
    return Turn(start, time.monotonic() - start, error), text if error is None else ""


async def resent(post: Callable[[], Awaitable[tuple[int, str]]],
                 delays: Sequence[float] = RETRY_DELAYS_S) -> tuple[Turn, str]:
    """Like ``timed``, but sent again as the chat page does (``post`` carries the same message_id)."""
    start = time.monotonic()
    tries = 0
    for delay in (*delays, None):
        tries += 1
        status, text, error = await attempt(post)
        if error is None or delay is None or not resendable(status, text):
            break
        await asyncio.sleep(delay)
    return Turn(start, time.monotonic() - start, error, attempts=tries), text if error is None else ""


class WebShopper:
    """One shopper signed in at the web front door, with its own cookie jar."""

    def __init__(self, base: str, customer_id: str, connector: aiohttp.BaseConnector) -> None:
        self.base = base
        self.customer_id = customer_id
        self.http = aiohttp.ClientSession(
            connector=connector, connector_owner=False, cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=60))

    @classmethod
    async def signed_in(cls, base: str, customer_id: str, connector: aiohttp.BaseConnector) -> WebShopper:
        me = cls(base, customer_id, connector)
        async with me.http.post(f"{base}/api/session", json={"customer_id": customer_id}) as r:
            if r.status != 200:
                await me.close()
                raise RuntimeError(f"sign-in of {customer_id} failed: HTTP {r.status} {await r.text()}")
        return me

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        async with self.http.post(f"{self.base}{path}", json=body) as r:
            return r.status, await r.text()

    async def open(self) -> Turn:
        turn, _ = await timed(lambda: self._post("/api/chat/open", {}))
        return turn

    async def send(self, text: str, payload: str | None = None) -> tuple[Turn, Reply]:
        """A typed message, or a tapped button (its title shown, its payload sent), named and
        resent as the chat page does: a turn cut off by overload is answered once, not lost."""
        body = {"text": text, "message_id": secrets.token_hex(16)}
        if payload is not None:
            body["payload"] = payload
        turn, raw = await resent(lambda: self._post("/api/messages", body))
        return turn, Reply.from_json(raw)

    async def say(self, text: str) -> Turn:
        """A typed message whose reply is not read (closed loops: the client's CPU is the servers' too)."""
        turn, _ = await timed(lambda: self._post("/api/messages", {"text": text}))
        return turn

    async def close(self) -> None:
        await self.http.close()


class RestSender:
    """One conversation straight on a Rasa REST channel, as stock Rasa is used."""

    def __init__(self, base: str, sender: str, customer_id: str, http: aiohttp.ClientSession) -> None:
        self.url = f"{base}/webhooks/rest/webhook"
        self.sender = sender
        self.metadata = {"customer_id": customer_id, "language": LANGUAGE_OF[customer_id]}
        self.http = http

    async def _post(self, text: str) -> tuple[int, str]:
        body = {"sender": self.sender, "message": text, "metadata": self.metadata}
        async with self.http.post(self.url, json=body) as r:
            return r.status, await r.text()

    async def say(self, text: str) -> Turn:
        turn, _ = await timed(lambda: self._post(text))
        return turn

    async def close(self) -> None:
        return None


# --- phases -----------------------------------------------------------------------------------

def metered(summary: Summary, cpu: CpuMeter) -> Summary:
    return replace(summary, cpu=tuple(cpu.percent.items()))


async def pause(seconds: float, deadline: float) -> None:
    """Think, but not past the end of the phase."""
    await asyncio.sleep(max(0.0, min(seconds, deadline - time.monotonic())))


async def follow(me: Chat, script: Script, think: Think, rng: random.Random, deadline: float,
                 turns: list[Turn]) -> Outcome:
    """Play one script until it ends, the phase ends, or the bot hands the chat to a person."""
    replies: list[Reply] = []
    asked = False

    async def send(text: str, payload: str | None = None) -> Reply:
        turn, reply = await me.send(text, payload)
        turns.append(turn)
        replies.append(reply)
        return reply

    await pause(rng.uniform(0, think.high), deadline)  # shoppers do not all type at once
    for step in script.steps:
        if time.monotonic() >= deadline:
            break
        reply = await send(step.text)
        asked = asked or step.kind != "question"
        tapped = reply.button(step.tap) if step.tap else None
        if tapped is not None:
            await pause(think.draw(rng), deadline)
            if time.monotonic() >= deadline:
                break
            reply = await send(*tapped)
        if reply.ids(TICKET_ID):
            break  # handed over: the chat no longer goes to the bot
        await pause(think.draw(rng), deadline)
    return Outcome.of(script.kind, asked, replies)


async def realistic(base: str, scripts: Sequence[Script], think: Think, duration_s: float, seed: int,
                    meter: Callable[[], CpuMeter]) -> tuple[Level, float]:
    """One conversation per script, with think time; returns the level and the (unmeasured) sign-in seconds."""
    connector = aiohttp.TCPConnector(limit=0)
    warm_started = time.monotonic()
    gate = asyncio.Semaphore(10)

    async def arrive(customer_id: str) -> WebShopper:
        async with gate:
            me = await WebShopper.signed_in(base, customer_id, connector)
            opened = await me.open()  # the chat page's greeting turn, not measured
            if opened.error:
                print(f"  sign-in: chat opening failed: {opened.error}", flush=True)
            return me

    shoppers: list[WebShopper] = []
    turns: list[Turn] = []
    try:
        shoppers = list(await asyncio.gather(*(arrive(s.customer_id) for s in scripts)))
        warm_s = time.monotonic() - warm_started
        with meter() as cpu:
            t0 = time.monotonic()
            deadline = t0 + duration_s
            outcomes = await asyncio.gather(*(
                follow(me, s, think, random.Random(seed * 1000 + i), deadline, turns)
                for i, (me, s) in enumerate(zip(shoppers, scripts, strict=True))))
    finally:
        for me in shoppers:
            await me.close()
        await connector.close()
    return Level(len(scripts), metered(summarise(turns, t0, deadline), cpu), tally(outcomes)), warm_s


async def closed_loop(new_conversation: Callable[[int, int], Awaitable[Conversation]], concurrency: int,
                      warm_s: float, measure_s: float, seed: int) -> Summary:
    """``concurrency`` conversations, each sending its next message as soon as the reply arrives."""
    turns: list[Turn] = []
    t0 = time.monotonic()
    window = (t0 + warm_s, t0 + warm_s + measure_s)

    async def worker(i: int) -> None:
        rng = random.Random(seed * 7919 + concurrency * 101 + i)
        customer = customer_for(i)
        generation = 0
        while time.monotonic() < window[1]:
            conv = await new_conversation(i, generation)
            try:
                for _ in range(TURNS_PER_CONVERSATION):
                    if time.monotonic() >= window[1]:
                        break
                    turns.append(await conv.say(rng.choice(MESSAGES[pick_language(customer, rng)])))
            finally:
                await conv.close()
            generation += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return summarise(turns, *window)


async def saturation(new_conversation: Callable[[int, int], Awaitable[Conversation]], label: str,
                     warm_s: float, measure_s: float, seed: int,
                     meter: Callable[[], CpuMeter]) -> dict[int, Summary]:
    results = {}
    for c in CONCURRENCIES:
        with meter() as cpu:
            summary = await closed_loop(new_conversation, c, warm_s, measure_s, seed)
        results[c] = metered(summary, cpu)
        print(f"  {label:<5} c={c:<3d} {results[c].row()}  | {cpu.row()}", flush=True)
        for kind, n in results[c].error_kinds:
            print(f"        {n} x {kind}", flush=True)
    return results


@dataclass(frozen=True)
class Breakdown:
    """Median milliseconds of each part of a turn, measured one request at a time."""

    web_ms: float
    rasa_turn_ms: float
    nlu_ms: float
    tracker_get_ms: float
    actions_ms: float
    actions_per_turn: float
    predict_ms: float  # /model/predict: decode the posted events, then one run of the policy ensemble
    predictions_per_turn: float
    validate_ms: tuple[float, float]  # Rasa's check of one action server response: stock, ours

    def lines(self) -> list[str]:
        return [
            f"  web front door turn (total)                 {self.web_ms:7.1f} ms",
            f"    web service's own share (web - Rasa)      {self.web_ms - self.rasa_turn_ms:7.1f} ms "
            "(session lookup, transcript writes, one more HTTP hop)",
            f"    Rasa REST turn                            {self.rasa_turn_ms:7.1f} ms",
            "  parts of a Rasa turn, each timed on its own (each with its own HTTP round trip; they need not add up):",
            f"    NLU pipeline (/model/parse)               {self.nlu_ms:7.1f} ms",
            f"    one policy prediction (/model/predict)    {self.predict_ms:7.1f} ms x "
            f"{self.predictions_per_turn:.0f} predictions per turn (upper bound: includes decoding the tracker)",
            f"    action server, server side                {self.actions_ms:7.1f} ms for "
            f"{self.actions_per_turn:.0f} calls per turn",
            f"    Rasa's check of each action response      {self.validate_ms[1]:7.1f} ms x "
            f"{self.actions_per_turn:.0f} (validator built once by bot.rasa_speedups; "
            f"stock jsonschema.validate() re-checks the schema: {self.validate_ms[0]:.1f} ms)",
            f"    tracker store read (tracker fetch)        {self.tracker_get_ms:7.1f} ms",
            "  (python -m bench.hotspots samples the Rasa server's CPU under load for a direct breakdown)",
        ]


class Profiler:
    """Times the parts of one turn through Rasa's own HTTP API and the action server's."""

    def __init__(self, stack: Stack, http: aiohttp.ClientSession) -> None:
        self.rasa = f"http://127.0.0.1:{stack.rasa_ports[0]}"
        self.token = {"token": stack.token}
        self.actions_url = f"http://127.0.0.1:{stack.action_port}/webhook"
        self.http = http
        self.domain: dict[str, Any] = {}
        self.custom: set[str] = set()
        self.parts: dict[str, list[float]] = {
            k: [] for k in ("web", "rasa", "nlu", "tracker", "actions", "calls", "policy", "predictions")}
        self.responses: list[Any] = []  # what the action server answered, for timing Rasa's check of it

    async def _get(self, url: str, **kw: Any) -> Any:
        async with self.http.get(url, **kw) as r:
            r.raise_for_status()
            return await r.json(content_type=None)

    async def _post(self, url: str, body: Any, **kw: Any) -> Any:
        async with self.http.post(url, json=body, **kw) as r:
            r.raise_for_status()
            return await r.json(content_type=None)

    async def _ms(self, part: str, coro: Awaitable[Any]) -> Any:
        start = time.perf_counter()
        result = await coro
        self.parts[part].append((time.perf_counter() - start) * 1000)
        return result

    async def load_domain(self) -> None:
        self.domain = await self._get(f"{self.rasa}/domain", params=self.token, headers={"Accept": "application/json"})
        self.custom = {a for a in self.domain.get("actions", []) if not a.startswith("utter_")}

    async def turn(self, text: str, web: WebShopper, rest: RestSender) -> None:
        for part, t in (("web", await web.say(text)), ("rasa", await rest.say(text))):
            if t.error is None:
                self.parts[part].append(t.latency_s * 1000)
        await self._ms("nlu", self._post(f"{self.rasa}/model/parse", {"text": text}, params=self.token))
        tracker = await self._ms("tracker", self._get(f"{self.rasa}/conversations/{rest.sender}/tracker",
                                                      params=self.token))
        events = tracker.get("events", [])
        await self._ms("policy", self._post(f"{self.rasa}/model/predict", events, params=self.token))
        last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=0)
        executed = [e.get("name") for e in events[last_user:] if e.get("event") == "action"]
        self.parts["predictions"].append(len([a for a in executed if a != "action_extract_slots"]))
        ran = [a for a in executed if a in self.custom]
        if "action_validate_slot_mappings" in self.custom and "action_validate_slot_mappings" not in ran:
            ran.append("action_validate_slot_mappings")  # runs inside action_extract_slots each turn
        start = time.perf_counter()
        for name in ran:
            self.responses.append(await self._post(self.actions_url, {
                "next_action": name, "sender_id": rest.sender, "tracker": tracker,
                "domain": self.domain, "version": "3.6.2"}))
        self.parts["actions"].append((time.perf_counter() - start) * 1000)
        self.parts["calls"].append(len(ran))

    def validate_ms(self) -> tuple[float, float]:
        """Median time of Rasa's check of an action response: stock, and as our servers run it.

        Stock is ``jsonschema.validate()`` as ``RemoteAction._validate_action_result`` calls it;
        ours is the same method after ``bot.rasa_speedups.install_action_validator()``.
        """
        # Rasa (and TensorFlow) take seconds to import; only this measurement needs them.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from rasa.core.actions.action import RemoteAction  # noqa: PLC0415

        from bot.rasa_speedups import install_action_validator  # noqa: PLC0415 - after Rasa's import, above

        spec = RemoteAction.action_response_format_spec()
        install_action_validator()
        action = RemoteAction("action_bench", None)
        stock, ours = [], []
        for response in self.responses:
            start = time.perf_counter()
            jsonschema.validate(response, spec)
            stock.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            action._validate_action_result(response)
            ours.append((time.perf_counter() - start) * 1000)
        return (float(np.median(stock)), float(np.median(ours))) if stock else (float("nan"), float("nan"))

    def breakdown(self) -> Breakdown:
        med = {k: float(np.median(v)) if v else float("nan") for k, v in self.parts.items()}
        return Breakdown(med["web"], med["rasa"], med["nlu"], med["tracker"], med["actions"], med["calls"],
                         med["policy"], med["predictions"], self.validate_ms())


async def profile(stack: Stack, turns: int) -> Breakdown:
    """Time each part of a turn with the same messages, one request at a time."""
    connector = aiohttp.TCPConnector(limit=0)
    http = aiohttp.ClientSession(connector=connector, connector_owner=False, timeout=aiohttp.ClientTimeout(total=60))
    profiler = Profiler(stack, http)
    sender_base = f"bench-profile-{os.getpid()}-{int(time.time())}"
    talkers = {lang: (await WebShopper.signed_in(stack.url, cid, connector),
                      RestSender(profiler.rasa, f"{sender_base}-{lang}", cid, http))
               for lang, cid in (("zh", "C001"), ("en", "C002"), ("mixed", "C004"))}
    try:
        await profiler.load_domain()
        order = ("zh", "en", "mixed")
        for k in range(turns):
            lang = order[k % 3]
            await profiler.turn(MESSAGES[lang][k // 3 % len(MESSAGES[lang])], *talkers[lang])
    finally:
        for web, _ in talkers.values():
            await web.close()
        await http.close()
        await connector.close()
    return profiler.breakdown()


# --- the run ----------------------------------------------------------------------------------

def log_errors(var_dir: Path) -> list[str]:
    """Error lines found in the processes' logs (count and first few per file)."""
    out = []
    for log in sorted(var_dir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        bad = [(i, ln) for i, ln in enumerate(lines)
               if "Traceback" in ln or " ERROR " in ln or "[error" in ln or "Exception" in ln]
        if not bad:
            continue
        out.append(f"  {log.name}: {len(bad)} error lines; first ones:")
        first = bad[0][0]
        out.extend(f"    | {ln[:300]}" for ln in lines[first:first + 25])
        kinds = Counter(ln.strip()[:160] for _, ln in bad)
        out.extend(f"    {n} x {k}" for k, n in kinds.most_common(5))
    return out


@dataclass(frozen=True)
class Plan:
    realistic_s: float
    sat_warm_s: float
    sat_measure_s: float
    setupturns: int
    levels: tuple[int, ...]
    think: Think = Think(4, 6)

    @classmethod
    def of(cls, quick: bool) -> Plan:
        return cls(20, 1, 6, 9, (10, 30)) if quick else cls(60, 2, 20, 30, (50, 200, 500))


@dataclass(frozen=True)
class Ours:
    """Everything measured on the profile's own stack."""

    levels: tuple[Level, ...]
    stored: Mapping[str, frozenset[str]]  # claim and ticket numbers in the shop database after the levels
    breakdown: Breakdown
    sat: Mapping[int, Summary]

    @property
    def db_mismatches(self) -> list[str]:
        seen = {"claims": frozenset().union(*(lv.tally.claim_ids for lv in self.levels)),
                "tickets": frozenset().union(*(lv.tally.ticket_ids for lv in self.levels))}
        return check_stored(seen, self.stored)


async def measure_ours(stack: Stack, plan: Plan, seed: int, pids: dict[str, int], database_url: str) -> Ours:
    steps, ask_before = script_length(plan.realistic_s, plan.think)
    levels = []
    for n in plan.levels:
        print(f"\n[realistic] {n} conversations, next message {plan.think.low:g}-{plan.think.high:g} s after each "
              f"reply, {plan.realistic_s:.0f} s", flush=True)
        scripts = scripts_for(n, seed * 1_000_003 + n, steps, ask_before)
        level, warm_s = await realistic(stack.url, scripts, plan.think, plan.realistic_s, seed,
                                        lambda: CpuMeter(pids))
        kinds = Counter(s.kind for s in scripts)
        print(f"  sign-ins and chat openings (not measured): {warm_s:.1f}s; conversations: "
              + ", ".join(f"{kinds[k]} {k}" for k, _ in MIX), flush=True)
        print(f"  ours  {level.summary.row()}  | {level.summary.cpu_row()}", flush=True)
        for kind, count in level.summary.error_kinds:
            print(f"        {count} x {kind}", flush=True)
        print(f"  {level.tally.row()}", flush=True)
        levels.append(level)
    stored = stored_ids(database_url)

    print(f"\n[profile] one request at a time, {plan.setupturns} turns, medians", flush=True)
    breakdown = await profile(stack, plan.setupturns)
    print("\n".join(breakdown.lines()), flush=True)

    print(f"\n[saturation] ours through the web front door, closed loop, {plan.sat_measure_s:.0f} s each", flush=True)
    connector = aiohttp.TCPConnector(limit=0)

    async def web_conversation(i: int, generation: int) -> Conversation:
        return await WebShopper.signed_in(stack.url, customer_for(i), connector)

    try:
        sat = await saturation(web_conversation, "ours", plan.sat_warm_s, plan.sat_measure_s, seed,
                               lambda: CpuMeter(pids))
    finally:
        await connector.close()
    return Ours(tuple(levels), stored, breakdown, sat)


async def measure_stock(stock: StockRasa, plan: Plan, seed: int, pids: dict[str, int]) -> dict[int, Summary]:
    connector = aiohttp.TCPConnector(limit=0)
    http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))
    run = f"{os.getpid()}-{int(time.time())}"

    async def rest_conversation(i: int, generation: int) -> Conversation:
        return RestSender(stock.url, f"stock-{run}-{i}-{generation}", customer_for(i), http)

    try:
        for k in range(5):  # first turns of a fresh Rasa are slow (TensorFlow graph warm-up)
            await (await rest_conversation(k, -1)).say(MESSAGES["zh"][k])
        print(f"\n[saturation] stock rasa run, REST channel, closed loop, {plan.sat_measure_s:.0f} s each", flush=True)
        return await saturation(rest_conversation, "stock", plan.sat_warm_s, plan.sat_measure_s, seed,
                                lambda: CpuMeter(pids))
    finally:
        await http.close()


def warm_up(stack: Stack) -> None:
    """A few sequential turns so that the first measured ones do not pay TensorFlow's warm-up."""
    async def go() -> None:
        connector = aiohttp.TCPConnector(limit=0)
        try:
            for i, lang in enumerate(("zh", "en", "mixed", "zh", "en", "mixed")):
                me = await WebShopper.signed_in(stack.url, customer_for(i), connector)
                await me.say(MESSAGES[lang][i])
                await me.close()
        finally:
            await connector.close()
    asyncio.run(go())


@dataclass(frozen=True)
class Memory:
    """Peak RSS (MB) of each process of the profile with its children, and of stock Rasa.

    The shared servers of the scale profile are apart: PostgreSQL's backends each map its shared
    buffers, so their RSS would count those many times; their PSS now is shown instead.
    """

    peaks: Mapping[str, tuple[int, float]]  # name → (processes in its tree, MB)
    shared: Mapping[str, tuple[int, float]]  # shared server → (processes, PSS MB now)
    stock_mb: float

    @property
    def total_mb(self) -> float:
        return sum(mb for _, mb in self.peaks.values())



def peaks(pids: Mapping[str, int]) -> dict[str, tuple[int, float]]:
    """Each named process: how many processes its tree has now, and their summed peak RSS in MB."""
    return {name: (len(process_tree(pid)), peak_rss_mb(pid)) for name, pid in pids.items()}


def report(setup: Profile, cold_s: float, ours: Ours, stock_sat: Mapping[int, Summary], memory: Memory,
           var_dir: Path) -> None:
    """Print the tables, the checks, the targets and, last, the headline line."""
    sat, levels = ours.sat, ours.levels
    print(f"\n[saturation] turns/s and latency, ours ({setup.name}, web front door) vs stock (REST channel); "
          "cores: CPU of the servers (ours: every process of the profile, with PostgreSQL and Redis in the scale "
          "profile; stock: rasa run, the action server and what it reads from)")
    print(f"  {'conc':>4} {'ours tps':>9} {'ours p50':>9} {'ours p99':>9} {'cores':>6} {'stock tps':>10} "
          f"{'stock p50':>10} {'stock p99':>10} {'cores':>6} {'ratio':>6}")
    for c in CONCURRENCIES:
        o, s = sat[c], stock_sat[c]
        print(f"  {c:>4} {o.tps:>9.1f} {o.p50_ms:>9.1f} {o.p99_ms:>9.1f} {o.servers_cpu_pct / 100:>6.2f} "
              f"{s.tps:>10.1f} {s.p50_ms:>10.1f} {s.p99_ms:>10.1f} {s.servers_cpu_pct / 100:>6.2f} "
              f"{o.tps / s.tps if s.tps else float('nan'):>6.2f}")
    top = CONCURRENCIES[-1]
    for label, s in (("ours ", sat[top]), ("stock", stock_sat[top])):
        print(f"  at c={top}, {label}: {s.cpu_row()}")

    print("\n[claims and handoffs] from the replies, checked against the shop database after the realistic phases")
    for lv in levels:
        print(f"  {lv.conversations:>4} conversations: {lv.tally.row()}")
    mismatches = ours.db_mismatches
    print(f"  database: {len(ours.stored['claims'])} claims, {len(ours.stored['tickets'])} tickets; "
          + ("every claim and ticket number the replies showed is there, and no other" if not mismatches
             else "MISMATCH: " + "; ".join(mismatches)))

    print("\n[summary] every phase")
    rows = [*(("realistic", str(lv.conversations), lv.summary) for lv in levels),
            *(("ours sat", f"c={c}", sat[c]) for c in CONCURRENCIES),
            *(("stock sat", f"c={c}", stock_sat[c]) for c in CONCURRENCIES)]
    print("\n".join(summary_table(rows)))

    print("\n[memory] peak RSS (VmHWM, each process + its children)")
    for name, (count, mb) in memory.peaks.items():
        print(f"  {name:<8} {mb:8.0f} MB  ({count} process{'es' if count > 1 else ''})")
    print(f"  {'total':<8} {memory.total_mb:8.0f} MB   (stock rasa run: {memory.stock_mb:.0f} MB)")
    for name, (count, mb) in memory.shared.items():
        print(f"  {name:<8} {mb:8.0f} MB  (shared server, not in the total: PSS at the end of the run, "
              f"{count} process{'es' if count != 1 else ''}{' serving its databases' if name == 'postgres' else ''})")
    errors = log_errors(var_dir)
    print("\n[logs] " + ("no error lines in " + str(var_dir) if not errors else "error lines in " + str(var_dir)))
    print("\n".join(errors))

    first = levels[0].summary
    ratio = sat[top].tps / stock_sat[top].tps if stock_sat[top].tps else float("nan")
    targets = [(f"p50 <= 40 ms (realistic, {levels[0].conversations})", first.p50_ms <= 40, f"{first.p50_ms:.1f} ms"),
               (f"p99 <= 150 ms (realistic, {levels[0].conversations})", first.p99_ms <= 150,
                f"{first.p99_ms:.1f} ms"),
               (f"saturation >= 1.5x stock at c={top}", ratio >= 1.5, f"{ratio:.2f}x"),
               ("cold start <= 30 s", cold_s <= 30, f"{cold_s:.1f} s")]
    if setup.name == "scale":
        cores = sat[top].servers_cpu_pct / 100
        targets.append((f"servers use both cores at c={top} (>= 1.5)", cores >= 1.5, f"{cores:.2f} cores"))
    noisy = [f"{phase} {level} ({s.other_cpu_pct:.0f}%)" for phase, level, s in rows if s.other_cpu_pct > NOISY_PCT]
    if noisy:
        print(f"\n[WARNING] other processes on the machine used CPU during: {', '.join(noisy)}; "
              "those figures are unreliable, rerun on an idle machine")
    print("\n[targets]")
    for name, met, value in targets:
        print(f"  {'met   ' if met else 'MISSED'} {name}: {value}")
    print()
    print(headline(setup.name, setup.shards, cold_s, levels, sat, stock_sat, memory.total_mb, not mismatches))


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=("embedded", "scale"), default="embedded",
                        help="embedded: SQLite, one process of each kind (make run); scale: PostgreSQL and Redis, "
                             "two of each (make scale)")
    parser.add_argument("--conversations", type=parse_levels,
                        help="realistic levels: concurrent conversations, comma-separated (default 50,200,500; "
                             "with --quick 10,30)")
    parser.add_argument("--think", type=parse_think, default=Think(4, 6),
                        help="think time before each message in the realistic phases: shortest,longest seconds "
                             "(uniform, seeded; default 4,6)")
    parser.add_argument("--shards", type=int, help="number of Rasa servers (default 1 embedded, 2 scale)")
    parser.add_argument("--quick", action="store_true", help="short phases (a smoke run, ~3 minutes)")
    parser.add_argument("--model", type=Path, help="model to serve (default: newest models/*.tar.gz)")
    parser.add_argument("--seed", type=int, default=7)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    plan = replace(Plan.of(args.quick), think=args.think)
    if args.conversations:
        plan = replace(plan, levels=args.conversations)
    model = args.model or latest_model(ROOT / "models")
    if model is None or not model.exists():
        raise SystemExit("no model: pass --model or run `rasa train` first")
    run(Profile.of(args.profile, args.shards), plan, model, args.seed)


def run(setup: Profile, plan: Plan, model: Path, seed: int) -> None:
    """Start the profile's stack, measure it and stock Rasa, stop everything, clean up, then report."""
    run_started = time.monotonic()
    var_dir = OUT / f"load-{setup.name}-s{setup.shards}-{datetime.now():%Y%m%d-%H%M%S}"
    stores = (SharedStores.from_env(os.environ).throwaway(f"bench{secrets.token_hex(4)}")
              if setup.name == "scale" else None)
    stack = setup.stack(var_dir, model, stores)
    stock: StockRasa | None = None
    print(f"model {model.name}; profile={setup.name}: {setup.shards} Rasa server(s), {setup.web_workers} web "
          f"process(es), {setup.action_workers} action-server worker(s); logs in {var_dir}; 2-core machine, "
          "the load client shares the cores with the servers", flush=True)
    if stores is not None:
        print(f"  throwaway stores: databases {make_url(stores.database_url).database} and "
              f"{make_url(stores.tracker_url).database}, Redis prefix {stores.prefix}", flush=True)
    try:
        started, started_at = time.monotonic(), datetime.now()
        with ReadyWatch(stack) as watch:
            stack.start(timeout_s=240)
        cold_s = time.monotonic() - started
        print(f"\n[cold start] {cold_s:.1f}s from start() until every process answers; "
              f"first answers: {watch.row()}", flush=True)
        for i in range(setup.shards):
            print(f"  {rasa_start_phases(var_dir / f'rasa{i}.log', started_at)}", flush=True)
        servers = SharedServers.find(stores) if stores is not None else SharedServers()
        if stores is not None:
            print(f"  shared servers metered as the profile's: {servers.row()}", flush=True)
        pids = {name: p.pid for name, p in stack.procs.items()}
        warm_up(stack)
        ours = asyncio.run(measure_ours(stack, plan, seed, {**pids, **servers.pids},
                                        Settings.from_env(stack.env()).database_url))
        peaks_mb, shared_mb = peaks(pids), servers.memory()

        stock = StockRasa(var_dir, model, stack.action_port)
        stock_cold_s = stock.start()
        print(f"\n[stock] rasa run ready in {stock_cold_s:.1f}s (our stack idle meanwhile)", flush=True)
        assert stock.proc is not None
        stock_sat = asyncio.run(measure_stock(  # our action server, and the shop database it reads
            stock, plan, seed, {"stock-rasa": stock.proc.pid, "actions": pids["actions"], **servers.pids}))
        memory = Memory(peaks_mb, shared_mb, peak_rss_mb(stock.proc.pid))
    finally:
        if stock is not None:
            stock.stop()
        stack.stop()
        if stores is not None:
            deleted = stores.drop()
            print(f"\n[cleanup] dropped the databases {make_url(stores.database_url).database} and "
                  f"{make_url(stores.tracker_url).database}; deleted {deleted} Redis keys under {stores.prefix}:",
                  flush=True)

    print(f"\n(measurements took {time.monotonic() - run_started:.0f}s)", flush=True)
    report(setup, cold_s, ours, stock_sat, memory, var_dir)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    # Ctrl-C and SIGTERM both stop the stack and drop the throwaway stores (run's finally); exit 130.
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        print("\n[interrupted] the stack is stopped and throwaway stores are dropped; no figures", flush=True)
        sys.exit(130)
