import type { HubSettings } from '../lib/config.js';

/**
 * Ports of the local cloud: the emulator, the fault proxy the functions' AWS calls go through, the
 * stand-ins for the company's systems, and the GitHub stand-in (webhook deliveries and their REST API).
 */
export const LOCAL_PORTS = {
  emulator: 4566,
  awsFaultProxy: 4567,
  accounting: 4710,
  crm: 4711,
  email: 4712,
  github: 4713,
} as const;

/** The senders whose events feed the flows, each with the mapper of its payloads. */
const SOURCES: HubSettings['sources'] = [
  { name: 'stripe', scheme: 'stripe', mapper: 'stripe' },
  { name: 'shopify', scheme: 'shopify', mapper: 'shopify' },
  { name: 'github', scheme: 'github', mapper: 'github' },
  { name: 'crm', scheme: 'standard-webhooks', mapper: 'crm' },
];

/**
 * Sources of the other schemes, with no mapper (their events are kept as `webhook.unrouted`), deployed
 * locally so every scheme is exercised end to end. Twilio signs the URL it called: in production that is
 * your public (custom-domain) URL; locally a fixed one that `npm run send` and the tests sign with.
 */
const LOCAL_ONLY_SOURCES: HubSettings['sources'] = [
  { name: 'slack', scheme: 'slack' },
  { name: 'twilio', scheme: 'twilio', publicUrl: 'https://hooks.switchyard.localhost/webhooks/twilio' },
  {
    name: 'acme',
    scheme: 'hmac',
    signatureHeader: 'X-Acme-Signature',
    algorithm: 'sha512',
    encoding: 'base64',
    prefix: 'sha512=',
    timestampHeader: 'X-Acme-Timestamp',
    eventId: { field: 'id' },
    eventType: { header: 'X-Acme-Event' },
  },
  { name: 'bulk', scheme: 'github', maxBodyBytes: 4_500_000 },
  { name: 'rotating', scheme: 'stripe' },
  { name: 'unconfigured', scheme: 'github' },
];

/** Local sources whose secret `npm start` leaves as the stack's placeholder, to show the fail-closed 503. */
export const UNSEEDED_LOCAL_SOURCES: readonly string[] = ['unconfigured'];

/**
 * Settings per stage. `production` is what `npx cdk deploy` builds: replace the systems' base URLs with
 * your own. `local` is what `npm start` deploys to the emulator, calling the local stand-ins.
 */
export const STAGES: Record<string, HubSettings> = {
  production: {
    sources: SOURCES,
    systems: {
      accounting: 'https://accounting.example.com/api',
      crm: 'https://crm.example.com/api',
      email: 'https://email.example.com/api',
    },
  },
  local: {
    sources: [...SOURCES, ...LOCAL_ONLY_SOURCES],
    systems: {
      accounting: `http://127.0.0.1:${LOCAL_PORTS.accounting}`,
      crm: `http://127.0.0.1:${LOCAL_PORTS.crm}`,
      email: `http://127.0.0.1:${LOCAL_PORTS.email}`,
    },
    throttling: { rateLimit: 10_000, burstLimit: 5000 },
    redelivery: { baseSeconds: 1, capSeconds: 4 },
    // Against the GitHub stand-in (local/github-stand-in.ts), which serves this one hook.
    reconcile: {
      github: {
        source: 'github',
        owner: 'octo-org',
        repo: 'switchyard-demo',
        hookId: 4242,
        apiBaseUrl: `http://127.0.0.1:${LOCAL_PORTS.github}`,
      },
    },
    // Short, so a rotation shows locally within seconds.
    secretCacheSeconds: 2,
    // Short, so serve-stale and its end both show within seconds in the F3 end-to-end test.
    secretStaleSeconds: 6,
  },
};
