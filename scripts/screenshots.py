"""Take the README's screenshots: start the app on demo data, log in, capture key pages.

Usage: .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
Uses Debian's Chromium through Playwright (no browser download).
"""

from __future__ import annotations

import argparse
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
]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.goto(base + "/login/")
                page.fill("input[name=username]", email)
                page.fill("input[name=password]", password)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                for name, path in PAGES:
                    response = page.goto(base + path)
                    if response is None or response.status != 200:
                        print(f"skip {name}: {path} answered {response and response.status}")
                        continue
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(out / f"{name}.png"), full_page=False)
                    print(f"saved {out / (name + '.png')}")
                # The first contact's page, with its timeline.
                page.goto(base + "/crm/contacts/")
                link = page.locator("table a[href*='/crm/contacts/']").first
                if link.count():
                    link.click()
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(out / "contact.png"))
                    print(f"saved {out / 'contact.png'}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
