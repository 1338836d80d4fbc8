"""Checking an id_token as OpenID Connect Core 3.1.3.7 says, signature included, whatever the transport."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import jwt
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.conf import settings

# Asymmetric algorithms only: "none" and the HS* family (keyed with the client secret) are refused.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
LEEWAY_SECONDS = 60
REAUTH_AT_KEY = "sso_reauth_requested_at"  # a re-authentication (max_age=0) was asked for at this time


class Refused(OAuth2Error):
    """A callback refused for a reason the audit trail names ("foreign signature", "wrong audience", ...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def nonce_for(code_verifier: str) -> str:
    """The nonce of one sign-in: bound to its PKCE verifier, which never leaves the server before the callback.

    The callback recomputes it from the verifier that allauth's state keeps, so no second secret is stored.
    """
    return hmac.new(settings.SECRET_KEY.encode(), f"oidc-nonce:{code_verifier}".encode(), hashlib.sha256).hexdigest()


def _signing_key(token: str, jwks_uri: str) -> tuple[Any, str]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise Refused("malformed id_token", str(e)) from e
    alg = header.get("alg", "")
    if alg not in ALGORITHMS:
        raise Refused("foreign signature", f"algorithm {alg!r} is not accepted")
    with get_adapter().get_requests_session() as session:
        response = session.get(jwks_uri)
        response.raise_for_status()
        keys = response.json()
    kid = header.get("kid")
    candidates = [
        k for k in keys.get("keys", []) if k.get("use", "sig") == "sig" and (kid is None or k.get("kid") == kid)
    ]
    if not candidates:
        raise Refused("foreign signature", f"no key {kid!r} in the provider's JWKS")
    try:
        return jwt.PyJWK.from_json(json.dumps(candidates[0]), algorithm=alg).key, alg
    except jwt.PyJWTError as e:
        raise Refused("foreign signature", str(e)) from e


def verify_id_token(token: str, *, jwks_uri: str, issuer: str, client_id: str, nonce: str | None) -> dict[str, Any]:
    """The id_token's claims, or Refused: signature, issuer, audience (and azp), expiry and nonce all checked."""
    key, alg = _signing_key(token, jwks_uri)
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[alg],
            audience=client_id,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.InvalidSignatureError as e:
        raise Refused("foreign signature", "the signature does not match the provider's key") from e
    except jwt.InvalidAudienceError as e:
        raise Refused("wrong audience", str(e)) from e
    except jwt.InvalidIssuerError as e:
        raise Refused("wrong issuer", str(e)) from e
    except jwt.ExpiredSignatureError as e:
        raise Refused("expired id_token", str(e)) from e
    except jwt.PyJWTError as e:
        raise Refused("invalid id_token", str(e)) from e
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise Refused("wrong audience", "several audiences and azp is not this client")
    if nonce is None or not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise Refused("nonce mismatch", "the id_token's nonce is not the one this sign-in sent")
    return claims


def check_fresh_sign_in(claims: dict[str, Any], requested_at: int | None) -> None:
    """After max_age=0 the provider must have signed the person in again (Core 3.1.2.1: auth_time is then required)."""
    if requested_at is None:
        return
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or auth_time < requested_at - LEEWAY_SECONDS:
        raise Refused("stale sign-in", "re-authentication was asked for, the provider sent an older sign-in")
