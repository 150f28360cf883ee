/**
 * The two GitHub REST API calls the reconciliation makes, with native `fetch` (no Octokit: the bundle stays
 * small), for one repository webhook:
 * - `GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries?per_page=100[&cursor=…]`, newest first, paged with
 *   the cursor of the `Link: <…>; rel="next"` header
 *   (https://docs.github.com/en/rest/repos/webhooks#list-deliveries-for-a-repository-webhook);
 * - `POST /repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts`, answered 202
 *   (https://docs.github.com/en/rest/repos/webhooks#redeliver-a-delivery-for-a-repository-webhook).
 *
 * Every call sends `Accept: application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28` and the token as
 * `Authorization: Bearer …`, has a timeout, follows no redirect, and only ever goes to the configured API
 * root: the next page is requested by its cursor, never by the URL in the `Link` header. Failures are
 * classified: `GitHubAccessError` (401, 403 that is not a rate limit, 404: the token or the hook is wrong),
 * `GitHubUnavailableError` (5xx, 429, a rate-limit 403, network errors, timeouts: try again later),
 * `GitHubResponseError` (any other answer). Error messages name the hook, never the token.
 */
import * as z from 'zod';
import { parseRetryAfter } from '../connectors/http.js';
import type { GitHubHook } from './settings.js';

/** The REST API version the calls are written against (https://docs.github.com/en/rest/about-the-rest-api/api-versions). */
export const GITHUB_API_VERSION = '2022-11-28';
/** Largest page GitHub serves for deliveries. */
export const MAX_PER_PAGE = 100;
/** Longest wait for one call, milliseconds. */
export const CALL_TIMEOUT_MS = 10_000;

/** One delivery attempt as the deliveries list shows it (fields the reconciliation reads). */
export const HookDelivery = z.object({
  /** This attempt's id: what a redelivery is requested for. */
  id: z.number().int(),
  /** The event's id, the same for every attempt: the `X-GitHub-Delivery` header. */
  guid: z.string().min(1),
  /** When the attempt was made, ISO 8601. */
  delivered_at: z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'not a date'),
  /** Whether the attempt was a redelivery. */
  redelivery: z.boolean(),
  /** `OK`, or what went wrong (`Invalid HTTP Response: 503`, `timed out`, …). */
  status: z.string(),
  /** The receiver's HTTP status; 0 when no answer came. */
  status_code: z.number().int(),
  /** The `X-GitHub-Event`, e.g. `push`. */
  event: z.string(),
  action: z.string().nullish(),
});
export type HookDelivery = z.infer<typeof HookDelivery>;

const DeliveryPage = z.array(HookDelivery);

/** The token is not accepted, lacks a permission, or the repository or hook does not exist (for this token). */
export class GitHubAccessError extends Error {
  override readonly name = 'GitHubAccessError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** GitHub did not answer usefully now (5xx, 429, rate limit, network, timeout): the same call may succeed later. */
export class GitHubUnavailableError extends Error {
  override readonly name = 'GitHubUnavailableError';
  constructor(
    message: string,
    /** GitHub's `Retry-After`, seconds, when it sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** GitHub answered something the reconciliation does not expect (a malformed list, a 400 or 422). */
export class GitHubResponseError extends Error {
  override readonly name = 'GitHubResponseError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface GitHubDeliveriesApiOptions {
  readonly hook: GitHubHook;
  /** A token allowed to read and redeliver the hook's deliveries (fine-grained: "Webhooks" read and write). */
  readonly token: string;
  /** Time left for the whole run, milliseconds; each call times out before it runs out. */
  readonly remainingTimeMs: () => number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** The deliveries of one repository webhook. */
export class GitHubDeliveriesApi {
  /** `owner/repo hook <id>`, for messages. */
  readonly hookName: string;
  private readonly hookPath: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: GitHubDeliveriesApiOptions) {
    const { owner, repo, hookId } = options.hook;
    this.hookName = `${owner}/${repo} hook ${hookId}`;
    this.hookPath = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/hooks/${hookId}/deliveries`;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * One page of deliveries, newest first.
   * @param cursor the `cursor` of the previous page's `rel="next"` link; absent for the first page
   * @returns the page and the next page's cursor (absent on the last page)
   * @throws GitHubAccessError | GitHubUnavailableError | GitHubResponseError
   */
  async listPage(cursor?: string): Promise<{ deliveries: HookDelivery[]; nextCursor?: string }> {
    const query = new URLSearchParams({ per_page: String(MAX_PER_PAGE), ...(cursor ? { cursor } : {}) });
    const response = await this.call('GET', `${this.hookPath}?${query}`, 'list deliveries');
    if (response.status !== 200) throw this.unexpected('list deliveries', response.status);
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      throw new GitHubResponseError(`list deliveries of ${this.hookName}: the answer is not JSON`, 200);
    }
    const page = DeliveryPage.safeParse(body);
    if (!page.success) {
      throw new GitHubResponseError(
        `list deliveries of ${this.hookName}: unexpected shape: ${page.error.issues[0]?.message ?? ''}`,
        200,
      );
    }
    const nextCursor = nextCursorOf(response.link);
    return { deliveries: page.data, ...(nextCursor ? { nextCursor } : {}) };
  }

  /**
   * Asks GitHub to deliver an attempt's payload again (same `X-GitHub-Delivery`); GitHub answers 202 and
   * delivers shortly after, recording a new attempt with `redelivery: true`.
   * @throws GitHubAccessError | GitHubUnavailableError; GitHubResponseError when GitHub refuses this one
   *   delivery (400, 404 for a delivery it no longer keeps, 422)
   */
  async redeliver(deliveryId: number): Promise<void> {
    const what = `redeliver ${deliveryId}`;
    const response = await this.call('POST', `${this.hookPath}/${deliveryId}/attempts`, what).catch(
      (error: unknown) => {
        // The list just read the hook, so a 404 here is about this delivery (GitHub keeps them 3 days).
        if (error instanceof GitHubAccessError && error.status === 404) throw this.unexpected(what, 404);
        throw error;
      },
    );
    if (response.status !== 202 && response.status !== 200) {
      throw this.unexpected(what, response.status);
    }
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    what: string,
  ): Promise<{ status: number; text: string; link: string | null }> {
    const timeoutMs = Math.min(CALL_TIMEOUT_MS, this.options.remainingTimeMs());
    if (timeoutMs <= 0) throw new GitHubUnavailableError(`${what} of ${this.hookName}: no time left`);
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(`${this.options.hook.apiBaseUrl}${path}`, {
        method,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          accept: 'application/vnd.github+json',
          'x-github-api-version': GITHUB_API_VERSION,
          authorization: `Bearer ${this.options.token}`,
          'user-agent': 'switchyard-reconcile',
        },
      });
      text = await response.text();
    } catch (error) {
      const reason =
        (error as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : 'network error';
      throw new GitHubUnavailableError(`${what} of ${this.hookName}: ${reason}`);
    }
    const { status, headers } = response;
    const retryAfterSeconds = parseRetryAfter(headers.get('retry-after'));
    const rateLimited =
      status === 429 ||
      (status === 403 && (headers.get('x-ratelimit-remaining') === '0' || retryAfterSeconds !== undefined));
    if (rateLimited || status >= 500) {
      throw new GitHubUnavailableError(
        `${what} of ${this.hookName}: HTTP ${status}${rateLimited ? ' (rate limited)' : ''}`,
        retryAfterSeconds,
      );
    }
    if (status === 401 || status === 403 || status === 404) {
      throw new GitHubAccessError(
        `${what} of ${this.hookName}: HTTP ${status} ${messageOf(text)}: check that the hook exists and that ` +
          'the token is valid and may read and write its webhooks',
        status,
      );
    }
    return { status, text, link: headers.get('link') };
  }

  private unexpected(what: string, status: number): GitHubResponseError {
    return new GitHubResponseError(`${what} of ${this.hookName}: HTTP ${status}`, status);
  }
}

/**
 * The `cursor` query parameter of the `rel="next"` link of a `Link` header (RFC 8288), e.g.
 * `<https://api.github.com/…/deliveries?per_page=100&cursor=v1_123>; rel="next"` → `v1_123`.
 */
export function nextCursorOf(link: string | null): string | undefined {
  for (const part of (link ?? '').split(',')) {
    const [target = '', ...params] = part.split(';');
    const url = /^\s*<([^>]*)>\s*$/.exec(target)?.[1];
    const rel = params
      .map((param) => /^\s*rel\s*=\s*"?([^"]*)"?\s*$/i.exec(param)?.[1])
      .find((value) => value !== undefined);
    if (url === undefined || !rel?.split(/\s+/).includes('next')) continue;
    try {
      return new URL(url).searchParams.get('cursor') ?? undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** GitHub's error `message`, short, for logs. */
function messageOf(text: string): string {
  try {
    const { message } = JSON.parse(text) as { message?: unknown };
    return typeof message === 'string' ? `(${message.slice(0, 120)})` : '';
  } catch {
    return '';
  }
}
