"""Where the Rasa server spends its CPU: at start-up and under load, sampled with py-spy.

``python -m bench.hotspots --py-spy PATH [--seconds 20] [--concurrency 10] [--model PATH]``

py-spy is not a dependency of the project; install it anywhere, for example
``pip install --target /tmp/pyspy py-spy`` and pass ``--py-spy /tmp/pyspy/bin/py-spy``.

Starts the stack with one Rasa server (fresh ``var_dir`` under ``bench/out/``),
samples the Rasa process from its launch until it is ready, then samples the
Rasa server, the web service and the action server while a closed loop of
``--concurrency`` web conversations runs for ``--seconds``. Only threads that
are running are sampled, so the shares are of CPU time, not wall time.

Prints, per recording, the share of samples whose stack passes through each
part (inclusive, so parts can overlap: TensorFlow runs inside NLU and policies)
and the functions with the most samples of their own. The last line is:
``startup_s=… startup_model_load_pct=… nlu_pct=… policies_pct=… tracker_store_pct=… action_client_pct=…
jsonschema_pct=… rasa_cpu_pct=… web_cpu_pct=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp

from bench.load import WebShopper, closed_loop, customer_for
from bench.machine import CpuMeter
from scripts.stack import ROOT, Stack, free_port, latest_model

OUT = ROOT / "bench" / "out"

#: Parts of a Rasa turn, each found by a substring of a frame (py-spy's short file names).
RASA_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("NLU pipeline", ("rasa/nlu/", "bot/nlu/")),
    ("policies (all)", ("rasa/core/policies/",)),
    ("  TEDPolicy", ("ted_policy",)),
    ("  RulePolicy", ("rule_policy",)),
    ("  MemoizationPolicy", ("memoization",)),
    ("  state featurization", ("rasa/core/featurizers/", "rasa/shared/core/generator", "past_states")),
    ("tracker store (SQL)", ("tracker_store",)),
    ("events and trackers", ("rasa/shared/core/trackers", "rasa/shared/core/events")),
    # jsonschema recursion is deep enough that py-spy cuts the stack's root: count it on its own too.
    ("action server client", ("rasa/utils/endpoints", "RemoteAction", "jsonschema")),
    ("  jsonschema check of action responses", ("jsonschema",)),
    ("  JSON encoding of requests", ("json/encoder",)),
    ("responses (NLG)", ("rasa/core/nlg/",)),
    ("lock store", ("lock_store",)),
    ("HTTP server (sanic)", ("sanic/",)),
    ("TensorFlow (inside the above)", ("tensorflow/", "keras/")),
)

STARTUP_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("imports", ("_find_and_load",)),
    ("model loading (rasa/engine, rasa/model)", ("rasa/engine/", "load_agent", "rasa/model")),
    ("  unpacking the model archive", ("tarfile",)),
    ("  NLU components", ("rasa/nlu/",)),
    ("  policies", ("rasa/core/policies/",)),
    ("TensorFlow (inside the above)", ("tensorflow/", "keras/")),
)

OTHER_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("aiohttp server", ("aiohttp/web",)),
    ("aiohttp client", ("aiohttp/client",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("sqlite3", ("sqlite3",)),
    ("JSON", ("json/",)),
    ("bot (our core)", ("bot/",)),
    ("actions (our adapters)", ("actions/",)),
    ("rasa_sdk", ("rasa_sdk/",)),
)


@dataclass(frozen=True)
class Profile:
    """Collapsed stacks from ``py-spy record --format raw``: one ``frames count`` per line."""

    stacks: tuple[tuple[tuple[str, ...], int], ...]

    @classmethod
    def read(cls, path: Path) -> Profile:
        stacks = []
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                frames, _, count = line.rpartition(" ")
                if frames and count.isdigit():
                    stacks.append((tuple(frames.split(";")), int(count)))
        return cls(tuple(stacks))

    @property
    def total(self) -> int:
        return sum(n for _, n in self.stacks)

    def share(self, needles: Sequence[str]) -> float:
        """Percent of samples with at least one frame containing one of ``needles``."""
        hit = sum(n for frames, n in self.stacks if any(s in f for f in frames for s in needles))
        return 100 * hit / self.total if self.total else 0.0

    def own(self, top: int = 10) -> list[tuple[str, float]]:
        """The innermost frames with the most samples, in percent."""
        counts: Counter[str] = Counter()
        for frames, n in self.stacks:
            counts[frames[-1]] += n
        return [(f, 100 * n / self.total) for f, n in counts.most_common(top)] if self.total else []

    def lines(self, parts: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
        out = [f"  {label:<40} {self.share(needles):5.1f}%" for label, needles in parts]
        out.append("  busiest functions (own samples):")
        out.extend(f"    {pct:5.1f}%  {frame[:110]}" for frame, pct in self.own())
        return out


class Spy:
    """One ``py-spy record`` of a process, stopped with SIGINT (py-spy then writes its file)."""

    def __init__(self, py_spy: str, pid: int, out: Path, seconds: float | None = None) -> None:
        cmd = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out),
               "--rate", "50", "--nolineno", "--nonblocking"]
        if seconds is not None:
            cmd += ["--duration", str(int(seconds))]
        self.out = out
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> Profile:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        profile = Profile.read(self.out)
        if not profile.total:
            print(f"  (py-spy wrote nothing to {self.out}: {err.decode(errors='replace')[-300:]})", flush=True)
        return profile


def spy_on_startup(stack: Stack, py_spy: str, out: Path) -> tuple[threading.Thread, list[Spy]]:
    """Attach py-spy to the Rasa server as soon as ``Stack.start()`` has launched it."""
    spies: list[Spy] = []

    def attach() -> None:
        deadline = time.monotonic() + 60
        while "rasa0" not in stack.procs and time.monotonic() < deadline:
            time.sleep(0.05)
        if "rasa0" in stack.procs:
            time.sleep(0.3)  # let the interpreter come up before attaching
            spies.append(Spy(py_spy, stack.procs["rasa0"].pid, out))

    thread = threading.Thread(target=attach, daemon=True)
    thread.start()
    return thread, spies


async def load(stack: Stack, concurrency: int, seconds: float) -> None:
    connector = aiohttp.TCPConnector(limit=0)

    async def conversation(i: int, generation: int) -> WebShopper:
        return await WebShopper.signed_in(stack.url, customer_for(i), connector)

    try:
        summary = await closed_loop(conversation, concurrency, 1.0, seconds, seed=11)
    finally:
        await connector.close()
    print(f"  load: c={concurrency} {summary.row()}", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--py-spy", required=True, help="path of the py-spy executable")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--model", type=Path)
    args = parser.parse_args(argv)
    model = args.model or latest_model(ROOT / "models")
    if model is None:
        raise SystemExit("no model: pass --model or run `rasa train` first")
    var_dir = OUT / f"hotspots-{datetime.now():%Y%m%d-%H%M%S}"
    stack = Stack(var_dir=var_dir, model=model, web_port=free_port(), rasa_ports=(free_port(),),
                  action_port=free_port(), quiet=True,
                  extra_env={"SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                             "SHOP_SESSION_RATE": "0", "SHOP_SIGN_IN_RATE": "0"})  # closed loops, not abuse
    var_dir.mkdir(parents=True, exist_ok=True)
    print(f"model {model.name}; recordings in {var_dir}", flush=True)
    spies: list[Spy] = []
    try:
        started = time.monotonic()
        thread, startup = spy_on_startup(stack, args.py_spy, var_dir / "rasa-startup.txt")
        stack.start(timeout_s=240)
        startup_s = time.monotonic() - started
        thread.join()
        boot = startup[0].stop() if startup else Profile(())
        print(f"\n[start-up] Rasa server ready in {startup_s:.1f}s; {boot.total} samples", flush=True)
        print("\n".join(boot.lines(STARTUP_PARTS)), flush=True)

        asyncio.run(load(stack, 3, 3))  # warm-up, not recorded
        pids = {name: p.pid for name, p in stack.procs.items()}
        spies = [Spy(args.py_spy, pids[name], var_dir / f"{name}-load.txt") for name in ("rasa0", "web", "actions")]
        with CpuMeter(pids) as cpu:
            asyncio.run(load(stack, args.concurrency, args.seconds))
        profiles = dict(zip(("rasa0", "web", "actions"), (s.stop() for s in spies), strict=True))
        spies = []
        print(f"  {cpu.row()}", flush=True)
    finally:
        for spy in spies:
            spy.stop()
        stack.stop()

    rasa = profiles["rasa0"]
    print(f"\n[under load] Rasa server, {rasa.total} samples (share of its CPU time)")
    print("\n".join(rasa.lines(RASA_PARTS)))
    for name in ("web", "actions"):
        print(f"\n[under load] {name}, {profiles[name].total} samples")
        print("\n".join(profiles[name].lines(OTHER_PARTS)))
    print()
    print(f"startup_s={startup_s:.1f} startup_model_load_pct={boot.share(STARTUP_PARTS[1][1]):.0f} "
          f"nlu_pct={rasa.share(RASA_PARTS[0][1]):.0f} policies_pct={rasa.share(RASA_PARTS[1][1]):.0f} "
          f"tracker_store_pct={rasa.share(RASA_PARTS[6][1]):.0f} action_client_pct={rasa.share(RASA_PARTS[8][1]):.0f} "
          f"jsonschema_pct={rasa.share(('jsonschema',)):.0f} rasa_cpu_pct={cpu.percent['rasa0']:.0f} "
          f"web_cpu_pct={cpu.percent['web']:.0f}")


if __name__ == "__main__":
    main()
