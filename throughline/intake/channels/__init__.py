"""Intake channels: every way an inquiry reaches us, each ending in ``capture_lead``.

Hosted and embeddable forms (``forms.py``), signed source webhooks (``webhooks.py``), e-mail
to lead by raw-MIME hook and IMAP poller (``email_inbound.py``, ``imap.py``), phone calls
(``calls.py``) and CSV import (``csv_import.py``). A channel only turns what it received into
a ``throughline.intake.capture.LeadInput`` and calls
``throughline.intake.capture.capture_lead(actor, data)`` — the single entry point that
validates, normalizes, de-duplicates and records the lead; channels add their own ledger
(deliveries, inbound e-mails, call logs, import reports) beside it.

Why a sub-app: the intake *core* (``throughline.intake``: Lead, LeadSource, dedup, SLA, inbox)
and these channels were built at the same time by two people. Each Django app owns one
migration history, so the channels live in their own app — label ``intake_channels``,
AppConfig name ``throughline.intake.channels`` — with their own ``migrations/`` that depend on
intake's; neither side can collide with the other's migration numbers. The split also keeps
the dependency one-way: the core never imports the channels.
"""
