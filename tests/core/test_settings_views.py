"""The organization settings page and custom field definitions."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from throughline.core.forms import OrganizationForm
from throughline.core.models import AuditEntry, Organization
from throughline.core.roles import Role
from throughline.crm.models import CustomFieldDefinition


def form_data(org: Organization, **overrides) -> dict:
    """What the browser posts for the page as it is, with some fields changed."""
    data = {}
    form = OrganizationForm(instance=org)
    for name in form.fields:
        value = form[name].value()
        if name == "logo":
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else value
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def owner_client(client, users):
    client.force_login(users[Role.OWNER])
    return client


def test_everyone_with_settings_view_reads_but_only_managers_see_a_form(client, users, org):
    client.force_login(users[Role.VIEWER])
    response = client.get(reverse("core:settings"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Northwind Consulting Ltd" in html
    assert "Save settings" not in html and "disabled" in html
    client.force_login(users[Role.OWNER])
    assert "Save settings" in client.get(reverse("core:settings")).content.decode()


def test_saving_changes_the_organization_and_audits_each_field(owner_client, org):
    data = form_data(
        org,
        legal_name="Northwind Consulting Group Ltd",
        base_currency="eur",
        time_zone="Europe/London",
        vat_id="GB123456789",
        iban="GB82 WEST 1234 5698 7654 32",
        brand_color="#AA3311",
        sales_own_records_only="on",
        hours_6_start="10:00",
        hours_6_end="14:00",
        hours_5_start="",
        hours_5_end="",
    )
    response = owner_client.post(reverse("core:settings"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    org = Organization.current()
    assert org.legal_name == "Northwind Consulting Group Ltd"
    assert org.base_currency == "EUR"
    assert org.iban == "GB82WEST12345698765432"
    assert org.brand_color == "#aa3311"
    assert org.sales_own_records_only is True
    assert org.working_hours["6"] == ["10:00", "14:00"]
    assert "5" not in org.working_hours  # Friday closed now
    assert org.working_hours["1"] == ["09:00", "17:00"]
    entry = AuditEntry.objects.get(action="organization.updated")
    assert entry.actor.role == Role.OWNER
    assert entry.changes["base_currency"] == ["GBP", "EUR"]
    assert entry.changes["legal_name"] == [
        "Northwind Consulting Ltd",
        "Northwind Consulting Group Ltd",
    ]
    assert "5" in entry.changes["working_hours"][0] and "5" not in entry.changes["working_hours"][1]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("base_currency", "XYZ", "not an ISO 4217 currency code"),
        ("time_zone", "Mars/Olympus_Mons", "not a known time zone"),
        ("default_phone_region", "ZZ", "not a phone region"),
        ("brand_color", "red;}", "#rrggbb"),
        ("iban", "GB00 WEST 1234 5698 7654 32", "check digits"),
        ("hours_2_end", "08:00", "end must be after the start"),
    ],
)
def test_invalid_value_shows_the_field_error_and_changes_nothing(
    owner_client, org, field, value, message
):
    before = Organization.objects.values().get(pk=org.pk)
    data = form_data(org, legal_name="Changed Ltd", **{field: value})
    response = owner_client.post(reverse("core:settings"), data)
    assert response.status_code == 400
    form = response.context["form"]
    assert message in " ".join(form.errors.get(field, [])), form.errors
    assert Organization.objects.values().get(pk=org.pk) == before
    assert not AuditEntry.objects.filter(action="organization.updated").exists()


def test_viewer_cannot_post_settings(client, users, org):
    client.force_login(users[Role.SALES])
    response = client.post(reverse("core:settings"), form_data(org, legal_name="Hijacked"))
    assert response.status_code == 403
    assert Organization.current().legal_name == "Northwind Consulting Ltd"
    denied = AuditEntry.objects.get(action="access.denied")
    assert denied.changes == {"permission": [None, "settings.manage"]}


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "#123456").save(buffer, "PNG")
    return buffer.getvalue()


def test_logo_upload_is_saved_and_served(owner_client, org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    data = form_data(org)
    data["logo"] = SimpleUploadedFile("brand.png", _png(), content_type="image/png")
    response = owner_client.post(reverse("core:settings"), data)
    assert response.status_code == 302
    org = Organization.current()
    assert org.logo.name.startswith("org/brand")
    logo = owner_client.get(reverse("core:organization_logo"))
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert b"".join(logo.streaming_content) == _png()
    assert AuditEntry.objects.get(action="organization.updated").changes["logo"][0] == ""


def test_a_non_image_logo_is_refused(owner_client, org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    data = form_data(org)
    data["logo"] = SimpleUploadedFile(
        "evil.svg", b"<svg onload='alert(1)'/>", content_type="image/svg+xml"
    )
    response = owner_client.post(reverse("core:settings"), data)
    assert response.status_code == 400
    assert response.context["form"].errors["logo"]
    assert not Organization.current().logo


# --- custom fields ---------------------------------------------------------------------------
def test_custom_field_create_edit_delete_is_audited(owner_client):
    response = owner_client.post(
        reverse("core:custom_field_create"),
        {
            "entity": "contact",
            "key": "Budget_Band",
            "label": "Budget band",
            "kind": "choice",
            "choices": "small\nmedium\n\nlarge\nsmall",
            "position": "2",
        },
    )
    assert response.status_code == 302
    definition = CustomFieldDefinition.objects.get()
    assert (definition.key, definition.choices) == ("budget_band", ["small", "medium", "large"])
    created = AuditEntry.objects.get(action="custom_field.created")
    assert created.changes["label"] == [None, "Budget band"]

    # the key stays as it is: the form shows it disabled, and a forged value is ignored
    response = owner_client.post(
        reverse("core:custom_field_edit", args=[definition.pk]),
        {
            "key": "renamed",
            "label": "Budget",
            "kind": "choice",
            "choices": "small\nlarge",
            "required": "on",
        },
    )
    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.key, definition.label, definition.required) == (
        "budget_band",
        "Budget",
        True,
    )
    updated = AuditEntry.objects.get(action="custom_field.updated")
    assert updated.changes["choices"] == [["small", "medium", "large"], ["small", "large"]]

    response = owner_client.post(reverse("core:custom_field_delete", args=[definition.pk]))
    assert response.status_code == 302
    assert not CustomFieldDefinition.objects.exists()
    assert AuditEntry.objects.get(action="custom_field.deleted").object_id == str(definition.pk)


def test_custom_field_errors_are_shown_per_field(owner_client):
    owner_client.post(
        reverse("core:custom_field_create"),
        {"entity": "contact", "key": "size", "label": "Size", "kind": "text"},
    )
    response = owner_client.post(
        reverse("core:custom_field_create"),
        {"entity": "contact", "key": "size", "label": "Other", "kind": "choice", "choices": ""},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "already has a field" in errors["key"][0]
    assert "at least one choice" in errors["choices"][0]
    assert CustomFieldDefinition.objects.count() == 1
    # the same key on another record type is fine
    response = owner_client.post(
        reverse("core:custom_field_create"),
        {"entity": "company", "key": "size", "label": "Size", "kind": "number"},
    )
    assert response.status_code == 302


def test_custom_fields_are_read_only_without_settings_manage(client, users):
    client.force_login(users[Role.SALES])
    page = client.get(reverse("core:custom_field_list"))
    assert page.status_code == 200 and "Add a custom field" not in page.content.decode()
    response = client.post(
        reverse("core:custom_field_create"),
        {"entity": "contact", "key": "x", "label": "X", "kind": "text"},
    )
    assert response.status_code == 403
    assert not CustomFieldDefinition.objects.exists()
