"""The learned half of the issue predictor: a calibrated classifier over candidate features.

Each ``bot.prediction.Candidate`` is one row (``featurize``: the columns of
``FEATURES``, documented in ``bot.prediction.FEATURES``); the target is 1 for
the candidate the shopper actually asked about (same issue and order) and 0
for the others. The classifier is a histogram gradient-boosting model (it
learns interactions such as "issue is price_protection *and* the price
dropped" without hand-made crosses) wrapped in ``CalibratedClassifierCV``
(isotonic, 3 folds) so its outputs are probabilities; ``bot.prediction.rank``
then normalises them over each shopper's candidate set. Fitting and scoring
run on one OpenMP thread: a shopper's dozen candidates score in milliseconds
that way, while the thread pool's start-up costs more than it saves, and
the cores are shared with the rest of the assistant.

The model file is build output (``models/``, git-ignored): one JSON header
line (format, version, feature list, scikit-learn version, SHA-256 of the
payload) followed by a joblib payload. ``load`` validates the header and
returns ``None`` with a logged warning for a missing, corrupt or mismatched
file, so the assistant falls back to the rules instead of failing. Only load
files this project built: a joblib payload can run code when unpickled.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from bot.prediction import FEATURES, LABELS, Candidate, PredictionError

log = logging.getLogger(__name__)

#: What the file's header must say; bump ``VERSION`` when ``FEATURES`` or the payload changes.
FORMAT = "shop-assistant/issue-predictor"
VERSION = 1
_INDEX = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class Example:
    """One training conversation: the shopper's candidates and what they asked first.

    ``order_id`` is ``None`` for "other" (and for an order-less question); a
    label that matches no candidate still teaches the model what was *not* asked.
    """

    candidates: tuple[Candidate, ...]
    issue: str
    order_id: str | None


@dataclass(frozen=True)
class PredictorModel:
    """A trained classifier and the feature list it was trained on.

    Implements ``bot.prediction.Scorer``: ``scores`` gives one probability per candidate.
    """

    estimator: Any
    features: tuple[str, ...] = FEATURES

    def scores(self, candidates: Sequence[Candidate]) -> list[float]:
        """P(asked) for each candidate, in order (not yet normalised per shopper)."""
        if not candidates:
            return []
        x = np.vstack([featurize(c) for c in candidates])
        with threadpool_limits(limits=1, user_api="openmp"):
            probabilities = self.estimator.predict_proba(x)[:, 1]
        return [float(p) for p in probabilities]


def featurize(candidate: Candidate) -> np.ndarray:
    """The candidate's features as a row in ``FEATURES`` order; absent features are 0.

    Raises:
        PredictionError: the candidate has a feature not in ``FEATURES`` (a
            renamed feature would otherwise be silently dropped).
    """
    row = np.zeros(len(FEATURES), dtype=np.float64)
    for name, value in candidate.features.items():
        index = _INDEX.get(name)
        if index is None:
            raise PredictionError("feature", f"{name!r} is not in bot.prediction.FEATURES")
        row[index] = float(value)
    return row


def is_target(candidate: Candidate, issue: str, order_id: str | None) -> bool:
    """Whether ``candidate`` is what was asked: same issue and same order."""
    return candidate.issue == issue and candidate.order_id == order_id


def train(examples: Sequence[Example], seed: int) -> PredictorModel:
    """Fit the calibrated classifier on every candidate of every example.

    Deterministic for a given ``seed`` and example list.

    Raises:
        PredictionError: an unknown label, or too few positive or negative rows
            (at least 3 of each, one per calibration fold).
    """
    rows: list[np.ndarray] = []
    targets: list[int] = []
    for example in examples:
        if example.issue not in LABELS:
            raise PredictionError("label", f"{example.issue!r}; use one of {', '.join(LABELS)}")
        for c in example.candidates:
            rows.append(featurize(c))
            targets.append(int(is_target(c, example.issue, example.order_id)))
    positives = sum(targets)
    if positives < 3 or len(targets) - positives < 3:
        raise PredictionError("training data", f"{positives} asked and {len(targets) - positives} "
                              "not-asked candidates; generate more conversations")
    booster = HistGradientBoostingClassifier(learning_rate=0.08, max_iter=200, max_leaf_nodes=15,
                                             min_samples_leaf=40, l2_regularization=1.0,
                                             early_stopping=False, random_state=seed)
    # Positional: the keyword is base_estimator in scikit-learn 1.1, estimator from 1.2.
    calibrated = CalibratedClassifierCV(booster, method="isotonic", cv=3)
    with threadpool_limits(limits=1, user_api="openmp"):
        calibrated.fit(np.vstack(rows), np.asarray(targets))
    return PredictorModel(calibrated)


def save(model: PredictorModel, path: Path | str) -> None:
    """Write ``model`` to ``path`` (header line + joblib payload), creating its folder."""
    buffer = io.BytesIO()
    joblib.dump(model.estimator, buffer)
    payload = buffer.getvalue()
    header = {"format": FORMAT, "version": VERSION, "features": list(model.features),
              "sklearn": sklearn.__version__, "sha256": hashlib.sha256(payload).hexdigest()}
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(json.dumps(header).encode("utf-8") + b"\n" + payload)


def load(path: Path | str) -> PredictorModel | None:
    """The model saved at ``path``, or ``None`` (with a warning) when it cannot be used.

    ``None`` for: a missing or unreadable file, a header that is not this
    format and version, a different feature list or scikit-learn version, a
    payload whose checksum does not match, or one that does not unpickle.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        log.warning("issue predictor model %s not loaded (%s); using the rules only", path, exc)
        return None
    problem = _check(data)
    if problem is not None:
        log.warning("issue predictor model %s not loaded: %s; using the rules only", path, problem)
        return None
    payload = data.split(b"\n", 1)[1]
    try:
        estimator = joblib.load(io.BytesIO(payload))
    # Any unpickling failure (EOFError, UnpicklingError, AttributeError, ImportError...)
    # means "no model", never a crash.
    except Exception as exc:
        log.warning("issue predictor model %s not loaded: payload unreadable (%s); using the rules only",
                    path, exc)
        return None
    if not hasattr(estimator, "predict_proba"):
        log.warning("issue predictor model %s not loaded: payload is not a classifier; "
                    "using the rules only", path)
        return None
    return PredictorModel(estimator)


def _check(data: bytes) -> str | None:
    """Why the file's header does not fit, or ``None``."""
    head, sep, payload = data.partition(b"\n")
    if not sep:
        return "no header line"
    try:
        header = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "header is not JSON"
    if not isinstance(header, dict):
        return "header is not a JSON object"
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        return f"format {header.get('format')!r} version {header.get('version')!r}, expected {FORMAT!r} {VERSION}"
    if header.get("features") != list(FEATURES):
        return "trained on another feature list; retrain with scripts.train_predictor"
    if header.get("sklearn") != sklearn.__version__:
        return f"built with scikit-learn {header.get('sklearn')}, running {sklearn.__version__}; retrain"
    if header.get("sha256") != hashlib.sha256(payload).hexdigest():
        return "payload checksum mismatch (truncated or corrupt file)"
    return None
