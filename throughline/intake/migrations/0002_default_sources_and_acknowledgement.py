"""Default lead sources, the acknowledgement e-mail template, blocking keys of existing contacts."""

from django.db import migrations

SOURCES = [
    ("website", "Website"),
    ("api", "API"),
    ("manual", "Manual entry"),
    ("referral", "Referral"),
    ("phone", "Phone"),
    ("email", "E-mail"),
    ("import", "Import"),
    ("webhook", "Webhook"),
]

ACK_KEY = "lead-acknowledgement"
ACK_SUBJECT = "Thanks for getting in touch with {{ organization }}"
ACK_TEXT = """Hi {{ contact.first_name|default:"there" }},

Thank you for contacting {{ organization }}. Your message has reached us, and {{ owner_name }} will get back to you {{ next_step }}.
{% if lead.message %}
For reference, you wrote:

{{ lead.message|truncatechars:600 }}
{% endif %}
If anything is urgent in the meantime, simply reply to this e-mail.

Best regards,
{{ owner_name }}
{{ organization }}
"""
ACK_HTML = """<p>Hi {{ contact.first_name|default:"there" }},</p>
<p>Thank you for contacting {{ organization }}. Your message has reached us, and <strong>{{ owner_name }}</strong> will get back to you {{ next_step }}.</p>
{% if lead.message %}<p>For reference, you wrote:</p>
<blockquote>{{ lead.message|truncatechars:600|linebreaksbr }}</blockquote>{% endif %}
<p>If anything is urgent in the meantime, simply reply to this e-mail.</p>
<p>Best regards,<br>{{ owner_name }}<br>{{ organization }}</p>
"""


def forwards(apps, schema_editor):
    import uuid

    LeadSource = apps.get_model("intake", "LeadSource")
    EmailTemplate = apps.get_model("messaging", "EmailTemplate")
    for slug, name in SOURCES:
        LeadSource.objects.get_or_create(slug=slug, defaults={"name": name})
    EmailTemplate.objects.get_or_create(
        key=ACK_KEY,
        defaults={
            "id": uuid.uuid4(),
            "name": "Lead acknowledgement",
            "kind": "transactional",
            "subject": ACK_SUBJECT,
            "body_text": ACK_TEXT,
            "body_html": ACK_HTML,
        },
    )
    _index_existing(apps)


def _index_existing(apps):
    # Contacts and companies that existed before intake was installed get their keys now;
    # later ones get them when captured or through the contact/company events.
    from throughline.intake import matching

    Contact = apps.get_model("crm", "Contact")
    Company = apps.get_model("crm", "Company")
    ContactKey = apps.get_model("intake", "ContactKey")
    CompanyKey = apps.get_model("intake", "CompanyKey")

    def contact_keys(c):
        company = c.company.name if c.company_id else ""
        return matching.contact_keys(c.first_name, c.last_name, c.email_normalized, company)

    for queryset, key_model, owner, keys_of in (
        (Contact.objects.select_related("company"), ContactKey, "contact_id", contact_keys),
        (
            Company.objects.all(),
            CompanyKey,
            "company_id",
            lambda c: matching.company_keys(c.name, c.domain),
        ),
    ):
        batch = []
        for record in queryset.order_by("pk").iterator(chunk_size=2000):
            batch += [key_model(**{owner: record.pk, "key": key}) for key in keys_of(record)]
            if len(batch) >= 5000:
                key_model.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
        key_model.objects.bulk_create(batch, ignore_conflicts=True)


def backwards(apps, schema_editor):
    EmailTemplate = apps.get_model("messaging", "EmailTemplate")
    EmailTemplate.objects.filter(key=ACK_KEY, subject=ACK_SUBJECT, body_text=ACK_TEXT).delete()
    apps.get_model("intake", "ContactKey").objects.all().delete()
    apps.get_model("intake", "CompanyKey").objects.all().delete()
    # Sources stay only if leads use them; unused defaults go.
    apps.get_model("intake", "LeadSource").objects.filter(
        slug__in=[slug for slug, _ in SOURCES], leads__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0001_initial"),
        ("messaging", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
