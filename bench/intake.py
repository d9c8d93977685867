"""Lead capture through the whole path vs a bare JSON endpoint (DESIGN §7), and speed to lead.

For SQLite, and for PostgreSQL too when ``DATABASE_URL`` names a PostgreSQL server:

1. a scratch database, migrated, seeded with N existing contacts (default 100k) and their
   companies and blocking keys, written with ``bulk_create``;
2. the app served as in production (``throughline run --no-worker``: gunicorn, its default
   2 processes × 1 thread) on a free loopback port;
3. the ceiling: ``GET /healthz`` (a bare JSON view) at 16 concurrent keep-alive clients;
4. speed to lead: a job worker and a real SMTP server (aiosmtpd) on loopback, leads posted at
   20/s; latency = SMTP server accepts the acknowledgement − the API answered 201;
5. the reference DESIGN §7 quotes ("one ORM insert alone reaches 25–50%"): ``POST
   /bench/one-insert`` at 16 concurrent clients, one ``Tag.objects.create`` answered with
   ``{"id": …}`` and 201 by a view built on the API's base view (Bearer token, role check,
   throttle, write transaction — the path capture takes), then ``POST /bench/one-insert-plain``,
   the same insert in a plain Django view that checks the token with the API's authenticator
   (the gap between the two is what DRF costs);
6. capture: ``POST /api/v1/leads`` at 16 concurrent clients (no worker running: the web path
   alone) — validation, normalization, exact match, likely-match search against the seeded
   contacts, lead, audit entries, events, acknowledgement job, first-contact task.

Prints leads/s and p50/p99, the ceiling, the one-insert references and their ratio to the
ceiling, capture's ratio (target ≥ 0.25, p99 < 100 ms) and the acknowledgement latency (target
p99 ≤ 5 s). Figures only, no assertions.

The load generator runs on the same machine (2 processes × 8 threads), as the server
settings are what is compared. The server runs with a bench-only settings module written to
a temporary directory: its URLconf is the app's plus the two ``/bench/`` routes (they exist
only there), and the API's per-user rate limit (1200/min), which would cap the figures at the
limit rather than at the cost of the work, becomes 1,000,000/s (``--keep-throttle`` keeps it).

Usage: python bench/intake.py [--contacts 100000] [--seconds 15] [--clients 16]
                              [--ack-seconds 10] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import REPO, ScratchDatabase, percentile, setup_django  # noqa: E402

# The server's settings: the app's, with the bench-only routes below. The API's throttle stays
# in the path, with a one-second window: DRF keeps each request of the window in one list that
# the local-memory cache pickles on every request, so at hundreds of req/s a one-minute window
# grows to tens of thousands of entries and its cost climbs through the run (in production the
# 1200/min limit caps the list at 1200).
SETTINGS_OVERRIDE = """from throughline.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench_intake_urls"
"""
THROTTLE_OVERRIDE = """
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405 - from the star import
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "1000000/s"},
}
"""
# The reference for "one ORM insert": the app's routes plus two views that each insert one
# crm.Tag (three columns, one unique index, no signals; capture never reads tags). One is built
# on the API's own base view (token, role check, throttle, write transaction: what
# POST /api/v1/leads goes through before it captures anything); the other is a plain Django
# view that checks the token with the API's authenticator, so the gap between them is DRF's.
BENCH_URLS = '''"""Bench-only URLconf (written by bench/intake.py): the app's routes + one-insert views."""

import uuid

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from throughline.api.auth import BearerTokenAuthentication
from throughline.api.views import ApiView
from throughline.core.access import public
from throughline.crm.models import Tag
from throughline.urls import handler403, handler404  # noqa: F401
from throughline.urls import urlpatterns as app_urlpatterns

PERMISSION = "leads.edit"  # what POST /api/v1/leads demands


def insert_one() -> int:
    return Tag.objects.create(name=f"bench-{uuid.uuid4().hex}").pk


class OneInsertView(ApiView):
    required_permissions = {"POST": PERMISSION}

    def post(self, request):
        return Response({"id": insert_one()}, status=status.HTTP_201_CREATED)


@public  # checks the token itself, as the API does
@csrf_exempt
def one_insert_plain(request):
    if request.method != "POST":
        return JsonResponse({"detail": "Method not allowed."}, status=405)
    try:
        found = BearerTokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed:
        found = None
    if found is None:
        return JsonResponse({"detail": "Unknown or revoked token."}, status=401)
    if not found[0].can(PERMISSION):
        return JsonResponse({"detail": "Your role does not allow this."}, status=403)
    return JsonResponse({"id": insert_one()}, status=201)


urlpatterns = [
    *app_urlpatterns,
    path("bench/one-insert", OneInsertView.as_view()),
    path("bench/one-insert-plain", one_insert_plain),
]
'''
ONE_INSERT = {"/bench/one-insert": "API base view", "/bench/one-insert-plain": "plain Django view"}
DOMAINS = ["gmail.com", "outlook.com", "yahoo.co.uk"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Seeding ---------------------------------------------------------------------------------


def seed(contacts: int, rng: random.Random) -> tuple[str, list[str]]:
    """N contacts (with companies and blocking keys); returns an API token and known e-mails."""
    from throughline.core.actor import Actor
    from throughline.core.models import Organization
    from throughline.core.services import create_api_token, create_user
    from throughline.crm.models import Company, Contact
    from throughline.intake import dedup, matching
    from throughline.intake.dedup_fixtures import (
        COMMON_LAST,
        COMPANY_KINDS,
        COMPANY_WORDS,
        FIRST_NAMES,
        RARE_LAST,
    )
    from throughline.intake.models import CompanyKey, ContactKey

    Organization.current()
    owner = create_user(
        Actor.cli(), email="bench-owner@example.com", role="owner", full_name="Bench Owner"
    )
    _token, raw = create_api_token(Actor.cli(), owner, name="bench")
    companies = []
    for i in range(max(1, contacts // 20)):
        base = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {i}"
        companies.append(Company(id=uuid.uuid4(), name=f"{base} Ltd", domain=f"co{i}.example"))
    Company.objects.bulk_create(companies, batch_size=2000)
    CompanyKey.objects.bulk_create(
        [
            CompanyKey(company_id=c.pk, key=k)
            for c in companies
            for k in matching.company_keys(c.name, c.domain)
        ],
        batch_size=5000,
    )
    last_names = COMMON_LAST + RARE_LAST
    batch: list[Contact] = []
    emails: list[str] = []
    for i in range(contacts):
        first, last = rng.choice(FIRST_NAMES), rng.choice(last_names)
        company = rng.choice(companies) if rng.random() < 0.7 else None
        domain = company.domain if company else rng.choice(DOMAINS)
        email = f"{first.lower()}.{last.lower()}.{i}@{domain}"
        batch.append(
            Contact(
                id=uuid.uuid4(),
                first_name=first,
                last_name=last,
                email=email,
                email_normalized=email,
                company=company,
                phone=f"+4420{7000_0000 + i}" if rng.random() < 0.5 else "",
            )
        )
        if len(emails) < 2000:
            emails.append(email)
        if len(batch) == 5000 or i == contacts - 1:
            Contact.objects.bulk_create(batch)
            ContactKey.objects.bulk_create(
                [row for c in batch for row in dedup.contact_key_rows(c)],
                batch_size=10000,
            )
            batch = []
    return raw, emails


# --- Load --------------------------------------------------------------------------------------


def lead_body(rng: random.Random, tag: str, n: int, known: list[str]) -> bytes:
    from throughline.intake.dedup_fixtures import COMMON_LAST, FIRST_NAMES, RARE_LAST

    roll = rng.random()
    if roll < 0.1 and known:  # someone we know: exact match, linked
        body = {"email": rng.choice(known), "message": "Again, hello"}
    else:
        first, last = rng.choice(FIRST_NAMES), rng.choice(COMMON_LAST + RARE_LAST)
        body = {
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}.{last.lower()}.{tag}{n}@{rng.choice(DOMAINS)}",
            "company": f"{rng.choice(['Acme', 'Globex', 'Initech', 'Umbrella'])} {rng.randrange(9999)} Ltd",
            "message": "We would like a quote for a website rebuild.",
            "source": rng.choice(["website", "google-ads", "linkedin"]),
            "utm": {"utm_source": "google", "utm_medium": "cpc"},
            "consent": rng.random() < 0.3,
        }
        if roll < 0.6:
            body["phone"] = f"+4420{8000_0000 + rng.randrange(10**7)}"
    return json.dumps(body).encode()


def _client(port, method, path, token, deadline, warmup_until, known, tag, out) -> None:
    rng = random.Random(tag)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, errors, n = [], {}, 0
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        body = lead_body(rng, tag, n, known) if method == "POST" else None
        n += 1
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        elapsed = time.perf_counter() - started
        if started < warmup_until:
            continue
        if status in (200, 201):
            latencies.append(elapsed * 1000)
        else:
            errors[str(status)] = errors.get(str(status), 0) + 1
    conn.close()
    out.extend(latencies)
    if errors:
        out.append(("errors", errors))


def _process(port, method, path, token, threads, seconds, warmup, known, tag, queue) -> None:
    start = time.perf_counter()
    warmup_until, deadline = start + warmup, start + warmup + seconds
    results: list = []
    workers = [
        threading.Thread(
            target=_client,
            args=(port, method, path, token, deadline, warmup_until, known, f"{tag}t{i}x", results),
        )
        for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put(results)


def load(port, method, path, token, clients, seconds, known, tag, warmup=2.0) -> dict:
    """``clients`` concurrent keep-alive connections from 2 processes for ``seconds``."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    processes = 2
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [
        ctx.Process(
            target=_process,
            args=(port, method, path, token, per[i], seconds, warmup, known, f"{tag}p{i}", queue),
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    latencies, errors = [], {}
    for _ in procs:
        for item in queue.get(timeout=seconds + warmup + 300):
            if isinstance(item, tuple):
                for k, v in item[1].items():
                    errors[k] = errors.get(k, 0) + v
            else:
                latencies.append(item)
    for p in procs:
        p.join()
    return {
        "rate": len(latencies) / seconds,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "n": len(latencies),
        "errors": errors,
    }


# --- Speed to lead -----------------------------------------------------------------------------


class _Sink:
    def __init__(self):
        self.arrivals: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        now = time.time()
        for rcpt in envelope.rcpt_tos:
            self.arrivals.setdefault(rcpt.lower(), now)
        return "250 OK"


def _worker(env: dict, name: str, queues: list[str]) -> subprocess.Popen:
    args = [sys.executable, "-m", "throughline", "worker", "--interval", "0.2", "--worker-id", name]
    for queue in queues:
        args += ["--queue", queue]
    return subprocess.Popen(
        args, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def ack_latency(port, token, env, seconds: float, email_worker: bool, rate: float = 20.0) -> dict:
    """Leads at ``rate``/s; one worker for everything, or one more only for the e-mail queue."""
    from aiosmtpd.controller import Controller

    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    worker_env = {**env, "EMAIL_URL": f"smtp://127.0.0.1:{controller.port}"}
    workers = [_worker(worker_env, "bench-all", [])]
    if email_worker:
        workers.append(_worker(worker_env, "bench-email", ["email"]))
    sent: dict[str, float] = {}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    slots = iter(range(10**9))
    lock = threading.Lock()
    started = 0.0

    def sender() -> None:
        # Open-loop: lead n is posted at started + n / rate, whatever the server's pace.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while True:
                with lock:
                    n = next(slots)
                due = started + n / rate
                if due - started >= seconds:
                    return
                time.sleep(max(0.0, due - time.perf_counter()))
                email = f"ack.{n}.{uuid.uuid4().hex[:6]}@speed.example"
                body = json.dumps({"first_name": "Speedy", "last_name": f"Lead{n}", "email": email})
                conn.request("POST", "/api/v1/leads", body=body.encode(), headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 201:
                    sent[email] = time.time()
        finally:
            conn.close()

    try:
        time.sleep(1.0)  # the worker's first heartbeat and tick
        started = time.perf_counter()
        senders = [threading.Thread(target=sender) for _ in range(4)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        elapsed = time.perf_counter() - started
        deadline = time.time() + 90
        while time.time() < deadline and len(sink.arrivals.keys() & sent.keys()) < len(sent):
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        controller.stop()
    latencies = [sink.arrivals[e] - t for e, t in sent.items() if e in sink.arrivals]
    return {
        "sent": len(sent),
        "delivered": len(latencies),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "rate": len(sent) / elapsed,
    }


# --- One database ------------------------------------------------------------------------------


def run_one(kind: str, args) -> None:
    label = "PostgreSQL" if kind == "postgres" else "SQLite"
    with tempfile.TemporaryDirectory() as tmp, ScratchDatabase(kind, Path(tmp)) as db:
        settings = SETTINGS_OVERRIDE + ("" if args.keep_throttle else THROTTLE_OVERRIDE)
        (Path(tmp) / "bench_intake_settings.py").write_text(settings)
        (Path(tmp) / "bench_intake_urls.py").write_text(BENCH_URLS)
        server_env = {
            **db.env,
            "PYTHONPATH": os.pathsep.join([tmp, str(REPO)]),
            "WEB_WORKERS": "2",
            "WEB_THREADS": "1",
            "DJANGO_SETTINGS_MODULE": "bench_intake_settings",
        }
        setup_django(db.env)
        from django.db import connections

        rng = random.Random(20260401)
        started = time.perf_counter()
        token, known = seed(args.contacts, rng)
        from throughline.crm.models import Contact

        print(
            f"== {label}: {Contact.objects.count()} contacts seeded in {time.perf_counter() - started:.1f} s"
        )
        connections.close_all()

        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "throughline",
                "run",
                "--no-worker",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=server_env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for _ in range(300):
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                try:
                    probe.request("GET", "/healthz")
                    if probe.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.2)
                finally:
                    probe.close()
            else:
                raise SystemExit(f"server did not start: {server.stderr.read()[-2000:]}")

            ceiling = load(port, "GET", "/healthz", token, args.clients, args.seconds, known, "h")
            print(
                f"bare JSON ceiling   GET /healthz       {ceiling['rate']:8.0f} req/s   "
                f"p50 {ceiling['p50']:6.1f} ms  p99 {ceiling['p99']:6.1f} ms   "
                f"({args.clients} clients, {ceiling['n']} requests{', errors ' + str(ceiling['errors']) if ceiling['errors'] else ''})"
            )
            if args.ack_seconds > 0:
                for email_worker in (False, True):
                    ack = ack_latency(port, token, server_env, args.ack_seconds, email_worker)
                    workers = "1 worker + 1 e-mail-only worker" if email_worker else "1 worker"
                    print(
                        f"speed to lead       ack accepted by SMTP ({workers}), "
                        f"{ack['rate']:.0f} leads/s posted: p50 {ack['p50']:.2f} s  "
                        f"p99 {ack['p99']:.2f} s  ({ack['delivered']}/{ack['sent']} delivered; "
                        "target p99 ≤ 5 s at 20 leads/s)"
                    )
            one = {}
            for path, kind in ONE_INSERT.items():
                one[path] = load(port, "POST", path, token, args.clients, args.seconds, known, "i")
                print(
                    f"one ORM insert      POST {path:<23} {one[path]['rate']:8.0f} req/s   "
                    f"p50 {one[path]['p50']:6.1f} ms  p99 {one[path]['p99']:6.1f} ms   "
                    f"({kind}, {one[path]['n']} requests"
                    f"{', errors ' + str(one[path]['errors']) if one[path]['errors'] else ''})"
                )
            ratios = ", ".join(
                f"{one[path]['rate'] / ceiling['rate'] if ceiling['rate'] else float('nan'):.3f}"
                f" ({kind})"
                for path, kind in ONE_INSERT.items()
            )
            print(f"ratio one insert / ceiling = {ratios} (DESIGN §7 claims 0.25–0.50)")
            capture = load(
                port,
                "POST",
                "/api/v1/leads",
                token,
                args.clients,
                args.seconds,
                known,
                uuid.uuid4().hex[:6],
            )
            print(
                f"lead capture        POST /api/v1/leads {capture['rate']:8.0f} leads/s "
                f"p50 {capture['p50']:6.1f} ms  p99 {capture['p99']:6.1f} ms   "
                f"({capture['n']} leads{', errors ' + str(capture['errors']) if capture['errors'] else ''})"
            )
            ratio = capture["rate"] / ceiling["rate"] if ceiling["rate"] else float("nan")
            print(
                f"ratio capture / ceiling = {ratio:.3f} (target ≥ 0.25); "
                f"capture p99 {capture['p99']:.0f} ms (target < 100 ms)"
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--ack-seconds", type=float, default=10)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default=None)
    parser.add_argument("--keep-throttle", action="store_true")
    parser.add_argument("--only", help=argparse.SUPPRESS)  # internal: one database per process
    args = parser.parse_args()
    if args.only:
        run_one(args.only, args)
        return
    database_url = os.environ.get("DATABASE_URL", "")
    kinds = {
        "sqlite": ["sqlite"],
        "postgres": ["postgres"],
        "both": ["sqlite", "postgres"],
        None: ["sqlite", "postgres"] if database_url.startswith("postgres") else ["sqlite"],
    }[args.db]
    env = dict(os.environ)
    if database_url.startswith("postgres") and "BENCH_PG_ADMIN_URL" not in env:
        env["BENCH_PG_ADMIN_URL"] = database_url.rsplit("/", 1)[0] + "/postgres"
    for kind in kinds:
        # Django is set up once per process, so each database gets its own.
        subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--only", kind], env=env, check=True
        )


if __name__ == "__main__":
    main()
