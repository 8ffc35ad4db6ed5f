"""Guards in front of every handler: cross-site requests are refused, sessions are rate limited.

**Cross-site requests.** Every state-changing handler that reads a body needs
``application/json`` (``read_json``), which no HTML form can send, and the agent and
operator cookies are ``SameSite=Strict``. That leaves handlers that read no body
(take, resolve, train, validate, sign-out), the shopper cookie (``Lax``), sibling
sites on the same registrable domain (same-site is not same-origin) and old
browsers. So an unsafe request (POST, PUT, PATCH, DELETE) is refused with 403
``forbidden`` when the browser says it comes from another site: ``Sec-Fetch-Site``
other than ``same-origin``/``none``, or an ``Origin`` that is not this host (``null``
included). Requests without either header (curl, the benchmarks, the tests) are not
from a browser page and pass; a browser's same-origin ``fetch`` sends both and passes.

**Rate limits** (``bot.rate_limit``): every ``/api/`` request takes a token from the
bucket of its session cookie (the cookie of the area it is for: shopper, agent or
operator), or of its client address when it has none; the session-creating sign-ins
take one from their client address's sign-in bucket, which is smaller. Refused
requests get 429 ``rate_limited`` with ``Retry-After``. Buckets live in each web
process, so with several processes a client may get up to that many times the rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from bot.rate_limit import Buckets, Rate
from bot.web import agent, chat, operator
from bot.web.errors import Handler, error_response

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The routes that create a session (POST): limited per client address, not per session.
SIGN_IN_PATHS = frozenset({"/api/session", "/api/agent/session", "/api/ops/session"})
_SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})  # "none": the user typed or bookmarked it


def cross_site(request: web.Request) -> bool:
    """Whether the browser says this request comes from a page of another site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site.strip().lower() not in _SAME_ORIGIN_FETCH:
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin.split("://", 1)[-1] != request.host


def origin_middleware(strings: Mapping[str, Mapping[str, Any]]) -> Any:
    """Refuse unsafe requests from other sites (403 ``forbidden``) before any handler runs."""
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in UNSAFE_METHODS and cross_site(request):
            return error_response(strings, "forbidden")
        return await handler(request)
    return middleware


#: The longest path segment (bytes) anything here is named by: a file name's limit (NAME_MAX).
LONGEST_SEGMENT = 255


def long_name_middleware() -> Any:
    """404 for a path with a segment longer than any file or id here.

    aiohttp's static handler fails on such a name with ``OSError`` (ENAMETOOLONG), which
    would be a 500; no route of this service has a use for one.
    """
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if any(len(segment.encode("utf-8", "surrogatepass")) > LONGEST_SEGMENT for segment in request.path.split("/")):
            raise web.HTTPNotFound()  # the error middleware makes it a bilingual JSON 404 on /api/
        return await handler(request)
    return middleware


def cookie_for(path: str) -> str:
    """The session cookie of the area ``path`` belongs to."""
    if path.startswith("/api/agent/"):
        return agent.COOKIE
    if path.startswith("/api/ops/"):
        return operator.COOKIE
    return chat.COOKIE


def rate_limit_middleware(strings: Mapping[str, Mapping[str, Any]], sessions: Rate, sign_ins: Rate,
                          ticks: Callable[[], float]) -> Any:
    """429 ``rate_limited`` for an ``/api/`` request whose session (or client) has no token left.

    Args:
        strings: The translation table of the error message.
        sessions: The rate of one session cookie, or of one client address without a cookie.
        sign_ins: The rate of session-creating sign-ins of one client address.
        ticks: Seconds from a monotonic clock; tests pass a fake one.
    """
    session_buckets, sign_in_buckets = Buckets(sessions), Buckets(sign_ins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        client = request.remote or "unknown"
        if request.method == "POST" and request.path in SIGN_IN_PATHS:
            wait = sign_in_buckets.take(f"client:{client}", ticks())
        else:
            cookie = request.cookies.get(cookie_for(request.path))
            wait = session_buckets.take(f"session:{cookie}" if cookie else f"client:{client}", ticks())
        if wait > 0:
            resp = error_response(strings, "rate_limited")
            resp.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return resp
        return await handler(request)
    return middleware
