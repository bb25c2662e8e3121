"""An order's status and value from the cells of its lines: what ``shopai.io.orders_import`` stores.

A status cell of any shop system (Shopify's Financial Status and Cancelled at, WooCommerce's Order Status,
Square's Event Type, Chinese shops' 交易成功 / 已退款 / 待付款…) reads as paid, cancelled, returned or not sold
(not paid: such lines are skipped). An order's value is its goods after discounts, without shipping and taxes,
less what was refunded of it.
"""
from __future__ import annotations

import re
from typing import Any

from shopai.io.formats import simplified

PAID, CANCELLED, RETURNED = "paid", "cancelled", "returned"
NOT_SOLD = "not sold"  # a line's status only: such lines are skipped
# order statuses of orders not paid (WooCommerce "Failed", "Pending payment", "On hold", checkout drafts)
_NEVER_PAID = {"failed", "payment failed", "pending", "pending payment", "unpaid", "draft", "checkout-draft",
               "on hold", "on-hold", "wc-failed", "wc-pending", "wc-checkout-draft", "wc-on-hold"}
# payment statuses (Shopify's Financial Status) of orders not paid: waiting for the payment (a bank transfer,
# cash on delivery), authorized but not captured yet, or an authorization that ran out uncaptured. A later
# export that says "paid" imports the order then, as a new one.
_NEVER_PAID_FINANCIAL = {"expired", "pending", "authorized", "unpaid"}
# Chinese statuses (shop software; Taobao/Tmall, JD, Pinduoduo exports), Traditional characters read as their
# Simplified forms (交易關閉 = 交易关闭): 已取消 / 交易关闭 / 已作废 cancelled; 部分退款 a sale; 已退款 / 退款成功 /
# 已退货 returned; 待付款 / 等待买家付款 / 未付款 / 待支付 / 付款失败 not paid; anything else (已付款, 已发货, 待发货,
# 交易成功, 已完成, 已签收, 买家已付款，等待卖家发货) paid
_ZH_CANCELLED = ("取消", "关闭", "作废", "撤销")
_ZH_PARTIAL = "部分"
_ZH_RETURNED = ("退款", "退货")
_ZH_NOT_PAID = re.compile(r"[未待](?:买家)?(?:付款|支付)|(?:付款|支付)失败")
CENT = 0.005  # amounts closer than this are the same


# refund requests that did not (yet) refund anything (Taobao: 退款关闭 "refund closed", 退款中 "refund in
# progress"): the order is still a sale until an export says it was refunded
_ZH_REFUND_NOT_DONE = ("退款关闭", "退款取消", "拒绝退款", "退款中", "退款申请中", "申请退款")


def status_of(text: str, cancel_column: bool, financial: bool = False) -> str | None:
    """The status a line's status cell gives: paid, cancelled, returned, NOT_SOLD (an order that was not
    paid: failed, or waiting for payment) or None (blank). ``financial``: a payment status such as Shopify's
    Financial Status (paid, pending, authorized, partially_refunded, refunded, voided). Chinese statuses too
    (已取消, 交易关闭, 已退款, 部分退款, 待付款...; Traditional forms as well)."""
    if not text:
        return None
    if cancel_column:
        return CANCELLED
    s = simplified(text.lower())
    if any(w in s for w in _ZH_REFUND_NOT_DONE):  # a refund asked for but closed, refused or still open: a sale
        return PAID
    if "cancel" in s or "void" in s or any(w in s for w in _ZH_CANCELLED):
        return CANCELLED
    if "partial" in s or _ZH_PARTIAL in s:  # partially refunded: the order is still a sale
        return PAID
    if "refund" in s or "return" in s or any(w in s for w in _ZH_RETURNED):
        return RETURNED
    if s in (_NEVER_PAID_FINANCIAL if financial else _NEVER_PAID) or _ZH_NOT_PAID.search(s):
        return NOT_SOLD
    return PAID


def order_status(lines: list[list[Any]]) -> str:
    """An order's status from its lines' statuses: a sale if any line is one, else cancelled, else returned."""
    statuses = {ln[9] if not (ln[9] == PAID and ln[5] < 0) else "negative" for ln in lines}
    if PAID in statuses:
        return PAID
    if CANCELLED in statuses:
        return CANCELLED
    return RETURNED


def order_value(lines: list[list[Any]], money: list[float | None] | None, status: str,
                 refund_in_quantity: bool) -> tuple[str, float, dict[str, Any]]:
    """(status, value, facts) of an order: its goods after discounts, without shipping and taxes (the file's
    subtotal, else its lines less the order's discount, else its lines); a sale partly refunded is worth that
    less the refund, and one whose refunds cover all its goods is stored as returned. Credit notes (negative
    lines) are the sum of their lines. Postage that the line total includes (Taobao's report) is taken off
    first. ``facts``: "discount", "refund" and "postage" amounts applied, "before" value."""
    base = round(sum(ln[5] * ln[6] for ln in lines), 2)
    facts: dict[str, Any] = {}
    if money is None or any(ln[5] < 0 for ln in lines):
        return status, base, facts
    subtotal, discount, refunded, postage = (list(money) + [None] * 4)[:4]
    if postage and subtotal is None and base > 0:
        facts["postage"] = round(min(postage, base), 2)
        base = round(base - facts["postage"], 2)
    if subtotal is not None:
        value = subtotal
    elif discount:
        value = max(0.0, base - discount)
    else:
        value = base
    if discount or value < base - CENT:
        facts["discount"] = round(discount if discount else base - value, 2)
    value = round(value, 2)
    if status == PAID and refunded and refunded >= CENT and not refund_in_quantity and value > 0:
        facts["before"], facts["refund"] = value, round(refunded, 2)
        if refunded >= value - CENT:
            facts["covered"] = True
            return RETURNED, value, facts  # every item refunded: as an order refunded as a whole
        value = round(value - refunded, 2)
    return status, value, facts
