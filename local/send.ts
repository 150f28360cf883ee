/**
 * `npm run send -- <source> <payload.json> [--event <type>] [--id <delivery id>] [--format json|form] [--fresh]`:
 * signs a payload
 * with the local signing secret of the source and posts it to the local hub, as the vendor would. `--fresh`
 * gives a Stripe event a new `id`, so the hub does not drop it as a redelivery (other sources get a new
 * delivery id in a header unless `--id` is given).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { STAGES } from '../bin/stages.js';
import { runningLocalCloud } from './cloud.js';
import { requestUrl, signWebhook } from './signing.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    event: { type: 'string' },
    id: { type: 'string' },
    format: { type: 'string' },
    fresh: { type: 'boolean' },
  },
});
const [sourceName, payloadFile] = positionals;
const usage =
  'usage: npm run send -- <source> <payload.json> [--event <type>] [--id <delivery id>] [--fresh]';
if (!sourceName || !payloadFile) {
  console.error(usage);
  process.exit(2);
}
const source = STAGES.local?.sources.find((candidate) => candidate.name === sourceName);
if (!source) {
  console.error(
    `unknown source "${sourceName}"; known: ${STAGES.local?.sources.map((s) => s.name).join(', ')}`,
  );
  process.exit(2);
}
const config = await runningLocalCloud();
if (!config) {
  console.error('the local cloud is not running: start it with `npm start`');
  process.exit(1);
}

const original = readFileSync(payloadFile, 'utf8');
const body = values.fresh && source.scheme === 'stripe' ? withNewStripeId(original) : original;
const secret = config.secrets[source.name];
const url = config.webhooks[source.name];
if (!secret || !url) {
  console.error(
    `source "${source.name}" has no local secret: it is left unset on purpose (fail-closed demo)`,
  );
  process.exit(1);
}
const options = {
  ...(values.event ? { eventType: values.event } : {}),
  ...(values.id ? { eventId: values.id } : {}),
  ...(values.format ? { format: values.format as 'json' | 'form' } : {}),
};
const headers = await signWebhook(source, secret, body, options);
const response = await fetch(requestUrl(source, url, body, options), { method: 'POST', headers, body });
console.log(`${response.status} ${await response.text()}`);
process.exit(response.ok ? 0 : 1);

function withNewStripeId(text: string): string {
  const event = JSON.parse(text) as { id?: unknown };
  event.id = `evt_${randomBytes(12).toString('hex')}`;
  return JSON.stringify(event);
}
