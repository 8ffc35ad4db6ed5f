"""Turn latency, throughput and memory of the whole assistant, and the same against stock Rasa.

``python -m bench.load [--shards 1|2] [--quick] [--model PATH] [--seed N]``

Starts the real stack (``scripts.stack.Stack``: Rasa server(s), action server,
web service) on free ports with a fresh ``var_dir`` under ``bench/out/`` and
measures, in this order:

1. **cold start**: seconds from ``Stack.start()`` until every process answers;
2. **realistic load**: 50 concurrent conversations through the web front door
   (``POST /api/session`` then ``POST /api/messages``, one cookie jar each),
   customers C001–C010, zh, en and mixed messages about orders, tracking,
   delivery time, price protection, returns, refunds and greetings; each
   conversation sends its next message 4–6 s (seeded) after the previous reply;
3. **turn profile**: at concurrency 1, the same message through the web, straight
   to Rasa's REST channel, to ``/model/parse`` (NLU only), the tracker fetch
   (tracker store) and the action server (each custom action of the turn);
4. **saturation**: closed loop, no think time, at concurrency 1, 10 and 50;
5. **stock**: the same saturation against one stock ``rasa run`` (same model,
   same action server, its own SQLite tracker store), posting
   ``{"sender", "message", "metadata"}`` to ``/webhooks/rest/webhook``;
   the metadata carries the customer as our front door does, so the actions do
   the same work;
6. **memory**: peak RSS (``VmHWM``) of every process and its children.

CPU seconds per process are sampled around each phase to show which process
is the bottleneck. Conversations in closed loops start afresh every 20 turns,
so trackers stay the size of a real conversation.

The last line printed is the headline:
``cold_start_s=… p50_ms=… p95_ms=… p99_ms=… sat_tps_50=… stock_tps_50=… ratio_50=… peak_mb=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import jsonschema
import numpy as np

from bench.machine import NOISY_PCT, CpuMeter, peak_rss_mb
from bot.store.seed import CUSTOMERS
from scripts.stack import RASA, ROOT, Stack, free_port, latest_model

OUT = ROOT / "bench" / "out"
CONCURRENCIES = (1, 10, 50)
TURNS_PER_CONVERSATION = 20  # closed loops start a new conversation after this many turns
LANGUAGE_OF = {c.customer_id: c.language for c in CUSTOMERS}

#: What shoppers type, by language. No handoff, cancel, address or invoice requests:
#: those start forms or pause the bot and would make later turns unlike real ones.
MESSAGES: dict[str, tuple[str, ...]] = {
    "zh": ("你好", "在吗", "我的订单到哪了", "帮我查下订单状态", "快递单号是多少", "帮我查一下物流",
           "什么时候能送到", "大概还要几天到货", "刚买就降价了，能补差价吗", "价格保护怎么申请",
           "我想退货", "这个还能退吗", "退款什么时候到账", "谢谢"),
    "en": ("hi", "hello there", "where is my order", "what's the status of my order",
           "can I get the tracking number", "track my parcel please", "when will it arrive",
           "how long until delivery", "the price dropped, can I get the difference?",
           "do you offer price protection", "I want to return an item", "how do I return this",
           "where is my refund", "thanks"),
    "mixed": ("hi 你好", "我的iPhone 15订单什么时候到?", "my 订单 status pls", "tracking number 是多少",
              "price drop 了，能退差价吗", "return 怎么申请", "快递 when will it arrive", "退款 refund 到了吗"),
}


# --- the functional core: turns in, figures out --------------------------------------------

@dataclass(frozen=True)
class Turn:
    """One shopper message and its reply, as the client saw it."""

    start: float  # time.monotonic() when the request was sent
    latency_s: float
    error: str | None = None

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
    other_cpu_pct: float = 0.0  # CPU used by processes outside the benchmark meanwhile (100 = one core)

    def row(self) -> str:
        return (f"turns={self.turns:5d} errors={self.errors:4d} tps={self.tps:6.1f} "
                f"p50={self.p50_ms:7.1f}ms p95={self.p95_ms:7.1f}ms p99={self.p99_ms:7.1f}ms")


def summarise(turns: Sequence[Turn], window_start: float, window_end: float) -> Summary:
    """Figures for the turns that ended in ``[window_start, window_end]``.

    Throughput counts successful turns only; percentiles are over successful turns.

    Example: 40 ok turns ending inside a 20 s window → ``tps == 2.0``.
    """
    inside = [t for t in turns if window_start <= t.end <= window_end]
    ok = [t.latency_s * 1000 for t in inside if t.error is None]
    failed = Counter(t.error for t in inside if t.error is not None)
    p50, p95, p99 = (float(np.percentile(ok, q)) if ok else float("nan") for q in (50, 95, 99))
    return Summary(turns=len(ok), errors=sum(failed.values()), tps=len(ok) / (window_end - window_start),
                   p50_ms=p50, p95_ms=p95, p99_ms=p99,
                   error_kinds=tuple((str(k), v) for k, v in failed.most_common(5)))


def pick_language(customer_id: str, rng: random.Random) -> str:
    """A message language: the customer's own three times in four, otherwise mixed zh/en."""
    return "mixed" if rng.random() < 0.25 else LANGUAGE_OF[customer_id]


def customer_for(i: int) -> str:
    return CUSTOMERS[i % len(CUSTOMERS)].customer_id


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
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "SANIC_WORKERS": "1", "PYTHONPATH": str(ROOT)}
        log = (self.var_dir / "stock-rasa.log").open("ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [RASA, "run", "-i", "127.0.0.1", "-p", str(self.port), "-m", str(self.model),
             "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml")],
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


# --- clients: one conversation each ---------------------------------------------------------

class Conversation(Protocol):
    async def say(self, text: str) -> Turn: ...
    async def close(self) -> None: ...


async def timed(post: Callable[[], Awaitable[tuple[int, str]]]) -> Turn:
    """Run one request and turn its outcome into a ``Turn`` (never raises)."""
    start = time.monotonic()
    try:
        status, body = await post()
        error = None if status == 200 else f"HTTP {status}: {body[:160]}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:200]
    return Turn(start, time.monotonic() - start, error)


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
        return await timed(lambda: self._post("/api/chat/open", {}))

    async def say(self, text: str) -> Turn:
        return await timed(lambda: self._post("/api/messages", {"text": text}))

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
        return await timed(lambda: self._post(text))

    async def close(self) -> None:
        return None


# --- phases -----------------------------------------------------------------------------------

async def realistic(base: str, conversations: int, duration_s: float, seed: int) -> tuple[Summary, float]:
    """Many shoppers with think time; returns the summary and the warm-up seconds."""
    connector = aiohttp.TCPConnector(limit=0)
    warm_started = time.monotonic()
    gate = asyncio.Semaphore(10)

    async def arrive(i: int) -> WebShopper:
        async with gate:
            me = await WebShopper.signed_in(base, customer_for(i), connector)
            opened = await me.open()  # the chat page's greeting turn, not measured
            if opened.error:
                print(f"  warm-up open failed: {opened.error}", flush=True)
            return me

    shoppers = await asyncio.gather(*(arrive(i) for i in range(conversations)))
    warm_s = time.monotonic() - warm_started
    turns: list[Turn] = []
    t0 = time.monotonic()
    deadline = t0 + duration_s

    async def chat(i: int, me: WebShopper) -> None:
        rng = random.Random(seed * 1000 + i)
        await asyncio.sleep(rng.uniform(0, 5))  # shoppers do not all type at once
        while time.monotonic() < deadline:
            text = rng.choice(MESSAGES[pick_language(me.customer_id, rng)])
            turns.append(await me.say(text))
            await asyncio.sleep(rng.uniform(4, 6))

    try:
        await asyncio.gather(*(chat(i, me) for i, me in enumerate(shoppers)))
    finally:
        for me in shoppers:
            await me.close()
        await connector.close()
    return summarise(turns, t0, deadline), warm_s


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
        results[c] = replace(summary, other_cpu_pct=cpu.percent[CpuMeter.OTHER])
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
    profile_turns: int

    @classmethod
    def of(cls, quick: bool) -> Plan:
        return cls(20, 1, 6, 9) if quick else cls(60, 2, 20, 30)


async def measure_ours(stack: Stack, plan: Plan, seed: int, pids: dict[str, int]) -> dict[str, Any]:
    print(f"\n[realistic] 50 conversations, next message 4-6 s after each reply, {plan.realistic_s:.0f} s",
          flush=True)
    with CpuMeter(pids) as cpu:
        real, warm_s = await realistic(stack.url, 50, plan.realistic_s, seed)
    real = replace(real, other_cpu_pct=cpu.percent[CpuMeter.OTHER])
    print(f"  warm-up (50 sign-ins + chat openings): {warm_s:.1f}s", flush=True)
    print(f"  ours  {real.row()}  | {cpu.row()}", flush=True)
    for kind, n in real.error_kinds:
        print(f"        {n} x {kind}", flush=True)

    print(f"\n[profile] one request at a time, {plan.profile_turns} turns, medians", flush=True)
    breakdown = await profile(stack, plan.profile_turns)
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
    return {"realistic": real, "breakdown": breakdown, "sat": sat}


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


def report(cold_s: float, ours: dict[str, Any], stock_sat: dict[int, Summary], peaks: dict[str, float],
           stock_peak: float, var_dir: Path, shards: int) -> None:
    """Print the tables, the log findings, the targets and, last, the headline line."""
    sat = ours["sat"]
    real: Summary = ours["realistic"]
    print("\n[saturation] turns/s and latency, ours (web front door) vs stock (REST channel)")
    print(f"  {'conc':>4} {'ours tps':>9} {'ours p50':>9} {'ours p99':>9} {'stock tps':>10} {'stock p50':>10} "
          f"{'stock p99':>10} {'ratio':>6}")
    for c in CONCURRENCIES:
        o, s = sat[c], stock_sat[c]
        print(f"  {c:>4} {o.tps:>9.1f} {o.p50_ms:>9.1f} {o.p99_ms:>9.1f} {s.tps:>10.1f} {s.p50_ms:>10.1f} "
              f"{s.p99_ms:>10.1f} {o.tps / s.tps if s.tps else float('nan'):>6.2f}")
    print("\n[memory] peak RSS (VmHWM, process + children)")
    for name, mb in peaks.items():
        print(f"  {name:<8} {mb:8.0f} MB")
    print(f"  {'total':<8} {sum(peaks.values()):8.0f} MB   (stock rasa run: {stock_peak:.0f} MB)")
    errors = log_errors(var_dir)
    print("\n[logs] " + ("no error lines in " + str(var_dir) if not errors else "error lines in " + str(var_dir)))
    print("\n".join(errors))
    targets = [("p50 <= 40 ms (realistic)", real.p50_ms <= 40, f"{real.p50_ms:.1f} ms"),
               ("p99 <= 150 ms (realistic)", real.p99_ms <= 150, f"{real.p99_ms:.1f} ms"),
               ("saturation >= 1.5x stock at c=50", sat[50].tps >= 1.5 * stock_sat[50].tps,
                f"{sat[50].tps / stock_sat[50].tps if stock_sat[50].tps else float('nan'):.2f}x"),
               ("cold start <= 30 s", cold_s <= 30, f"{cold_s:.1f} s")]
    phases = [("realistic", real), *((f"ours c={c}", sat[c]) for c in CONCURRENCIES),
              *((f"stock c={c}", stock_sat[c]) for c in CONCURRENCIES)]
    noisy = [f"{name} ({summary.other_cpu_pct:.0f}%)" for name, summary in phases if summary.other_cpu_pct > NOISY_PCT]
    if noisy:
        print(f"\n[WARNING] other processes on the machine used CPU during: {', '.join(noisy)}; "
              "those figures are unreliable, rerun on an idle machine")
    print("\n[targets]")
    for name, met, value in targets:
        print(f"  {'met   ' if met else 'MISSED'} {name}: {value}")
    ratio = sat[50].tps / stock_sat[50].tps if stock_sat[50].tps else float("nan")
    print()
    print(f"cold_start_s={cold_s:.1f} p50_ms={real.p50_ms:.1f} p95_ms={real.p95_ms:.1f} p99_ms={real.p99_ms:.1f} "
          f"sat_tps_50={sat[50].tps:.1f} stock_tps_50={stock_sat[50].tps:.1f} ratio_50={ratio:.2f} "
          f"peak_mb={sum(peaks.values()):.0f} shards={shards} errors={real.errors + sat[50].errors}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=int, choices=(1, 2), default=1, help="number of Rasa servers")
    parser.add_argument("--quick", action="store_true", help="short phases (a smoke run, ~2 minutes)")
    parser.add_argument("--model", type=Path, help="model to serve (default: newest models/*.tar.gz)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    plan = Plan.of(args.quick)
    model = args.model or latest_model(ROOT / "models")
    if model is None or not model.exists():
        raise SystemExit("no model: pass --model or run `rasa train` first")
    run_started = time.monotonic()
    var_dir = OUT / f"load-s{args.shards}-{datetime.now():%Y%m%d-%H%M%S}"
    stack = Stack(var_dir=var_dir, model=model, web_port=free_port(),
                  rasa_ports=tuple(free_port() for _ in range(args.shards)), action_port=free_port(),
                  quiet=True, extra_env={"SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                                         # closed loops of one session and 50 sign-ins at once are the
                                         # point here, not abuse: rate limits off (stock has none either)
                                         "SHOP_SESSION_RATE": "0", "SHOP_SIGN_IN_RATE": "0"})
    stock: StockRasa | None = None
    print(f"model {model.name}; shards={args.shards}; logs in {var_dir}; 2-core machine, the load client "
          "shares the cores with the servers", flush=True)
    try:
        started, started_at = time.monotonic(), datetime.now()
        with ReadyWatch(stack) as watch:
            stack.start(timeout_s=240)
        cold_s = time.monotonic() - started
        print(f"\n[cold start] {cold_s:.1f}s from start() until web, action server and "
              f"{args.shards} Rasa server(s) answer; first answers: {watch.row()}", flush=True)
        for i in range(args.shards):
            print(f"  {rasa_start_phases(var_dir / f'rasa{i}.log', started_at)}", flush=True)
        pids = {name: p.pid for name, p in stack.procs.items()}
        warm_up(stack)
        ours = asyncio.run(measure_ours(stack, plan, args.seed, pids))
        peaks = {name: peak_rss_mb(pid) for name, pid in pids.items()}

        stock = StockRasa(var_dir, model, stack.action_port)
        stock_cold_s = stock.start()
        print(f"\n[stock] rasa run ready in {stock_cold_s:.1f}s (our stack idle meanwhile)", flush=True)
        assert stock.proc is not None
        stock_sat = asyncio.run(measure_stock(
            stock, plan, args.seed, {"stock-rasa": stock.proc.pid, "actions": pids["actions"]}))
        stock_peak = peak_rss_mb(stock.proc.pid)
    finally:
        if stock is not None:
            stock.stop()
        stack.stop()

    print(f"\n(measurements took {time.monotonic() - run_started:.0f}s)", flush=True)
    report(cold_s, ours, stock_sat, peaks, stock_peak, var_dir, args.shards)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main(sys.argv[1:])
