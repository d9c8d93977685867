"""Intake: leads from every channel, normalized, de-duplicated and answered within minutes.

Every channel (forms, API, webhooks, e-mail, calls, CSV import, manual entry) ends in
``throughline.intake.capture.capture_lead`` — the single entry point that validates, matches
the person, creates the lead, its first-contact task, the acknowledgement e-mail and the
``lead.captured`` event in one transaction.
"""
