"""The client e-mails of delivery: welcome (portal link + onboarding questionnaire), feedback."""

from django.db import migrations

WELCOME_KEY = "delivery-welcome"
WELCOME_SUBJECT = "Welcome aboard: {{ project.name }}"
WELCOME_TEXT = """Hi {{ contact.first_name|default:"there" }},

Thank you for choosing {{ organization }}. Your project "{{ project.name }}" is set up, and {{ owner_name }} will lead it.

Everything about it is in one place, your client portal: milestones and their status, shared files, proposals, contracts and invoices.
{{ portal_link }}

To get started, please answer a few questions (access, assets, stakeholders):
{{ questionnaire_link }}

The link is personal: please do not forward it. When it expires, you can ask for a new one on the portal page.

Best regards,
{{ owner_name }}
{{ organization }}
"""

FEEDBACK_KEY = "delivery-feedback"
FEEDBACK_SUBJECT = "How did we do? {{ project.name }}"
FEEDBACK_TEXT = """Hi {{ contact.first_name|default:"there" }},

"{{ project.name }}" is complete. Thank you for working with {{ organization }}.

Two short questions would help us a lot:
- How likely are you to recommend us to a friend or colleague (0-10)?
- Would you write a few words about working with us (a testimonial)? You decide whether we may publish it.

Both take a minute, here:
{{ feedback_link }}

The closeout summary of the project is in your portal:
{{ portal_link }}

Best regards,
{{ owner_name }}
{{ organization }}
"""

TEMPLATES = [
    (WELCOME_KEY, "Project welcome (portal link)", WELCOME_SUBJECT, WELCOME_TEXT),
    (FEEDBACK_KEY, "Project feedback (testimonial + NPS)", FEEDBACK_SUBJECT, FEEDBACK_TEXT),
]


def forwards(apps, schema_editor):
    import uuid

    EmailTemplate = apps.get_model("messaging", "EmailTemplate")
    for key, name, subject, text in TEMPLATES:
        EmailTemplate.objects.get_or_create(
            key=key,
            defaults={
                "id": uuid.uuid4(),
                "name": name,
                "kind": "transactional",
                "subject": subject,
                "body_text": text,
                "body_html": "",
            },
        )


def backwards(apps, schema_editor):
    EmailTemplate = apps.get_model("messaging", "EmailTemplate")
    for key, _, subject, text in TEMPLATES:
        EmailTemplate.objects.filter(key=key, subject=subject, body_text=text).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0001_initial"),
        ("messaging", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
