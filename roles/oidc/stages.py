"""allauth's MFA login stage, skipped when the identity provider's second factor is trusted (roles/oidc/mfa.py)."""

from __future__ import annotations

from allauth.mfa.stages import AuthenticateStage as AllauthAuthenticateStage

from .mfa import session_has_idp_mfa


class AuthenticateStage(AllauthAuthenticateStage):
    def handle(self) -> tuple:
        if self.login.user is not None and session_has_idp_mfa(self.request, self.login.user):
            return None, True
        return super().handle()
