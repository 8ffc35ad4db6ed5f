"""The Andon cord: take a SKU off sale when shoppers report the same defect.

Borrowed from the Toyota Production System (anyone may stop the line) and from
Amazon's customer-service Andon cord, which lets an agent pull a listing as
soon as a pattern of defects shows up. The rule here (numbers in policy.yml):

* one complaint that mentions a safety hazard (fire, smoke, electric shock...)
  pulls the SKU at once;
* otherwise, complaints from ``threshold_customers`` (2) *distinct* customers
  reporting the same defect type for the same SKU within ``window_days`` (14)
  pull it; one customer complaining twice counts once.

A person checks the product and reinstates it with ``reinstate``, which leaves
an audit record. Pure: the shell passes the complaints, the policy and ``now``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from bot.catalog import Product
from bot.decision import require_aware
from bot.errors import InvalidData, NotAllowed
from bot.policy import Policy

#: The NLU entity that carries a defect type.
DEFECT_ENTITY = "defect"

#: Every reason ``assess_andon`` can give.
REASONS = ("safety", "repeated_defect", "below_threshold")


@dataclass(frozen=True)
class Complaint:
    """A shopper's report of a defect in a product.

    Attributes:
        defect: Defect type as classified by ``classify_defect`` (``"noise"``,
            ``"fire"``...); ``""`` when unknown, which never counts as "the same".
        text: What the shopper wrote, in either language.
    """

    complaint_id: str
    customer_id: str
    sku: str
    defect: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class AndonDecision:
    """Whether a new complaint pulls the cord on its SKU.

    Attributes:
        pull: Take the SKU off sale pending review.
        reason: ``"safety"``, ``"repeated_defect"`` or ``"below_threshold"``.
        complaint_ids: The complaints that count, oldest first; when ``pull``,
            the ones that pulled the cord.
        customers: How many distinct customers those complaints come from.
    """

    pull: bool
    reason: str
    sku: str
    defect: str
    complaint_ids: tuple[str, ...]
    customers: int


@dataclass(frozen=True)
class Reinstatement:
    """Audit record of a SKU put back on sale: who, when and why."""

    sku: str
    by: str
    at: datetime
    why: str


def classify_defect(text: str, entities: Sequence[Mapping[str, Any]], policy: Policy) -> str | None:
    """The defect type a complaint reports, or ``None`` when nothing says.

    The NLU's ``defect`` entities come first (Rasa's ``{"entity": "defect",
    "value": ...}``): a value that is a known defect type is taken as it is, an
    other value is looked up in the keyword tables. Then the complaint text is
    looked up in ``andon.defect_keywords``, in the policy's order (safety types
    first). An unknown entity value is the last resort.

    Example: "空调用了两天就冒烟了" and "smoke came out of the back" are both
    ``"smoke"``; "it is very noisy at night" is ``"noise"``; a ``defect``
    entity with value ``"leak"`` wins over the text.
    """
    table = policy.andon.defect_keywords
    values = [_normalise(str(e.get("value", ""))) for e in entities
              if e.get("entity") == DEFECT_ENTITY]
    values = [v for v in values if v]
    for value in values:
        if value in table:
            return value
    for value in values:
        found = _lookup(value, policy)
        if found is not None:
            return found
    found = _lookup(_normalise(text), policy)
    if found is not None:
        return found
    return values[0] if values else None


def is_safety(text: str, defect: str | None, policy: Policy) -> bool:
    """Whether a complaint reports a safety hazard: a safety defect type, or a
    safety keyword in its text, in either language.

    Negations are deliberately not parsed ("没有冒烟" still counts): a false
    pull costs some sales until a person reinstates, a missed fire far more.

    >>> # "充电的时候冒烟了" -> True; "it gave me an electric shock" -> True
    """
    if defect and _normalise(defect) in policy.andon.safety_defects:
        return True
    normalised = _normalise(text)
    return any(_contains(normalised, kw)
               for words in policy.andon.safety_keywords.values() for kw in words)


def assess_andon(new_complaint: Complaint, recent_complaints_for_sku: Iterable[Complaint],
                 policy: Policy, now: datetime) -> AndonDecision:
    """Whether ``new_complaint`` pulls the Andon cord on its SKU.

    Safety first: a safety complaint pulls at once. Otherwise the complaints
    for the same SKU and the same defect type made within the window (to the
    second: with 14 days, a complaint made exactly 14 days before ``now``
    counts, one a second older does not) are counted by distinct customer.

    Example: A reports "noise" on day 1, A again on day 3 -> below_threshold
    (one customer); B reports "noise" on day 10 -> repeated_defect, pulled.
    """
    require_aware("now", now)
    new = new_complaint
    defect = _normalise(new.defect)
    if is_safety(new.text, defect, policy):
        return AndonDecision(True, "safety", new.sku, defect, (new.complaint_id,), 1)
    since = now - policy.andon.window
    pool = {c.complaint_id: c for c in (*recent_complaints_for_sku, new)}
    same = sorted((c for c in pool.values()
                   if c.sku == new.sku and defect and _normalise(c.defect) == defect
                   and since <= c.created_at <= now),
                  key=lambda c: (c.created_at, c.complaint_id))
    customers = len({c.customer_id for c in same})
    pull = customers >= policy.andon.threshold_customers
    return AndonDecision(pull, "repeated_defect" if pull else "below_threshold", new.sku,
                         defect, tuple(c.complaint_id for c in same), customers)


def pull(product: Product, decision: AndonDecision) -> Product:
    """``product`` taken off sale when ``decision`` pulls the cord, else unchanged."""
    if decision.sku != product.sku:
        raise InvalidData("product", f"{product.sku} is not the SKU decided on ({decision.sku})")
    return replace(product, on_sale=False) if decision.pull else product


def reinstate(product: Product, by: str, why: str, now: datetime) -> tuple[Product, Reinstatement]:
    """Put a pulled SKU back on sale, with the audit record saying who, when and why.

    Example: ``reinstate(fridge, "qa-li", "批次检测合格 / batch passed inspection", now)``.

    Raises:
        InvalidData: ``by`` or ``why`` is blank (an audit needs both), or ``now`` is naive.
        NotAllowed: ``not_pulled`` when the SKU is on sale already.
    """
    require_aware("now", now)
    if not by.strip():
        raise InvalidData("by", "say who reinstates the product")
    if not why.strip():
        raise InvalidData("why", "say why the product is safe to sell again")
    if product.on_sale:
        raise NotAllowed("not_pulled", sku=product.sku)
    record = Reinstatement(sku=product.sku, by=by.strip(), at=now, why=why.strip())
    return replace(product, on_sale=True), record


def _lookup(normalised: str, policy: Policy) -> str | None:
    for defect, by_language in policy.andon.defect_keywords.items():
        if any(_contains(normalised, kw) for words in by_language.values() for kw in words):
            return defect
    return None


def _normalise(text: str) -> str:
    """NFKC (full-width letters to ASCII), case-folded, curly apostrophes straightened."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    return " ".join(text.split())


def _contains(normalised: str, keyword: str) -> bool:
    """Chinese keywords match anywhere; Latin ones as whole words ("fire" not in "firewall")."""
    return _pattern(_normalise(keyword)).search(normalised) is not None


@lru_cache(maxsize=1024)
def _pattern(keyword: str) -> re.Pattern[str]:
    if keyword.isascii():
        return re.compile(r"(?<![a-z0-9])" + re.escape(keyword) + r"(?![a-z0-9])")
    return re.compile(re.escape(keyword))
