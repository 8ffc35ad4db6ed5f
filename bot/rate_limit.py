"""Token buckets: how many requests one session or one client may make, refilled over time.

Each key (a session, a client address) has a bucket of ``burst`` tokens that refills
at ``per_second``; a request takes one token or is refused. Callers pass ``now``,
seconds from a monotonic clock, so tests need no sleeps.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """``burst`` requests at once, then ``per_second``; a zero in either turns limiting off.

    >>> Rate(per_second=0.5, burst=20).enabled
    True
    """

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second < 0 or self.burst < 0:
            raise ValueError(f"a rate of {self.per_second}/s with a burst of {self.burst} is negative; "
                             "use 0 to turn limiting off")

    @property
    def enabled(self) -> bool:
        return self.per_second > 0 and self.burst > 0


class Buckets:
    """One token bucket per key, in memory, for the keys used most recently.

    Args:
        rate: The refill rate and bucket size shared by every key.
        max_keys: How many buckets are kept; the least recently used is forgotten
            first. A bucket untouched for ``burst / per_second`` seconds is full
            again, so forgetting it changes nothing unless more than ``max_keys``
            keys are busy at once.
    """

    def __init__(self, rate: Rate, max_keys: int = 10_000) -> None:
        self.rate = rate
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def take(self, key: str, now: float) -> float:
        """Take a token for ``key``: 0.0 if the request may go ahead, else the seconds until it may.

        >>> b = Buckets(Rate(per_second=1, burst=2))
        >>> [b.take("s", 0.0), b.take("s", 0.0), b.take("s", 0.0), b.take("s", 1.0)]
        [0.0, 0.0, 1.0, 0.0]
        """
        if not self.rate.enabled:
            return 0.0
        tokens, at = self._buckets.pop(key, (float(self.rate.burst), now))
        tokens = min(float(self.rate.burst), tokens + max(0.0, now - at) * self.rate.per_second)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate.per_second
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)
