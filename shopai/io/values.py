"""Turning CSV text into numbers and ISO dates, with the guesses a shop export needs.

Numbers may carry a currency sign, thousands separators or a decimal comma. Dates come as ISO, with a
time-zone offset (kept as the shop's local time), or as ``d/m/y`` vs ``m/d/y``: :func:`date_parser` decides
which from the values themselves (a first part above 12 means day-first, a second part above 12 month-first).
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime
from typing import Callable, Iterable

_CURRENCY = re.compile(r"[\s$£€¥₹]|USD|EUR|GBP|CNY|RMB|AUD|CAD|元|(?<=\d)[a-zA-Z]+$")
# a price per unit: "68.00元/件", "12/kg" (a unit of letters or Chinese characters, never digits)
_PER_UNIT = re.compile(r"(?<=[\d元])\s*/\s*[^\d\s/.,]{1,4}$")
# a count with its unit word: "40件", "3 个", "2箱", "10 pcs"
_COUNT_UNIT = re.compile(r"(?<=\d)\s*(?:[件个個只隻箱盒包瓶袋双雙套台支本张張条條份对對组組]|pcs?|pieces?|units?)$",
                         re.IGNORECASE)


def _half_width(s: str) -> str:
    """Full-width forms as typed with a Chinese or Japanese input method ("￥６８，００", "２０２３／９／４")
    in their ASCII forms; other text unchanged."""
    return unicodedata.normalize("NFKC", s) if any("\uff00" <= ch <= "\uffef" or ch == "\u3000" for ch in s) \
        else s
_THOUSANDS_COMMA = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_THOUSANDS_DOT = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")


# a decimal comma ("49,90", "1.234,5") or a decimal point ("3.50", "1,234.5"); a lone group of three digits
# after either ("1,299", "1.299") could be both and tells nothing
_COMMA_DECIMAL = re.compile(r"^(\d{1,3}(\.\d{3})+,\d+|\d+,(\d{1,2}|\d{4,}))$")
_POINT_DECIMAL = re.compile(r"^(\d{1,3}(,\d{3})+\.\d+|\d+\.(\d{1,2}|\d{4,}))$")


def decimal_comma_from(values: Iterable[str]) -> bool:
    """True when a file's numbers use a decimal comma (some "49,90", no "3.50"): then "1.299" is 1299."""
    comma = False
    for v in values:
        s = _CURRENCY.sub("", v.strip().strip("()")).lstrip("+-")
        if _POINT_DECIMAL.match(s):
            return False
        comma = comma or bool(_COMMA_DECIMAL.match(s))
    return comma


def parse_number(text: str, decimal_comma: bool = False) -> float | None:
    """A number from a cell, or None when the cell is empty or not a number.

    ``decimal_comma`` (a file whose numbers use a decimal comma, see :func:`decimal_comma_from`): a dot
    followed by exactly three digits is a thousands separator ("1.299" is 1299).
    """
    if text is None:
        return None
    s = text.strip()
    if not s:
        return None
    if not (decimal_comma and "." in s):
        try:
            value = float(s)
            return value if math.isfinite(value) else None  # "nan", "inf", "1e999" are not prices or counts
        except ValueError:
            pass
    negative = False
    s = _COUNT_UNIT.sub("", _PER_UNIT.sub("", _half_width(s)))
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    s = _CURRENCY.sub("", s)
    if s.startswith("-"):
        negative, s = not negative, s[1:]
    if not s:
        return None
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        s = s.replace(",", "") if _THOUSANDS_COMMA.match(s) else s.replace(",", ".")
    elif _THOUSANDS_DOT.match(s) and (s.count(".") > 1 or decimal_comma):
        s = s.replace(".", "")
    try:
        value = float(s)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return -value if negative else value


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?")
_SLASH = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{2,4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?")
# year first, as Chinese, Japanese and Korean shops write dates: "2023/9/4", "2023/9/9 19:40", "2023年9月10日
# 17:52", "2023年9月10日 下午5:52", "2023年9月10日17时52分"
_YEAR_FIRST = re.compile(
    r"^(\d{4})\s*(?:[/.\-]|年)\s*(\d{1,2})\s*(?:[/.\-]|月)\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(上午|下午|晚上|中午)?\s*(\d{1,2})\s*[:时]\s*(\d{1,2})\s*分?(?:\s*[:]?\s*(\d{1,2})\s*秒?)?"
    r"\s*([AaPp][Mm])?)?\s*$")
_TEXT_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%d-%b-%Y", "%d-%b-%y")


def _iso(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> str | None:
    try:
        return datetime(y, mo, d, h, mi, s).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None


def _year(text: str) -> int:
    y = int(text)
    return y + 2000 if y < 70 else y + 1900 if y < 100 else y


def day_first_from(values: Iterable[str]) -> bool | None:
    """True (d/m/y), False (m/d/y) or None (no slash dates, or never told apart) from sample values."""
    day_first = month_first = False
    for v in values:
        m = _SLASH.match(v.strip())
        if not m or len(m.group(1)) == 4:
            continue
        a, b = int(m.group(1)), int(m.group(2))
        if a > 12 >= b:
            day_first = True
        elif b > 12 >= a:
            month_first = True
    if day_first and not month_first:
        return True
    if month_first and not day_first:
        return False
    return None


def parse_date(text: str, day_first: bool = True) -> str | None:
    """ISO ``YYYY-MM-DDTHH:MM:SS`` for a date cell, or None."""
    s = _half_width((text or "").strip())
    if not s:
        return None
    m = _YEAR_FIRST.match(s)
    if m:
        y, mo, d, half, h, mi, sec, ampm = m.groups()
        hour = int(h or 0)
        if (half in ("下午", "晚上") or (ampm or "").lower() == "pm") and hour < 12:
            hour += 12
        elif (half == "上午" or (ampm or "").lower() == "am") and hour == 12:
            hour = 0
        return _iso(int(y), int(mo), int(d), hour, int(mi or 0), int(sec or 0))
    m = _ISO.match(s)
    if m:
        y, mo, d, h, mi, sec = m.groups()
        if h is None and len(s) == 19 and s[10] in " T":
            pass
        return _iso(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
    m = _SLASH.match(s)
    if m:
        a, b, c, h, mi, sec, ampm = m.groups()
        if len(a) == 4:  # y/m/d
            y, mo, d = int(a), int(b), int(c)
        else:
            y = _year(c)
            d, mo = (int(a), int(b)) if day_first else (int(b), int(a))
        hour = int(h or 0)
        if ampm:
            hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
        return _iso(y, mo, d, hour, int(mi or 0), int(sec or 0))
    for fmt in _TEXT_FORMATS:
        try:
            return datetime.strptime(s.split(" at ")[0].strip(), fmt).strftime("%Y-%m-%dT%H:%M:%S")
        except ValueError:
            continue
    return None


def _existing(iso: str) -> str | None:
    """``iso`` when it names a date and time that exist, else None."""
    try:
        datetime.fromisoformat(iso)
    except ValueError:
        return None
    return iso


def date_parser(samples: Iterable[str]) -> tuple[Callable[[str], str | None], bool | None]:
    """A fast parser for one date column, decided from its values; also returns the day-first verdict."""
    samples = [s for s in samples if s and s.strip()]
    verdict = day_first_from(samples)
    day_first = True if verdict is None else verdict
    iso_fast = all(len(s) == 19 and s[4] == "-" and s[7] == "-" and s[10] in " T" for s in samples[:200]) \
        and bool(samples)
    cache: dict[str, str | None] = {}

    def parse(text: str) -> str | None:
        hit = cache.get(text)
        if hit is None and text not in cache:
            if iso_fast and len(text) == 19 and text[4] == "-" and text[10] in " T" and text[13] == ":":
                hit = _existing(text[:10] + "T" + text[11:])  # shaped like ISO is not enough: 2024-02-30
            else:
                hit = parse_date(text, day_first)
            if len(cache) < 200_000:
                cache[text] = hit
        return hit

    return parse, verdict


def looks_like_date(values: list[str]) -> float:
    vals = [v for v in values if v.strip()]
    if not vals:
        return 0.0
    return sum(1 for v in vals if parse_date(v) is not None or parse_date(v, day_first=False) is not None) \
        / len(vals)


def numeric_share(values: list[str]) -> tuple[float, float]:
    """(share of non-empty cells that are numbers, share of those that are whole numbers)."""
    vals = [v for v in values if v.strip()]
    if not vals:
        return 0.0, 0.0
    nums = [parse_number(v) for v in vals]
    ok = [n for n in nums if n is not None]
    if not ok:
        return 0.0, 0.0
    whole = sum(1 for v, n in zip(vals, nums) if n is not None and float(n).is_integer() and "." not in v
                and "," not in v)
    return len(ok) / len(vals), whole / len(ok)


_ACTIVE = {"active", "published", "publish", "public", "visible", "live", "online", "enabled", "listed", "onsale",
           "yes", "y", "true", "1", "上架", "已上架", "出售中", "在售", "销售中", "正常"}
_DRAFT = {"draft", "drafts", "unpublished", "pending", "private", "hidden", "invisible", "disabled", "inactive",
          "offline", "unlisted", "no", "n", "false", "0", "-1", "草稿", "待发布", "未发布", "仓库中", "未上架", "待上架"}
_ARCHIVED = {"archived", "archive", "discontinued", "deleted", "trash", "retired", "下架", "已下架", "停售", "已停售"}
_INVERTED_COLUMNS = {"archived", "isarchived", "hidden", "ishidden", "deleted", "isdeleted"}


def listing_is_inverted(column: str) -> bool:
    """True for a column that says whether a product is *archived* or *hidden* (Square's "Archived"), where
    "yes" means the product is not for sale."""
    return re.sub(r"[\W_]+", "", column.lower()) in _INVERTED_COLUMNS


def parse_listing(text: str, inverted: bool = False) -> str | None:
    """A listing status cell as ``active``, ``draft`` or ``archived`` (None when it says none of these).

    Shopify writes active/draft/archived, WooCommerce's Published 1/0/-1 (published, draft, private: a
    private product is not offered, so a draft here), Chinese shops 上架/下架/仓库中. In an ``inverted`` column
    ("Archived", "Hidden") yes means archived and no means active.
    """
    word = re.sub(r"[\s_]+", "", _half_width(text).strip().lower())
    if inverted:
        if word in {"yes", "y", "true", "1", "archived", "hidden", "是"}:
            return "archived"
        if word in {"no", "n", "false", "0", "active", "否"}:
            return "active"
        return None
    if word in _ACTIVE:
        return "active"
    if word in _DRAFT:
        return "draft"
    if word in _ARCHIVED:
        return "archived"
    return None
