"""Reading an orders file: each row of a ``common.Source`` checked and turned into an order line.

The first step of ``shopai.io.orders_import``, before anything is compared with the shop: order-level cells given
on an order's first row only are carried to its other rows, statuses are read (unpaid orders skipped, negative
lines made credit notes), decimal commas and day- or month-first dates are understood, and every row that
cannot be a line is a :class:`RowProblem` saying why.
"""
from __future__ import annotations

from typing import Any

from shopai.io import common
from shopai.io.common import RowProblem
from shopai.io.order_status import CANCELLED, NOT_SOLD, PAID, RETURNED, status_of as _status_of
from shopai.io.values import date_parser, decimal_comma_from, parse_number
from shopai.jobs import Job, Progress


class Parsed:
    """The file's order lines, read and checked, and what else the plan and the report need from it."""

    def __init__(self) -> None:
        self.lines: list[list[Any]] = []  # [row, order, iso, sku, title, qty, price, customer, country, status]
        self.customer_info: dict[str, tuple[str, str, str]] = {}  # ext id -> (name, email, country)
        self.problems: list[RowProblem] = []
        self.rows_total = 0
        self.notes: list[str] = []
        self.day_first: bool | None = None
        # order-level amounts (first non-empty cell of each order): [subtotal, discount, refunded, shipping]
        self.money: dict[str, list[float | None]] = {}
        self.has_subtotal = False
        self.currency: dict[str, str] = {}  # order -> its currency code
        self.unpaid: dict[str, str] = {}  # order -> its status text, for orders not paid (failed, pending...)
        self.shipping_column: str | None = None  # the postage column taken off the line totals, for the notes
        # the quantity column already leaves refunded items out (WooCommerce "Quantity (- Refund)")
        self.refund_in_quantity = False


def _customer_key(text: str) -> str:
    text = text.strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text.lower() if "@" in text else text


def parse_orders(src: common.Source, progress_every: int = 25_000) -> Job[Parsed]:
    """Read every row of ``src`` into order lines (a job: yields Progress); a row that cannot be a sale
    line is a RowProblem saying why."""
    out = Parsed()
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
    unpaid = out.unpaid
    # order-level amounts: (slot in out.money, column index, what to call it in a message)
    money_cols = [(k, idx.get(f), src.mapping.get(f))
                  for k, f in enumerate(("subtotal", "discount", "refunded", "shipping")) if idx.get(f) is not None]
    out.has_subtotal = idx.get("subtotal") is not None
    out.shipping_column = src.mapping.get("shipping") if idx.get("shipping") is not None else None
    if (src.mapping.get("line_total") or "").strip() == "买家实际支付金额" and out.shipping_column is None:
        out.notes.append("买家实际支付金额 (what the buyer paid) includes postage, and this file has no 买家应付邮费 "
                         "column to take it off: order values include postage. Export the full order report "
                         "to count the goods alone.")
    i_currency = idx.get("currency")
    out.refund_in_quantity = "refund" in (src.mapping.get("quantity") or "").lower()
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
        if i_currency is not None and oid not in out.currency:
            code = v[i_currency].strip().upper()
            if code:
                out.currency[oid] = code
        if not date_text:
            problems.append(RowProblem(row, "no order date; skipped"))
            continue
        iso = date_text  # turned into ISO below, once every date of the file is known
        if order_status == NOT_SOLD:
            problems.append(RowProblem(row, f"order {oid} has not been paid (status {unpaid[oid]!r}), not a "
                                            "sale; skipped"))
            continue
        if money_cols:
            money = out.money.get(oid)
            if money is None:
                money = out.money[oid] = [None, None, None, None]
            for k, i, column in money_cols:
                text = v[i].strip()
                if money[k] is None and text:
                    amount = parse_number(text, decimal_comma=comma)
                    if amount is None or amount < 0:
                        problems.append(RowProblem(row, f"{column} {text!r} of order {oid} is not an amount: "
                                                        "left out of the order's value", False))
                    else:
                        money[k] = amount
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
