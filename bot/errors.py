"""The catalogue of domain errors.

Each error names the offending value. The web edge maps them to 4xx JSON and
Rasa actions map them to a polite ``utter_*`` response, once per edge.
"""

from __future__ import annotations


class ShopError(Exception):
    """Base class of every error the domain core raises on purpose."""

    code = "shop_error"


class InvalidData(ShopError):
    """A value read from the wire or the database does not fit the domain."""

    code = "invalid_data"

    def __init__(self, what: str, detail: object) -> None:
        super().__init__(f"invalid {what}: {detail}")
        self.what = what
        self.detail = detail


class OrderNotFound(ShopError):
    """No order with this id belongs to this customer.

    Someone else's order raises this too, so that the answer never reveals
    that the order exists.
    """

    code = "order_not_found"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id!r} not found for this customer")
        self.order_id = order_id


class CustomerNotFound(ShopError):
    """No customer has this id."""

    code = "customer_not_found"

    def __init__(self, customer_id: str) -> None:
        super().__init__(f"customer {customer_id!r} not found")
        self.customer_id = customer_id


class ProductNotFound(ShopError):
    """No product has this SKU."""

    code = "product_not_found"

    def __init__(self, sku: str) -> None:
        super().__init__(f"product {sku!r} not found")
        self.sku = sku


class NotAllowed(ShopError):
    """A request the order's state does not allow; ``reason`` is a machine-readable key."""

    code = "not_allowed"

    def __init__(self, reason: str, **facts: object) -> None:
        super().__init__(f"not allowed: {reason} {facts or ''}".strip())
        self.reason = reason
        self.facts = facts
