"""A corpus of bad input through every route of the web service, counted by status.

``python -m bench.bad_input [--url http://127.0.0.1:8080] [--seed 7] [--timeout 15]``

The routes come from ``create_app``'s router, so a new route is probed as soon as it
exists. Each route gets what fits its method:

- **bodies** (POST, PUT, DELETE): empty, huge (1 MiB, over the 64 KiB limit) and
  nearly the limit, random binary, malformed JSON, JSON of the wrong types (top level
  and in every field the handlers read), NaN, injection strings (SQL, HTML, template,
  JNDI, intent smuggling, path traversal, bidi and zero-width characters), JSON nested
  30,000 deep, invalid UTF-8, UTF-16, NUL bytes, an unknown charset, and form posts;
- **query strings** (GET): wrong types, huge, NUL, invalid percent-encoding;
- **path parameters** (every method): traversal (``..``, ``%2e%2e``, ``%2F``), NUL,
  invalid UTF-8, unicode, very long, SQL-looking;
- **a wrong method** (PATCH) on every path.

The client holds a shopper, an agent and an operator session, so probes reach the
handlers rather than stopping at 401; a sign-out probe is followed by a new sign-in
(waiting out a 429 if the stack limits sign-ins).
A good answer is a 4xx with ``{"error": {"message": {"zh", "en"}}}`` (on ``/api/``) or a
reply (2xx); a 5xx, a hang (no answer within ``--timeout``) or a dropped connection is a
failure.

Without ``--url`` the corpus runs against an in-process app (``create_app`` on a
fresh database, an empty tracker store and a copy of the project, an echo stand-in
for Rasa, ``true`` for the training commands, rate limits off). With ``--url`` it runs against a running
stack, signing in as C001, A01 and O01 (demo passwords); it skips POST
``/api/ops/train``, ``/api/ops/validate`` (they read no body and would run Rasa) and
``/api/ops/rollback`` (``{}`` asks for a real rollback). Start that stack with
``SHOP_SESSION_RATE=0 SHOP_SIGN_IN_RATE=0`` to probe past the rate limits; otherwise
429s are counted with the 4xx.

The last line is ``requests=… endpoints=… status_2xx=… status_4xx=… status_5xx=… hangs=…
errors=… unlocalised=… rate_limited=… max_ms=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.settings import PROJECT_ROOT, Settings
from bot.store.tracker import events
from bot.studio.registry import ModelFolder
from bot.web.app import create_app
from bot.web.keys import trainer_key
from bot.web.training import Commands, Trainer

METHODS = ("GET", "POST", "PUT", "DELETE")
#: Every field a handler reads from a JSON body (tests/web/test_security.py checks the handlers for new ones).
FIELDS = ("text", "payload", "customer_id", "language", "agent_id", "operator_id", "password", "online",
          "suggestion_id", "kind", "line_id", "skill", "note", "model", "reason", "path", "version", "previous",
          "intent", "turn", "name", "corrections", "message_id")
#: A harmless value for each path parameter, used when another part of the request is the probe.
SAFE_PARAMS = {"ticket_id": "TK-NO-SUCH-TICKET", "customer_id": "C001", "path": "data/nlu/zh/bad-input-probe.yml",
               "name": "utter_greet", "sender_id": "bad-input-probe", "model": "no-such-model.tar.gz",
               "image": "confusion-zh.png", "filename": "chat.js"}
#: The session routes: a DELETE signs out, so the runner signs in again.
SESSIONS = {"/api/session": "shopper", "/api/agent/session": "agent", "/api/ops/session": "operator"}
#: Routes not probed against a running stack, and why.
LIVE_SKIPS = {("POST", "/api/ops/train"): "reads no body; would train a model",
              ("POST", "/api/ops/validate"): "reads no body; would run rasa data validate",
              ("POST", "/api/ops/rollback"): "{} asks for a real rollback of the serving model"}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")

WRONG_TYPES: tuple[Any, ...] = (None, 0, -1, 1.5, True, [], {}, ["a"], {"a": 1}, "", "   ")
INJECTIONS = ("' OR '1'='1", "1; DROP TABLE orders; --", "C001' --", "%", "_", "<script>alert(1)</script>",
              "{{7*7}}${7*7}", "${jndi:ldap://127.0.0.1/a}", "/restart", '/greet{"customer_id": "C002"}',
              "../../../../etc/passwd", "\u202egnp.exe", "\u200b\u200b\u200b", "😀" * 50, "ＳＥＬＥＣＴ * ＦＲＯＭ",
              "\r\nX-Injected: 1", "a\\u0000b")
PATH_TRICKS = ("..", "%2e%2e", "..%2F..%2F..%2Fetc%2Fpasswd", "%00", "a%00b", "%ff%fe", "%zz", "a" * 3000,
               quote("😀 订单"), quote("C001' OR '1'='1"), quote("<script>"), "C002", "-1", quote(" "))
FILE_TRICKS = ("../../../etc/passwd", "data/../../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "/etc/passwd",
               "domain.yml%00.txt", "data/nlu/zh/..%2F..%2F..%2Fdomain.yml", "C:%5Cwindows%5Cwin.ini")
QUERIES = ("lang=%3Cscript%3E", "lang=" + "a" * 5000, "lang=%00", "lang=%ff", "limit=-1", "limit=abc",
           "limit=1e309", "limit=99999999999999999999", "since=2026-13-45", "until=%00", "since=" + "9" * 300,
           "low_confidence=nan", "low_confidence=-inf", "fallback=maybe", "language=%ff", "handoff=1&handoff=0",
           "%zz=1", "language=" + quote("😀"))


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the template, e.g. /api/agent/tickets/{ticket_id}

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.path)

    def url(self, **values: str) -> str:
        """The path with each parameter filled (values are already percent-encoded)."""
        return _PARAM.sub(lambda m: values.get(m.group(1), SAFE_PARAMS.get(m.group(1), "x")), self.path)


@dataclass(frozen=True)
class Probe:
    """One bad request: where it goes and what it carries."""

    route: Route
    name: str
    method: str
    path: str  # percent-encoded, with the query string
    body: bytes | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class Result:
    probe: Probe
    status: int | None  # None: no answer
    ms: float
    hang: bool = False
    error: str = ""
    localised: bool = True  # an /api/ 4xx carries zh and en messages


def routes_of(app: web.Application) -> list[Route]:
    """Every (method, path) the app serves; HEAD (the GET handler again) is left out."""
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or (info.get("prefix", "") + "/{filename}")
        if route.method in METHODS:
            found.add(Route(route.method, path))
    return sorted(found, key=lambda r: (r.path, r.method))


def bodies(rng: random.Random) -> list[tuple[str, bytes, str | None]]:
    """(name, body, content type) of every body probe."""
    def every_field(value: Any, but: str = "") -> bytes:
        return json.dumps({f: value for f in FIELDS if f != but}, ensure_ascii=False).encode("utf-8")

    out: list[tuple[str, bytes, str | None]] = [
        ("empty", b"", "application/json"),
        ("empty, no content type", b"", None),
        ("whitespace", b"  \n\t ", "application/json"),
        ("huge (1 MiB)", b'{"text": "' + b"a" * (1 << 20) + b'"}', "application/json"),
        ("near the size limit", every_field("啊" * 900), "application/json"),
        ("binary", rng.randbytes(4096), "application/json"),
        ("binary, octet-stream", rng.randbytes(4096), "application/octet-stream"),
        ("truncated JSON", b'{"text": "hi', "application/json"),
        ("single quotes", b"{'text': 'hi'}", "application/json"),
        ("trailing garbage", b'{"text": "hi"} garbage', "application/json"),
        ("NaN and Infinity", b'{"text": NaN, "turn": Infinity, "online": -Infinity}', "application/json"),
        ("duplicate keys", b'{"text": "a", "text": 1}', "application/json"),
        ("nested 30000 deep", b"[" * 30000 + b"]" * 30000, "application/json"),
        ("object nested 5000 deep", b'{"text": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001, "application/json"),
        ("invalid UTF-8", b'{"text": "\xff\xfe\xfd", "customer_id": "\xc3\x28"}', "application/json"),
        ("UTF-16", json.dumps({"text": "你好"}).encode("utf-16"), "application/json"),
        ("raw NUL", b'{"text": "a\x00b"}', "application/json"),
        ("escaped NUL", every_field("a\u0000b"), "application/json"),
        ("unknown charset", b'{"text": "hi"}', "application/json; charset=x-no-such-charset"),
        ("latin-1 charset", every_field("你好"), "application/json; charset=latin-1"),
        ("form: text/plain", b"text=hi&customer_id=C001", "text/plain"),
        ("form: urlencoded", b"text=hi&customer_id=C001", "application/x-www-form-urlencoded"),
        ("form: multipart", b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--b--\r\n',
         "multipart/form-data; boundary=b"),
    ]
    out += [(f"top level {json.dumps(v)}", json.dumps(v).encode(), "application/json")
            for v in ([], "text", 7, None, True, [{"text": "hi"}])]
    out += [(f"every field {json.dumps(v)}", every_field(v), "application/json") for v in WRONG_TYPES]
    # A payload that is not a button's is refused first, so the strings also go without one (to Rasa).
    out += [(f"every field but payload {s[:24]!r}", every_field(s, but="payload"), "application/json")
            for s in INJECTIONS]
    out += [(f"payload {s[:24]!r}", json.dumps({"payload": s}).encode(), "application/json") for s in INJECTIONS]
    return out


def probes(routes: Iterable[Route], rng: random.Random) -> list[Probe]:
    """The whole corpus for ``routes``: bodies, queries, path parameters and a wrong method."""
    corpus = bodies(rng)
    out: list[Probe] = []
    paths = set()
    for route in routes:
        plain = route.url()
        paths.add(plain)
        if route.method == "GET":
            out.append(Probe(route, "plain", "GET", plain))
            out += [Probe(route, f"query {q[:30]}", "GET", f"{plain}?{q}") for q in QUERIES]
        else:
            out += [Probe(route, name, route.method, plain, body, ctype) for name, body, ctype in corpus]
        for param in route.params:
            tricks = FILE_TRICKS + PATH_TRICKS if param in ("path", "filename") else PATH_TRICKS
            out += [Probe(route, f"{{{param}}}={t[:30]}", route.method, route.url(**{param: t}),
                          b"{}" if route.method != "GET" else None, "application/json" if route.method != "GET"
                          else None) for t in tricks]
    out += [Probe(Route("PATCH", p), "wrong method", "PATCH", p, b"{}", "application/json") for p in sorted(paths)]
    return out


# -- running ---------------------------------------------------------------------------


@dataclass
class Credentials:
    customer_id: str = "C001"
    agent: tuple[str, str] = ("A01", "demo")
    operator: tuple[str, str] = ("O01", "demo")


async def sign_in(session: aiohttp.ClientSession, base: str, area: str, who: Credentials) -> None:
    path, body = {
        "shopper": ("/api/session", {"customer_id": who.customer_id}),
        "agent": ("/api/agent/session", {"agent_id": who.agent[0], "password": who.agent[1]}),
        "operator": ("/api/ops/session", {"operator_id": who.operator[0], "password": who.operator[1]}),
    }[area]
    for _ in range(30):
        async with session.post(base + path, json=body) as resp:
            if resp.status == 200:
                return
            if resp.status != 429:
                raise SystemExit(f"cannot sign in as the {area} ({resp.status}): {await resp.text()}")
            await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))  # a stack with rate limits on
    raise SystemExit(f"cannot sign in as the {area}: still rate limited")


async def send(session: aiohttp.ClientSession, base: str, probe: Probe, timeout_s: float) -> Result:
    headers = {"Content-Type": probe.content_type} if probe.content_type else {}
    skip = () if probe.content_type else ("Content-Type",)
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            async with session.request(probe.method, URL(base + probe.path, encoded=True), data=probe.body,
                                       headers=headers, skip_auto_headers=skip) as resp:
                raw = await resp.read()
    except TimeoutError:
        return Result(probe, None, (time.monotonic() - started) * 1000, hang=True)
    except aiohttp.ClientError as exc:
        return Result(probe, None, (time.monotonic() - started) * 1000, error=type(exc).__name__)
    ms = (time.monotonic() - started) * 1000
    return Result(probe, resp.status, ms, localised=_localised(probe, resp.status, raw))


def _localised(probe: Probe, status: int, raw: bytes) -> bool:
    if not (400 <= status < 500 and probe.path.startswith("/api/")):
        return True
    try:
        message = json.loads(raw)["error"]["message"]
        return bool(message["zh"]) and bool(message["en"])
    except (ValueError, KeyError, TypeError):
        return False


async def run(base: str, corpus: Sequence[Probe], timeout_s: float, who: Credentials | None = None) -> list[Result]:
    """Send every probe in turn from one client holding a shopper, an agent and an operator session."""
    who = who or Credentials()
    results = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        for area in ("shopper", "agent", "operator"):
            await sign_in(session, base, area, who)
        for probe in corpus:
            results.append(await send(session, base, probe, timeout_s))
            if probe.method == "DELETE" and probe.route.path in SESSIONS:
                await sign_in(session, base, SESSIONS[probe.route.path], who)
    return results


# -- figures ---------------------------------------------------------------------------


def status_class(result: Result) -> str:
    if result.hang:
        return "hang"
    if result.status is None:
        return "error"
    return f"{result.status // 100}xx"


def table(results: Sequence[Result]) -> list[str]:
    """One line per endpoint: how many probes and the count of each status."""
    by_route: dict[Route, Counter[str]] = defaultdict(Counter)
    for r in results:
        by_route[r.probe.route][status_class(r) if r.status is None else str(r.status)] += 1
    width = max((len(f"{k.method} {k.path}") for k in by_route), default=0)
    return [f"{route.method + ' ' + route.path:<{width}}  n={sum(c.values()):3d}  "
            + " ".join(f"{k}={v}" for k, v in sorted(c.items()))
            for route, c in sorted(by_route.items(), key=lambda kv: (kv[0].path, kv[0].method))]


def headline(results: Sequence[Result]) -> str:
    classes = Counter(status_class(r) for r in results)
    figures = {
        "requests": len(results),
        "endpoints": len({r.probe.route for r in results}),
        **{f"status_{c}": classes.get(c, 0) for c in ("2xx", "3xx", "4xx", "5xx")},
        "hangs": classes.get("hang", 0),
        "errors": classes.get("error", 0),
        "unlocalised": sum(not r.localised for r in results),
        "rate_limited": sum(r.status == 429 for r in results),
        "max_ms": round(max((r.ms for r in results), default=0.0)),
    }
    return " ".join(f"{k}={v}" for k, v in figures.items())


def failures(results: Sequence[Result]) -> list[str]:
    """The probes that got a 5xx, no answer, or an unlocalised 4xx."""
    return [f"{status_class(r)} {r.status} {r.probe.method} {r.probe.path[:80]} ({r.probe.name}) {r.error}"
            for r in results if r.hang or r.status is None or r.status >= 500 or not r.localised]


# -- the in-process app ----------------------------------------------------------------


def echo_rasa() -> web.Application:
    """Just enough of Rasa's HTTP API for the web service: every turn is answered ``echo:<message>``."""
    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response([{"recipient_id": body["sender"], "text": f"echo:{body['message']}"}])

    async def parse(request: web.Request) -> web.Response:
        return web.json_response({"intent": {"name": "order_status", "confidence": 0.9}})

    async def empty(request: web.Request) -> web.Response:
        return web.json_response({"messages": []} if request.path.endswith("/execute") else {})

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"model_file": "models/base.tar.gz"})

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_post("/model/parse", parse)
    app.router.add_post("/conversations/{sender}/tracker/events", empty)
    app.router.add_post("/conversations/{sender}/execute", empty)
    app.router.add_get("/status", status)
    app.router.add_put("/model", empty)
    return app


def copy_project(dest: Path) -> Path:
    """The Rasa project files the operator console reads and writes, copied into ``dest``."""
    for name in ("domain.yml", "config.yml"):
        shutil.copy2(PROJECT_ROOT / name, dest / name)
    shutil.copytree(PROJECT_ROOT / "data", dest / "data")
    shutil.copytree(PROJECT_ROOT / "tests" / "stories", dest / "tests" / "stories")
    (dest / "models").mkdir()
    return dest


def no_op_commands() -> Commands:
    """Training commands that do nothing (``true``), so the corpus never runs Rasa."""
    return Commands(rasa=shutil.which("true") or "/bin/true")


@contextlib.asynccontextmanager
async def in_process(tmp: Path) -> AsyncIterator[tuple[str, web.Application]]:
    """The web service on a fresh database and a copy of the project, with an echo Rasa; yields its URL."""
    rasa = TestServer(echo_rasa())
    await rasa.start_server()
    project = tmp / "project"
    project.mkdir()
    copy_project(project)
    settings = Settings(var_dir=tmp / "var", project_root=project, models_dir=project / "models",
                        rasa_urls=(str(rasa.make_url("")).rstrip("/"),), rasa_token="bench",
                        session_rate=0, sign_in_rate=0)
    settings.var_dir.mkdir()
    tracker = sa.create_engine(settings.tracker_url)
    events.metadata.create_all(tracker)  # Rasa's tracker store, empty
    tracker.dispose()
    app = create_app(settings)
    app[trainer_key] = Trainer(project, ModelFolder(project / "models"), settings.var_dir,
                               lambda: datetime.now(UTC), settings.publish_margin, no_op_commands())
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), app
    finally:
        await server.close()
        await rasa.close()


async def _main(args: argparse.Namespace) -> list[Result]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bad-input-") as tmp:
        if args.url:
            async with in_process(Path(tmp)) as (_, app):  # only for its router
                routes = [r for r in routes_of(app) if (r.method, r.path) not in LIVE_SKIPS]
            for (method, path), why in LIVE_SKIPS.items():
                print(f"skipped {method} {path}: {why}")
            return await run(args.url.rstrip("/"), probes(routes, rng), args.timeout)
        async with in_process(Path(tmp)) as (base, app):
            return await run(base, probes(routes_of(app), rng), args.timeout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send a bad-input corpus through every route.")
    parser.add_argument("--url", help="a running web service (default: an in-process one)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds before a request counts as a hang")
    args = parser.parse_args(argv)
    results = asyncio.run(_main(args))
    print("\n".join(table(results)))
    for line in failures(results):
        print("FAILED", line)
    print(headline(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
