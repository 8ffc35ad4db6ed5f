"""The operator console's API: sign-in, validate/train/test, publish with a gate, rollback, audit.

Training runs a stand-in ``rasa`` (tests/web/fake_rasa_cli.py), so these tests
need no TensorFlow; tests/e2e/test_operator.py runs the real thing.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from bot.studio.registry import ModelFolder
from bot.web.app import create_app
from bot.web.keys import trainer_key
from bot.web.training import Commands, Trainer
from tests.conftest import NOW, copy_project
from tests.web.conftest import FakeRasa, sign_in

CLI = str(Path(__file__).with_name("fake_rasa_cli.py"))
BASE_MODEL = "20261101-000000-base.tar.gz"


@dataclass(frozen=True)
class FakeCommands(Commands):
    """Each step runs fake_rasa_cli.py instead of Rasa."""

    def validate(self) -> list[str]:
        return [sys.executable, CLI, "data", "validate"]

    def train(self, out: Path, name: str) -> list[str]:
        return [sys.executable, CLI, "train", "--out", str(out), "--fixed-model-name", name]

    def evaluate(self, model: Path, project: Path, out: Path) -> list[str]:
        return [sys.executable, CLI, "evaluate", "--model", str(model), "--out", str(out)]


@pytest.fixture
def ops_settings(web_settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
    (project / "models" / BASE_MODEL).write_bytes(b"base model")
    return web_settings.with_(project_root=project, models_dir=project / "models")


@pytest.fixture
async def ops(aiohttp_client: Any, ops_settings: Settings) -> Any:
    app = create_app(ops_settings, clock=lambda: NOW)
    app[trainer_key] = Trainer(ops_settings.project_root, ModelFolder(ops_settings.models_dir),
                               ops_settings.var_dir, lambda: NOW, ops_settings.publish_margin, FakeCommands())
    client = await aiohttp_client(app)
    resp = await client.post("/api/ops/session", json={"operator_id": "O01", "password": "demo"})
    assert resp.status == 200, await resp.text()
    return client


async def finished_job(client: Any) -> dict[str, Any]:
    for _ in range(200):
        job = (await (await client.get("/api/ops/train")).json())["job"]
        if job and job["status"] != "running":
            return dict(job)
        await asyncio.sleep(0.05)
    raise AssertionError("the training job did not finish")


class TestAccess:
    """Only operators reach the console's API; shoppers and agents are refused."""

    OPS_APIS = [("GET", "/api/ops/files"), ("GET", "/api/ops/intents"), ("POST", "/api/ops/train"),
                ("GET", "/api/ops/models"), ("POST", "/api/ops/publish"), ("POST", "/api/ops/rollback"),
                ("GET", "/api/ops/conversations"), ("GET", "/api/ops/audit"), ("POST", "/api/ops/validate"),
                ("GET", "/api/ops/responses"), ("POST", "/api/ops/examples")]

    async def test_wrong_password_is_401_with_zh_and_en_text(self, client: Any) -> None:
        resp = await client.post("/api/ops/session", json={"operator_id": "O01", "password": "nope"})
        assert resp.status == 401
        message = (await resp.json())["error"]["message"]
        assert message["zh"] and message["en"] and message["zh"] != message["en"]

    async def test_a_shopper_session_opens_nothing(self, client: Any) -> None:
        await sign_in(client, "C001")
        for method, path in self.OPS_APIS:
            assert (await client.request(method, path, json={})).status == 401, path

    async def test_an_agent_session_opens_nothing(self, client: Any) -> None:
        resp = await client.post("/api/agent/session", json={"agent_id": "A01", "password": "demo"})
        assert resp.status == 200
        for method, path in self.OPS_APIS:
            assert (await client.request(method, path, json={})).status == 401, path

    async def test_an_operator_is_not_an_agent(self, ops: Any) -> None:
        assert (await ops.get("/api/agent/tickets")).status == 401

    async def test_sign_out_ends_the_session(self, ops: Any) -> None:
        assert (await ops.get("/api/ops/session")).status == 200
        assert (await ops.delete("/api/ops/session")).status == 204
        assert (await ops.get("/api/ops/session")).status == 401

    async def test_the_console_page_is_served(self, client: Any) -> None:
        resp = await client.get("/ops")
        assert resp.status == 200
        assert "operator.js" in await resp.text()


class TestTraining:
    """Validate → train → test runs in the background with live progress; one at a time."""

    async def test_a_training_reports_progress_and_tests_candidate_and_serving(self, ops: Any) -> None:
        resp = await ops.post("/api/ops/train", json={})
        assert resp.status == 202
        job = await finished_job(ops)
        assert job["status"] == "succeeded", job
        assert job["progress"]["step"] == "done"
        assert job["candidate"].startswith("candidate-") and job["serving"] == BASE_MODEL
        assert job["candidate_report"]["nlu"]["zh"]["accuracy"] == pytest.approx(0.95)
        assert job["serving_report"]["model"] == BASE_MODEL
        assert job["regressions"] == []
        image = await ops.get(f"/api/ops/reports/{job['candidate'].removesuffix('.tar.gz')}/confusion-zh.png")
        assert image.status == 200

    async def test_the_progress_view_shows_the_component_and_epoch(self, ops: Any, monkeypatch: Any) -> None:
        monkeypatch.setenv("FAKE_TRAIN_SECONDS", "3")
        await ops.post("/api/ops/train", json={})
        seen = set()
        for _ in range(100):
            job = (await (await ops.get("/api/ops/train")).json())["job"]
            p = job["progress"]
            if p["step"] == "training" and p["epochs"]:
                seen.add((p["component"], p["epochs"]))
            if job["status"] != "running":
                break
            await asyncio.sleep(0.05)
        assert ("DIETClassifier", 5) in seen
        assert job["elapsed_s"] > 0

    async def test_a_second_training_cannot_start_while_one_runs(self, ops: Any, monkeypatch: Any) -> None:
        monkeypatch.setenv("FAKE_TRAIN_SECONDS", "2")
        assert (await ops.post("/api/ops/train", json={})).status == 202
        second = await ops.post("/api/ops/train", json={})
        assert second.status == 409
        assert (await second.json())["error"]["code"] == "training_busy"
        assert (await finished_job(ops))["status"] == "succeeded"
        assert (await ops.post("/api/ops/train", json={})).status == 202  # free again afterwards
        await finished_job(ops)

    async def test_another_process_holding_the_lock_also_blocks(self, ops: Any, ops_settings: Settings) -> None:
        import fcntl  # noqa: PLC0415 - only this test plays the other process

        with open(ops_settings.var_dir / "training.lock", "w") as other:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            assert (await ops.post("/api/ops/train", json={})).status == 409

    @pytest.mark.parametrize(("env", "step"), [("FAKE_VALIDATE_FAIL", "validating"), ("FAKE_TRAIN_FAIL", "training")])
    async def test_a_failed_step_shows_the_error_and_keeps_the_serving_model(
            self, ops: Any, monkeypatch: Any, fake_rasa: FakeRasa, env: str, step: str) -> None:
        monkeypatch.setenv(env, "1")
        await ops.post("/api/ops/train", json={})
        job = await finished_job(ops)
        assert job["status"] == "failed" and job["error"] == step
        assert job["output"]
        models = await (await ops.get("/api/ops/models")).json()
        assert models["serving"] == BASE_MODEL
        assert fake_rasa.loaded == []

    async def test_a_job_interrupted_by_a_restart_is_shown_as_failed(self, ops_settings: Settings) -> None:
        jobs = ops_settings.var_dir / "jobs"
        jobs.mkdir(parents=True)
        (jobs / "latest.json").write_text('{"job_id": "j1", "by": "O01", "started_at": "2026-11-23T06:00:00+00:00",'
                                          ' "status": "running"}', "utf-8")
        trainer = Trainer(ops_settings.project_root, ModelFolder(ops_settings.models_dir), ops_settings.var_dir,
                          lambda: NOW)
        assert trainer.job is not None and trainer.job.status == "failed" and trainer.job.error == "interrupted"


class TestPublish:
    """Publishing loads the model into every Rasa server; a worse candidate needs a reason."""

    async def test_publish_loads_the_candidate_everywhere_and_records_it(self, ops: Any, fake_rasa: FakeRasa) -> None:
        await ops.post("/api/ops/train", json={})
        job = await finished_job(ops)
        resp = await ops.post("/api/ops/publish", json={"model": job["candidate"]})
        assert resp.status == 200, await resp.text()
        assert [Path(m).name for m in fake_rasa.loaded] == [job["candidate"]]
        models = await (await ops.get("/api/ops/models")).json()
        assert models["serving"] == job["candidate"]
        assert models["history"][0]["by"] == "O01"

    async def test_a_worse_candidate_is_blocked_until_a_reason_is_given(
            self, ops: Any, fake_rasa: FakeRasa, monkeypatch: Any) -> None:
        monkeypatch.setenv("FAKE_ZH_ACCURACY", "0.90")  # serving 0.95, margin 0.02
        await ops.post("/api/ops/train", json={})
        job = await finished_job(ops)
        assert job["regressions"][0]["language"] == "zh"
        blocked = await ops.post("/api/ops/publish", json={"model": job["candidate"]})
        assert blocked.status == 409
        body = await blocked.json()
        assert body["error"]["code"] == "publish_blocked" and body["regressions"][0]["metric"] == "accuracy"
        assert body["error"]["message"]["zh"] and body["error"]["message"]["en"]
        assert fake_rasa.loaded == []
        ok = await ops.post("/api/ops/publish", json={"model": job["candidate"], "reason": "新增发票说法 hotfix"})
        assert ok.status == 200
        audit = (await (await ops.get("/api/ops/audit")).json())["entries"]
        assert [e["action"] for e in audit[:2]] == ["published", "publish_override"]
        assert audit[1]["detail"]["reason"] == "新增发票说法 hotfix"

    async def test_an_untested_model_needs_a_reason(self, ops: Any, ops_settings: Settings) -> None:
        (ops_settings.models_dir / "20261120-000000-hand.tar.gz").write_bytes(b"m")
        resp = await ops.post("/api/ops/publish", json={"model": "20261120-000000-hand.tar.gz"})
        assert resp.status == 409 and (await resp.json())["untested"] is True

    @pytest.mark.parametrize("model", ["nope.tar.gz", "../../etc/passwd", "registry.json", ""])
    async def test_unknown_models_are_refused(self, ops: Any, model: str) -> None:
        resp = await ops.post("/api/ops/publish", json={"model": model, "reason": "x"})
        assert resp.status in (400, 404)

    async def test_rasa_refusing_the_model_leaves_the_registry_alone(self, ops: Any, fake_rasa: FakeRasa) -> None:
        await ops.post("/api/ops/train", json={})
        job = await finished_job(ops)
        fake_rasa.load_status = 500
        resp = await ops.post("/api/ops/publish", json={"model": job["candidate"]})
        assert resp.status == 503
        assert (await (await ops.get("/api/ops/models")).json())["serving"] == BASE_MODEL

    async def test_rollback_serves_the_previous_model_in_one_click(self, ops: Any, fake_rasa: FakeRasa) -> None:
        await ops.post("/api/ops/train", json={})
        job = await finished_job(ops)
        await ops.post("/api/ops/publish", json={"model": job["candidate"]})
        first = await (await ops.get("/api/ops/models")).json()
        assert first["previous"] == BASE_MODEL  # what served before the first publish
        assert [h["kind"] for h in first["history"]] == ["publish", "initial"]
        second = (await ops.post("/api/ops/train", json={})).status
        assert second == 202
        job2 = await finished_job(ops)
        await ops.post("/api/ops/publish", json={"model": job2["candidate"], "reason": "same figures"})
        resp = await ops.post("/api/ops/rollback", json={})
        assert resp.status == 200
        assert (await resp.json())["serving"] == job["candidate"]
        assert Path(fake_rasa.loaded[-1]).name == job["candidate"]
        models = await (await ops.get("/api/ops/models")).json()
        assert models["serving"] == job["candidate"] and models["history"][0]["kind"] == "rollback"

    async def test_the_first_publish_can_be_rolled_back_to_the_model_before_it(
            self, ops: Any, fake_rasa: FakeRasa) -> None:
        await ops.post("/api/ops/train", json={})
        job = await finished_job(ops)
        await ops.post("/api/ops/publish", json={"model": job["candidate"]})
        resp = await ops.post("/api/ops/rollback", json={})
        assert (await resp.json())["serving"] == BASE_MODEL
        assert Path(fake_rasa.loaded[-1]).name == BASE_MODEL

    async def test_nothing_to_roll_back_is_a_clear_409(self, ops: Any) -> None:
        resp = await ops.post("/api/ops/rollback", json={})
        assert resp.status == 409
        assert (await resp.json())["error"]["code"] == "nothing_to_roll_back"


class TestFiles:
    """The real data files, edited with their comments kept; invalid edits are refused with the line."""

    async def test_the_files_are_the_projects_data_files(self, ops: Any) -> None:
        paths = {f["path"]: f for f in (await (await ops.get("/api/ops/files")).json())["files"]}
        assert paths["data/nlu/zh/orders.yml"] == {"path": "data/nlu/zh/orders.yml", "kind": "nlu", "language": "zh"}
        assert paths["domain.yml"]["kind"] == "domain"
        assert "data/rules/orders.yml" in paths and "tests/stories/test_orders_stories.yml" in paths
        assert not any(p.startswith(("bot/", "actions/", "models/")) or p == "config.yml" for p in paths)

    @pytest.mark.parametrize("path", ["../domain.yml", "/etc/passwd", "data/../config.yml", "config.yml",
                                      "bot/web/app.py", "data/nlu/zh/..%2f..%2fconfig.yml", "data\\nlu\\x.yml"])
    async def test_paths_outside_the_data_files_are_refused(self, ops: Any, path: str) -> None:
        for resp in (await ops.get(f"/api/ops/files/{path}"),
                     await ops.put(f"/api/ops/files/{path}", json={"text": "x: 1\n", "version": "v"})):
            assert resp.status in (403, 404), path
        assert (await ops.post("/api/ops/check", json={"path": path, "text": "x"})).status in (403, 404)

    async def test_a_save_keeps_comments_and_is_audited(self, ops: Any, ops_settings: Settings) -> None:
        path = "data/rules/chitchat.yml"
        found = await (await ops.get(f"/api/ops/files/{path}")).json()
        text = found["text"].replace('version: "3.1"', '# reviewed by operations\nversion: "3.1"', 1)
        resp = await ops.put(f"/api/ops/files/{path}", json={"text": text, "version": found["version"]})
        assert resp.status == 200, await resp.text()
        assert (ops_settings.project_root / path).read_text("utf-8") == text
        audit = (await (await ops.get("/api/ops/audit")).json())["entries"][0]
        assert (audit["actor"], audit["action"], audit["target"]) == ("O01", "file_saved", path)

    @pytest.mark.parametrize(("edit", "code", "line"), [
        (lambda t: t + "  - rule: broken\n    steps: [\n", "yaml_syntax", None),
        (lambda t: t.replace("- intent: greet", "- intent: greett", 1), "unknown_intent", None),
        (lambda t: t.replace("- action: utter_goodbye", "- action: utter_goodby", 1), "unknown_action", None),
    ])
    async def test_invalid_edits_are_refused_with_the_line(self, ops: Any, ops_settings: Settings, edit: Any,
                                                           code: str, line: int | None) -> None:
        path = "data/rules/chitchat.yml"
        before = (ops_settings.project_root / path).read_text("utf-8")
        found = await (await ops.get(f"/api/ops/files/{path}")).json()
        text = edit(found["text"])
        resp = await ops.put(f"/api/ops/files/{path}", json={"text": text, "version": found["version"]})
        assert resp.status == 422
        body = await resp.json()
        assert body["error"]["code"] == "invalid_file" and body["error"]["message"]["zh"]
        problem = body["problems"][0]
        assert problem["code"] == code and problem["line"] >= 1
        if code != "yaml_syntax":
            bad = text.split("\n")[problem["line"] - 1]
            assert problem["params"]["name"] in bad
        assert (ops_settings.project_root / path).read_text("utf-8") == before
        checked = await (await ops.post("/api/ops/check", json={"path": path, "text": text})).json()
        assert checked["problems"][0]["code"] == code

    async def test_concurrent_edits_are_detected_not_lost(self, aiohttp_client: Any, ops: Any) -> None:
        other = await aiohttp_client(ops.server)
        await other.post("/api/ops/session", json={"operator_id": "O02", "password": "demo"})
        path = "data/rules/aftersales.yml"
        mine = await (await ops.get(f"/api/ops/files/{path}")).json()
        theirs = await (await other.get(f"/api/ops/files/{path}")).json()
        first = await other.put(f"/api/ops/files/{path}", json={"text": theirs["text"] + "# O02 was here\n",
                                                                 "version": theirs["version"]})
        assert first.status == 200
        second = await ops.put(f"/api/ops/files/{path}", json={"text": mine["text"] + "# O01 was here\n",
                                                               "version": mine["version"]})
        assert second.status == 409
        body = await second.json()
        assert body["error"]["code"] == "edit_conflict" and body["current_version"] == (await first.json())["version"]
        assert "O02 was here" in (await (await ops.get(f"/api/ops/files/{path}")).json())["text"]

    @pytest.mark.parametrize("body", [{}, {"text": 5, "version": "x"}, {"text": "a", "version": 3}])
    async def test_malformed_requests_are_400(self, ops: Any, body: dict[str, Any]) -> None:
        resp = await ops.put("/api/ops/files/data/rules/orders.yml", json=body)
        assert resp.status in (400, 409, 422)
        assert "error" in await resp.json()


class TestNluExamples:
    """Both languages side by side; a new example lands in the right language's file."""

    async def test_intents_show_zh_and_en_side_by_side(self, ops: Any) -> None:
        rows = {r["intent"]: r for r in (await (await ops.get("/api/ops/intents")).json())["intents"]}
        invoice = rows["invoice"]
        assert len(invoice["zh"]) >= 40 and len(invoice["en"]) >= 40
        assert invoice["zh"][0]["file"] == "data/nlu/zh/orders.yml"
        assert invoice["missing"] == []

    async def test_an_intent_lacking_a_language_is_flagged(self, ops: Any, ops_settings: Settings) -> None:
        path = ops_settings.project_root / "data/nlu/en/chitchat.yml"
        text = path.read_text("utf-8")
        start = text.index("- intent: thanks")
        end = text.index("- intent:", start + 5)
        path.write_text(text[:start] + text[end:], "utf-8")
        rows = {r["intent"]: r for r in (await (await ops.get("/api/ops/intents")).json())["intents"]}
        assert rows["thanks"]["missing"] == ["en"]

    @pytest.mark.parametrize(("language", "text", "file"), [
        ("zh", "单位报销用的票能开吗", "data/nlu/zh/orders.yml"),
        ("en", "my boss needs a fapiao for this", "data/nlu/en/orders.yml"),
    ])
    async def test_an_added_example_lands_in_its_languages_file(self, ops: Any, ops_settings: Settings,
                                                                language: str, text: str, file: str) -> None:
        before = (ops_settings.project_root / file).read_text("utf-8")
        resp = await ops.post("/api/ops/examples", json={"intent": "invoice", "language": language, "text": text})
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["path"] == file
        after = (ops_settings.project_root / file).read_text("utf-8")
        added = [line for line in after.split("\n") if line not in before.split("\n")]
        assert added == [f"    - {text}"]
        rows = {r["intent"]: r for r in (await (await ops.get("/api/ops/intents")).json())["intents"]}
        assert text in [e["text"] for e in rows["invoice"][language]]
        removed = await ops.post("/api/ops/examples/remove", json={"intent": "invoice", "language": language,
                                                                     "text": text})
        assert removed.status == 200
        assert (ops_settings.project_root / file).read_text("utf-8") == before

    @pytest.mark.parametrize(("body", "status", "code"), [
        ({"intent": "no_such_intent", "language": "zh", "text": "你好"}, 422, "unknown_intent"),
        ({"intent": "greet", "language": "fr", "text": "bonjour"}, 400, "invalid_language"),
        ({"intent": "greet", "language": "en", "text": "   "}, 400, "invalid_payload"),
        ({"intent": "greet", "language": "en", "text": "two\nlines"}, 400, "invalid_payload"),
    ])
    async def test_bad_examples_are_refused(self, ops: Any, body: dict[str, Any], status: int, code: str) -> None:
        resp = await ops.post("/api/ops/examples", json=body)
        assert resp.status == status
        assert (await resp.json())["error"]["code"] == code

    async def test_a_duplicate_example_is_refused(self, ops: Any) -> None:
        rows = {r["intent"]: r for r in (await (await ops.get("/api/ops/intents")).json())["intents"]}
        existing = rows["greet"]["en"][0]["text"]
        resp = await ops.post("/api/ops/examples", json={"intent": "greet", "language": "en", "text": existing})
        assert resp.status in (409, 422)


class TestResponses:
    async def test_responses_list_both_variants(self, ops: Any) -> None:
        body = await (await ops.get("/api/ops/responses")).json()
        goodbye = next(r for r in body["responses"] if r["name"] == "utter_goodbye")
        assert "再见" in goodbye["zh"] and "goodbye" in goodbye["en"].lower()

    @pytest.mark.parametrize(("language", "text"), [("zh", "感谢光临，再会！"), ("en", "Thanks for visiting, bye!")])
    async def test_editing_one_variant_changes_only_that_line(self, ops: Any, ops_settings: Settings,
                                                              language: str, text: str) -> None:
        domain = ops_settings.project_root / "domain.yml"
        before = domain.read_text("utf-8").split("\n")
        version = (await (await ops.get("/api/ops/responses")).json())["version"]
        resp = await ops.put("/api/ops/responses/utter_goodbye", json={"language": language, "text": text,
                                                                       "version": version})
        assert resp.status == 200, await resp.text()
        after = domain.read_text("utf-8").split("\n")
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(changed) == 1 and text in changed[0][1]

    async def test_a_stale_version_is_a_conflict(self, ops: Any) -> None:
        resp = await ops.put("/api/ops/responses/utter_goodbye", json={"language": "en", "text": "Bye",
                                                                       "version": "stale"})
        assert resp.status == 409

    async def test_edits_of_different_responses_do_not_conflict(self, ops: Any, aiohttp_client: Any) -> None:
        other = await aiohttp_client(ops.server)
        await other.post("/api/ops/session", json={"operator_id": "O02", "password": "demo"})
        listed = {r["name"]: r for r in (await (await ops.get("/api/ops/responses")).json())["responses"]}
        first = await other.put("/api/ops/responses/utter_thanks", json={
            "language": "zh", "text": "不客气！", "previous": listed["utter_thanks"]["zh"]})
        assert first.status == 200, await first.text()
        second = await ops.put("/api/ops/responses/utter_goodbye", json={
            "language": "en", "text": "Bye for now!", "previous": listed["utter_goodbye"]["en"]})
        assert second.status == 200, await second.text()
        texts = {r["name"]: r for r in (await (await ops.get("/api/ops/responses")).json())["responses"]}
        assert texts["utter_thanks"]["zh"] == "不客气！" and texts["utter_goodbye"]["en"] == "Bye for now!"

    async def test_two_edits_of_the_same_variant_conflict(self, ops: Any, aiohttp_client: Any) -> None:
        other = await aiohttp_client(ops.server)
        await other.post("/api/ops/session", json={"operator_id": "O02", "password": "demo"})
        shown = {r["name"]: r for r in (await (await ops.get("/api/ops/responses")).json())["responses"]}
        before = shown["utter_thanks"]["en"]
        assert (await other.put("/api/ops/responses/utter_thanks", json={
            "language": "en", "text": "Any time!", "previous": before})).status == 200
        late = await ops.put("/api/ops/responses/utter_thanks", json={
            "language": "en", "text": "No problem!", "previous": before})
        assert late.status == 409
        assert (await late.json())["current_text"] == "Any time!"

    async def test_an_unknown_response_is_404(self, ops: Any) -> None:
        version = (await (await ops.get("/api/ops/responses")).json())["version"]
        resp = await ops.put("/api/ops/responses/utter_nope", json={"language": "en", "text": "x", "version": version})
        assert resp.status == 404


@pytest.fixture
async def conversations(ops_settings: Settings) -> None:
    """Rasa's SQL tracker store, written by Rasa, holding the scripted zh, en and mixed conversations."""
    from rasa.core.tracker_store import SQLTrackerStore  # noqa: PLC0415 - heavy; only these tests need it
    from rasa.shared.core.domain import Domain  # noqa: PLC0415
    from rasa.shared.core.trackers import DialogueStateTracker  # noqa: PLC0415

    from tests.studio.tracker_events import CONVERSATIONS  # noqa: PLC0415

    domain = Domain.load(str(ops_settings.project_root / "domain.yml"))
    store = SQLTrackerStore(domain, host=ops_settings.tracker_url)
    for sender, events in CONVERSATIONS.items():
        await store.save(DialogueStateTracker.from_events(sender, events(), slots=domain.slots))
    store.engine.dispose()


class TestConversations:
    """Recent conversations from the tracker store become NLU examples and test stories."""

    async def test_the_list_filters_by_language_fallback_and_handoff(self, ops: Any, conversations: None) -> None:
        async def senders(query: str) -> set[str]:
            body = await (await ops.get(f"/api/ops/conversations?{query}")).json()
            return {c["sender_id"] for c in body["conversations"]}

        everyone = await senders("")
        assert {"web-C001-zh-order", "web-C002-en-handoff", "web-C003-mixed"} <= everyone
        assert "web-C002-en-handoff" in await senders("handoff=1")
        assert "web-C001-zh-order" not in await senders("handoff=1")
        assert await senders("fallback=1") <= everyone - {"web-C001-zh-order"}
        assert "web-C003-mixed" in await senders("language=mixed")
        assert "web-C002-en-handoff" not in await senders("language=zh")
        assert await senders("since=2026-11-24") == set()
        assert everyone <= await senders("since=2026-11-23&until=2026-11-23")

    @pytest.mark.parametrize("query", ["language=fr", "low_confidence=2", "since=yesterday", "limit=x"])
    async def test_bad_filters_are_400(self, ops: Any, conversations: None, query: str) -> None:
        resp = await ops.get(f"/api/ops/conversations?{query}")
        assert resp.status == 400
        assert (await resp.json())["error"]["message"]["en"]

    async def test_correcting_an_intent_adds_the_message_to_its_languages_data(
            self, ops: Any, ops_settings: Settings, conversations: None) -> None:
        detail = (await (await ops.get("/api/ops/conversations/web-C002-en-handoff")).json())["conversation"]
        turn = next(t for t in detail["turns"] if t["intent"] == "nlu_fallback")
        resp = await ops.post("/api/ops/conversations/web-C002-en-handoff/corrections",
                              json={"turn": turn["index"], "intent": "complaint"})
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        assert body["language"] == "en" and body["path"].startswith("data/nlu/en/")
        assert f"    - {turn['text']}" in (ops_settings.project_root / body["path"]).read_text("utf-8")
        audit = (await (await ops.get("/api/ops/audit")).json())["entries"][0]
        assert audit["action"] == "intent_corrected" and audit["detail"]["predicted"] == "nlu_fallback"

    async def test_a_conversation_becomes_a_test_story(self, ops: Any, ops_settings: Settings,
                                                       conversations: None) -> None:
        resp = await ops.post("/api/ops/conversations/web-C001-zh-order/story", json={"name": "zh 订单状态 from chat"})
        assert resp.status == 200, await resp.text()
        again = await ops.post("/api/ops/conversations/web-C003-mixed/story", json={"name": "mixed from chat"})
        assert again.status == 200, await again.text()
        text = (ops_settings.project_root / "tests/stories/from_conversations.yml").read_text("utf-8")
        assert text.count("- story:") == 2 and "zh 订单状态 from chat" in text

    async def test_unknown_conversations_and_turns_are_404(self, ops: Any, conversations: None) -> None:
        assert (await ops.get("/api/ops/conversations/nobody")).status == 404
        resp = await ops.post("/api/ops/conversations/web-C001-zh-order/corrections",
                              json={"turn": 99, "intent": "greet"})
        assert resp.status == 404


class TestValidate:
    """The same checks as ``rasa data validate``, run on the project as it is on disk."""

    async def test_a_clean_project_validates(self, ops: Any) -> None:
        body = await (await ops.post("/api/ops/validate", json={})).json()
        assert body["ok"] is True

    async def test_problems_are_listed(self, ops: Any, monkeypatch: Any) -> None:
        monkeypatch.setenv("FAKE_VALIDATE_FAIL", "1")
        body = await (await ops.post("/api/ops/validate", json={})).json()
        assert body["ok"] is False
        assert any("not in the domain" in m for m in body["messages"])


class TestReports:
    @pytest.mark.parametrize("url", ["/api/ops/reports/x/report.json", "/api/ops/reports/../confusion-zh.png",
                                     "/api/ops/reports/nope/confusion-zh.png"])
    async def test_only_existing_confusion_plots_are_served(self, ops: Any, url: str) -> None:
        assert (await ops.get(url)).status == 404
