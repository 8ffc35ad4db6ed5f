"""One frozen ``Settings`` object, built from the environment in exactly one place."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Everything a process of this system needs to know about its surroundings.

    Attributes:
        project_root: The Rasa project folder (domain.yml, data/, models/).
        var_dir: Where databases, logs and other build outputs live.
        database_url: SQLAlchemy URL of the shop database (SQLite by default).
        rasa_urls: Base URLs of the Rasa servers; conversations are sharded over them.
        rasa_failover: Whether a conversation whose Rasa server refuses connections moves to the
            next one (``RasaClient``). Only safe when all servers share the tracker store and a
            ``RedisLockStore`` (the scale profile); off by default.
        action_url: Base URL of the Rasa action server (the one in Rasa's endpoints.yml, without
            ``/webhook``); the web service asks its ``/health`` when Rasa answers a turn with nothing.
        rasa_token: Token protecting the Rasa HTTP API.
        web_host: Interface the web service binds to.
        web_port: Port of the web service.
        max_message_chars: Longest shopper message that is passed on to Rasa.
        rasa_timeout_s: How long the web service waits for one Rasa turn.
        database_timeout_s: How long a query waits for a locked SQLite file or for a PostgreSQL
            connection before the request answers 503 ``database_unavailable``.
        policy_file: YAML file holding every after-sales policy number.
        predictor_file: The trained issue predictor (a build output); missing means rules only.
        cookie_secure: Whether session cookies carry the Secure flag.
        models_dir: Trained Rasa models, candidates, their test reports and the publish registry.
        tracker_url: SQLAlchemy URL of Rasa's tracker store (the operator console reads conversations).
        publish_margin: How much worse (absolute accuracy / F1) a candidate may be than the serving
            model before publishing needs an override reason.
        redis_url: Redis that carries live messages between web processes; empty means one web
            process delivering in-process (the embedded default).
        redis_prefix: Prepended to every Redis channel; shops sharing one Redis need different ones.
        web_workers: How many web processes share ``web_port`` (SO_REUSEPORT when more than one);
            more than one needs ``redis_url``.
        session_rate: Requests per second one session may make on ``/api/`` once its burst
            is spent (per cookie; per client address without one); 0 turns limiting off.
        session_burst: Requests one session may make at once.
        sign_in_rate: Sign-ins per second one client address may make once its burst is spent
            (slows password guessing); 0 turns limiting off.
        sign_in_burst: Sign-ins one client address may make at once.
    """

    project_root: Path = PROJECT_ROOT
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    rasa_urls: tuple[str, ...] = ("http://127.0.0.1:5005",)
    rasa_failover: bool = False
    action_url: str = "http://127.0.0.1:5055"
    rasa_token: str = field(default_factory=lambda: secrets.token_hex(16))
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    max_message_chars: int = 1000
    rasa_timeout_s: float = 20.0
    database_timeout_s: float = 30.0
    policy_file: Path = PROJECT_ROOT / "policy.yml"
    cookie_secure: bool = False
    predictor_file: Path = PROJECT_ROOT / "models" / "predictor.joblib"
    models_dir: Path = PROJECT_ROOT / "models"
    tracker_url: str = ""
    publish_margin: float = 0.02
    redis_url: str = ""
    redis_prefix: str = "shop:ws:"
    web_workers: int = 1
    session_rate: float = 10.0
    session_burst: int = 60
    sign_in_rate: float = 0.5
    sign_in_burst: int = 20

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.var_dir / 'shop.db'}")
        if not self.tracker_url:
            object.__setattr__(self, "tracker_url", f"sqlite:///{self.var_dir / 'tracker.db'}")
        if self.web_workers < 1:
            raise ValueError(f"SHOP_WEB_WORKERS={self.web_workers}: there must be at least one web process")
        limits = {"SHOP_SESSION_RATE": self.session_rate, "SHOP_SESSION_BURST": self.session_burst,
                  "SHOP_SIGN_IN_RATE": self.sign_in_rate, "SHOP_SIGN_IN_BURST": self.sign_in_burst}
        for name, value in limits.items():
            if value < 0:
                raise ValueError(f"{name}={value}: a rate limit cannot be negative (0 turns limiting off)")
        if self.web_workers > 1 and not self.redis_url:
            raise ValueError(f"SHOP_WEB_WORKERS={self.web_workers} needs SHOP_REDIS_URL (e.g. "
                             "redis://127.0.0.1:6379/0): without it an agent on one web process cannot reach "
                             "a shopper on another")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``SHOP_*`` environment variables; unset ones keep defaults."""
        env = os.environ if env is None else env
        base = cls()
        var_dir = Path(env.get("SHOP_VAR_DIR", str(base.var_dir)))
        urls = env.get("SHOP_RASA_URLS", ",".join(base.rasa_urls))
        root = Path(env.get("SHOP_PROJECT_ROOT", str(base.project_root)))
        return cls(
            project_root=root,
            var_dir=var_dir,
            database_url=env.get("SHOP_DATABASE_URL", ""),
            rasa_urls=tuple(u.strip().rstrip("/") for u in urls.split(",") if u.strip()),
            rasa_failover=env.get("SHOP_RASA_FAILOVER", "0") == "1",
            rasa_token=env.get("SHOP_RASA_TOKEN", base.rasa_token),
            action_url=env.get("SHOP_ACTION_URL", base.action_url).strip().rstrip("/"),
            web_host=env.get("SHOP_WEB_HOST", base.web_host),
            web_port=int(env.get("SHOP_WEB_PORT", str(base.web_port))),
            max_message_chars=int(env.get("SHOP_MAX_MESSAGE_CHARS", str(base.max_message_chars))),
            rasa_timeout_s=float(env.get("SHOP_RASA_TIMEOUT_S", str(base.rasa_timeout_s))),
            database_timeout_s=float(env.get("SHOP_DATABASE_TIMEOUT_S", str(base.database_timeout_s))),
            policy_file=Path(env.get("SHOP_POLICY_FILE", str(base.policy_file))),
            cookie_secure=env.get("SHOP_COOKIE_SECURE", "0") == "1",
            predictor_file=Path(env.get("SHOP_PREDICTOR_FILE", str(base.predictor_file))),
            models_dir=Path(env.get("SHOP_MODELS_DIR", str(root / "models"))),
            tracker_url=env.get("SHOP_TRACKER_URL", ""),
            publish_margin=float(env.get("SHOP_PUBLISH_MARGIN", str(base.publish_margin))),
            redis_url=env.get("SHOP_REDIS_URL", ""),
            redis_prefix=env.get("SHOP_REDIS_PREFIX", base.redis_prefix),
            web_workers=int(env.get("SHOP_WEB_WORKERS", str(base.web_workers))),
            session_rate=float(env.get("SHOP_SESSION_RATE", str(base.session_rate))),
            session_burst=int(env.get("SHOP_SESSION_BURST", str(base.session_burst))),
            sign_in_rate=float(env.get("SHOP_SIGN_IN_RATE", str(base.sign_in_rate))),
            sign_in_burst=int(env.get("SHOP_SIGN_IN_BURST", str(base.sign_in_burst))),
        )

    def with_(self, **changes: object) -> Settings:
        """Return a copy with some fields changed (tests use this)."""
        return replace(self, **changes)  # type: ignore[arg-type]
