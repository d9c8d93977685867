"""Take the README's screenshots: start the app on demo data, log in, capture key pages.

Usage: .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
Uses Debian's Chromium through Playwright (no browser download).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
PAGES = [
    ("contacts", "/crm/contacts/"),
    ("leads", "/leads/"),
    ("deals", "/sales/deals/"),
    ("automation", "/automation/"),
    ("invoices", "/billing/invoices/"),
    ("reports", "/reports/"),
    ("lead-scoring", "/leads/scoring/"),
]
# Pages of one demo record each, found by ``demo_records`` ({project}, {statement} …).
RECORD_PAGES = [
    ("project", "/delivery/projects/{project}/"),
    ("statement", "/billing/statements/{statement}/"),
]
STAFF_VIEWPORT = {"width": 1280, "height": 800}
PHONE_VIEWPORT = {"width": 390, "height": 844}
# Run inside the app (``throughline shell``): the demo records to show, and a client's portal
# link issued through the portal's own service, as the "send me a link" e-mail would carry.
RECORDS_CODE = """
import json
from throughline.billing.models import StatementImport
from throughline.delivery.models import Project
from throughline.intake.booking.models import Availability
from throughline.portal.links import issue_link
project = Project.objects.filter(milestones__isnull=False).order_by("created_at").first()
statement = StatementImport.objects.order_by("-created_at").first()
booking = Availability.objects.order_by("slug").first()
print(json.dumps({
    "project": str(project.pk) if project else "",
    "portal_token": issue_link(project.contact) if project else "",
    "statement": str(statement.pk) if statement else "",
    "booking": booking.slug if booking else "",
}))
"""
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_records(env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "throughline", "shell", "-v", "0", "-c", RECORDS_CODE],
        cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def capture(page, base: str, name: str, path: str, out: Path) -> None:
    response = page.goto(base + path)
    if response is None or response.status != 200:
        print(f"skip {name}: {path} answered {response and response.status}")
        return
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"{name}.png"), full_page=False)
    print(f"saved {out / (name + '.png')}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "THROUGHLINE_VAR_DIR": var, "DATABASE_URL": f"sqlite:///{var}/demo.sqlite3"}
        server = subprocess.Popen(
            [sys.executable, "-m", "throughline", "run", "--port", str(port), "--demo"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        lines: list[str] = []
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 300
        while time.time() < deadline:
            line = server.stdout.readline()
            lines.append(line)
            if "Ctrl+C stops it" in line:
                break
        text = "".join(lines)
        email = re.search(r"e-mail:\s+(\S+)", text).group(1)
        password = re.search(r"password:\s+(\S+)", text).group(1)
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.2)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=STAFF_VIEWPORT)
                page.goto(base + "/login/")
                page.fill("input[name=username]", email)
                page.fill("input[name=password]", password)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                for name, path in PAGES:
                    capture(page, base, name, path, out)
                records = demo_records(env)
                for name, path in RECORD_PAGES:
                    if all(records.get(key) for key in re.findall(r"{(\w+)}", path)):
                        capture(page, base, name, path.format(**records), out)
                # The first contact's page, with its timeline.
                page.goto(base + "/crm/contacts/")
                link = page.locator("table a[href*='/crm/contacts/']").first
                if link.count():
                    link.click()
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(out / "contact.png"))
                    print(f"saved {out / 'contact.png'}")
                # What the public sees, signed out: a booking page, and the client portal on a
                # phone, opened from the client's magic link.
                visitor = browser.new_context(viewport=STAFF_VIEWPORT).new_page()
                if records.get("booking"):
                    capture(visitor, base, "booking", f"/b/{records['booking']}", out)
                phone = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
                if records.get("portal_token"):
                    capture(phone.new_page(), base, "portal", f"/c/{records['portal_token']}/", out)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
