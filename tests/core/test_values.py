"""Cells to numbers and dates, as Chinese (and other) shops' spreadsheets write them."""
from __future__ import annotations

import pytest

from shopai.io.values import date_parser, parse_date, parse_number


@pytest.mark.parametrize("text, iso", [
    # year first with a one-digit day: "2023/9/14" was read and "2023/9/4" was not, so the 1st-9th went missing
    ("2023/9/4", "2023-09-04T00:00:00"),
    ("2023/9/9 19:40", "2023-09-09T19:40:00"),
    ("2023-9-4", "2023-09-04T00:00:00"),
    ("2023年9月10日", "2023-09-10T00:00:00"),
    ("2023年9月10日 17:52", "2023-09-10T17:52:00"),
    ("2023年9月10日 下午5:52", "2023-09-10T17:52:00"),
    ("2023/9/4 上午12:05", "2023-09-04T00:05:00"),
    ("2023年9月10日17时52分", "2023-09-10T17:52:00"),
    ("２０２３／９／４", "2023-09-04T00:00:00"),  # full-width, as a Chinese input method types it
    ("2024-03-05 10:14:00 -0400", "2024-03-05T10:14:00"),
    ("2023-09-04 7:05 PM", "2023-09-04T19:05:00"),
])
def test_year_first_and_chinese_dates(text, iso):
    assert parse_date(text) == iso
    parse, _ = date_parser([text])
    assert parse(text) == iso


@pytest.mark.parametrize("text", ["2023/13/4", "2023年2月30日", "2023/9/4 25:00"])
def test_impossible_year_first_dates_are_unreadable(text):
    assert parse_date(text) is None


@pytest.mark.parametrize("text, value", [
    ("￥68.00", 68.0),  # U+FFE5, what Excel on Chinese Windows writes (GBK has no half-width ¥)
    ("￥75", 75.0),
    ("68.00元/件", 68.0),  # per piece
    ("12/kg", 12.0),
    ("１，２８０元", 1280.0),  # full-width digits and comma
    ("-￥5", -5.0),
    ("¥1,280.50", 1280.5),
])
def test_prices_as_chinese_shops_write_them(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["1/2", "12/34", "元/件", "abc"])
def test_a_fraction_or_a_unit_alone_is_no_price(text):
    assert parse_number(text) is None


@pytest.mark.parametrize("text, value", [
    ("40件", 40.0), ("40 件", 40.0), ("3个", 3.0), ("3個", 3.0), ("5只", 5.0), ("2箱", 2.0), ("１０件", 10.0),
    ("10 pcs", 10.0), ("1,200件", 1200.0),
])
def test_a_count_with_its_unit_word_is_a_number(text, value):
    """A stock of "40件" was "not a number; left empty"."""
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["件", "很多件", "40件/箱"])
def test_a_unit_word_without_a_count_is_no_number(text):
    assert parse_number(text) is None
