"""CLI fixtures: run ``throughline`` as a real subprocess against its own database.

Each subprocess gets a file-based SQLite database (or a scratch PostgreSQL database) and its
own ``THROUGHLINE_VAR_DIR`` under ``tmp_path``, so nothing touches the checkout's ``var/`` or
the database of the test run itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
# Variables of the outer run that must not leak into a subprocess's configuration.
_DROPPED = {"DATABASE_URL", "TEST_DB_SUFFIX", "SECRET_KEY", "THROUGHLINE_TESTING", "BASE_URL"}


def cli_env(var_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(
        DATABASE_URL=database_url,
        THROUGHLINE_VAR_DIR=str(var_dir),
        EMAIL_URL="locmem://",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


CLI = Callable[..., subprocess.CompletedProcess]


def make_cli(env: dict[str, str]) -> CLI:
    """``cli("demo")`` → the finished process (text output); ``check=False`` to expect errors."""

    def cli(*args: str, input: str | None = None, check: bool = True, timeout: float = 180):
        done = subprocess.run(
            [sys.executable, "-m", "throughline", *args],
            cwd=REPO,
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"throughline {' '.join(args)} exited {done.returncode}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done

    return cli


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A freshly migrated, empty SQLite database, made once and copied by each test."""
    var_dir = tmp_path_factory.mktemp("migrated")
    db_path = var_dir / "template.sqlite3"
    make_cli(cli_env(var_dir, sqlite_url(db_path), THROUGHLINE_TESTING="1"))("migrate", "-v0")
    return db_path


@pytest.fixture
def sqlite_cli(tmp_path, migrated_sqlite) -> CLI:
    """The CLI on its own migrated SQLite file (fast password hashing, as in test settings)."""
    shutil.copyfile(migrated_sqlite, tmp_path / "db.sqlite3")
    env = cli_env(tmp_path, sqlite_url(tmp_path / "db.sqlite3"), THROUGHLINE_TESTING="1")
    cli = make_cli(env)
    cli.env = env  # type: ignore[attr-defined]
    cli.db_path = tmp_path / "db.sqlite3"  # type: ignore[attr-defined]
    return cli


def _server_url(dbname: str) -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{dbname}"


@pytest.fixture
def scratch_postgres() -> Iterator[str]:
    """A throw-away PostgreSQL database on the test run's server; dropped afterwards."""
    import psycopg

    name = f"tl_backup_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _server_url(name)
    finally:
        with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
