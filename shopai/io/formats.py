"""Which shop system wrote a CSV file, and which of its columns feed which field of ours.

Shopify, WooCommerce and Square exports are recognised by their headers. Anything else (a spreadsheet, a
transaction log) gets a guess from its header names, then from its values for the fields still missing (a
column of dates is the order date, whole numbers the quantity, decimals the unit price...). A mapping
override ``{field: column}`` always wins.
"""
from __future__ import annotations

import re
from typing import Iterable

from shopai.io import values as V

CATALOG_FIELDS = ["sku", "title", "description", "category", "price", "cost", "stock", "image",
                  "group", "variant", "vendor", "listing"]
CATALOG_REQUIRED = ["title"]
ORDER_FIELDS = ["order_id", "ordered_at", "time", "sku", "title", "quantity", "unit_price", "line_total",
                "customer_id", "customer_name", "email", "country", "status",
                # order-level amounts (an export's first row of each order): what the order is worth
                "subtotal", "discount", "refunded", "shipping", "currency"]
ORDER_REQUIRED = ["order_id", "ordered_at", "quantity", "unit_price"]

FIELD_LABELS = {
    "sku": "SKU / product code", "title": "Title / product name", "description": "Description",
    "category": "Category", "price": "Price", "cost": "Cost", "stock": "Stock", "image": "Image file",
    "group": "Product group (variants)", "variant": "Variant name", "vendor": "Vendor",
    "listing": "Status (active, draft, archived)",
    "order_id": "Order / invoice number", "ordered_at": "Order date", "time": "Order time",
    "quantity": "Quantity", "unit_price": "Unit price", "line_total": "Line total",
    "customer_id": "Customer id", "customer_name": "Customer name", "email": "Customer email",
    "country": "Country", "status": "Order status",
    "subtotal": "Order subtotal (after discounts)", "discount": "Order discount", "refunded": "Refunded amount",
    "shipping": "Postage in the line total",
    "currency": "Currency",
}


def fields_for(kind: str) -> tuple[list[str], list[str]]:
    if kind == "catalog":
        return list(CATALOG_FIELDS), list(CATALOG_REQUIRED)
    if kind == "orders":
        return list(ORDER_FIELDS), list(ORDER_REQUIRED)
    raise ValueError(f"unknown import kind {kind!r}")


# the Traditional characters of header names and order statuses, as their Simplified forms
_SIMPLIFIED = str.maketrans(
    "訂單號編時間稱數價額戶狀態貨國寶貝標題買賣會員類庫圖詳進購總計實際碼條廠應郵"
    "電幣種創簡說細區暱帳賬顧務採關閉發簽確認廢銷敗處結費備註規屬產選優",
    "订单号编时间称数价额户状态货国宝贝标题买卖会员类库图详进购总计实际码条厂应邮"
    "电币种创简说细区昵账账顾务采关闭发签确认废销败处结费备注规属产选优")


def simplified(text: str) -> str:
    """``text`` with the Traditional Chinese characters of header names and order statuses in their Simplified
    forms ("訂單編號" is "订单编号", "交易關閉" is "交易关闭"); anything else unchanged."""
    return text.translate(_SIMPLIFIED)


# a bracketed unit or note after a Chinese header: "单价(元)", "商品数量（件）", "订单号【必填】"
_CJK_SUFFIX = re.compile(r"(?<=[\u4e00-\u9fff])\s*[(（\[【][^)）\]】]*[)）\]】]\s*$")


def norm(name: str) -> str:
    """A header name for matching: lower case, only letters, digits and Chinese characters ("Unit Price" is
    "unitprice"), Traditional characters as Simplified ("訂單編號" is "订单编号"); a Chinese name's bracketed
    unit is left out ("单价(元)" is "单价")."""
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "", simplified(_CJK_SUFFIX.sub("", name.strip())).lower())


# Exact mappings of known exports: (format, kind, signature columns (all must be present), mapping).
# Mapping values may list alternatives (first present wins).
_WOO_ORDERS: dict[str, tuple[str, ...]] = {
    "order_id": ("Order Number", "Order ID"), "ordered_at": ("Order Date",), "status": ("Order Status",),
    "sku": ("SKU", "Item SKU"), "title": ("Item Name", "Product Name"),
    "quantity": ("Quantity", "Quantity (- Refund)", "Item Quantity"),
    "unit_price": ("Item Cost", "Item Price", "Cost"), "line_total": ("Item Total", "Line Total"),
    "customer_id": ("Customer User ID", "Customer ID", "Billing Email Address", "Billing Email"),
    "email": ("Billing Email Address", "Billing Email"),
    "customer_name": ("Billing First Name",), "country": ("Billing Country", "Country Code (Billing)"),
    # "Advanced Order Export": its Order Subtotal Amount is before the cart discount, so the order's value is
    # its lines less "Cart Discount Amount"
    "discount": ("Cart Discount Amount",), "refunded": ("Order Refund Amount",),
    "currency": ("Order Currency", "Currency"),
}

KNOWN: list[tuple[str, str, tuple[str, ...], dict[str, tuple[str, ...]]]] = [
    ("shopify", "catalog", ("Handle", "Title", "Variant SKU"), {
        "group": ("Handle",), "title": ("Title",), "description": ("Body (HTML)",),
        "vendor": ("Vendor",), "category": ("Product Category", "Type"), "sku": ("Variant SKU",),
        "price": ("Variant Price",), "cost": ("Cost per item",), "stock": ("Variant Inventory Qty",),
        "image": ("Variant Image", "Image Src"), "variant": ("Option1 Value",), "listing": ("Status",),
    }),
    ("shopify", "orders", ("Name", "Created at", "Lineitem quantity", "Lineitem name"), {
        "order_id": ("Name",), "ordered_at": ("Created at",), "quantity": ("Lineitem quantity",),
        "title": ("Lineitem name",), "unit_price": ("Lineitem price",), "sku": ("Lineitem sku",),
        "email": ("Email",), "customer_id": ("Email",), "customer_name": ("Billing Name",),
        "country": ("Billing Country", "Shipping Country"), "status": ("Cancelled at", "Financial Status"),
        # Subtotal: the goods after discounts, before shipping and taxes; Discount Amount is used without it
        "subtotal": ("Subtotal",), "discount": ("Discount Amount",), "refunded": ("Refunded Amount",),
        "currency": ("Currency",),
    }),
    ("woocommerce", "catalog", ("ID", "Type", "SKU", "Name", "Regular price"), {
        "sku": ("SKU",), "title": ("Name",),
        "description": ("Short description", "Description"), "category": ("Categories",),
        "price": ("Regular price",), "stock": ("Stock",), "image": ("Images",),
        "listing": ("Published",),  # 1 published, 0 draft, -1 private
    }),
    # WooCommerce order exports name the order column "Order Number" or "Order ID" depending on the plugin
    ("woocommerce", "orders", ("Order Number", "Order Date", "Order Status"), _WOO_ORDERS),
    ("woocommerce", "orders", ("Order ID", "Order Date", "Order Status"), _WOO_ORDERS),
    ("square", "catalog", ("Token", "Item Name", "Variation Name"), {
        "group": ("Token",), "title": ("Item Name",), "variant": ("Variation Name",), "sku": ("SKU",),
        "description": ("Description",), "category": ("Category", "Reporting Category", "Categories"),
        "price": ("Price",), "stock": ("Current Quantity",), "image": ("Image",), "listing": ("Archived",),
    }),
    ("square", "orders", ("Date", "Time", "Item", "Qty", "Transaction ID"), {
        "order_id": ("Transaction ID",), "ordered_at": ("Date",), "time": ("Time",), "title": ("Item",),
        # no unit-price column: it is Gross Sales / Qty ("Price Point Name" is the variant's name, not a price)
        "sku": ("SKU",), "quantity": ("Qty",), "line_total": ("Gross Sales",),
        "customer_id": ("Customer ID",), "customer_name": ("Customer Name",), "status": ("Event Type",),
        "variant": ("Price Point Name",),
    }),
]

# Header-name guesses for anything else: normalised names, most specific first. Chinese names are those of
# Chinese shop software and of Taobao/Tmall, JD and Pinduoduo exports (norm() keeps Chinese characters; a
# Chinese header's bracketed unit is left out: "单价(元)" is "单价").
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "catalog": {
        "sku": ("sku", "variantsku", "stockcode", "productcode", "itemcode", "code", "articlenumber", "article",
                "barcode", "ean", "upc", "partnumber", "商家编码", "商品编码", "货号", "商品货号", "编码", "条形码",
                "条码"),
        "title": ("title", "name", "productname", "itemname", "product", "item", "productitle", "description",
                  "商品名称", "商品标题", "宝贝标题", "宝贝名称", "商品名", "名称", "品名", "标题"),
        "description": ("description", "longdescription", "bodyhtml", "body", "details", "shortdescription",
                        "商品描述", "宝贝描述", "商品详情", "描述", "详情", "简介", "说明"),
        "category": ("category", "categories", "productcategory", "type", "producttype", "department",
                     "group", "商品分类", "分类", "商品类目", "宝贝类目", "类目", "类别", "品类"),
        "price": ("price", "unitprice", "saleprice", "retailprice", "regularprice", "variantprice", "sellprice",
                  "priceinclvat", "售价", "销售价", "零售价", "一口价", "宝贝价格", "商品价格", "价格", "单价"),
        "cost": ("cost", "costprice", "costperitem", "purchaseprice", "成本价", "成本", "进货价", "进价", "采购价"),
        "stock": ("stock", "qty", "quantity", "inventory", "onhand", "instock", "stockqty", "库存", "库存数量",
                  "可售库存", "库存量", "宝贝数量", "数量"),
        "image": ("image", "images", "imagepath", "imagefile", "photo", "picture", "imagesrc", "图片", "商品图片",
                  "主图", "图片路径", "新图片"),
        "group": (),
        "variant": (),
        "vendor": ("vendor", "brand", "manufacturer", "supplier", "品牌", "供应商", "厂商", "厂家", "生产厂家"),
        # our own export's "status"; "archived"/"hidden" columns say yes for an archived product
        "listing": ("status", "productstatus", "listingstatus", "published", "active", "isactive", "visibility",
                    "archived", "isarchived", "hidden", "状态", "商品状态", "宝贝状态", "上架状态", "上下架状态",
                    "销售状态"),
    },
    "orders": {
        "order_id": ("orderid", "ordernumber", "invoice", "invoiceno", "invoicenumber", "orderno", "order",
                     "transactionid", "receipt", "receiptnumber", "name", "主订单编号", "订单号", "订单编号",
                     "订单号码", "订单id", "单号"),
        "ordered_at": ("orderdate", "invoicedate", "date", "createdat", "ordered", "orderedat", "datetime",
                       "timestamp", "saledate", "transactiondate", "下单时间", "订单时间", "订单创建时间",
                       "创建时间", "订单成交时间", "成交时间", "订单付款时间", "付款时间", "支付时间", "下单日期",
                       "订单日期", "日期", "时间"),
        "time": ("time",),
        "sku": ("sku", "stockcode", "productcode", "itemcode", "code", "lineitemsku", "itemsku", "商家编码",
                "商品编码", "货号", "商品货号", "外部系统编号", "编码"),
        "title": ("description", "productname", "itemname", "product", "item", "lineitemname", "title",
                  "商品名称", "商品标题", "宝贝标题", "宝贝名称", "商品名", "品名", "标题", "商品"),
        "quantity": ("quantity", "qty", "units", "count", "lineitemquantity", "购买数量", "宝贝数量", "宝贝总数量",
                     "商品数量", "订购数量", "数量", "件数"),
        "unit_price": ("unitprice", "price", "itemprice", "lineitemprice", "itemcost", "商品单价", "成交单价",
                       "单价", "成交价", "商品价格", "价格", "售价"),
        # a line's amount; what the buyer paid for an order (Taobao's one-line-per-order report) comes last
        "line_total": ("total", "linetotal", "amount", "grosssales", "subtotal", "商品金额", "商品总价", "小计",
                       "金额", "总价", "买家应付货款", "实付金额", "买家实际支付金额"),
        "customer_id": ("customerid", "customer", "customerno", "customernumber", "clientid", "buyerid",
                        "客户编号", "会员编号", "会员卡号", "买家会员名", "买家昵称", "买家账号", "会员名", "客户",
                        "顾客", "买家", "会员"),
        "customer_name": ("customername", "billingname", "buyername", "客户名称", "客户姓名", "顾客姓名", "收货人姓名",
                          "收货人", "收件人", "买家姓名", "姓名"),
        "email": ("email", "customeremail", "billingemail", "邮箱", "电子邮箱", "电子邮件"),
        "country": ("country", "billingcountry", "shippingcountry", "国家", "国家地区", "收货国家"),
        "status": ("status", "orderstatus", "financialstatus", "eventtype", "订单状态", "交易状态", "状态"),
        # amounts are never guessed for other files (a "Subtotal" or "Discount" column may be per line); a
        # currency column only feeds a note
        "subtotal": (), "discount": (), "refunded": (), "shipping": (),
        "currency": ("currency", "currencycode", "货币", "币种"),
    },
}


def _pick(columns: list[str], options: Iterable[str]) -> str | None:
    by_name = {c.strip().lower(): c for c in columns}
    for option in options:
        hit = by_name.get(option.lower())
        if hit is not None:
            return hit
    # Square and Shopify add location names: "Price Main Street", "Current Quantity Main Street"
    for option in options:
        for c in columns:
            if c.lower().startswith(option.lower() + " "):
                return c
    return None


def detect_format(columns: list[str], kind: str) -> tuple[str, dict[str, str | None]] | None:
    """(format name, mapping) for a known export of this kind, else None."""
    names = {c.strip().lower() for c in columns}
    for fmt, k, signature, mapping in KNOWN:
        if k != kind:
            continue
        if all(s.lower() in names for s in signature):
            out = {f: _pick(columns, opts) for f, opts in mapping.items()}
            return fmt, out
    return None


def detect_kind(columns: list[str]) -> str | None:
    """'catalog' or 'orders' when the header alone says so (used for drag-and-drop)."""
    for kind in dict.fromkeys(k for _, k, _, _ in KNOWN):  # each kind once, in KNOWN's order
        if detect_format(columns, kind) is not None:
            return kind
    normed = {norm(c) for c in columns}
    if len(normed & _KIND_ORDER_WORDS) >= 2:
        return "orders"
    if normed & _KIND_CATALOG_WORDS:
        return "catalog"
    return None


# header names (normalised) that tell the kind of a file no known export matches: two order words make an
# orders file, else one product word a catalog (English and Chinese count alike)
_KIND_ORDER_WORDS = frozenset({
    "orderid", "ordernumber", "invoice", "invoiceno", "invoicedate", "orderdate", "transactionid", "customerid",
    "quantity", "qty",
    # order number, order date, customer, quantity bought, order status
    "订单号", "订单编号", "订单号码", "主订单编号", "子订单编号", "订单id", "下单时间", "订单时间", "订单日期", "下单日期",
    "订单创建时间", "订单付款时间", "订单成交时间", "成交时间", "付款时间", "客户", "客户编号", "顾客", "买家",
    "买家会员名", "买家昵称", "会员名", "数量", "购买数量", "宝贝总数量", "商品数量", "订购数量", "订单状态",
    "交易状态"})
_KIND_CATALOG_WORDS = frozenset({"title", "name", "productname", "sku", "货号", "商品编码", "商家编码", "商品名称",
                                 "商品标题", "宝贝标题", "宝贝名称", "商品名", "品名", "名称"})


_EXACT_NAME_ONLY = frozenset({"listing"})


def guess_mapping(columns: list[str], samples: list[list[str]], kind: str) -> dict[str, str | None]:
    """Guess a mapping for an unknown layout from header names, then from sample values."""
    fields, required = fields_for(kind)
    aliases = ALIASES[kind]
    normed = [norm(c) for c in columns]
    col_values = {c: [row[i] for row in samples if i < len(row)] for i, c in enumerate(columns)}
    mapping: dict[str, str | None] = {f: None for f in fields}
    used: set[str] = set()

    def fits(field: str, column: str) -> bool:
        vals = col_values[column]
        if not any(v.strip() for v in vals):
            return True  # an empty column cannot contradict its name
        if field in ("price", "cost", "unit_price", "line_total"):
            return V.numeric_share(vals)[0] >= 0.8
        if field in ("quantity", "stock"):
            share, whole = V.numeric_share(vals)
            return share >= 0.8 and whole >= 0.8
        if field == "ordered_at":
            return V.looks_like_date(vals[:50]) >= 0.8
        if field == "title":
            share, _ = V.numeric_share(vals)
            return share < 0.5
        return True

    # pass 1: exact alias matches, in the order of the alias lists (the most specific first)
    for field in fields:
        for alias in aliases.get(field, ()):
            for column, n in zip(columns, normed):
                if column in used or n != alias:
                    continue
                if field == "title" and kind == "catalog" and n == "description" and any(
                        m in ("title", "name", "productname", "itemname") for m in normed):
                    continue
                if fits(field, column):
                    mapping[field] = column
                    used.add(column)
                    break
            if mapping[field]:
                break
    # pass 1b: a numeric field whose name a header spells out gets that column even when some of its cells
    # are not numbers ("TBD", "N/A", "nan"): the import then reports those rows one by one
    for field in fields:
        if mapping[field] or field not in _NUMERIC:
            continue
        hit = next((c for alias in aliases.get(field, ()) for c, n in zip(columns, normed)
                    if c not in used and n == alias), None)
        if hit:
            mapping[field] = hit
            used.add(hit)
    # pass 2: a header that contains an alias ("Unit Price (GBP)", "Customer ID number"); a status only by its
    # exact name ("Stock status", "Tax status" and "Visibility in catalog" are other things)
    for field in fields:
        if mapping[field] or field in _EXACT_NAME_ONLY:
            continue
        for alias in aliases.get(field, ()):
            if len(alias) < 4:
                continue
            hit = next((c for c, n in zip(columns, normed) if c not in used and alias in n and fits(field, c)),
                       None)
            if hit:
                mapping[field] = hit
                used.add(hit)
                break
    # pass 3: required fields still missing, from the values of the columns left; never a price that a header
    # names ("Unit Price (GBP)" full of "N/A"): another column of numbers would silently take its place
    free = [c for c in columns if c not in used and any(v.strip() for v in col_values[c])]

    def named(field: str) -> bool:
        return any(len(alias) >= 4 and alias in n for alias in aliases.get(field, ())
                   for c, n in zip(columns, normed) if c not in used)

    if kind == "orders":
        if not mapping["ordered_at"]:
            hit = next((c for c in free if V.looks_like_date(col_values[c][:50]) >= 0.9), None)
            if hit:
                mapping["ordered_at"] = hit
                free.remove(hit)
        numeric = [(c, *V.numeric_share(col_values[c])) for c in free]
        if not mapping["quantity"]:
            hit = next((c for c, share, whole in numeric if share >= 0.95 and whole >= 0.95
                        and _small_ints(col_values[c])), None)
            if hit:
                mapping["quantity"] = hit
                free.remove(hit)
        # with a line total the unit price is worked out from it: another column of decimals (a refund, a
        # postage) is not guessed in its place
        if not mapping["unit_price"] and not mapping["line_total"] and not named("unit_price"):
            hit = next((c for c, share, whole in numeric if c in free and share >= 0.95 and whole < 0.9), None)
            if hit:
                mapping["unit_price"] = hit
                free.remove(hit)
    else:
        if not mapping["price"] and not named("price"):
            hit = next((c for c in free if V.numeric_share(col_values[c]) >= (0.95, 0.0)
                        and V.numeric_share(col_values[c])[1] < 0.9), None)
            if hit:
                mapping["price"] = hit
                free.remove(hit)
        if not mapping["title"]:
            hit = next((c for c in free if V.numeric_share(col_values[c])[0] < 0.2
                        and _mostly_words(col_values[c])), None)
            if hit:
                mapping["title"] = hit
                free.remove(hit)
    if kind == "orders":
        _taobao_paid_less_postage(columns, mapping)
        if not mapping["refunded"]:
            mapping["refunded"] = _taobao_refund_column(columns, mapping)
    return mapping


# Taobao/Tmall's order report (one row per order) gives what each order paid and what was refunded of it
_TAOBAO_PAID = {"买家实际支付金额", "买家应付货款"}


def _taobao_paid_less_postage(columns: list[str], mapping: dict[str, str | None]) -> None:
    """Taobao's report: what the buyer paid (买家实际支付金额, after coupons) less its postage (买家应付邮费) is
    the order's goods; 买家应付货款 is the goods before the shop's coupons. Chosen when the report has both."""
    names = {c.strip(): c for c in columns}
    paid, postage = names.get("买家实际支付金额"), names.get("买家应付邮费")
    if (mapping.get("line_total") or "").strip() in _TAOBAO_PAID and paid and postage and not mapping.get("shipping") \
            and postage not in mapping.values():
        mapping["line_total"], mapping["shipping"] = paid, postage


def _taobao_refund_column(columns: list[str], mapping: dict[str, str | None]) -> str | None:
    """Taobao's 退款金额 (the amount refunded of the order), where the file is its one-row-per-order report: the
    line total is one of its order amounts. Other files' refund columns may be per line: never guessed."""
    if (mapping.get("line_total") or "").strip() not in _TAOBAO_PAID:
        return None
    return next((c for c in columns if c.strip() == "退款金额"), None)


_NUMERIC = ("price", "cost", "stock", "quantity", "unit_price", "line_total")


def _small_ints(vals: list[str]) -> bool:
    nums = [V.parse_number(v) for v in vals if v.strip()]
    nums = [n for n in nums if n is not None]
    return bool(nums) and sorted(abs(n) for n in nums)[len(nums) // 2] < 10_000


def _mostly_words(vals: list[str]) -> bool:
    vals = [v for v in vals if v.strip()]
    return bool(vals) and sum(1 for v in vals if " " in v.strip()) / len(vals) >= 0.3


def resolve_mapping(columns: list[str], samples: list[list[str]], kind: str,
                    override: dict[str, str | None] | None = None) -> tuple[str, dict[str, str | None]]:
    """(format, mapping) for a file: a known export, else a guess; then the override applied.

    An override naming a column the file lacks raises ValueError with a plain-words message.
    """
    fields, _ = fields_for(kind)
    known = detect_format(columns, kind)
    if known:
        fmt, mapping = known
    else:
        fmt, mapping = "generic", guess_mapping(columns, samples, kind)
    mapping = {f: mapping.get(f) for f in fields}
    for field, column in (override or {}).items():
        if field not in mapping:
            raise ValueError(f"unknown field {field!r} (fields: {', '.join(fields)})")
        if column in (None, ""):
            mapping[field] = None
            continue
        if column not in columns:
            match = [c for c in columns if c.lower() == str(column).lower()]
            if not match:
                raise ValueError(f"the file has no column named {column!r}")
            column = match[0]
        mapping[field] = column
    return fmt, mapping


def alternatives(columns: list[str], kind: str) -> dict[str, list[str]]:
    """For a known export: the columns its mapping lists for a field, in that order, those the file has, for
    fields with more than one (Shopify's "Variant Image" then "Image Src"). A row whose first column is empty
    is read from the next one (Shopify files always have a Variant Image column, usually empty)."""
    names = {c.strip().lower() for c in columns}
    for _fmt, k, signature, mapping in KNOWN:
        if k != kind or not all(s.lower() in names for s in signature):
            continue
        out = {}
        for f, opts in mapping.items():
            cols = list(dict.fromkeys(c for c in (_pick(columns, (o,)) for o in opts) if c))
            if len(cols) > 1:
                out[f] = cols
        return out
    return {}


FORMAT_NAMES = {"shopify": "Shopify", "woocommerce": "WooCommerce", "square": "Square"}
_EXPORT_NAMES = {"catalog": "product export", "orders": "orders export"}
AS_KIND = {"catalog": "a catalog", "orders": "orders"}  # "import it as …"
_NOT_KIND = {"catalog": "a catalog", "orders": "an orders file"}
# an order log's number and date columns (normalised): a header with both is an orders file, not a catalog
_ORDER_NUMBERS = ("orderid", "ordernumber", "orderno", "invoice", "invoiceno", "invoicenumber", "invoiceid",
                  "transactionid", "receiptno", "receiptnumber", "订单号", "订单编号", "订单号码", "主订单编号",
                  "子订单编号", "订单id")
_ORDER_DATES = ("orderdate", "invoicedate", "transactiondate", "saledate", "orderedat", "下单时间", "订单时间",
                "订单日期", "下单日期", "订单创建时间", "订单付款时间", "订单成交时间", "成交时间", "付款时间")


def wrong_kind(columns: list[str], kind: str, overridden: bool = False) -> tuple[str, str] | None:
    """(right kind, what the file is) when a file picked for ``kind`` is clearly of the other kind: a known
    export of the other kind (a Shopify orders export given as a catalog), or, for a catalog without a column
    choice of the person's own (``overridden``), a header with both an order number and an order date column
    (``InvoiceNo`` + ``InvoiceDate``). None when the file may be what was asked for."""
    if detect_format(columns, kind) is not None:
        return None
    names = {c.strip().lower() for c in columns}
    for fmt, k, signature, _mapping in KNOWN:
        if k != kind and all(s.lower() in names for s in signature):
            return k, f"is a {FORMAT_NAMES.get(fmt, fmt)} {_EXPORT_NAMES[k]}, not {_NOT_KIND[kind]}"
    if kind == "catalog" and not overridden:
        by_norm = {norm(c): c for c in reversed(columns)}
        number = next((by_norm[n] for n in _ORDER_NUMBERS if n in by_norm), None)
        date = next((by_norm[n] for n in _ORDER_DATES if n in by_norm), None)
        if number and date:
            return "orders", f"looks like an orders file (it has {number!r} and {date!r} columns), not a catalog"
    return None
