"""``throughline backup`` / ``restore``: round trips on SQLite and PostgreSQL, and refusals."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from tests.cli.conftest import REPO, cli_env, make_cli, sqlite_url

EXTRA = "extra.person@example.com"
PASSWORD = "a long piped passphrase 91\n"
USERS_WITH_EMAIL = "SELECT count(*) FROM core_user WHERE email = ?"


def count(db_path, sql: str, *params: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def test_audit_verify_passes_after_demo_and_fails_after_a_raw_sql_edit(sqlite_cli):
    # given
    sqlite_cli("demo")
    assert "Audit chain intact" in sqlite_cli("audit", "verify").stdout
    # when: one audit row is edited with raw SQL
    conn = sqlite3.connect(sqlite_cli.db_path)
    with conn:
        conn.execute("UPDATE core_auditentry SET actor_label = 'mallory' WHERE seq = 42")
    conn.close()
    # then
    done = sqlite_cli("audit", "verify", check=False)
    assert done.returncode == 1
    assert "BROKEN at entry #42" in done.stderr


def test_sqlite_backup_and_restore_round_trip(sqlite_cli, tmp_path):
    # given: a demo database and its backup
    sqlite_cli("demo", "--section", "crm")
    contacts = count(sqlite_cli.db_path, "SELECT count(*) FROM crm_contact")
    backup_file = tmp_path / "backups" / "tl.sqlite3"
    backup_file.parent.mkdir()
    done = sqlite_cli("backup", str(backup_file))
    assert str(backup_file) in done.stdout
    assert backup_file.read_bytes()[:16] == b"SQLite format 3\x00"
    assert backup_file.stat().st_mode & 0o077 == 0, "a backup holds password hashes: owner only"
    # and a change made after it
    sqlite_cli("createuser", "--email", EXTRA, "--role", "viewer", input=PASSWORD)

    # when: restoring without --yes over a database that holds data
    refused = sqlite_cli("restore", str(backup_file), check=False)
    # then: refused, nothing changed
    assert refused.returncode == 1
    assert "--yes" in refused.stderr
    assert count(sqlite_cli.db_path, USERS_WITH_EMAIL, EXTRA) == 1

    # when: confirmed
    done = sqlite_cli("restore", str(backup_file), "--yes")
    # then: the database is as it was at backup time, and the audit chain was verified
    assert "Restored" in done.stdout
    assert "Audit chain intact" in done.stdout
    assert count(sqlite_cli.db_path, USERS_WITH_EMAIL, EXTRA) == 0
    assert count(sqlite_cli.db_path, "SELECT count(*) FROM crm_contact") == contacts
    # and the app keeps working on it
    assert "Audit chain intact" in sqlite_cli("audit", "verify").stdout
    sqlite_cli("createuser", "--email", EXTRA, "--role", "viewer", input=PASSWORD)


def test_restore_into_an_empty_database_needs_no_confirmation(sqlite_cli, tmp_path):
    sqlite_cli("createuser", "--email", EXTRA, "--role", "owner", input=PASSWORD)
    sqlite_cli("backup", str(tmp_path / "b.sqlite3"))
    # a second installation, not even created yet
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    other = make_cli(cli_env(fresh, sqlite_url(fresh / "new.sqlite3"), THROUGHLINE_TESTING="1"))
    done = other("restore", str(tmp_path / "b.sqlite3"))
    assert "Audit chain intact: 1 entries verified" in done.stdout
    assert count(fresh / "new.sqlite3", "SELECT count(*) FROM core_user") == 1


def test_backup_to_a_directory_names_the_file_and_never_overwrites(sqlite_cli, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    sqlite_cli("backup", str(out_dir))
    [written] = list(out_dir.iterdir())
    assert written.name.startswith("throughline-") and written.suffix == ".sqlite3"
    again = sqlite_cli("backup", str(written), check=False)
    assert again.returncode == 1 and "exists" in again.stderr
    sqlite_cli("backup", str(written), "--force")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file"),
        (b"", "is empty"),
        (b"just some text, not a database at all" * 10, "not a Throughline backup"),
        (b"PGDMP\x01\x0e\x00" + b"\x00" * 64, "points at SQLite"),
        ("truncated", "corrupt"),
        ("foreign", "not a Throughline one"),
    ],
    ids=["missing", "empty", "text", "pg-dump-on-sqlite", "truncated", "foreign-sqlite"],
)
def test_restore_refuses_a_missing_or_wrong_file(sqlite_cli, tmp_path, content, message):
    sqlite_cli("createuser", "--email", EXTRA, "--role", "owner", input=PASSWORD)
    bad = tmp_path / "bad.file"
    if content == "truncated":
        sqlite_cli("backup", str(tmp_path / "good.sqlite3"))
        bad.write_bytes((tmp_path / "good.sqlite3").read_bytes()[:20_000])
    elif content == "foreign":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE recipes (name TEXT)")
        conn.commit()
        conn.close()
    elif content is not None:
        bad.write_bytes(content)
    done = sqlite_cli("restore", str(bad), "--yes", check=False)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    # the database is untouched
    assert count(sqlite_cli.db_path, USERS_WITH_EMAIL, EXTRA) == 1


def test_sqlite_backup_is_consistent_while_the_app_writes(sqlite_cli, tmp_path):
    """A backup taken mid-stream of writes is a snapshot: its audit chain verifies."""
    writer_code = (
        "from throughline.core.actor import Actor\n"
        "from throughline.crm.services import create_contact\n"
        "for n in range(100000):\n"
        "    create_contact(Actor.cli(), first_name=f'Writer{n}', email=f'w{n}@example.com')\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-m", "throughline", "shell", "-c", writer_code],
        cwd=REPO,
        env=sqlite_cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while count(sqlite_cli.db_path, "SELECT count(*) FROM crm_contact") < 20:
            assert writer.poll() is None, writer.stderr.read()
            assert time.monotonic() < deadline, "the writer did not get going"
            time.sleep(0.1)
        for n in range(3):
            sqlite_cli("backup", str(tmp_path / f"live{n}.sqlite3"))
        assert writer.poll() is None, "the writer must still be writing during the backups"
    finally:
        writer.terminate()
        writer.wait(timeout=30)
    for n in range(3):
        restored = tmp_path / f"restored{n}"
        restored.mkdir()
        other = make_cli(cli_env(restored, sqlite_url(restored / "db.sqlite3")))
        done = other("restore", str(tmp_path / f"live{n}.sqlite3"))
        assert "Audit chain intact" in done.stdout


@pytest.mark.postgres
def test_postgres_backup_and_restore_round_trip(scratch_postgres, tmp_path):
    import psycopg

    cli = make_cli(cli_env(tmp_path, scratch_postgres, THROUGHLINE_TESTING="1"))
    cli("migrate", "-v0")
    cli("demo", "--section", "crm")
    dump = tmp_path / "tl.pgdump"
    cli("backup", str(dump))
    assert dump.read_bytes()[:5] == b"PGDMP"
    cli("createuser", "--email", EXTRA, "--role", "viewer", input=PASSWORD)

    refused = cli("restore", str(dump), check=False)
    assert refused.returncode == 1 and "--yes" in refused.stderr

    done = cli("restore", str(dump), "--yes")
    assert "Audit chain intact" in done.stdout
    with psycopg.connect(scratch_postgres) as conn:
        extra = conn.execute("SELECT count(*) FROM core_user WHERE email = %s", [EXTRA])
        assert extra.fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM crm_contact").fetchone()[0] == 60
    # a SQLite file is refused with a clear word, and a truncated dump changes nothing
    sqlite_file = tmp_path / "x.sqlite3"
    sqlite_file.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    wrong = cli("restore", str(sqlite_file), "--yes", check=False)
    assert wrong.returncode == 1 and "points at PostgreSQL" in wrong.stderr
    truncated = tmp_path / "truncated.pgdump"
    truncated.write_bytes(dump.read_bytes()[:4000])
    broken = cli("restore", str(truncated), "--yes", check=False)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "Audit chain intact" in cli("audit", "verify").stdout


def test_postgres_password_goes_by_environment_never_by_argument(settings, monkeypatch):
    from throughline.core import backup

    monkeypatch.setitem(settings.DATABASES["default"], "PASSWORD", "s3cret-pw")
    monkeypatch.setitem(settings.DATABASES["default"], "HOST", "db.internal")
    args, env = backup._pg_connection()
    assert "s3cret-pw" not in " ".join(args)
    assert env["PGPASSWORD"] == "s3cret-pw"
    assert ["--host", "db.internal"] == args[args.index("--host") : args.index("--host") + 2]
    assert "--no-password" in args
