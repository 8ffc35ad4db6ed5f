"""Reading ``rasa train`` output into a progress view: step, component, epoch.

Rasa logs ``Starting to train component 'DIETClassifier'.`` and tqdm draws
``Epochs:  40%|████      | 14/35 [00:21<00:31, ...]`` (separated by ``\\r``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

_COMPONENT = re.compile(r"Starting to train component '([^']+)'")
_EPOCH = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")
_NOTHING_TO_DO = re.compile(r"Nothing changed|No training of components required|skipping training")


@dataclass(frozen=True)
class Progress:
    """Where a background job is: its step and, while training, the component and epoch."""

    step: str = "queued"  # queued, validating, training, testing, done, failed
    component: str = ""
    epoch: int = 0
    epochs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "component": self.component, "epoch": self.epoch, "epochs": self.epochs}


def advance(progress: Progress, line: str) -> Progress:
    """The progress after one line (or ``\\r`` segment) of ``rasa train`` output.

    Example: ``advance(Progress("training"), "Epochs:  40%|██| 14/35 [00:21<...]").epoch == 14``.
    """
    if m := _COMPONENT.search(line):
        return replace(progress, component=m.group(1), epoch=0, epochs=0)
    matches = _EPOCH.findall(line)
    if matches:
        done, total = matches[-1]
        return replace(progress, epoch=int(done), epochs=int(total))
    if _NOTHING_TO_DO.search(line):
        return replace(progress, component="", epoch=0, epochs=0)
    return progress
