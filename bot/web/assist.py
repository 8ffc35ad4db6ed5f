"""The agent's assistance: ranked hints from the predictor and the copilot panel."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import display
from bot.andon import classify_defect
from bot.copilot import resolution_json, suggest_for_orders, suggested_replies
from bot.prediction import explain, predict
from bot.routing import Ticket
from bot.store.profile import load_history
from bot.web.keys import (
    aftersales_key,
    clock_key,
    copilot_text_key,
    prediction_text_key,
    predictor_key,
    shop_key,
    transcript_key,
)


def hint_list(app: web.Application, customer_id: str, language: str) -> list[dict[str, Any]]:
    now = app[clock_key]()
    history = load_history(app[shop_key], app[aftersales_key], customer_id, now)
    texts = app[prediction_text_key]
    return [{"issue": p.issue, "order_id": p.order_id, "probability": round(p.probability, 3),
             "reason": " ".join(explain(r, language, texts) for r in p.reasons[:2])}
            for p in predict(history, now, app[aftersales_key].policy, app[predictor_key])]


def build_copilot(app: web.Application, ticket: Ticket, language: str) -> dict[str, Any]:
    """Customer and order summary, ranked hints, a suggested resolution and 2-3 replies."""
    now = app[clock_key]()
    shop, aftersales = app[shop_key], app[aftersales_key]
    history = load_history(shop, aftersales, ticket.customer_id, now)
    hints_ = hint_list(app, ticket.customer_id, language)
    shopper_text = " ".join(m.text for m in app[transcript_key].history(ticket.conversation_id)[-6:]
                            if m.role == "shopper")
    defect = classify_defect(shopper_text, [], aftersales.policy)
    prefer = [h["order_id"] for h in hints_ if h["order_id"]]
    resolution = suggest_for_orders(history.orders, history.products, history.prices, history.claims,
                                    history.complaints, aftersales.policy, now, prefer=prefer, defect=defect)
    order = next((o for o in history.orders if resolution and o.order_id == resolution.order_id),
                 history.orders[0] if history.orders else None)
    facts = display.order_facts(order, history.products, ticket.language) if order else {}
    replies = suggested_replies(ticket.language, resolution, facts, app[copilot_text_key])
    customer = shop.customer(ticket.customer_id)
    return {
        "summary": {"customer": customer.to_json(),
                    "orders": [{"order_id": o.order_id, "status": o.status.value,
                                "total": display.money(o.total_paid),
                                "items": [history.products[ln.sku].name(language) if ln.sku in history.products
                                          else ln.sku for ln in o.lines]} for o in history.orders[:5]]},
        "hints": hints_,
        "resolution": resolution_json(resolution, language, app[copilot_text_key]) if resolution else None,
        "replies": [{"id": r.suggestion_id, "suggestion_type": r.suggestion_type, "text": r.text} for r in replies],
    }
