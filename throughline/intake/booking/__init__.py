"""Booking: per-user availability, the public booking page ``/b/<slug>``, meetings.

A visitor picks a real free slot (working hours in the host's time zone, buffers, minimum
notice, a daily maximum, existing meetings and time off all taken out) shown in the
visitor's time zone; booking records a ``Meeting`` and a crm meeting activity on the lead's
contact (so the timeline shows it and nurture sequences stop), and e-mails an iCalendar
invitation to both sides with reschedule and cancel links (``core.public_tokens``).

A sub-app (label ``intake_booking``) for the same reason as ``intake.channels``: its own
migration history, built in parallel with the intake core; the core never imports it.
"""
