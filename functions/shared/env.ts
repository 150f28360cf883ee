import type * as z from 'zod';
import { ConfigurationError } from './errors.js';

/**
 * Reads a required environment variable. Call at module load so a misconfigured function fails on its
 * first start, not on its first event.
 * @throws ConfigurationError when the variable is missing or empty
 */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '')
    throw new ConfigurationError(`environment variable ${name} is not set`);
  return value;
}

/**
 * Reads a required environment variable holding JSON and checks it against a schema.
 * @throws ConfigurationError when missing, not JSON or not of the schema's shape
 */
export function jsonEnv<T>(name: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(requiredEnv(name));
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError(`environment variable ${name} is not valid JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConfigurationError(`environment variable ${name}: ${parsed.error.message}`);
  return parsed.data;
}
