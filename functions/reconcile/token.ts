/** A token secret that is set but cannot be used: the run fails, so the function's error alarm pages. */
export class ApiTokenInvalidError extends Error {
  override readonly name = 'ApiTokenInvalidError';
}

/**
 * Reads the GitHub API token from its Secrets Manager value. Two shapes are accepted: the bare token
 * (`github_pat_…`, `ghp_…`, an installation token), or JSON `{"token": "<token>"}`. The placeholder the stack
 * creates (`{"status": "unset", …}`) and an empty value mean the token is not set yet.
 *
 * @returns the token, or `undefined` while it is not set
 * @throws ApiTokenInvalidError when the value is neither (the message never contains the value)
 */
export function parseApiToken(value: string | undefined): string | undefined {
  const text = value?.trim() ?? '';
  if (text === '') return undefined;
  let token: unknown = text;
  if (text.startsWith('{')) {
    let document: Record<string, unknown>;
    try {
      document = (JSON.parse(text) ?? {}) as Record<string, unknown>;
    } catch {
      throw new ApiTokenInvalidError('the token secret is not valid JSON');
    }
    if (document.status === 'unset' && document.token === undefined) return undefined;
    token = document.token;
  }
  // A header value cannot hold whitespace or control characters; a pasted line break is the usual cause.
  if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
    throw new ApiTokenInvalidError('the token secret holds no usable token (a bare token or {"token": "…"})');
  }
  return token;
}
