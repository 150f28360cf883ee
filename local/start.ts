/**
 * `npm start`: brings the whole hub up on the local cloud, prints how to call it, and keeps it up until
 * Ctrl-C, then stops everything it started.
 */
import { relative } from 'node:path';
import { LOCAL_CONFIG_FILE, startLocalCloud } from './cloud.js';

const startedAt = Date.now();
const cloud = await startLocalCloud((line) => console.log(`switchyard: ${line}`)).catch((error: Error) => {
  console.error(`switchyard: the local cloud did not start: ${error.message}`);
  process.exit(1);
});
const { config } = cloud;
console.log(`
switchyard is up (${((Date.now() - startedAt) / 1000).toFixed(1)} s). Vendors post to:
${Object.entries(config.webhooks)
  .map(([source, url]) => `  ${source.padEnd(8)} ${url}`)
  .join('\n')}
Stand-ins (GET <url>/_requests shows what they received):
${Object.entries(config.standIns)
  .map(([name, url]) => `  ${name.padEnd(10)} ${url}`)
  .join('\n')}
Signing secrets and URLs: ${relative(process.cwd(), LOCAL_CONFIG_FILE)}

Try it:  npm run send -- stripe test/fixtures/stripe/checkout.session.completed.json
         curl ${config.standIns.accounting}/_requests
Ctrl-C stops it.`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nswitchyard: stopping');
    void cloud.stop().then(() => process.exit(0));
  });
}
