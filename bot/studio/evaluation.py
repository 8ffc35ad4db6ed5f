"""Scoring a model before it is published, and the gate that compares it with the serving one.

Pure functions over labelled predictions: the evaluation worker
(``scripts/evaluate_model.py``) collects the predictions, ``bench.nlu`` prints
the same figures, and the operator console shows them side by side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sklearn.metrics import accuracy_score, f1_score

FALLBACK = "nlu_fallback"
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Example:
    """One held-out utterance and its gold intent."""

    text: str
    intent: str


@dataclass(frozen=True)
class Scores:
    """Figures for one model on one language."""

    n: int
    accuracy: float
    macro_f1: float
    confusions: tuple[tuple[str, str, int], ...]  # (gold, predicted, count), most common first
    fallbacks: int

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": self.accuracy, "macro_f1": self.macro_f1,
                "confusions": [list(c) for c in self.confusions], "fallbacks": self.fallbacks}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scores:
        return cls(int(data["n"]), float(data["accuracy"]), float(data["macro_f1"]),
                   tuple((str(g), str(p), int(c)) for g, p, c in data["confusions"]), int(data["fallbacks"]))


def score(gold: Sequence[str], predicted: Sequence[str], top: int = 5) -> Scores:
    """Accuracy, macro-F1 over the gold intents, and the most common confusions.

    ``nlu_fallback`` is never a gold label, so it always counts as wrong.

    Example: ``score(["greet", "thanks"], ["greet", "nlu_fallback"]).accuracy == 0.5``.
    """
    if len(gold) != len(predicted) or not gold:
        raise ValueError(f"need as many predictions as gold labels, got {len(predicted)} for {len(gold)}")
    labels = sorted(set(gold))
    confusions = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    return Scores(
        n=len(gold),
        accuracy=float(accuracy_score(gold, predicted)),
        macro_f1=float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)),
        confusions=tuple((g, p, c) for (g, p), c in confusions.most_common(top)),
        fallbacks=sum(p == FALLBACK for p in predicted),
    )


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str]) -> tuple[list[str], list[list[int]]]:
    """Labels (gold intents, then any other predicted label) and counts[gold][predicted]."""
    labels = sorted(set(gold)) + sorted(set(predicted) - set(gold))
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted, strict=True):
        counts[index[g]][index[p]] += 1
    return labels, counts


@dataclass(frozen=True)
class StoryScores:
    """Test stories: how many conversations were predicted end to end without a mistake."""

    passed: int
    total: int
    failed: tuple[str, ...] = ()

    @property
    def accuracy(self) -> float:
        return self.passed / self.total if self.total else 1.0

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "total": self.total, "accuracy": self.accuracy, "failed": list(self.failed)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoryScores:
        return cls(int(data["passed"]), int(data["total"]), tuple(str(f) for f in data.get("failed", ())))


@dataclass(frozen=True)
class Report:
    """Every figure for one model: NLU per language and the test stories."""

    model: str
    nlu: Mapping[str, Scores]
    stories: StoryScores
    images: Mapping[str, str] = field(default_factory=dict)  # language -> confusion plot file name

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "nlu": {lang: s.to_json() for lang, s in self.nlu.items()},
                "stories": self.stories.to_json(), "images": dict(self.images)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        return cls(str(data["model"]), {str(k): Scores.from_json(v) for k, v in data["nlu"].items()},
                   StoryScores.from_json(data["stories"]), {str(k): str(v) for k, v in data.get("images", {}).items()})


@dataclass(frozen=True)
class Regression:
    """One figure on which the candidate is worse than the serving model by more than the margin."""

    metric: str  # "accuracy", "macro_f1" or "stories"
    language: str  # "zh", "en" or "" for stories
    candidate: float
    serving: float

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "language": self.language, "candidate": self.candidate,
                "serving": self.serving}


def regressions(candidate: Report, serving: Report | None, margin: float) -> list[Regression]:
    """Figures on which ``candidate`` is worse than ``serving`` by more than ``margin`` (absolute).

    A candidate is compared language by language, so a gain in English cannot hide a
    loss in Chinese. With no serving report (the first model) nothing regresses.

    Example: serving zh accuracy 0.95, candidate 0.93, margin 0.01 → one regression.
    """
    if serving is None:
        return []
    found = []
    for lang, mine in candidate.nlu.items():
        theirs = serving.nlu.get(lang)
        if theirs is None:
            continue
        for metric in ("accuracy", "macro_f1"):
            a, b = getattr(mine, metric), getattr(theirs, metric)
            if a < b - margin:
                found.append(Regression(metric, lang, a, b))
    if candidate.stories.accuracy < serving.stories.accuracy - margin:
        found.append(Regression("stories", "", candidate.stories.accuracy, serving.stories.accuracy))
    return found
