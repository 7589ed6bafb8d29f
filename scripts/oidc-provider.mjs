// A real OpenID Connect provider for the tests (npm oidc-provider 9.x),
// started by scripts/test-services.sh:
//
//   node scripts/oidc-provider.mjs HONEST_PORT FORGED_PORT
//
// Two issuers, http://127.0.0.1:HONEST_PORT and http://127.0.0.1:FORGED_PORT.
// Each signs its ID tokens with its own RSA key, made at start. The forged
// one publishes the honest one's key as its JWKS (same key id): its tokens
// are signed by a key other than the one it advertises, and must be refused.
//
// Clients register themselves (RFC 7591, POST /reg), so every test has its
// own client and redirect URI. There is no login form: the browser (the
// test) opens the interaction URL with the person to sign in as,
// `/interaction/UID?sub=...&email=...&verified=true|false&name=...`, and
// is signed in and consents at once.
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const [honestPort, forgedPort] = process.argv.slice(2).map(Number);
if (!honestPort || !forgedPort) {
  console.error('usage: node oidc-provider.mjs HONEST_PORT FORGED_PORT');
  process.exit(2);
}

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'signing-key', use: 'sig', alg: 'RS256' };
}

const publicPart = ({ kty, n, e, kid, use, alg }) => ({ kty, n, e, kid, use, alg });

// The people signed in so far, by subject (shared by both issuers).
const people = new Map();

function provider(issuer, key) {
  const oidc = new Provider(issuer, {
    clients: [],
    jwks: { keys: [key] },
    cookies: { keys: ['flint-test-cookies'] },
    features: { devInteractions: { enabled: false }, registration: { enabled: true } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'picture'] },
    findAccount: async (_ctx, sub) =>
      people.has(sub) ? { accountId: sub, claims: async () => ({ sub, ...people.get(sub) }) } : undefined,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
  });
  oidc.on('server_error', (_ctx, error) => console.error(issuer, error));
  return oidc;
}

async function interaction(oidc, req, res, url) {
  const details = await oidc.interactionDetails(req, res);
  const sub = url.searchParams.get('sub');
  if (!sub) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end('open this URL with ?sub=...&email=...&verified=true|false');
    return;
  }
  people.set(sub, {
    email: url.searchParams.get('email') ?? undefined,
    email_verified: url.searchParams.get('verified') === 'true',
    name: url.searchParams.get('name') ?? sub,
  });
  const grant = new oidc.Grant({ accountId: sub, clientId: details.params.client_id });
  grant.addOIDCScope('openid email profile');
  const grantId = await grant.save();
  await oidc.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

function serve(port, oidc, jwksOverride) {
  const handle = oidc.callback();
  http
    .createServer(async (req, res) => {
      const url = new URL(req.url, `http://127.0.0.1:${port}`);
      try {
        if (url.pathname.startsWith('/interaction/')) {
          await interaction(oidc, req, res, url);
        } else if (jwksOverride && url.pathname === '/jwks') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(jwksOverride));
        } else {
          handle(req, res);
        }
      } catch (error) {
        console.error(error);
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      }
    })
    .listen(port, '127.0.0.1');
}

const honestKey = signingKey();
serve(honestPort, provider(`http://127.0.0.1:${honestPort}`, honestKey));
serve(forgedPort, provider(`http://127.0.0.1:${forgedPort}`, signingKey()), { keys: [publicPart(honestKey)] });
console.log(`oidc-provider: honest issuer on ${honestPort}, forged on ${forgedPort}`);
