"""bot.rasa_speedups changes how fast the Rasa server works, never what it answers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scripts.stack import ROOT
from tests.e2e.conftest import model_path

#: Loads the model (with or without the fast load), parses both held-out sets, prints the results.
PARSE_ALL = """
import asyncio, json, logging, sys
from bench.nlu import quiet_rasa, held_out
quiet_rasa()
if sys.argv[2] == "fast":
    from bot.rasa_speedups import install_fast_model_load
    install_fast_model_load()
from rasa.core.agent import Agent
from rasa.utils.log_utils import configure_structlog
configure_structlog(logging.ERROR)
agent = Agent.load(sys.argv[1])
texts = [e.text for lang in ("zh", "en") for e in held_out(lang)]
async def parse_all():
    return [await agent.parse_message(t) for t in texts]
print(json.dumps([[r["intent"]["name"], r["intent"]["confidence"], r["intent_ranking"][:3],
                   sorted((e["entity"], str(e["value"])) for e in r["entities"])] for r in asyncio.run(parse_all())]))
"""


def parse_all(mode: str) -> list[list[object]]:
    result = subprocess.run([sys.executable, "-c", PARSE_ALL, str(model_path()), mode], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=True)
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_fast_model_load_gives_exactly_the_stock_predictions() -> None:
    fast, stock = parse_all("fast"), parse_all("stock")
    assert len(fast) == len(stock) > 600
    for ours, theirs in zip(fast, stock, strict=True):
        assert ours[0] == theirs[0] and ours[3] == theirs[3]
        assert ours[1] == pytest.approx(theirs[1], abs=1e-6)
        assert [r["name"] for r in ours[2]] == [r["name"] for r in theirs[2]]  # type: ignore[index]


def test_the_cached_validator_accepts_and_refuses_what_rasa_does() -> None:
    from jsonschema import ValidationError  # noqa: PLC0415 - rasa imports are slow; only this test needs them
    from rasa.core.actions.action import RemoteAction  # noqa: PLC0415

    from bot.rasa_speedups import install_action_validator  # noqa: PLC0415

    action = RemoteAction("action_order_status", None)
    good = {"events": [{"event": "slot", "name": "order_id", "value": "1"}], "responses": [{"text": "hi"}]}
    bad = {"events": [{"event": "slot", "timestamp": "not a number"}], "responses": "nope"}
    stock_bad = pytest.raises(ValidationError)
    with stock_bad:
        action._validate_action_result(bad)
    install_action_validator()
    assert getattr(RemoteAction, "_shop_validator", None) is not None
    assert action._validate_action_result(good) is True
    with pytest.raises(ValidationError) as ours:
        action._validate_action_result(bad)
    assert "Failed to validate Action server response" in ours.value.message


def test_the_rasa_server_entry_point_is_rasa() -> None:
    result = subprocess.run([sys.executable, "-m", "scripts.rasa_server", "--version"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0 and "3.6.21" in result.stdout



#: A server died holding a conversation's lock; a second request waits for it (InMemoryLockStore
#: behaves as RedisLockStore here: same TicketLock, same _acquire_lock).
WAIT_FOR_A_DEAD_HOLDER = """
import asyncio, sys
if sys.argv[1] == "fixed":
    from bot.rasa_speedups import install_lock_renewal
    install_lock_renewal()
from rasa.core.lock_store import InMemoryLockStore
store = InMemoryLockStore()
store.issue_ticket("c1", 1.0)  # the dead server's ticket, never served
async def main():
    try:
        async with asyncio.timeout(8):
            async with store.lock("c1", lock_lifetime=1.0, wait_time_in_seconds=0.3):
                later = store.issue_ticket("c1", 1.0)  # a third request queues behind the waiter
                print("acquired", store.get_lock("c1").is_locked(later))
    except TimeoutError:
        print("hung")
asyncio.run(main())
"""


@pytest.mark.parametrize(("mode", "outcome"), [("stock", "hung"), ("fixed", "acquired True")])
def test_a_request_waiting_on_a_dead_servers_lock_gets_it_when_that_ticket_expires(mode: str, outcome: str) -> None:
    """Stock Rasa lets the waiter's own ticket expire too, and then waits for ever; renewed, it is served
    once the dead ticket expires, and still ahead of the requests behind it."""
    result = subprocess.run([sys.executable, "-c", WAIT_FOR_A_DEAD_HOLDER, mode], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == outcome
