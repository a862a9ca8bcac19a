"""HMAC-SHA256 signatures of inbound requests: one secret per gateway, over the raw body.

The gateway sends `X-Gridledger-Signature: sha256=<hex>` (the bare hex is accepted too); the
secret of gateway `aliyun` is `$GRIDLEDGER_SMS_SECRET_ALIYUN`. A gateway without a secret is
refused: the service never accepts an unsigned request.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Gridledger-Signature"
SECRET_ENV_PREFIX = "GRIDLEDGER_SMS_SECRET_"


def sign(secret: str, body: bytes) -> str:
    """The header value for `body`: `sha256=<hex of HMAC-SHA256(secret, body)>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str | None, body: bytes, header: str | None) -> bool:
    """True when `header` is the signature of `body` under `secret` (constant-time compare)."""
    if not secret or not header:
        return False
    given = header.strip()
    given = given.removeprefix("sha256=") if given.startswith("sha256=") else given
    expected = sign(secret, body).removeprefix("sha256=")
    return hmac.compare_digest(expected.encode(), given.lower().encode())


def secrets_from_env(gateways: list[str], environ: Mapping[str, str] | None = None
                     ) -> dict[str, str]:
    """gateway -> secret for every gateway with a non-empty `$GRIDLEDGER_SMS_SECRET_<NAME>`."""
    env = os.environ if environ is None else environ
    found = {g: env.get(SECRET_ENV_PREFIX + g.upper(), "").strip() for g in gateways}
    return {g: secret for g, secret in found.items() if secret}
