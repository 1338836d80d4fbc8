"""Single sign-on with OpenID Connect: allauth's provider, with the checks a HIPAA product needs on top.

allauth's openid_connect provider is swapped for ours through SOCIALACCOUNT_PROVIDERS["openid_connect"]
["provider_class"] (its documented hook): same URLs and settings, plus a nonce sent and checked, the id_token's
signature always verified against the provider's JWKS, and plain-http issuers refused in production.
The per-provider switches live in each app's "settings" (see README, "Single sign-on").
"""
