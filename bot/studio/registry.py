"""Which trained model is serving, which ones were published before, and rollback.

Models are Rasa's ``*.tar.gz`` files in one folder. Candidates trained by the
operator console are named ``candidate-<time>.tar.gz``; the registry file
(``registry.json`` beside them) records what is serving and the publish history.
A model trained outside the console (``make run`` after a hand edit) that is newer
than the last publish serves instead: the registry never hides newer work.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

CANDIDATE_PREFIX = "candidate-"


class ModelNotFound(Exception):
    """There is no model of that name in the models folder."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no model {name!r} in the models folder: train one or pick one from the history")
        self.name = name


@dataclass(frozen=True)
class Publication:
    """One publish or rollback: which model, by whom, when and why."""

    model: str
    by: str
    at: datetime
    reason: str = ""
    kind: str = "publish"  # publish or rollback

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "by": self.by, "at": self.at.isoformat(), "reason": self.reason,
                "kind": self.kind}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Publication:
        return cls(str(data["model"]), str(data["by"]), datetime.fromisoformat(str(data["at"])),
                   str(data.get("reason", "")), str(data.get("kind", "publish")))


@dataclass(frozen=True)
class Registry:
    """The publish history, newest last; the serving model is the last entry's."""

    history: tuple[Publication, ...] = ()

    @property
    def serving(self) -> str | None:
        return self.history[-1].model if self.history else None

    def publish(self, publication: Publication) -> Registry:
        return replace(self, history=(*self.history, publication))

    def previous(self) -> str | None:
        """The model that served before the current one (the one-click rollback target)."""
        current = self.serving
        for p in reversed(self.history):
            if p.model != current:
                return p.model
        return None

    def to_json(self) -> dict[str, Any]:
        return {"serving": self.serving, "history": [p.to_json() for p in self.history]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Registry:
        return cls(tuple(Publication.from_json(p) for p in data.get("history", ())))


class ModelFolder:
    """The models folder and its ``registry.json`` (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.registry_file = path / "registry.json"

    def models(self) -> list[Path]:
        """Every Rasa model, oldest first."""
        return sorted(self.path.glob("*.tar.gz"), key=lambda p: (p.stat().st_mtime, p.name))

    def model(self, name: str) -> Path:
        path = self.path / name
        if "/" in name or "\\" in name or not name.endswith(".tar.gz") or not path.is_file():
            raise ModelNotFound(name)
        return path

    def registry(self) -> Registry:
        try:
            return Registry.from_json(json.loads(self.registry_file.read_text("utf-8")))
        except FileNotFoundError:
            return Registry()

    def save(self, registry: Registry) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.registry_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(registry.to_json(), ensure_ascii=False, indent=2), "utf-8")
        os.replace(tmp, self.registry_file)

    def serving(self) -> Path | None:
        """The model to serve: the last published one, unless a newer non-candidate was trained since."""
        models = self.models()
        trained = [m for m in models if not m.name.startswith(CANDIDATE_PREFIX)]
        newest = trained[-1] if trained else None
        published = self.registry().serving
        if published and (self.path / published).is_file():
            chosen = self.path / published
            if newest is None or self.registry_file.stat().st_mtime >= newest.stat().st_mtime:
                return chosen
        return newest or (models[-1] if models else None)
