import type { HubSettings } from '../lib/config.js';

/** Ports of the local cloud: the emulator, and the stand-ins for the company's systems. */
export const LOCAL_PORTS = { emulator: 4566, accounting: 4710, crm: 4711, email: 4712 } as const;

const SOURCES: HubSettings['sources'] = [
  { name: 'stripe', scheme: 'stripe' },
  { name: 'shopify', scheme: 'shopify' },
  { name: 'github', scheme: 'github' },
  { name: 'crm', scheme: 'standard-webhooks' },
];

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
    sources: SOURCES,
    systems: {
      accounting: `http://127.0.0.1:${LOCAL_PORTS.accounting}`,
      crm: `http://127.0.0.1:${LOCAL_PORTS.crm}`,
      email: `http://127.0.0.1:${LOCAL_PORTS.email}`,
    },
    throttling: { rateLimit: 10_000, burstLimit: 5000 },
    redelivery: { baseSeconds: 1, capSeconds: 4 },
  },
};
