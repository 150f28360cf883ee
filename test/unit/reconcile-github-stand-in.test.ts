import { verify } from '@octokit/webhooks-methods';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubAccessError, GitHubDeliveriesApi } from '../../functions/reconcile/github-api.js';
import { reconcileDeliveries } from '../../functions/reconcile/reconcile.js';
import {
  type GitHubStandIn,
  type HookDeliveryRecord,
  startGitHubStandIn,
} from '../../local/github-stand-in.js';
import { json, startServer, type TestServer } from './support/http-server.js';

const TOKEN = 'github_pat_local_unit';
const SECRET = 'c2f1e0d9b8a7c6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1';
const HOOK = { owner: 'octo-org', repo: 'switchyard-demo', hookId: 4242 };
const HOOK_PATH = '/repos/octo-org/switchyard-demo/hooks/4242/deliveries';
const PAYLOAD = { ref: 'refs/heads/main', repository: { full_name: 'octo-org/switchyard-demo' } };

/** Polls `check` every 20 ms until it returns a value other than undefined, for at most 5 s. */
async function eventually<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('timed out');
}

describe('GitHub stand-in', () => {
  let hub: TestServer;
  /** Status the test hub answers to each next delivery; 202 once they are used up. */
  let answers: number[];
  let github: GitHubStandIn;

  beforeEach(async () => {
    answers = [];
    hub = await startServer((_, response) => json(response, answers.shift() ?? 202, { id: 'x' }));
    github = await startGitHubStandIn({
      hook: HOOK,
      token: TOKEN,
      target: { url: `${hub.baseUrl}/webhooks/github`, secret: SECRET },
    });
  });

  afterEach(async () => {
    await github.close();
    await hub.close();
  });

  const deliver = async (event = 'push', payload: object = PAYLOAD): Promise<HookDeliveryRecord> => {
    const response = await fetch(`${github.baseUrl}/_deliver`, {
      method: 'POST',
      body: JSON.stringify({ event, payload }),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as HookDeliveryRecord;
  };
  const recorded = async () =>
    (await (await fetch(`${github.baseUrl}/_deliveries`)).json()) as HookDeliveryRecord[];
  const api = (token = TOKEN, hookId = HOOK.hookId) =>
    new GitHubDeliveriesApi({
      hook: { ...HOOK, hookId, apiBaseUrl: github.baseUrl },
      token,
      remainingTimeMs: () => 60_000,
    });
  const reconcile = () =>
    reconcileDeliveries(api(), {
      nowMs: Date.now(),
      lookBackMs: 7_200_000,
      maxRedeliveries: 50,
      maxAttemptsPerEvent: 6,
      remainingTimeMs: () => 60_000,
      retryDelayMs: 0,
    });
  const toHub = (guid: string) =>
    hub.requests.filter((request) => request.headers['x-github-delivery'] === guid);

  it('delivers a signed event with a new guid and records the hub answer as a failed attempt', async () => {
    // Prepare
    answers = [503];

    // Act
    const record = await deliver();

    // Assess
    expect(record).toMatchObject({
      id: 1,
      redelivery: false,
      status: 'Invalid HTTP Response: 503',
      status_code: 503,
      event: 'push',
    });
    const [request] = toHub(record.guid);
    expect(request?.headers).toMatchObject({
      'x-github-event': 'push',
      'x-github-hook-id': '4242',
      'content-type': 'application/json',
    });
    expect(await verify(SECRET, request?.body ?? '', String(request?.headers['x-hub-signature-256']))).toBe(
      true,
    );
  });

  it('is reconciled: the missing event is redelivered once with the same guid and body, then nothing more', async () => {
    // Prepare
    answers = [503];
    const failed = await deliver();
    const accepted = await deliver();

    // Act
    const first = await reconcile();
    const redelivery = await eventually(async () =>
      (await recorded()).find((record) => record.guid === failed.guid && record.redelivery),
    );
    const second = await reconcile();

    // Assess
    expect(first.redelivered.map((event) => event.guid)).toEqual([failed.guid]);
    expect(redelivery).toMatchObject({ status: 'OK', status_code: 202 });
    const sent = toHub(failed.guid);
    expect(sent).toHaveLength(2);
    expect(sent[1]?.body).toBe(sent[0]?.body);
    expect(await verify(SECRET, sent[1]?.body ?? '', String(sent[1]?.headers['x-hub-signature-256']))).toBe(
      true,
    );
    expect(toHub(accepted.guid)).toHaveLength(1);
    expect(second).toMatchObject({ missing: [], redelivered: [] });
  });

  it('pages the list 100 at a time with a cursor in the Link header', async () => {
    // Prepare
    for (let n = 0; n < 101; n++) await deliver();

    // Act
    const first = await api().listPage();
    const second = await api().listPage(first.nextCursor);

    // Assess
    expect(first.deliveries).toHaveLength(100);
    expect(first.deliveries[0]?.id).toBe(101);
    expect(first.nextCursor).toBeDefined();
    expect(second.deliveries.map((record) => record.id)).toEqual([1]);
    expect(second.nextCursor).toBeUndefined();
  });

  it('answers 401 to a wrong token and 404 to another hook, and records the calls without the token', async () => {
    // Act
    const wrongToken = api('github_pat_wrong').listPage();
    const otherHook = api(TOKEN, 1).listPage();

    // Assess
    await expect(wrongToken).rejects.toMatchObject({ name: GitHubAccessError.name, status: 401 });
    await expect(otherHook).rejects.toMatchObject({ name: GitHubAccessError.name, status: 404 });
    const calls = (await (await fetch(`${github.baseUrl}/_requests`)).json()) as {
      path: string;
      headers: Record<string, string>;
    }[];
    expect(calls.map((call) => call.path)).toEqual([
      `${HOOK_PATH}?per_page=100`,
      '/repos/octo-org/switchyard-demo/hooks/1/deliveries?per_page=100',
    ]);
    expect(JSON.stringify(calls)).not.toContain(TOKEN);
  });
});
