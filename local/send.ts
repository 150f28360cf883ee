/**
 * `npm run send -- <source> <payload.json> [--event <type>] [--id <delivery id>]`: signs a payload with the
 * local signing secret of the source and posts it to the local hub, as the vendor would.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { STAGES } from '../bin/stages.js';
import { runningLocalCloud } from './cloud.js';
import { signWebhook } from './signing.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { event: { type: 'string' }, id: { type: 'string' } },
});
const [sourceName, payloadFile] = positionals;
const usage = 'usage: npm run send -- <source> <payload.json> [--event <type>] [--id <delivery id>]';
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

const body = readFileSync(payloadFile, 'utf8');
const headers = await signWebhook(source.scheme, config.secrets[source.name], body, {
  ...(values.event ? { eventType: values.event } : {}),
  ...(values.id ? { eventId: values.id } : {}),
});
const response = await fetch(config.webhooks[source.name], { method: 'POST', headers, body });
console.log(`${response.status} ${await response.text()}`);
process.exit(response.ok ? 0 : 1);
