"""The outbound URL guard: private, loopback, link-local … addresses are refused unless allowed."""

import ipaddress
import socket

import pytest
from django.core.exceptions import ValidationError

from throughline.integrations import services, ssrf
from throughline.integrations.models import WebhookDelivery

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/",
    "http://10.0.0.5/hook",
    "http://172.16.0.1/",
    "http://192.168.1.10/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://100.64.0.1/",  # shared address space (CGNAT)
    "http://0.0.0.0:8000/",
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://[::ffff:10.0.0.1]/",
    "http://[fe80::1]/",  # link-local
    "http://[fc00::1]/",  # unique local
    "http://[ff02::1]/",  # multicast
    "http://[::]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://2130706433/",  # 127.0.0.1 written as a number
    "http://localhost:8000/hook",  # a name resolving to loopback
]


@pytest.fixture
def guarded(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_special_addresses_are_refused(url, guarded):
    with pytest.raises(ssrf.OutboundURLRefused):
        ssrf.resolve(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://x/",
        "javascript:alert(1)",
        "http:///nohost",
        "http://exa mple.com/",
        "http://example.com:0/",
        "",
    ],
)
def test_only_well_formed_http_urls(url):
    with pytest.raises(ssrf.OutboundURLRefused):
        ssrf.parse(url)


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address, guarded):
    assert ssrf.forbidden_reason(ipaddress.ip_address(address)) is None
    host = f"[{address}]" if ":" in address else address
    target = ssrf.resolve(f"https://{host}/hook?x=1")  # an IP literal: no DNS needed
    assert target.address == address and target.path == "/hook?x=1" and target.port == 443


def test_reasons_name_the_problem():
    assert ssrf.forbidden_reason(ipaddress.ip_address("::ffff:127.0.0.1")).startswith("loopback")
    assert ssrf.forbidden_reason(ipaddress.ip_address("169.254.169.254")) == "link-local"
    assert ssrf.forbidden_reason(ipaddress.ip_address("10.1.1.1")) == "private"


def test_a_name_with_any_private_address_is_refused(monkeypatch, guarded):
    # DNS is not available here: the resolver is replaced for one made-up name only.
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "rebind.example":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(ssrf.OutboundURLRefused, match="10.0.0.7"):
        ssrf.resolve("https://rebind.example/hook")


def test_the_setting_allows_private_targets_but_not_other_schemes(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    assert ssrf.resolve("http://127.0.0.1:9/x").address == "127.0.0.1"
    with pytest.raises(ssrf.OutboundURLRefused):
        ssrf.resolve("file:///etc/passwd")


def test_endpoints_with_private_urls_cannot_be_created(actor, guarded):
    for url in ("http://169.254.169.254/", "http://[::1]:8000/", "http://localhost/"):
        with pytest.raises(ValidationError) as caught:
            services.create_endpoint(actor, name="x", url=url, event_types=["deal.won"])
        assert "url" in caught.value.message_dict


def test_a_delivery_to_a_private_address_is_refused_without_a_request(
    make_receiver, actor, emit, run_jobs, settings
):
    receiver = make_receiver()
    # created while allowed (or DNS changed since): checked again before every request
    services.create_endpoint(actor, name="x", url=receiver.url, event_types=["deal.won"])
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    emit()
    run_jobs()

    delivery = WebhookDelivery.objects.get()
    assert receiver.requests == []
    assert delivery.status == "failed"  # retrying cannot help
    assert "loopback" in delivery.last_error


def test_urls_are_logged_without_credentials_or_query():
    assert (
        ssrf.sanitize_url("https://user:pass@example.com:8443/path/x?token=abc#frag")
        == "https://example.com:8443/path/x?…"
    )
    assert ssrf.sanitize_url("http://[::1]:80/a") == "http://[::1]:80/a"
    assert ssrf.sanitize_url("http://exa[mple") == "<malformed URL>"
