"""Every table of the shop database, in one place (SQLAlchemy Core).

Money columns are integer fen (``Money``), times are UTC (``UtcDateTime``).
Databases get these tables from the migrations in ``bot.store.migrations``
(``migrate(engine)``); a change here needs a new revision there, e.g.
``alembic revision --autogenerate --rev-id 0002 -m "..."`` (tests compare the two).
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.database import Money, UtcDateTime

metadata = sa.MetaData()

customers = sa.Table(
    "customers", metadata,
    sa.Column("customer_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("phone", sa.String(20), nullable=False, default=""),
    sa.Column("vip", sa.Boolean, nullable=False, default=False),
)

products = sa.Table(
    "products", metadata,
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("name_zh", sa.String(200), nullable=False),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("aliases", sa.JSON, nullable=False),
    sa.Column("custom_made", sa.Boolean, nullable=False, default=False),
    sa.Column("perishable", sa.Boolean, nullable=False, default=False),
    sa.Column("digital_content", sa.Boolean, nullable=False, default=False),
    sa.Column("on_sale", sa.Boolean, nullable=False, default=True),
)

price_points = sa.Table(
    "price_points", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sku", sa.String(64), sa.ForeignKey("products.sku"), nullable=False),
    sa.Column("effective_at", UtcDateTime, nullable=False),
    sa.Column("price", Money, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Index("ix_price_points_sku_at", "sku", "effective_at"),
)

orders = sa.Table(
    "orders", metadata,
    sa.Column("order_id", sa.String(32), primary_key=True),
    sa.Column("customer_id", sa.String(32), sa.ForeignKey("customers.customer_id"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("placed_at", UtcDateTime, nullable=False),
    sa.Column("address", sa.String(300), nullable=False),
    sa.Column("promised_at", UtcDateTime),
    sa.Column("payment_method", sa.String(20), nullable=False),
    sa.Column("paid_at", UtcDateTime),
    sa.Column("invoice_title", sa.String(200), nullable=False, default=""),
    sa.Column("refunded_at", UtcDateTime),
    sa.Index("ix_orders_customer_placed", "customer_id", "placed_at"),
)

order_lines = sa.Table(
    "order_lines", metadata,
    sa.Column("line_id", sa.String(40), primary_key=True),
    sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.order_id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sku", sa.String(64), sa.ForeignKey("products.sku"), nullable=False, index=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_list_price", Money, nullable=False),
    sa.Column("paid_amount", Money, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("is_gift", sa.Boolean, nullable=False, default=False),
    sa.Column("price_kind", sa.String(20), nullable=False, default="list"),
    sa.Column("opened", sa.Boolean, nullable=False, default=False),
)

shipments = sa.Table(
    "shipments", metadata,
    sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.order_id"), primary_key=True),
    sa.Column("carrier", sa.String(40), nullable=False),
    sa.Column("tracking_no", sa.String(40), nullable=False),
    sa.Column("shipped_at", UtcDateTime),
    sa.Column("delivered_at", UtcDateTime),
)

tracking_events = sa.Table(
    "tracking_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.order_id"), nullable=False, index=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("location_zh", sa.String(100), nullable=False),
    sa.Column("location_en", sa.String(100), nullable=False),
    sa.Column("description_zh", sa.String(300), nullable=False),
    sa.Column("description_en", sa.String(300), nullable=False),
)

order_changes = sa.Table(
    "order_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.order_id"), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),  # cancel, address, invoice
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)

web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(32), sa.ForeignKey("customers.customer_id"), nullable=False),
    sa.Column("conversation_id", sa.String(64), nullable=False, unique=True),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

messages = sa.Table(
    "messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(64), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),  # shopper, bot, agent, system
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("buttons", sa.JSON, nullable=False),
    sa.Column("card", sa.JSON),
    sa.Column("intent", sa.String(64)),
    sa.Column("confidence", sa.Float),
    sa.Column("author", sa.String(64)),  # agent id for agent messages
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("client_id", sa.String(64)),  # the chat page's name for a shopper message; a retry reuses it
    sa.Index("ix_messages_conversation", "conversation_id", "id"),
    sa.Index("ux_messages_client_id", "conversation_id", "client_id", unique=True),
)

claims = sa.Table(
    "claims", metadata,
    sa.Column("claim_id", sa.String(40), primary_key=True),
    sa.Column("line_id", sa.String(40), sa.ForeignKey("order_lines.line_id"), nullable=False, index=True),
    sa.Column("order_id", sa.String(32), nullable=False),
    sa.Column("customer_id", sa.String(32), nullable=False, index=True),
    sa.Column("amount", Money, nullable=False),
    sa.Column("price_at_claim", Money, nullable=False),
    sa.Column("paid_per_unit", Money, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # approved, pending_review, rejected
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("decision_due", UtcDateTime, nullable=False),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", UtcDateTime),
    # One claim per line per price level: concurrent identical requests collide here.
    sa.UniqueConstraint("line_id", "price_at_claim", name="uq_claims_line_price"),
)

after_sales = sa.Table(
    "after_sales", metadata,
    sa.Column("request_id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # return, exchange, cancel
    sa.Column("reason", sa.String(20), nullable=False),  # no_reason, quality
    sa.Column("line_id", sa.String(40), nullable=False, index=True),
    sa.Column("order_id", sa.String(32), nullable=False),
    sa.Column("customer_id", sa.String(32), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("refund_amount", Money),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("decision_due", UtcDateTime, nullable=False),
    sa.Column("deadline", UtcDateTime),
    sa.UniqueConstraint("line_id", "kind", name="uq_after_sales_line_kind"),
)

complaints = sa.Table(
    "complaints", metadata,
    sa.Column("complaint_id", sa.String(40), primary_key=True),
    sa.Column("customer_id", sa.String(32), nullable=False, index=True),
    sa.Column("order_id", sa.String(32)),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("defect", sa.String(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("safety", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_complaints_sku_at", "sku", "created_at"),
)

andon_events = sa.Table(
    "andon_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sku", sa.String(64), nullable=False, index=True),
    sa.Column("action", sa.String(20), nullable=False),  # pulled, reinstated
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("complaint_ids", sa.JSON, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("at", UtcDateTime, nullable=False),
)

agents = sa.Table(
    "agents", metadata,
    sa.Column("agent_id", sa.String(32), primary_key=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),  # bot.routing.Agent.to_json()
)

agent_sessions = sa.Table(
    "agent_sessions", metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("agent_id", sa.String(32), sa.ForeignKey("agents.agent_id"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

tickets = sa.Table(
    "tickets", metadata,
    sa.Column("ticket_id", sa.String(40), primary_key=True),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("data", sa.JSON, nullable=False),  # bot.routing.Ticket.to_json()
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

ticket_events = sa.Table(
    "ticket_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.String(40), nullable=False, index=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # opened, assigned, took_over, message, transfer...
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)

suggestion_outcomes = sa.Table(
    "suggestion_outcomes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.String(40), nullable=False, index=True),
    sa.Column("suggestion_id", sa.String(64), nullable=False),
    sa.Column("suggestion_type", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # shown, accepted, edited, ignored
    sa.Column("at", UtcDateTime, nullable=False),
)

operators = sa.Table(
    "operators", metadata,
    sa.Column("operator_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
)

operator_sessions = sa.Table(
    "operator_sessions", metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("operator_id", sa.String(32), sa.ForeignKey("operators.operator_id"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),  # file_saved, example_added, trained, published...
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False, index=True),
)

