import { createHash } from "node:crypto"
import * as CacheKey from "../src/CacheKey.js"
const sys = "You are a helpful assistant. ".repeat(20)
const reqs = Array.from({ length: 1000 }, (_, i) => ({ messages: [{ role: "system" as const, content: sys }, { role: "user" as const, content: `question number ${i}` }], temperature: 0 }))
const N = 200_000
const bench = (name: string, f: (i: number) => unknown) => {
  for (let i = 0; i < N; i++) f(i)
  const t0 = performance.now(); for (let i = 0; i < N; i++) f(i); console.log(name, (((performance.now() - t0) / N) * 1000).toFixed(2), "us")
}
bench("JSON.stringify", (i) => JSON.stringify(reqs[i % 1000]))
bench("encode", (i) => CacheKey.encode({ provider: "p", model: "m" }, reqs[i % 1000]!))
bench("sha256 of str", (i) => createHash("sha256").update(sys + i).digest("hex"))
bench("make", (i) => CacheKey.make({ provider: "p", model: "m" }, reqs[i % 1000]!))
import * as crypto from "node:crypto"
bench("crypto.hash", (i) => (crypto as any).hash("sha256", sys + i, "hex"))
bench("createHash", (i) => createHash("sha256").update(sys + i).digest("hex"))
