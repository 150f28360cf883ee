/** Helpers for end-to-end tests: signed requests to the local hub, and what the stand-ins received. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { inject } from 'vitest';
import { STAGES } from '../../bin/stages.js';
import type { SourceName } from '../../functions/contracts.js';
import { awsClients } from '../../local/aws-clients.js';
import { type SignOptions, signWebhook } from '../../local/signing.js';
import type { RecordedRequest, StandInName } from '../../local/stand-ins.js';

export const cloud = () => inject('localCloud');

/** AWS clients pointed at the local cloud's emulator. */
export const aws = () => awsClients(cloud().emulator);

/** Physical id of the stack's resource of `type` whose logical id starts with `prefix` (a queue's URL, …). */
export async function physicalId(type: string, prefix: string): Promise<string> {
  const { StackResourceSummaries = [] } = await aws().cloudformation.send(
    new ListStackResourcesCommand({ StackName: 'Switchyard' }),
  );
  const resource = StackResourceSummaries.find(
    (summary) => summary.ResourceType === type && summary.LogicalResourceId?.startsWith(prefix),
  );
  if (!resource?.PhysicalResourceId) throw new Error(`no ${type} ${prefix}* in the stack`);
  return resource.PhysicalResourceId;
}

/** A fixture from test/fixtures, parsed. */
export function fixture<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', path), 'utf8')) as T;
}

/** A short unique suffix, so each test's events and effects are its own. */
export const unique = () => randomUUID().slice(0, 8);

/** Posts `body` to the source's webhook URL, signed with the source's local secret (or `secret`). */
export async function post(
  source: SourceName,
  body: string,
  options: SignOptions & { secret?: string; tamper?: (body: string) => string } = {},
) {
  const scheme = STAGES.local?.sources.find((candidate) => candidate.name === source)?.scheme;
  if (!scheme) throw new Error(`no source ${source}`);
  const headers = await signWebhook(scheme, options.secret ?? cloud().secrets[source], body, options);
  const response = await fetch(cloud().webhooks[source], {
    method: 'POST',
    headers,
    body: options.tamper ? options.tamper(body) : body,
  });
  return {
    status: response.status,
    body: (await response.json().catch(() => null)) as unknown,
    headers: response.headers,
  };
}

/** Every request a stand-in received so far. */
export async function received(standIn: StandInName): Promise<RecordedRequest[]> {
  const response = await fetch(`${cloud().standIns[standIn]}/_requests`);
  return (await response.json()) as RecordedRequest[];
}

/** Polls `check` until it returns a value other than `undefined`, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Waits `ms` milliseconds: used only to give a wrongly-delivered duplicate time to show up. */
export const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
