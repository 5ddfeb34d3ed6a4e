/**
 * The canonical cache key of a request: a SHA-256 over everything that changes the answer and
 * nothing that does not.
 *
 * In the key: the provider and the model as resolved (`request.model ?? model.model`), and every
 * field of the request except `user`, `feature`, `metadata` and `cache` — so the messages, the
 * sampling parameters (`temperature`, `topP`, `maxOutputTokens`), `stop`, `seed`,
 * `responseFormat`, `tier`, and any field a future version of the request adds. With scope
 * `"user"` the user is in the key too, and so is the namespace when there is one.
 *
 * The encoding is canonical JSON: object keys sorted, `undefined` fields left out, `-0` written as
 * `0`. It does not depend on the process, the platform or the order in which an object's fields were
 * written, so keys are stable across runs, processes and machines (a Redis cache shared by many
 * instances relies on this).
 *
 * @example
 * ```ts
 * import * as CacheKey from "@effect-llm/core/CacheKey"
 *
 * const key = CacheKey.make(
 *   { provider: "openai", model: "gpt-5-mini" },
 *   { messages: [{ role: "user", content: "What is Effect?" }], temperature: 0, user: "u-1" }
 * )
 * // the same key for user "u-2"; a different one with `{ scope: "user" }`
 * ```
 *
 * @since 0.1.0
 */
import * as Crypto from "node:crypto"
import type { GenerateRequest } from "./GenerateRequest.js"
import { encodeObject } from "./internal/cacheEncoding.js"

/**
 * Who shares cached answers: everybody (`global`) or only calls made for the same `user`.
 *
 * @since 0.1.0
 * @category models
 */
export type Scope = "global" | "user"

/**
 * The defaults a cache policy applies; the request's own `cache.scope` and `cache.namespace` win.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly scope?: Scope | undefined
  readonly namespace?: string | undefined
}

/**
 * The version of the encoding; it changes whenever keys computed by an older version could mean
 * something else.
 *
 * @since 0.1.0
 * @category constants
 */
export const version = 1

/**
 * The request fields that do not change the answer and are left out of the key.
 *
 * @since 0.1.0
 * @category constants
 */
export const ignoredFields: ReadonlyArray<string> = ["user", "feature", "metadata", "cache"]

const skip: ReadonlySet<string> = new Set([...ignoredFields, "model"])

const prefix = `effect-llm/cache/v${version}\n`

/**
 * The scope in force for a request (the request's own, then the policy's, then `global`).
 *
 * @since 0.1.0
 * @category utils
 */
export const scopeOf = (request: GenerateRequest, options?: Options): Scope =>
  request.cache?.scope ?? options?.scope ?? "global"

/**
 * The namespace in force for a request (the request's own, then the policy's).
 *
 * @since 0.1.0
 * @category utils
 */
export const namespaceOf = (request: GenerateRequest, options?: Options): string | undefined =>
  request.cache?.namespace ?? options?.namespace

/**
 * The canonical text that is hashed into the key (useful to see why two keys differ):
 *
 * ```
 * effect-llm/cache/v1
 * {"model":"gpt-5-mini","namespace":"faq","provider":"openai","request":{...},"scope":"user","user":"u-1"}
 * ```
 *
 * `namespace` appears only when set; `scope` and `user` only with scope `"user"`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (
  model: { readonly provider: string; readonly model: string },
  request: GenerateRequest,
  options?: Options
): string => {
  const namespace = namespaceOf(request, options)
  const user = scopeOf(request, options) === "user"
  // keys written in sorted order: model, namespace, provider, request, scope, user
  let out = prefix + "{\"model\":" + JSON.stringify(request.model ?? model.model)
  if (namespace !== undefined) out += ",\"namespace\":" + JSON.stringify(namespace)
  out += ",\"provider\":" + JSON.stringify(model.provider)
  out += ",\"request\":" + encodeObject(request as unknown as Record<string, unknown>, skip)
  if (user) {
    out += ",\"scope\":\"user\""
    if (request.user !== undefined) out += ",\"user\":" + JSON.stringify(request.user)
  }
  return out + "}"
}

/**
 * The SHA-256 of a canonical encoding, in hex.
 *
 * @since 0.1.0
 * @category encoding
 */
export const hash: (encoded: string) => string = typeof Crypto.hash === "function"
  // one-shot hashing (Node >= 20.12) skips the Hash object: about 40% faster on typical prompts
  ? (encoded) => Crypto.hash("sha256", encoded, "hex")
  : (encoded) => Crypto.createHash("sha256").update(encoded, "utf8").digest("hex")

/**
 * The cache key of a request: `hex(sha256(encode(...)))`, prefixed with `namespace:` when a
 * namespace is in force (so a store can list or drop one namespace; the namespace is hashed too).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  model: { readonly provider: string; readonly model: string },
  request: GenerateRequest,
  options?: Options
): string => {
  const digest = hash(encode(model, request, options))
  const namespace = namespaceOf(request, options)
  return namespace === undefined ? digest : `${namespace}:${digest}`
}
