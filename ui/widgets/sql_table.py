"""A lazy table model over SQL: ordered ids from one query, rows fetched a page at a time.

The idea is Anki's browser table: searching, filtering and sorting happen in SQL and give an
ordered list of ids (cheap even for 100,000 rows); the view only ever asks for the rows it shows,
so rows are fetched in pages into a small LRU cache. Re-querying keeps the selection and scroll
position when the ids did not change (a plain edit), and resets the model when they did.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

#: Role giving a cell's raw value (a number stays a number, for sorting/proxying/tests).
RawValueRole = Qt.ItemDataRole.UserRole + 1
#: Role giving the row's database id (same for every column of a row).
IdRole = Qt.ItemDataRole.UserRole + 2
#: Role giving the whole row as a dict.
RowRole = Qt.ItemDataRole.UserRole + 3

ALIGN_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
ALIGN_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
ALIGN_CENTER = Qt.AlignmentFlag.AlignCenter

IdsFn = Callable[[str, bool], Sequence[int]]
RowsFn = Callable[[Sequence[int]], dict[int, dict[str, Any]]]


@dataclass(frozen=True)
class Column:
    """One column: the row dict's ``key``, its ``header``, how to show a value, how to align it.

    ``sort_key`` is what ``ids_fn`` receives when the user sorts on this column (defaults to
    ``key``); ``sortable=False`` makes a click on its header do nothing.
    """

    key: str
    header: str
    formatter: Callable[[Any], str] | None = None
    alignment: Qt.AlignmentFlag = ALIGN_LEFT
    sort_key: str | None = None
    sortable: bool = True

    def text(self, value: Any) -> str:
        if self.formatter is not None:
            return self.formatter(value)
        return "" if value is None else str(value)


def fmt_money(value: Any) -> str:
    """Two decimals, or up to four for a price that has them (a wholesale 0.125 is not shown as 0.13)."""
    if value is None or value == "":
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(number - round(number, 2)) > 1e-9 and abs(number) < 1e12:
        return f"{number:,.4f}".rstrip("0")
    return f"{number:,.2f}"


def fmt_int(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"


def fmt_datetime(value: Any) -> str:
    """'2011-12-09T12:50:00' → '2011-12-09 12:50' (seconds are noise in a table); a date the file gave without
    a time ('…T00:00:00') is just the date, not '00:00'."""
    if not value:
        return ""
    text = str(value).replace("T", " ")
    return text[:10] if text[10:19] in (" 00:00:00", " 00:00", "") else text[:16]


def fmt_date(value: Any) -> str:
    return str(value)[:10] if value else ""


class SqlTableModel(QAbstractTableModel):
    """Read-only lazy model: ``ids_fn(sort_key, descending)`` → ordered ids; ``rows_fn(ids)`` → rows.

    Call :meth:`refresh` whenever the query behind ``ids_fn`` changes (search text, filter) or the
    data changed. ``pages_fetched`` counts calls to ``rows_fn`` (tests check laziness with it).
    """

    #: Emitted after every refresh with the new row count.
    refreshed = Signal(int)

    def __init__(
        self,
        columns: Sequence[Column],
        ids_fn: IdsFn,
        rows_fn: RowsFn,
        *,
        sort_key: str | None = None,
        descending: bool = False,
        page_size: int = 200,
        cache_pages: int = 16,
        foreground: Callable[[dict[str, Any]], Any] | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._ids_fn = ids_fn
        self._rows_fn = rows_fn
        self._sort_key = sort_key or self.columns[0].sort_key or self.columns[0].key
        self._descending = descending
        self.page_size = max(1, int(page_size))
        self.cache_pages = max(1, int(cache_pages))
        self._ids: list[int] = []
        self._row_of: dict[int, int] | None = None
        self._pages: OrderedDict[int, dict[int, dict[str, Any]]] = OrderedDict()
        self.pages_fetched = 0
        #: Optional ``row dict → QColor | None`` for the text colour of a whole row (e.g. cancelled orders).
        self.foreground = foreground

    # -- querying -------------------------------------------------------------------------
    @property
    def sort_key(self) -> str:
        return self._sort_key

    @property
    def descending(self) -> bool:
        return self._descending

    @property
    def ids(self) -> list[int]:
        return self._ids

    def set_ids_fn(self, ids_fn: IdsFn, refresh: bool = True) -> None:
        self._ids_fn = ids_fn
        if refresh:
            self.refresh()

    def refresh(self) -> None:
        """Re-run the ids query; keep the view's state when the ids did not change."""
        new_ids = list(self._ids_fn(self._sort_key, self._descending))
        if new_ids == self._ids:
            self._pages.clear()
            if self._ids:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(self._ids) - 1, len(self.columns) - 1)
                )
        else:
            self.beginResetModel()
            self._ids = new_ids
            self._row_of = None
            self._pages.clear()
            self.endResetModel()
        self.refreshed.emit(len(self._ids))

    def clear_cache(self) -> None:
        self._pages.clear()

    # -- lookups --------------------------------------------------------------------------
    def id_at(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, item_id: int) -> int | None:
        """The row showing ``item_id`` (None when filtered out); builds an index on first use."""
        if self._row_of is None:
            self._row_of = {i: r for r, i in enumerate(self._ids)}
        return self._row_of.get(item_id)

    def row_dict(self, row: int) -> dict[str, Any] | None:
        """The row's dict (fetching its page if needed); None for a row deleted meanwhile."""
        if not 0 <= row < len(self._ids):
            return None
        page_no = row // self.page_size
        page = self._pages.get(page_no)
        if page is None:
            page = self._fetch_page(page_no)
        else:
            self._pages.move_to_end(page_no)
        return page.get(self._ids[row])

    def _fetch_page(self, page_no: int) -> dict[int, dict[str, Any]]:
        start = page_no * self.page_size
        page = dict(self._rows_fn(self._ids[start:start + self.page_size]))
        self.pages_fetched += 1
        self._pages[page_no] = page
        while len(self._pages) > self.cache_pages:
            self._pages.popitem(last=False)
        return page

    @property
    def cached_rows(self) -> int:
        return sum(len(p) for p in self._pages.values())

    # -- Qt model API ---------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    # flags(): Qt's own (enabled and selectable). A Python override was called for every cell of every row on
    # Ctrl+A (624,000 calls on 100,000 products: seconds).

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            column = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return column.header
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return column.alignment
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == IdRole:
            return self.id_at(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self.columns[col].alignment
        if role == Qt.ItemDataRole.ForegroundRole:
            if self.foreground is None:
                return None
            record = self.row_dict(row)
            return None if record is None else self.foreground(record)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, RawValueRole, RowRole):
            return None
        record = self.row_dict(row)
        if record is None:
            return None
        if role == RowRole:
            return record
        column = self.columns[col]
        value = record.get(column.key)
        if role == RawValueRole:
            return value
        text = column.text(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            return text if len(text) > 30 else None
        return text

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in SQL: re-query the ids with this column's sort key."""
        if not 0 <= column < len(self.columns) or not self.columns[column].sortable:
            return
        spec = self.columns[column]
        key = spec.sort_key or spec.key
        descending = order == Qt.SortOrder.DescendingOrder
        if key == self._sort_key and descending == self._descending and self._ids:
            return
        self._sort_key, self._descending = key, descending
        self.layoutAboutToBeChanged.emit()
        old_ids = self._ids
        self._ids = list(self._ids_fn(self._sort_key, self._descending))
        self._row_of = None
        self._pages.clear()
        # Persistent indexes (the selection, the current row) follow their ids to the new rows.
        persistent = self.persistentIndexList()
        if persistent:
            moved = []
            for idx in persistent:
                old_row = idx.row()
                new_row = self.row_of(old_ids[old_row]) if 0 <= old_row < len(old_ids) else None
                moved.append(QModelIndex() if new_row is None else self.index(new_row, idx.column()))
            self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()
        self.refreshed.emit(len(self._ids))

    def sort_column(self) -> int:
        """The column index whose sort key is active (-1 when none)."""
        for i, column in enumerate(self.columns):
            if (column.sort_key or column.key) == self._sort_key:
                return i
        return -1


def keep_sort_indicator(view) -> None:
    """A click on an unsortable column's header leaves the arrow where the rows are sorted.

    QHeaderView moves its sort arrow on any click; the model ignores unsortable columns, so without
    this the arrow would claim an order the rows are not in.
    """
    header = view.horizontalHeader()

    def restore(column: int, _order) -> None:
        model = view.model()
        if not isinstance(model, SqlTableModel) or model.columns[column].sortable:
            return
        order = Qt.SortOrder.DescendingOrder if model.descending else Qt.SortOrder.AscendingOrder
        header.blockSignals(True)
        header.setSortIndicator(model.sort_column(), order)
        header.blockSignals(False)

    header.sortIndicatorChanged.connect(restore)
