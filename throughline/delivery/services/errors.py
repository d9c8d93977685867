"""Errors of delivery's services: bad input is a ValidationError; a wrong state is this."""


class DeliveryStateError(Exception):
    """The record is not in a state that allows the operation (accepted twice, closed …)."""
