/**
 * The emulator's registry credentials: the passwords GetAuthorizationToken
 * issues, and the bearer tokens the token realm hands out, each with the
 * class of pull it authorizes.
 *
 * ECR Public's GetAuthorizationToken answers `authorizationToken`, the base64
 * of `AWS:<password>`, valid for 12 hours (the operation's documentation in
 * the API model); `docker login --username AWS` presents the password to the
 * registry's token realm as Basic credentials, and the realm answers a bearer
 * token for authenticated pulls. A token request without credentials gets an
 * anonymous one. Credentials that the realm does not accept (unknown or
 * expired) are refused with 400 DENIED "Your Authorization Token is invalid.",
 * the answer a field report shows for a bad password (aws/aws-cdk#24244).
 */
import { randomBytes } from 'node:crypto';
import type { PullClass } from './pull-quota';

/** How long a password from GetAuthorizationToken is valid (the operation's documentation: 12 hours). */
export const AUTHORIZATION_TOKEN_VALIDITY_MS = 12 * 60 * 60 * 1000;

/** The user name in every authorization token. */
export const AUTHORIZATION_TOKEN_USER = 'AWS';

/** What GetAuthorizationToken answers, before serialization. */
export interface IssuedAuthorization {
  /** base64 of `AWS:<password>`. */
  readonly authorizationToken: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** The realm's verdict on a token request's Authorization header. */
export type RealmVerdict = { readonly pullClass: PullClass } | { readonly refused: string };

export class RegistryCredentials {
  /** Password -> epoch milliseconds when it expires. */
  private readonly passwords = new Map<string, number>();
  /** Bearer token -> the class of pull it authorizes. */
  private readonly bearers = new Map<string, PullClass>();

  constructor(private readonly now: () => number) {}

  /** GetAuthorizationToken: a new password, valid for 12 hours. */
  issue(): IssuedAuthorization {
    const password = randomBytes(48).toString('base64url');
    const expiresAt = this.now() + AUTHORIZATION_TOKEN_VALIDITY_MS;
    this.passwords.set(password, expiresAt);
    return { authorizationToken: Buffer.from(`${AUTHORIZATION_TOKEN_USER}:${password}`).toString('base64'), expiresAt };
  }

  /**
   * The token realm: no Authorization header is an anonymous request; Basic
   * `AWS:<password>` with a password issued here and not expired is an
   * authenticated one; anything else is refused.
   */
  judge(authorization: string | undefined): RealmVerdict {
    if (authorization === undefined || authorization.trim() === '') return { pullClass: 'anonymous' };
    const basic = /^\s*Basic\s+(\S+)\s*$/i.exec(authorization)?.[1];
    if (basic === undefined) return { refused: 'the token realm takes Basic credentials or none' };
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const [user, password] = colon < 0 ? [decoded, ''] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
    const expiresAt = this.passwords.get(password);
    if (user !== AUTHORIZATION_TOKEN_USER || expiresAt === undefined) return { refused: 'unknown credentials' };
    if (this.now() >= expiresAt) return { refused: 'expired credentials' };
    return { pullClass: 'authenticated' };
  }

  /** A new bearer token of that class. */
  bearer(pullClass: PullClass): string {
    const token = randomBytes(24).toString('base64url');
    this.bearers.set(token, pullClass);
    return token;
  }

  /**
   * Every secret issued so far, for tests that check none is ever printed:
   * each password, its authorizationToken (base64 of `AWS:<password>`), and
   * each bearer token.
   */
  secrets(): string[] {
    return [
      ...[...this.passwords.keys()].flatMap((password) => [password, Buffer.from(`${AUTHORIZATION_TOKEN_USER}:${password}`).toString('base64')]),
      ...this.bearers.keys(),
    ];
  }

  /** The class a bearer token authorizes, or undefined for a token not issued here. */
  classOf(token: string): PullClass | undefined {
    return this.bearers.get(token);
  }
}
