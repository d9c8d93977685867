"""Staff forms: one's availability and time off."""

from __future__ import annotations

import re
import zoneinfo

from django import forms

from throughline.intake.booking.services import NUMBER_LIMITS

DAY_FIELD = re.compile(r"^d[1-7]_(start|end)$")
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ZONE_CHOICES = [(z, z) for z in sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})]


class AvailabilityForm(forms.Form):
    slug = forms.SlugField(max_length=60, label="Link", help_text="Your page is /b/<link>")
    title = forms.CharField(max_length=200)
    intro = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    time_zone = forms.ChoiceField(choices=ZONE_CHOICES)
    location = forms.CharField(max_length=300, required=False)
    meeting_minutes = forms.IntegerField(label="Meeting length (minutes)")
    slot_step_minutes = forms.IntegerField(label="Start times every (minutes)")
    buffer_before_minutes = forms.IntegerField(label="Buffer before (minutes)")
    buffer_after_minutes = forms.IntegerField(label="Buffer after (minutes)")
    min_notice_minutes = forms.IntegerField(label="Minimum notice (minutes)")
    max_per_day = forms.IntegerField(label="At most meetings per day (0: no limit)")
    horizon_days = forms.IntegerField(label="Bookable days ahead")
    is_active = forms.BooleanField(required=False, label="Page is open for bookings")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index, day in enumerate(WEEKDAYS, start=1):
            self.fields[f"d{index}_start"] = forms.CharField(
                required=False, label=f"{day} from", max_length=5
            )
            self.fields[f"d{index}_end"] = forms.CharField(
                required=False, label=f"{day} until", max_length=5
            )

    @staticmethod
    def initial_for(availability) -> dict:
        initial = {name: getattr(availability, name) for name in NUMBER_LIMITS}
        for name in ("slug", "title", "intro", "time_zone", "location", "is_active"):
            initial[name] = getattr(availability, name)
        for day, span in (availability.weekly_hours or {}).items():
            initial[f"d{day}_start"], initial[f"d{day}_end"] = span
        return initial

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if not DAY_FIELD.match(k)}
        hours = {}
        for day in range(1, 8):
            start = (self.cleaned_data.get(f"d{day}_start") or "").strip()
            end = (self.cleaned_data.get(f"d{day}_end") or "").strip()
            if start or end:
                hours[str(day)] = [start, end]
        data["weekly_hours"] = hours
        return data

    def day_rows(self):
        return [(WEEKDAYS[d - 1], self[f"d{d}_start"], self[f"d{d}_end"]) for d in range(1, 8)]


class TimeOffForm(forms.Form):
    starts_at = forms.DateTimeField(
        label="Away from", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Back at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    note = forms.CharField(max_length=200, required=False)
