import type * as z from 'zod';
import { MappingError } from '../shared/errors.js';

/**
 * Parses a vendor payload with a schema of only the fields a mapper reads (an allowlist: anything else in
 * the payload is dropped).
 * @throws MappingError naming the failing fields, never their values (they may be personal data)
 */
export function parsePayload<T>(schema: z.ZodType<T>, payload: unknown, what: string): T {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
  throw new MappingError(`${what} payload lacks or mistypes: ${fields}`);
}

/** Splits a full name into first and last name at the first space. */
export function splitName(name: string | null | undefined): { firstName?: string; lastName?: string } {
  const trimmed = name?.trim();
  if (!trimmed) return {};
  const space = trimmed.indexOf(' ');
  if (space < 0) return { firstName: trimmed };
  return { firstName: trimmed.slice(0, space), lastName: trimmed.slice(space + 1).trim() };
}
