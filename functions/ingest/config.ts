import { z } from 'zod';
import { SIGNATURE_SCHEMES } from '../contracts.js';

/** Per-source settings the stack passes to the ingest function in `SOURCES` (JSON). No secret values. */
export const IngestSource = z.object({
  scheme: z.enum(SIGNATURE_SCHEMES),
  /** ARN of the Secrets Manager secret holding the signing secret(s). */
  secretArn: z.string().min(1),
  /** Accepted clock difference for signed timestamps, seconds. */
  toleranceSeconds: z.number().int().positive(),
  /** Largest accepted body, bytes. */
  maxBodyBytes: z.number().int().positive(),
});
export type IngestSource = z.infer<typeof IngestSource>;

export const IngestSources = z.record(z.string(), IngestSource);
