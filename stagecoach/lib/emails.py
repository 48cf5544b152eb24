"""What makes an e-mail address one a message can go to."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email


def email_problem(address: str) -> str | None:
    """Why ``address`` is not one e-mail address a message can go to, or None."""
    if any(c in address for c in "\r\n\x00"):
        return "holds a line break"
    if any(c in address for c in ",;") or len(address.split()) > 1:
        return "is more than one address"
    if len(address) > 254:
        return "is longer than 254 characters"
    try:
        validate_email(address)
    except ValidationError:
        return "is not a valid address"
    return None
