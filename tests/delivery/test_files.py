"""Shared files: type- and size-checked on upload, always served as a download."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from throughline.delivery.models import DeliverySettings, SharedFile
from throughline.delivery.services import files
from throughline.portal import links

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\n"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("page.html", b"<html><script>alert(1)</script></html>", "allowed types"),
        ("image.svg", b"<svg onload=alert(1)>", "allowed types"),
        ("fake.pdf", b"<html>not a pdf</html>", "not really a .pdf"),
        ("notes.txt", b"\x00\x01binary", "not a text file"),
        ("empty.pdf", b"", "empty"),
        ("noext", b"%PDF-1.7", "allowed types"),
    ],
)
def test_bad_uploads_are_refused(project, delivery_actor, media, name, data, message):
    with pytest.raises(ValidationError, match=message):
        files.share_file(delivery_actor, project, SimpleUploadedFile(name, data))
    assert not SharedFile.objects.exists()


def test_too_large_is_refused(project, delivery_actor, media):
    settings = DeliverySettings.current()
    settings.max_upload_mb = 1
    settings.save()
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (1024 * 1024))
    with pytest.raises(ValidationError, match="larger than 1 MB"):
        files.share_file(delivery_actor, project, big)
    assert not SharedFile.objects.exists()


def test_uploaded_through_the_page_and_downloaded_as_attachment(client_as, project, media):
    staff = client_as("delivery")
    upload = SimpleUploadedFile("Plan <v2>.pdf", PDF, content_type="text/html")
    staff.post(
        reverse("delivery:project_action", args=[project.pk]), {"op": "upload", "file": upload}
    )
    shared = SharedFile.objects.get()
    # the name is made safe; the type comes from what the file is, not what the browser said
    assert shared.name == "Plan _v2_.pdf" and shared.content_type == "application/pdf"
    for response in (
        staff.get(reverse("delivery:file", args=[project.pk, shared.pk])),
        staff.get(reverse("portal:file", args=[links.issue_link(project.contact), shared.pk])),
    ):
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == PDF


def test_refused_upload_through_the_page_says_why(client_as, project, media):
    staff = client_as("delivery")
    response = staff.post(
        reverse("delivery:project_action", args=[project.pk]),
        {"op": "upload", "file": SimpleUploadedFile("x.html", b"<h1>hi</h1>")},
        follow=True,
    )
    assert "allowed types" in response.content.decode()
    assert not SharedFile.objects.exists()
