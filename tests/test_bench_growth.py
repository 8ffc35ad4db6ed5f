"""The growth benchmark runs end to end on tiny sizes; every per-turn lookup's query plan uses an index.

The plans are facts about the schema (SQLite picks indexes regardless of table
size when it has no statistics), so they are checked; the timings are not.
"""

from __future__ import annotations

import re

import pytest

from bench.growth import main

HEADLINE = re.compile(
    r"^backend=sqlite orders=\d+ db_mb=[\d.]+ peak_rss_mb=\d+ orders_of_p99_ms=[\d.]+ order_p99_ms=[\d.]+ "
    r"worst_p99_ms=[\d.]+ worst_query=\w+ p99_growth=[\d.]+ full_scans=(\d+)$")
LOOKUPS = ("customer", "orders_of", "order", "order_of_line", "products", "price_history",
           "claims_of", "requests_of")


class TestBenchGrowth:
    def test_prints_the_tables_and_the_headline_last(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--sizes", "200,1000", "--lookups", "20"]) == 0
        out = capsys.readouterr().out
        lines = out.rstrip("\n").splitlines()
        headline = HEADLINE.match(lines[-1])
        assert headline, lines[-1]
        assert "orders=1000 " in lines[-1]
        for name in LOOKUPS:
            assert len(re.findall(rf"^  {name}\s+[\d.]+\s+[\d.]+  index$", out, re.MULTILINE)) == 2, name
        # Every plan searches by an index: no FULL SCAN verdict, no [FAIL] line, no SCAN of a table.
        assert headline.group(1) == "0"
        assert "FULL SCAN" not in out and "[FAIL]" not in out
        assert "every query plan uses an index" in out
        plan_lines = [ln.split("plan: ", 1)[1] for ln in lines if ln.startswith("      plan: ")]
        assert len(plan_lines) == 2 * 14
        for plan in plan_lines:
            steps = [s.strip() for s in plan.split("|")]
            assert all(s.startswith("SEARCH ") or s.startswith("USE TEMP B-TREE") for s in steps), plan
