"""A real OpenID Connect provider (panva's oidc-provider, tests/sso/provider.mjs) on the loopback, per session.

`idp` starts it (node, from node_modules) and stops it after the session; `sso` configures the product to use
it, as the OIDC_* environment variables would; `idp.sign_in(authorize_url, login)` plays the person at the
provider's own sign-in and consent pages and returns the callback URL the provider redirects the browser to.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_JS = Path(__file__).with_name("provider.mjs")
CLIENT_ID = "hipaa-training"
CLIENT_SECRET = "test-client-secret-not-a-secret"
CALLBACK = "/accounts/oidc/sso/login/callback/"

# The test accounts at the provider: login -> claims.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "billie": {"email": "billie@example.test", "email_verified": True, "name": "Billie Biller"},
    "unverified": {"email": "billie@example.test", "email_verified": False, "name": "Billie Biller"},
    "no-verified-claim": {"email": "billie@example.test", "name": "Billie Biller"},
    "wrong-audience": {
        "email": "billie@example.test",
        "email_verified": True,
        "name": "Billie Biller",
        "test_audience": "another-client",  # provider.mjs addresses this account's id_tokens to another client
    },
    "stranger": {"email": "stranger@example.test", "email_verified": True, "name": "Sam Stranger"},
    "deactivated": {"email": "oscar@example.test", "email_verified": True, "name": "Oscar Outsider"},
    "officer": {"email": "officer@example.test", "email_verified": True, "name": "Olivia Officer", "amr": ["pwd"]},
    "officer-mfa": {
        "email": "officer@example.test",
        "email_verified": True,
        "name": "Olivia Officer",
        "amr": ["pwd", "otp", "mfa"],
    },
    "officer-2fa-acr": {
        "email": "officer@example.test",
        "email_verified": True,
        "name": "Olivia Officer",
        "acr": "urn:test:loa:2fa",
    },
    "newhire": {
        "email": "nia.newhire@example.test",
        "email_verified": True,
        "name": "Nia Newhire",
        "given_name": "Nia",
        "family_name": "Newhire",
        "groups": ["hipaa-billing", "all-staff"],
    },
}


def _jwk(key: rsa.RSAPrivateKey, private: bool) -> dict[str, Any]:
    material = key if private else key.public_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(material))
    jwk.pop("key_ops", None)  # PyJWT marks a private key "sign" only; the provider also verifies id_token_hint
    return {**jwk, "kid": "test-key", "use": "sig", "alg": "RS256"}


# The provider signs with IDP_KEY; FOREIGN_KEY is someone else's, with the same key id (tests sign with it).
IDP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
FOREIGN_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class IdP:
    issuer: str
    process: subprocess.Popen[bytes]
    log: Path
    origins: list[str] = field(default_factory=list)

    def sign_in(self, authorize_url: str, login: str, stop_at: str = CALLBACK) -> str:
        """Follow the provider's pages as the person `login` would; the URL it finally sends them back to."""
        session = requests.Session()
        url = authorize_url
        for _ in range(12):
            response = session.get(url, allow_redirects=False, timeout=10)
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                if stop_at in url:
                    return url
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert form, f"no form at the provider's {url}: {response.text[:500]}"
            action = urljoin(url, unescape(form.group(1)))
            prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
            data = {"prompt": prompt.group(1) if prompt else "consent", "login": login, "password": "any password"}
            if "logout" in response.text or "xsrf" in response.text:
                data = dict(re.findall(r'name="(\w+)" value="([^"]*)"', response.text))
                data["logout"] = "yes"
            response = session.post(action, data=data, allow_redirects=False, timeout=10)
            assert response.is_redirect, f"{action}: {response.status_code} {response.text[:500]}"
            url = urljoin(action, response.headers["Location"])
            if stop_at in url:
                return url
        raise AssertionError(f"the provider never sent the person back to {stop_at}")


def start_provider(redirect_uris: list[str], post_logout: list[str], log: Path) -> IdP:
    node = shutil.which("node")
    if not node or not (ROOT / "node_modules" / "oidc-provider").exists():
        reason = "the SSO tests need node and oidc-provider (npm install; `make install` does it)"
        if REQUIRE_SERVICES:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": json.dumps(redirect_uris),
        "POST_LOGOUT_REDIRECT_URIS": json.dumps(post_logout),
        "ACCOUNTS": json.dumps(ACCOUNTS),
        "JWKS": json.dumps({"keys": [_jwk(IDP_KEY, private=True)]}),
        "FOREIGN_JWKS": json.dumps({"keys": [_jwk(FOREIGN_KEY, private=False)]}),
    }
    out = log.open("wb")
    process = subprocess.Popen([node, str(PROVIDER_JS)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"oidc-provider exited: {log.read_text()}", pytrace=False)
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                return IdP(issuer=issuer, process=process, log=log)
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"oidc-provider did not start: {log.read_text()}", pytrace=False)


@pytest.fixture(scope="session")
def idp(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdP]:
    """The provider, knowing both the test client's and the live server's callback URLs."""
    provider = start_provider(
        [f"http://testserver{CALLBACK}", f"{live_server.url}{CALLBACK}"],
        post_logout=["http://testserver/accounts/login/", f"{live_server.url}/accounts/login/"],
        log=tmp_path_factory.mktemp("idp") / "oidc-provider.log",
    )
    yield provider
    provider.process.terminate()
    try:
        provider.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        provider.process.kill()


def app_config(issuer: str, **app_settings: Any) -> dict[str, Any]:
    return {
        "openid_connect": {
            "provider_class": "roles.oidc.provider.OIDCProvider",
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Test IdP",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {"server_url": issuer, **app_settings},
                }
            ],
        }
    }


@pytest.fixture
def sso(settings: Any, idp: IdP) -> IdP:
    """The product configured for the test provider (as OIDC_SERVER_URL, OIDC_CLIENT_ID ... would)."""
    settings.SOCIALACCOUNT_PROVIDERS = app_config(idp.issuer)
    return idp
