"""The e-mail template of the weekly review digest (editable by staff afterwards)."""

from django.db import migrations

KEY = "weekly-review-digest"
SUBJECT = "Weekly review, week of {{ week }}: {{ headline }}"
TEXT = """Good morning {{ name }},

Here is this week's momentum review for {{ organization }}.

{{ summary_text }}

Tick the items off as you go: {{ review_url }}
"""
HTML = """<p>Good morning {{ name }},</p>
<p>Here is this week's momentum review for {{ organization }}.</p>
{{ summary_html }}
<p><a href="{{ review_url }}">Open the review and tick the items off</a></p>
"""


def forwards(apps, schema_editor):
    import uuid

    EmailTemplate = apps.get_model("messaging", "EmailTemplate")
    EmailTemplate.objects.get_or_create(
        key=KEY,
        defaults={
            "id": uuid.uuid4(),
            "name": "Weekly review digest",
            "kind": "transactional",
            "subject": SUBJECT,
            "body_text": TEXT,
            "body_html": HTML,
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_weekly_review"),
        ("messaging", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
