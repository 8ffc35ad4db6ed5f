"""``create_app``: reading it shows the whole web service."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import yaml
from aiohttp import web

from bot import copilot, prediction, prediction_model
from bot.policy import load_policy
from bot.privacy import install_log_masking
from bot.rate_limit import Rate
from bot.settings import Settings
from bot.store.aftersales import SqlAfterSales
from bot.store.database import create_engine
from bot.store.handoff import SqlHandoff
from bot.store.migrations import migrate
from bot.store.operators import SqlOperators
from bot.store.seed import build_demo
from bot.store.sessions import SqlSessions
from bot.store.shop import SqlShop
from bot.store.tracker import TrackerReader
from bot.store.transcript import SqlTranscript
from bot.studio.files import ProjectFiles
from bot.studio.registry import ModelFolder
from bot.web import agent, chat, operator
from bot.web.errors import error_middleware
from bot.web.guard import long_name_middleware, origin_middleware, rate_limit_middleware
from bot.web.hub import Hub, RedisHub
from bot.web.keys import (
    STATIC,
    actions_key,
    aftersales_key,
    clock_key,
    copilot_text_key,
    handoff_key,
    hub_key,
    intents_key,
    operators_key,
    prediction_text_key,
    predictor_key,
    project_files_key,
    publish_lock_key,
    rasa_conversations_key,
    rasa_key,
    sessions_key,
    settings_key,
    shop_key,
    strings_key,
    tracker_key,
    trainer_key,
    transcript_key,
)
from bot.web.rasa_client import ActionServer, RasaClient, RasaConversations
from bot.web.training import Trainer

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


async def close_pages(app: web.Application) -> None:
    """At shutdown, close every open page before aiohttp waits (up to a minute) for open handlers.

    The pages reconnect at once, to another web process if there are several.
    """
    await app[hub_key].close_all()


def create_app(settings: Settings, *, rasa: RasaClient | None = None,  # noqa: PLR0915 - it lists every resource
               clock: Callable[[], datetime] = utc_now, seed: bool = True,
               ticks: Callable[[], float] = time.monotonic) -> web.Application:
    """Build the web service: stores, the Rasa client, the live hub and every route table.

    The live hub is in-process, or goes through Redis when ``settings.redis_url`` is set
    (several web processes).

    Args:
        settings: Where the database and Rasa are, limits, paths.
        rasa: The Rasa client; tests pass one pointing at a fake Rasa.
        clock: The source of ``now``.
        seed: Create and seed the demo shop when the database is empty.
        ticks: Seconds from a monotonic clock, for the rate limits.
    """
    strings = json.loads((STATIC / "i18n.json").read_text("utf-8"))
    app = web.Application(middlewares=[
        error_middleware(strings),
        origin_middleware(strings),  # before the rate limit: another site cannot spend a session's tokens
        rate_limit_middleware(strings, Rate(settings.session_rate, settings.session_burst),
                              Rate(settings.sign_in_rate, settings.sign_in_burst), ticks),
        long_name_middleware(),
    ], client_max_size=64 * 1024)
    engine = create_engine(settings.database_url, settings.database_timeout_s)
    migrate(engine)
    shop = SqlShop(engine)
    if seed and shop.is_empty():
        demo = build_demo(clock())
        shop.load(demo.customers, demo.products, demo.prices, demo.orders)
        log.info("seeded the demo shop into %s", settings.database_url)
    domain = yaml.safe_load((settings.project_root / "domain.yml").read_text("utf-8"))
    intents = frozenset(i if isinstance(i, str) else next(iter(i)) for i in domain["intents"])

    app[settings_key] = settings
    app[strings_key] = strings
    app[intents_key] = intents
    app[clock_key] = clock
    app[shop_key] = shop
    app[sessions_key] = SqlSessions(engine)
    app[transcript_key] = SqlTranscript(engine)
    app[hub_key] = RedisHub(settings.redis_url, prefix=settings.redis_prefix) if settings.redis_url else Hub()
    app[rasa_key] = rasa or RasaClient(settings.rasa_urls, settings.rasa_token, settings.rasa_timeout_s,
                                          failover=settings.rasa_failover)
    app[rasa_conversations_key] = RasaConversations(app[rasa_key])
    app[actions_key] = ActionServer(settings.action_url, app[rasa_key])
    app[aftersales_key] = SqlAfterSales(engine, shop, load_policy(settings.policy_file))
    app[handoff_key] = SqlHandoff(engine)
    if seed:
        app[handoff_key].seed_agents()
    app[predictor_key] = prediction_model.load(settings.predictor_file)  # None: rules only, logged
    app[prediction_text_key] = prediction.load_templates()
    app[copilot_text_key] = copilot.load_templates()
    app[operators_key] = SqlOperators(engine)
    if seed:
        app[operators_key].seed()
    app[project_files_key] = ProjectFiles(settings.project_root, lock_dir=settings.var_dir / "locks")
    app[tracker_key] = TrackerReader(settings.tracker_url)
    app[trainer_key] = Trainer(settings.project_root, ModelFolder(settings.models_dir), settings.var_dir, clock,
                               settings.publish_margin)
    app[publish_lock_key] = asyncio.Lock()

    async def lifetimes(app: web.Application) -> AsyncIterator[None]:
        await app[rasa_key].start()
        await app[hub_key].start()  # RedisHub: its listener task lives until close()
        yield
        await app[hub_key].close()
        await app[trainer_key].close()
        app[tracker_key].close()
        await app[rasa_key].close()
        engine.dispose()

    app.on_shutdown.append(close_pages)
    app.cleanup_ctx.append(lifetimes)
    app.add_routes(chat.routes)
    app.add_routes(agent.routes)
    app.add_routes(operator.routes)
    app.router.add_static("/static", STATIC)
    return app


def main() -> None:  # pragma: no cover - process entry point
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_log_masking()  # phone numbers and addresses never reach the log
    settings = Settings.from_env()
    # Several web processes share one port (scripts.stack starts them); the kernel spreads
    # connections over them. One process keeps the port to itself, so a second copy started
    # by mistake fails with "address in use" instead of silently taking half the traffic.
    web.run_app(create_app(settings), host=settings.web_host, port=settings.web_port,
                reuse_port=settings.web_workers > 1, print=lambda *_: None)


if __name__ == "__main__":  # pragma: no cover
    main()
