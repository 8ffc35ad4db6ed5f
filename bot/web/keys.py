"""Typed keys for everything ``create_app`` hangs off the application."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.copilot import Templates as CopilotTemplates
from bot.prediction import Templates as PredictionTemplates
from bot.settings import Settings
from bot.store.aftersales import SqlAfterSales
from bot.store.handoff import SqlHandoff
from bot.store.sessions import SqlSessions
from bot.store.shop import SqlShop
from bot.store.transcript import SqlTranscript
from bot.web.hub import Hub
from bot.web.rasa_client import RasaClient, RasaConversations

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
predictor_key = web.AppKey("predictor", object)  # a bot.prediction.Scorer, or None: rules only
prediction_text_key = web.AppKey("prediction_text", PredictionTemplates)
copilot_text_key = web.AppKey("copilot_text", CopilotTemplates)
