"""Helpers shared by the bench scripts: scratch databases and percentiles."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms, "
        f"mean {statistics.fmean(values):.1f} ms"
    )


class ScratchDatabase:
    """A throw-away database (PostgreSQL or SQLite file) migrated for one bench run.

    ``keep``: a named PostgreSQL database kept after the run and reused by the next one (for
    iterating on one report without seeding a million rows each time); ``existed`` tells
    whether it was already there (then it is migrated, not seeded again)."""

    def __init__(self, kind: str, var_dir: Path, keep: str | None = None):
        self.kind = kind
        self.var_dir = var_dir
        self.keep = keep if kind == "postgres" else None
        self.name = self.keep or f"tl_bench_{uuid.uuid4().hex[:8]}"
        self.existed = False
        if kind == "postgres":
            self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.url = f"sqlite:///{var_dir / (self.name + '.sqlite3')}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.url,
            "THROUGHLINE_VAR_DIR": str(self.var_dir),
            "SECRET_KEY": "bench-only",
            "LOG_LEVEL": "WARNING",
        }

    def __enter__(self) -> ScratchDatabase:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                self.existed = bool(
                    conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", [self.name]
                    ).fetchone()
                )
                if not self.existed:
                    conn.execute(f'CREATE DATABASE "{self.name}"')
        subprocess.run(
            [sys.executable, "-m", "throughline", "migrate", "-v0"],
            env=self.env,
            cwd=REPO,
            check=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        if self.kind == "postgres" and not self.keep:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "throughline.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
