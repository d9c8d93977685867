"""Payment gateways by name: ``get_gateway("stripe")``; ``online_gateway()`` for "Pay now"."""

from __future__ import annotations

from throughline.billing.gateways.base import Gateway


def gateways() -> dict[str, Gateway]:
    from throughline.billing.gateways.stripe import StripeGateway

    return {"stripe": StripeGateway()}


def get_gateway(name: str) -> Gateway | None:
    return gateways().get(name)


def online_gateway() -> Gateway | None:
    """The gateway clients pay through, when one is configured."""
    for gateway in gateways().values():
        if gateway.is_configured():
            return gateway
    return None
