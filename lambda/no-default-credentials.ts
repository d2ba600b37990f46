/**
 * Stands in for `@aws-sdk/credential-provider-node` in the handler bundle
 * (bundle-options.mjs substitutes it). The client reads its credentials from the
 * environment (client.ts), so the SDK's default chain is never called; without
 * this stand-in esbuild would still bundle the whole chain, because the
 * client's runtime config imports it whether it is used or not.
 */

/** Throws: a client in the bundle must be given its credentials (see client.ts). */
export function defaultProvider(): never {
  throw new Error("the SDK's default credential chain is not in the handler bundle: give the client its credentials (see lambda/client.ts)");
}
