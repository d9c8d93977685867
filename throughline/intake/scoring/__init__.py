"""Qualification (rubric), scoring (rules and a learned model) and lead conversion (issue 5A).

A sub-app of intake (app label ``intake_scoring``): it reads leads and writes their score,
tier and qualification through its services; sales converts a lead into a deal by calling
``conversion.mark_converted`` (sales may import intake, never the other way round).
"""
