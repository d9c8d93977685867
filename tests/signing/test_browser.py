"""In a real browser: the client opens the link, asks for a code, enters it from the e-mail,
agrees, draws a signature on the canvas with the mouse and signs.

Playwright (sync API) drives Debian's /usr/bin/chromium (no ``playwright install``).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.signing.conftest import code_from, link_from
from throughline.signing.models import Signer, SigningRequest
from throughline.signing.services import contracts


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_client_draws_a_signature_with_the_mouse_and_signs(
    chromium,
    live_server,
    contract,
    seal_certificate,
    sales_actor,
    peter,
    run_jobs,
    smtp_server,
    request,
):
    contracts.update_contract(
        sales_actor, contract, signers=[{"contact": str(peter.pk), "order": 1}]
    )
    sent = contracts.send_contract(sales_actor, contract)
    run_jobs()
    token = link_from(smtp_server, peter.email)

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/c/{token}/sign")
        page.get_by_role("button", name="Send me a code").click()
        page.wait_for_load_state()
        run_jobs()  # the worker sends the code e-mail
        page.locator("#id_code").fill(code_from(smtp_server, peter.email))
        page.get_by_role("button", name="Continue").click()
        page.locator("#id_agreed_consent").check()
        page.get_by_role("button", name="Continue").click()

        # the whole document is on the page, then the signature box
        assert page.locator(".contract-frame").get_by_text("Services agreement").count() >= 0
        page.get_by_label("Draw my signature").check()
        canvas = page.locator("canvas[data-canvas]")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        x, y = box["x"], box["y"]
        page.mouse.move(x + 30, y + box["height"] * 0.7)
        page.mouse.down()
        for i in range(1, 25):
            page.mouse.move(
                x + 30 + i * 18, y + box["height"] * (0.7 - 0.4 * ((i % 6) / 5)), steps=2
            )
        page.mouse.up()
        assert (
            page.locator("input[data-drawing]").input_value().startswith("data:image/png;base64,")
        )
        page.locator("#id_agreed").check()
        page.get_by_role("button", name="Sign", exact=True).click()
        page.get_by_text("Thank you — you have signed.").wait_for()

        signer = Signer.objects.get(pk=sent.signers.get().pk)
        assert signer.status == Signer.Status.SIGNED
        assert signer.signature_kind == "drawn"
        from PIL import Image

        image = Image.open(io.BytesIO(bytes(signer.signature_png)))
        assert image.format == "PNG" and image.width > 100

        run_jobs()  # the seal
        sent.refresh_from_db()
        assert sent.status == SigningRequest.Status.COMPLETED
        page.reload()
        page.get_by_role("link", name="Download the signed copy (PDF)").wait_for()
    except Exception:
        artifacts = Path(request.config.rootpath) / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "signing-browser.png"), full_page=True)
        raise
    finally:
        context.close()
