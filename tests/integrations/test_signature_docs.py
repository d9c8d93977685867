"""The receiver snippet in docs/WEBHOOKS.md agrees with the signer, on any body and secret."""

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from throughline.integrations import signing

from .conftest import docs_verify

verify = docs_verify()


@settings(max_examples=200, deadline=None)
@given(
    secret=st.text(min_size=1, max_size=80),
    old=st.text(min_size=1, max_size=80),
    body=st.binary(max_size=2000),
)
def test_docs_snippet_accepts_what_we_sign_and_nothing_else(secret, old, body):
    now = int(time.time())
    header = signing.signature_header([secret, old], now, body)
    assert verify(secret, header, body)
    assert verify(old, header, body)  # the second v1 of a rotation
    assert not verify(secret + "x", header, body)
    assert not verify(secret, header, body + b"x")
    assert verify(secret, header, body) == signing.verify_signature(secret, header, body)


def test_docs_snippet_refuses_old_timestamps_and_garbage():
    body = b"{}"
    stale = signing.signature_header(["s"], int(time.time()) - 301, body)
    assert not verify("s", stale, body)
    for header in ("", "t=,v1=", "t=1", "nonsense", "v1=abc"):
        assert not verify("s", header, body)
