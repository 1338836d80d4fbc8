// A real OpenID Connect provider (panva's oidc-provider) for the SSO tests, on the loopback only.
// Started by tests/sso/conftest.py; configured from the environment:
//   PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS and POST_LOGOUT_REDIRECT_URIS (JSON lists), ACCOUNTS (JSON: login -> claims),
//   JWKS (its signing keys, private) and FOREIGN_JWKS (someone else's public keys, served at /test/foreign-jwks
//   so a test can point the product at the wrong keys and see a genuine id_token refused).
// Its own sign-in page (devInteractions) accepts a login that ACCOUNTS knows, with any password; the form's answer
// (below) adds the account's amr/acr.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: JSON.parse(process.env.REDIRECT_URIS),
      post_logout_redirect_uris: JSON.parse(process.env.POST_LOGOUT_REDIRECT_URIS),
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  claims: {
    openid: ['sub', 'amr', 'acr'], // how the person signed in, in the id_token (as Entra ID and Okta send it)
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  acrValues: ['urn:test:loa:1fa', 'urn:test:loa:2fa'],
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    const { amr, acr, test_audience: _, ...rest } = claims; // amr and acr describe the sign-in, not the person: see below
    return { accountId: id, async claims() { return { sub: id, ...rest }; } };
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  jwks: JSON.parse(process.env.JWKS),
  pkce: { required: () => true },
  ttl: { Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
});
provider.proxy = false;
// The sign-in page's form, answered with the account's amr/acr (how it signed in: "mfa", "otp", ...), which the
// quick-start interactions would leave out.
async function formBody(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

// First in the chain: the provider's own router would answer these paths before a middleware added with use().
provider.middleware.unshift(async (ctx, next) => {
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    const body = await formBody(ctx.req);
    const login = body.get('login');
    if (body.get('prompt') === 'login' && accounts[login]) {
      const { amr, acr } = accounts[login];
      const result = { login: { accountId: login, ...(amr ? { amr } : {}), ...(acr ? { acr } : {}) } };
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
      return;
    }
    if (body.get('prompt') === 'consent') {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(' '));
      if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
      const result = { consent: { grantId: await grant.save() } };
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true }));
      return;
    }
    ctx.throw(400, 'unknown account');
  }
  if (ctx.path === '/test/foreign-jwks') {
    ctx.body = JSON.parse(process.env.FOREIGN_JWKS);
    return;
  }
  await next();
});

// An account with "test_audience" gets id_tokens addressed to that client instead: a genuine token, signed by
// this provider, that was issued to someone else (the product must refuse it).
const issueIdToken = provider.IdToken.prototype.issue;
provider.IdToken.prototype.issue = async function issue(options) {
  const audience = accounts[this.available?.sub]?.test_audience;
  if (!audience || options?.use !== 'idtoken') return issueIdToken.call(this, options);
  const { client } = this;
  this.client = new Proxy(client, {
    get(target, property) {
      if (property === 'clientId') return audience;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  try {
    return await issueIdToken.call(this, options);
  } finally {
    this.client = client;
  }
};

for (const event of ['end_session.error', 'grant.error', 'authorization.error', 'server_error']) {
  provider.on(event, (ctx, err) => process.stdout.write(`${event}: ${err} ${err?.error_description ?? ''} ${err?.cause ?? ''}\n`));
}

provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
