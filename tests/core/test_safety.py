"""Backups, restore, startup check and the safety CLI (no Qt)."""
from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from shopai.jobs import UserError
from shopai.safety import backup as backup_mod
from shopai.safety import check as check_mod
from shopai.safety import (
    auto_backup,
    backup_to,
    list_backups,
    make_backup,
    on_close,
    restore,
    startup_check,
)
from shopai.store import open_store, products, schema


def _fill(db_path: str, n: int = 50, prefix: str = "SKU") -> None:
    db = open_store(db_path)
    try:
        from shopai.store.db import transaction

        with transaction(db) as conn:
            conn.executemany(
                "INSERT INTO products (sku, title, description, price) VALUES (?, ?, ?, ?)",
                [(f"{prefix}{i}", f"Product {i}", "x" * 200, float(i)) for i in range(n)],
            )
    finally:
        db.conn.close()


def _count(path, table: str = "products") -> int:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or ".tmp-" in p.name)


# --- backups -------------------------------------------------------------------------------------


def test_backup_restore_round_trip(db_path):
    _fill(db_path, 50)
    info = make_backup(db_path, "manual")
    assert info.path.parent == Path(db_path).parent / "backups"
    assert _count(info.path) == 50
    # the copy is one self-contained file, not in WAL mode
    conn = sqlite3.connect(str(info.path))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()

    db = open_store(db_path)
    products.update(db, 1, title="Changed after the backup")
    db.conn.execute("DELETE FROM products WHERE id > 10")
    db.conn.close()
    assert _count(db_path) == 10

    result = restore(db_path, info.path)
    assert _count(db_path) == 50
    assert result.set_aside is not None and _count(result.set_aside) == 10  # nothing thrown away
    assert not result.migrated
    db = open_store(db_path)
    assert products.get(db, product_id=1)["title"] == "Product 0"
    assert products.search(db, "Product 42")  # FTS index came back too
    db.conn.close()
    assert startup_check(db_path).status == check_mod.OK


def test_backup_while_another_connection_writes(db_path):
    _fill(db_path, 20)
    writer = open_store(db_path)
    writer.conn.execute("BEGIN IMMEDIATE")
    writer.conn.execute("INSERT INTO products (sku, title) VALUES ('UNCOMMITTED', 'x')")
    info = make_backup(db_path)  # WAL: the online backup reads the last committed state
    writer.conn.execute("COMMIT")
    writer.conn.close()
    assert _count(info.path) == 20


def test_throttle_and_unchanged(db_path):
    _fill(db_path, 5)
    first = auto_backup(db_path, "close")
    assert first is not None
    assert auto_backup(db_path, "close") is None  # younger than 10 minutes
    assert auto_backup(db_path, "close", min_interval=0) is None  # nothing changed since
    assert auto_backup(db_path, "close", force=True) is not None
    assert len(list_backups(db_path)) == 2


def test_rotation_keeps_newest(db_path, monkeypatch):
    _fill(db_path, 5)
    monkeypatch.setattr(backup_mod, "KEEP", 3)
    made = [make_backup(db_path, "migration")]
    made += [make_backup(db_path, "close") for _ in range(6)]
    backup_mod.rotate(db_path, keep=3)
    names = [b.path for b in list_backups(db_path)]
    assert made[-1].path in names and made[-2].path in names and made[-3].path in names
    assert made[0].path in names  # the newest pre-migration backup is kept beyond the rotation
    assert made[1].path not in names
    assert len(names) == 4


def test_no_backup_of_missing_or_empty_shop(tmp_path):
    assert auto_backup(tmp_path / "none.sqlite", "close") is None
    with pytest.raises(UserError, match="no shop database"):
        backup_to(tmp_path / "none.sqlite", tmp_path / "b.sqlite")


# --- disk full ---------------------------------------------------------------------------------


def _disk_full_after_pages(monkeypatch, pages: int) -> None:
    """Make SQLite's writes to the backup copy fail with SQLITE_FULL, as a full disk does."""
    monkeypatch.setattr(
        backup_mod, "_prepare_destination", lambda conn: conn.execute(f"PRAGMA max_page_count = {pages}")
    )


def test_disk_full_during_backup_keeps_old_backup(db_path, monkeypatch):
    _fill(db_path, 300)
    old = make_backup(db_path, "close")
    old_bytes = old.path.read_bytes()
    db = open_store(db_path)
    products.update(db, 1, title="newer")
    db.conn.close()

    _disk_full_after_pages(monkeypatch, 3)
    with pytest.raises(UserError, match="disk is full"):
        auto_backup(db_path, "close", force=True)
    assert old.path.read_bytes() == old_bytes
    assert [b.path for b in list_backups(db_path)] == [old.path]
    assert _leftovers(old.path.parent) == []
    assert on_close(db_path) is None  # on close: logged, never raised
    assert check_mod.examine(old.path, quick=False).status == check_mod.OK


def test_disk_full_overwriting_a_backup_file(db_path, tmp_path, monkeypatch):
    _fill(db_path, 100)
    target = tmp_path / "elsewhere" / "shop-backup.sqlite"
    backup_to(db_path, target)
    before = target.read_bytes()
    _fill(db_path, 100, prefix="MORE")

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backup_mod.os, "fsync", no_space)
    with pytest.raises(UserError, match="disk is full"):
        backup_to(db_path, target)
    assert target.read_bytes() == before
    assert _leftovers(target.parent) == []


# --- startup check -----------------------------------------------------------------------------


def test_startup_check_sound_and_new(db_path, tmp_path):
    assert startup_check(db_path).status == check_mod.OK
    result = startup_check(tmp_path / "nothing-here.sqlite")
    assert result.ok and result.status == check_mod.NEW


def test_overwritten_database_at_start_offers_restore(db_path):
    _fill(db_path, 30)
    good = make_backup(db_path, "close")
    Path(db_path).write_bytes(b"Oops, a text editor saved over this.\n" * 200)
    result = startup_check(db_path)
    assert not result.ok
    assert result.status == check_mod.NOT_A_DATABASE
    assert "not a database" in result.message
    assert result.backup is not None and result.backup.path == good.path
    assert str(good.path) in result.reason and "\n" not in result.reason
    restore(db_path, result.backup.path)
    assert startup_check(db_path).ok
    assert _count(db_path) == 30


def _corrupt_table_pages(path: str) -> None:
    """Scribble over b-tree pages of the products table, as a bad sector or half-written copy would."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    n_pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with open(path, "r+b") as fh:
        for page in range(n_pages // 2, n_pages // 2 + 3):
            fh.seek(page * page_size)
            fh.write(b"\xff\x00\x13" * (page_size // 3))


def test_damaged_pages_at_start_offers_newest_good_backup(db_path):
    _fill(db_path, 500)
    older = make_backup(db_path, "close")
    newer = make_backup(db_path, "manual")
    # a damaged newest backup must be passed over
    damaged_backup = make_backup(db_path, "close")
    _corrupt_table_pages(str(damaged_backup.path))
    _corrupt_table_pages(db_path)
    result = startup_check(db_path)
    assert result.status == check_mod.DAMAGED, result
    assert "damaged" in result.message
    assert result.backup is not None and result.backup.path == newer.path
    assert older.path.exists()
    with pytest.raises(UserError, match="damaged"):
        restore(db_path, damaged_backup.path)
    restore(db_path, result.backup.path)
    assert startup_check(db_path).status == check_mod.OK
    assert _count(db_path) == 500


def test_too_new_schema(db_path):
    _fill(db_path, 3)
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 3}")
    conn.close()
    result = startup_check(db_path)
    assert result.status == check_mod.TOO_NEW and "newer ShopAI" in result.message
    with pytest.raises(UserError, match="newer ShopAI"):
        restore(str(Path(db_path).with_name("other.sqlite")), db_path)


def test_restore_refuses_non_shop_files(db_path, tmp_path):
    plain = tmp_path / "plain.sqlite"
    conn = sqlite3.connect(str(plain))
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    _fill(db_path, 4)
    with pytest.raises(UserError, match="not a ShopAI shop"):
        restore(db_path, plain)
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(UserError, match="not a database"):
        restore(db_path, cut)
    assert _count(db_path) == 4  # the shop is untouched


def test_a_file_that_never_was_a_shop_is_foreign_not_damaged(db_path, tmp_path):
    """A wrong pick (a text file, another program's database) gets no restore offered over it."""
    other = tmp_path / "other"
    other.mkdir()
    notes = other / "notes.db"
    notes.write_text("Shopping list: milk, eggs\n" * 50)
    result = startup_check(notes)
    assert result.status == check_mod.FOREIGN and result.message == "notes.db is not a ShopAI shop."
    assert result.backup is None and result.reason == result.message
    places = other / "places.sqlite"
    conn = sqlite3.connect(str(places))
    conn.execute("CREATE TABLE moz (x)")
    conn.commit()
    conn.close()
    assert startup_check(places).status == check_mod.FOREIGN
    assert not (other / "backups").exists() and not (other / "logs").exists()
    # the shop's own file, overwritten, is still a damaged shop (named), even with no backup yet
    Path(db_path).write_bytes(b"Oops" * 1000)
    result = startup_check(db_path)
    assert result.status == check_mod.NOT_A_DATABASE and "shop.sqlite" in result.message
    # ... and so is any file that has backups of its own
    _fill(notes.with_name("mine.db"), 2)
    make_backup(notes.with_name("mine.db"), "close")
    notes.with_name("mine.db").write_bytes(b"Oops" * 1000)
    assert startup_check(notes.with_name("mine.db")).status == check_mod.NOT_A_DATABASE


def test_read_only_reason_and_log_dir_fallback(db_path, tmp_path, monkeypatch, read_only):
    from shopai.paths import data_dir, log_dir, read_only_reason

    assert read_only_reason(db_path) is None
    assert log_dir(db_path) == Path(db_path).parent / "logs"
    folder = tmp_path / "usb"
    folder.mkdir()
    shop = folder / "shop.sqlite"
    _fill(shop, 2)
    (folder / "shop.sqlite-wal").unlink(missing_ok=True)
    with read_only(folder):
        assert read_only_reason(shop) == "its folder is read-only"
        assert log_dir(shop) == data_dir() / "logs"  # not a PermissionError
    with read_only(shop):
        assert read_only_reason(shop) == "the file is read-only"


# --- older schema --------------------------------------------------------------------------------

EXTRA = ("safetytest_0099", "CREATE TABLE safety_test_extra (id INTEGER PRIMARY KEY, note TEXT);")


def _build_with(path: Path, migrations) -> None:
    """A shop exactly as an older ShopAI that knew only ``migrations`` would have written it."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    for version, (_, sql) in enumerate(migrations, start=1):
        conn.execute("BEGIN")
        schema.apply_migration(conn, sql)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    conn.executemany("INSERT INTO products (sku, title, price) VALUES (?, ?, ?)",
                     [(f"OLD{i}", f"Old product {i}", 1.5) for i in range(12)])
    conn.close()


@pytest.fixture
def newer_app(monkeypatch):
    """This app with one migration more than every shipped one, so an older backup always exists."""
    migrations = [*schema.MIGRATIONS, EXTRA]
    monkeypatch.setattr(schema, "MIGRATIONS", migrations)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(migrations))
    return migrations


def test_restore_older_schema_backup_migrates_it(tmp_path, newer_app):
    old_backup = tmp_path / "from-last-year.sqlite"
    _build_with(old_backup, newer_app[:1])  # written by the first ShopAI (core schema only)
    db_path = tmp_path / "shop" / "shop.sqlite"
    open_store(db_path).conn.close()

    result = restore(db_path, old_backup)
    assert result.from_version == 1 and result.to_version == len(newer_app) and result.migrated
    conn = sqlite3.connect(str(db_path))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(newer_app)
    assert conn.execute("SELECT count(*) FROM products").fetchone()[0] == 12
    assert conn.execute("SELECT count(*) FROM safety_test_extra").fetchone()[0] == 0
    conn.close()
    # the backup file itself is left as it was
    conn = sqlite3.connect(str(old_backup))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


def test_open_store_backs_up_before_migrating(tmp_path, newer_app):
    db_path = tmp_path / "shop.sqlite"
    _build_with(db_path, newer_app[:-1])
    assert list_backups(db_path) == []
    open_store(db_path).conn.close()
    backups = list_backups(db_path)
    assert [b.reason for b in backups] == ["migration"]
    conn = sqlite3.connect(str(backups[0].path))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(newer_app) - 1
    assert conn.execute("SELECT count(*) FROM products").fetchone()[0] == 12
    conn.close()
    open_store(db_path).conn.close()  # nothing pending: no second backup
    assert len(list_backups(db_path)) == 1


def test_no_migration_without_backup(tmp_path, newer_app, monkeypatch):
    db_path = tmp_path / "shop.sqlite"
    _build_with(db_path, newer_app[:-1])
    _disk_full_after_pages(monkeypatch, 2)
    with pytest.raises(UserError, match="disk is full"):
        open_store(db_path)
    conn = sqlite3.connect(str(db_path))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(newer_app) - 1
    conn.close()


# --- CLI --------------------------------------------------------------------------------------


def test_cli_check_backup_restore(db_path, tmp_path, capsys):
    from shopai.cli.main import main

    _fill(db_path, 7)
    assert main(["check", "--db", db_path]) == 0
    assert "ok" in capsys.readouterr().out

    target = tmp_path / "copy.sqlite"
    assert main(["backup", str(target), "--db", db_path]) == 0
    assert target.is_file() and _count(target) == 7

    db = open_store(db_path)
    db.conn.execute("DELETE FROM products")
    db.conn.close()
    assert main(["restore", str(target), "--db", db_path]) == 0
    assert _count(db_path) == 7
    capsys.readouterr()

    Path(db_path).write_bytes(b"\x00" * 4096)
    assert main(["check", "--db", db_path]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("shopai-cli: ") and "not a database" in err and len(err.splitlines()) == 1

    assert main(["restore", str(tmp_path / "missing.sqlite"), "--db", db_path]) == 2
    assert "no backup file" in capsys.readouterr().err


def test_cli_check_missing_shop(tmp_path, capsys):
    from shopai.cli.main import main

    assert main(["check", "--db", str(tmp_path / "nope.sqlite")]) == 1
    assert "no shop database" in capsys.readouterr().err
    assert not (tmp_path / "nope.sqlite").exists()


def test_cli_check_calls_another_programs_database_no_shop_not_a_damaged_one(tmp_path, capsys):
    import sqlite3

    from shopai.cli.main import main

    other = tmp_path / "notes.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x)")
    conn.close()
    assert main(["check", "--db", str(other)]) == 1
    assert capsys.readouterr().err.strip() == ("shopai-cli: This file is an SQLite database, but not a ShopAI "
                                               "shop.")


def test_restore_from_another_shops_live_file(db_path, tmp_path):
    """A WAL-mode shop file (not a backup) can be restored from too."""
    other = tmp_path / "other" / "shop.sqlite"
    _fill(str(other), 9)
    holder = open_store(other)  # keeps other's -wal/-shm in place
    try:
        restore(db_path, other)
    finally:
        holder.conn.close()
    assert _count(db_path) == 9


def test_backup_before_bulk_change_and_on_close(db_path, monkeypatch):
    from shopai.safety import backup_before

    _fill(db_path, 5)
    first = backup_before(db_path, "import")
    assert first is not None and first.reason == "import"
    assert backup_before(db_path, "import") is None  # throttled: the one just made covers it
    assert on_close(db_path) is None
    _disk_full_after_pages(monkeypatch, 2)
    with pytest.raises(UserError, match="disk is full"):  # the caller stops before changing anything
        backup_before(db_path, "import", force=True)
    monkeypatch.undo()
    db = open_store(db_path)
    products.update(db, 1, title="changed")
    db.conn.close()
    assert backup_mod.due(db_path, min_interval=0)  # changed since the last backup ...
    assert on_close(db_path) is None  # ... but inside the 10 minutes: on_close leaves it to the next one
    assert auto_backup(db_path, "close", min_interval=0).reason == "close"


def test_a_backup_to_a_folder_not_made_yet_goes_inside_it(db_path, tmp_path):
    from shopai.store import open_store

    open_store(db_path).conn.close()
    made = backup_to(db_path, f"{tmp_path / 'new' / 'backups'}/")
    assert made.parent == tmp_path / "new" / "backups" and made.suffix == ".sqlite"
