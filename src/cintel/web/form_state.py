"""A form sent back to its page after an error: what was typed, and the error beside each field.

A page renders ``form.values`` into its fields and ``form.errors[field]`` beside them (with
``aria-invalid`` and ``aria-describedby``) when ``form.name`` is the form's name; ``NO_FORM`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Form

# Raw form fields are taken loosely (capped) and checked by the service, so an error comes back to the form.
LooseText = Annotated[str, Form(max_length=2_000)]


@dataclass(frozen=True)
class FormState:
    """A form sent back to the page: which one (``name``), what was typed and the error per field."""

    name: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


NO_FORM = FormState()
