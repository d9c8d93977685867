"""CSV import: encodings, delimiters, mapping, dry run, modes, re-import, the staff flow."""

from __future__ import annotations

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from throughline.crm import services as crm
from throughline.crm.models import Contact
from throughline.intake.channels import csv_import
from throughline.intake.channels.models import CsvImport, CsvMappingPreset
from throughline.intake.models import Lead

pytestmark = pytest.mark.django_db

ROWS = [
    ["First name", "Last name", "E-mail", "Phone", "Company", "Notes"],
    ["Ada", "Lovelace", "ada@analytical.example", "", "Analytical Engines", "Met at the fair"],
    ["Grace", "Hopper", "grace@navy.example", "+44 20 7946 0018", "US Navy", ""],
    ["René", "Müller", "rene@zürich.example", "", "Müller & Söhne", "Sprach über Preise"],
]


def csv_bytes(rows=ROWS, delimiter=",", encoding="utf-8", bom=False) -> bytes:
    text = "\r\n".join(delimiter.join(cell for cell in row) for row in rows) + "\r\n"
    data = text.encode(encoding)
    return (codecs.BOM_UTF8 + data) if bom else data


def run_import(actor, data, *, mode="skip_invalid", mapping=None, name="leads.csv"):
    imp, sniffed = csv_import.create_import(actor, name, data)
    csv_import.configure(actor, imp, mapping=mapping or imp.mapping, mode=mode)
    report = csv_import.check(imp)
    imp.refresh_from_db()
    return imp, report


@pytest.mark.parametrize(
    ("delimiter", "encoding", "bom", "expected"),
    [
        (",", "utf-8", False, "utf-8"),
        (",", "utf-8", True, "utf-8-sig"),
        (";", "latin-1", False, "latin-1"),
        ("\t", "utf-8", False, "utf-8"),
        (";", "cp1252", False, "latin-1"),
    ],
)
def test_encodings_and_delimiters_are_detected(actor, media, delimiter, encoding, bom, expected):
    rows = [r[:] for r in ROWS]
    if encoding != "utf-8":
        rows[3][2] = "rene@zuerich.example"  # IDN domains need UTF-8 anyway
    data = csv_bytes(rows, delimiter, encoding, bom)
    imp, report = run_import(actor, data)
    assert (imp.encoding, imp.delimiter) == (expected, delimiter)
    assert imp.headers == ROWS[0]
    assert imp.mapping == {
        "First name": "first_name",
        "Last name": "last_name",
        "E-mail": "email",
        "Phone": "phone",
        "Company": "company",
        "Notes": "message",
    }
    assert (report["total"], report["valid"], report["invalid"]) == (3, 3, 0)
    result = csv_import.run(imp, actor)
    assert result["created"] == 3
    rene = Lead.objects.get(last_name="Müller")
    assert (rene.first_name, rene.company_name, rene.message) == (
        "René",
        "Müller & Söhne",
        "Sprach über Preise",
    )


def test_windows_1252_specific_characters(actor, media):
    rows = [
        ["Name", "Email", "Notes"],
        ["Zoë Quinn", "zoe@example.com", "Price “negotiable” – €500"],
    ]
    imp, report = run_import(actor, csv_bytes(rows, ",", "cp1252"))
    assert imp.encoding == "windows-1252"
    csv_import.run(imp, actor)
    assert Lead.objects.get().message == "Price “negotiable” – €500"


def test_dry_run_reports_invalid_rows_and_duplicates_and_writes_nothing(actor, media):
    known = crm.create_contact(
        actor, first_name="Grace", last_name="Hopper", email="grace@navy.example"
    )
    rows = [
        ["Name", "Email", "Phone"],
        ["Ada Lovelace", "ada@analytical.example", ""],  # line 2
        ["No Contact", "", ""],  # line 3: neither e-mail nor phone
        ["Bad Mail", "bad@", ""],  # line 4
        ["Grace Hopper", "GRACE@navy.example", ""],  # line 5: known contact
        ["Ada L.", "Ada@Analytical.example", ""],  # line 6: duplicate of line 2
        ['"Quoted, Name"', "q@example.com", "not a phone"],  # line 7
    ]
    imp, report = run_import(actor, csv_bytes(rows))
    assert report["total"] == 6
    assert report["valid"] == 3
    assert report["invalid"] == 3
    assert [r["line"] for r in report["invalid_rows"]] == [3, 4, 7]
    assert "__all__" in report["invalid_rows"][0]["errors"]
    assert "email" in report["invalid_rows"][1]["errors"]
    assert "phone" in report["invalid_rows"][2]["errors"]
    assert report["duplicates_in_file"] == 1
    assert report["duplicate_rows"] == [{"line": 6, "of_line": 2, "key": "ada@analytical.example"}]
    assert report["duplicates_in_db"] == 1
    assert report["known_rows"][0] == {
        "line": 5,
        "contact_id": str(known.pk),
        "key": "grace@navy.example",
    }
    assert report["will_create"] == 2
    assert not Lead.objects.exists()
    # skip invalid rows: the valid ones are imported, the known person is linked
    result = csv_import.run(imp, actor)
    assert (
        result["created"],
        result["linked"],
        result["invalid"],
        result["duplicates_in_file"],
    ) == (1, 1, 3, 1)
    assert Lead.objects.count() == 2
    assert Lead.objects.get(email__iexact="grace@navy.example").contact == known


def test_all_or_nothing_imports_nothing_when_a_row_is_invalid(actor, media):
    rows = [["Email"], ["a@example.com"], ["broken@"], ["c@example.com"]]
    imp, report = run_import(actor, csv_bytes(rows), mode="all_or_nothing")
    assert report["invalid"] == 1
    with pytest.raises(Exception, match="nothing was imported"):
        csv_import.run(imp, actor)
    assert not Lead.objects.exists() and not Contact.objects.exists()


def test_all_or_nothing_rolls_back_rows_already_captured(actor, media):
    from throughline.crm import services as crm
    from throughline.crm.models import CustomFieldDefinition

    known = [crm.create_contact(actor, email=e) for e in ("a@example.com", "b@example.com")]
    rows = [["Email"], ["a@example.com"], ["b@example.com"], ["c@example.com"]]
    imp, report = run_import(actor, csv_bytes(rows), mode="all_or_nothing")
    assert report["invalid"] == 0
    # Meanwhile new contacts got a required field: the known people still link, the third
    # row (a new person) fails only at run time — and takes the first two with it.
    CustomFieldDefinition.objects.create(
        entity="contact", key="segment", label="Segment", kind="text", required=True
    )
    with pytest.raises(Exception, match="Line 4"):
        csv_import.run(imp, actor)
    assert not Lead.objects.exists()
    assert set(Contact.objects.all()) == set(known)


def test_reimporting_the_same_file_creates_nothing_new(actor, media):
    data = csv_bytes()
    imp, _ = run_import(actor, data)
    assert csv_import.run(imp, actor)["created"] == 3
    again, report = run_import(actor, data, name="leads-again.csv")
    assert report["already_imported"] == 3 and report["will_create"] == 0
    result = csv_import.run(again, actor)
    assert (result["created"], result["linked"], result["already_imported"]) == (0, 0, 3)
    assert Lead.objects.count() == 3
    # the same people in another file with other line endings and order: still nothing new
    reordered = csv_bytes([ROWS[0], ROWS[3], ROWS[1], ROWS[2]], ";").replace(b"\r\n", b"\n")
    third, report = run_import(actor, reordered, name="other.csv")
    assert report["already_imported"] == 3
    assert csv_import.run(third, actor)["already_imported"] == 3
    assert Lead.objects.count() == 3


def test_rows_without_email_use_file_and_line(actor, media):
    rows = [["Name", "Phone"], ["Ann", "+44 20 7946 0001"], ["Bob", "+44 20 7946 0002"]]
    imp, _ = run_import(actor, csv_bytes(rows))
    csv_import.run(imp, actor)
    again, report = run_import(actor, csv_bytes(rows))
    assert report["already_imported"] == 2
    assert Lead.objects.count() == 2
    assert Lead.objects.filter(external_id__startswith="f:").count() == 2


def test_mapping_is_validated_and_remembered(actor, media):
    imp, _ = csv_import.create_import(actor, "x.csv", csv_bytes())
    with pytest.raises(Exception, match="E-mail or Phone"):
        csv_import.configure(actor, imp, mapping={"First name": "first_name"})
    with pytest.raises(Exception, match="both fill"):
        csv_import.configure(actor, imp, mapping={"E-mail": "email", "Notes": "email"})
    with pytest.raises(Exception, match="unknown lead field"):
        csv_import.configure(actor, imp, mapping={"E-mail": "password"})
    custom = {"E-mail": "email", "Notes": "company", "First name": "full_name"}
    csv_import.configure(actor, imp, mapping=custom)
    assert CsvMappingPreset.objects.get().mapping == custom
    second, _ = csv_import.create_import(actor, "y.csv", csv_bytes())
    assert second.mapping == custom  # remembered for the same headers


def test_stray_delimiters_and_multiline_fields_keep_file_line_numbers(actor, media):
    data = (
        b"Name,Email,Notes\n"
        b'Ann,ann@example.com,"first line\nsecond line"\n'
        b"Bob,bob@example.com,ok,extra\n"
        b"\n"
        b"Cid,cid@,x\n"
    )
    imp, report = run_import(actor, data)
    assert report["total"] == 3
    assert [r["line"] for r in report["invalid_rows"]] == [4, 6]
    assert "4 values but 3 columns" in report["invalid_rows"][0]["errors"]["__all__"][0]
    csv_import.run(imp, actor)
    assert Lead.objects.get().message == "first line\nsecond line"


def test_unreadable_files_are_refused(actor, media):
    for data, message in [
        (b"", "empty"),
        (b"\x00\x01\x02PK\x03\x04", "not a text"),
        (b"\n\n", "empty"),
    ]:
        with pytest.raises(csv_import.ImportError_, match=message):
            csv_import.create_import(actor, "bad.csv", data)


def test_script_in_cells_is_stored_as_text(actor, media, client):
    rows = [
        ["Name", "Email", "Notes"],
        ["<script>alert(1)</script>", "x@example.com", "<b>bold</b>"],
    ]
    imp, _ = run_import(actor, csv_bytes(rows))
    csv_import.run(imp, actor)
    lead = Lead.objects.get()
    assert lead.message == "<b>bold</b>"
    client.force_login(actor.user)
    page = client.get(reverse("intake_channels:import_detail", args=[imp.pk])).content.decode()
    assert "<b>bold</b>" not in page


# --- The staff flow and the job -------------------------------------------------------------


def test_staff_flow_upload_map_dry_run_run_with_progress(client_as, media, run_jobs):
    client = client_as("owner")
    upload = SimpleUploadedFile(
        "leads.csv",
        csv_bytes(delimiter=";", encoding="latin-1").replace(
            "zürich".encode("latin-1"), b"zuerich"
        ),
        "text/csv",
    )
    response = client.post(
        reverse("intake_channels:import_upload"), {"file": upload, "source": "fair-2025"}
    )
    imp = CsvImport.objects.get()
    assert response.status_code == 302
    detail = client.get(response["Location"])
    html = detail.content.decode()
    assert "Read as latin-1, separated by semicolons" in html
    assert "Analytical Engines" in html  # preview
    columns = {
        f"col_{i}": target
        for i, target in enumerate(["first_name", "last_name", "email", "phone", "company", ""])
    }
    checked = client.post(
        reverse("intake_channels:import_check", args=[imp.pk]),
        {**columns, "mode": "skip_invalid", "source": "fair-2025"},
    )
    assert checked.status_code == 302
    imp.refresh_from_db()
    assert imp.status == "checked" and imp.report["will_create"] == 3
    assert "Leads to create" in client.get(checked["Location"]).content.decode()
    assert not Lead.objects.exists()
    client.post(reverse("intake_channels:import_run", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == "queued"
    progress = client.get(
        reverse("intake_channels:import_progress", args=[imp.pk]), HTTP_HX_REQUEST="true"
    )
    assert 'hx-trigger="every 1s"' in progress.content.decode()  # polls while queued
    run_jobs()
    imp.refresh_from_db()
    assert (imp.status, imp.processed_rows, imp.result["created"]) == ("done", 3, 3)
    done = client.get(reverse("intake_channels:import_progress", args=[imp.pk])).content.decode()
    assert "hx-trigger" not in done  # stops polling
    assert Lead.objects.filter(source__slug="fair-2025").count() == 3


def test_staff_upload_errors(client_as, media):
    client = client_as("owner")
    bad = SimpleUploadedFile("x.csv", b"", "text/csv")
    response = client.post(
        reverse("intake_channels:import_upload"), {"file": bad, "source": "import"}
    )
    assert response.status_code == 400
    assert not CsvImport.objects.exists()


def test_import_pages_need_leads_edit(client_as, media):
    assert client_as("viewer").get(reverse("intake_channels:import_list")).status_code == 403


# --- CLI -------------------------------------------------------------------------------------


def test_cli_dry_run_then_import(tmp_path, media, org, capsys):
    path = tmp_path / "leads.csv"
    path.write_bytes(csv_bytes([*ROWS, ["Bad", "Row", "bad@", "", "", ""]], "\t"))
    call_command("import", "leads", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "valid 3, invalid 1" in out
    assert "line 5: email:" in out
    assert "Dry run: nothing was imported." in out
    assert not Lead.objects.exists()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import", "leads", str(path), "--all-or-nothing")
    assert not Lead.objects.exists()
    call_command(
        "import", "leads", str(path), "--mapping", "E-mail=email,Company=company,Notes=message"
    )
    out = capsys.readouterr().out
    assert "Imported: 3 new people" in out
    assert Lead.objects.count() == 3 and not Lead.objects.exclude(first_name="").exists()
    call_command("import", "leads", str(path))
    assert "3 already imported" in capsys.readouterr().out
    assert Lead.objects.count() == 3


def test_cli_is_the_import_leads_subcommand(tmp_path, org):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import", "leads", str(tmp_path / "missing.csv"))
