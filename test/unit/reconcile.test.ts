import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GitHubAccessError,
  GitHubDeliveriesApi,
  GitHubUnavailableError,
  type HookDelivery,
  nextCursorOf,
} from '../../functions/reconcile/github-api.js';
import { findMissing, reconcileDeliveries } from '../../functions/reconcile/reconcile.js';
import { ApiTokenInvalidError, parseApiToken } from '../../functions/reconcile/token.js';
import { json, type ReceivedRequest, startServer, type TestServer } from './support/http-server.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const TOKEN = 'github_pat_11ABCDEFG0123456789_unit';
const HOOK_PATH = '/repos/octo-org/switchyard-demo/hooks/4242/deliveries';

let nextId = 1000;
/** One attempt `minutesAgo` before NOW; `status_code` 0 means no answer. */
function attempt(guid: string, minutesAgo: number, statusCode: number, redelivery = false): HookDelivery {
  nextId += 1;
  return {
    id: nextId,
    guid,
    delivered_at: new Date(NOW - minutesAgo * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    redelivery,
    status: statusCode >= 200 && statusCode < 300 ? 'OK' : `Invalid HTTP Response: ${statusCode}`,
    status_code: statusCode,
    event: 'push',
    action: null,
  };
}

/** Newest first, as GitHub lists them. */
const newestFirst = (deliveries: HookDelivery[]) =>
  deliveries.toSorted((a, b) => Date.parse(b.delivered_at) - Date.parse(a.delivered_at) || b.id - a.id);

interface FakeGitHub {
  server: TestServer;
  /** Ids whose redelivery was requested, in order. */
  redelivered: () => number[];
  listCalls: () => ReceivedRequest[];
}

let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

/**
 * GitHub's deliveries API over `deliveries`, `perPage` per page with a `Link` to the next one (pointing at
 * `linkHost` when given), answering the redelivery of each id with `attempts(id)` (default 202).
 */
async function fakeGitHub(
  deliveries: HookDelivery[],
  options: {
    perPage?: number;
    linkHost?: string;
    attempts?: (id: number, response: ServerResponse) => boolean;
    list?: (request: ReceivedRequest, response: ServerResponse) => boolean;
  } = {},
): Promise<FakeGitHub> {
  const listed = newestFirst(deliveries);
  const perPage = options.perPage ?? 100;
  const server = await startServer((request, response) => {
    const url = new URL(request.path, 'http://github.test');
    if (request.method === 'GET' && url.pathname === HOOK_PATH) {
      if (options.list?.(request, response)) return;
      const start = Number(url.searchParams.get('cursor')?.replace('v1_', '') ?? 0);
      const page = listed.slice(start, start + perPage);
      const more = start + perPage < listed.length;
      const host = options.linkHost ?? server.baseUrl;
      json(
        response,
        200,
        page,
        more ? { link: `<${host}${HOOK_PATH}?per_page=100&cursor=v1_${start + perPage}>; rel="next"` } : {},
      );
      return;
    }
    const redelivery = /\/deliveries\/(\d+)\/attempts$/.exec(url.pathname);
    if (request.method === 'POST' && redelivery) {
      const id = Number(redelivery[1]);
      if (options.attempts?.(id, response)) return;
      json(response, 202, {});
      return;
    }
    json(response, 404, { message: 'Not Found' });
  });
  servers.push(server);
  return {
    server,
    redelivered: () =>
      server.requests
        .filter((request) => request.method === 'POST')
        .map((request) => Number(/\/deliveries\/(\d+)\/attempts$/.exec(request.path)?.[1])),
    listCalls: () => server.requests.filter((request) => request.method === 'GET'),
  };
}

function apiFor(github: FakeGitHub, remainingTimeMs = () => 60_000): GitHubDeliveriesApi {
  return new GitHubDeliveriesApi({
    hook: { owner: 'octo-org', repo: 'switchyard-demo', hookId: 4242, apiBaseUrl: github.server.baseUrl },
    token: TOKEN,
    remainingTimeMs,
  });
}

const options = {
  nowMs: NOW,
  lookBackMs: 120 * 60_000,
  maxRedeliveries: 50,
  maxAttemptsPerEvent: 6,
  remainingTimeMs: () => 60_000,
  retryDelayMs: 0,
};

describe('findMissing', () => {
  it('groups attempts by guid: an event with any 2xx attempt is not missing, even after failures', () => {
    // Prepare
    const deliveries = [attempt('a', 30, 503), attempt('a', 20, 202, true), attempt('b', 10, 0)];

    // Act
    const missing = findMissing(deliveries);

    // Assess
    expect(missing.map((event) => event.guid)).toEqual(['b']);
  });

  it('picks the most recent failed attempt of an event and counts its failed attempts', () => {
    // Prepare
    const first = attempt('a', 50, 503);
    const latest = attempt('a', 5, 502, true);
    const middle = attempt('a', 30, 0, true);

    // Act
    const [event] = findMissing([first, latest, middle]);

    // Assess
    expect(event).toMatchObject({ guid: 'a', failedAttempts: 3, latest: { id: latest.id } });
    expect(event?.firstAttemptAtMs).toBe(Date.parse(first.delivered_at));
  });

  it('orders missing events by fewest failed attempts, then oldest first', () => {
    // Prepare
    const deliveries = [
      attempt('often', 60, 500),
      attempt('often', 40, 500, true),
      attempt('recent', 5, 500),
      attempt('older', 50, 500),
    ];

    // Act
    const missing = findMissing(deliveries);

    // Assess
    expect(missing.map((event) => event.guid)).toEqual(['older', 'recent', 'often']);
  });
});

describe('reconcileDeliveries', () => {
  it('follows the pages by cursor and stops listing once an attempt is older than the window', async () => {
    // Prepare: 250 attempts, one a minute, 100 a page: the window (120 min) ends on the second page
    const deliveries = Array.from({ length: 250 }, (_, n) => attempt(`g${n}`, n, 202));
    const github = await fakeGitHub(deliveries, { perPage: 100 });

    // Act
    const report = await reconcileDeliveries(apiFor(github), options);

    // Assess
    expect(
      github.listCalls().map((call) => new URL(call.path, 'http://x').searchParams.get('cursor')),
    ).toEqual([null, 'v1_100']);
    expect(report).toMatchObject({ listed: 121, complete: true, missing: [] });
  });

  it('sends the API version, the JSON media type and the token as a bearer token', async () => {
    // Prepare
    const github = await fakeGitHub([attempt('a', 1, 202)]);

    // Act
    await reconcileDeliveries(apiFor(github), options);

    // Assess
    expect(github.listCalls()[0]?.headers).toMatchObject({
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      authorization: `Bearer ${TOKEN}`,
    });
    expect(github.listCalls()[0]?.path).toBe(`${HOOK_PATH}?per_page=100`);
  });

  it('asks the configured API for the next page even when the Link header names another host', async () => {
    // Prepare: a Link to a host that must never receive the token
    const elsewhere = await startServer((_, response) => json(response, 200, []));
    servers.push(elsewhere);
    const deliveries = Array.from({ length: 3 }, (_, n) => attempt(`g${n}`, n, 202));
    const github = await fakeGitHub(deliveries, { perPage: 2, linkHost: elsewhere.baseUrl });

    // Act
    const report = await reconcileDeliveries(apiFor(github), options);

    // Assess
    expect(elsewhere.requests).toEqual([]);
    expect(github.listCalls()).toHaveLength(2);
    expect(report.listed).toBe(3);
  });

  it('redelivers the latest failed attempt of each missing event once, and not an event later delivered OK', async () => {
    // Prepare
    const latestOfA = attempt('a', 10, 503, true);
    const deliveries = [
      attempt('a', 40, 503),
      latestOfA,
      attempt('b', 30, 0),
      attempt('b', 29, 202, true),
      attempt('c', 5, 202),
    ];
    const github = await fakeGitHub(deliveries);

    // Act
    const report = await reconcileDeliveries(apiFor(github), options);

    // Assess
    expect(github.redelivered()).toEqual([latestOfA.id]);
    expect(report.missing.map((event) => event.guid)).toEqual(['a']);
    expect(report.redelivered.map((event) => event.guid)).toEqual(['a']);
  });

  it('ignores attempts older than the window', async () => {
    // Prepare
    const github = await fakeGitHub([attempt('old', 121, 503), attempt('new', 1, 202)]);

    // Act
    const report = await reconcileDeliveries(apiFor(github), options);

    // Assess
    expect(report.missing).toEqual([]);
    expect(github.redelivered()).toEqual([]);
  });

  it('redelivers at most the cap per run, fewest attempts first, and defers the rest', async () => {
    // Prepare: 4 missing events, cap 2; 'retried' already failed twice
    const deliveries = [
      attempt('retried', 90, 503),
      attempt('retried', 80, 503, true),
      attempt('first', 70, 503),
      attempt('second', 60, 503),
      attempt('third', 50, 503),
    ];
    const github = await fakeGitHub(deliveries);

    // Act
    const report = await reconcileDeliveries(apiFor(github), { ...options, maxRedeliveries: 2 });

    // Assess
    expect(report.redelivered.map((event) => event.guid)).toEqual(['first', 'second']);
    expect(report.deferred.map((event) => event.guid)).toEqual(['third', 'retried']);
    expect(github.redelivered()).toHaveLength(2);
  });

  it('gives up an event that failed maxAttemptsPerEvent times instead of redelivering it again', async () => {
    // Prepare
    const deliveries = [
      attempt('poison', 60, 400),
      attempt('poison', 50, 400, true),
      attempt('poison', 40, 400, true),
    ];
    const github = await fakeGitHub(deliveries);

    // Act
    const report = await reconcileDeliveries(apiFor(github), { ...options, maxAttemptsPerEvent: 3 });

    // Assess
    expect(report.gaveUp.map((event) => event.guid)).toEqual(['poison']);
    expect(report.missing).toHaveLength(1);
    expect(github.redelivered()).toEqual([]);
  });

  it('reports a redelivery GitHub refuses and goes on with the next one', async () => {
    // Prepare
    const gone = attempt('gone', 20, 503);
    const kept = attempt('kept', 10, 503);
    const github = await fakeGitHub([gone, kept], {
      attempts: (id, response) => {
        if (id !== gone.id) return false;
        json(response, 422, { message: 'Validation Failed' });
        return true;
      },
    });

    // Act
    const report = await reconcileDeliveries(apiFor(github), options);

    // Assess
    expect(report.failed.map(({ event }) => event.guid)).toEqual(['gone']);
    expect(report.failed[0]?.reason).toContain('HTTP 422');
    expect(report.redelivered.map((event) => event.guid)).toEqual(['kept']);
    expect(report.abortedBy).toBeUndefined();
  });

  it('retries a redelivery once when GitHub answers 5xx, then stops and defers the rest', async () => {
    // Prepare
    const deliveries = [attempt('a', 30, 503), attempt('b', 20, 503)];
    const github = await fakeGitHub(deliveries, {
      attempts: (_, response) => {
        json(response, 502, { message: 'Server Error' });
        return true;
      },
    });

    // Act
    const report = await reconcileDeliveries(apiFor(github), options);

    // Assess
    expect(github.redelivered()).toHaveLength(2);
    expect(report.abortedBy).toBeInstanceOf(GitHubUnavailableError);
    expect(report.deferred.map((event) => event.guid)).toEqual(['a', 'b']);
    expect(report.redelivered).toEqual([]);
  });

  it('stops redelivering when the run has no time left for another call', async () => {
    // Prepare
    const github = await fakeGitHub([attempt('a', 30, 503), attempt('b', 20, 503)]);
    let remaining = 60_000;

    // Act
    const report = await reconcileDeliveries(apiFor(github), {
      ...options,
      remainingTimeMs: () => {
        remaining -= 25_000;
        return remaining;
      },
    });

    // Assess
    expect(report.redelivered.map((event) => event.guid)).toEqual(['a']);
    expect(report.deferred.map((event) => event.guid)).toEqual(['b']);
  });

  it.each([
    [401, {}, GitHubAccessError],
    [403, {}, GitHubAccessError],
    [404, {}, GitHubAccessError],
    [403, { 'x-ratelimit-remaining': '0' }, GitHubUnavailableError],
    [429, {}, GitHubUnavailableError],
    [503, {}, GitHubUnavailableError],
  ] as const)('classifies a %i (%o) on the list', async (status, headers, errorClass) => {
    // Prepare
    const github = await fakeGitHub([], {
      list: (_, response) => {
        json(response, status, { message: 'nope' }, headers);
        return true;
      },
    });

    // Act
    const run = reconcileDeliveries(apiFor(github), options);

    // Assess
    await expect(run).rejects.toBeInstanceOf(errorClass);
    await expect(run).rejects.toThrow('octo-org/switchyard-demo hook 4242');
  });

  it('lists again once after GitHub was unavailable, and goes on when the retry succeeds', async () => {
    // Prepare
    let calls = 0;
    const github = await fakeGitHub([attempt('a', 3, 503)], {
      list: (_, response) => {
        calls += 1;
        if (calls > 1) return false;
        json(response, 500, { message: 'Server Error' });
        return true;
      },
    });

    // Act
    const report = await reconcileDeliveries(apiFor(github), options);

    // Assess
    expect(github.listCalls()).toHaveLength(2);
    expect(report.redelivered.map((event) => event.guid)).toEqual(['a']);
  });

  it('fails on a list whose entries lack the delivery fields', async () => {
    // Prepare
    const github = await fakeGitHub([], {
      list: (_, response) => {
        json(response, 200, [{ id: 1, guid: 'a' }]);
        return true;
      },
    });

    // Act
    const run = reconcileDeliveries(apiFor(github), options);

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'GitHubResponseError' });
  });

  it('times out a call that GitHub does not answer', async () => {
    // Prepare: the list never answers; the run has 150 ms left
    const github = await fakeGitHub([], { list: () => true });

    // Act
    const run = reconcileDeliveries(
      apiFor(github, () => 150),
      { ...options, remainingTimeMs: () => 150 },
    );

    // Assess
    await expect(run).rejects.toThrow(/timed out after 150 ms/);
  });
});

describe('nextCursorOf', () => {
  it.each([
    ['<https://api.github.com/repos/o/r/hooks/1/deliveries?per_page=100&cursor=v1_99>; rel="next"', 'v1_99'],
    [
      '<https://api.github.com/x?cursor=v1_1>; rel="prev", <https://api.github.com/x?cursor=v1_7>; rel="next"',
      'v1_7',
    ],
    ['<https://api.github.com/x?cursor=v1_1>; rel="prev"', undefined],
    ['<https://api.github.com/x?per_page=100>; rel="next"', undefined],
    ['garbage', undefined],
    [null, undefined],
  ])('reads %s as %s', (link, cursor) => {
    expect(nextCursorOf(link)).toBe(cursor);
  });
});

describe('parseApiToken', () => {
  it.each([
    ['a bare token', ` ${TOKEN}\n`, TOKEN],
    ['JSON with a token', JSON.stringify({ token: TOKEN }), TOKEN],
    ['the placeholder', JSON.stringify({ status: 'unset', placeholder: 'x1y2' }), undefined],
    ['an empty value', '', undefined],
  ])('reads %s', (_, value, expected) => {
    expect(parseApiToken(value)).toBe(expected);
  });

  it.each([
    ['malformed JSON', '{"token": '],
    ['JSON without a token', '{"pat": "x"}'],
    ['a token with a line break inside', 'ghp_abc\ndef'],
  ])('refuses %s without echoing it', (_, value) => {
    expect(() => parseApiToken(value)).toThrow(ApiTokenInvalidError);
    try {
      parseApiToken(value);
    } catch (error) {
      expect((error as Error).message).not.toContain(value);
    }
  });
});
