/**
 * The `WWW-Authenticate: Bearer …` challenge of a registry (RFC 7235 section
 * 4.1, RFC 6750 section 3), as the registry reader and the authorizer read it.
 */

/** A parsed `WWW-Authenticate: Bearer …` challenge. */
export interface BearerChallenge {
  readonly realm: string;
  /** The other auth-params, names lower-cased (service, scope, error…). */
  readonly params: Record<string, string>;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/**
 * The Bearer challenge of a `WWW-Authenticate` header (RFC 7235 section 4.1,
 * RFC 6750 section 3): among other challenges, its auth-params in any order,
 * each a token or a quoted-string (with quoted-pairs), names matched without
 * regard to case. Undefined without a Bearer challenge or its realm.
 */
export function parseBearerChallenge(header: string): BearerChallenge | undefined {
  let at = 0;
  const skip = (pattern: RegExp) => {
    while (at < header.length && pattern.test(header[at])) at++;
  };
  const token = () => {
    const start = at;
    while (at < header.length && TCHAR.test(header[at])) at++;
    return header.slice(start, at);
  };
  while (at < header.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === '') return undefined;
    const params: Record<string, string> = {};
    // auth-params: name BWS "=" BWS (token / quoted-string), separated by commas; a name not followed by "=" starts the next challenge.
    for (;;) {
      const save = at;
      skip(/[\s,]/);
      const name = token();
      skip(/[ \t]/);
      if (name === '' || header[at] !== '=') {
        at = save;
        break;
      }
      at++;
      skip(/[ \t]/);
      let value = '';
      if (header[at] === '"') {
        for (at++; at < header.length && header[at] !== '"'; at++) value += header[at] === '\\' && at + 1 < header.length ? header[++at] : header[at];
        at++;
      } else {
        value = token();
      }
      params[name.toLowerCase()] = value;
    }
    if (scheme.toLowerCase() === 'bearer') {
      const { realm, ...rest } = params;
      return realm ? { realm, params: rest } : undefined;
    }
    // Another scheme's token68 or params: on to the next challenge.
    skip(/[^,]/);
  }
  return undefined;
}
