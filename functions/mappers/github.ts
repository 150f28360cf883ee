import * as z from 'zod';
import { type CanonicalPayload, GITHUB_DETAIL_TYPE_PREFIX } from '../contracts.js';
import { parsePayload } from './parse.js';

const GithubPayload = z.object({
  action: z.string().optional(),
  repository: z.object({ full_name: z.string() }).optional(),
  sender: z.object({ login: z.string() }).optional(),
});

/**
 * Maps any GitHub event to `github.<X-GitHub-Event>` (e.g. `github.push`), keeping only the action, the
 * repository's full name and the sender's login, for the audit queue.
 *
 * Source: https://docs.github.com/en/webhooks/webhook-events-and-payloads
 * @throws MappingError when one of those fields has the wrong type
 */
export function mapGithub(eventType: string, payload: unknown, eventKey: string): CanonicalPayload {
  const body = parsePayload(GithubPayload, payload, `github ${eventType}`);
  return {
    detailType: `${GITHUB_DETAIL_TYPE_PREFIX}${eventType}`,
    detail: {
      eventKey,
      event: eventType,
      ...(body.action ? { action: body.action } : {}),
      ...(body.repository ? { repository: body.repository.full_name } : {}),
      ...(body.sender ? { sender: body.sender.login } : {}),
    },
  };
}
