"""Outbound webhooks (a signed, retried delivery ledger) and integration health.

A documented split of DESIGN's "automation" app: workflows and sequences live in
``throughline.automation``; this app owns what talks to the outside world on its own schedule.
See docs/WEBHOOKS.md for the receiver's side.
"""
