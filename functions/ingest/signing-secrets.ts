import { SigningSecretUnavailableError } from '../shared/errors.js';

/**
 * Reads the active signing secrets of a source from its Secrets Manager value. Two shapes are accepted:
 * - a bare string: one secret, e.g. `whsec_…`;
 * - JSON `{"current": "<secret>", "previous": "<secret>", "previousExpiresAt": "<ISO 8601>"}`: during a
 *   rotation both are accepted until `previousExpiresAt` (without it, until `previous` is removed).
 * The secret the stack creates holds `{"status": "unset", …}` until an operator puts the vendor's secret in;
 * that, an empty value or a malformed document fails closed.
 *
 * @param nowMs current time, epoch milliseconds
 * @returns the active secrets, current first
 * @throws SigningSecretUnavailableError when no usable secret is set
 */
export function parseSigningSecrets(value: string | undefined, nowMs: number): string[] {
  const text = value?.trim() ?? '';
  if (text === '') throw new SigningSecretUnavailableError('signing secret is empty');
  if (!text.startsWith('{')) return [text];

  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new SigningSecretUnavailableError('signing secret is not valid JSON');
  }
  const { current, previous, previousExpiresAt } = (document ?? {}) as Record<string, unknown>;
  if (typeof current !== 'string' || current === '') {
    throw new SigningSecretUnavailableError('signing secret has no "current" value');
  }
  if (typeof previous !== 'string' || previous === '') return [current];
  if (previousExpiresAt === undefined) return [current, previous];
  const expiresAt = typeof previousExpiresAt === 'string' ? Date.parse(previousExpiresAt) : Number.NaN;
  if (Number.isNaN(expiresAt)) {
    throw new SigningSecretUnavailableError('signing secret has a malformed "previousExpiresAt"');
  }
  return expiresAt > nowMs ? [current, previous] : [current];
}
