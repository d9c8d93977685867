"""The e-mails qualification sends: a polite decline, and the discovery-call invitation."""

from django.db import migrations

TEMPLATES = {
    "lead-decline": {
        "name": "Lead: polite decline",
        "subject": "Your inquiry to {{ organization }}",
        "body_text": """Hi {{ contact.first_name|default:"there" }},

Thank you for thinking of {{ organization }}. We have looked at your inquiry carefully and, unfortunately, we are not the right fit for it at the moment.

We wish you every success with your project.

Best regards,
{{ organization }}
""",
        "body_html": """<p>Hi {{ contact.first_name|default:"there" }},</p>
<p>Thank you for thinking of {{ organization }}. We have looked at your inquiry carefully and, unfortunately, we are not the right fit for it at the moment.</p>
<p>We wish you every success with your project.</p>
<p>Best regards,<br>{{ organization }}</p>
""",
    },
    "lead-discovery": {
        "name": "Lead: book a discovery call",
        "subject": "Let's talk about your project — {{ organization }}",
        "body_text": """Hi {{ contact.first_name|default:"there" }},

Thank you for your inquiry. The next step is a short discovery call with {{ owner_name }}.
{% if booking_url %}
Pick a time that suits you here: {{ booking_url }}
{% else %}
Simply reply to this e-mail with a few times that suit you.
{% endif %}
Best regards,
{{ owner_name }}
{{ organization }}
""",
        "body_html": """<p>Hi {{ contact.first_name|default:"there" }},</p>
<p>Thank you for your inquiry. The next step is a short discovery call with <strong>{{ owner_name }}</strong>.</p>
{% if booking_url %}<p><a href="{{ booking_url }}">Pick a time that suits you</a>.</p>{% else %}<p>Simply reply to this e-mail with a few times that suit you.</p>{% endif %}
<p>Best regards,<br>{{ owner_name }}<br>{{ organization }}</p>
""",
    },
}


def forwards(apps, schema_editor):
    import uuid

    EmailTemplate = apps.get_model("messaging", "EmailTemplate")
    for key, fields in TEMPLATES.items():
        EmailTemplate.objects.get_or_create(
            key=key, defaults={"id": uuid.uuid4(), "kind": "transactional", **fields}
        )


def backwards(apps, schema_editor):
    EmailTemplate = apps.get_model("messaging", "EmailTemplate")
    for key, fields in TEMPLATES.items():
        EmailTemplate.objects.filter(key=key, body_text=fields["body_text"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("intake_scoring", "0001_initial"),
        ("messaging", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
