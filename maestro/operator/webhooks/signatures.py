"""Webhook signatures: is this body what GitHub or Linear signed with our shared secret?

Both services sign the raw request body with HMAC-SHA256 and send the hex digest:

- GitHub: ``X-Hub-Signature-256: sha256=<hex>``;
- Linear: ``Linear-Signature: <hex>``, and a signing time in milliseconds since the epoch
  (the body's ``webhookTimestamp``, else the ``Linear-Timestamp`` header). Linear's SDK
  refuses a delivery signed more than 60 s away from now, which stops a captured delivery
  from being replayed later; maestro does the same (``[webhooks] linear_max_age_s``). The
  SDK prefers the header, but only the body is signed: a replayer can forge a fresh header,
  not a fresh ``webhookTimestamp``, so maestro reads the body's first.

Each check returns ``None`` for a good signature, else the reason to refuse, in words fit
for a log line (never the secret, never the expected digest). Digests are compared with
:func:`hmac.compare_digest`, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re

GITHUB_HEADER = "X-Hub-Signature-256"
LINEAR_HEADER = "Linear-Signature"
LINEAR_TIMESTAMP_HEADER = "Linear-Timestamp"

_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def digest(secret: bytes, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``body`` under ``secret`` (what both services send)."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def _compare(secret: bytes, body: bytes, claimed: str) -> str | None:
    if not _HEX_DIGEST.fullmatch(claimed.strip().lower()):
        return "malformed signature (expected 64 hex digits)"
    if not hmac.compare_digest(digest(secret, body), claimed.strip().lower()):
        return "signature does not match the body"
    return None


def github_refusal(secret: bytes, body: bytes, header: str | None) -> str | None:
    """Why a GitHub delivery is refused; ``None`` when ``header`` signs ``body``."""
    if not header:
        return f"no {GITHUB_HEADER} header"
    scheme, sep, claimed = header.partition("=")
    if not sep or scheme.strip().lower() != "sha256":
        return f"{GITHUB_HEADER} is not 'sha256=<hex>'"
    return _compare(secret, body, claimed)


def linear_refusal(secret: bytes, body: bytes, header: str | None) -> str | None:
    """Why a Linear delivery's signature is refused; ``None`` when ``header`` signs
    ``body``. Freshness is a separate check (:func:`linear_staleness`): the time it reads
    may come from the body, which is trusted only once signed."""
    if not header:
        return f"no {LINEAR_HEADER} header"
    return _compare(secret, body, header)


def linear_staleness(signed_at_ms: object, now_s: float, max_age_s: float) -> str | None:
    """Why a Linear delivery signed at ``signed_at_ms`` (milliseconds since the epoch, an
    int or a digit string) is too far from ``now_s`` to accept; ``None`` when it is not.
    A time that is not a finite number (``NaN``, a word) cannot be judged, so it is refused."""
    if isinstance(signed_at_ms, str) and signed_at_ms.strip().isdigit():
        signed_at_ms = int(signed_at_ms.strip())
    if isinstance(signed_at_ms, bool) or not isinstance(signed_at_ms, int | float) or (
            not math.isfinite(signed_at_ms)):
        return "no usable signing time (Linear-Timestamp header or webhookTimestamp field)"
    age = now_s - signed_at_ms / 1000.0
    if not math.isfinite(age) or abs(age) > max_age_s:
        when = f"{age:.0f} s ago" if age >= 0 else f"{-age:.0f} s ahead"
        return f"signed {when}, outside {max_age_s:g} s (a replay?)"
    return None
