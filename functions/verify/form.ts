const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The fields of a form body: name → values, in the order they were sent (a repeated name has several). */
export type FormFields = ReadonlyMap<string, readonly string[]>;

/**
 * Parses an `application/x-www-form-urlencoded` body strictly: UTF-8 text, `&`-separated `name=value` pairs
 * (a pair without `=` has an empty value, empty pairs are skipped, as in the WHATWG URL standard), `+` for
 * a space and well-formed `%XX` escapes of UTF-8 only. A lenient parser (URLSearchParams) keeps malformed
 * escapes as text and replaces invalid bytes, so that different bodies would read as the same fields.
 *
 * Source: https://url.spec.whatwg.org/#application/x-www-form-urlencoded
 * @returns the fields, or `undefined` when the body is not such a form
 */
export function parseForm(body: Buffer): FormFields | undefined {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return undefined;
  }
  const fields = new Map<string, string[]>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const name = decodeComponent(separator === -1 ? pair : pair.slice(0, separator));
    const value = decodeComponent(separator === -1 ? '' : pair.slice(separator + 1));
    if (name === undefined || value === undefined) return undefined;
    fields.set(name, [...(fields.get(name) ?? []), value]);
  }
  return fields;
}

/**
 * The fields of a form body as the `payload` a scheme's `identify` takes: an object without prototype,
 * name → value, or → every value in order for a repeated name.
 * @returns the object, or `undefined` when the body is not such a form (see `parseForm`)
 */
export function formPayload(body: Buffer): Record<string, string | string[]> | undefined {
  const fields = parseForm(body);
  if (!fields) return undefined;
  const payload: Record<string, string | string[]> = Object.create(null);
  for (const [name, values] of fields) payload[name] = values.length === 1 ? (values[0] ?? '') : [...values];
  return payload;
}

function decodeComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}
