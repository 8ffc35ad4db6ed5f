"""Background jobs of the operator console: validate, train, test, then publish or roll back.

One ``Trainer`` per web process owns the running job (an asyncio task and its
subprocesses). A file lock in ``var/`` makes "a training is already running"
true across processes too. Training writes a *candidate* model; the serving
model changes only on publish, so a failed training leaves it untouched.
Every job is written to ``var/jobs/`` as it goes: a restart shows what happened.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bot.studio.evaluation import Regression, Report, regressions
from bot.studio.progress import Progress, advance
from bot.studio.registry import CANDIDATE_PREFIX, ModelFolder, Publication

log = logging.getLogger(__name__)
_OLD_MODEL = re.compile(r"old model stored at '([^']+)'")


class TrainingBusy(Exception):
    """A training is already running (in this process or another one)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"training {job_id or '(another process)'} is already running")
        self.job_id = job_id


class PublishBlocked(Exception):
    """The candidate is worse than the serving model, or untested, and no override reason was given."""

    def __init__(self, model: str, found: Sequence[Regression], untested: bool = False) -> None:
        super().__init__(f"{model}: {'untested' if untested else f'{len(found)} regression(s)'}")
        self.model = model
        self.regressions = list(found)
        self.untested = untested


@dataclass(frozen=True)
class Job:
    """One validate → train → test run."""

    job_id: str
    by: str
    started_at: datetime
    status: str = "running"  # running, succeeded, failed
    progress: Progress = field(default_factory=Progress)
    finished_at: datetime | None = None
    elapsed_s: float = 0.0
    candidate: str = ""
    serving: str = ""
    error: str = ""
    output: str = ""  # the tail of the failing step's output

    def to_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "by": self.by, "started_at": self.started_at.isoformat(),
                "status": self.status, "progress": self.progress.to_json(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "elapsed_s": round(self.elapsed_s, 1), "candidate": self.candidate, "serving": self.serving,
                "error": self.error, "output": self.output}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Job:
        p = d.get("progress", {})
        return cls(str(d["job_id"]), str(d["by"]), datetime.fromisoformat(d["started_at"]), str(d["status"]),
                   Progress(p.get("step", "queued"), p.get("component", ""), int(p.get("epoch", 0)),
                            int(p.get("epochs", 0))),
                   datetime.fromisoformat(d["finished_at"]) if d.get("finished_at") else None,
                   float(d.get("elapsed_s", 0)), str(d.get("candidate", "")), str(d.get("serving", "")),
                   str(d.get("error", "")), str(d.get("output", "")))


@dataclass(frozen=True)
class Commands:
    """The command lines of each step (tests swap in a fake ``rasa``)."""

    python: str = sys.executable
    rasa: str = str(Path(sys.executable).parent / "rasa")

    def validate(self) -> list[str]:
        return [self.rasa, "data", "validate", "--domain", "domain.yml", "--data", "data", "--config", "config.yml"]

    def train(self, out: Path, name: str) -> list[str]:
        return [self.rasa, "train", "--out", str(out), "--fixed-model-name", name, "--num-threads", "2"]

    def evaluate(self, model: Path, project: Path, out: Path) -> list[str]:
        return [self.python, "-m", "scripts.evaluate_model", "--model", str(model), "--project", str(project),
                "--out", str(out)]


@dataclass
class Trainer:
    """Runs one job at a time and remembers every job's outcome on disk."""

    project_root: Path
    models: ModelFolder
    var_dir: Path
    clock: Callable[[], datetime]
    margin: float = 0.02
    commands: Commands = Commands()
    job: Job | None = None
    _task: asyncio.Task[None] | None = None
    _lock_file: IO[str] | None = None
    _procs: set[asyncio.subprocess.Process] = field(default_factory=set)
    _started: float = 0.0

    def __post_init__(self) -> None:
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.job = self._load_latest()
        if self.job is not None and self.job.status == "running":  # this process died mid-job
            self.job = replace(self.job, status="failed", progress=Progress("failed"), error="interrupted",
                               finished_at=self.clock())
            self._save()

    @property
    def jobs_dir(self) -> Path:
        return self.var_dir / "jobs"

    def reports_dir(self, model: str) -> Path:
        return self.models.path / "reports" / model.removesuffix(".tar.gz")

    def report(self, model: str) -> Report | None:
        try:
            return Report.from_json(json.loads((self.reports_dir(model) / "report.json").read_text("utf-8")))
        except FileNotFoundError:
            return None

    # -- the job ----------------------------------------------------------------
    def start(self, by: str) -> Job:
        """Start validate → train → test in the background; ``TrainingBusy`` if one runs."""
        if self._task is not None and not self._task.done():
            raise TrainingBusy(self.job.job_id if self.job else "")
        self._lock_file = open(self.var_dir / "training.lock", "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            self._lock_file = None
            raise TrainingBusy("") from None
        now = self.clock()
        self.job = Job(f"{now.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}", by, now)
        self._started = time.monotonic()
        self._save()
        self._task = asyncio.create_task(self._run())
        return self.job

    async def wait(self) -> Job | None:
        if self._task is not None:
            await asyncio.shield(self._task)
        return self.job

    async def close(self) -> None:
        for proc in list(self._procs):
            if proc.returncode is None:
                proc.terminate()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def _update(self, **changes: Any) -> None:
        assert self.job is not None
        self.job = replace(self.job, elapsed_s=time.monotonic() - self._started, **changes)
        self._save()

    async def _run(self) -> None:
        try:
            self._update(progress=Progress("validating"))
            await self._step(self.commands.validate())
            self._update(progress=Progress("training"))
            candidate = await self._train()
            serving = self.models.serving()
            self._update(progress=Progress("testing"), candidate=candidate.name,
                         serving=serving.name if serving else "")
            for model in {candidate, *([serving] if serving else [])}:
                if self.report(model.name) is None:
                    await self._step(self.commands.evaluate(model, self.project_root,
                                                            self.reports_dir(model.name)))
            self._update(status="succeeded", progress=Progress("done"), finished_at=self.clock())
        except StepFailed as exc:
            failed_at = replace(self.job.progress, step="failed") if self.job else Progress("failed")
            self._update(status="failed", progress=failed_at, error=exc.step, output=exc.output[-4000:],
                         finished_at=self.clock())
        except asyncio.CancelledError:
            self._update(status="failed", progress=Progress("failed"), error="cancelled", finished_at=self.clock())
            raise
        except Exception as exc:
            log.exception("training job failed")
            self._update(status="failed", progress=Progress("failed"), error="internal", output=repr(exc),
                         finished_at=self.clock())
        finally:
            if self._lock_file is not None:
                self._lock_file.close()  # releases the flock
                self._lock_file = None

    async def _train(self) -> Path:
        name = f"{CANDIDATE_PREFIX}{self.job.job_id if self.job else secrets.token_hex(4)}"
        output = await self._step(self.commands.train(self.models.path, name), track=True)
        made = self.models.path / f"{name}.tar.gz"
        if made.exists():
            return made
        if m := _OLD_MODEL.search(output):  # nothing changed: Rasa points at the model it would have made
            return Path(m.group(1)).resolve()
        raise StepFailed("training", output)

    async def _step(self, cmd: list[str], track: bool = False) -> str:
        """Run one step's subprocess; feed its output to the progress view; raise on failure."""
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                           os.environ.get("PYTHONPATH", "")]))}
        proc = await asyncio.create_subprocess_exec(*cmd, cwd=self.project_root, env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        self._procs.add(proc)
        chunks: list[str] = []
        try:
            assert proc.stdout is not None
            buffer = ""
            while data := await proc.stdout.read(4096):
                text = data.decode("utf-8", "replace")
                chunks.append(text)
                if track and self.job is not None:
                    buffer += text
                    *lines, buffer = re.split(r"[\r\n]", buffer)
                    progress = self.job.progress
                    for line in lines:
                        progress = advance(progress, line)
                    if progress != self.job.progress:
                        self._update(progress=progress)
            code = await proc.wait()
        finally:
            self._procs.discard(proc)
        output = "".join(chunks)
        if code != 0:
            step = self.job.progress.step if self.job else "step"
            raise StepFailed(step, output)
        return output

    # -- publishing -----------------------------------------------------------------
    def compare(self, candidate: str, serving: str | None) -> tuple[Report | None, Report | None, list[Regression]]:
        """Both models' test reports (``None``: untested) and the candidate's regressions against the serving one."""
        mine = self.report(candidate)
        theirs = self.report(serving) if serving else None
        return mine, theirs, regressions(mine, theirs, self.margin) if mine else []

    def check_publish(self, model: str, reason: str) -> list[Regression]:
        """The regressions of ``model`` against the serving model; ``PublishBlocked`` without a reason."""
        self.models.model(model)
        serving = self.models.serving()
        candidate, _, found = self.compare(model, serving.name if serving else None)
        if candidate is None and not reason:
            raise PublishBlocked(model, [], untested=True)
        if found and not reason:
            raise PublishBlocked(model, found)
        return found

    async def validate(self) -> tuple[bool, str]:
        """``rasa data validate`` on the project as it is on disk now: whether it passed, and its output."""
        try:
            return True, await self._step(self.commands.validate())
        except StepFailed as exc:
            return False, exc.output

    def record_publish(self, model: str, by: str, reason: str, kind: str) -> None:
        """Add a publish (or rollback) to the registry.

        The first publish also records the model that was serving until then
        (trained by ``make run``), so that rollback can go back to it.
        """
        folder = self.models
        registry = folder.registry()
        before = folder.serving()
        if not registry.history and before is not None and before.name != model:
            registry = registry.publish(Publication(before.name, "system", self.clock(), "", "initial"))
        folder.save(registry.publish(Publication(model, by, self.clock(), reason, kind)))

    # -- persistence ------------------------------------------------------------------
    def _save(self) -> None:
        if self.job is None:
            return
        body = json.dumps(self.job.to_json(), ensure_ascii=False)
        for path in (self.jobs_dir / f"{self.job.job_id}.json", self.jobs_dir / "latest.json"):
            tmp = path.with_suffix(".tmp")
            tmp.write_text(body, "utf-8")
            os.replace(tmp, path)

    def _load_latest(self) -> Job | None:
        try:
            return Job.from_json(json.loads((self.jobs_dir / "latest.json").read_text("utf-8")))
        except (FileNotFoundError, ValueError, KeyError):
            return None


class StepFailed(Exception):
    """A step's subprocess exited with an error."""

    def __init__(self, step: str, output: str) -> None:
        super().__init__(f"{step} failed")
        self.step = step
        self.output = output
