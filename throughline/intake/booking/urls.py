"""Booking URLs, mounted at the root: public ``b/…`` pages and staff pages under ``intake/``."""

from django.urls import path

from throughline.intake.booking.views import public, staff

app_name = "intake_booking"

urlpatterns = [
    # Public (no login)
    path("b/m/<str:token>", public.manage_meeting, name="manage"),
    path("b/feed/<str:token>.ics", public.calendar_feed, name="feed"),
    path("b/<slug:slug>", public.booking_page, name="page"),
    # Staff
    path("intake/booking/", staff.my_availability, name="availability"),
    path("intake/booking/time-off/", staff.time_off_add, name="time_off_add"),
    path("intake/booking/time-off/<int:pk>/delete/", staff.time_off_delete, name="time_off_delete"),
    path("intake/booking/feed/", staff.feed_issue, name="feed_issue"),
    path("intake/meetings/", staff.meeting_list, name="meeting_list"),
    path("intake/meetings/<uuid:pk>/cancel/", staff.meeting_cancel, name="meeting_cancel"),
    path("intake/nurture/", staff.nurture_results, name="nurture_results"),
]
