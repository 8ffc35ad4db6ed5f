"""The operator console's API: sign-in, validate/train/test, publish with a gate, rollback, audit.

Training runs a stand-in ``rasa`` (tests/web/fake_rasa_cli.py), so these tests
need no TensorFlow; tests/e2e/test_operator.py runs the real thing.
"""

from __future__ import annotations

import asyncio
import shutil
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
from scripts.stack import ROOT
from tests.conftest import NOW
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


def copy_project(dest: Path) -> Path:
    """A private copy of the Rasa project, so that edits never touch the repository's files."""
    for name in ("domain.yml", "config.yml"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "data", dest / "data")
    shutil.copytree(ROOT / "tests" / "nlu", dest / "tests" / "nlu")
    shutil.copytree(ROOT / "tests" / "stories", dest / "tests" / "stories")
    (dest / "models").mkdir()
    (dest / "models" / BASE_MODEL).write_bytes(b"base model")
    return dest


@pytest.fixture
def ops_settings(web_settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
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
        nothing = await ops.get("/api/ops/models")
        assert (await nothing.json())["previous"] is None  # the base model was never published
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

    async def test_nothing_to_roll_back_is_a_clear_409(self, ops: Any) -> None:
        resp = await ops.post("/api/ops/rollback", json={})
        assert resp.status == 409
        assert (await resp.json())["error"]["code"] == "nothing_to_roll_back"
