/**
 * Extracts every ```ts block of docs/*.md and README.md into docs/build/examples/ so that
 * `tsc -b` type-checks them with the rest of the workspace. A block fenced as ```ts no-check is
 * left out (for fragments that are not whole modules).
 */
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const out = path.join(root, "docs", "build", "examples")
fs.rmSync(out, { recursive: true, force: true })
fs.mkdirSync(out, { recursive: true })

const sources = [
  path.join(root, "README.md"),
  ...fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => path.join(root, "docs", f))
]

let count = 0
for (const file of sources) {
  const text = fs.readFileSync(file, "utf8")
  const re = /^```ts([^\n]*)\n([\s\S]*?)^```/gm
  let index = 0
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    index++
    if (m[1]!.includes("no-check")) continue
    const name = `${path.basename(file, ".md")}-${index}.ts`
    const body = m[2]!.includes("import ") || m[2]!.includes("export ") ? m[2]! : `${m[2]!}\nexport {}\n`
    fs.writeFileSync(path.join(out, name), `// From ${path.relative(root, file)}, block ${index}\n${body}`)
    count++
  }
}
process.stdout.write(`extracted ${count} doc examples to ${path.relative(root, out)}\n`)
