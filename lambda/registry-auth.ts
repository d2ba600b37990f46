/**
 * Authenticated registry reads: ECR Public's authenticated pull quota (10 per
 * second per account, adjustable) instead of the anonymous one (1 per second
 * per IP, not adjustable).
 *
 * GetAuthorizationToken (the ECR Public API, us-east-1 only; IAM:
 * ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken) answers
 * `authorizationToken`, the base64 of `AWS:<password>`, valid for 12 hours.
 * That is the value of an HTTP Basic header, which the registry's token realm
 * (from the bearer challenge) exchanges for a bearer token of the
 * authenticated class, as `docker login` then `docker pull` do.
 *
 * When there are no credentials (GetAuthorizationToken refused: no IAM
 * permission, another Region, an outage) or the realm refuses them, reads go
 * anonymous, and `access.why` says so. The credentials and the bearer tokens
 * are held in `Secret`s, which print as `[secret]` (in a log line, in JSON,
 * in util.inspect); a reason built from an answer is scrubbed of them. Basic
 * credentials go only to a realm of the registry's own origin, over HTTPS
 * (or to a loopback address, for tests), and never follow a redirect.
 */
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr-public';
import { inspect } from 'node:util';
import { parseBearerChallenge } from './bearer-challenge';

/** A string that must never be logged: it prints as `[secret]`; `reveal()` gives the value, for a header. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[secret]';
  }
  toJSON(): string {
    return '[secret]';
  }
  [inspect.custom](): string {
    return '[secret]';
  }
}

/** Credentials for the token realm, from GetAuthorizationToken. */
export interface RegistryCredentials {
  /** The Basic credentials: base64 of `AWS:<password>`. */
  readonly basic: Secret;
  /** Epoch milliseconds when they expire, if the answer said. */
  readonly expiresAt?: number;
}

/** How the reads of an event are authorized. */
export type RegistryAccess = { readonly kind: 'authenticated' } | { readonly kind: 'anonymous'; readonly why: string };

/** A bearer token from the realm, and the access it gives. */
export interface BearerToken {
  /** `Bearer <token>`, the value of the Authorization header. */
  readonly header: Secret;
  readonly access: RegistryAccess;
  /** The realm's `expires_in`, in seconds, if it gave one. */
  readonly expiresInSeconds?: number;
}

/** One GET's answer, or why none came. */
export type RealmAnswer = { readonly status: number; readonly body: string } | { readonly cause: string };

/** How to GET a realm URL (headers may carry credentials: a redirect must not be followed with them). */
export type RealmGet = (url: string, headers: Readonly<Record<string, string>>) => Promise<RealmAnswer>;

/**
 * The Region that serves GetAuthorizationToken: ECR Public answers it there
 * only ("GetAuthorizationToken command is only supported in us-east-1."),
 * whatever region serves the deletion's other calls.
 */
export const AUTHORIZATION_TOKEN_REGION = 'us-east-1';

/** Longest wait for the token realm, and the most of its answer read. */
export const REALM_TIMEOUT_MS = 10_000;
const MAX_ANSWER_CHARS = 64 * 1024;

/** The subset of the ECR Public client that GetAuthorizationToken needs. */
export interface AuthorizationTokenClient {
  send(
    command: GetAuthorizationTokenCommand,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{
    authorizationData?: { authorizationToken?: string; expiresAt?: Date };
  }>;
}

/**
 * GetAuthorizationToken, through the client given (the service answers it in
 * us-east-1 only): the realm's Basic credentials, or why there are none.
 */
export async function fetchRegistryCredentials(
  client: AuthorizationTokenClient,
  signal?: AbortSignal,
): Promise<RegistryCredentials | { readonly refused: string }> {
  let answer;
  try {
    answer = await client.send(new GetAuthorizationTokenCommand({}), { abortSignal: signal });
  } catch (error) {
    const name = (error as { name?: unknown } | undefined)?.name;
    return {
      refused:
        `GetAuthorizationToken failed: ${typeof name === 'string' ? `${name}: ` : ''}${error instanceof Error ? error.message : String(error)}`.slice(
          0,
          400,
        ),
    };
  }
  const token = answer.authorizationData?.authorizationToken;
  if (typeof token !== 'string' || token === '') return { refused: 'GetAuthorizationToken gave no authorizationToken' };
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return { refused: "GetAuthorizationToken's authorizationToken is not the base64 of user:password" };
  const expiresAt = answer.authorizationData?.expiresAt?.getTime();
  return { basic: new Secret(token), ...(expiresAt !== undefined && Number.isFinite(expiresAt) ? { expiresAt } : {}) };
}

/** The default GET: fetch with a timeout; a redirect is followed only when no credentials are sent. */
export const fetchRealm: RealmGet = async (url, headers) => {
  try {
    const response = await fetch(url, {
      headers,
      redirect: headers.authorization === undefined ? 'follow' : 'manual',
      signal: AbortSignal.timeout(REALM_TIMEOUT_MS),
    });
    return { status: response.status, body: (await response.text()).slice(0, MAX_ANSWER_CHARS) };
  } catch (error) {
    return { cause: `GET ${url}: ${error instanceof Error ? error.message : String(error)}` };
  }
};

/** Whether Basic credentials may go to `realm`: the registry's own origin, over HTTPS or to a loopback address. */
export function credentialsMayGoTo(realm: URL, registryBase: string): boolean {
  const registry = new URL(registryBase);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(realm.hostname);
  return realm.origin === registry.origin && (realm.protocol === 'https:' || loopback);
}

/** One line for the log: how the reads were authorized. */
export function describeRegistryAccess(access: RegistryAccess): string {
  return access.kind === 'authenticated' ? 'authenticated registry reads' : `anonymous registry reads: ${access.why}`;
}

export interface RegistryAuthorizerOptions {
  /** The registry's scheme and host (e.g. https://public.ecr.aws): Basic credentials go to a realm of that origin only. */
  readonly registryBase: string;
  /** The repository's path, for the scope when the challenge names none. */
  readonly repositoryPath: string;
  /** The credentials, or why there are none; asked once. */
  readonly credentials: () => Promise<RegistryCredentials | { readonly refused: string }>;
  /** How to GET the realm. @default fetchRealm */
  readonly get?: RealmGet;
}

export interface RegistryAuthorizer {
  /**
   * A bearer token for a `WWW-Authenticate: Bearer …` challenge: of the
   * authenticated class when the realm takes the credentials, else anonymous
   * (with why); or the cause, when not even an anonymous one could be had.
   */
  authorize(challenge: string): Promise<BearerToken | { readonly cause: string }>;
  /** How the last token was authorized; undefined before the first. */
  readonly access: RegistryAccess | undefined;
}

/** Opens an authorizer for one event. Nothing is sent until `authorize`. */
export function registryAuthorizer(options: RegistryAuthorizerOptions): RegistryAuthorizer {
  const get = options.get ?? fetchRealm;
  let credentials: Promise<RegistryCredentials | { readonly refused: string }> | undefined;
  /** Why the credentials are not used, once the realm refused them. */
  let refusedByRealm: string | undefined;
  let access: RegistryAccess | undefined;
  const secrets: string[] = [];

  /** A reason from an answer, with every secret of this authorizer cut out. */
  function scrub(text: string): string {
    let clean = text;
    for (const secret of secrets) if (secret.length >= 8) clean = clean.split(secret).join('[secret]');
    return clean.slice(0, 300);
  }

  /** `{"errors":[{"code":…,"message":…}]}`, as the registry words a refusal, or the body's beginning. */
  function said(body: string): string {
    try {
      const error = (JSON.parse(body) as { errors?: Array<{ code?: unknown; message?: unknown }> }).errors?.[0];
      if (error) return scrub(`${String(error.code ?? '')}: ${String(error.message ?? '')}`);
    } catch {
      // Not JSON: the body's beginning says it.
    }
    return scrub(body.slice(0, 120));
  }

  /** A token from the realm's answer, or why there is none. */
  function tokenOf(answer: RealmAnswer, what: string): { token: string; expiresIn?: number } | { why: string } {
    if ('cause' in answer) return { why: `${what}: ${scrub(answer.cause)}` };
    if (answer.status !== 200) return { why: `${what}: HTTP ${answer.status}${answer.body ? ` ${said(answer.body)}` : ''}` };
    try {
      const json = JSON.parse(answer.body) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
      const token = json.token ?? json.access_token;
      if (typeof token !== 'string' || token === '') return { why: `${what}: the answer has no token` };
      secrets.push(token);
      return { token, ...(typeof json.expires_in === 'number' ? { expiresIn: json.expires_in } : {}) };
    } catch {
      return { why: `${what}: the answer is not JSON` };
    }
  }

  return {
    get access() {
      return access;
    },

    async authorize(challenge) {
      const parsed = parseBearerChallenge(challenge);
      if (!parsed) return { cause: `the registry asked for authentication this reader does not do: ${scrub(challenge.slice(0, 200))}` };
      let realm: URL;
      try {
        realm = new URL(parsed.realm);
      } catch {
        return { cause: `the bearer challenge's realm is not a URL: ${scrub(parsed.realm.slice(0, 200))}` };
      }
      // The challenge's parameters go to the realm (service, scope), not its error report (RFC 6750 section 3).
      for (const [name, value] of Object.entries(parsed.params)) {
        if (name !== 'error' && name !== 'error_description' && name !== 'error_uri') realm.searchParams.set(name, value);
      }
      if (!parsed.params.scope) realm.searchParams.set('scope', `repository:${options.repositoryPath}:pull`);

      let why: string;
      if (refusedByRealm !== undefined) {
        why = refusedByRealm;
      } else {
        credentials ??= options.credentials();
        const got = await credentials;
        if ('refused' in got) {
          why = got.refused;
        } else if (!credentialsMayGoTo(realm, options.registryBase)) {
          why = refusedByRealm = `the token realm ${realm.origin} is not the registry's own HTTPS origin: credentials are not sent there`;
        } else {
          const basic = got.basic.reveal();
          secrets.push(
            basic,
            Buffer.from(basic, 'base64').toString('utf8'),
            Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':'),
          );
          const answer = tokenOf(await get(realm.toString(), { authorization: `Basic ${basic}` }), 'the token realm refused the credentials');
          if ('token' in answer) {
            access = { kind: 'authenticated' };
            return {
              header: new Secret(`Bearer ${answer.token}`),
              access,
              ...(answer.expiresIn !== undefined ? { expiresInSeconds: answer.expiresIn } : {}),
            };
          }
          why = refusedByRealm = answer.why;
        }
      }
      const anonymous = tokenOf(await get(realm.toString(), {}), `anonymous token request GET ${realm.origin}${realm.pathname}`);
      if ('why' in anonymous) return { cause: `no registry token: ${anonymous.why} (and authenticated reads are not possible: ${why})` };
      access = { kind: 'anonymous', why };
      return {
        header: new Secret(`Bearer ${anonymous.token}`),
        access,
        ...(anonymous.expiresIn !== undefined ? { expiresInSeconds: anonymous.expiresIn } : {}),
      };
    },
  };
}
