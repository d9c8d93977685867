"""The staff pages: health, endpoints, delivery log, replay — for owners and admins only."""

import pytest

from throughline.integrations.models import WebhookDelivery, WebhookEndpoint


@pytest.fixture
def delivered(make_receiver, endpoint_for, emit, run_jobs):
    receiver = make_receiver((500, {}, b"first try fails"), (200, {}, b"ok"))
    endpoint = endpoint_for(receiver)
    emit()
    run_jobs()
    return endpoint


@pytest.mark.parametrize("role", ["sales", "delivery", "billing", "viewer"])
def test_other_roles_are_refused(client_as, role, delivered):
    client = client_as(role)
    delivery = WebhookDelivery.objects.get()
    for url in (
        "/integrations/",
        "/integrations/webhooks/",
        f"/integrations/webhooks/{delivered.pk}/",
        f"/integrations/deliveries/{delivery.pk}/",
    ):
        assert client.get(url).status_code == 403
    assert client.post(f"/integrations/deliveries/{delivery.pk}/replay/").status_code == 403
    assert "/integrations/" not in client.get("/").content.decode()


def test_creating_an_endpoint_shows_its_secret_once(client_as, make_receiver):
    client = client_as("admin")
    receiver = make_receiver()
    response = client.post(
        "/integrations/webhooks/new/",
        {"name": "Books", "url": receiver.url, "event_types": ["deal.won", "invoice.paid"]},
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    page = response.content.decode()
    assert endpoint.secret in page and response["Cache-Control"] == "no-store"
    assert endpoint.owner.email == "adam@example.com"
    # afterwards the secret is only ever shown masked
    detail = client.get(f"/integrations/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret not in detail and endpoint.secret[-4:] in detail


def test_the_form_explains_what_is_wrong(client_as, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = client_as("owner").post(
        "/integrations/webhooks/new/",
        {"name": "Meta", "url": "http://169.254.169.254/", "event_types": ["*"]},
    )
    assert response.status_code == 200
    assert "link-local" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_health_page_lists_every_integration_and_warns(client_as, delivered, settings):
    from throughline.integrations import health

    health.record_integration_call(
        "payment_gateway", "stripe", False, 30, "HTTP 503", label="Stripe"
    )
    health.record_integration_call(
        "payment_gateway", "stripe", False, 30, "HTTP 503", label="Stripe"
    )
    health.record_integration_call(
        "payment_gateway", "stripe", False, 30, "HTTP 503", label="Stripe"
    )
    health.sweep()
    page = client_as("owner").get("/integrations/").content.decode()
    assert "Stripe" in page and "Books" in page and "Outgoing e-mail" in page
    assert "need attention" in page and "The last 3 calls failed" in page
    assert "Integrations" in client_as("owner").get("/").content.decode()  # in the navigation


def test_delivery_log_and_replay_from_the_page(client_as, delivered, time_machine, run_jobs):
    client = client_as("owner")
    delivery = WebhookDelivery.objects.get()
    listing = client.get("/integrations/webhooks/").content.decode()
    assert "Books" in listing and "<code>deal.won</code>" in listing and "New endpoint" in listing
    log = client.get(f"/integrations/webhooks/{delivered.pk}/?status=pending").content.decode()
    assert "deal.won" in log and f"/integrations/deliveries/{delivery.pk}/" in log
    page = client.get(f"/integrations/deliveries/{delivery.pk}/").content.decode()
    assert "first try fails" in page and "Throughline-Signature" in page
    assert "Replay is possible once retrying has finished" in page

    time_machine.move_to(delivery.next_attempt_at, tick=False)
    run_jobs()
    response = client.post(f"/integrations/deliveries/{delivery.pk}/replay/")
    assert response.status_code == 302
    run_jobs()
    delivery.refresh_from_db()
    assert delivery.attempt_count == 3 and delivery.attempts.filter(is_replay=True).count() == 1


def test_edit_rotate_disable_enable_delete(client_as, delivered):
    client = client_as("owner")
    base = f"/integrations/webhooks/{delivered.pk}"
    response = client.post(
        f"{base}/edit/", {"name": "Ledger", "url": delivered.url, "event_types": ["*"]}
    )
    assert response.status_code == 302
    delivered.refresh_from_db()
    assert delivered.name == "Ledger" and delivered.event_types == ["*"]

    old = delivered.secret
    rotated = client.post(f"{base}/rotate-secret/")
    delivered.refresh_from_db()
    assert delivered.secret != old and delivered.secret in rotated.content.decode()
    assert delivered.previous_secret == old

    client.post(f"{base}/disable/")
    delivered.refresh_from_db()
    assert not delivered.is_active and not delivered.disabled_automatically
    assert WebhookDelivery.objects.get().status == "cancelled"
    client.post(f"{base}/enable/", {"resend_stopped": "on"})
    delivered.refresh_from_db()
    assert delivered.is_active and WebhookDelivery.objects.get().status == "pending"

    assert client.get(f"{base}/delete/").status_code == 200
    assert client.post(f"{base}/delete/").status_code == 302
    assert not WebhookEndpoint.objects.exists()
