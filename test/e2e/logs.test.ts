import { DescribeLogGroupsCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { stripeEvent } from '../support/bad-inputs.js';
import { aws, cloud, eventually, post, unique } from './hub.js';

/** Every line the functions have logged since `startTime` (epoch ms), from CloudWatch Logs. */
async function functionLogs(startTime: number): Promise<string[]> {
  const { logGroups = [] } = await aws().logs.send(new DescribeLogGroupsCommand({}));
  const lines: string[] = [];
  for (const group of logGroups) {
    let nextToken: string | undefined;
    do {
      const page = await aws().logs.send(
        new FilterLogEventsCommand({ logGroupName: group.logGroupName, nextToken, startTime }),
      );
      lines.push(...(page.events ?? []).map((event) => event.message ?? ''));
      nextToken = page.nextToken;
    } while (nextToken);
  }
  return lines;
}

describe('logs, end to end', () => {
  it('never contain a signing secret, a signature or a raw body, for accepted and rejected webhooks', async () => {
    // Prepare
    const id = unique();
    const body = stripeEvent(`log${id}`);
    const marker = `buyer-log${id}@example.com`;
    const startTime = Date.now() - 1000;

    // Act: one accepted, one tampered, one signed with a wrong secret
    const accepted = await post('stripe', body);
    await post('stripe', body, { tamper: (text) => text.replace('4990', '4991') });
    await post('stripe', body, { secret: `whsec_wrong${id}` });

    // Assess
    expect(accepted.status).toBe(202);
    const lines = await eventually('the ingest log lines of the event', async () => {
      const all = await functionLogs(startTime);
      return all.some((line) => line.includes(`evt_log${id}`)) ? all : undefined;
    });
    const secrets = Object.values(cloud().secrets);
    const leaks = lines.filter(
      (line) =>
        secrets.some((secret) => line.includes(secret)) ||
        line.includes(marker) ||
        /v1=[0-9a-f]{64}|whsec_|sha256=[0-9a-f]{64}/.test(line),
    );
    expect(leaks).toEqual([]);
    expect(lines.some((line) => line.includes('signature rejected'))).toBe(true);
  });
});
