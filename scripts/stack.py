"""Start and stop the whole assistant: Rasa server, action server and web service.

``python -m scripts.stack`` is what ``make run`` runs (the embedded profile: SQLite files,
one process each); ``python -m scripts.stack --profile scale`` is ``make scale`` (shared
stores: PostgreSQL and Redis, several processes of each kind). The integration tests and
benchmarks use ``Stack`` to run the same processes on their own ports.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.studio.registry import ModelFolder

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RASA = str(VENV_BIN / "rasa")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def latest_model(models_dir: Path) -> Path | None:
    """The model to serve: the operator console's last publish, or a newer ``rasa train`` result."""
    return ModelFolder(models_dir).serving()


def train_predictor(models_dir: Path = ROOT / "models") -> Path:
    """Train the issue predictor (``scripts.train_predictor``) unless its build artefact exists."""
    out = models_dir / "predictor.joblib"
    if not out.exists():
        subprocess.run([sys.executable, "-m", "scripts.train_predictor", "--out", str(out)], cwd=ROOT, check=True)
    return out


def train(models_dir: Path = ROOT / "models") -> Path:
    """``rasa train``; Rasa itself skips the work when data and config are unchanged."""
    models_dir.mkdir(exist_ok=True)
    train_predictor(models_dir)
    subprocess.run([RASA, "train", "--out", str(models_dir), "--num-threads", "2"],
                   cwd=ROOT, check=True)
    model = latest_model(models_dir)
    if model is None:
        raise RuntimeError(f"rasa train wrote no model into {models_dir}")
    return model


def listening_sockets(port: int) -> int | None:
    """How many sockets listen on TCP ``port`` (several with SO_REUSEPORT); None without Linux's /proc."""
    count = 0
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            return None
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                count += 1
    return count


@dataclass(frozen=True)
class SharedStores:
    """Where the scale profile keeps its state, so that any process of a kind can serve any conversation.

    The shop data and tickets, and Rasa's tracker store, live in two PostgreSQL databases;
    Rasa's conversation locks (``RedisLockStore``) and the web processes' live messages go
    through Redis. ``prefix`` keeps the Redis keys and channels of one shop apart from
    another's; it is letters and digits only, because Rasa ignores any other lock key prefix.
    """

    database_url: str = "postgresql://postgres@127.0.0.1:5432/shop_scale"
    tracker_url: str = "postgresql://postgres@127.0.0.1:5432/rasa_tracker"
    redis_url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "shop"

    def __post_init__(self) -> None:
        if not self.prefix.isalnum():
            raise ValueError(f"SHOP_SCALE_PREFIX={self.prefix!r}: use letters and digits only "
                             "(Rasa's RedisLockStore ignores any other key prefix)")
        for name, url in (("SHOP_DATABASE_URL", self.database_url), ("SHOP_TRACKER_URL", self.tracker_url)):
            if make_url(url).get_backend_name() != "postgresql" or not make_url(url).database:
                raise ValueError(f"{name}={url!r}: the scale profile needs a PostgreSQL URL naming a database, "
                                 "e.g. postgresql://postgres@127.0.0.1:5432/shop_scale")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SharedStores:
        """The stores named by ``SHOP_DATABASE_URL``, ``SHOP_TRACKER_URL``, ``SHOP_REDIS_URL`` and
        ``SHOP_SCALE_PREFIX``; unset ones are the local servers on 127.0.0.1."""
        base = cls()
        return cls(database_url=env.get("SHOP_DATABASE_URL", base.database_url),
                   tracker_url=env.get("SHOP_TRACKER_URL", base.tracker_url),
                   redis_url=env.get("SHOP_REDIS_URL", base.redis_url),
                   prefix=env.get("SHOP_SCALE_PREFIX", base.prefix))

    def env(self) -> dict[str, str]:
        """The web service's settings (``bot.settings.Settings``) that point it at these stores.

        Every Rasa server shares the tracker store and ``RedisLockStore`` here, so any of them may
        take a conversation whose own server is down: ``SHOP_RASA_FAILOVER`` is on.
        """
        return {"SHOP_DATABASE_URL": self.database_url, "SHOP_TRACKER_URL": self.tracker_url,
                "SHOP_REDIS_URL": self.redis_url, "SHOP_REDIS_PREFIX": f"{self.prefix}:ws:",
                "SHOP_RASA_FAILOVER": "1"}

    def endpoints(self) -> str:
        """The ``tracker_store`` and ``lock_store`` sections of Rasa's endpoints.yml."""
        db = make_url(self.tracker_url)
        redis = urlsplit(self.redis_url)
        tracker = {"type": "SQL", "dialect": "postgresql", "url": db.host or "127.0.0.1",
                   "port": db.port or 5432, "db": db.database, "username": db.username, "password": db.password}
        lock = {"type": "redis", "url": redis.hostname or "127.0.0.1", "port": redis.port or 6379,
                "db": int(redis.path.strip("/") or 0), "password": unquote(redis.password) if redis.password else None,
                "key_prefix": self.prefix}
        return "".join(f"{section}:\n" + "".join(f"  {k}: {_yaml_scalar(v)}\n" for k, v in fields.items()
                                                 if v is not None)
                       for section, fields in (("tracker_store", tracker), ("lock_store", lock)))

    def create_databases(self) -> None:
        """Create the shop and tracker databases where missing (the web service migrates the shop's)."""
        for c, name in self._administered():
            exists = c.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first()
            if exists is None:
                c.exec_driver_sql(f"CREATE DATABASE {_identifier(name)}")

    def _administered(self) -> Iterator[tuple[sa.Connection, str]]:
        """For the shop and the tracker database in turn: an autocommit connection to their server's
        ``postgres`` database (CREATE and DROP DATABASE cannot run in a transaction), and the name."""
        for url in (self.database_url, self.tracker_url):
            target = make_url(url)
            admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as c:
                    yield c, target.database or ""
            finally:
                admin.dispose()

    def throwaway(self, tag: str) -> SharedStores:
        """Stores of one's own on the same servers, for a test or benchmark run; ``drop()`` removes them.

        Example: ``SharedStores().throwaway("bench1f2e")`` uses the databases ``shop_scale_bench1f2e``
        and ``rasa_tracker_bench1f2e`` and the Redis prefix ``shopbench1f2e``.
        """
        def own(url: str) -> str:
            db = make_url(url)
            return db.set(database=f"{db.database}_{tag}").render_as_string(hide_password=False)

        return replace(self, database_url=own(self.database_url), tracker_url=own(self.tracker_url),
                       prefix=f"{self.prefix}{tag}")

    def drop(self) -> int:
        """Drop both databases (ending sessions still connected) and delete the Redis keys under the prefix.

        Only for throwaway stores: this deletes the shop's data. Returns how many Redis keys were deleted.
        """
        for c, name in self._administered():
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)")
        client = redis.Redis.from_url(self.redis_url)
        try:
            keys = list(client.scan_iter(match=f"{self.prefix}:*"))  # RedisLockStore: "<prefix>:lock:<sender>"
            return int(client.delete(*keys)) if keys else 0
        finally:
            client.close()


def _identifier(name: str) -> str:
    """A PostgreSQL identifier, double-quoted (a database name in CREATE or DROP DATABASE)."""
    return '"' + name.replace('"', '""') + '"'


def _yaml_scalar(value: object) -> str:
    """One value of endpoints.yml: numbers as they are, strings double-quoted (JSON is valid YAML)."""
    return str(value) if isinstance(value, int) else json.dumps(str(value))


@dataclass
class Stack:
    """The three processes of the assistant, on chosen (or free) ports.

    ``web_workers`` web processes share ``web_port`` (SO_REUSEPORT); more than one needs
    ``SHOP_REDIS_URL`` in the environment or in ``extra_env``. Each stack uses its own
    Redis channel prefix (per web port) unless ``SHOP_REDIS_PREFIX`` is given.

    Without ``stores`` everything is embedded: SQLite files in ``var_dir``. With them (the
    scale profile) the shop, Rasa's trackers, its locks and the live messages are on the
    shared servers, so any Rasa server, action-server worker or web process serves any
    conversation. ``action_workers`` Sanic workers share ``action_port`` (Rasa's action
    endpoint is one URL).
    """

    var_dir: Path = ROOT / "var"
    project_dir: Path = ROOT  # the Rasa project the operator console edits and trains
    model: Path | None = None
    web_port: int = 8080
    web_workers: int = 1
    rasa_ports: tuple[int, ...] = (5005,)
    action_port: int = 5055
    action_workers: int = 1
    stores: SharedStores | None = None
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    envs: dict[str, dict[str, str]] = field(default_factory=dict)
    quiet: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "SHOP_VAR_DIR": str(self.var_dir),
            "SHOP_RASA_URLS": ",".join(f"http://127.0.0.1:{p}" for p in self.rasa_ports),
            "SHOP_RASA_TOKEN": self.token,
            "SHOP_ACTION_URL": f"http://127.0.0.1:{self.action_port}",
            "SHOP_WEB_PORT": str(self.web_port),
            "SHOP_WEB_WORKERS": str(self.web_workers),
            "SHOP_REDIS_PREFIX": os.environ.get("SHOP_REDIS_PREFIX", f"shop:{self.web_port}:ws:"),
            "SHOP_PROJECT_ROOT": str(self.project_dir),
            "SHOP_MODELS_DIR": str(self.project_dir / "models"),
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "SANIC_WORKERS": "1",
            # How long a conversation stays locked by a Rasa server that died mid-turn (Rasa's default
            # is 60 s); turns take well under a second, and the web waits SHOP_RASA_TIMEOUT_S (20 s).
            "TICKET_LOCK_LIFETIME": "10",
        })
        if self.stores is not None:
            env.update(self.stores.env())
        env.update(self.extra_env)
        return env

    def _endpoints(self) -> Path:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        path = self.var_dir / f"endpoints-{self.action_port}.yml"
        stores = (self.stores.endpoints() if self.stores is not None else
                  f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{self.var_dir / "tracker.db"}"\n')
        path.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n{stores}',
                        encoding="utf-8")
        return path

    def _spawn(self, name: str, cmd: list[str], env: Mapping[str, str] | None = None) -> None:
        log = open(self.var_dir / f"{name}.log", "ab")
        out = log if self.quiet else None
        self.commands[name] = cmd
        self.envs[name] = dict(env or {})
        self.procs[name] = subprocess.Popen(cmd, cwd=ROOT, env={**self.env(), **self.envs[name]}, stdout=out,
                                            stderr=subprocess.STDOUT if out else None,
                                            start_new_session=True)

    def start(self, timeout_s: float = 180) -> None:
        model = self.model or latest_model(self.project_dir / "models")
        if model is None:
            raise RuntimeError("no trained model: run `make run` or `rasa train` first")
        if self.web_workers > 1 and not self.env().get("SHOP_REDIS_URL"):
            raise RuntimeError(f"web_workers={self.web_workers} needs SHOP_REDIS_URL (e.g. redis://127.0.0.1:6379/0) "
                               "so that agents and shoppers on different web processes reach each other")
        if self.stores is not None:
            self.stores.create_databases()
        endpoints = self._endpoints()
        self._spawn("actions", [sys.executable, "-m", "scripts.action_server",  # rasa_sdk, logs masked
                                "--actions", "actions", "-p", str(self.action_port)],
                    env={"ACTION_SERVER_SANIC_WORKERS": str(self.action_workers)})  # rasa_sdk.constants
        for i, port in enumerate(self.rasa_ports):
            self._spawn(f"rasa{i}", [sys.executable, "-m", "scripts.rasa_server",  # rasa + bot.rasa_speedups
                                     "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port),
                                     "--auth-token", self.token, "-m", str(model),
                                     "--endpoints", str(endpoints),
                                     "--credentials", str(ROOT / "credentials.yml")])
        self._spawn("web", [sys.executable, "-m", "bot.web.app"])
        self.wait_ready(timeout_s)
        # The first web process has migrated and seeded the database; the others find it ready.
        for i in range(1, self.web_workers):
            self._spawn(f"web{i}", [sys.executable, "-m", "bot.web.app"])
        self._wait_listening(timeout_s)

    def _wait_listening(self, timeout_s: float) -> None:
        """Wait until every web process listens on the shared port."""
        deadline = time.monotonic() + timeout_s
        while (listening := listening_sockets(self.web_port)) is not None and listening < self.web_workers:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited with {p.returncode}; see {self.var_dir}/{name}.log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{listening} of {self.web_workers} web processes listen after {timeout_s}s")
            time.sleep(0.2)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        checks = [f"http://127.0.0.1:{self.action_port}/health", f"{self.url}/api/customers",
                  *(f"http://127.0.0.1:{p}/status?token={self.token}" for p in self.rasa_ports)]
        pending = list(checks)
        while pending:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited with {p.returncode}; see {self.var_dir}/{name}.log")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s}s: {pending}")
            url = pending[0]
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    body = r.read()
                    if r.status == 200 and (b"model_file" in body or "status?" not in url):
                        pending.pop(0)
                        continue
            except OSError:
                pass
            time.sleep(0.5)

    def kill(self, name: str) -> None:
        """Kill one process and its children at once (SIGKILL), as a crash would; the others keep running."""
        p = self.procs[name]
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()

    def restart(self, name: str, timeout_s: float = 120) -> None:
        """Start a stopped process again with the command it first ran, and wait until the stack is ready."""
        if self.procs[name].poll() is None:
            raise RuntimeError(f"{name} is still running; kill it first")
        self._spawn(name, self.commands[name], self.envs[name])
        self.wait_ready(timeout_s)
        self._wait_listening(timeout_s)  # a restarted web process shares the port the others answer on

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs.clear()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=("embedded", "scale"), default="embedded",
                        help="embedded: SQLite files, one web and action process (make run); scale: PostgreSQL "
                             "and Redis shared by several processes of each kind (make scale)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SHOP_WEB_PORT", "8080")))
    parser.add_argument("--web-workers", type=int, default=int(os.environ.get("SHOP_WEB_WORKERS", "0")),
                        help="web processes sharing the port (more than one needs SHOP_REDIS_URL); "
                             "default 1, or 2 in the scale profile")
    parser.add_argument("--shards", type=int, default=int(os.environ.get("SHOP_RASA_SHARDS", "2")),
                        help="Rasa server processes; conversations are sharded over them (2 uses both cores)")
    parser.add_argument("--action-workers", type=int, default=int(os.environ.get("SHOP_ACTION_WORKERS", "0")),
                        help="action-server workers sharing its port; default 1, or 2 in the scale profile")
    args = parser.parse_args()
    scale = args.profile == "scale"
    stores = SharedStores.from_env(os.environ) if scale else None
    print("==> Training the model if the data changed (rasa train)...", flush=True)
    model = train()
    print(f"==> Model: {model.name}. Starting Rasa, the action server and the web service...", flush=True)
    stack = Stack(model=model, web_port=args.port, web_workers=args.web_workers or (2 if scale else 1),
                  rasa_ports=tuple(5005 + i for i in range(args.shards)),
                  action_workers=args.action_workers or (2 if scale else 1), stores=stores)
    started = time.monotonic()
    try:
        stack.start()
        print(f"\n==> Ready in {time.monotonic() - started:.1f}s."
              f"\n    Shopper chat:  {stack.url}"
              f"\n    Agent console: {stack.url}/agent  (agents A01, A02, A03; password: demo)"
              f"\n    Operators:     {stack.url}/ops  (operators O01, O02; password: demo)", flush=True)
        if stores is not None:
            print(f"    Processes:     {stack.web_workers} web, {len(stack.rasa_ports)} Rasa servers "
                  f"(ports {', '.join(map(str, stack.rasa_ports))}), {stack.action_workers} action workers "
                  f"(port {stack.action_port})"
                  f"\n    Shop data:     {_safe(stores.database_url)}"
                  f"\n    Trackers:      {_safe(stores.tracker_url)}"
                  f"\n    Locks, live:   {_safe(stores.redis_url)} (prefix {stores.prefix})", flush=True)
        print("    Press Ctrl-C to stop.\n", flush=True)
        while all(p.poll() is None for p in stack.procs.values()):
            time.sleep(1)
        print("==> A process exited; stopping the others.", flush=True)
    except KeyboardInterrupt:
        print("\n==> Stopping...", flush=True)
    finally:
        stack.stop()
        print("==> Stopped.", flush=True)


def _safe(url: str) -> str:
    """A store's URL as printed: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


if __name__ == "__main__":
    main()
