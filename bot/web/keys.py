"""Typed keys for everything ``create_app`` hangs off the application."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.copilot import Templates as CopilotTemplates
from bot.prediction import Templates as PredictionTemplates
from bot.settings import Settings
from bot.store.aftersales import SqlAfterSales
from bot.store.handoff import SqlHandoff
from bot.store.operators import SqlOperators
from bot.store.sessions import SqlSessions
from bot.store.shop import SqlShop
from bot.store.tracker import TrackerReader
from bot.store.transcript import SqlTranscript
from bot.studio.files import ProjectFiles
from bot.web.hub import Hub
from bot.web.rasa_client import ActionServer, RasaClient, RasaConversations
from bot.web.training import Trainer

#: The web pages, scripts and translation tables (part of the package, not of the Rasa project).
STATIC = Path(__file__).resolve().parent / "static"

settings_key = web.AppKey("settings", Settings)
shop_key = web.AppKey("shop", SqlShop)
sessions_key = web.AppKey("sessions", SqlSessions)
transcript_key = web.AppKey("transcript", SqlTranscript)
rasa_key = web.AppKey("rasa", RasaClient)
hub_key = web.AppKey("hub", Hub)
clock_key = web.AppKey("clock", Callable[[], datetime])
strings_key = web.AppKey("strings", Mapping[str, Mapping[str, Any]])
intents_key = web.AppKey("intents", frozenset)
aftersales_key = web.AppKey("aftersales", SqlAfterSales)
handoff_key = web.AppKey("handoff", SqlHandoff)
rasa_conversations_key = web.AppKey("rasa_conversations", RasaConversations)
actions_key = web.AppKey("actions", ActionServer)
predictor_key = web.AppKey("predictor", object)  # a bot.prediction.Scorer, or None: rules only
prediction_text_key = web.AppKey("prediction_text", PredictionTemplates)
copilot_text_key = web.AppKey("copilot_text", CopilotTemplates)

# The operator console.
operators_key = web.AppKey("operators", SqlOperators)
project_files_key = web.AppKey("project_files", ProjectFiles)
tracker_key = web.AppKey("tracker", TrackerReader)
trainer_key = web.AppKey("trainer", Trainer)
publish_lock_key = web.AppKey("publish_lock", asyncio.Lock)
