/**
 * The canonical encoding of cache keys: JSON with object keys sorted by code unit, `undefined`
 * object fields omitted, `-0` written as `0`, non-finite numbers as strings and strings escaped as
 * `JSON.stringify` escapes them. Two values that differ only in key order or in fields that are
 * `undefined` encode the same; anything else encodes differently.
 */

/** @internal */
export const encodeNumber = (n: number): string => {
  if (n === 0) return "0" // also -0
  if (Number.isFinite(n)) return JSON.stringify(n)
  return Number.isNaN(n) ? "\"NaN\"" : n > 0 ? "\"Infinity\"" : "\"-Infinity\""
}

/** @internal */
export const encodeValue = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      return encodeNumber(value)
    case "boolean":
      return value ? "true" : "false"
    case "bigint":
      return `"${value.toString()}n"`
    case "undefined":
    case "function":
    case "symbol":
      return "null"
    case "object": {
      if (value === null) return "null"
      if (Array.isArray(value)) {
        let out = "["
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ","
          out += encodeValue(value[i])
        }
        return out + "]"
      }
      return encodeObject(value as Record<string, unknown>, undefined)
    }
  }
}

// the encoded form of object keys, which repeat from call to call ("role", "content", ...)
const keyCache = new Map<string, string>()
const encodeKey = (key: string): string => {
  let encoded = keyCache.get(key)
  if (encoded === undefined) {
    encoded = JSON.stringify(key) + ":"
    if (keyCache.size < 1_000) keyCache.set(key, encoded)
  }
  return encoded
}

/**
 * Encodes an object with sorted keys, leaving out `undefined` fields and the fields in `skip`.
 *
 * @internal
 */
export const encodeObject = (
  value: Readonly<Record<string, unknown>>,
  skip: ReadonlySet<string> | undefined
): string => {
  const keys = Object.keys(value)
  if (keys.length > 1) keys.sort()
  let out = "{"
  let first = true
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    if (skip !== undefined && skip.has(key)) continue
    const field = value[key]
    if (field === undefined || typeof field === "function" || typeof field === "symbol") continue
    if (first) first = false
    else out += ","
    out += encodeKey(key) + encodeValue(field)
  }
  return out + "}"
}
