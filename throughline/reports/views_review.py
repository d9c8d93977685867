"""Staff pages of the weekly momentum review: past reviews, one review with its items to tick."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.reports import review as reviews
from throughline.reports.models import Review, ReviewItem


@requires("reports.view")
def review_list(request):
    rows = []
    for item in Review.objects.all()[:104]:
        total = item.items.count()
        done = item.items.filter(reviewed_at__isnull=False).count()
        rows.append({"review": item, "total": total, "done": done})
    return render(
        request,
        "reports/review_list.html",
        {"rows": rows, "can_review": request.user.can("reports.review")},
    )


@requires("reports.review")
@require_POST
def review_start(request):
    review, created = reviews.create_review(Actor.from_request(request))
    if not created:
        messages.info(request, "This week's review exists already.")
    return redirect("reports:review_detail", review.pk)


@requires("reports.view")
def review_detail(request, pk):
    review = get_object_or_404(Review, pk=pk)
    labels = dict(ReviewItem.Kind.choices)
    groups: dict[str, list] = {}
    for item in review.items.select_related("reviewed_by"):
        groups.setdefault(item.kind, []).append(item)
    sections = [
        {"kind": kind, "label": labels[kind], "items": groups.get(kind, [])}
        for kind in review.snapshot.get("counts", {})
    ]
    return render(
        request,
        "reports/review_detail.html",
        {
            "review": review,
            "sections": sections,
            "cash": review.snapshot.get("cash_30_days"),
            "overdue_total": review.snapshot.get("overdue_total", []),
            "can_review": request.user.can("reports.review"),
        },
    )


@requires("reports.review")
@require_POST
def review_tick(request, pk: int):
    item = get_object_or_404(ReviewItem, pk=pk)
    value = request.POST.get("reviewed")
    if value not in ("0", "1"):
        raise Http404
    reviews.set_reviewed(Actor.from_request(request), item, value == "1")
    return redirect(reverse("reports:review_detail", args=[item.review_id]) + f"#item-{item.pk}")
