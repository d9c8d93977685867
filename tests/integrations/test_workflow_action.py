"""The "webhook.call" workflow action, through the automation registry's own contract."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.integrations import actions
from throughline.integrations.models import WebhookDelivery

registry = pytest.importorskip("throughline.automation.registry")


def context(actor, key="wf:1:v1:evt:7:step-2"):
    return registry.ActionContext(
        actor=actor,
        subject_type="crm.contact",
        subject=None,
        event=None,
        run=None,
        step_id="step-2",
        idempotency_key=key,
        now=timezone.now(),
    )


def test_the_action_is_registered():
    action = registry.action("webhook.call")
    assert action is not None and action.fn is actions.run_action
    assert action.param("endpoint").required


def test_the_action_queues_one_signed_delivery_per_step(
    make_receiver, endpoint_for, actor, run_jobs
):
    receiver = make_receiver()
    endpoint = endpoint_for(receiver, name="Zapier")
    action = registry.action("webhook.call")
    with transaction.atomic():  # the engine runs it inside the step's transaction
        output = action.fn(context(actor), {"endpoint": "zapier", "name": "lead.hot"})
        again = action.fn(context(actor), {"endpoint": str(endpoint.pk), "name": "lead.hot"})
    assert output["delivery_id"] == again["delivery_id"]  # a retried step delivers once
    run_jobs()
    [request] = receiver.requests
    assert request.headers["Throughline-Event"] == "lead.hot"
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_unknown_or_disabled_endpoints_are_refused(endpoint_for, actor, make_receiver):
    action = registry.action("webhook.call")
    assert action.check({"endpoint": "nope"}, "crm.contact") == [
        "endpoint: no webhook endpoint 'nope'"
    ]
    with pytest.raises(ValidationError):
        action.fn(context(actor), {"endpoint": "nope"})
    endpoint = endpoint_for(make_receiver(), name="Off")
    from throughline.integrations import services

    services.disable_endpoint(actor, endpoint)
    with pytest.raises(ValidationError, match="disabled"):
        action.fn(context(actor), {"endpoint": "Off"})
