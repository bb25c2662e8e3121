"""Orders import: order lines from a Shopify, WooCommerce or Square export, or any transaction log
(e.g. ``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country``).

Each line needs an order number, a date, a quantity, a unit price (or a line total) and a product named by SKU
or title. A SKU the catalog lacks becomes a product (title from the line's description, price from the latest
unit price). Cancelled and returned lines are stored as orders with that status, never as sales, and are listed
in the report: negative lines as credit notes that offset earlier sales, an order cancelled or refunded as a
whole (a Shopify or WooCommerce status) with its own positive quantities, as neither sale nor credit; lines of
orders not paid (WooCommerce "Failed", "Pending payment", "On hold", Shopify "pending", "authorized",
"expired", Chinese 待付款 / 等待买家付款) are skipped. Chinese statuses count as their English kin (已取消 and
交易关闭 cancelled, 已退款 returned, 部分退款 a sale). Order-level cells (date, customer, country, status,
amounts) that an export gives on an order's first row only (Shopify) apply to all its rows.

An order's value (``orders.total``, what customer spend adds up) is its goods after discounts, without shipping
and taxes: Shopify's Subtotal, else the lines less the order's discount (WooCommerce's Cart Discount Amount),
else the sum of the lines; a sale partly refunded is worth that less the refunded amount.

Re-importing a later export: an order already in the shop with the same lines gets the file's status and value
when they changed (paid -> returned, partly refunded...), and the lines an earlier import had to skip (a product
the catalog lacked then) are added; each change is recorded so undo puts the old values back. Orders whose
lines differ, and credit notes, are left as they are. Unit-price changes per product over time go to
``price_history``. Everything is written in ONE transaction; closing the job early leaves the shop as it was.

Reading the file's rows into lines is :mod:`shopai.io.orders_parse`; here they are planned against the shop and
written.
"""
from __future__ import annotations

import os
from collections import Counter
from typing import Any

import sqlite_utils

from shopai.io import common
from shopai.io.common import ImportPreview, ImportReport, RowProblem
from shopai.io.order_status import CANCELLED, CENT as _CENT, PAID, RETURNED
from shopai.io.order_status import order_status as _order_status, order_value as _order_value
from shopai.io.orders_parse import Parsed, parse_orders
from shopai.safety.backup import backup_before
from shopai.jobs import Job, Progress, UserError, run_job
from shopai.store.db import in_chunks, open_store, transaction
from shopai.store.products import FastProductInsert
from shopai.store.title_keys import fill_title_keys


def _n(n: int, one: str, many: str | None = None) -> str:
    """ "1 line", "2 lines", "1,250 orders": the count with the noun English needs."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _money(x: float) -> str:
    return f"{x:,.2f}"


class _Plan:
    """What the parsed lines mean against the shop: products to create, new orders, orders already in the shop
    to update, problems."""

    def __init__(self) -> None:
        self.new_products: dict[str, tuple[str, float | None]] = {}  # sku -> (title, price)
        self.product_ids: dict[str, int] = {}
        self.title_ids: dict[str, int] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.skipped_rows = 0
        # orders already in the shop whose status or value changes: id, oid, old/new status and total
        self.updates: list[dict[str, Any]] = []
        self.updated_rows = 0  # the file's rows of those orders that were already stored
        self.added: list[tuple[int, list[Any]]] = []  # (order id, line): lines an earlier import had skipped


def _key(sku: str | None, title: str, qty: float, price: float) -> tuple:
    """What identifies an order line when a file is compared with the shop."""
    return (sku or "", "" if sku else title, round(qty, 6), round(price, 6))


def _plan(conn, parsed: Parsed) -> Job[_Plan]:
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
    candidates = {sku: (title, price) for sku, (title, _, price, _) in latest.items() if title}
    # orders of this file already in the shop, with their lines
    existing = {r[0]: r[1:] for r in _fetch(conn, "SELECT external_id, id, status, total FROM orders "
                                                  "WHERE external_id IN ({})", list({ln[1] for ln in lines}))}
    shop_lines: dict[int, Counter] = {}
    credit_orders: set[int] = set()
    if existing:
        for order_id, sku, title, qty, price in _fetch(
                conn, "SELECT l.order_id, coalesce(p.sku, l.deleted_sku), lower(coalesce(p.title, l.deleted_title, "
                      "'')), l.quantity, l.unit_price FROM order_lines l LEFT JOIN products p ON p.id = l.product_id "
                      "WHERE l.order_id IN ({})", [e[0] for e in existing.values()]):
            shop_lines.setdefault(order_id, Counter())[_key(sku, title, qty, price)] += 1
            if qty < 0:
                credit_orders.add(order_id)
    title_sku = {}
    if existing and plan.title_ids:
        sku_of = _lookup(conn, "SELECT id, sku FROM products WHERE id IN ({})", list(set(plan.title_ids.values())))
        title_sku = {t: sku_of.get(pid) for t, pid in plan.title_ids.items()}
    missing_products: list[str] = []  # lines skipped because the catalog lacks their product

    def product_problem(ln) -> str | None:
        sku, title = ln[3], ln[4]
        if sku:
            if sku in plan.product_ids or sku in candidates:
                return None
            missing_products.append(sku)
            return f"product {sku} is not in the catalog and the line has no description to create it from; skipped"
        if title.lower() in plan.title_ids:
            return None
        missing_products.append(repr(title))
        return f"product {title!r} is not in the catalog and the line has no SKU; skipped"

    kept = []
    of_existing: dict[str, list[list[Any]]] = {}
    yield Progress(total * 1.1, 2 * total, "Grouping orders")
    for n, ln in enumerate(lines):
        if n % 100_000 == 0:
            yield Progress(total * (1.1 + 0.2 * n / total), 2 * total, "Grouping orders")
        oid = ln[1]
        if oid in existing:
            of_existing.setdefault(oid, []).append(ln)
            continue
        why = product_problem(ln)
        if why:
            problems.append(RowProblem(ln[0], why))
            continue
        order = plan.orders.get(oid)
        if order is None:
            order = plan.orders[oid] = {"row": ln[0], "ordered_at": ln[2], "customer": ln[7], "country": ln[8],
                                        "lines": []}
        order["lines"].append(ln)
        kept.append(ln)
    # orders already in the shop: same lines -> the file's status and value; lines the shop lacks (an earlier
    # import could not identify their product) are added; other lines, or a credit note -> left as they are
    reported_existing: set[str] = set()
    differ: list[str] = []
    status_changes: list[str] = []
    value_changes: list[str] = []
    refunds: list[tuple[str, dict[str, Any], float]] = []
    discounted = 0
    postage: list[float] = []  # postage taken off orders whose line total included it (Taobao's report)
    lines_added_to = 0

    def already(oid: str, rows: list[list[Any]]) -> None:
        for ln in rows:
            problems.append(RowProblem(ln[0], f"order {oid} is already in the shop; skipped"))
        plan.skipped_rows += len(rows)
        reported_existing.add(oid)

    for oid, flines in of_existing.items():
        order_id, old_status, old_total = existing[oid]
        have = shop_lines.get(order_id, Counter())
        keys = [_key(ln[3] or title_sku.get(ln[4].lower()), ln[4].lower(), ln[5], ln[6]) for ln in flines]
        if order_id in credit_orders or any(ln[5] < 0 for ln in flines):
            already(oid, flines)  # credit notes are separate orders: never re-written
            continue
        if have - Counter(keys):  # the shop holds lines this file does not
            differ.append(oid)
            for ln in flines:
                problems.append(RowProblem(ln[0], f"order {oid} is already in the shop with other lines; skipped "
                                                  "(its lines are left as they are)"))
            plan.skipped_rows += len(flines)
            continue
        left = Counter(have)
        matched, added = [], []
        for ln, key in zip(flines, keys):
            if left[key] > 0:
                left[key] -= 1
                matched.append(ln)
                continue
            why = product_problem(ln)
            if why:
                problems.append(RowProblem(ln[0], why))
                continue
            added.append(ln)
        if not matched and not added:
            continue
        money = parsed.money.get(oid)
        status, value, facts = _order_value(matched + added, money, _order_status(matched + added),
                                            parsed.refund_in_quantity)
        if money is None or all(m is None for m in money):
            # the file says nothing of the order's value (a transaction log, our own export): the shop's value
            # stays, plus the lines added (it may hold a discount that an earlier export told)
            value = round(old_total + sum(ln[5] * ln[6] for ln in added), 2)
        if not added and status == old_status and abs(value - old_total) < _CENT:
            already(oid, matched)
            continue
        plan.updates.append({"id": order_id, "oid": oid, "old_status": old_status, "old_total": old_total,
                             "status": status, "total": value})
        plan.updated_rows += len(matched)
        plan.added.extend((order_id, ln) for ln in added)
        lines_added_to += bool(added)
        first = (matched + added)[0][0]
        if status != old_status:
            status_changes.append(f"{oid} {old_status} → {status}")
            problems.append(RowProblem(first, f"order {oid} was {old_status} in the shop and is {status} in this "
                                              "file: its status was changed", False))
        elif abs(value - old_total) >= _CENT:
            value_changes.append(f"{oid} {_money(old_total)} → {_money(value)}")
            problems.append(RowProblem(first, f"order {oid} was worth {_money(old_total)} in the shop and "
                                              f"{_money(value)} in this file: its value was changed", False))
        if "refund" in facts:
            refunds.append((oid, facts, value))
        discounted += "discount" in facts
        if "postage" in facts:
            postage.append(facts["postage"])
    cancelled_lines = returned_lines = 0
    for oid, order in plan.orders.items():
        status, value, facts = _order_value(order["lines"], parsed.money.get(oid), _order_status(order["lines"]),
                                            parsed.refund_in_quantity)
        order["status"], order["total"] = status, value
        if "refund" in facts:
            refunds.append((oid, facts, value))
        discounted += "discount" in facts
        if "postage" in facts:
            postage.append(facts["postage"])
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
    for oid, facts, value in refunds:
        row = plan.orders[oid]["row"] if oid in plan.orders else None
        if row is None:
            continue  # an order already in the shop: its change is told above
        if facts.get("covered"):
            problems.append(RowProblem(row, f"order {oid}: the refunds ({_money(facts['refund'])}) cover all its "
                                            f"goods ({_money(facts['before'])}): stored as returned", False))
        else:
            problems.append(RowProblem(row, f"order {oid} was partly refunded: stored as a sale of {_money(value)} "
                                            f"({_money(facts['before'])} less {_money(facts['refund'])} refunded)",
                                       False))
    used = {ln[3] for ln in kept if ln[3]} | {ln[3] for _, ln in plan.added if ln[3]}
    plan.new_products = {sku: candidates[sku] for sku in candidates if sku in used}
    parsed.lines = kept
    problems.sort(key=lambda p: p.row)
    parsed.notes.extend(_notes(parsed, plan, status_changes=status_changes, value_changes=value_changes,
                               lines_added_to=lines_added_to, differ=differ, missing_products=missing_products,
                               cancelled_lines=cancelled_lines, returned_lines=returned_lines, refunds=refunds,
                               discounted=discounted, postage=postage, reported_existing=reported_existing,
                               unpaid_in_shop=_fetch(conn, "SELECT external_id, status FROM orders WHERE external_id "
                                                           "IN ({})", list(parsed.unpaid))))
    return plan


def _examples(items: list[str], most: int = 3) -> str:
    return ("e.g. " if len(items) > most else "") + ", ".join(items[:most])


def _notes(parsed: Parsed, plan: _Plan, *, status_changes, value_changes, lines_added_to, differ, missing_products,
           cancelled_lines, returned_lines, refunds, discounted, postage, reported_existing,
           unpaid_in_shop) -> list[str]:
    """The report's notes, the most important first (the import dialog shows the first three)."""
    notes = []
    if status_changes:
        verb = "changes" if len(status_changes) == 1 else "change"
        notes.append(f"{_n(len(status_changes), 'order')} {verb} status ({_examples(status_changes)}).")
    if value_changes:
        verb = "changes" if len(value_changes) == 1 else "change"
        notes.append(f"{_n(len(value_changes), 'order')} already in the shop {verb} value "
                     f"({_examples(value_changes)}).")
    if plan.added:
        notes.append(f"{_n(len(plan.added), 'line')} that an earlier import could not match to a product "
                     f"{'is' if len(plan.added) == 1 else 'are'} added to {_n(lines_added_to, 'order')} already "
                     "in the shop.")
    if differ:
        one = len(differ) == 1
        notes.append(f"{_n(len(differ), 'order')} {'is' if one else 'are'} in the shop with other lines than this "
                     f"file gives ({_examples(differ)}): {'it is' if one else 'they are'} left as "
                     f"{'it is' if one else 'they are'}.")
    if unpaid_in_shop:
        one = len(unpaid_in_shop) == 1
        oid, status = unpaid_in_shop[0]
        notes.append(f"{_n(len(unpaid_in_shop), 'order')} in the shop {'is' if one else 'are'} not paid in this file "
                     f"({'' if one else 'e.g. '}{oid}, {parsed.unpaid[oid]!r}; {status} in the shop): left as "
                     f"{'it is' if one else 'they are'}; if {'it' if one else 'they'} should not count as "
                     "sales, undo the import that brought them in and import this file again.")
    if missing_products:
        one = len(missing_products) == 1
        notes.append(f"{_n(len(missing_products), 'line')} {'names a product' if one else 'name products'} the "
                     f"catalog lacks ({_examples(sorted(set(missing_products)), 2)}): skipped; import the catalog "
                     "first, then these orders again (orders already in the shop then get their missing lines).")
    if len(set(parsed.currency.values())) > 1:
        counts = Counter(parsed.currency.values())
        parts = ", ".join(f"{code} ({_n(k, 'order')})" for code, k in counts.most_common())
        notes.append(f"This file has orders in {len(counts)} currencies: {parts}. Amounts are stored as they are, "
                     "not converted: totals and customer spend add them up as if they were one currency.")
    n_cancelled = sum(1 for o in plan.orders.values() if o["status"] == CANCELLED)
    n_returned = sum(1 for o in plan.orders.values() if o["status"] == RETURNED)
    if cancelled_lines:
        notes.append(f"{_n(cancelled_lines, 'cancelled line')} ({_n(n_cancelled, 'order')}) stored as "
                     f"{'a cancelled order, not a sale' if n_cancelled == 1 else 'cancelled orders, not sales'}.")
    if returned_lines:
        notes.append(f"{_n(returned_lines, 'returned line')} ({_n(n_returned, 'order')}) stored as "
                     f"{'a return, not a sale' if n_returned == 1 else 'returns, not sales'}.")
    partly = [(oid, f, v) for oid, f, v in refunds if not f.get("covered")]
    covered = [oid for oid, f, _ in refunds if f.get("covered")]
    if partly:
        oid, facts, value = partly[0]
        one = len(partly) == 1
        notes.append(f"{_n(len(partly), 'order')} partly refunded: {'it is' if one else 'each is'} a sale worth "
                     f"{'its' if one else 'their'} goods less the refund ({'' if one else 'e.g. '}{oid}: "
                     f"{_money(facts['before'])} less {_money(facts['refund'])} = {_money(value)}).")
    if covered:
        one = len(covered) == 1
        notes.append(f"{_n(len(covered), 'order')} {'has' if one else 'have'} refunds covering all "
                     f"{'its' if one else 'their'} goods "
                     f"({_examples(covered)}): stored as {'a return' if one else 'returns'}, not sales.")
    if postage:
        column = parsed.shipping_column or "the postage column"
        notes.append(f"What the buyer paid includes postage: {column} ({_money(sum(postage))} in all) is taken off "
                     f"the value of {_n(len(postage), 'order')}, which is the goods alone.")
    if discounted:
        basis = "the file's Subtotal" if parsed.has_subtotal else "the lines less the order's discount"
        notes.append(f"Order values are the goods after discounts, without shipping and taxes ({basis}); "
                     f"{_n(discounted, 'order')} {'has' if discounted == 1 else 'have'} a discount.")
    if plan.new_products:
        notes.append(f"{_n(len(plan.new_products), 'product')} not in the catalog "
                     f"{'is' if len(plan.new_products) == 1 else 'are'} created from the order lines.")
    if reported_existing:
        one = len(reported_existing) == 1
        notes.append(f"{_n(len(reported_existing), 'order')} {'is' if one else 'are'} already in the shop and "
                     f"{'is' if one else 'are'} skipped.")
    if parsed.day_first is not None:
        notes.append("Dates read as " + ("day/month/year." if parsed.day_first else "month/day/year."))
    return notes


def _fetch(conn, sql: str, keys: list) -> list[tuple]:
    out: list[tuple] = []
    for chunk, marks in in_chunks(keys):
        out.extend(conn.execute(sql.format(marks), chunk).fetchall())
    return out


def _lookup(conn, sql: str, keys: list) -> dict:
    return dict(_fetch(conn, sql, keys))


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
    parsed = yield from parse_orders(src)
    plan = yield from _plan(db.conn, parsed)
    pv.day_first = parsed.day_first
    pv.rows_total = parsed.rows_total
    pv.rows_ok = len(parsed.lines) + len(plan.added) + plan.updated_rows
    pv.problems = parsed.problems
    pv.notes = parsed.notes
    pv.would_create = len(plan.orders)
    pv.would_update = len(plan.updates)
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
    parsed = yield from parse_orders(src)
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


def _write(db, src, parsed: Parsed) -> Job[ImportReport]:
    now = common.now_iso()
    with transaction(db) as conn:
        # planned inside the write transaction, so no other writer can add the same orders meanwhile
        plan = yield from _plan(conn, parsed)
        lines = parsed.lines
        total = len(lines)
        if not lines and not plan.updates:
            reasons = "; ".join(f"row {p.row}: {p.message}" for p in parsed.problems[:3] if p.skipped)
            raise UserError(f"{src.table.path.name}: no order line could be imported ({reasons or 'no rows'}).")
        import_id = common.start_import(conn, "orders", src.table.path, src.format)
        report = ImportReport(import_id=import_id, kind="orders", format=src.format, problems=parsed.problems,
                              notes=parsed.notes)
        # products named by the log that the catalog lacks
        if plan.new_products:
            fast = FastProductInsert(conn, import_id, len(plan.new_products))
            conn.executemany(
                "INSERT INTO products (sku, title, description, price, created_at, updated_at, import_id) "
                "VALUES (?, ?, '', ?, ?, ?, ?)",
                [(sku, title, price, now, now, import_id) for sku, (title, price) in plan.new_products.items()])
            fast.finish()
            fill_title_keys(conn)  # Chinese titles: their pinyin, to sort by
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
        # orders already in the shop: a new status or value, lines an earlier import skipped; each change is
        # recorded (old values; added lines) so that undoing this import puts the orders back as they were
        for u in plan.updates:
            common.record_change(conn, import_id, "orders", u["id"], {"status": u["old_status"],
                                                                     "total": u["old_total"]})
            conn.execute("UPDATE orders SET status = ?, total = ? WHERE id = ?", (u["status"], u["total"], u["id"]))
        for order_id, ln in plan.added:
            pid = pids.get(ln[3]) if ln[3] else tids.get(ln[4].lower())
            cur = conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                               "VALUES (?, ?, ?, ?, ?)", (order_id, pid, ln[5], ln[6], ln[2]))
            common.record_change(conn, import_id, "order_lines", cur.lastrowid, None)
        yield Progress(total * 1.8, 2 * total, "Recording price changes")
        history = _price_changes(conn, lines + [ln for _, ln in plan.added], pids, tids)
        yield Progress(total * 1.85, 2 * total, "Recording price changes")
        conn.executemany("INSERT INTO price_history (product_id, price, changed_at, source, import_id) "
                         "VALUES (?, ?, ?, 'import', ?)", [(*h, import_id) for h in history])
        report.created = total + len(plan.added)
        report.updated = plan.updated_rows
        report.skipped = sum(1 for p in parsed.problems if p.skipped)
        common.finish_import(conn, import_id, report.created + report.updated, report.skipped)
        yield Progress(total * 1.9, 2 * total, "Committing", commit=True)  # the COMMIT is next: too late to cancel
    report.details = {"order_lines": report.created, "orders": len(plan.orders),
                      "updated_orders": len(plan.updates), "customers": len(new_customers),
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
