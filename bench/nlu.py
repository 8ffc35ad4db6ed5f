"""Intent accuracy and macro-F1 on the held-out NLU sets, ours against a stock Rasa pipeline.

``python -m bench.nlu [--model PATH] [--train]``

* Our model is the newest ``models/*.tar.gz`` (or ``--model``).
* The stock model is the ``rasa init`` default NLU pipeline with ``JiebaTokenizer``
  in place of ``WhitespaceTokenizer`` (so that Chinese is tokenized at all),
  trained with ``rasa train nlu`` on the same ``data/`` and ``domain.yml``.
  It is cached under ``bench/out/`` keyed by a hash of the data, the domain and
  the stock config, so reruns skip training.
* ``--train`` also times ``rasa train`` of our config into a temporary folder
  (with an empty Rasa training cache, so it really trains) and scores that fresh
  model too.

Both held-out sets (``tests/nlu/{zh,en}.yml``) are parsed with Rasa's Python
API (``Agent.load`` + ``parse_message``); metrics are computed here with
scikit-learn. A prediction of ``nlu_fallback`` counts as wrong. Macro-F1 is
averaged over the intents of the held-out set.

The last line printed is the headline:
``zh_acc=… en_acc=… zh_f1=… en_f1=… stock_zh_acc=… stock_en_acc=…`` (plus ``train_s=…``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import resource
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.machine import NOISY_PCT, machine_busy_seconds
from bot.studio.evaluation import LANGUAGES, Example, Scores, score
from scripts.stack import RASA, ROOT, latest_model

OUT = ROOT / "bench" / "out"

#: The ``rasa init`` default pipeline (Rasa 3.6), with JiebaTokenizer for Chinese.
STOCK_CONFIG = """\
recipe: default.v1
language: zh
assistant_id: bench-stock
pipeline:
  - name: JiebaTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
  - name: FallbackClassifier
    threshold: 0.3
policies: []
"""


# --- the functional core lives in bot.studio.evaluation (the operator console uses it too) ----

def fingerprint(paths: Iterable[Path], extra: str) -> str:
    """A short hash of the files' names and bytes plus ``extra`` (the cache key of the stock model)."""
    h = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def table(rows: Sequence[tuple[str, dict[str, Scores]]]) -> str:
    """Side-by-side accuracy / macro-F1 per model and language."""
    head = f"{'model':<22}" + "".join(f"{lang + ' acc':>10}{lang + ' F1':>10}{lang + ' fb':>7}"
                                      for lang in LANGUAGES)
    lines = [head, "-" * len(head)]
    for name, by_lang in rows:
        lines.append(f"{name:<22}" + "".join(
            f"{by_lang[lang].accuracy:>10.3f}{by_lang[lang].macro_f1:>10.3f}{by_lang[lang].fallbacks:>7d}"
            for lang in LANGUAGES))
    return "\n".join(lines)


# --- the imperative shell: Rasa training and parsing ---------------------------------------

def quiet_rasa() -> None:
    """Keep TensorFlow and Rasa chatter off the benchmark's output."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    warnings.filterwarnings("ignore")
    logging.captureWarnings(True)  # libraries re-enable warnings while importing; send them to logging
    logging.basicConfig(level=logging.ERROR)
    for name in ("rasa", "tensorflow", "absl", "jieba"):
        logging.getLogger(name).setLevel(logging.ERROR)


def held_out(lang: str) -> list[Example]:
    # Rasa pulls in TensorFlow, which reads TF_CPP_MIN_LOG_LEVEL at import: import after quiet_rasa().
    from rasa.shared.nlu.training_data.loading import load_data  # noqa: PLC0415

    data = load_data(str(ROOT / "tests" / "nlu" / f"{lang}.yml"))
    return [Example(m.get("text"), m.get("intent")) for m in data.intent_examples]


def predict(model: Path, texts: Sequence[str]) -> list[str]:
    """The intent Rasa predicts for each text (``nlu_fallback`` included)."""
    import jieba  # noqa: PLC0415 - see held_out()
    from rasa.core.agent import Agent  # noqa: PLC0415 - see held_out()
    from rasa.utils.log_utils import configure_structlog  # noqa: PLC0415 - see held_out()

    configure_structlog(logging.ERROR)  # otherwise every parse is logged at debug level
    jieba.setLogLevel(logging.ERROR)
    agent = Agent.load(str(model))

    async def parse_all() -> list[str]:
        return [(await agent.parse_message(t)).get("intent", {}).get("name") or "" for t in texts]

    return asyncio.run(parse_all())


@dataclass(frozen=True)
class Training:
    """How long one ``rasa train`` took, and how busy the rest of the machine was meanwhile."""

    seconds: float
    other_cpu_pct: float  # CPU used by other processes (100 = one core); high means seconds is inflated

    def note(self) -> str:
        busy = f"other processes used {self.other_cpu_pct:.0f}% of a core meanwhile"
        return busy + ("; UNRELIABLE, rerun on an idle machine" if self.other_cpu_pct > NOISY_PCT else "")


def rasa_train(args: list[str], out: Path) -> Training:
    """Run ``rasa train …`` into ``out`` and return its wall time in seconds.

    Rasa 3 caches trained components in ``.rasa/cache``, so a second training of
    the same config and data only copies them: each training here gets its own
    empty cache under ``out`` and really trains.
    """
    log = out / "train.log"
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(out / "cache"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    started, busy, ours = time.monotonic(), machine_busy_seconds(), _own_cpu_seconds()
    with log.open("wb") as f:
        done = subprocess.run([RASA, *args, "--out", str(out), "--num-threads", "2"], cwd=ROOT, env=env,
                              stdout=f, stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - started
    other = (machine_busy_seconds() - busy) - (_own_cpu_seconds() - ours)
    if done.returncode != 0:
        raise RuntimeError(f"rasa {' '.join(args)} failed ({done.returncode}); last lines of {log}:\n"
                           + "\n".join(log.read_text(errors="replace").splitlines()[-20:]))
    return Training(elapsed, 100 * other / elapsed)


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (``rasa train`` once it has exited)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def stock_model() -> Path:
    """The stock NLU model for the current data, trained once and cached under ``bench/out/``."""
    sources = [*(ROOT / "data").rglob("*.yml"), ROOT / "domain.yml"]
    folder = OUT / f"stock-nlu-{fingerprint(sources, STOCK_CONFIG)}"
    model = folder / "stock.tar.gz"
    if model.exists():
        print(f"stock model: cached {model.relative_to(ROOT)}", flush=True)
        return model
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yml"
    config.write_text(STOCK_CONFIG, encoding="utf-8")
    print(f"stock model: training into {folder.relative_to(ROOT)} (DIET + ResponseSelector, 100 epochs)...",
          flush=True)
    training = rasa_train(["train", "nlu", "--config", str(config), "--domain", str(ROOT / "domain.yml"),
                           "--nlu", str(ROOT / "data"), "--fixed-model-name", "stock"], folder)
    print(f"stock model: trained in {training.seconds:.0f}s ({training.note()})", flush=True)
    shutil.rmtree(folder / "cache", ignore_errors=True)  # the model file is all we keep
    return model


def evaluate(model: Path, sets: dict[str, list[Example]]) -> dict[str, Scores]:
    started = time.monotonic()
    texts = [e.text for lang in LANGUAGES for e in sets[lang]]
    predicted = iter(predict(model, texts))
    result = {}
    for lang in LANGUAGES:
        pred = [next(predicted) for _ in sets[lang]]
        result[lang] = score([e.intent for e in sets[lang]], pred)
    print(f"evaluated {model.name} on {len(texts)} utterances in {time.monotonic() - started:.0f}s", flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="our model (default: newest models/*.tar.gz)")
    parser.add_argument("--train", action="store_true", help="also time `rasa train` of our config and score it")
    args = parser.parse_args(argv)
    quiet_rasa()

    ours = args.model or latest_model(ROOT / "models")
    if ours is None or not ours.exists():
        raise SystemExit("no model: pass --model or run `rasa train` first")
    sets = {lang: held_out(lang) for lang in LANGUAGES}
    print(f"held-out: zh={len(sets['zh'])} en={len(sets['en'])} utterances; our model: {ours}", flush=True)

    rows: list[tuple[str, dict[str, Scores]]] = [("ours", evaluate(ours, sets))]
    train_s: float | None = None
    if args.train:
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="train-", dir=OUT))
        try:
            print("training our config with `rasa train` (NLU + dialogue, empty cache) into a temp dir...",
                  flush=True)
            training = rasa_train(["train", "--config", str(ROOT / "config.yml"), "--domain",
                                   str(ROOT / "domain.yml"), "--data", str(ROOT / "data")], tmp)
            train_s = training.seconds
            print(f"our training: {train_s:.1f}s ({training.note()})", flush=True)
            fresh = latest_model(tmp)
            if fresh is not None:
                rows.append(("ours (fresh --train)", evaluate(fresh, sets)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    stock = stock_model()
    rows.append(("stock (rasa init+jieba)", evaluate(stock, sets)))

    print()
    print(table(rows))
    print("(acc = accuracy, F1 = macro-F1 over held-out intents, fb = predictions of nlu_fallback, all wrong)")
    mine = rows[0][1]
    for lang in LANGUAGES:
        print(f"\nmost common confusions, ours, {lang} (gold -> predicted: count):")
        for gold, pred, count in mine[lang].confusions or (("-", "-", 0),):
            print(f"  {gold:>18} -> {pred:<18} {count}")
    by_name = dict(rows)
    stock_scores = by_name["stock (rasa init+jieba)"]
    figures = {
        "zh_acc": mine["zh"].accuracy, "en_acc": mine["en"].accuracy,
        "zh_f1": mine["zh"].macro_f1, "en_f1": mine["en"].macro_f1,
        "stock_zh_acc": stock_scores["zh"].accuracy, "stock_en_acc": stock_scores["en"].accuracy,
    }
    line = " ".join(f"{k}={v:.3f}" for k, v in figures.items())
    if train_s is not None:
        line += f" train_s={train_s:.1f}"
    print()
    print(line)


if __name__ == "__main__":
    main()
