"""Benchmark of the issue predictor ("猜你想问") on held-out synthetic conversations.

    python -m bench.prediction [--customers 1000] [--seed 2024]
                               [--train-customers 4000] [--train-seed 7] [--model PATH] [--noise 1.0]

The held-out conversations are generated with their own seed (never split
from the training list); the model is trained on ``--train-seed`` (or loaded
from ``--model``). Every predictor ranks the same candidate set, "other"
included, and the metrics read the ranking as the greeting shows it, three
(issue, order) buttons:

* ``top1``: the first prediction has the asked issue.
* ``top3``: one of the first three predictions has the asked issue.
* ``order``: over conversations about an order, the order of the first of the
  top three with the asked issue (or of the first prediction when none has
  it) is the asked order.
* ``pair3``: the exact (issue, order) asked is one of the three buttons.
* ``brier``: sum over the candidates of (p - asked)^2, plus 1 when the asked
  label is not a candidate at all (0 is perfect, 2 the worst).

Predictors: ``majority`` ranks the issues most frequent in training on the
newest order first; ``rules`` is ``rule_scores``; ``model`` the trained model
alone; ``rules+model`` is ``combine`` with ``PredictorConfig.model_weight``.
``ceiling`` ranks by the generator's own label probabilities (``Episode.truth``,
hidden factors included): no predictor can expect to beat it, and the gap to
it is what is left to learn. The last line holds the headline figures of
``rules+model``.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.policy import Policy, load_policy
from bot.prediction import Candidate, Prediction, PredictorConfig, combine, rank, rule_scores
from bot.prediction_model import PredictorModel, load
from bot.store.history import REFERENCE_NOW, Episode, generate
from scripts.train_predictor import POLICY_FILE, TRAIN_CUSTOMERS, TRAIN_SEED, build_examples, train_on_seed

HELD_OUT_SEED = 2024
HELD_OUT_CUSTOMERS = 1000


@dataclass
class Score:
    """Running totals of one predictor's metrics."""

    n: int = 0
    top1: int = 0
    top3: int = 0
    with_order: int = 0
    order: int = 0
    pair3: int = 0
    brier: float = 0.0

    def add(self, ranked: Sequence[Prediction], issue: str, order_id: str | None) -> None:
        top = ranked[:3]
        self.n += 1
        self.top1 += bool(ranked) and ranked[0].issue == issue
        self.top3 += any(p.issue == issue for p in top)
        self.pair3 += any(p.issue == issue and p.order_id == order_id for p in top)
        if order_id is not None and ranked:
            self.with_order += 1
            chosen = next((p for p in top if p.issue == issue), ranked[0])
            self.order += chosen.order_id == order_id
        hit = False
        for p in ranked:
            asked = p.issue == issue and p.order_id == order_id
            hit = hit or asked
            self.brier += (p.probability - asked) ** 2
        self.brier += 0.0 if hit else 1.0

    def row(self) -> dict[str, float]:
        return {"top1": self.top1 / self.n, "top3": self.top3 / self.n,
                "order": self.order / max(self.with_order, 1), "pair3": self.pair3 / self.n,
                "brier": self.brier / self.n}


def majority_ranker(issue_counts: Mapping[str, int]) -> Callable[[Sequence[Candidate]], list[Prediction]]:
    """The baseline: each candidate's share is its issue's training frequency, split over the
    candidates with that issue; ties go to the newest order."""
    total = sum(issue_counts.values()) or 1

    def ranker(cands: Sequence[Candidate]) -> list[Prediction]:
        per_issue = collections.Counter(c.issue for c in cands)
        scores = [issue_counts.get(c.issue, 0) / total / per_issue[c.issue] for c in cands]
        # Newest order first within an issue: a tiny tie-break that keeps probabilities intact.
        tie = [1e-9 / (1 + c.features.get("order_rank", 0.0)) for c in cands]
        return rank(cands, [s + t for s, t in zip(scores, tie, strict=True)])

    return ranker


def ceiling(episode: Episode) -> list[Prediction]:
    """The generator's own label distribution, as a ranking."""
    labels = sorted(episode.truth.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or ""))
    return [Prediction(issue, order_id, p) for (issue, order_id), p in labels]


def evaluate(episodes: Sequence[Episode], policy: Policy, model: PredictorModel,
             issue_counts: Mapping[str, int], weight: float) -> dict[str, dict[str, float]]:
    """Every predictor's metrics on ``episodes``."""
    examples = build_examples(episodes, policy)
    majority = majority_ranker(issue_counts)
    scores = {name: Score() for name in ("majority", "rules", "model", "rules+model", "ceiling")}
    for episode, example in zip(episodes, examples, strict=True):
        cands = example.candidates
        rules = rule_scores(cands)
        learned = model.scores(cands)
        rankings = {
            "majority": majority(cands),
            "rules": rank(cands, rules),
            "model": rank(cands, learned),
            "rules+model": rank(cands, combine(rules, learned, weight)),
            "ceiling": ceiling(episode),
        }
        for name, ranked in rankings.items():
            scores[name].add(ranked, episode.issue, episode.order_id)
    return {name: s.row() for name, s in scores.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the issue predictor on held-out conversations.")
    parser.add_argument("--customers", type=int, default=HELD_OUT_CUSTOMERS, help="held-out conversations")
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="held-out generator seed")
    parser.add_argument("--train-customers", type=int, default=TRAIN_CUSTOMERS, help="training conversations")
    parser.add_argument("--train-seed", type=int, default=TRAIN_SEED, help="training generator seed")
    parser.add_argument("--model", default=None, help="load this model file instead of training")
    parser.add_argument("--noise", type=float, default=1.0, help="scale of the generator's noise (0..2)")
    args = parser.parse_args(argv)
    if args.seed == args.train_seed:
        parser.error("--seed must differ from --train-seed: the held-out set is generated, not split")

    started = time.perf_counter()
    policy = load_policy(POLICY_FILE)
    model = load(args.model) if args.model else None
    if model is None:
        model, examples = train_on_seed(args.train_customers, args.train_seed, policy, args.noise)
        issue_counts = collections.Counter(e.issue for e in examples)
        source = f"trained on {args.train_customers} conversations (seed {args.train_seed})"
    else:
        training = generate(args.train_customers, args.train_seed, REFERENCE_NOW, noise=args.noise)
        issue_counts = collections.Counter(e.issue for e in training)
        source = f"loaded from {args.model}"
    held_out = generate(args.customers, args.seed, REFERENCE_NOW, noise=args.noise)
    weight = PredictorConfig().model_weight
    table = evaluate(held_out, policy, model, issue_counts, weight)

    drivers = collections.Counter(e.driver for e in held_out)
    print(f"held-out: {len(held_out)} conversations (seed {args.seed}, noise x{args.noise}); model {source}")
    print("label drivers: " + ", ".join(f"{k} {v / len(held_out):.1%}" for k, v in drivers.most_common()))
    print(f"{'predictor':<12} {'top1':>6} {'top3':>6} {'order':>6} {'pair3':>6} {'brier':>7}")
    for name, row in table.items():
        print(f"{name:<12} {row['top1']:>6.3f} {row['top3']:>6.3f} {row['order']:>6.3f} "
              f"{row['pair3']:>6.3f} {row['brier']:>7.4f}")
    print(f"rules+model weight {weight}; {time.perf_counter() - started:.1f}s")
    best = table["rules+model"]
    print(f"top1={best['top1']:.2f} top3={best['top3']:.2f} order={best['order']:.2f} brier={best['brier']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
