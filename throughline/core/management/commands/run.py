"""``throughline run``: migrate, create the owner on first run, serve with gunicorn + a worker."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from gunicorn.app.base import BaseApplication


class ThroughlineServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from throughline.wsgi import application

        return application


class Command(BaseCommand):
    help = "Set up (migrate, first owner) and serve the app with an in-process job worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--demo", action="store_true", help="Load demo data when empty.")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        # One thread per process: requests are CPU-bound Python, and threads of one process share
        # its interpreter lock — a capture holding SQLite's writer then waits for its neighbours
        # (bench/intake.py, 2 cores: 2 × 1 captured 84–87 leads/s, p99 0.25–0.39 s; 2 × 4:
        # 55–69, p99 0.56–0.70 s). More threads help requests that wait on the network.
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "1")))
        parser.add_argument("--no-worker", action="store_true", help="Do not start a job worker.")

    def handle(self, *args, **opts):
        call_command("migrate", interactive=False, verbosity=0)
        from throughline.core.bootstrap import ensure_owner

        owner, password = ensure_owner()
        if password:
            self.stdout.write(
                self.style.WARNING(
                    "\nFirst run: an owner account was created. Shown once, write it down:\n"
                    f"  e-mail:   {owner.email}\n  password: {password}\n"
                )
            )
        if opts["demo"]:
            call_command("demo", if_empty=True)
        worker: subprocess.Popen | None = None

        def start_worker(server):
            nonlocal worker
            if not opts["no_worker"]:
                worker = subprocess.Popen([sys.executable, "-m", "throughline", "worker"])

        def stop_worker(server):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()

        database = "PostgreSQL" if settings.IS_POSTGRES else "SQLite"
        self.stdout.write(
            f"Throughline on http://{opts['host']}:{opts['port']} ({database}); Ctrl+C stops it."
        )
        ThroughlineServer(
            {
                "bind": f"{opts['host']}:{opts['port']}",
                "workers": opts["workers"],
                "threads": opts["threads"],
                "worker_class": "gthread",
                "timeout": 60,
                "graceful_timeout": 20,
                "accesslog": "-",
                "control_socket_disable": True,
                "when_ready": start_worker,
                "on_exit": stop_worker,
            }
        ).run()
