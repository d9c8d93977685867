"""Fixtures for the intake channels: a form, webhook sources, a mailbox, a real Dovecot."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core.cache import cache

from tests.browser.conftest import page  # noqa: F401 - Playwright fixture
from tests.conftest import free_port
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.intake.channels import builder, webhooks
from throughline.intake.channels.models import InboundMailbox, WebhookSource
from throughline.intake.channels.views.sources import new_hook_token


@pytest.fixture(autouse=True)
def _fresh_limits():
    # Rate-limit counters live in the (process-local) cache: every test starts from zero.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def contact_form(actor, org):
    """A live form with the starter fields plus a consent checkbox, no minimum fill time."""
    intake_form = builder.create_form(
        actor, slug="contact-us", name="Contact us", title="Get in touch", min_fill_seconds=0
    )
    builder.save_field(
        actor,
        intake_form,
        None,
        key="newsletter",
        kind="consent",
        label="Send me the monthly newsletter. Unsubscribe any time.",
        consent_purpose="marketing",
    )
    return intake_form


@pytest.fixture
def generic_source(actor, org) -> WebhookSource:
    return webhooks.create_source(actor, slug="site-backend", name="Site backend", kind="generic")


@pytest.fixture
def facebook_source(actor, org) -> WebhookSource:
    return webhooks.create_source(
        actor, slug="facebook", name="Facebook Lead Ads", kind="facebook", verify_token="let-me-in"
    )


@pytest.fixture
def calls_source(actor, org) -> WebhookSource:
    return webhooks.create_source(actor, slug="phonely", name="Phonely", kind="calls")


@pytest.fixture
def mailbox(org, media):
    box = InboundMailbox.objects.create(address="leads@northwind.example", name="Leads")
    box.raw_token = new_hook_token(Actor.system(Channel.SYSTEM), box)
    return box


# --- A real IMAP server: Dovecot on loopback --------------------------------------------------

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def _wait_for_greeting(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Dovecot did not answer on port {port}")


@pytest.fixture
def dovecot(tmp_path):
    """Our own Dovecot: config, passwd-file and Maildir under ``tmp_path``, a free port.

    Dovecot's runtime sockets need a short path (unix sockets are limited to ~100 bytes), so
    its ``base_dir`` is a short temporary directory. As root, mail processes may not run as
    root: they run as the ``dovecot`` user, chrooted into the mail directory so they need not
    traverse the 0700 test directories above it.
    """
    if not Path(DOVECOT).exists():
        pytest.skip("dovecot is not installed (scripts/system-deps --test)")
    root = tmp_path / "dovecot"
    mail = root / "mail"
    (mail / "leads").mkdir(parents=True)
    (root / "state").mkdir()
    base_dir = Path(tempfile.mkdtemp(prefix="tl-dv-"))
    base_dir.chmod(0o755)
    user, password = "leads", "imap-test-password"
    (root / "passwd").write_text(f"{user}:{{PLAIN}}{password}::::::\n")
    port = free_port()
    if os.geteuid() == 0:
        mail_user = pwd.getpwnam("dovecot")
        shutil.chown(mail / "leads", mail_user.pw_uid, mail_user.pw_gid)
        privileges = (
            "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
            f"first_valid_uid = 1\nvalid_chroot_dirs = {mail}\n"
            "service auth {\n  user = root\n}\n"
        )
        userdb_fields = f"uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={mail}/./%u"
    else:
        me = pwd.getpwuid(os.getuid())
        privileges = (
            f"default_internal_user = {me.pw_name}\ndefault_login_user = {me.pw_name}\n"
            f"default_internal_group = {me.pw_name}\nfirst_valid_uid = {me.pw_uid}\n"
        )
        userdb_fields = f"uid={me.pw_uid} gid={me.pw_gid} home={mail}/%u"
    config = root / "dovecot.conf"
    config.write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {base_dir}
state_dir = {root / "state"}
log_path = {root / "dovecot.log"}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
{privileges}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root / "passwd"}
  default_fields = {userdb_fields}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_greeting(port)
        yield {"host": "127.0.0.1", "port": port, "user": user, "password": password, "root": root}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(base_dir, ignore_errors=True)
