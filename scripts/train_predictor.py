"""Train the issue predictor's model on synthetic conversations and save it.

    python -m scripts.train_predictor [--out models/predictor.joblib] [--customers 4000] [--seed 7]

Conversations come from ``bot.store.history.generate`` (seeded, relative to the
fixed ``REFERENCE_NOW``); the model is ``bot.prediction_model.train``'s
calibrated gradient-boosting classifier. ``models/`` is build output. The
assistant loads the file with ``bot.prediction_model.load`` and falls back to
the rules when it is missing or stale.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bot.policy import Policy, load_policy
from bot.prediction import PredictorConfig, candidates
from bot.prediction_model import Example, PredictorModel, is_target, save, train
from bot.store.history import REFERENCE_NOW, Episode, generate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "models" / "predictor.joblib"
POLICY_FILE = ROOT / "policy.yml"
TRAIN_SEED = 7
TRAIN_CUSTOMERS = 4000


def build_examples(episodes: Sequence[Episode], policy: Policy,
                   config: PredictorConfig | None = None) -> list[Example]:
    """One training example per episode: its candidates at ``REFERENCE_NOW`` and its label."""
    return [Example(tuple(candidates(e.history, REFERENCE_NOW, policy, config)), e.issue, e.order_id)
            for e in episodes]


def train_on_seed(customers: int, seed: int, policy: Policy, noise: float = 1.0) -> tuple[PredictorModel,
                                                                                           list[Example]]:
    """Generate ``customers`` conversations from ``seed`` and train on them."""
    examples = build_examples(generate(customers, seed, REFERENCE_NOW, noise=noise), policy)
    return train(examples, seed), examples


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="model file to write")
    parser.add_argument("--customers", type=int, default=TRAIN_CUSTOMERS, help="conversations to train on")
    parser.add_argument("--seed", type=int, default=TRAIN_SEED, help="generator and model seed")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    model, examples = train_on_seed(args.customers, args.seed, load_policy(POLICY_FILE))
    save(model, args.out)
    rows = sum(len(e.candidates) for e in examples)
    covered = sum(any(is_target(c, e.issue, e.order_id) for c in e.candidates) for e in examples)
    labels = collections.Counter(e.issue for e in examples)
    print(f"trained on {len(examples)} conversations (seed {args.seed}): {rows} candidates, "
          f"{rows / max(len(examples), 1):.1f} per shopper")
    print(f"asked (issue, order) among the candidates: {covered / max(len(examples), 1):.1%}")
    print("labels: " + ", ".join(f"{k} {v / len(examples):.1%}" for k, v in labels.most_common()))
    print(f"saved {args.out} in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
