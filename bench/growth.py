"""How cost grows: latency and memory of the per-turn shop reads as the order table grows.

    python -m bench.growth [--sizes 10000,100000,1000000] [--quick] [--postgres [URL]]
                           [--lookups 300] [--seed 7]

For each size (orders in the database) it makes a fresh database (SQLite: a
file under ``bench/out/``; ``--postgres``: a throwaway schema in
127.0.0.1:5432/test, dropped afterwards), creates the schema with
``migrate()``, loads the demo shop (customers C001–C010 and their orders) plus
generated customers with about five orders each (lines, shipments, tracking
events, a few claims and returns), then times the reads the assistant makes per
turn, through the real ``SqlShop`` / ``SqlAfterSales`` methods, over random
customers and orders:

* ``customer``: ``SqlShop.customer`` (every turn, the signed-in shopper);
* ``orders_of``: ``SqlShop.orders_of`` (recent orders with lines, shipment, tracking);
* ``order``: ``SqlShop.order`` (one order by id, scoped to its owner);
* ``order_of_line``: ``SqlShop.order_of_line`` (claims and returns name a line);
* ``products``: ``SqlShop.products_by_sku`` of a customer's order lines;
* ``price_history``: ``SqlShop.price_history`` of those SKUs (price protection);
* ``claims_of`` / ``requests_of``: the customer's claims and after-sales requests.

Every SQL statement behind them gets an ``EXPLAIN QUERY PLAN`` (SQLite) or
``EXPLAIN`` (PostgreSQL, after ``ANALYZE``); a plan that scans a whole table of
``LARGE_TABLE`` rows or more is printed as ``FULL SCAN`` and counted in
``full_scans`` (PostgreSQL may rightly scan a small table). Memory is the
process's peak RSS (``ru_maxrss``, cumulative over the run) and the database size
(file plus WAL, or ``pg_total_relation_size`` of the schema). The last line:

    backend=… orders=… db_mb=… peak_rss_mb=… orders_of_p99_ms=… order_p99_ms=…
    worst_p99_ms=… worst_query=… p99_growth=… full_scans=…

(on one line), where the figures are of the largest size and ``p99_growth`` is the worst
query's p99 at the largest size over its p99 at the smallest.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.policy import load_policy
from bot.store import schema as t
from bot.store.aftersales import SqlAfterSales
from bot.store.database import create_engine
from bot.store.migrations import migrate
from bot.store.seed import build_demo
from bot.store.shop import SqlShop

OUT = Path(__file__).resolve().parent / "out"
POLICY_FILE = Path(__file__).resolve().parent.parent / "policy.yml"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
ORDERS_PER_CUSTOMER = 5
BATCH = 20_000
#: A full scan of a table with at least this many rows is a failure; below it PostgreSQL may prefer one.
LARGE_TABLE = 5_000
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

STATUSES = (("delivered", 0.6), ("shipped", 0.15), ("paid", 0.1), ("awaiting_payment", 0.05),
            ("cancelled", 0.05), ("refunded", 0.05))
CARRIERS = ("SF", "JD", "ZTO", "YTO")
CITIES = (("上海", "Shanghai"), ("北京", "Beijing"), ("广州", "Guangzhou"), ("成都", "Chengdu"))
EVENTS = (("picked_up", "已揽收", "Picked up"), ("in_transit", "运输中", "In transit"),
          ("out_for_delivery", "派送中", "Out for delivery"), ("delivered", "已签收", "Delivered"))


# -- data generation -----------------------------------------------------------

@dataclass
class Loaded:
    """What the lookups draw from: (customer, order) pairs and line ids with their owner."""

    customers: list[str] = field(default_factory=list)
    orders: list[tuple[str, str]] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def _pick_status(rng: random.Random) -> str:
    r, acc = rng.random(), 0.0
    for status, p in STATUSES:
        acc += p
        if r < acc:
            return status
    return STATUSES[0][0]


def _after_sales(rng: random.Random, i: int, k: int, line: dict[str, Any], cid: str, placed: datetime,
                 claims: list[dict[str, Any]], requests: list[dict[str, Any]]) -> None:
    """About 2 % of delivered lines get a price-protection claim, 2 % a return."""
    lid, oid, qty = line["line_id"], line["order_id"], line["quantity"]
    price: Decimal = line["unit_list_price"]
    if rng.random() < 0.02:
        claims.append({"claim_id": f"PP{i:08d}{k}", "line_id": lid, "order_id": oid,
                       "customer_id": cid, "amount": Decimal("10.00") * qty,
                       "price_at_claim": price - Decimal("10.00"),
                       "paid_per_unit": price, "status": "approved",
                       "created_at": placed + timedelta(days=5),
                       "decision_due": placed + timedelta(days=5, minutes=100)})
    if rng.random() < 0.02:
        requests.append({"request_id": f"AS{i:08d}{k}", "kind": "return", "reason": "no_reason",
                         "line_id": lid, "order_id": oid, "customer_id": cid,
                         "status": "approved", "refund_amount": price * qty,
                         "created_at": placed + timedelta(days=6),
                         "decision_due": placed + timedelta(days=6, minutes=100),
                         "deadline": placed + timedelta(days=13)})


def _shipment(rng: random.Random, i: int, oid: str, placed: datetime, is_delivered: bool,
              ships: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """A shipment with 1–3 tracking events, or 4 once delivered."""
    shipped = placed + timedelta(hours=rng.uniform(4, 48))
    delivered = shipped + timedelta(days=rng.uniform(1, 4)) if is_delivered else None
    ships.append({"order_id": oid, "carrier": rng.choice(CARRIERS),
                  "tracking_no": f"SF{i:012d}", "shipped_at": shipped, "delivered_at": delivered})
    for e in range(4 if delivered else rng.choice((1, 2, 3))):
        code, dzh, den = EVENTS[e]
        zh, en = CITIES[(i + e) % len(CITIES)]
        events.append({"order_id": oid, "at": shipped + timedelta(hours=12 * e), "code": code,
                       "location_zh": zh, "location_en": en, "description_zh": dzh, "description_en": den})


def populate(engine: Engine, n_orders: int, seed: int) -> Loaded:
    """Demo shop plus generated customers and orders up to ``n_orders`` orders in all."""
    rng = random.Random(seed)
    demo = build_demo(NOW)
    shop = SqlShop(engine)
    shop.load(demo.customers, demo.products, demo.prices, demo.orders)
    loaded = Loaded(customers=[c.customer_id for c in demo.customers],
                    orders=[(o.customer_id, o.order_id) for o in demo.orders])
    prices: dict[str, Decimal] = {}
    for p in demo.prices:  # newest price per SKU (the list is oldest first per SKU)
        prices[p.sku] = p.price
    skus = sorted(prices)
    to_make = max(0, n_orders - len(demo.orders))
    n_customers = max(1, to_make // ORDERS_PER_CUSTOMER)
    cust_ids = [f"U{i:07d}" for i in range(n_customers)]
    loaded.customers += cust_ids
    with engine.begin() as c:
        for start in range(0, n_customers, BATCH):
            c.execute(sa.insert(t.customers), [
                {"customer_id": cid, "name": f"顾客{cid[1:]}", "language": "zh" if i % 3 else "en",
                 "phone": f"139{i:08d}", "vip": i % 20 == 0}
                for i, cid in enumerate(cust_ids[start:start + BATCH], start)])
    sample_every = max(1, to_make // 20_000)  # keep at most ~20k lookup candidates in memory
    for start in range(0, to_make, BATCH):
        orders: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        ships: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        claims: list[dict[str, Any]] = []
        requests: list[dict[str, Any]] = []
        for i in range(start, min(start + BATCH, to_make)):
            oid, cid = f"G{i:08d}", cust_ids[i % n_customers]
            status = _pick_status(rng)
            placed = NOW - timedelta(days=rng.uniform(0, 720))
            paid = None if status == "awaiting_payment" else placed + timedelta(minutes=rng.uniform(1, 30))
            orders.append({"order_id": oid, "customer_id": cid, "status": status, "placed_at": placed,
                           "address": f"上海市徐汇区漕溪北路{i % 900 + 1}号", "promised_at": placed + timedelta(days=3),
                           "payment_method": rng.choice(("alipay", "wechat", "card")), "paid_at": paid,
                           "invoice_title": "", "refunded_at": None})
            line_status = {"cancelled": "cancelled", "refunded": "refunded"}.get(status, "active")
            for k in range(rng.choice((1, 1, 2, 2, 3))):
                sku = rng.choice(skus)
                qty = rng.choice((1, 1, 1, 2))
                lid = f"{oid}-{k}"
                lines.append({"line_id": lid, "order_id": oid, "position": k, "sku": sku,
                              "quantity": qty, "unit_list_price": prices[sku],
                              "paid_amount": prices[sku] * qty, "status": line_status, "is_gift": False,
                              "price_kind": "list", "opened": False})
                if i % sample_every == 0 and k == 0:
                    loaded.lines.append((cid, lid))
                if status == "delivered":
                    _after_sales(rng, i, k, lines[-1], cid, placed, claims, requests)
            if i % sample_every == 0:
                loaded.orders.append((cid, oid))
            if status in ("shipped", "delivered"):
                _shipment(rng, i, oid, placed, status == "delivered", ships, events)
        with engine.begin() as c:
            for table, rows in ((t.orders, orders), (t.order_lines, lines), (t.shipments, ships),
                                (t.tracking_events, events), (t.claims, claims), (t.after_sales, requests)):
                if rows:
                    c.execute(sa.insert(table), rows)
    with engine.connect() as c:
        for table in (t.customers, t.orders, t.order_lines, t.shipments, t.tracking_events,
                      t.price_points, t.products, t.claims, t.after_sales):
            loaded.rows[table.name] = c.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    return loaded


# -- query plans ---------------------------------------------------------------

def plan_statements(sample: tuple[str, str], line_id: str, skus: Sequence[str]) -> dict[str, list[sa.sql.Select]]:
    """The SQL behind each timed lookup, as ``SqlShop`` / ``SqlAfterSales`` issue it."""
    cid, oid = sample
    ids = [oid, "G00000001", "G00000002"]
    assemble = [
        sa.select(t.order_lines).where(t.order_lines.c.order_id.in_(ids))
        .order_by(t.order_lines.c.order_id, t.order_lines.c.position),
        sa.select(t.tracking_events).where(t.tracking_events.c.order_id.in_(ids))
        .order_by(t.tracking_events.c.at),
        sa.select(t.shipments).where(t.shipments.c.order_id.in_(ids)),
    ]
    return {
        "customer": [sa.select(t.customers).where(t.customers.c.customer_id == cid)],
        "orders_of": [sa.select(t.orders).where(t.orders.c.customer_id == cid)
                      .order_by(t.orders.c.placed_at.desc()), *assemble],
        "order": [sa.select(t.orders).where(t.orders.c.order_id == oid, t.orders.c.customer_id == cid),
                  *assemble],
        "order_of_line": [sa.select(t.order_lines.c.order_id).where(t.order_lines.c.line_id == line_id)],
        "products": [sa.select(t.products).where(t.products.c.sku.in_(list(skus)))],
        "price_history": [sa.select(t.price_points).where(t.price_points.c.sku.in_(list(skus)))
                          .order_by(t.price_points.c.effective_at)],
        "claims_of": [sa.select(t.claims, t.order_lines.c.sku)
                      .join(t.order_lines, t.order_lines.c.line_id == t.claims.c.line_id)
                      .where(t.claims.c.customer_id == cid).order_by(t.claims.c.created_at.desc())],
        "requests_of": [sa.select(t.after_sales, t.order_lines.c.sku)
                        .join(t.order_lines, t.order_lines.c.line_id == t.after_sales.c.line_id)
                        .where(t.after_sales.c.customer_id == cid).order_by(t.after_sales.c.created_at.desc())],
    }


@dataclass
class Plan:
    indexed: bool
    text: str
    full_scans: list[str]


def explain(engine: Engine, stmt: sa.sql.Select, rows: dict[str, int]) -> Plan:
    """The plan of one statement, and the large tables it scans in full (none when indexed)."""
    sql = str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    scans: list[str] = []
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            details = [r[-1] for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
            for d in details:
                # "SCAN x" reads every row; "SCAN x USING INDEX" walks a whole index (just as bad);
                # "SEARCH x USING (COVERING) INDEX / PRIMARY KEY" is a lookup.
                if d.startswith("SCAN "):
                    scans.append(d.split()[1])
        else:
            details = [r[0] for r in c.exec_driver_sql("EXPLAIN " + sql)]
            for d in details:
                if "Seq Scan on " in d:
                    scans.append(d.split("Seq Scan on ")[1].split()[0])
    large = [s for s in scans if rows.get(s, LARGE_TABLE) >= LARGE_TABLE]
    text = " | ".join(x.strip().lstrip("->").strip() for x in details if x.strip())
    return Plan(not large, text, large)


# -- timing --------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_lookups(engine: Engine, loaded: Loaded, n: int, seed: int) -> dict[str, list[float]]:
    """``n`` calls of each per-turn read, on random customers, orders and lines; ms per call."""
    rng = random.Random(seed)
    shop = SqlShop(engine)
    after = SqlAfterSales(engine, shop, load_policy(POLICY_FILE))
    skus_of: dict[str, list[str]] = {oid: [] for _, oid in loaded.orders}
    with engine.connect() as c:
        for start in range(0, len(loaded.orders), 500):
            chunk = [oid for _, oid in loaded.orders[start:start + 500]]
            for r in c.execute(sa.select(t.order_lines.c.order_id, t.order_lines.c.sku)
                               .where(t.order_lines.c.order_id.in_(chunk))):
                skus_of[r.order_id].append(r.sku)
    owners = [cid for cid, _ in loaded.orders]
    calls: dict[str, Callable[..., Any]] = {
        "customer": shop.customer, "orders_of": shop.orders_of, "order": shop.order,
        "order_of_line": shop.order_of_line, "products": shop.products_by_sku,
        "price_history": shop.price_history, "claims_of": after.claims_of, "requests_of": after.requests_of,
    }
    out: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(n):
        cid, oid = rng.choice(loaded.orders)
        lcid, lid = rng.choice(loaded.lines) if loaded.lines else (cid, f"{oid}-0")
        skus = skus_of[oid] or ["SKU-AC-MIDEA-35"]
        other = rng.choice(owners)
        args: dict[str, tuple[Any, ...]] = {
            "customer": (cid,), "orders_of": (other,), "order": (cid, oid), "order_of_line": (lcid, lid),
            "products": (skus,), "price_history": (skus,), "claims_of": (other,), "requests_of": (other,),
        }
        for name, call in calls.items():
            began = time.perf_counter()
            call(*args[name])
            out[name].append((time.perf_counter() - began) * 1000)
    return out


# -- databases -----------------------------------------------------------------

@contextmanager
def sqlite_db(size: int) -> Iterator[tuple[Engine, Callable[[], int]]]:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"growth-{size}-{os.getpid()}.db"
    engine = create_engine(f"sqlite:///{path}")

    def size_bytes() -> int:
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())

    try:
        yield engine, size_bytes
    finally:
        engine.dispose()
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)


@contextmanager
def postgres_db(url: str) -> Iterator[tuple[Engine, Callable[[], int]]]:
    schema = f"growth_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = sa.create_engine(url, future=True, connect_args={"options": f"-csearch_path={schema}"})

    def size_bytes() -> int:
        with engine.connect() as c:
            return int(c.exec_driver_sql(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s AND c.relkind = 'r'",
                {"s": schema}).scalar_one())

    try:
        yield engine, size_bytes
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- main ----------------------------------------------------------------------

def run_size(engine: Engine, size_bytes: Callable[[], int], size: int, lookups: int,
             seed: int) -> dict[str, Any]:
    began = time.perf_counter()
    migrate(engine)
    loaded = populate(engine, size, seed)
    load_s = time.perf_counter() - began
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
    cid, oid = loaded.orders[len(loaded.orders) // 2]
    line_id = loaded.lines[0][1] if loaded.lines else f"{oid}-0"
    plans = {name: [explain(engine, s, loaded.rows) for s in stmts]
             for name, stmts in plan_statements((cid, oid), line_id,
                                                ["SKU-AC-MIDEA-35", "SKU-FRIDGE-HAIER-470"]).items()}
    times = time_lookups(engine, loaded, lookups, seed)
    return {"size": size, "orders": loaded.rows["orders"], "rows": loaded.rows, "load_s": load_s,
            "db_mb": size_bytes() / 1e6, "peak_rss_mb": peak_rss_mb(), "plans": plans,
            "p50": {k: statistics.median(v) for k, v in times.items()},
            "p99": {k: percentile(v, 0.99) for k, v in times.items()}}


def report(backend: str, results: list[dict[str, Any]]) -> int:
    """Print the tables; return the number of full scans of large tables."""
    full_scans = 0
    for r in results:
        rows = r["rows"]
        print(f"\n[{backend}] {r['orders']:,} orders: {rows['customers']:,} customers, "
              f"{rows['order_lines']:,} lines, {rows['shipments']:,} shipments, "
              f"{rows['tracking_events']:,} tracking events, {rows['claims']:,} claims, "
              f"{rows['after_sales']:,} returns; loaded in {r['load_s']:.1f}s; "
              f"db {r['db_mb']:.1f} MB; peak RSS so far {r['peak_rss_mb']:.0f} MB")
        print(f"  {'lookup':<14} {'p50 ms':>8} {'p99 ms':>8}  plan")
        for name, plans in r["plans"].items():
            verdict = "index" if all(p.indexed for p in plans) else "FULL SCAN"
            print(f"  {name:<14} {r['p50'][name]:>8.2f} {r['p99'][name]:>8.2f}  {verdict}")
            for p in plans:
                if not p.indexed:
                    full_scans += 1
                    print(f"  [FAIL] {name}: full scan of {', '.join(p.full_scans)}: {p.text}")
                else:
                    print(f"      plan: {p.text}")
    if full_scans:
        print(f"\n[FAIL] {full_scans} query plan(s) scan a large table in full: add an index "
              "(bot/store/schema.py and a migration)")
    else:
        print("\nevery query plan uses an index")
    print(f"\n  {'orders':>10} {'db MB':>8} {'rss MB':>7} " + " ".join(f"{k:>13}" for k in results[0]["p99"]))
    for r in results:
        print(f"  {r['orders']:>10,} {r['db_mb']:>8.1f} {r['peak_rss_mb']:>7.0f} "
              + " ".join(f"{r['p50'][k]:>5.2f}/{r['p99'][k]:>6.2f}" + " " for k in r["p99"]))
    print("  (p50/p99 ms per lookup)")
    return full_scans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=None, help="comma-separated order counts (default 10000,100000,1000000)")
    parser.add_argument("--quick", action="store_true", help="sizes 1000,10000")
    parser.add_argument("--postgres", nargs="?", const=PG_URL, default=None, metavar="URL",
                        help=f"PostgreSQL instead of SQLite (default URL {PG_URL}); a throwaway schema")
    parser.add_argument("--lookups", type=int, default=300, help="random calls of each lookup per size")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    else:
        sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    backend = "postgresql" if args.postgres else "sqlite"
    started = time.perf_counter()
    results = []
    for size in sizes:
        db = postgres_db(args.postgres) if args.postgres else sqlite_db(size)
        with db as (engine, size_bytes):
            results.append(run_size(engine, size_bytes, size, args.lookups, args.seed))
    full_scans = report(backend, results)
    first, last = results[0], results[-1]
    worst = max(last["p99"], key=lambda k: last["p99"][k])
    growth = last["p99"][worst] / max(first["p99"][worst], 1e-9)
    print(f"{len(sizes)} sizes, {args.lookups} lookups each, {time.perf_counter() - started:.0f}s")
    print(f"backend={backend} orders={last['orders']} db_mb={last['db_mb']:.1f} "
          f"peak_rss_mb={last['peak_rss_mb']:.0f} orders_of_p99_ms={last['p99']['orders_of']:.2f} "
          f"order_p99_ms={last['p99']['order']:.2f} worst_p99_ms={last['p99'][worst]:.2f} "
          f"worst_query={worst} p99_growth={growth:.2f} full_scans={full_scans}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
