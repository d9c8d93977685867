"""Backups of the whole database to one file, and restoring them.

* **SQLite**: the online backup API (``sqlite3.Connection.backup``) copies a consistent
  snapshot while the app keeps running (WAL readers never block the writer). The copy is a
  plain single-file SQLite database (journal mode DELETE), checked with ``quick_check``.
  Restoring uses the same API in the other direction, so running processes see the old
  content or the new one, never a half-written file.
* **PostgreSQL**: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists
  --single-transaction`` (a failed restore changes nothing). Connection arguments come from
  ``settings.DATABASES``; the password goes to the tools through ``PGPASSWORD`` in their
  environment, never on a command line or in a log line.

Before restoring, the file's type is checked (the SQLite header or the ``PGDMP`` magic), and it
must be a Throughline database (it has ``django_migrations``). A target that holds data is
only overwritten when the caller confirms (``restore --yes``).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

logger = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
SQLITE, PGDUMP = "sqlite", "pg_dump"
PG_TOOL_TIMEOUT = 6 * 3600  # seconds; a hung tool must not hang a cron job for ever


class BackupError(Exception):
    """A backup or restore that cannot proceed; the message says why and what to do."""


@dataclass
class RestoreResult:
    path: Path
    kind: str
    target: str
    pending_migrations: int


# --- what is where --------------------------------------------------------------------------


def _db() -> dict:
    return settings.DATABASES[DEFAULT_DB_ALIAS]


def engine_kind() -> str:
    vendor = connections[DEFAULT_DB_ALIAS].vendor
    if vendor == "sqlite":
        return SQLITE
    if vendor == "postgresql":
        return PGDUMP
    raise BackupError(f"Backups support SQLite and PostgreSQL, not {vendor}.")


def describe_target() -> str:
    """The database in words, without secrets."""
    db = _db()
    if engine_kind() == SQLITE:
        return f"SQLite database {db['NAME']}"
    where = f"{db.get('HOST') or 'local socket'}" + (f":{db['PORT']}" if db.get("PORT") else "")
    return f"PostgreSQL database {db['NAME']!r} on {where}"


def _sqlite_path() -> Path:
    name = str(_db()["NAME"])
    if name in {"", ":memory:"} or name.startswith("file:") and "mode=memory" in name:
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(name)


def detect_kind(path: Path) -> str:
    """``"sqlite"`` or ``"pg_dump"`` from the file's first bytes; BackupError otherwise."""
    if not path.exists():
        raise BackupError(f"No such file: {path}")
    if not path.is_file():
        raise BackupError(f"Not a file: {path}")
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        return SQLITE
    if head.startswith(PGDUMP_MAGIC):
        return PGDUMP
    if not head:
        raise BackupError(f"{path} is empty: not a backup.")
    raise BackupError(
        f"{path} is not a Throughline backup: neither a SQLite database nor a "
        "pg_dump custom-format archive."
    )


def target_has_data() -> bool:
    """Whether the configured database holds anything worth keeping (users or audit entries)."""
    from throughline.core.models import AuditEntry, User

    connection = connections[DEFAULT_DB_ALIAS]
    try:
        tables = set(connection.introspection.table_names())
    except Exception:  # noqa: BLE001 - an unreachable or missing database holds nothing here
        return False
    return any(
        model._meta.db_table in tables and model.objects.exists() for model in (User, AuditEntry)
    )


def default_file_name(kind: str) -> str:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return f"throughline-{stamp}.{'sqlite3' if kind == SQLITE else 'pgdump'}"


# --- backup ---------------------------------------------------------------------------------


def backup(path: Path, *, overwrite: bool = False) -> Path:
    """Write a backup of the configured database to ``path`` (a file, or a directory to put a
    time-stamped file in). Returns the file written. Readable by the owner only."""
    kind = engine_kind()
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / default_file_name(kind)
    if path.exists() and not overwrite:
        raise BackupError(f"{path} exists; choose another name or pass --force.")
    if not path.parent.is_dir():
        raise BackupError(f"Directory {path.parent} does not exist.")
    # Written beside the target under a temporary name, then renamed: a failed or interrupted
    # backup never leaves a truncated file under the name a restore would use.
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        if kind == SQLITE:
            _sqlite_backup(partial)
        else:
            _pg_dump(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _sqlite_backup(dest: Path) -> None:
    source_path = _sqlite_path()
    if not source_path.exists():
        raise BackupError(f"The database {source_path} does not exist yet: nothing to back up.")
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(dest)
    try:
        # One step (pages=-1): the copy is a single consistent snapshot of the source.
        source.backup(target)
        # A standalone file: no -wal/-shm companions needed to read it.
        target.execute("PRAGMA journal_mode=DELETE")
        _check_sqlite(target, dest)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup failed: {exc}") from exc
    finally:
        target.close()
        source.close()


def _check_sqlite(conn: sqlite3.Connection, path: Path) -> None:
    try:
        verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        has_migrations = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='django_migrations'"
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is corrupt: {exc}") from exc
    if verdict != "ok":
        raise BackupError(f"{path} is corrupt: {verdict}")
    if not has_migrations:
        raise BackupError(f"{path} is a SQLite database, but not a Throughline one.")


# --- PostgreSQL tools -----------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found. Install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client) matching the server's version."
        )
    return found


def _pg_connection() -> tuple[list[str], dict[str, str]]:
    """Connection arguments (no secrets) and the environment carrying the password."""
    db = _db()
    args = ["--no-password"]  # never prompt: a cron job has no one to answer
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    options = db.get("OPTIONS") or {}
    for option, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
    ):
        if options.get(option):
            env[variable] = str(options[option])
    return args, env


def _run_pg(command: list[str], env: dict[str, str], what: str) -> str:
    logger.debug("Running %s", " ".join(command))  # arguments only: the password is in env
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=PG_TOOL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{what} did not finish within {PG_TOOL_TIMEOUT} s.") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {detail}")
    return done.stdout


def _pg_dump(dest: Path) -> None:
    args, env = _pg_connection()
    command = [_pg_tool("pg_dump"), "--format=custom", "--file", str(dest), *args]
    _run_pg([*command, "--dbname", str(_db()["NAME"])], env, "pg_dump")


def _pg_check_archive(path: Path) -> None:
    _, env = _pg_connection()
    try:
        listing = _run_pg([_pg_tool("pg_restore"), "--list", str(path)], env, "Reading the dump")
    except BackupError as exc:
        raise BackupError(f"{path} is corrupt or unreadable: {exc}") from exc
    if "django_migrations" not in listing:
        raise BackupError(f"{path} is a pg_dump archive, but not of a Throughline database.")


def _pg_restore(path: Path) -> None:
    args, env = _pg_connection()
    command = [
        _pg_tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",  # objects belong to the user restoring, whatever the source server had
        "--no-privileges",
        "--single-transaction",  # all or nothing
        "--exit-on-error",
        *args,
        "--dbname",
        str(_db()["NAME"]),
        str(path),
    ]
    _run_pg(command, env, "pg_restore")


# --- restore --------------------------------------------------------------------------------


def check_backup_file(path: Path) -> str:
    """Check the file before anything is touched; returns its kind."""
    path = Path(path).expanduser()
    kind = detect_kind(path)
    target = engine_kind()
    if kind != target:
        have = "SQLite database" if kind == SQLITE else "PostgreSQL (pg_dump) archive"
        want = "SQLite" if target == SQLITE else "PostgreSQL"
        raise BackupError(
            f"{path} is a {have}, but DATABASE_URL points at {want}. Restore it into a "
            f"{'SQLite' if kind == SQLITE else 'PostgreSQL'} DATABASE_URL."
        )
    if kind == SQLITE:
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise BackupError(f"{path} cannot be opened: {exc}") from exc
        try:
            _check_sqlite(conn, path)
        finally:
            conn.close()
    else:
        _pg_check_archive(path)
    return kind


def restore(path: Path, *, confirmed: bool) -> RestoreResult:
    """Replace the configured database's content with the backup at ``path``.

    Raises BackupError (and changes nothing) when the file is missing, corrupt or of the
    other database's kind, or when the target holds data and ``confirmed`` is false.
    """
    path = Path(path).expanduser()
    kind = check_backup_file(path)
    target = describe_target()
    if not confirmed and target_has_data():
        raise BackupError(
            f"The {target} holds data, which the restore replaces. Run again with --yes to confirm."
        )
    # Our own connections must not hold locks or cached state across the swap.
    connections.close_all()
    if kind == SQLITE:
        _sqlite_restore(path)
    else:
        _pg_restore(path)
    connections.close_all()
    return RestoreResult(path=path, kind=kind, target=target, pending_migrations=_pending())


def _sqlite_restore(path: Path) -> None:
    target_path = _sqlite_path()
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        # TRICKY: a WAL database cannot change its page size; the copy must match it.
        target_mode = target.execute("PRAGMA journal_mode").fetchone()[0]
        source_size = source.execute("PRAGMA page_size").fetchone()[0]
        target_size = target.execute("PRAGMA page_size").fetchone()[0]
        if target_mode == "wal" and source_size != target_size:
            target.execute("PRAGMA journal_mode=DELETE")
        source.backup(target)
        if target_mode == "wal":
            target.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite restore failed: {exc}") from exc
    finally:
        target.close()
        source.close()


def _pending() -> int:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
