"""Reading CSV files: encodings, delimiters, broken quotes, and files that are not tables."""
from __future__ import annotations

import gzip

import pytest

from shopai.io.sniff import read_table
from shopai.jobs import UserError

HEADER = "sku,title,price\n"


def rows_of(path):
    table = read_table(path)
    return table, list(table.records())


@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),
    ("utf-16", "utf-16"),        # with BOM, as Square writes it
    ("utf-16-le", "utf-16-le"),  # no BOM: told from the NUL bytes
])
def test_unicode_encodings_keep_chinese_and_accents(tmp_path, encoding, expected):
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "A1,抹茶拿铁,3.80\nA2,Crème brûlée £,4.10\n", encoding=encoding)
    table, rows = rows_of(path)
    assert table.encoding == expected
    assert table.header == ["sku", "title", "price"]
    assert [r[1][1] for r in rows] == ["抹茶拿铁", "Crème brûlée £"]


def test_gbk_with_chinese_titles(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "G1,红色陶瓷茶杯,12.50\nG2,手工香薰蜡烛,29.90\nG3,帆布购物袋,15\n").encode("gbk"))
    table, rows = rows_of(path)
    assert table.encoding == "gbk"
    assert [r[1][1] for r in rows] == ["红色陶瓷茶杯", "手工香薰蜡烛", "帆布购物袋"]


def test_windows_1252_pound_and_accents(tmp_path):
    path = tmp_path / "w.csv"
    path.write_bytes((HEADER + "W1,Café crème mug £5,5.00\nW2,Naïve “quote” towel,3.20\n").encode("cp1252"))
    table, rows = rows_of(path)
    assert table.encoding == "cp1252"
    assert [r[1][1] for r in rows] == ["Café crème mug £5", "Naïve “quote” towel"]


@pytest.mark.parametrize("titles", [
    ["Crème brûlée", "Fèves Gâteau", "Pâtisserie"],  # "è"+"m", "û"+"l", "é"+"e" are valid GBK byte pairs too
    ["Decoração de Natal", "Promoções", "Coleção"],  # "çã" is a GB2312 pair: "Decora玢o"
    ["T-Shirt Größe M", "Größe L"],                 # "öß" too: "Gr鲞e"
])
def test_windows_1252_accent_pairs_that_look_like_chinese_are_not_gbk(tmp_path, titles):
    path = tmp_path / "w.csv"
    path.write_bytes(("sku,title\n" + "".join(f"S{i},{t}\n" for i, t in enumerate(titles))).encode("cp1252"))
    table, rows = rows_of(path)
    assert table.encoding == "cp1252"
    assert [r[1][1] for r in rows] == titles


def test_gbk_with_single_characters_next_to_latin_letters(tmp_path):
    path = tmp_path / "g.csv"
    path.write_bytes("sku,title\nL1,LED灯\nT1,红色T恤 XL\nC1,茶\n".encode("gbk"))
    table, rows = rows_of(path)
    assert table.encoding == "gbk"
    assert [r[1][1] for r in rows] == ["LED灯", "红色T恤 XL", "茶"]


@pytest.mark.parametrize("titles", [
    ["景德鎮青花瓷杯", "手機殼iPhone15", "烏龍茶 台灣高山"],
    ["T恤 男款 純棉", "USB充電器 快充", "茶"],
])
def test_big5_traditional_chinese_is_not_read_as_windows_1252(tmp_path, titles):
    """Excel in Taiwan or Hong Kong saves Big5: it was read as Windows-1252 ('´º¼wÂí«Cªá²¡ªM'), with no word."""
    path = tmp_path / "b.csv"
    path.write_bytes(("sku,title\n" + "".join(f"S{i},{t}\n" for i, t in enumerate(titles))).encode("big5"))
    table, rows = rows_of(path)
    assert table.encoding == "big5"
    assert [r[1][1] for r in rows] == titles


@pytest.mark.parametrize("titles", [
    ["Crème brûlée", "Fèves Gâteau", "Pâtisserie", "Ölkännchen für Küche"],
    ["Señora Año Niño", "Café con leche"],
    ["Smørrebrød fad", "Æbleskiver pande", "Ærø"],
])
def test_western_accents_are_not_big5(tmp_path, titles):
    path = tmp_path / "w.csv"
    path.write_bytes(("sku,title\n" + "".join(f"S{i},{t}\n" for i, t in enumerate(titles))).encode("cp1252"))
    table, rows = rows_of(path)
    assert table.encoding == "cp1252"
    assert [r[1][1] for r in rows] == titles


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters(tmp_path, delimiter):
    path = tmp_path / "d.csv"
    lines = ["sku", "title", "price"], ["D1", "Mug, blue", "2,50"], ["D2", "Bowl", "3,10"]
    text = "\n".join(delimiter.join(f'"{c}"' if delimiter in c else c for c in line) for line in lines) + "\n"
    path.write_text(text, encoding="utf-8")
    table, rows = rows_of(path)
    assert table.delimiter == delimiter
    assert rows[0][1] == ["D1", "Mug, blue", "2,50"]


def test_gzip_file_is_read(tmp_path):
    path = tmp_path / "z.csv.gz"
    path.write_bytes(gzip.compress((HEADER + "Z1,Zinc tray,9\n").encode()))
    assert rows_of(path)[1] == [(2, ["Z1", "Zinc tray", "9"])]


def test_broken_quote_is_reported_per_row_and_the_rest_is_read(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(HEADER + 'B1,Good mug,2.00\nB2,"Broken title,3.00\nB3,Fine bowl,4.00\nB4,Fine cup,1.00\n')
    table, rows = rows_of(path)
    assert [r[1][0] for r in rows] == ["B1", "B3", "B4"]
    assert [p.row for p in table.problems] == [3]
    assert "quotation mark" in table.problems[0].message


def test_multiline_quoted_field_is_fine(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(HEADER + 'M1,"Two\nlines",2.00\nM2,One,3\n')
    table, rows = rows_of(path)
    assert [r[0] for r in rows] == [2, 3]  # a spreadsheet's rows: the cell with a line break is one row
    assert rows[0][1][1] == "Two\nlines"
    assert table.problems == []


def test_row_numbers_are_the_spreadsheet_rows_after_cells_with_line_breaks(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(HEADER + 'M1,"Line one\nLine two\nLine three",3.00\nM2,Cup,4\nM3,Wide,5,extra\n'
                    'M4,"Two\nlines",6\nM5,"Broken,7\nM6,Bowl,8\n')
    table, rows = rows_of(path)
    assert [(r[0], r[1][0]) for r in rows] == [(2, "M1"), (3, "M2"), (5, "M4"), (7, "M6")]
    assert [(p.row, p.message.split()[1]) for p in table.problems] == [(4, "4"), (6, "quotation")]


def test_too_many_values_reported(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text(HEADER + "A,B,1,extra\nC,D,2\nE,F,3,\n")
    table, rows = rows_of(path)
    assert [r[1][0] for r in rows] == ["C", "E"]
    assert table.problems[0].row == 2 and "4 values" in table.problems[0].message


def test_excel_sep_line_names_the_separator(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("sep=;\nsku;title;price\nS1;Mug;3,50\nS2;Cup, blue;4,00\n")
    table, rows = rows_of(path)
    assert table.delimiter == ";" and table.header == ["sku", "title", "price"]
    assert rows == [(2, ["S1", "Mug", "3,50"]), (3, ["S2", "Cup, blue", "4,00"])]


def test_rows_wider_than_the_header_are_refused_in_one_line(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("sku,title\nW-1,Mug,3.00\nW-2,Cup,4.00\n")
    with pytest.raises(UserError, match=r"rows have more values \(3\) than the header has column names \(2\)"):
        read_table(path)


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"\n\n  \n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 4, "binary"),
    (b"<!DOCTYPE html><html><body><table><tr><td>a</td></tr></table></body></html>", "HTML"),
    (b'{"products": [1, 2, 3]}', "JSON"),
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "Excel"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
    (b"Dear shop owner\nthank you for your order\nbest wishes\n", "no column separator"),
])
def test_not_a_table_is_refused_in_one_line(tmp_path, content, reason):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        read_table(path)
    message = str(err.value)
    assert reason.lower() in message.lower()
    assert "\n" not in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(UserError, match="folder"):
        read_table(tmp_path)
