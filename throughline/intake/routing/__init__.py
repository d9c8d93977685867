"""Routing: who answers a new lead.

Ordered assignment rules (conditions on source, channel, country, language, service line,
estimated value and custom fields) name a user or a team; a team picks a member by fair
round-robin (a row lock on the team's cursor) or by fewest open leads, skipping members who
are away (time off, out of office) and preferring those at work now. Nothing matches → the
fallback owner. Every change of owner is an ``Assignment`` row and a ``lead.assigned`` event
naming the rule; a breached first-response SLA reassigns or escalates (``escalation.py``).

A sub-app (label ``intake_routing``): its own migrations beside the intake core's.
"""
