"""Conversations read back from Rasa's SQL tracker store, for the operator console.

Rasa writes one row per event into its ``events`` table
(``rasa.core.tracker_store.SQLTrackerStore``)::

    events(id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL (indexed),
           type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255),
           action_name VARCHAR(255), data TEXT)  -- data: json.dumps(event.as_dict())

This module only reads it, and only by the indexed columns (``id``, the
primary key, and ``sender_id``): Rasa owns the table, and events are ordered
by ``id`` because timestamps are neither unique nor precise. Every sender's
history is one :class:`~bot.studio.conversations.Conversation`; Rasa's
sessions show as ``Turn.session`` and ``session`` steps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from bot.errors import InvalidData
from bot.studio.conversations import Conversation, ConversationNotFound, InvalidFilter

_metadata = sa.MetaData()

# Half a microsecond: a stored float timestamp that rounds to ``since`` (as
# ``Conversation.last_at`` does, at microsecond precision) counts as at ``since``.
_ROUNDING = 0.5e-6

#: The columns of Rasa 3.6's ``SQLTrackerStore.SQLEvent`` that are read here.
events = sa.Table(
    "events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("data", sa.Text),
)


def url_from_endpoint(tracker_store: Mapping[str, Any], root: Path) -> str:
    """The SQLAlchemy URL of the tracker store that endpoints.yml configures.

    Mirrors ``SQLTrackerStore.get_db_url``: a ``host`` holding a whole URL wins;
    otherwise ``dialect``, ``host``, ``port``, ``db``, ``username``, ``password``
    and ``query`` make one. A relative SQLite ``db`` is relative to ``root``,
    the folder Rasa runs in (``var/tracker.db`` → ``<root>/var/tracker.db``).

    Args:
        tracker_store: The ``tracker_store`` section of endpoints.yml.
        root: The folder Rasa is started from.

    Raises:
        InvalidData: The store is not Rasa's SQL tracker store.
    """
    if str(tracker_store.get("type", "")).upper() != "SQL":
        raise InvalidData("tracker store", f"type {tracker_store.get('type')!r} is not SQL")
    host = tracker_store.get("host")
    if isinstance(host, str) and "://" in host:
        return host
    dialect = str(tracker_store.get("dialect", "sqlite"))
    db = str(tracker_store.get("db", "rasa.db"))
    if dialect == "sqlite" and db != ":memory:" and not Path(db).is_absolute():
        db = str(root / db)
    url = sa.engine.URL.create(
        dialect, username=tracker_store.get("username"), password=tracker_store.get("password"),
        host=host, port=tracker_store.get("port"), database=db, query=tracker_store.get("query") or {})
    return url.render_as_string(hide_password=False)


class TrackerReader:
    """Reads conversations from the ``events`` table of a SQLite or PostgreSQL tracker store.

    It owns its engine: call :meth:`close` when done. The engine is created
    lazily by SQLAlchemy, so a missing database fails on the first read, not here.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///var/tracker.db`` or
            ``postgresql://rasa@db:5432/rasa?options=-csearch_path%3Dtracker``.
    """

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            # Rasa writes the same file; wait for its write lock instead of failing.
            self.engine: Engine = sa.create_engine(url, future=True, connect_args={"timeout": 30})
        else:
            self.engine = sa.create_engine(url, future=True, pool_pre_ping=True)

    def close(self) -> None:
        """Closes the engine's connections."""
        self.engine.dispose()

    def recent(self, limit: int = 50, since: datetime | None = None) -> list[Conversation]:
        """The ``limit`` senders most recently active, newest first, with their whole history.

        Two queries: the senders, grouped by the indexed ``sender_id`` and ordered
        by their last event's ``id`` (the order Rasa wrote them, which is time
        order); then all their events by ``sender_id``, ordered by ``id``.

        Args:
            limit: How many conversations at most.
            since: Only senders whose last event is at or after this instant
                (same rule as ``ConversationFilter.since``). Timestamps are not
                indexed, so this is checked on the grouped rows.

        Raises:
            InvalidFilter: ``limit`` is below 1 or ``since`` has no time zone.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidFilter("limit", limit, "a whole number of at least 1")
        last_id = sa.func.max(events.c.id).label("last_id")
        senders = sa.select(events.c.sender_id, last_id).group_by(events.c.sender_id)
        if since is not None:
            if since.utcoffset() is None:
                raise InvalidFilter("since", since.isoformat(), "a timezone-aware date and time")
            senders = senders.having(sa.func.max(events.c.timestamp) >= since.timestamp() - _ROUNDING)
        senders = senders.order_by(last_id.desc()).limit(limit)
        with self.engine.connect() as conn:
            order = [row.sender_id for row in conn.execute(senders)]
            if not order:
                return []
            rows = conn.execute(sa.select(events.c.id, events.c.sender_id, events.c.data)
                                .where(events.c.sender_id.in_(order)).order_by(events.c.id)).all()
        by_sender: dict[str, list[Mapping[str, Any]]] = {sender: [] for sender in order}
        for row in rows:
            by_sender[row.sender_id].append(_event(row.sender_id, row.id, row.data))
        return [Conversation.from_events(sender, by_sender[sender]) for sender in order]

    def get(self, sender_id: str) -> Conversation:
        """The whole history of one sender.

        Raises:
            ConversationNotFound: The store has no events for ``sender_id``.
        """
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(events.c.id, events.c.data)
                                .where(events.c.sender_id == sender_id).order_by(events.c.id)).all()
        if not rows:
            raise ConversationNotFound(sender_id)
        return Conversation.from_events(sender_id, [_event(sender_id, row.id, row.data) for row in rows])


def _event(sender_id: str, row_id: int, data: str | None) -> Mapping[str, Any]:
    try:
        event = json.loads(data or "")
    except ValueError as exc:
        raise InvalidData("tracker event", f"row {row_id} of sender {sender_id!r} is not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise InvalidData("tracker event", f"row {row_id} of sender {sender_id!r} is not an event dict")
    return event
