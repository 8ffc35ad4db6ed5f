"""Token buckets: a burst at once, then a steady rate; time is passed in, never slept."""

from __future__ import annotations

import pytest

from bot.rate_limit import Buckets, Rate
from bot.settings import Settings


class TestBuckets:
    @pytest.mark.parametrize(("rate", "times", "waits"), [
        # burst 3, one a second: three at once, then one per second
        (Rate(1.0, 3), [0, 0, 0, 0, 0.5, 1.0, 1.0], [0, 0, 0, 1.0, 0.5, 0, 1.0]),
        # burst 2, one every two seconds (0.5/s)
        (Rate(0.5, 2), [0, 0, 0, 2, 2], [0, 0, 2.0, 0, 2.0]),
        # a long pause refills up to the burst, not beyond
        (Rate(1.0, 2), [0, 0, 100, 100, 100], [0, 0, 0, 0, 1.0]),
        # zero turns limiting off
        (Rate(0, 5), [0] * 20, [0] * 20),
        (Rate(5, 0), [0] * 20, [0] * 20),
    ])
    def test_take(self, rate: Rate, times: list[float], waits: list[float]) -> None:
        buckets = Buckets(rate)
        assert [pytest.approx(buckets.take("k", t)) for t in times] == waits

    def test_keys_have_their_own_buckets(self) -> None:
        buckets = Buckets(Rate(1.0, 1))
        assert [buckets.take(k, 0) for k in ("a", "b", "a", "b")] == [0, 0, 1.0, 1.0]

    def test_only_the_most_recent_keys_are_kept(self) -> None:
        buckets = Buckets(Rate(1.0, 1), max_keys=2)
        for key in ("a", "b", "c"):
            buckets.take(key, 0)
        assert len(buckets) == 2
        assert buckets.take("c", 0) == 1.0  # still remembered
        assert buckets.take("a", 0) == 0  # forgotten: a fresh bucket

    def test_a_negative_rate_names_the_fix(self) -> None:
        with pytest.raises(ValueError, match="use 0 to turn limiting off"):
            Rate(-1, 3)


class TestSettings:
    def test_limits_come_from_the_environment(self) -> None:
        s = Settings.from_env({"SHOP_SESSION_RATE": "2.5", "SHOP_SESSION_BURST": "7", "SHOP_SIGN_IN_RATE": "0",
                               "SHOP_SIGN_IN_BURST": "3"})
        assert (s.session_rate, s.session_burst, s.sign_in_rate, s.sign_in_burst) == (2.5, 7, 0, 3)

    def test_defaults_leave_room_for_a_console_page_load(self) -> None:
        s = Settings()
        assert s.session_burst >= 30 and s.session_rate >= 5 and s.sign_in_burst >= 10

    def test_a_negative_limit_names_the_variable(self) -> None:
        with pytest.raises(ValueError, match="SHOP_SIGN_IN_BURST=-1"):
            Settings.from_env({"SHOP_SIGN_IN_BURST": "-1"})
