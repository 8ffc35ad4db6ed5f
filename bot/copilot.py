"""The agent's copilot: the resolution to offer and the replies to suggest.

When an agent opens a ticket the copilot panel shows, beside the conversation,
what the after-sales rules already allow for the shopper's order, as one
suggested resolution with a one-click button, and two or three replies in the
shopper's language, filled with the real facts, that the agent can insert,
edit and send. ``acceptance`` measures how often each kind of suggested reply
is used, so that poor templates show up.

The suggestion never decides anything itself: it asks the same rules the bot
uses (``bot.protection``, ``bot.returns``) and only offers what they allow.
Which one, in this order (the first that applies wins):

* when the shopper reported a defect in the line (their own complaint about
  the SKU, or ``defect`` from the conversation): a quality return, else a
  no-reason return, else a quality exchange, else, when other shoppers
  reported the same defect within the Andon window, "confirm defect", else
  price protection. A broken product is the problem to solve first; a price
  refund on it would miss the point.
* otherwise: price protection (``approve_claim``; above the auto-approval
  limit the agent is the reviewer), else a no-reason return.

Pure: the shell passes the order, prices, claims, complaints, policy, ``now``
and the texts (``load_templates``), which live in ``bot/copilot_text.yml`` in
zh and en. Facts about other shoppers never leave as identities: the agent sees
how many reported the same defect, the shopper sees neither names nor numbers.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from bot.andon import Complaint
from bot.catalog import PricePoint, Product, price_at
from bot.decision import Decision, format_money, require_aware
from bot.errors import InvalidData
from bot.orders import Order, OrderLine
from bot.policy import LANGUAGES, Policy
from bot.protection import ClaimRecord, assess_price_protection
from bot.returns import assess_exchange, assess_return

TEMPLATES_FILE = Path(__file__).with_name("copilot_text.yml")

#: What a suggested resolution does when the agent clicks its button.
KINDS = ("approve_claim", "create_return", "create_exchange", "confirm_defect")
#: The resolution texts; a kind may have more than one (a claim to review, a quality return).
TEXT_KEYS = ("approve_claim", "approve_claim_review", "create_return", "create_return_quality",
             "create_exchange", "confirm_defect")
#: Suggested-reply types; ``acceptance`` is measured per type.
REPLY_TYPES = ("claim", "return", "exchange", "defect", "apology", "status")
#: What happened to a suggested reply: shown to the agent, sent unchanged, sent after
#: editing, or not used.
OUTCOMES = ("shown", "accepted", "edited", "ignored")

_ORDER_FACTS = ("order_id", "product")
#: The facts each resolution text may use.
RESOLUTION_FACTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "approve_claim": (*_ORDER_FACTS, "amount", "price", "paid", "decision_due"),
    "approve_claim_review": (*_ORDER_FACTS, "amount", "price", "paid", "limit", "decision_due"),
    "create_return": (*_ORDER_FACTS, "amount", "deadline", "days"),
    "create_return_quality": (*_ORDER_FACTS, "amount", "deadline", "days"),
    "create_exchange": (*_ORDER_FACTS, "deadline", "days"),
    "confirm_defect": (*_ORDER_FACTS, "count", "defect", "days"),
})
#: The facts each reply type may use (replies reach the shopper: no ``count``).
REPLY_FACTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "claim": (*_ORDER_FACTS, "amount", "price"),
    "return": (*_ORDER_FACTS, "amount", "deadline"),
    "exchange": (*_ORDER_FACTS, "deadline"),
    "defect": (*_ORDER_FACTS, "defect"),
    "apology": (),
    "status": (*_ORDER_FACTS, "status_text"),
})
#: Which replies each resolution kind suggests (``None``: no resolution), and how
#: many variants of each at most; at most 3 in all.
REPLY_PLANS: Mapping[str | None, tuple[tuple[str, int], ...]] = MappingProxyType({
    "approve_claim": (("claim", 2), ("apology", 1)),
    "create_return": (("return", 2), ("apology", 1)),
    "create_exchange": (("exchange", 2), ("apology", 1)),
    "confirm_defect": (("defect", 2), ("apology", 1)),
    None: (("status", 2), ("apology", 1)),
})
MAX_REPLIES = 3


@dataclass(frozen=True)
class Templates:
    """The copilot's texts, by key and language (see ``bot/copilot_text.yml``)."""

    resolutions: Mapping[str, Mapping[str, str]]
    actions: Mapping[str, Mapping[str, str]]
    replies: Mapping[str, Mapping[str, tuple[str, ...]]]
    statuses: Mapping[str, Mapping[str, str]]
    defects: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Resolution:
    """A resolution the rules allow for one order line, for the agent to apply in one click.

    Attributes:
        kind: One of ``KINDS``: what the button does.
        text_key: Its text in ``Templates.resolutions``.
        facts: The text's facts, formatted; ``product_zh``/``product_en`` give ``product``.
        decision: The rule's decision (``None`` for ``confirm_defect``).
        amount: Money refunded (claim, return), when any.
        deadline: Last moment of the window that applies (return, exchange).
        count: Other shoppers who reported the same defect (``confirm_defect``).
    """

    kind: str
    text_key: str
    order_id: str
    line_id: str
    facts: Mapping[str, str] = field(default_factory=dict)
    decision: Decision | None = None
    amount: Decimal | None = None
    deadline: datetime | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidData("resolution kind", f"{self.kind!r}; use one of {', '.join(KINDS)}")
        if self.text_key not in TEXT_KEYS:
            raise InvalidData("resolution text_key", f"{self.text_key!r}; use one of {', '.join(TEXT_KEYS)}")
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts)))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text_key": self.text_key,
            "order_id": self.order_id,
            "line_id": self.line_id,
            "facts": dict(self.facts),
            "decision": None if self.decision is None else self.decision.to_json(),
            "amount": None if self.amount is None else str(self.amount),
            "deadline": None if self.deadline is None else self.deadline.isoformat(),
            "count": self.count,
        }


@dataclass(frozen=True)
class SuggestedReply:
    """A reply the agent may insert, edit and send.

    Attributes:
        suggestion_id: ``<type>-<variant>``, e.g. ``"claim-0"``: stable for one
            template, unique among one ticket's suggestions.
        suggestion_type: One of ``REPLY_TYPES``.
        text: In the shopper's language, with the facts filled in.
    """

    suggestion_id: str
    suggestion_type: str
    language: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.suggestion_id, "suggestion_type": self.suggestion_type,
                "language": self.language, "text": self.text}


@dataclass(frozen=True)
class SuggestionEvent:
    """One recorded outcome of a suggested reply on a ticket.

    ``"shown"`` when the panel showed it, ``"accepted"`` when it was sent
    unchanged, ``"edited"`` when sent after editing, ``"ignored"`` when the
    ticket closed without it (recording ``"ignored"`` is optional: a shown
    reply never sent counts as ignored anyway).
    """

    ticket_id: str
    suggestion_id: str
    suggestion_type: str
    outcome: str
    at: datetime

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise InvalidData("suggestion outcome", f"{self.outcome!r}; use one of {', '.join(OUTCOMES)}")
        if self.suggestion_type not in REPLY_TYPES:
            raise InvalidData("suggestion type",
                              f"{self.suggestion_type!r}; use one of {', '.join(REPLY_TYPES)}")
        require_aware("at", self.at)

    def to_json(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "suggestion_id": self.suggestion_id,
                "suggestion_type": self.suggestion_type, "outcome": self.outcome,
                "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SuggestionEvent:
        try:
            return cls(ticket_id=str(data["ticket_id"]), suggestion_id=str(data["suggestion_id"]),
                       suggestion_type=str(data["suggestion_type"]), outcome=str(data["outcome"]),
                       at=datetime.fromisoformat(str(data["at"])))
        except (KeyError, ValueError) as exc:
            raise InvalidData("suggestion event", exc) from exc


# --------------------------------------------------------------------------- resolution


def suggest_resolution(order: Order, line: OrderLine, product: Product, prices: Iterable[PricePoint],
                       claims: Sequence[ClaimRecord], complaints_for_sku: Iterable[Complaint],
                       policy: Policy, now: datetime, *, defect: str | None = None) -> Resolution | None:
    """The first resolution the rules allow for ``line``, or ``None`` (order in the module docstring).

    Example (the demo shop): Emily's Midea AC, bought at ¥2,750.00 and now
    ¥2,499.00 within its 30-day window, gives ``approve_claim`` for ¥251.00;
    李强's Xiaomi 14, signed for 6 days ago, gives ``create_return`` until
    "2026-11-24 23:59".

    Args:
        claims: Earlier price-protection claims (other lines' are ignored).
        complaints_for_sku: Recent complaints about ``product`` from anyone;
            the order's customer's own ones say which defect they reported.
        defect: A defect type the shopper reported in this conversation
            (``bot.andon.classify_defect``), when not stored as a complaint yet.

    Raises:
        InvalidData: ``line`` is not in ``order``, ``product`` is not its SKU,
            or ``now`` is naive.
    """
    require_aware("now", now)
    complaints = [c for c in complaints_for_sku if c.sku == product.sku]
    reported = _normalise(defect) if defect else _own_defect(order.customer_id, complaints)
    if reported:
        return (_return(order, line, product, policy, now, "quality")
                or _return(order, line, product, policy, now, "no_reason")
                or _exchange(order, line, product, policy, now)
                or _confirm_defect(order, line, product, complaints, reported, policy, now)
                or _claim(order, line, product, prices, claims, policy, now))
    return (_claim(order, line, product, prices, claims, policy, now)
            or _return(order, line, product, policy, now, "no_reason"))


def suggest_for_orders(orders: Sequence[Order], products: Mapping[str, Product], prices: Iterable[PricePoint],
                       claims: Sequence[ClaimRecord], complaints: Iterable[Complaint], policy: Policy,
                       now: datetime, *, prefer: Sequence[str] = (),
                       defect: str | None = None) -> Resolution | None:
    """The first resolution over a shopper's orders: the ``prefer`` ones first, in
    that order (the order under discussion, the predictor's top hints), then
    the others newest first, line by line.

    ``defect`` (from the conversation) applies to the ``prefer`` orders only,
    or to every order when nothing is preferred. Lines whose SKU is not in
    ``products`` are skipped.
    """
    prices = tuple(prices)
    complaints = tuple(complaints)
    by_id = {o.order_id: o for o in orders}
    chosen = [by_id[i] for i in dict.fromkeys(prefer) if i in by_id]
    preferred = set(prefer)
    rest = sorted((o for o in orders if o.order_id not in preferred), key=lambda o: o.placed_at, reverse=True)
    for order in [*chosen, *rest]:
        said = defect if (not preferred or order.order_id in preferred) else None
        for line in order.lines:
            product = products.get(line.sku)
            if product is None:
                continue
            found = suggest_resolution(order, line, product, prices, claims,
                                       [c for c in complaints if c.sku == line.sku], policy, now,
                                       defect=said)
            if found is not None:
                return found
    return None


def _claim(order: Order, line: OrderLine, product: Product, prices: Iterable[PricePoint],
           claims: Sequence[ClaimRecord], policy: Policy, now: datetime) -> Resolution | None:
    prices = tuple(prices)
    if price_at(prices, line.sku, now) is None:
        return None  # no price on record: nothing to compare with
    d = assess_price_protection(order, line, product, prices, claims, policy, now)
    if not d.allowed:
        return None
    key = "approve_claim" if d.reason == "eligible" else "approve_claim_review"
    return Resolution("approve_claim", key, order.order_id, line.line_id, d.facts, decision=d,
                      amount=d.amount, deadline=d.deadline)


def _return(order: Order, line: OrderLine, product: Product, policy: Policy, now: datetime,
            reason: str) -> Resolution | None:
    d = assess_return(order, line, product, policy, now, "quality" if reason == "quality" else "no_reason",
                      line.opened)
    if not d.allowed:
        return None
    facts = dict(d.facts)
    if d.amount is not None:
        facts["amount"] = format_money(d.amount)
    key = "create_return_quality" if reason == "quality" else "create_return"
    return Resolution("create_return", key, order.order_id, line.line_id, facts, decision=d,
                      amount=d.amount, deadline=d.deadline)


def _exchange(order: Order, line: OrderLine, product: Product, policy: Policy,
              now: datetime) -> Resolution | None:
    d = assess_exchange(order, line, product, policy, now)
    if not d.allowed:
        return None
    return Resolution("create_exchange", "create_exchange", order.order_id, line.line_id, d.facts,
                      decision=d, deadline=d.deadline)


def _confirm_defect(order: Order, line: OrderLine, product: Product, complaints: Sequence[Complaint],
                    defect: str, policy: Policy, now: datetime) -> Resolution | None:
    """Other customers who reported ``defect`` on this SKU within the Andon window (to the second)."""
    since = now - policy.andon.window
    others = {c.customer_id for c in complaints
              if c.customer_id != order.customer_id and _normalise(c.defect) == defect
              and since <= c.created_at <= now}
    if not others:
        return None
    facts = {"order_id": order.order_id, "line_id": line.line_id, "sku": line.sku,
             "product_zh": product.name_zh, "product_en": product.name_en, "defect": defect,
             "count": str(len(others)), "days": str(policy.andon.window_days)}
    return Resolution("confirm_defect", "confirm_defect", order.order_id, line.line_id, facts,
                      count=len(others))


def _own_defect(customer_id: str, complaints: Sequence[Complaint]) -> str | None:
    """The defect type of the customer's latest classified complaint, if any."""
    own = sorted((c for c in complaints if c.customer_id == customer_id and _normalise(c.defect)),
                 key=lambda c: (c.created_at, c.complaint_id))
    return _normalise(own[-1].defect) if own else None


def _normalise(defect: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", defect).casefold().split())


# --------------------------------------------------------------------------- texts


def render_resolution(resolution: Resolution, language: str, templates: Templates) -> str:
    """The resolution as the agent reads it, e.g. "Eligible for price protection:
    refund ¥251.00 to the original payment method (now ¥2,499.00, paid ¥2,750.00 per unit)"."""
    _check_language(language)
    facts = _localise(resolution.facts, language)
    if "defect" in facts:
        facts["defect"] = _defect_name(facts["defect"], language, templates)
    text = templates.resolutions[resolution.text_key][language]
    return _render(text, facts, f"resolutions.{resolution.text_key}.{language}")


def resolution_json(resolution: Resolution, language: str, templates: Templates) -> dict[str, Any]:
    """The copilot panel's ``resolution``: ``{kind, text, action_label, order_id, line_id}``."""
    return {"kind": resolution.kind, "text": render_resolution(resolution, language, templates),
            "action_label": templates.actions[resolution.kind][language],
            "order_id": resolution.order_id, "line_id": resolution.line_id}


def suggested_replies(language: str, resolution: Resolution | None, order_facts: Mapping[str, str],
                      templates: Templates) -> list[SuggestedReply]:
    """Two or three replies in the shopper's ``language``, filled with the real facts.

    The resolution's kind picks the reply types (``REPLY_PLANS``): a claim
    suggests two "claim" replies and an "apology"; no resolution suggests
    "status" replies and an "apology". A template variant is offered only when
    every fact it uses is known, so an unknown order never shows as "{order_id}".

    Args:
        order_facts: ``bot.display.order_facts`` of the order (or ``{}``); the
            resolution's own facts (its line's product, amount, deadline) win.

    Raises:
        InvalidData: ``language`` is not zh or en.
    """
    _check_language(language)
    facts = {k: v for k, v in order_facts.items() if isinstance(v, str) and v}
    status = facts.get("status", "")
    if status in templates.statuses:
        facts["status_text"] = templates.statuses[status][language]
    if resolution is not None:
        facts.update({k: v for k, v in _localise(resolution.facts, language).items() if v})
    if "defect" in facts:
        facts["defect"] = _defect_name(facts["defect"], language, templates)
    replies: list[SuggestedReply] = []
    for reply_type, most in REPLY_PLANS[None if resolution is None else resolution.kind]:
        offered = 0
        for index, text in enumerate(templates.replies[reply_type][language]):
            if offered == most or len(replies) == MAX_REPLIES:
                break
            if _placeholders(text) <= facts.keys():
                replies.append(SuggestedReply(f"{reply_type}-{index}", reply_type, language,
                                              text.format(**{k: facts[k] for k in _placeholders(text)})))
                offered += 1
    return replies


def send_outcome(suggested: str, sent: str) -> str:
    """``"accepted"`` when ``sent`` is the suggestion as it was (ignoring spaces at the
    ends and runs of white space), else ``"edited"``."""
    return "accepted" if " ".join(suggested.split()) == " ".join(sent.split()) else "edited"


def acceptance(events: Iterable[SuggestionEvent]) -> dict[str, dict[str, float | int]]:
    """How suggested replies were used, per type: ``{shown, accepted, edited, ignored, rate}``.

    Each suggestion of a ticket counts once, however often the panel showed it:
    sent unchanged (``accepted``) beats sent after editing (``edited``), which
    beats not used (``ignored``). ``rate`` is the share sent at all,
    ``(accepted + edited) / shown``, rounded to 3 places; 0.0 when nothing was
    shown. Every type of ``REPLY_TYPES`` is present.

    Example: "claim-0" shown on tickets T1 and T2, sent unchanged on T1 and not
    used on T2 gives ``claim: {shown: 2, accepted: 1, edited: 0, ignored: 1, rate: 0.5}``.
    """
    rank = {"shown": 0, "ignored": 0, "edited": 1, "accepted": 2}
    best: dict[tuple[str, str], tuple[str, str]] = {}
    for e in events:
        key = (e.ticket_id, e.suggestion_id)
        seen = best.get(key)
        if seen is None or rank[e.outcome] > rank[seen[1]]:
            best[key] = (e.suggestion_type, e.outcome)
    table: dict[str, dict[str, float | int]] = {}
    for reply_type in REPLY_TYPES:
        outcomes = [o for t, o in best.values() if t == reply_type]
        accepted = outcomes.count("accepted")
        edited = outcomes.count("edited")
        shown = len(outcomes)
        table[reply_type] = {"shown": shown, "accepted": accepted, "edited": edited,
                             "ignored": shown - accepted - edited,
                             "rate": round((accepted + edited) / shown, 3) if shown else 0.0}
    return table


def load_templates(path: Path | str = TEMPLATES_FILE) -> Templates:
    """Read and check the copilot texts: every key in zh and en, using only known facts.

    Raises:
        InvalidData: ``what`` names the entry at fault, e.g. ``replies.claim.en``;
            ``OSError`` when the file cannot be read.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidData("copilot texts", f"{path}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise InvalidData("copilot texts", f"{path}: expected a mapping")
    unknown = sorted(set(data) - {"resolutions", "actions", "replies", "statuses", "defects"})
    if unknown:
        raise InvalidData(str(unknown[0]), "unknown section; check its spelling")
    resolutions = _texts(data, "resolutions", TEXT_KEYS, RESOLUTION_FACTS)
    actions = _texts(data, "actions", KINDS, dict.fromkeys(KINDS, ()))
    statuses = _texts(data, "statuses", None, None)
    defects = _texts(data, "defects", None, None)
    replies = _reply_texts(data)
    return Templates(resolutions, actions, replies, statuses, defects)


def _texts(data: Mapping[str, Any], name: str, keys: Sequence[str] | None,
           allowed: Mapping[str, Sequence[str]] | None) -> Mapping[str, Mapping[str, str]]:
    table = data.get(name)
    if not isinstance(table, Mapping):
        raise InvalidData(name, "missing; expected a mapping of {key: {zh: ..., en: ...}}")
    wanted = list(keys) if keys is not None else [str(k) for k in table]
    out: dict[str, Mapping[str, str]] = {}
    for key in wanted:
        entry = table.get(key)
        if not isinstance(entry, Mapping):
            raise InvalidData(f"{name}.{key}", "missing")
        texts = {}
        for language in LANGUAGES:
            text = entry.get(language)
            what = f"{name}.{key}.{language}"
            if not isinstance(text, str) or not text.strip():
                raise InvalidData(what, "missing or empty")
            if allowed is not None:
                _check_facts(what, text, allowed[key])
            texts[language] = text
        out[key] = MappingProxyType(texts)
    extra = sorted(set(table) - set(wanted))
    if extra:
        raise InvalidData(f"{name}.{extra[0]}", "unknown key; check its spelling")
    return MappingProxyType(out)


def _reply_texts(data: Mapping[str, Any]) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    table = data.get("replies")
    if not isinstance(table, Mapping):
        raise InvalidData("replies", "missing; expected {type: {zh: [...], en: [...]}}")
    out: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for reply_type in REPLY_TYPES:
        entry = table.get(reply_type)
        if not isinstance(entry, Mapping):
            raise InvalidData(f"replies.{reply_type}", "missing")
        by_language = {}
        for language in LANGUAGES:
            what = f"replies.{reply_type}.{language}"
            variants = entry.get(language)
            if not isinstance(variants, list) or not variants:
                raise InvalidData(what, "expected a non-empty list of texts")
            for text in variants:
                if not isinstance(text, str) or not text.strip():
                    raise InvalidData(what, f"expected non-empty texts, got {text!r}")
                _check_facts(what, text, REPLY_FACTS[reply_type])
            if reply_type in ("apology", "status") and all(_placeholders(t) for t in variants):
                raise InvalidData(what, "needs one variant without {facts}, for when nothing is known")
            by_language[language] = tuple(variants)
        out[reply_type] = MappingProxyType(by_language)
    extra = sorted(set(table) - set(REPLY_TYPES))
    if extra:
        raise InvalidData(f"replies.{extra[0]}", "unknown reply type; check its spelling")
    return MappingProxyType(out)


def _check_facts(what: str, text: str, allowed: Sequence[str]) -> None:
    try:
        used = _placeholders(text)
    except ValueError as exc:
        raise InvalidData(what, f"not a valid template: {exc}") from exc
    unknown = sorted(used - set(allowed))
    if unknown:
        raise InvalidData(what, f"{{{unknown[0]}}} is not a fact of this text; use any of "
                          f"{', '.join(allowed) or 'none'}")


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _render(template: str, facts: Mapping[str, str], what: str) -> str:
    missing = sorted(_placeholders(template) - facts.keys())
    if missing:
        raise InvalidData(what, f"no fact for {{{missing[0]}}}")
    return template.format(**{k: facts[k] for k in _placeholders(template)})


def _localise(facts: Mapping[str, str], language: str) -> dict[str, str]:
    """Facts with ``product_zh`` read as ``product`` in Chinese, ``product_en`` in English."""
    suffixes = tuple(f"_{lang}" for lang in LANGUAGES)
    values = {k: v for k, v in facts.items() if not k.endswith(suffixes)}
    suffix = f"_{language}"
    values.update({k[:-len(suffix)]: v for k, v in facts.items() if k.endswith(suffix)})
    return values


def _defect_name(defect: str, language: str, templates: Templates) -> str:
    names = templates.defects.get(defect)
    return names[language] if names else defect


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidData("language", f"{language!r}; use one of {', '.join(LANGUAGES)}")
