"""The issue-predictor benchmark runs end to end on a small seed and ends with its headline line."""

from __future__ import annotations

import re

import pytest

from bench.prediction import main

HEADLINE = re.compile(r"^top1=\d\.\d\d top3=\d\.\d\d order=\d\.\d\d brier=\d\.\d{3}$")


class TestBenchPrediction:
    def test_prints_the_table_and_the_headline_last(self, capsys: pytest.CaptureFixture[str]) -> None:
        """150 held-out conversations, a model trained on 300, every predictor in the table."""
        assert main(["--customers", "150", "--seed", "11", "--train-customers", "300", "--train-seed", "3"]) == 0
        lines = capsys.readouterr().out.rstrip("\n").splitlines()
        assert HEADLINE.match(lines[-1]), lines[-1]
        table = "\n".join(lines)
        for name in ("majority", "rules", "model", "rules+model", "ceiling"):
            assert re.search(rf"^{re.escape(name)}\s+\d\.\d{{3}}", table, re.MULTILINE), name

    def test_the_held_out_seed_must_differ_from_the_training_seed(self) -> None:
        """The held-out set is generated with its own seed, never split from the training list."""
        with pytest.raises(SystemExit):
            main(["--customers", "10", "--seed", "7", "--train-seed", "7"])
