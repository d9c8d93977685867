"""Delivery fixtures live in fixtures.py so the portal tests share them."""

from tests.delivery.fixtures import *  # noqa: F403
