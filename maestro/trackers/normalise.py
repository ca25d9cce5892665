"""Normalisation every tracker adapter applies to what it reads (Symphony SPEC.md §11.3).

* Labels are trimmed and lowercased; blank labels are dropped, duplicates removed.
* Optional provider metadata that cannot be used (a ``priority`` that is not a number, a
  ``createdAt`` that is not a timestamp, a label entry without a name) becomes ``None``,
  an empty value or a dropped entry. It never rejects the whole record: only the required
  fields (id, identifier, title, state) make a record malformed.

The lenient types are pydantic ``Annotated`` aliases for the adapters' response models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError, ValidatorFunctionWrapHandler

__all__ = ["dropping_bad_items", "normalise_labels", "or_default"]


def normalise_labels(names: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, lowercased labels; blank ones dropped; each once, first spelling kept."""
    seen: dict[str, None] = {}
    for name in names:
        label = name.strip().lower()
        if label:
            seen.setdefault(label, None)
    return tuple(seen)


def or_default(default: Callable[[], Any]) -> Callable[[Any, ValidatorFunctionWrapHandler], Any]:
    """A wrap validator: the value when it validates, else ``default()`` (and for ``None``)."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if value is None:
            return default()
        try:
            return handler(value)
        except ValidationError:
            return default()

    return validate


def dropping_bad_items(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A wrap validator for a list: entries that do not validate are dropped; a value that
    is not a list at all is the empty list."""
    if not isinstance(value, list):
        return handler([])
    kept: list[Any] = []
    for item in value:
        try:
            kept.extend(handler([item]))
        except ValidationError:
            continue
    return kept
