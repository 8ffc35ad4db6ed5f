"""Specification of bot.prediction_model (the learned scorer) and bot.store.history (its data).

A small model is trained once per module on 300 synthetic conversations.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from bot.errors import InvalidData
from bot.policy import load_policy
from bot.prediction import (
    FEATURES,
    LABELS,
    OTHER,
    Candidate,
    CustomerHistory,
    PredictionError,
    candidates,
    predict,
)
from bot.prediction_model import Example, PredictorModel, featurize, load, save, train
from bot.store.history import REFERENCE_NOW, generate
from bot.store.seed import build_demo
from tests.conftest import NOW as DEMO_NOW

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy(ROOT / "policy.yml")


def examples(n: int, seed: int) -> list[Example]:
    return [Example(tuple(candidates(e.history, REFERENCE_NOW, POLICY)), e.issue, e.order_id)
            for e in generate(n, seed, REFERENCE_NOW)]


@pytest.fixture(scope="module")
def model() -> PredictorModel:
    return train(examples(300, 3), seed=3)


@pytest.fixture(scope="module")
def held_out() -> list[Example]:
    return examples(40, 4)


def demo_history(customer_id: str) -> CustomerHistory:
    demo = build_demo(DEMO_NOW)
    return CustomerHistory(customer_id, tuple(o for o in demo.orders if o.customer_id == customer_id),
                           {p.sku: p for p in demo.products}, demo.prices)


class TestFeaturize:
    def test_columns_follow_the_feature_list(self) -> None:
        row = featurize(Candidate("invoice", "O1", {"issue:invoice": 1.0, "order_rank": 2.0}))
        assert row.shape == (len(FEATURES),)
        assert row[FEATURES.index("issue:invoice")] == 1.0 and row[FEATURES.index("order_rank")] == 2.0
        assert row.sum() == 3.0

    def test_an_unknown_feature_is_refused(self) -> None:
        with pytest.raises(PredictionError, match="made_up"):
            featurize(Candidate("invoice", "O1", {"made_up": 1.0}))

    def test_every_label_has_a_feature(self) -> None:
        assert {f"issue:{label}" for label in LABELS} <= set(FEATURES)


class TestTrainSaveLoad:
    def test_scores_are_probabilities(self, model: PredictorModel, held_out: list[Example]) -> None:
        for ex in held_out:
            scores = model.scores(ex.candidates)
            assert len(scores) == len(ex.candidates) and all(0 <= s <= 1 for s in scores)
        assert model.scores([]) == []

    def test_round_trip_is_deterministic_across_loads(self, model: PredictorModel, held_out: list[Example],
                                                      tmp_path: Path) -> None:
        path = tmp_path / "models" / "predictor.joblib"
        save(model, path)
        first, second = load(path), load(path)
        assert first is not None and second is not None
        for ex in held_out:
            a, b = first.scores(ex.candidates), second.scores(ex.candidates)
            assert a == b == pytest.approx(model.scores(ex.candidates))

    def test_training_is_deterministic_for_a_seed(self, held_out: list[Example]) -> None:
        data = examples(120, 5)
        a, b = train(data, seed=1), train(data, seed=1)
        for ex in held_out[:10]:
            assert a.scores(ex.candidates) == b.scores(ex.candidates)

    def test_the_header_names_the_format_and_features(self, model: PredictorModel, tmp_path: Path) -> None:
        path = tmp_path / "m.joblib"
        save(model, path)
        header = json.loads(path.read_bytes().split(b"\n", 1)[0])
        assert header["format"] == "shop-assistant/issue-predictor" and header["features"] == list(FEATURES)
        assert {"version", "sklearn", "sha256"} <= set(header)

    def test_too_little_data_is_refused(self) -> None:
        lonely = Example((Candidate(OTHER, None, {f"issue:{OTHER}": 1.0}),), OTHER, None)
        with pytest.raises(PredictionError, match="training data"):
            train([lonely], seed=0)

    def test_an_unknown_label_is_refused(self) -> None:
        with pytest.raises(PredictionError, match="label"):
            train([Example((), "chit_chat", None)], seed=0)

    def test_predict_with_the_model_stays_on_the_shoppers_orders(self, model: PredictorModel) -> None:
        h = demo_history("C002")
        got = predict(h, DEMO_NOW, POLICY, model=model)
        assert 0 < len(got) <= 3 and OTHER not in {p.issue for p in got}
        assert {p.order_id for p in got} <= {o.order_id for o in h.orders}


class TestFallback:
    """A model file that cannot be used gives ``None`` and a warning; ``predict`` then uses the rules."""

    def corrupt(self, model: PredictorModel, path: Path, how: str) -> None:
        save(model, path)
        data = path.read_bytes()
        head, payload = data.split(b"\n", 1)
        header = json.loads(head)
        if how == "truncated":
            path.write_bytes(data[: len(head) + 1 + len(payload) // 2])
        elif how == "garbage":
            path.write_bytes(b"\x00\x01not a model at all")
        elif how == "features":
            header["features"] = header["features"][:-1]
            path.write_bytes(json.dumps(header).encode() + b"\n" + payload)
        elif how == "sklearn":
            header["sklearn"] = "0.0.1"
            path.write_bytes(json.dumps(header).encode() + b"\n" + payload)
        elif how == "payload":
            fake = b"definitely not joblib"
            header["sha256"] = hashlib.sha256(fake).hexdigest()
            path.write_bytes(json.dumps(header).encode() + b"\n" + fake)

    @pytest.mark.parametrize("how", ["truncated", "garbage", "features", "sklearn", "payload"])
    def test_a_corrupt_file_gives_none_with_a_warning(self, model: PredictorModel, tmp_path: Path, how: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
        path = tmp_path / "predictor.joblib"
        self.corrupt(model, path, how)
        with caplog.at_level(logging.WARNING, logger="bot.prediction_model"):
            assert load(path) is None
        assert any("rules only" in r.getMessage() for r in caplog.records)

    def test_a_missing_file_gives_none_with_a_warning(self, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.WARNING, logger="bot.prediction_model"):
            assert load(tmp_path / "nope.joblib") is None
        assert len(caplog.records) == 1 and "nope.joblib" in caplog.records[0].getMessage()

    @pytest.mark.parametrize("customer", ["C001", "C002"])
    def test_predict_falls_back_to_the_rules(self, customer: str, tmp_path: Path) -> None:
        h = demo_history(customer)
        missing = load(tmp_path / "absent.joblib")
        assert predict(h, DEMO_NOW, POLICY, model=missing) == predict(h, DEMO_NOW, POLICY)


class TestHistory:
    """The generator: seeded, separate seeds for separate splits, labels drawn from a known mixture."""

    def test_same_seed_same_episodes(self) -> None:
        a, b = generate(30, 11), generate(30, 11)
        assert [(e.issue, e.order_id, e.history.orders) for e in a] == \
            [(e.issue, e.order_id, e.history.orders) for e in b]

    def test_different_seeds_differ(self) -> None:
        assert [e.issue for e in generate(30, 11)] != [e.issue for e in generate(30, 12)]

    def test_labels_are_labels_about_the_shoppers_own_orders(self) -> None:
        for e in generate(200, 13):
            assert e.issue in LABELS and e.language in ("zh", "en")
            own = {o.order_id for o in e.history.orders}
            assert all(o.customer_id == e.history.customer_id for o in e.history.orders)
            assert e.order_id is None or e.order_id in own
            assert (e.issue == OTHER) <= (e.order_id is None)
            assert sum(e.truth.values()) == pytest.approx(1.0)
            assert e.truth.get((e.issue, e.order_id), 0) > 0

    def test_about_16_percent_of_shoppers_ask_off_the_situation(self) -> None:
        """17% nominal noise; "another order" needs two orders, so about 16% in practice."""
        episodes = generate(3000, 17)
        noisy = sum(e.driver not in ("situation", "no_orders") for e in episodes) / len(episodes)
        assert 0.14 <= noisy <= 0.19
        assert [e.driver for e in generate(200, 17, noise=0.0)].count("other") == 0

    def test_every_scenario_shape_appears(self) -> None:
        statuses = {o.status.value for e in generate(300, 19) for o in e.history.orders}
        assert statuses == {"awaiting_payment", "paid", "shipped", "delivered", "cancelled", "refunded"}

    def test_bad_arguments_are_refused(self) -> None:
        with pytest.raises(InvalidData, match="noise"):
            generate(1, 1, noise=3.0)
        with pytest.raises(InvalidData, match="n_customers"):
            generate(-1, 1)
        assert generate(0, 1) == []
