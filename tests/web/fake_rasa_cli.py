"""A stand-in for the ``rasa`` and evaluation commands, so web tests of the console need no TensorFlow.

``fake_rasa_cli.py data validate`` / ``train --out DIR --fixed-model-name NAME`` /
``evaluate --model M --out DIR``. Behaviour is steered by environment variables:
``FAKE_VALIDATE_FAIL=1``, ``FAKE_TRAIN_FAIL=1``, ``FAKE_TRAIN_SECONDS`` (default 0.3),
``FAKE_ZH_ACCURACY`` (default 0.95) for the candidate's report.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def arg(name: str) -> str:
    return sys.argv[sys.argv.index(name) + 1]


def main() -> int:
    command = sys.argv[1]
    if command == "data":
        print("2026-11-23 10:00:00 INFO rasa.validator - Validating intents...")
        if os.environ.get("FAKE_VALIDATE_FAIL") == "1":
            print("2026-11-23 10:00:01 ERROR rasa.validator - The intent 'x' is not in the domain.")
            return 1
        return 0
    if command == "train":
        print("2026-11-23 10:00:00 INFO rasa.engine.training.hooks - Starting to train component 'DIETClassifier'.",
              flush=True)
        seconds = float(os.environ.get("FAKE_TRAIN_SECONDS", "0.3"))
        for epoch in range(1, 6):
            time.sleep(seconds / 5)
            print(f"Epochs:  {epoch * 20}%|██        | {epoch}/5 [00:0{epoch}<00:01, 1.00it/s]", end="\r", flush=True)
        if os.environ.get("FAKE_TRAIN_FAIL") == "1":
            print("\nInvalidConfigException: something is wrong with config.yml", flush=True)
            return 1
        out = Path(arg("--out"))
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{arg('--fixed-model-name')}.tar.gz").write_bytes(b"fake model")
        print("\nYour Rasa model is trained and saved.", flush=True)
        return 0
    if command == "evaluate":
        model, out = Path(arg("--model")), Path(arg("--out"))
        out.mkdir(parents=True, exist_ok=True)
        zh = float(os.environ.get("FAKE_ZH_ACCURACY", "0.95")) if model.name.startswith("candidate-") else 0.95
        scores = {lang: {"n": 100, "accuracy": acc, "macro_f1": acc, "confusions": [["invoice", "order_status", 2]],
                         "fallbacks": 1} for lang, acc in (("zh", zh), ("en", 0.96))}
        report = {"model": model.name, "nlu": scores, "stories": {"passed": 12, "total": 12, "failed": []},
                  "images": {"zh": "confusion-zh.png", "en": "confusion-en.png"}}
        (out / "report.json").write_text(json.dumps(report), "utf-8")
        png = bytes.fromhex("89504e470d0a1a0a")  # a PNG signature is enough for a file response
        (out / "confusion-zh.png").write_bytes(png)
        (out / "confusion-en.png").write_bytes(png)
        return 0
    print(f"unknown command {sys.argv[1:]}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
