"""Errors become JSON once, here: domain errors → 4xx, the unexpected → 500 and a log line."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from bot.chat import MessageRejected
from bot.errors import CustomerNotFound, InvalidData, NotAllowed, OrderNotFound, ProductNotFound, ShopError
from bot.routing import NotYourTicket, TicketNotFound
from bot.web.hub import ForeignOrigin, HubUnavailable
from bot.web.rasa_client import RasaUnavailable

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: HTTP status for each error code; every code has zh and en text in i18n.json.
STATUS = {
    "empty_message": 400,
    "invalid_type": 400,
    "invalid_payload": 400,
    "invalid_json": 400,
    "invalid_language": 400,
    "message_too_long": 413,
    "unsupported_media_type": 415,
    "no_session": 401,
    "customer_not_found": 404,
    "order_not_found": 404,
    "product_not_found": 404,
    "not_allowed": 409,
    "invalid_data": 400,
    "rasa_unavailable": 503,
    "hub_unavailable": 503,
    "database_unavailable": 503,
    "message_in_progress": 409,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_too_large": 413,
    "rate_limited": 429,
    "forbidden": 403,
    "invalid_credentials": 401,
    "ticket_not_found": 404,
    "not_your_ticket": 403,
    "internal_error": 500,
    # the operator console
    "training_busy": 409,
    "publish_blocked": 409,
    "model_not_found": 404,
    "nothing_to_roll_back": 409,
    "invalid_file": 422,
    "edit_conflict": 409,
    "path_not_allowed": 403,
    "file_missing": 404,
    "yaml_syntax": 422,
    "duplicate_key": 422,
    "not_editable": 403,
    "invalid_example": 422,
    "duplicate_example": 409,
    "example_not_found": 404,
    "unknown_response": 404,
    "missing_variant": 422,
    "unknown_language": 400,
    "unknown_intent": 422,
    "conversation_not_found": 404,
    "turn_not_found": 404,
    "invalid_filter": 400,
    "invalid_story_name": 400,
    "empty_story": 409,
    "studio_error": 400,
}


class ApiError(Exception):
    """An error the web edge raises itself (bad JSON, no session...)."""

    def __init__(self, code: str, **facts: Any) -> None:
        super().__init__(code)
        self.code = code
        self.facts = facts


class _Facts(dict[str, Any]):
    """Fills a message template; a placeholder without a fact stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def messages(strings: Mapping[str, Mapping[str, Any]], code: str, **facts: Any) -> dict[str, str]:
    """The zh and en text of error ``code``, with its facts filled in."""
    return {lang: str(table.get(f"error.{code}", code)).format_map(_Facts(facts)) for lang, table in strings.items()}


def error_response(strings: Mapping[str, Mapping[str, Any]], code: str, **facts: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": messages(strings, code, **facts), **facts}},
                             status=STATUS.get(code, 400))


def code_of(exc: Exception) -> tuple[str, dict[str, Any]]:
    if isinstance(exc, (ApiError, MessageRejected)):
        return exc.code, {k: v for k, v in exc.facts.items() if isinstance(v, (str, int))}
    if isinstance(exc, ForeignOrigin):
        return "forbidden", {}
    if isinstance(exc, RasaUnavailable):
        return "rasa_unavailable", {}
    if isinstance(exc, HubUnavailable):
        return "hub_unavailable", {}
    if database_away(exc):
        return "database_unavailable", {}
    if isinstance(exc, (CustomerNotFound, OrderNotFound, ProductNotFound, InvalidData)):
        return exc.code, {}
    if isinstance(exc, (TicketNotFound, NotYourTicket)):
        return exc.code, {}
    if isinstance(exc, NotAllowed):
        return "not_allowed", {"reason": exc.reason}
    if isinstance(exc, ShopError):
        facts = getattr(exc, "facts", {})
        return exc.code, {k: v for k, v in facts.items() if isinstance(v, (str, int)) and k != "code"}
    return "internal_error", {}


def database_away(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot serve right now (down, restarting, locked, pool exhausted).

    A retry in a few seconds may work, so the shopper is asked to try again. Other
    database errors (constraint violations, bad SQL) are bugs and stay ``internal_error``.
    """
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


def error_middleware(strings: Mapping[str, Mapping[str, Any]]) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if not request.path.startswith("/api/") or exc.status < 400:
                raise
            code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(
                exc.status, "invalid_data")
            return error_response(strings, code)
        except (ApiError, MessageRejected, ShopError, RasaUnavailable, HubUnavailable, ForeignOrigin) as exc:
            code, facts = code_of(exc)
            if code in ("rasa_unavailable", "hub_unavailable"):
                log.warning("%s on %s %s: %s", code, request.method, request.path, exc)
            return error_response(strings, code, **facts)
        except sa.exc.SQLAlchemyError as exc:
            if not database_away(exc):
                log.exception("unexpected database error on %s %s", request.method, request.path)
                return error_response(strings, "internal_error")
            # One line, no traceback: an outage is expected weather, and its SQL may carry shoppers' text.
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
            log.warning("database_unavailable on %s %s: %s: %s", request.method, request.path,
                        type(exc).__name__, reason)
            return error_response(strings, "database_unavailable")
        except Exception:
            log.exception("unexpected error on %s %s", request.method, request.path)
            return error_response(strings, "internal_error")
    return middleware
