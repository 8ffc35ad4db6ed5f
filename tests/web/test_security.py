"""Security of the web service, read from its router so that a route added later is covered at once.

- **Authentication**: shopper, agent and operator areas are separate and every API needs a session of its
  own area, except the public routes listed (with a reason each) in ``PUBLIC``.
- **Isolation**: fuzzed order and customer ids never bring another customer's data back, through the
  shopper's chat (the real actions run behind a stand-in Rasa), the agents' hints or the copilot.
- **Web hardening**: cross-site form posts are refused before any effect, websockets check Origin,
  and every session is rate limited (the clock is injected: no sleeps).
- **Personal data**: operators see conversations masked; training data gets sample values.
- **Bad input**: ``bench.bad_input``'s corpus through every route gets a 4xx or a reply, never a 5xx or a hang.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import WSServerHandshakeError, web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.aftersales import ActionRefundStatus
from actions.greeting import ActionGreet
from actions.inform import PENDING
from actions.language import ValidateSlotMappings
from actions.orders import ActionCancelOrder, ActionChangeAddress, ActionRequestInvoice
from actions.services import Services
from bench import bad_input
from bot.language import normalise
from bot.routing import open_ticket
from bot.settings import Settings
from bot.store.seed import Demo
from bot.store.tracker import events
from bot.studio.registry import ModelFolder
from bot.web import agent, chat, operator
from bot.web.app import create_app
from bot.web.keys import STATIC, aftersales_key, handoff_key, shop_key, trainer_key
from bot.web.rasa_client import RasaClient
from bot.web.training import Trainer
from tests.conftest import NOW, copy_project
from tests.web.conftest import FakeRasa

#: Routes anyone may call, and why. Every other route is an API of one area and needs its session.
PUBLIC = {
    ("GET", "/"): "the shopper's page; it signs in through the API",
    ("GET", "/agent"): "the agent console's page; it signs in through the API",
    ("GET", "/ops"): "the operator console's page; it signs in through the API",
    ("GET", "/static/{filename}"): "scripts, styles and the translation table of the pages",
    ("GET", "/api/customers"): "the demo sign-in picker: ids, names and languages of the demo customers, "
                               "no phone, address or order",
    ("POST", "/api/session"): "shopper sign-in: creates the session",
    ("POST", "/api/agent/session"): "agent sign-in: creates the session",
    ("POST", "/api/ops/session"): "operator sign-in: creates the session",
    ("DELETE", "/api/session"): "sign-out: without a session there is nothing to end (204)",
    ("DELETE", "/api/agent/session"): "sign-out: without a session there is nothing to end (204)",
    ("DELETE", "/api/ops/session"): "sign-out: without a session there is nothing to end (204)",
}
#: The area of an API, by path prefix (first match).
AREAS = (("/api/agent/", "agent"), ("/api/ops/", "operator"), ("/api/", "shopper"))
COOKIES = {"shopper": chat.COOKIE, "agent": agent.COOKIE, "operator": operator.COOKIE}
SIGN_IN = {"shopper": ("/api/session", {"customer_id": "C001"}),
           "agent": ("/api/agent/session", {"agent_id": "A01", "password": "demo"}),
           "operator": ("/api/ops/session", {"operator_id": "O01", "password": "demo"})}
TICKET = "TK-SEC-1"
#: Real values for path parameters, so a right session reaches the handler (not a 404 of the router).
PARAMS = {"ticket_id": TICKET, "customer_id": "C002", "path": "domain.yml", "name": "utter_greet",
          "sender_id": "web-C001-sec", "model": "no-such-model.tar.gz", "image": "confusion-zh.png",
          "filename": "chat.js"}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def registered(app: web.Application) -> list[tuple[str, str]]:
    """Every (method, path template) of the app's router, HEAD included."""
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        found.add((route.method, info.get("path") or info.get("formatter") or info["prefix"] + "/{filename}"))
    return sorted(found)


def area_of(path: str) -> str | None:
    return next((area for prefix, area in AREAS if path.startswith(prefix)), None)


def protected(app: web.Application) -> list[tuple[str, str]]:
    """The APIs that need a session: every /api/ route that is not public (HEAD is GET's handler)."""
    return [(m, p) for m, p in registered(app) if p.startswith("/api/") and (m, p) not in PUBLIC
            and (m if m != "HEAD" else "GET", p) not in PUBLIC]


def url(path: str, **values: str) -> str:
    return _PARAM.sub(lambda m: values.get(m.group(1), PARAMS[m.group(1)]), path)


class Ticks:
    """The monotonic clock of the rate limits, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def build(settings: Settings, *, ticks: Callable[[], float] | None = None, rasa: RasaClient | None = None
          ) -> web.Application:
    """The app with a training that runs nothing (``true``), a queued ticket and an empty tracker store."""
    tracker = sa.create_engine(settings.tracker_url)
    events.metadata.create_all(tracker)
    tracker.dispose()
    app = create_app(settings, clock=lambda: NOW, rasa=rasa, **({"ticks": ticks} if ticks else {}))
    app[trainer_key] = Trainer(settings.project_root, ModelFolder(settings.models_dir), settings.var_dir,
                               lambda: NOW, settings.publish_margin, bad_input.no_op_commands())
    app[handoff_key].add(open_ticket(TICKET, "web-C002-sec", "C002", "en", "ask_human", NOW, topic="orders"),
                         actor="bot")
    return app


@pytest.fixture
def secure_settings(web_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the project (the operator routes write it), rate limits off unless a test sets them."""
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
    return web_settings.with_(project_root=project, models_dir=project / "models", session_rate=0, sign_in_rate=0)


@pytest.fixture
async def server(aiohttp_client: Any, secure_settings: Settings) -> Any:
    """A client with no session; ``signed_in`` makes more clients on the same server."""
    return await aiohttp_client(build(secure_settings))


async def signed_in(aiohttp_client: Any, client: Any, *areas: str) -> Any:
    """A new client of the same server holding a session of each of ``areas``."""
    other = await aiohttp_client(client.server)
    for area in areas:
        path, body = SIGN_IN[area]
        resp = await other.post(path, json=body)
        assert resp.status == 200, await resp.text()
    return other


async def error_code(resp: Any) -> str:
    body = await resp.json()
    assert body["error"]["message"]["zh"] and body["error"]["message"]["en"]
    return str(body["error"]["code"])


# -- authentication ---------------------------------------------------------------------------------------------


class TestAuthentication:
    """Every API needs a session of its own area; the public routes are listed with a reason."""

    async def test_every_route_is_public_with_a_reason_or_an_api_of_one_area(self, server: Any) -> None:
        routes = registered(server.server.app)
        for method, path in routes:
            public = (method if method != "HEAD" else "GET", path) in PUBLIC
            assert public or area_of(path), f"{method} {path} is neither public (with a reason) nor an API"
        assert set(PUBLIC) <= set(routes), f"public routes that no longer exist: {set(PUBLIC) - set(routes)}"
        assert all(reason for reason in PUBLIC.values())

    async def test_without_a_session_every_api_answers_401(self, server: Any) -> None:
        for method, path in protected(server.server.app):
            resp = await server.request(method, url(path), json={})
            assert resp.status == 401, f"{method} {path}: {resp.status}"
            if method != "HEAD":
                assert await error_code(resp) == "no_session"

    async def test_wrong_methods_answer_405_with_or_without_a_session(self, server: Any, aiohttp_client: Any) -> None:
        routes = registered(server.server.app)
        everyone = await signed_in(aiohttp_client, server, "shopper", "agent", "operator")
        for path in sorted({p for _, p in routes if p.startswith("/api/")}):
            allowed = {m for m, p in routes if p == path}
            for method in sorted({"GET", "POST", "PUT", "DELETE", "PATCH"} - allowed):
                for client in (server, everyone):
                    resp = await client.request(method, url(path), json={})
                    assert resp.status == 405, f"{method} {path}: {resp.status}"
                    assert await error_code(resp) == "method_not_allowed"

    @pytest.mark.parametrize("area", ["shopper", "agent", "operator"])
    async def test_a_session_opens_its_own_area_and_no_other(self, server: Any, aiohttp_client: Any,
                                                             area: str) -> None:
        client = await signed_in(aiohttp_client, server, area)
        routes = protected(server.server.app)
        for method, path in routes:
            if area_of(path) != area:
                resp = await client.request(method, url(path), json={})
                assert resp.status == 401, f"a {area} session opened {method} {path}"
        for method, path in routes:
            if area_of(path) == area:
                resp = await client.request(method, url(path), json={})
                assert resp.status != 401, f"a {area} session did not open {method} {path}"

    async def test_a_token_of_one_area_is_no_cookie_of_another(self, server: Any, aiohttp_client: Any) -> None:
        tokens = {}
        for area, name in COOKIES.items():
            client = await signed_in(aiohttp_client, server, area)
            tokens[area] = next(c.value for c in client.session.cookie_jar if c.key == name)
        for area, token in tokens.items():
            for other, cookie in COOKIES.items():
                if other == area:
                    continue
                probe = await aiohttp_client(server.server)
                probe.session.cookie_jar.update_cookies({cookie: token})
                for method, path in protected(server.server.app):
                    if area_of(path) == other and method == "GET":
                        assert (await probe.get(url(path))).status == 401, f"{area} token as {other}: {path}"

    @pytest.mark.parametrize("forged", ["", "x", "' OR '1'='1", "C001", "a" * 65, "a" * 2000, "%00", "null"],
                             ids=["empty", "x", "sql", "customer-id", "65", "2000", "nul", "null"])
    async def test_a_forged_cookie_opens_nothing(self, server: Any, aiohttp_client: Any, forged: str) -> None:
        probe = await aiohttp_client(server.server)
        probe.session.cookie_jar.update_cookies({name: forged for name in COOKIES.values()})
        for method, path in protected(server.server.app):
            if method == "GET":
                assert (await probe.get(url(path))).status == 401, path


# -- isolation --------------------------------------------------------------------------------------------------


class ActionRasa:
    """Rasa's REST channel running the real actions on the web service's own database.

    A button payload ``/intent{"order_id": ...}`` is that intent with those entities, as
    Rasa reads it; typed text is read as an order question whose order id is the whole
    text, so the fuzz reaches the order lookup either way. The customer comes from the
    message metadata through the action server's own slot mapping. ``/affirm`` confirms
    a cancel, an address change and an invoice for the order id at once. Every message an
    action sends goes back whole (as JSON text), so nothing an action produced is hidden.
    """

    ACTIONS: dict[str, list[type[Any]]] = {
        **{topic: [cls] for topic, cls in PENDING.items()},
        "refund_status": [ActionRefundStatus],
        "greet": [ActionGreet],
        "affirm": [ActionCancelOrder, ActionChangeAddress, ActionRequestInvoice],
    }

    def __init__(self) -> None:
        self.services: Services | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/shop/webhook", self.webhook)
        return app

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        sender, message, meta = body["sender"], body["message"], body.get("metadata") or {}
        if message.startswith("/"):
            intent, _, raw = message[1:].partition("{")
            entities = [{"entity": k, "value": v} for k, v in (json.loads("{" + raw) if raw else {}).items()]
        else:
            intent, entities = "order_status", [{"entity": "order_id", "value": message}]
        latest = {"intent": {"name": intent, "confidence": 1.0}, "entities": entities, "text": message,
                  "metadata": meta}
        bare = Tracker(sender, {}, latest, [], False, None, None, "action_listen")
        customer = ValidateSlotMappings().extract_customer_id(CollectingDispatcher(), bare, {})["customer_id"]
        order_id = next((e["value"] for e in entities if e["entity"] == "order_id"), None)
        slots = {"customer_id": customer, "language": meta.get("language", "zh"), "order_id": order_id,
                 "pending_intent": "cancel_confirm", "new_address": "北京市海淀区中关村大街1号",
                 "invoice_title": "Acme Trading Ltd"}
        tracker = Tracker(sender, slots, latest, [], False, None, None, "action_listen")
        dispatcher = CollectingDispatcher()
        for action in self.ACTIONS.get(intent, []):
            await action(self.services).run(dispatcher, tracker, {})
        return web.json_response([{"recipient_id": sender, "buttons": m.get("buttons") or [], "custom": m.get("custom"),
                                   "text": json.dumps(m, ensure_ascii=False, default=str)}
                                  for m in dispatcher.messages])


def markers(demo: Demo, customer_id: str) -> set[str]:
    """Everything that identifies a customer's data: name, phone, order and line ids, tracking numbers, address."""
    customer = next(c for c in demo.customers if c.customer_id == customer_id)
    orders = [o for o in demo.orders if o.customer_id == customer_id]
    return {customer.name, customer.phone, *(o.order_id for o in orders), *(o.address for o in orders if o.address),
            *(ln.line_id for o in orders for ln in o.lines),
            *(o.shipment.tracking_no for o in orders if o.shipment is not None)}


def foreign(demo: Demo, customer_id: str) -> set[str]:
    theirs = set().union(*(markers(demo, c.customer_id) for c in demo.customers if c.customer_id != customer_id))
    return theirs - markers(demo, customer_id)


def leaks(reply: Any, sent: str, others: Iterable[str]) -> list[str]:
    """Other customers' data in ``reply``, except what the shopper typed themselves (an echoed id, as the
    front door normalised it: full-width digits and zero-width spaces are the same id)."""
    text, typed = json.dumps(reply, ensure_ascii=False), sent + "\n" + normalise(sent)
    return sorted(m for m in others if m and m in text and m not in typed)


def fuzzed_ids(rng: random.Random, demo: Demo, customer_id: str) -> list[str]:
    """Order ids to try as ``customer_id``: random digits, other customers' real ids (also disguised),
    SQL-looking strings, unicode and very long ones."""
    theirs = [o.order_id for o in demo.orders if o.customer_id != customer_id]
    mine = next(o.order_id for o in demo.orders if o.customer_id == customer_id)
    one = rng.choice(theirs)
    out = [str(rng.randrange(10 ** (n - 1), 10 ** n)) for n in rng.choices(range(1, 21), k=20)]
    out += [f"{rng.choice(('25', '26'))}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(10**6):06d}"
            for _ in range(8)]
    out += theirs
    out += [f" {one} ", f"#{one}", f"{one}-1", one.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            one[:4] + "\u200b" + one[4:], one[:-1], one + "0", f"订单{one}"]
    out += ["' OR '1'='1", f"{mine}' OR '1'='1", f"{mine}' --", "1 OR 1=1", f"{mine[:6]}%", "%", "_", "*",
            f"{mine}' UNION SELECT * FROM orders --", "'; DROP TABLE orders; --", "NULL", "0", "-1", "1e12"]
    out += ["订单😀", "\u202e" + one, "Ｃ００２", "ℂ002", "9" * 300, "8" * 999]
    return out


@pytest.fixture
async def action_rasa(aiohttp_server: Any) -> tuple[ActionRasa, RasaClient]:
    fake = ActionRasa()
    server = await aiohttp_server(fake.app())
    return fake, RasaClient((str(server.make_url("")).rstrip("/"),), "t", 10.0)


@pytest.fixture
async def isolated(aiohttp_client: Any, secure_settings: Settings, action_rasa: tuple[ActionRasa, RasaClient]) -> Any:
    fake, rasa = action_rasa
    app = build(secure_settings, rasa=rasa)
    fake.services = Services(shop=app[shop_key], aftersales=app[aftersales_key], handoff=app[handoff_key],
                             settings=secure_settings, clock=lambda: NOW)
    return await aiohttp_client(app)


class TestIsolation:
    """A signed-in shopper can name any order or customer id; only their own data ever comes back."""

    @pytest.mark.parametrize(("customer_id", "language"), [("C001", "zh"), ("C002", "en"), ("C007", "zh")])
    async def test_fuzzed_order_ids_never_return_another_customers_data(
            self, isolated: Any, aiohttp_client: Any, demo: Demo, customer_id: str, language: str) -> None:
        shop = isolated.server.app[shop_key]
        others = [c.customer_id for c in demo.customers if c.customer_id != customer_id]
        before = {c: shop.orders_of(c) for c in others}
        client = await aiohttp_client(isolated.server)
        assert (await client.post("/api/session", json={"customer_id": customer_id})).status == 200
        rng = random.Random(f"isolation-{customer_id}")
        topics = sorted(ActionRasa.ACTIONS)
        theirs = foreign(demo, customer_id)
        answered, sent = 0, []
        for order_id in fuzzed_ids(rng, demo, customer_id):
            entities = json.dumps({"order_id": order_id})
            for body in ({"text": order_id}, {"payload": f"/{rng.choice(topics)}{entities}"},
                         {"payload": f"/affirm{entities}"}, {"text": order_id, "customer_id": "C002"}):
                resp = await client.post("/api/messages", json=body)
                assert resp.status in (200, 400, 413), (body, resp.status)
                sent.append(json.dumps(body, ensure_ascii=False))
                if resp.status == 200:
                    answered += 1
                    reply = await resp.json()
                    assert not leaks(reply, json.dumps(body, ensure_ascii=False), theirs), (body, reply)
        assert answered > 100  # most of the fuzz reached the actions
        own = next(o for o in demo.orders if o.customer_id == customer_id)
        payload = f"/order_status{json.dumps({'order_id': own.order_id})}"
        mine = await client.post("/api/messages", json={"payload": payload})
        assert f"utter_order_status_{own.status.value}" in json.dumps(await mine.json())  # one's own order is found
        history = [m for m in (await (await client.get("/api/messages")).json())["messages"] if m["role"] == "bot"]
        assert history and not leaks(history, "\n".join(sent), theirs)
        assert {c: shop.orders_of(c) for c in others} == before  # nothing cancelled, readdressed or invoiced
        assert all(not isolated.server.app[aftersales_key].claims_of(c) for c in others)

    @pytest.mark.parametrize("topic", sorted(ActionRasa.ACTIONS))
    async def test_another_customers_order_id_is_answered_like_one_that_never_existed(
            self, isolated: Any, aiohttp_client: Any, demo: Demo, topic: str) -> None:
        client = await aiohttp_client(isolated.server)
        assert (await client.post("/api/session", json={"customer_id": "C001"})).status == 200

        async def reply(order_id: str) -> str:
            resp = await client.post("/api/messages", json={"payload": f"/{topic}{json.dumps({'order_id': order_id})}"})
            assert resp.status == 200
            shown = [{k: m[k] for k in ("text", "buttons", "card")} for m in (await resp.json())["messages"]]
            return json.dumps(shown, ensure_ascii=False).replace(order_id, "<ID>")

        for theirs in sorted({o.order_id for o in demo.orders if o.customer_id != "C001"}):
            never = "9" * len(theirs)
            assert await reply(theirs) == await reply(never), theirs

    async def test_the_customer_is_the_sessions_whatever_the_request_says(self, isolated: Any, aiohttp_client: Any,
                                                                           demo: Demo) -> None:
        client = await aiohttp_client(isolated.server)
        assert (await client.post("/api/session", json={"customer_id": "C001"})).status == 200
        theirs = foreign(demo, "C001")
        for body in ({"payload": '/greet{"customer_id": "C002"}'}, {"payload": "/greet", "customer_id": "C002"},
                     {"text": "hi", "customer_id": "C002", "metadata": {"customer_id": "C002"}}):
            resp = await client.post("/api/messages", json=body)
            assert resp.status == 200, body
            assert not leaks(await resp.json(), "", theirs), body
        for path in ("/api/session?customer_id=C002", "/api/messages?customer_id=C002&conversation_id=web-C002-sec"):
            resp = await client.get(path)
            assert resp.status == 200 and not leaks(await resp.json(), "", theirs), path
        resp = await client.post("/api/chat/open", json={"customer_id": "C002"})
        assert resp.status == 200 and not leaks(await resp.json(), "", theirs)
        assert "王芳" in json.dumps(await resp.json(), ensure_ascii=False)  # greeted as herself

    async def test_hints_only_for_the_exact_customer_named(self, isolated: Any, aiohttp_client: Any,
                                                           demo: Demo) -> None:
        client = await signed_in(aiohttp_client, isolated, "agent")
        real = {c.customer_id for c in demo.customers}
        owned = {c: {o.order_id for o in demo.orders if o.customer_id == c} for c in real}
        rng = random.Random("hints")
        tries = [*sorted(real), "c001", " C001", "C001 ", "C001\u200b", "Ｃ００１", "C00%", "C00_", "C0011", "C01",
                 "C001' OR '1'='1", "' OR 1=1 --", "*", "😀", "C" + "0" * 200, *(f"C{rng.randrange(1000):03d}" for _ in
                                                                               range(20))]
        for customer_id in tries:
            for language in ("zh", "en"):
                resp = await client.get(f"/api/agent/hints/{_quote(customer_id)}?lang={language}")
                if customer_id not in real:
                    assert resp.status == 404, customer_id
                    continue
                assert resp.status == 200
                hints = (await resp.json())["hints"]
                assert {h["order_id"] for h in hints if h["order_id"]} <= owned[customer_id], customer_id
                assert not leaks(hints, "", foreign(demo, customer_id))

    async def test_the_copilot_shows_only_the_tickets_customer(self, isolated: Any, aiohttp_client: Any,
                                                              demo: Demo) -> None:
        app = isolated.server.app
        app[handoff_key].add(open_ticket("TK-SEC-2", "web-C007-sec", "C007", "zh", "ask_human", NOW, topic="orders"),
                             actor="bot")
        client = await signed_in(aiohttp_client, isolated, "agent")
        for ticket_id, customer_id in ((TICKET, "C002"), ("TK-SEC-2", "C007")):
            for language in ("zh", "en"):
                body = await (await client.get(f"/api/agent/tickets/{ticket_id}?lang={language}")).json()
                summary = body["copilot"]["summary"]
                assert summary["customer"]["customer_id"] == customer_id
                own = {o.order_id for o in demo.orders if o.customer_id == customer_id}
                assert {o["order_id"] for o in summary["orders"]} <= own
                assert not leaks(body, "", foreign(demo, customer_id))
        for ticket_id in ("TK-NOPE", "TK-SEC-%", "TK-SEC-_", "' OR '1'='1", "😀"):
            assert (await client.get(f"/api/agent/tickets/{_quote(ticket_id)}")).status == 404, ticket_id


def _quote(value: str) -> str:
    return quote(value, safe="")


# -- cross-site requests and websockets ----------------------------------------------------------------------------


FORMS = [("text/plain", b"text=hi&customer_id=C002"),
         ("application/x-www-form-urlencoded", b"text=hi&customer_id=C002&online=true"),
         ("multipart/form-data; boundary=x",
          b'--x\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--x--\r\n')]
#: What browsers send with a request from another site's page.
CROSS_SITE = [{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},  # a current browser
              {"Origin": "http://evil.example"},  # no fetch metadata (older browsers)
              {"Sec-Fetch-Site": "cross-site"},  # Origin withheld
              {"Origin": "null", "Sec-Fetch-Site": "cross-site"},  # a sandboxed frame or a data: page
              {"Origin": "http://blog.shop.example", "Sec-Fetch-Site": "same-site"}]  # a sibling site


def snapshot(app: web.Application) -> dict[str, Any]:
    """Everything a request could change: every table, the project's files, the training job."""
    engine = app[shop_key].engine
    with engine.connect() as c:
        tables = {name: sorted(map(repr, c.execute(sa.text(f'SELECT * FROM "{name}"')).all()))
                  for name in sa.inspect(engine).get_table_names()}
    root = app[trainer_key].project_root
    files = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}
    return {"tables": tables, "files": files, "job": app[trainer_key].job}


class TestCrossSite:
    """Form posts and other unsafe requests from another site's page are refused before anything happens."""

    async def test_cross_site_requests_to_every_state_changing_route_are_refused_first(
            self, server: Any, aiohttp_client: Any, fake_rasa: FakeRasa) -> None:
        app = server.server.app
        client = await signed_in(aiohttp_client, server, "shopper", "agent", "operator")  # cookies attached
        unsafe = [(m, p) for m, p in registered(app) if m in ("POST", "PUT", "PATCH", "DELETE")]
        assert len(unsafe) > 25
        before, rasa_before = snapshot(app), len(fake_rasa.requests)
        for method, path in unsafe:
            for headers in CROSS_SITE:
                for content_type, body in FORMS:
                    resp = await client.request(method, url(path), data=body,
                                                headers={**headers, "Content-Type": content_type})
                    assert resp.status == 403, f"{method} {path} {headers} {content_type}: {resp.status}"
                    assert await error_code(resp) == "forbidden"
        assert snapshot(app) == before
        assert len(fake_rasa.requests) == rasa_before
        for area in ("shopper", "agent", "operator"):  # still signed in: not even the sign-outs went through
            assert (await client.get(SIGN_IN[area][0])).status == 200

    async def test_without_fetch_metadata_a_form_post_to_a_json_route_is_415_with_no_effect(
            self, server: Any, aiohttp_client: Any) -> None:
        """The second layer: a form cannot send application/json (clients that send no Origin are not pages)."""
        app = server.server.app
        client = await signed_in(aiohttp_client, server, "shopper", "agent", "operator")
        before = snapshot(app)
        for path in ("/api/messages", "/api/chat/open", "/api/language", "/api/agent/status", "/api/ops/publish",
                     "/api/ops/examples", "/api/ops/rollback", "/api/ops/check"):
            for content_type, body in FORMS:
                resp = await client.post(path, data=body, headers={"Content-Type": content_type})
                assert resp.status == 415, (path, content_type)
        assert snapshot(app) == before

    @pytest.mark.parametrize("fetch_site", ["same-origin", "none", None])
    async def test_same_origin_browser_requests_still_work(self, server: Any, aiohttp_client: Any,
                                                           fake_rasa: FakeRasa, fetch_site: str | None) -> None:
        client = await signed_in(aiohttp_client, server, "shopper", "agent")
        headers = {"Origin": f"http://{client.host}:{client.port}"}
        if fetch_site:
            headers["Sec-Fetch-Site"] = fetch_site
        resp = await client.post("/api/messages", json={"text": "在吗"}, headers=headers)
        assert resp.status == 200, await resp.text()
        assert fake_rasa.requests[-1]["message"] == "在吗"
        assert (await client.post("/api/agent/status", json={"online": True}, headers=headers)).status == 200
        assert (await client.delete("/api/session", headers=headers)).status == 204


class TestWebsocketOrigin:
    """Shopper and agent sockets refuse pages of other sites (cross-site websocket hijacking)."""

    @pytest.mark.parametrize(("area", "path"), [("shopper", "/api/ws"), ("agent", "/api/agent/ws")])
    async def test_only_this_sites_pages_and_non_browsers_connect(self, server: Any, aiohttp_client: Any,
                                                                  area: str, path: str) -> None:
        client = await signed_in(aiohttp_client, server, area)
        here = f"{client.host}:{client.port}"
        for origin in ("http://evil.example", "null", f"http://{here}.evil.example", f"http://evil.example/{here}"):
            with pytest.raises(WSServerHandshakeError) as refused:
                await client.ws_connect(path, headers={"Origin": origin})
            assert refused.value.status == 403, origin
        for headers in ({"Origin": f"http://{here}"}, {}):
            ws = await client.ws_connect(path, headers=headers)
            await ws.close()

    @pytest.mark.parametrize("path", ["/api/ws", "/api/agent/ws"])
    async def test_a_socket_needs_a_session_of_its_area(self, server: Any, aiohttp_client: Any, path: str) -> None:
        client = await signed_in(aiohttp_client, server, "operator")
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect(path, headers={"Origin": f"http://{client.host}:{client.port}"})
        assert refused.value.status == 401


# -- rate limits ------------------------------------------------------------------------------------------------


@pytest.fixture
async def limited(aiohttp_client: Any, secure_settings: Settings) -> tuple[Any, Ticks]:
    """Sessions: 3 at once, then 1 a second; sign-ins: 2 at once per client, then one every 2 seconds."""
    ticks = Ticks()
    settings = secure_settings.with_(session_rate=1.0, session_burst=3, sign_in_rate=0.5, sign_in_burst=2)
    return await aiohttp_client(build(settings, ticks=ticks)), ticks


class TestRateLimits:
    """Per session (per client address for sign-ins and cookie-less calls), refused with a bilingual 429."""

    async def test_a_session_gets_its_burst_then_429_until_tokens_refill(self, limited: tuple[Any, Ticks]) -> None:
        client, ticks = limited
        assert (await client.post("/api/session", json={"customer_id": "C001"})).status == 200
        assert [(await client.get("/api/session")).status for _ in range(3)] == [200, 200, 200]
        refused = await client.get("/api/session")
        assert refused.status == 429 and refused.headers["Retry-After"] == "1"
        strings = json.loads((STATIC / "i18n.json").read_text("utf-8"))
        message = (await refused.json())["error"]["message"]
        assert message == {lang: strings[lang]["error.rate_limited"] for lang in ("zh", "en")}
        ticks.now += 1.0
        assert (await client.get("/api/session")).status == 200
        ticks.now += 0.5
        assert (await client.get("/api/session")).status == 429

    async def test_each_session_has_its_own_bucket(self, limited: tuple[Any, Ticks], aiohttp_client: Any) -> None:
        client, _ = limited
        other = await aiohttp_client(client.server)
        for c in (client, other):
            assert (await c.post("/api/session", json={"customer_id": "C001"})).status == 200
        assert [(await client.get("/api/messages")).status for _ in range(4)][-1] == 429
        assert (await other.get("/api/messages")).status == 200

    async def test_a_refused_request_has_no_effect(self, limited: tuple[Any, Ticks], fake_rasa: FakeRasa) -> None:
        client, _ = limited
        assert (await client.post("/api/session", json={"customer_id": "C001"})).status == 200
        for _ in range(3):
            await client.get("/api/session")
        sent = len(fake_rasa.requests)
        assert (await client.post("/api/messages", json={"text": "在吗"})).status == 429
        assert len(fake_rasa.requests) == sent

    async def test_sign_ins_are_limited_per_client_right_password_or_not(self, limited: tuple[Any, Ticks]) -> None:
        client, ticks = limited
        wrong = {"agent_id": "A01", "password": "guess"}
        assert [(await client.post("/api/agent/session", json=wrong)).status for _ in range(2)] == [401, 401]
        right = {"agent_id": "A01", "password": "demo"}
        resp = await client.post("/api/agent/session", json=right)
        assert resp.status == 429 and resp.headers["Retry-After"] == "2"
        assert (await client.post("/api/ops/session", json={"operator_id": "O01", "password": "demo"})).status == 429
        ticks.now += 2.0
        assert (await client.post("/api/agent/session", json=right)).status == 200

    async def test_pages_and_static_files_are_not_limited(self, limited: tuple[Any, Ticks]) -> None:
        client, _ = limited
        assert {(await client.get(p)).status for p in ["/", "/static/chat.js", "/agent", "/ops"] * 3} == {200}

    async def test_zero_turns_limiting_off(self, server: Any) -> None:
        assert {(await server.get("/api/customers")).status for _ in range(80)} == {200}


# -- personal data ------------------------------------------------------------------------------------------------


def tracker_rows(settings: Settings, sender: str, rasa_events: list[Any]) -> None:
    """Write events into the tracker store as Rasa's SQLTrackerStore does (one JSON row per event)."""
    engine = sa.create_engine(settings.tracker_url)
    with engine.begin() as c:
        for e in rasa_events:
            data = e.as_dict()
            c.execute(events.insert().values(sender_id=sender, type_name=data["event"], timestamp=data["timestamp"],
                                             data=json.dumps(data)))
    engine.dispose()


@pytest.fixture
async def ops_with_conversation(server: Any, aiohttp_client: Any, secure_settings: Settings) -> Any:
    """An operator's client; the tracker store holds C001 giving a phone number and addresses."""
    from tests.studio.tracker_events import Clock, action, bot, extracted, listen, session_start, slot, user  # noqa: PLC0415

    c = Clock(NOW)
    tracker_rows(secure_settings, "web-C001-sec", [
        *session_start(c, "C001", "zh"),
        user(c, "我的电话是13812345678，送到上海市浦东新区世纪大道88号1203室", "inform", 0.8, detected="zh",
             entities=[{"entity": "phone", "start": 5, "end": 16, "value": "13812345678",
                        "extractor": "RegexEntityExtractor"}]),
        *extracted(c, "zh"), action(c, "action_inform"),
        bot(c, "好的，新地址：北京市朝阳区建国路66号2单元801", "utter_address_changed"),
        slot(c, "new_address", "北京市朝阳区建国路66号2单元801"), listen(c),
        user(c, "call me on +86 139 0000 1111 or visit Room 502, 18 Huaihai Road", "ask_human", 0.9, detected="en"),
        *extracted(c, "en"), action(c, "action_handoff"), listen(c),
    ])
    return await signed_in(aiohttp_client, server, "operator")


REAL = ("13812345678", "世纪大道88号", "1203室", "建国路66号", "0000 1111", "13900001111", "18 Huaihai Road")


class TestPersonalData:
    """Operators read conversations masked; what becomes training data carries sample values instead."""

    async def test_operators_see_conversations_masked(self, ops_with_conversation: Any) -> None:
        ops = ops_with_conversation
        listed = json.dumps(await (await ops.get("/api/ops/conversations")).json(), ensure_ascii=False)
        detail = json.dumps(await (await ops.get("/api/ops/conversations/web-C001-sec")).json(), ensure_ascii=False)
        for text in (listed, detail):
            assert "web-C001-sec" in text
            assert not [r for r in REAL if r in text], text
        assert "138****5678" in detail and "上海市浦东新区****" in detail and "北京市朝阳区****" in detail
        assert "+86 139****1111" in detail

    async def test_agents_see_the_real_transcript(self, server: Any, aiohttp_client: Any) -> None:
        """Agents act for the shopper (a callback, a new delivery address), so their view is not masked."""
        shopper = await signed_in(aiohttp_client, server, "shopper")
        conversation = (await (await shopper.get("/api/session")).json())["conversation_id"]
        assert (await shopper.post("/api/messages", json={"text": "我的电话是13812345678"})).status == 200
        server.server.app[handoff_key].add(
            open_ticket("TK-SEC-PII", conversation, "C001", "zh", "ask_human", NOW, topic="orders"), actor="bot")
        agent_client = await signed_in(aiohttp_client, server, "agent")
        detail = await (await agent_client.get("/api/agent/tickets/TK-SEC-PII")).json()
        assert any("13812345678" in m["text"] for m in detail["transcript"])

    async def test_a_correction_adds_sample_values_to_the_training_data(self, ops_with_conversation: Any,
                                                                       secure_settings: Settings) -> None:
        data = secure_settings.project_root / "data"
        before = {line for f in data.rglob("*.yml") for line in f.read_text("utf-8").splitlines()}
        resp = await ops_with_conversation.post("/api/ops/conversations/web-C001-sec/corrections",
                                                json={"turn": 0, "intent": "inform"})
        assert resp.status == 200, await resp.text()
        written = (secure_settings.project_root / (await resp.json())["path"]).read_text("utf-8")
        added = "\n".join(line for line in written.splitlines() if line not in before)
        assert "我的电话是13800138000，送到上海市浦东新区人民路1号" in added
        assert not [r for r in REAL if r in added] and "****" not in added
        audit = json.dumps(await (await ops_with_conversation.get("/api/ops/audit")).json(), ensure_ascii=False)
        assert "13812345678" not in audit

    async def test_a_story_keeps_its_entities_on_sample_values(self, ops_with_conversation: Any,
                                                               secure_settings: Settings) -> None:
        resp = await ops_with_conversation.post("/api/ops/conversations/web-C001-sec/story", json={"name": "pii"})
        assert resp.status == 200, await resp.text()
        story = (secure_settings.project_root / "tests/stories/from_conversations.yml").read_text("utf-8")
        assert "我的电话是[13800138000](phone)，送到上海市浦东新区人民路1号" in story
        assert "+86 13800138000" in story and "1 Main Street" in story
        assert not [r for r in REAL if r in story] and "****" not in story

    def test_the_web_process_masks_its_logs(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import logging  # noqa: PLC0415

        from bot.web import app as web_app  # noqa: PLC0415

        before = logging.getLogRecordFactory()
        monkeypatch.setattr(web_app, "create_app", lambda settings: None)
        monkeypatch.setattr(web_app.web, "run_app", lambda *args, **kwargs: None)
        try:
            web_app.main()
            record = logging.getLogger("bot.web.chat").makeRecord("bot.web.chat", logging.INFO, __file__, 1,
                                                                  "shopper %s", ("13812345678",), None)
            assert record.getMessage() == "shopper 138****5678"
        finally:
            logging.setLogRecordFactory(before)


# -- bad input ----------------------------------------------------------------------------------------------------


class TestBadInput:
    """The corpus of ``bench.bad_input`` through every route: a 4xx with zh and en text, or a reply."""

    async def test_every_route_answers_every_bad_input_politely(self, aiohttp_server: Any,
                                                                secure_settings: Settings) -> None:
        app = build(secure_settings)
        served = await aiohttp_server(app)
        base = str(served.make_url("")).rstrip("/")
        routes = bad_input.routes_of(app)
        results = await bad_input.run(base, bad_input.probes(routes, random.Random(7)), timeout_s=10)
        assert bad_input.failures(results) == []
        assert {r.probe.route for r in results} >= set(routes)  # every route got its share
        headline = bad_input.headline(results)
        assert " status_5xx=0 hangs=0 errors=0 unlocalised=0 " in headline, headline
        async with aiohttp.ClientSession() as http:  # and the service still works
            resp = await http.post(base + "/api/session", json={"customer_id": "C001"})
            assert resp.status == 200

    def test_the_corpus_fuzzes_every_field_a_handler_reads(self) -> None:
        source = "\n".join(p.read_text("utf-8") for p in (Path(chat.__file__).parent).glob("*.py"))
        read = set(re.findall(r'body\.get\("(\w+)"', source)) | set(re.findall(r'_str\(body, "(\w+)"', source))
        read |= set(re.findall(r'read_json\(request\)\)\.get\("(\w+)"', source))
        assert read and read <= set(bad_input.FIELDS), read - set(bad_input.FIELDS)
