"""Score one trained model on the held-out NLU sets and the test stories (a worker process).

``python -m scripts.evaluate_model --model models/x.tar.gz --project . --out DIR``

Writes ``DIR/report.json`` (a ``bot.studio.evaluation.Report``) and one confusion
plot per language, ``DIR/confusion-zh.png`` and ``DIR/confusion-en.png``. The
operator console runs it in the background for a candidate and for the serving
model, so loading TensorFlow never happens inside the web service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot.studio.evaluation import LANGUAGES, Report, StoryScores, confusion_matrix, score


def plot_confusion(labels: list[str], counts: list[list[int]], title: str, out: Path) -> None:
    """A confusion matrix as a PNG: gold intents down, predicted across."""
    import matplotlib  # noqa: PLC0415 - heavy, and only this worker needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    size = max(6.0, 0.38 * len(labels))
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            if n:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=7,
                        color="white" if i == j else "crimson")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)


def story_scores(out_dir: Path, report: dict[str, object]) -> StoryScores:
    accuracy = report.get("conversation_accuracy")
    failed_file = out_dir / "failed_test_stories.yml"
    failed: tuple[str, ...] = ()
    if failed_file.exists():
        failed = tuple(line.split(":", 1)[1].strip() for line in failed_file.read_text("utf-8").splitlines()
                       if line.lstrip().startswith("- story:"))
    if isinstance(accuracy, dict):
        return StoryScores(int(accuracy["correct"]), int(accuracy["total"]), failed)
    return StoryScores(0, 0, failed)


async def evaluate(model: Path, project: Path, out: Path) -> Report:
    from bench.nlu import quiet_rasa  # noqa: PLC0415 - import order: quiet before TensorFlow loads

    quiet_rasa()
    import logging  # noqa: PLC0415

    from rasa.core.agent import Agent  # noqa: PLC0415
    from rasa.core.test import test as test_stories  # noqa: PLC0415
    from rasa.shared.nlu.training_data.loading import load_data  # noqa: PLC0415
    from rasa.utils.log_utils import configure_structlog  # noqa: PLC0415

    configure_structlog(logging.ERROR)
    agent = Agent.load(str(model))
    nlu, images = {}, {}
    for lang in LANGUAGES:
        data = load_data(str(project / "tests" / "nlu" / f"{lang}.yml"))
        gold = [m.get("intent") for m in data.intent_examples]
        predicted = [(await agent.parse_message(m.get("text"))).get("intent", {}).get("name") or ""
                     for m in data.intent_examples]
        nlu[lang] = score(gold, predicted)
        labels, counts = confusion_matrix(gold, predicted)
        plot_confusion(labels, counts, f"{model.name} · {lang}", out / f"confusion-{lang}.png")
        images[lang] = f"confusion-{lang}.png"
    with tempfile.TemporaryDirectory() as tmp:
        result = await test_stories(str(project / "tests" / "stories"), agent, out_directory=tmp,
                                    disable_plotting=True, warnings=False)
        stories = story_scores(Path(tmp), dict(result["report"]))
    return Report(model.name, nlu, stories, images)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--project", type=Path, default=Path.cwd())
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(evaluate(args.model, args.project, args.out))
    (args.out / "report.json").write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=2), "utf-8")
    print(json.dumps({lang: round(s.accuracy, 3) for lang, s in report.nlu.items()}
                     | {"stories": f"{report.stories.passed}/{report.stories.total}"}))


if __name__ == "__main__":
    main()
