"""Reading a CSV file robustly: encoding, delimiter, header, and rows with their row numbers.

Encodings, in the order they are tried: a BOM (UTF-8, UTF-16 as Square writes it), strict UTF-8, UTF-16
without a BOM (NUL bytes every other byte), GBK when the text reads as Chinese at least as well as the same
bytes read as Windows-1252 read as Western text, else Windows-1252. An Excel ``sep=;`` first line names the
separator. A quotation mark that is never closed swallows the following lines; such a row is reported and
skipped, and the lines after it are read again on their own. Row numbers are a spreadsheet's: the header is
row 1, and a cell with line breaks does not add rows. Files that are not tables (binary, empty, HTML, prose,
rows wider than the header) are refused with a one-line :class:`~shopai.jobs.UserError`.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from shopai.jobs import UserError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 60
MAX_BYTES = 2 * 1024**3
_CJK = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_SEP_LINE = re.compile(r"\"?sep=([^\r\n\"])\"?[ ]*(?:\r\n|\r|\n)", re.IGNORECASE)


@dataclass(frozen=True)
class RowProblem:
    """Something wrong with one row of the file. ``row`` is the row number as a spreadsheet shows it
    (the header is row 1, a cell with line breaks does not add rows; 0 means the whole file). ``skipped`` is
    False for rows that are imported anyway but worth telling (e.g. a cancelled order line)."""

    row: int
    message: str
    skipped: bool = True


@dataclass
class Table:
    """A decoded CSV file: call :meth:`records` to iterate its data rows."""

    path: Path
    encoding: str
    delimiter: str
    header: list[str]
    text: str = field(repr=False)
    body_start: int = 0
    header_lines: int = 1
    problems: list[RowProblem] = field(default_factory=list)

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, values padded to the header's width) for every data row; broken rows are added to
        ``self.problems`` (once per full pass) and skipped."""
        self.problems = []
        width = len(self.header)
        body = self.text[self.body_start:]
        # Row numbers are a spreadsheet's: the header is row 1 and a cell with line breaks stays one row
        row = 1
        # Fast path: the csv module straight over the text. At the first row that runs over several lines
        # with the wrong width (a quote never closed) or that csv rejects, switch to the careful reader
        # from that row on.
        reader = csv.reader(io.StringIO(body, newline=""), delimiter=self.delimiter)
        resume_at = None
        prev = 0
        try:
            for values in reader:
                line = reader.line_num
                row += 1
                if len(values) != width:
                    if line - prev > 1 or not values:
                        if not values or (len(values) == 1 and not values[0].strip()):
                            prev = line
                            continue
                        resume_at = prev
                        row -= 1
                        break
                    if len(values) > width:
                        if any(v.strip() for v in values[width:]):
                            self.problems.append(RowProblem(row, f"has {len(values)} values but the "
                                                            f"header has {width} columns; skipped"))
                            prev = line
                            continue
                        values = values[:width]
                    elif len(values) == 1 and not values[0].strip():
                        prev = line
                        continue
                    else:
                        values = values + [""] * (width - len(values))
                yield row, values
                prev = line
        except csv.Error:
            resume_at = prev
        if resume_at is None:
            return
        rest = io.StringIO(body, newline="")
        for _ in range(resume_at):
            next(rest)
        for row, values in _records(rest.read(), self.delimiter, width, self.problems,
                                    first_row=row + 1):
            yield row, values

    def sample(self, n: int = 200) -> list[list[str]]:
        out = []
        for _, values in self.records():
            out.append(values)
            if len(out) >= n:
                break
        return out


def read_bytes(path: str | os.PathLike) -> bytes:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path.name}: no such file.")
    if path.is_dir():
        raise UserError(f"{path.name} is a folder, not a CSV file.")
    if path.stat().st_size > MAX_BYTES:
        raise UserError(f"{path.name} is larger than 2 GB; split it into smaller files.")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise UserError(f"{path.name} is a damaged gzip file ({exc}).") from None
    return data


def decode(data: bytes, name: str = "the file") -> tuple[str, str]:
    """(text, encoding name) for the bytes of a CSV file."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    head = data[:4000]
    if len(head) >= 4 and head.count(b"\x00") > len(head) // 3:
        evens, odds = head[0::2].count(b"\x00"), head[1::2].count(b"\x00")
        enc = "utf-16-le" if odds > evens else "utf-16-be"
        return data.decode(enc, errors="replace"), enc
    if b"\x00" in head:
        raise UserError(f"{name} is not a text file (it looks like binary data).")
    try:
        text = data.decode("gbk")
    except UnicodeDecodeError:
        text = None
    western = _western_score(data[:400_000].decode("cp1252", errors="replace"))
    if text is not None and _looks_chinese(text, western):
        return text, "gbk"
    if text is None:  # Chinese with a few damaged bytes: still GBK if the rest clearly is
        loose = data.decode("gb18030", errors="replace")
        if loose.count("\ufffd") <= max(1, len(loose) // 1000) and _looks_chinese(loose, western):
            return loose, "gb18030"
    try:  # Traditional Chinese (Excel in Taiwan and Hong Kong)
        big5 = data.decode("big5")
    except UnicodeDecodeError:
        big5 = None
    if big5 is not None and _big5_score(big5) > 0.8 and _big5_score(big5) >= western:
        return big5, "big5"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; ask charset-normalizer, else fall back to Latin-1.
        try:
            from charset_normalizer import from_bytes

            best = from_bytes(data[:200_000]).best()
            if best is not None and best.encoding:
                return data.decode(best.encoding, errors="replace"), best.encoding
        except Exception:  # noqa: BLE001 - a guess, never fatal
            pass
        return data.decode("latin-1"), "latin-1"


def _non_ascii_runs(text: str, limit: int = 20_000) -> Iterator[re.Match]:
    """The runs of non-ASCII characters of ``text``, up to about ``limit`` characters in all."""
    seen = 0
    for m in _NON_ASCII.finditer(text):
        yield m
        seen += m.end() - m.start()
        if seen >= limit:
            return


def _han_share(text: str, common: Callable[[str], bool]) -> float:
    """Share of the non-ASCII characters of ``text`` for which ``common(c)`` holds, leaving out any character
    alone inside a Latin word (where accents misread as Chinese land: "Decoração" -> "Decora玢o")."""
    good = total = 0
    for m in _non_ascii_runs(text):
        start, end = m.start(), m.end()
        total += end - start
        if end - start == 1 and 0 < start and end < len(text) and text[start - 1].isascii() \
                and text[start - 1].isalpha() and text[end].isascii() and text[end].isalpha():
            continue
        good += sum(1 for c in m.group() if common(c))
    return good / total if total else 0.0


def _gb2312(c: str) -> bool:
    b = c.encode("gbk", errors="ignore")
    return len(b) == 2 and b[0] >= 0xA1 and b[1] >= 0xA1 and bool(_CJK.match(c))


def _chinese_score(text: str) -> float:
    """Share of the non-ASCII characters of text decoded as GBK that read as Chinese: common (GB2312)
    characters, both bytes at or above 0xA1, and not one alone inside a Latin word. Windows-1252 accents
    misread as GBK pair an accent with the ASCII letter after it ("ã" + "o" -> "鉶", outside GB2312) or two
    accents of one word ("Decoração" -> "Decora玢o", "Größe" -> "Gr鲞e"): a lone ideograph between Latin
    letters."""
    return _han_share(text, _gb2312)


def _big5_common(c: str) -> bool:
    b = c.encode("big5", errors="ignore")
    return len(b) == 2 and 0xA1 <= b[0] <= 0xC6


def _big5_score(text: str) -> float:
    """Share of the non-ASCII characters of text decoded as Big5 that read as Traditional Chinese: its
    frequently used characters (lead bytes 0xA4-0xC6) and punctuation (0xA1-0xA3), not one alone inside a
    Latin word (Windows-1252 accents misread as Big5 give rare characters, or a lone one between letters)."""
    return _han_share(text, _big5_common)


def _western_score(text: str) -> float:
    """Share of the non-ASCII characters of text decoded as Windows-1252 that read as Western text: accents
    and signs (é, ß, £, “) come alone or two together ("ção"), while Chinese read as Windows-1252 gives long
    runs ("ÊÖ¹¤Ïã޹") of two bytes per character."""
    good = total = 0
    for m in _non_ascii_runs(text):
        n = m.end() - m.start()
        total += n
        if n <= 2 and "\ufffd" not in m.group():
            good += n
    return good / total if total else 0.0


def _looks_chinese(text: str, western: float = 0.0) -> bool:
    """Whether text decoded as GBK is really Chinese: most of its non-ASCII characters read as Chinese, and
    at least as many as read as Western text when the bytes are taken as Windows-1252 (``western``)."""
    score = _chinese_score(text)
    return score > 0.8 and score >= western


def _looks_binary(text: str) -> bool:
    head = text[:4000]
    if not head:
        return False
    controls = sum(1 for c in head if (ord(c) < 32 and c not in "\t\r\n") or c == "\ufffd")
    return controls > max(2, len(head) // 50)


def _choose_delimiter(lines: list[str]) -> tuple[str, int]:
    """The delimiter whose field count is the most consistent (and > 1) over the first lines."""
    best, best_score, best_width = ",", -1.0, 1
    sample = "".join(lines)
    for d in DELIMITERS:
        if d not in sample:
            continue
        try:
            widths = [len(r) for r in csv.reader(io.StringIO(sample, newline=""), delimiter=d) if r]
        except csv.Error:
            continue
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = count / len(widths) + width / 1000
        if widths[0] == width:
            score += 0.5
        if score > best_score:
            best, best_score, best_width = d, score, width
    return best, best_width


class _Lines:
    """Physical lines of a text, with a count of those handed out and room to push lines back."""

    def __init__(self, text: str, first_line: int):
        self._it = iter(io.StringIO(text, newline=""))
        self._back: list[str] = []
        self.number = first_line - 1  # number of the last line handed out
        self.taken: list[str] = []

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = self._back.pop() if self._back else next(self._it)
        self.number += 1
        self.taken.append(line)
        return line

    def push_back(self, lines: list[str]) -> None:
        self._back.extend(reversed(lines))
        self.number -= len(lines)


def _records(text: str, delimiter: str, width: int, problems: list[RowProblem],
             first_row: int = 2) -> Iterator[tuple[int, list[str]]]:
    """The careful reader: (row number, values) from ``text``, whose first record is row ``first_row``. A
    row that csv rejects or whose quotation mark is never closed counts as one row (its first line); the
    lines after it are read again on their own."""
    lines = _Lines(text, 1)
    start = first_row - 1
    while True:
        reader = csv.reader(lines, delimiter=delimiter)
        restart = False
        while True:
            lines.taken = []
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                start += 1
                problems.append(RowProblem(start, f"cannot read this row ({exc}); skipped"))
                if len(lines.taken) > 1:
                    lines.push_back(lines.taken[1:])
                restart = True
                break
            start += 1
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            spanned = len(lines.taken)
            if len(values) != width and spanned > 1:
                problems.append(RowProblem(start, "a quotation mark is not closed, so this row ran into the "
                                                  "next lines; skipped"))
                lines.push_back(lines.taken[1:])
                restart = True
                break
            if len(values) > width:
                if all(not v.strip() for v in values[width:]):
                    values = values[:width]
                else:
                    problems.append(RowProblem(start, f"has {len(values)} values but the header has {width} "
                                                      "columns; skipped"))
                    continue
            elif len(values) < width:
                values = values + [""] * (width - len(values))
            yield start, values
        if not restart:
            return


def _wider_than(lines: list[str], delimiter: str, width: int) -> int:
    """The widest row's number of values when every non-blank row among ``lines`` has values beyond
    ``width`` columns (a header that lacks names), else 0."""
    try:
        rows = [r for r in csv.reader(io.StringIO("".join(lines), newline=""), delimiter=delimiter)
                if any(v.strip() for v in r)]
    except csv.Error:
        return 0
    if rows and all(any(v.strip() for v in r[width:]) for r in rows):
        return max(len(r) for r in rows)
    return 0


def _unique_header(raw: list[str]) -> list[str]:
    seen: Counter = Counter()
    out = []
    for i, name in enumerate(raw):
        name = name.strip().strip("\ufeff") or f"column {i + 1}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def read_table(path: str | os.PathLike) -> Table:
    """Decode and sniff a CSV file; raises UserError when it is not a table."""
    path = Path(path)
    data = read_bytes(path)
    if not data.strip():
        raise UserError(f"{path.name} is empty.")
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise UserError(f"{path.name} is a spreadsheet workbook (Excel), not CSV: save it as CSV first.")
    if data[:5] == b"%PDF-":
        raise UserError(f"{path.name} is a PDF document, not a CSV table.")
    text, encoding = decode(data, path.name)
    if _looks_binary(text):
        raise UserError(f"{path.name} is not a text file (it looks like binary data).")
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise UserError(f"{path.name} is empty.")
    low = stripped[:200].lower()
    if low.startswith("<!doctype") or low.startswith("<html") or low.startswith("<?xml") or (
            low.startswith("<") and "<body" in stripped[:5000].lower()):
        raise UserError(f"{path.name} is a web page (HTML/XML), not a CSV table.")
    if low.startswith("{") or low.startswith("["):
        raise UserError(f"{path.name} looks like JSON, not a CSV table.")
    # skip blank lines before the header
    offset = len(text) - len(text.lstrip("\ufeff\r\n"))
    body = text[offset:]
    # Excel's "sep=;" first line names the separator (and Excel does not show it as a row)
    sep_line = _SEP_LINE.match(body)
    if sep_line:
        body = body[sep_line.end():]
    head_lines = []
    for line in io.StringIO(body, newline=""):
        head_lines.append(line)
        if len(head_lines) >= SNIFF_LINES:
            break
    if sep_line:
        delimiter = sep_line.group(1)
    else:
        delimiter, width = _choose_delimiter(head_lines)
        if width < 2:
            raise UserError(f"{path.name} does not look like a table: no column separator (comma, semicolon "
                            "or tab) found.")
    lines = _Lines(body, 1)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        raw_header = next(reader)
    except (StopIteration, csv.Error):
        raise UserError(f"{path.name} has no header row.") from None
    if len(raw_header) < 2:
        raise UserError(f"{path.name} does not look like a table: its first line has a single column.")
    header_len = sum(len(line) for line in lines.taken)
    wider = _wider_than(head_lines[len(lines.taken):], delimiter, len(raw_header))
    if wider:
        raise UserError(f"{path.name}: its rows have more values ({wider}) than the header has column names "
                        f"({len(raw_header)}); add the missing names to the header row.")
    table = Table(path=path, encoding=encoding, delimiter=delimiter, header=_unique_header(raw_header),
                  text=body, body_start=header_len, header_lines=len(lines.taken))
    return table
