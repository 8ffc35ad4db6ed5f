"""The trained model against the conversation tests in tests/stories, in zh, en and mixed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts.stack import ROOT
from tests.e2e.conftest import model_path


def test_the_model_passes_the_test_stories(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "test", "core", "--stories", "tests/stories",
         "--model", str(model_path()), "--out", str(tmp_path), "--fail-on-prediction-errors", "--no-plot"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    failed = (tmp_path / "failed_test_stories.yml")
    detail = failed.read_text("utf-8") if failed.exists() else result.stdout[-4000:] + result.stderr[-4000:]
    assert result.returncode == 0, detail
