"""Orders import: order lines from a Shopify, WooCommerce or Square export, or any transaction log
(e.g. ``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country``).

Each line needs an order number, a date, a quantity, a unit price (or a line total) and a product named by SKU
or title. A SKU the catalog lacks becomes a product (title from the line's description, price from the latest
unit price). Cancelled and returned lines are stored as orders with that status, never as sales, and are listed
in the report: negative lines as credit notes that offset earlier sales, an order cancelled or refunded as a
whole (a Shopify or WooCommerce status) with its own positive quantities, as neither sale nor credit; lines of orders not paid (WooCommerce "Failed", "Pending payment", "On hold",
Shopify "expired") are skipped. Order-level cells (date, customer, country, status) that an export gives on an order's first
row only (Shopify) apply to all its rows. Unit-price changes per product over time go to ``price_history``.
Everything is written in ONE transaction; closing the job early leaves the shop as it was.
"""
from __future__ import annotations

import os
from typing import Any

import sqlite_utils

from shopai.io import common
from shopai.io.common import ImportPreview, ImportReport, RowProblem
from shopai.io.values import date_parser, decimal_comma_from, parse_number
from shopai.safety.backup import backup_before
from shopai.jobs import Job, Progress, UserError, run_job
from shopai.store.db import open_store, transaction

PAID, CANCELLED, RETURNED = "paid", "cancelled", "returned"
NOT_SOLD = "not sold"  # a line's status only: such lines are skipped
# order statuses of orders not paid (WooCommerce "Failed", "Pending payment", "On hold", checkout drafts)
_NEVER_PAID = {"failed", "payment failed", "pending", "pending payment", "unpaid", "draft", "checkout-draft",
               "on hold", "on-hold", "wc-failed", "wc-pending", "wc-checkout-draft", "wc-on-hold"}
# payment statuses (Shopify's Financial Status) of orders not paid: the authorization ran out uncaptured
_NEVER_PAID_FINANCIAL = {"expired"}


class _Parsed:
    def __init__(self) -> None:
        self.lines: list[list[Any]] = []  # [row, order, iso, sku, title, qty, price, customer, country, status]
        self.customer_info: dict[str, tuple[str, str, str]] = {}  # ext id -> (name, email, country)
        self.problems: list[RowProblem] = []
        self.rows_total = 0
        self.notes: list[str] = []
        self.day_first: bool | None = None


def _status_of(text: str, cancel_column: bool, financial: bool = False) -> str | None:
    """The status a line's status cell gives: paid, cancelled, returned, NOT_SOLD (an order that was not
    paid: failed, or waiting for payment) or None (blank). ``financial``: a payment status such as Shopify's
    Financial Status (paid, pending, authorized, partially_refunded, refunded, voided)."""
    if not text:
        return None
    if cancel_column:
        return CANCELLED
    s = text.lower()
    if "cancel" in s or "void" in s:
        return CANCELLED
    if "partial" in s:  # partially refunded: the order is still a sale
        return PAID
    if "refund" in s or "return" in s:
        return RETURNED
    if s in (_NEVER_PAID_FINANCIAL if financial else _NEVER_PAID):
        return NOT_SOLD
    return PAID


def _customer_key(text: str) -> str:
    text = text.strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text.lower() if "@" in text else text



def _parse(src: common.Source, progress_every: int = 25_000) -> Job[_Parsed]:
    out = _Parsed()
    idx = src.index
    table = src.table
    i_oid, i_date, i_time = idx["order_id"], idx["ordered_at"], idx["time"]
    i_sku, i_title, i_qty = idx["sku"], idx["title"], idx["quantity"]
    i_price, i_total, i_cust = idx["unit_price"], idx["line_total"], idx["customer_id"]
    i_country, i_status, i_name, i_email = idx["country"], idx["status"], idx["customer_name"], idx["email"]
    status_column = (src.mapping["status"] or "").lower()
    cancel_column, financial_column = "cancel" in status_column, "financial" in status_column
    # Shopify: "Cancelled at" marks a cancelled order, else "Financial Status" says paid / refunded / voided
    i_financial = next((i for i, c in enumerate(table.header) if c.lower() == "financial status"), None) \
        if cancel_column else None
    # order-level cells (date, customer, country, status) that an export gives on an order's first row only
    order_fill: dict[str, tuple[str, str, str, str | None]] = {}
    unpaid: dict[str, str] = {}  # order -> its status text, for orders not paid (failed, pending payment)
    problems = out.problems
    lines = out.lines
    # a file written with decimal commas ("49,90"): there "1.299" is 1299, and float() must not read it
    comma = decimal_comma_from(v[i] for v in table.sample(2000) for i in (i_price, i_total, i_qty)
                               if i is not None and i < len(v))
    estimate = max(1, table.text.count("\n"))
    for n, (row, v) in enumerate(table.records(), 1):
        if n % progress_every == 0:
            yield Progress(n, estimate * 2, f"Reading row {n:,}")
        oid = v[i_oid].strip()
        if not oid:
            problems.append(RowProblem(row, "no order number; skipped"))
            continue
        date_text = v[i_date].strip()
        if i_time is not None and v[i_time].strip():
            date_text = f"{date_text} {v[i_time].strip()}"
        cust = _customer_key(v[i_cust]) if i_cust is not None else ""
        country = v[i_country].strip() if i_country is not None else ""
        status_text = v[i_status].strip() if i_status is not None else ""
        status = _status_of(status_text, cancel_column, financial_column) if i_status is not None else None
        if status is None and i_financial is not None:
            status_text = v[i_financial].strip()
            status = _status_of(status_text, False, True)
        if status == NOT_SOLD:
            unpaid.setdefault(oid, status_text)
        fill = order_fill.get(oid)
        if fill is None:
            order_fill[oid] = (date_text, cust, country, status)
            order_status = status
        else:
            order_fill[oid] = (fill[0] or date_text, fill[1] or cust, fill[2] or country, fill[3] or status)
            date_text, cust, country = date_text or fill[0], cust or fill[1], country or fill[2]
            order_status = status or fill[3]
        if not date_text:
            problems.append(RowProblem(row, "no order date; skipped"))
            continue
        iso = date_text  # turned into ISO below, once every date of the file is known
        if order_status == NOT_SOLD:
            problems.append(RowProblem(row, f"order {oid} has not been paid (status {unpaid[oid]!r}), not a "
                                            "sale; skipped"))
            continue
        qty_text = v[i_qty]
        qty = parse_number(qty_text, decimal_comma=comma)
        if qty is None:
            problems.append(RowProblem(row, f"quantity {qty_text.strip()!r} is not a number; skipped"))
            continue
        if qty == 0:
            problems.append(RowProblem(row, "quantity is 0; skipped"))
            continue
        price_text = v[i_price] if i_price is not None else ""
        price = parse_number(price_text, decimal_comma=comma)
        if price is None and i_total is not None:
            total = parse_number(v[i_total], decimal_comma=comma)
            price = None if total is None else abs(total / qty)
        if price is None:
            shown = price_text.strip() or (v[i_total].strip() if i_total is not None else "")
            problems.append(RowProblem(row, f"price {shown!r} is not a number; skipped" if shown
                                       else "no price; skipped"))
            continue
        if price < 0:
            problems.append(RowProblem(row, f"price {price_text.strip()} is negative; skipped"))
            continue
        sku = v[i_sku].strip() if i_sku is not None else ""
        title = v[i_title].strip() if i_title is not None else ""
        if not sku and not title:
            problems.append(RowProblem(row, "the line names no product (no SKU, no description); skipped"))
            continue
        if status is None and qty < 0:
            if price == 0:
                problems.append(RowProblem(row, "a stock adjustment (negative quantity at price 0), not an "
                                                "order; skipped"))
                continue
            status = CANCELLED if oid[:1] in "Cc" and oid[1:2].isdigit() else RETURNED
        if cust and cust not in out.customer_info:
            out.customer_info[cust] = (v[i_name].strip() if i_name is not None else "",
                                       v[i_email].strip() if i_email is not None else "", country)
        lines.append([row, oid, iso, sku, title, qty, price, cust, country, status or order_status or PAID])
    # Day-first or month-first is decided from all the file's dates (a first part above 12 means day-first).
    distinct = {ln[2] for ln in lines}
    parse_date, out.day_first = date_parser(sorted(distinct))
    as_iso = {text: parse_date(text) for text in distinct}
    kept = []
    for ln in lines:
        iso = as_iso[ln[2]]
        if iso is None:
            problems.append(RowProblem(ln[0], f"unreadable date {ln[2]!r}; skipped"))
            continue
        ln[2] = iso
        kept.append(ln)
    out.lines = kept
    out.problems.extend(table.problems)
    out.rows_total = len(kept) + sum(1 for p in out.problems if p.skipped)
    return out


class _Plan:
    """What the parsed lines mean against the shop: products to create, orders, problems."""

    def __init__(self) -> None:
        self.new_products: dict[str, tuple[str, float | None]] = {}  # sku -> (title, price)
        self.product_ids: dict[str, int] = {}
        self.title_ids: dict[str, int] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.skipped_rows = 0


def _plan(conn, parsed: _Parsed) -> Job[_Plan]:
    plan = _Plan()
    lines = parsed.lines
    problems = parsed.problems
    skus = {ln[3] for ln in lines if ln[3]}
    plan.product_ids = _lookup(conn, "SELECT sku, id FROM products WHERE sku IN ({})", list(skus))
    no_sku_titles = {ln[4].lower() for ln in lines if not ln[3]}
    if no_sku_titles:
        plan.title_ids = _lookup(conn, "SELECT lower(title), id FROM products WHERE lower(title) IN ({})",
                                 list(no_sku_titles))
    # products the log names by SKU that the catalog lacks: latest description and latest paid unit price
    latest: dict[str, list[Any]] = {}
    total = len(lines)
    yield Progress(total, 2 * total, "Looking up products")
    for ln in lines:
        sku = ln[3]
        if not sku or sku in plan.product_ids:
            continue
        rec = latest.get(sku)
        if rec is None:
            rec = latest[sku] = ["", "", None, ""]  # title, title time, price, price time
        if ln[4] and ln[2] >= rec[1]:
            rec[0], rec[1] = ln[4], ln[2]
        if ln[9] == PAID and ln[5] > 0 and ln[6] > 0 and ln[2] >= rec[3]:
            rec[2], rec[3] = ln[6], ln[2]
    for sku, (title, _, price, _) in latest.items():
        if title:
            plan.new_products[sku] = (title, price)
    existing_orders = _lookup(conn, "SELECT external_id, id FROM orders WHERE external_id IN ({})",
                              list({ln[1] for ln in lines}))
    kept = []
    reported_existing: set[str] = set()
    yield Progress(total * 1.1, 2 * total, "Grouping orders")
    for n, ln in enumerate(lines):
        if n % 100_000 == 0:
            yield Progress(total * (1.1 + 0.2 * n / total), 2 * total, "Grouping orders")
        row, oid, sku, title = ln[0], ln[1], ln[3], ln[4]
        if oid in existing_orders:  # every line is a skipped row (the counts count rows)
            reported_existing.add(oid)
            problems.append(RowProblem(row, f"order {oid} is already in the shop; skipped"))
            plan.skipped_rows += 1
            continue
        if sku:
            if sku not in plan.product_ids and sku not in plan.new_products:
                problems.append(RowProblem(row, f"product {sku} is not in the catalog and the line has no "
                                                "description to create it from; skipped"))
                continue
        elif title.lower() not in plan.title_ids:
            problems.append(RowProblem(row, f"product {title!r} is not in the catalog and the line has no SKU; "
                                            "skipped"))
            continue
        order = plan.orders.get(oid)
        if order is None:
            order = plan.orders[oid] = {"row": row, "ordered_at": ln[2], "customer": ln[7], "country": ln[8],
                                        "lines": [], "statuses": set()}
        order["lines"].append(ln)
        order["statuses"].add(ln[9] if not (ln[9] == PAID and ln[5] < 0) else "negative")
        kept.append(ln)
    cancelled_lines = returned_lines = 0
    for order in plan.orders.values():
        statuses = order["statuses"]
        if PAID in statuses:
            status = PAID
        elif CANCELLED in statuses:
            status = CANCELLED
        elif RETURNED in statuses:
            status = RETURNED
        else:
            status = RETURNED
        order["status"] = status
        if status != PAID:
            # Negative lines are credit notes (a UK log's "C" invoices, Square's refund events): they offset
            # an earlier sale. Positive lines are the order itself, cancelled or refunded as a whole (Shopify,
            # WooCommerce): kept as the customer ordered them, they count as neither a sale nor a credit.
            for ln in order["lines"]:
                if status == CANCELLED:
                    cancelled_lines += 1
                else:
                    returned_lines += 1
                problems.append(RowProblem(ln[0], f"{status} line of order {ln[1]}: stored as a {status} order, "
                                                  "not a sale", False))
        order["total"] = round(sum(ln[5] * ln[6] for ln in order["lines"]), 2)
    parsed.lines = kept
    problems.sort(key=lambda p: p.row)
    n_cancelled = sum(1 for o in plan.orders.values() if o["status"] == CANCELLED)
    n_returned = sum(1 for o in plan.orders.values() if o["status"] == RETURNED)
    if cancelled_lines:
        parsed.notes.append(f"{cancelled_lines:,} cancelled lines ({n_cancelled:,} orders) stored as cancelled "
                            "orders, not sales.")
    if returned_lines:
        parsed.notes.append(f"{returned_lines:,} returned lines ({n_returned:,} orders) stored as returns, "
                            "not sales.")
    if plan.new_products:
        parsed.notes.append(f"{len(plan.new_products):,} products not in the catalog were created from the "
                            "order lines.")
    if reported_existing:
        parsed.notes.append(f"{len(reported_existing):,} orders were already in the shop and were skipped.")
    if parsed.day_first is not None:
        parsed.notes.append("Dates read as " + ("day/month/year." if parsed.day_first else "month/day/year."))
    return plan


def _lookup(conn, sql: str, keys: list) -> dict:
    out = {}
    for start in range(0, len(keys), 900):
        chunk = keys[start:start + 900]
        out.update(conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall())
    return out


def preview(db: sqlite_utils.Database, path: str | os.PathLike,
            mapping: dict[str, str | None] | None = None) -> ImportPreview:
    """Dry run of an orders import: mapping, counts, per-row problems, the first lines as they would be."""
    return run_job(preview_steps(db, path, mapping))


def preview_steps(db: sqlite_utils.Database, path: str | os.PathLike,
                  mapping: dict[str, str | None] | None = None) -> Job[ImportPreview]:
    """:func:`preview` as a job body (yields Progress while it reads a large file)."""
    yield Progress(0, None, "Reading the file")
    src, pv = common.start_preview(path, "orders", mapping)
    if pv.problems:  # a required field has no column yet
        return pv
    parsed = yield from _parse(src)
    plan = yield from _plan(db.conn, parsed)
    pv.day_first = parsed.day_first
    pv.rows_total = parsed.rows_total
    pv.rows_ok = len(parsed.lines)
    pv.problems = parsed.problems
    pv.notes = parsed.notes
    pv.would_create = len(plan.orders)
    keys = ("order_id", "ordered_at", "sku", "title", "quantity", "unit_price", "customer_id", "country",
            "status")
    pv.sample = [dict(zip(keys, ln[1:])) for ln in parsed.lines[:common.SAMPLE_ROWS]]
    return pv


def import_job(db_path: str, path: str | os.PathLike,
               mapping: dict[str, str | None] | None = None) -> Job[ImportReport]:
    """Import an orders CSV into the shop at ``db_path``; all valid lines in one transaction."""
    yield Progress(0, None, "Reading the file")
    src = common.open_source(path, "orders", mapping)
    common.require_mapping(src)
    parsed = yield from _parse(src)
    yield Progress(0, None, "Backing up the shop first")
    backup_before(db_path, "import")  # throttled; raises UserError (nothing changed) if it fails
    db = open_store(db_path)
    try:
        db.conn.execute("PRAGMA cache_size = -131072")
        # Every reference written below points at a row this transaction inserted or looked up, so the
        # per-row foreign-key checks are skipped (a large share of the time on a 500k-line log).
        db.conn.execute("PRAGMA foreign_keys = OFF")
        report = yield from _write(db, src, parsed)
    finally:
        db.conn.close()
    return report


def _write(db, src, parsed: _Parsed) -> Job[ImportReport]:
    now = common.now_iso()
    with transaction(db) as conn:
        # planned inside the write transaction, so no other writer can add the same orders meanwhile
        plan = yield from _plan(conn, parsed)
        lines = parsed.lines
        total = len(lines)
        if not lines:
            reasons = "; ".join(f"row {p.row}: {p.message}" for p in parsed.problems[:3] if p.skipped)
            raise UserError(f"{src.table.path.name}: no order line could be imported ({reasons or 'no rows'}).")
        import_id = common.start_import(conn, "orders", src.table.path, src.format)
        report = ImportReport(import_id=import_id, kind="orders", format=src.format, problems=parsed.problems,
                              notes=parsed.notes)
        # products named by the log that the catalog lacks
        if plan.new_products:
            fast = common.FastProductInsert(conn, import_id, len(plan.new_products))
            conn.executemany(
                "INSERT INTO products (sku, title, description, price, created_at, updated_at, import_id) "
                "VALUES (?, ?, '', ?, ?, ?, ?)",
                [(sku, title, price, now, now, import_id) for sku, (title, price) in plan.new_products.items()])
            fast.finish()
            plan.product_ids.update(conn.execute("SELECT sku, id FROM products WHERE import_id = ?",
                                                 (import_id,)).fetchall())
        yield Progress(total * 1.35, 2 * total, "Saving customers")
        # customers
        wanted = {o["customer"] for o in plan.orders.values() if o["customer"]}
        customer_ids = _lookup(conn, "SELECT external_id, id FROM customers WHERE external_id IN ({})",
                               list(wanted))
        new_customers = [(c, *parsed.customer_info.get(c, ("", "", ""))) for c in wanted
                         if c not in customer_ids]
        if new_customers:
            conn.executemany("INSERT INTO customers (external_id, name, email, country, created_at, import_id) "
                             "VALUES (?, nullif(?, ''), nullif(?, ''), nullif(?, ''), ?, ?)",
                             [(*c, now, import_id) for c in new_customers])
            customer_ids.update(conn.execute("SELECT external_id, id FROM customers WHERE import_id = ?",
                                             (import_id,)).fetchall())
        # orders
        conn.executemany(
            "INSERT INTO orders (external_id, customer_id, ordered_at, status, total, country, import_id) "
            "VALUES (?, ?, ?, ?, ?, nullif(?, ''), ?)",
            [(oid, customer_ids.get(o["customer"]) if o["customer"] else None, o["ordered_at"], o["status"],
              o["total"], o["country"], import_id) for oid, o in plan.orders.items()])
        order_ids = dict(conn.execute("SELECT external_id, id FROM orders WHERE import_id = ?",
                                      (import_id,)).fetchall())
        yield Progress(total * 1.4, 2 * total, "Saving order lines")
        pids, tids = plan.product_ids, plan.title_ids
        batch: list[tuple] = []
        done = 0
        for ln in lines:
            pid = pids.get(ln[3]) if ln[3] else tids.get(ln[4].lower())
            batch.append((order_ids[ln[1]], pid, ln[5], ln[6], ln[2]))
            if len(batch) >= 20_000:
                conn.executemany("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                                 "VALUES (?, ?, ?, ?, ?)", batch)
                done += len(batch)
                batch = []
                yield Progress(total * 1.4 + done * 0.4, 2 * total, f"Saving order lines: {done:,} of {total:,}")
        if batch:
            conn.executemany("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                             "VALUES (?, ?, ?, ?, ?)", batch)
        yield Progress(total * 1.8, 2 * total, "Recording price changes")
        history = _price_changes(conn, lines, pids, tids)
        yield Progress(total * 1.85, 2 * total, "Recording price changes")
        conn.executemany("INSERT INTO price_history (product_id, price, changed_at, source, import_id) "
                         "VALUES (?, ?, ?, 'import', ?)", [(*h, import_id) for h in history])
        report.created = total
        report.skipped = sum(1 for p in parsed.problems if p.skipped)
        common.finish_import(conn, import_id, total, report.skipped)
        yield Progress(total * 1.9, 2 * total, "Committing")
    report.details = {"order_lines": total, "orders": len(plan.orders), "customers": len(new_customers),
                      "products": len(plan.new_products), "price_changes": len(history),
                      "cancelled_orders": sum(1 for o in plan.orders.values() if o["status"] == CANCELLED),
                      "returned_orders": sum(1 for o in plan.orders.values() if o["status"] == RETURNED)}
    return report


def _price_changes(conn, lines, pids, tids) -> list[tuple[int, float, str]]:
    """(product id, price, when) each day a product's usual paid unit price differs from the day before
    (the most common price of each day; the shop's last recorded price counts as the one before). A log
    that mixes two price lists would otherwise record a change on nearly every line."""
    per_day: dict[int, dict[str, dict[float, int]]] = {}
    first_seen: dict[tuple[int, str], str] = {}
    for ln in lines:
        if ln[9] != PAID or ln[5] <= 0 or ln[6] <= 0:
            continue
        pid = pids.get(ln[3]) if ln[3] else tids.get(ln[4].lower())
        if pid is None:
            continue
        day = ln[2][:10]
        counts = per_day.setdefault(pid, {}).setdefault(day, {})
        counts[ln[6]] = counts.get(ln[6], 0) + 1
        key = (pid, day)
        if key not in first_seen or ln[2] < first_seen[key]:
            first_seen[key] = ln[2]
    last = dict(conn.execute("SELECT product_id, price FROM price_history p WHERE id = (SELECT max(id) FROM "
                             "price_history q WHERE q.product_id = p.product_id)").fetchall()) if per_day else {}
    out = []
    for pid, days in per_day.items():
        prev = last.get(pid)
        for day in sorted(days):
            counts = days[day]
            price = max(counts.items(), key=lambda kv: (kv[1], -kv[0]))[0]
            if price != prev:
                out.append((pid, price, first_seen[(pid, day)]))
                prev = price
    return out
