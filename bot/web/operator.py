"""Operator routes: sign-in, data files, NLU and responses, validate/train/test, publish, rollback,
conversations → training data, and the audit trail.

Every ``/api/ops/`` route needs an operator session; agents' and shoppers' cookies open nothing here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from bot.errors import CustomerNotFound
from bot.privacy import mask_json, pseudonymise
from bot.store.operators import Operator
from bot.studio import nlu, responses
from bot.studio.checks import Problem, check
from bot.studio.conversations import Conversation, ConversationFilter, customers, pseudonymised, to_test_story
from bot.studio.domain import DomainNames
from bot.studio.errors import EditConflict, FileMissing
from bot.studio.files import classify
from bot.studio.registry import ModelNotFound
from bot.web.chat import read_json
from bot.web.errors import STATUS, ApiError, messages
from bot.web.keys import (
    STATIC,
    clock_key,
    operators_key,
    project_files_key,
    publish_lock_key,
    rasa_key,
    settings_key,
    shop_key,
    strings_key,
    tracker_key,
    trainer_key,
)
from bot.web.training import PublishBlocked, TrainingBusy

log = logging.getLogger(__name__)
COOKIE = "operator_session"
routes = web.RouteTableDef()
_MAX_TEXT = 512 * 1024


def current_operator(request: web.Request) -> Operator:
    operator = request.app[operators_key].session_operator(request.cookies.get(COOKIE))
    if operator is None:
        raise ApiError("no_session")
    return operator


def audit(request: web.Request, operator: Operator, action: str, target: str, **detail: Any) -> None:
    request.app[operators_key].record(operator.operator_id, action, target, detail, request.app[clock_key]())


def _str(body: dict[str, Any], key: str, limit: int = 2000, required: bool = True) -> str:
    value = body.get(key, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise ApiError("invalid_payload", field=key)
    return value


@routes.get("/ops")
async def console(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "operator.html")


# -- session -------------------------------------------------------------------------
@routes.post("/api/ops/session")
async def sign_in(request: web.Request) -> web.Response:
    body = await read_json(request)
    operator_id, password = body.get("operator_id"), body.get("password")
    if not isinstance(operator_id, str) or not isinstance(password, str) or len(operator_id) > 32 \
            or len(password) > 200:
        raise ApiError("invalid_credentials")
    found = request.app[operators_key].login(operator_id, password, request.app[clock_key]())
    if found is None:
        raise ApiError("invalid_credentials")
    operator, token = found
    resp = web.json_response({"operator": operator.to_json()})
    resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.app[settings_key].cookie_secure)
    return resp


@routes.get("/api/ops/session")
async def me(request: web.Request) -> web.Response:
    return web.json_response({"operator": current_operator(request).to_json()})


@routes.delete("/api/ops/session")
async def sign_out(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE)
    if token:
        request.app[operators_key].logout(token)
    resp = web.Response(status=204)
    resp.del_cookie(COOKIE)
    return resp


def error_with(request: web.Request, code: str, **extra: Any) -> web.Response:
    """A catalogued bilingual error plus structured detail (problems, regressions...) beside it."""
    return web.json_response({"error": {"code": code, "message": messages(request.app[strings_key], code)},
                              **extra}, status=STATUS.get(code, 400))


# -- validate, train, test ------------------------------------------------------------
@routes.post("/api/ops/validate")
async def validate(request: web.Request) -> web.Response:
    """``rasa data validate`` on the project as it is on disk now."""
    current_operator(request)
    ok, output = await request.app[trainer_key].validate()
    lines = [line for line in output.splitlines() if " WARNING " in line or " ERROR " in line or "Error" in line]
    return web.json_response({"ok": ok, "messages": lines[-200:]})


@routes.post("/api/ops/train")
async def train(request: web.Request) -> web.Response:
    operator = current_operator(request)
    try:
        job = request.app[trainer_key].start(operator.operator_id)
    except TrainingBusy:
        return error_with(request, "training_busy", job=_job_json(request))
    audit(request, operator, "training_started", job.job_id)
    return web.json_response({"job": _job_json(request)}, status=202)


def _job_json(request: web.Request) -> dict[str, Any] | None:
    trainer = request.app[trainer_key]
    job = trainer.job
    if job is None:
        return None
    candidate, serving, found = trainer.compare(job.candidate, job.serving) if job.candidate else (None, None, [])
    body = {**job.to_json(), "candidate_report": candidate.to_json() if candidate else None,
            "serving_report": serving.to_json() if serving else None}
    if job.status == "succeeded" and job.candidate:
        body["regressions"] = [r.to_json() for r in found]
        body["margin"] = trainer.margin
    return body


@routes.get("/api/ops/train")
async def training_status(request: web.Request) -> web.Response:
    current_operator(request)
    return web.json_response({"job": _job_json(request)})


@routes.get("/api/ops/reports/{model}/{image}")
async def report_image(request: web.Request) -> web.FileResponse:
    current_operator(request)
    model, image = request.match_info["model"], request.match_info["image"]
    if image not in ("confusion-zh.png", "confusion-en.png") or "/" in model or ".." in model:
        raise ApiError("not_found")
    path = request.app[trainer_key].reports_dir(model) / image
    if not path.is_file():
        raise ApiError("not_found")
    return web.FileResponse(path)


# -- models: publish and roll back -------------------------------------------------
@routes.get("/api/ops/models")
async def models(request: web.Request) -> web.Response:
    current_operator(request)
    trainer = request.app[trainer_key]
    folder = trainer.models
    registry = folder.registry()
    serving = folder.serving()
    return web.json_response({
        "serving": serving.name if serving else None,
        "previous": registry.previous(),
        "history": [p.to_json() for p in reversed(registry.history)],
        "models": [{"name": m.name, "tested": trainer.report(m.name) is not None} for m in reversed(folder.models())],
        "loaded": [os.path.basename(f) for f in await request.app[rasa_key].model_files()],
    })


async def _load(request: web.Request, operator: Operator, model: str, reason: str, kind: str) -> web.Response:
    trainer = request.app[trainer_key]
    path = trainer.models.model(model)
    async with request.app[publish_lock_key]:
        await request.app[rasa_key].load_model(str(path.resolve()))
        trainer.record_publish(model, operator.operator_id, reason, kind)
    audit(request, operator, "published" if kind == "publish" else "rolled_back", model, reason=reason)
    return web.json_response({"serving": model})


@routes.post("/api/ops/publish")
async def publish(request: web.Request) -> web.Response:
    """Publish a tested candidate; blocked when it is worse than the serving model, unless overridden."""
    operator = current_operator(request)
    body = await read_json(request)
    model = _str(body, "model", 200)
    reason = _str(body, "reason", 500, required=False).strip()
    try:
        found = request.app[trainer_key].check_publish(model, reason)
    except ModelNotFound:
        raise ApiError("model_not_found") from None
    except PublishBlocked as exc:
        return error_with(request, "publish_blocked", regressions=[r.to_json() for r in exc.regressions],
                          untested=exc.untested)
    if found:
        audit(request, operator, "publish_override", model, reason=reason,
              regressions=[r.to_json() for r in found])
    return await _load(request, operator, model, reason, "publish")


@routes.post("/api/ops/rollback")
async def rollback(request: web.Request) -> web.Response:
    """Serve the model that served before the current one, in one click."""
    operator = current_operator(request)
    body = await read_json(request)
    model = body.get("model")
    if model is not None and (not isinstance(model, str) or not model):  # 0, false, "" name no model
        raise ApiError("invalid_payload", field="model")
    target = model or request.app[trainer_key].models.registry().previous()
    if not target:
        raise ApiError("nothing_to_roll_back")
    try:
        return await _load(request, operator, target, _str(body, "reason", 500, required=False), "rollback")
    except ModelNotFound:
        raise ApiError("model_not_found") from None


@routes.get("/api/ops/audit")
async def audit_trail(request: web.Request) -> web.Response:
    current_operator(request)
    return web.json_response({"entries": [e.to_json() for e in request.app[operators_key].audit()]})



# -- data files --------------------------------------------------------------------
DOMAIN = "domain.yml"
STORIES_FROM_CONVERSATIONS = "tests/stories/from_conversations.yml"
SHOP_TZ = timezone(timedelta(hours=8))  # dates typed by operators are Shanghai dates


def domain_names(request: web.Request) -> DomainNames:
    return DomainNames.from_domain_text(request.app[project_files_key].read(DOMAIN).text)


def problems_in(request: web.Request, path: str, text: str) -> list[Problem]:
    """What is wrong with ``text`` as the new content of ``path`` (a domain is checked against itself)."""
    kind = classify(path).kind
    names = DomainNames.from_domain_text(text) if kind == "domain" else domain_names(request)
    try:
        return check(kind, text, names)
    except ValueError:  # the domain being edited is not readable: report it on the domain itself
        return check("domain", text, names)


def save(request: web.Request, operator: Operator, path: str, text: str, base_version: str | None,
         action: str, **detail: Any) -> web.Response:
    """Check, then write ``path``; 422 with the problems (and nothing written) when it is not valid."""
    problems = problems_in(request, path, text)
    if problems:
        return error_with(request, "invalid_file", path=path, problems=[p.to_json() for p in problems])
    try:
        version = request.app[project_files_key].write(path, text, base_version)
    except EditConflict as exc:
        return error_with(request, "edit_conflict", path=path, current_version=exc.current_version)
    audit(request, operator, action, path, **detail)
    return web.json_response({"path": path, "version": version})


@routes.get("/api/ops/files")
async def files(request: web.Request) -> web.Response:
    current_operator(request)
    return web.json_response({"files": [f.to_json() for f in request.app[project_files_key].list()]})


@routes.get("/api/ops/files/{path:.+}")
async def read_file(request: web.Request) -> web.Response:
    current_operator(request)
    path = request.match_info["path"]
    found = request.app[project_files_key].read(path)
    return web.json_response({**found.to_json(), **classify(path).to_json()})


@routes.put("/api/ops/files/{path:.+}")
async def write_file(request: web.Request) -> web.Response:
    operator = current_operator(request)
    path = request.match_info["path"]
    classify(path)  # PathNotAllowed before anything else
    body = await read_json(request)
    text = _str(body, "text", _MAX_TEXT)
    version = body.get("version")
    if version is not None and not isinstance(version, str):
        raise ApiError("invalid_payload", field="version")
    return save(request, operator, path, text, version, "file_saved")


@routes.post("/api/ops/check")
async def check_file(request: web.Request) -> web.Response:
    current_operator(request)
    body = await read_json(request)
    path, text = _str(body, "path", 300), _str(body, "text", _MAX_TEXT, required=False)
    classify(path)
    return web.json_response({"problems": [p.to_json() for p in problems_in(request, path, text)]})


# -- NLU examples, side by side ------------------------------------------------------
@routes.get("/api/ops/intents")
async def intents(request: web.Request) -> web.Response:
    current_operator(request)
    table = nlu.intent_table(request.app[project_files_key])
    gaps = nlu.missing_language(table)
    return web.json_response({"intents": [
        {**row.to_json(), "missing": list(gaps.get(row.intent, ())),
         **{lang: [{**e.to_json(), "file": e.path} for e in row.examples(lang)] for lang in ("zh", "en")}}
        for row in table]})


def _example_request(body: dict[str, Any]) -> tuple[str, str, str]:
    intent, language = _str(body, "intent", 100), _str(body, "language", 2)
    if language not in ("zh", "en"):
        raise ApiError("invalid_language")
    text = _str(body, "text", 500).strip()
    if "\n" in text or "\r" in text:
        raise ApiError("invalid_payload", field="text")
    return intent, language, text


def add_example(request: web.Request, operator: Operator, intent: str, language: str, text: str,
                action: str = "example_added", **detail: Any) -> web.Response:
    """Append one example to the NLU file of ``language`` that holds ``intent`` (a new file if none)."""
    if intent not in domain_names(request).intents:
        raise ApiError("unknown_intent", intent=intent)
    project = request.app[project_files_key]
    path = nlu.file_for(nlu.intent_table(project), intent, language, f"data/nlu/{language}/console.yml")  # type: ignore[arg-type]
    try:
        current = project.read(path)
        base, version = current.text, current.version
    except FileMissing:
        base, version = 'version: "3.1"\nnlu:\n', None
    return save(request, operator, path, nlu.add_example(base, intent, text), version, action,
                intent=intent, language=language, example=text, **detail)


@routes.post("/api/ops/examples")
async def new_example(request: web.Request) -> web.Response:
    operator = current_operator(request)
    intent, language, text = _example_request(await read_json(request))
    return add_example(request, operator, intent, language, text)


@routes.post("/api/ops/examples/remove")
async def remove_example(request: web.Request) -> web.Response:
    operator = current_operator(request)
    intent, language, text = _example_request(await read_json(request))
    project = request.app[project_files_key]
    row = next((r for r in nlu.intent_table(project) if r.intent == intent), None)
    example = next((e for e in row.examples(language) if e.text == text), None) if row else None  # type: ignore[arg-type]
    if example is None:
        raise ApiError("example_not_found")
    current = project.read(example.path)
    return save(request, operator, example.path, nlu.remove_example(current.text, intent, text), current.version,
                "example_removed", intent=intent, language=language, example=text)


# -- responses, zh and en side by side ----------------------------------------------
@routes.get("/api/ops/responses")
async def list_responses(request: web.Request) -> web.Response:
    current_operator(request)
    domain = request.app[project_files_key].read(DOMAIN)
    return web.json_response({"version": domain.version, "responses": [
        {"name": r.name, "line": r.line, "zh": r.text("zh"), "en": r.text("en")}
        for r in responses.list_responses(domain.text)]})


@routes.put("/api/ops/responses/{name}")
async def set_response(request: web.Request) -> web.Response:
    """Change one variant of one response.

    The editor names what it started from: ``previous``, the variant's text it showed
    (so that edits of other responses, or of other files' lines of the domain, are no
    conflict), or else ``version``, the whole domain's version. Either way a change
    that would overwrite someone else's edit is a 409, never a silent loss.
    """
    operator = current_operator(request)
    body = await read_json(request)
    language, text = _str(body, "language", 2), _str(body, "text", 2000)
    name = request.match_info["name"]
    domain = request.app[project_files_key].read(DOMAIN)
    previous = body.get("previous")
    if previous is not None:
        if not isinstance(previous, str) or len(previous) > 2000:
            raise ApiError("invalid_payload", field="previous")
        current = next((r for r in responses.list_responses(domain.text) if r.name == name), None)
        if current is not None and (current.text(language) or "") != previous:  # type: ignore[arg-type]
            return error_with(request, "edit_conflict", path=DOMAIN, current_version=domain.version,
                              current_text=current.text(language))  # type: ignore[arg-type]
    elif _str(body, "version", 100) != domain.version:
        return error_with(request, "edit_conflict", path=DOMAIN, current_version=domain.version)
    edited = responses.set_text(domain.text, name, language, text)
    return save(request, operator, DOMAIN, edited, domain.version, "response_saved", response=name,
                language=language)


# -- conversations → training data --------------------------------------------------
class PersonalData:
    """The phone numbers and addresses of the customers of conversations, looked up once per customer.

    Operators see conversations masked (``bot.privacy.mask``), and what a conversation
    becomes as training data is pseudonymised, never masked: see ``bot.privacy``.
    """

    def __init__(self, app: web.Application) -> None:
        self._shop = app[shop_key]
        self._known: dict[str, tuple[str, ...]] = {}

    def of(self, conversation: Conversation) -> tuple[str, ...]:
        return tuple(value for customer_id in sorted(customers(conversation)) for value in self._of(customer_id))

    def _of(self, customer_id: str) -> tuple[str, ...]:
        if customer_id not in self._known:
            try:
                customer = self._shop.customer(customer_id)
            except CustomerNotFound:
                self._known[customer_id] = ()
            else:
                addresses = sorted({o.address for o in self._shop.orders_of(customer_id) if o.address})
                self._known[customer_id] = (customer.phone, *addresses) if customer.phone else tuple(addresses)
        return self._known[customer_id]


def _day(raw: str | None, name: str, next_day: bool = False) -> str | None:
    """A typed date (``2026-11-23``) as the start of that Shanghai day; full ISO times pass through."""
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=SHOP_TZ)
            return (day + timedelta(days=1) if next_day else day).isoformat()
    except ValueError:
        raise ApiError("invalid_filter", field=name) from None
    return raw


@routes.get("/api/ops/conversations")
async def conversations(request: web.Request) -> web.Response:
    current_operator(request)
    q = request.query
    try:
        limit = max(1, min(500, int(q.get("limit", "100"))))
    except ValueError:
        raise ApiError("invalid_filter", field="limit") from None
    wanted = ConversationFilter.from_json({
        "language": q.get("language"), "fallback": q.get("fallback"), "handoff": q.get("handoff"),
        "low_confidence_below": q.get("low_confidence"), "since": _day(q.get("since"), "since"),
        "until": _day(q.get("until"), "until", next_day=True)})
    found = await asyncio.to_thread(request.app[tracker_key].recent, 1000, wanted.since)
    known = PersonalData(request.app)
    rows = [mask_json(c.summary(), known.of(c)) for c in [c for c in found if wanted.matches(c)][:limit]]
    return web.json_response({"conversations": [{**r, "turns": r["turn_count"], "preview": r["first_text"]}
                                                for r in rows]})


@routes.get("/api/ops/conversations/{sender_id}")
async def conversation(request: web.Request) -> web.Response:
    current_operator(request)
    found = await asyncio.to_thread(request.app[tracker_key].get, request.match_info["sender_id"])
    body = mask_json(found.to_json(), PersonalData(request.app).of(found))
    for turn in body["turns"]:
        turn["bot"] = turn["bot_texts"]
    return web.json_response({"conversation": body})


@routes.post("/api/ops/conversations/{sender_id}/corrections")
async def correct_intent(request: web.Request) -> web.Response:
    """Correct the intent of one shopper message and add it to the NLU data of its language."""
    operator = current_operator(request)
    body = await read_json(request)
    index, intent = body.get("turn"), _str(body, "intent", 100)
    if not isinstance(index, int) or isinstance(index, bool):
        raise ApiError("invalid_payload", field="turn")
    sender = request.match_info["sender_id"]
    found = await asyncio.to_thread(request.app[tracker_key].get, sender)
    turn = found.turn(index)
    if turn.text.startswith("/"):  # a button click, not words a shopper typed
        raise ApiError("invalid_example")
    text = pseudonymise(turn.text.strip(), PersonalData(request.app).of(found))
    resp = add_example(request, operator, intent, turn.language, text, "intent_corrected",
                       conversation=sender, turn=index, predicted=turn.intent or "")
    if resp.status == 200:
        resp = web.json_response({**json.loads(resp.body), "language": turn.language})  # type: ignore[arg-type]
    return resp


@routes.post("/api/ops/conversations/{sender_id}/story")
async def save_story(request: web.Request) -> web.Response:
    """Append the whole conversation, with any corrected intents, to the test stories."""
    operator = current_operator(request)
    body = await read_json(request)
    name = _str(body, "name", 200)
    raw = body.get("corrections") or {}
    if not isinstance(raw, dict):
        raise ApiError("invalid_payload", field="corrections")
    try:
        corrections = {int(k): str(v) for k, v in raw.items()}
    except ValueError:
        raise ApiError("invalid_payload", field="corrections") from None
    sender = request.match_info["sender_id"]
    found = await asyncio.to_thread(request.app[tracker_key].get, sender)
    story = to_test_story(pseudonymised(found, PersonalData(request.app).of(found)), name, corrections)
    project = request.app[project_files_key]
    try:
        current = project.read(STORIES_FROM_CONVERSATIONS)
        text = current.text.rstrip("\n") + "\n" + story.split("stories:\n", 1)[1]
        version: str | None = current.version
    except FileMissing:
        text, version = story, None
    return save(request, operator, STORIES_FROM_CONVERSATIONS, text, version, "story_saved",
                conversation=sender, name=name)
