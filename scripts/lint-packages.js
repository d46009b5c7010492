// Lints the packed tarballs, as published: what the tarball holds (LICENSE, README, CHANGELOG, no
// build info, source maps that resolve inside the tarball), then `publint --strict` and
// `attw --profile esm-only` on each .tgz. Part of `npm test`; run `npm run build` first.
//
//   node scripts/lint-packages.js [pack-folder]
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, posix } from 'node:path'
import { ROOT, packWorkspaces } from './pack.js'

const started = performance.now()
const packed = packWorkspaces(process.argv[2])
const problems = []

for (const pkg of packed) {
  const files = new Set(pkg.files)
  for (const required of ['package.json', 'LICENSE', 'README.md', 'CHANGELOG.md']) {
    if (!files.has(required)) problems.push(`${pkg.name}: ${required} is not in the tarball`)
  }
  for (const file of pkg.files) {
    if (file.endsWith('.tsbuildinfo')) {
      problems.push(`${pkg.name}: ships ${file} (tsBuildInfoFile belongs outside dist)`)
    }
    if (/(^|\/)test\//.test(file)) problems.push(`${pkg.name}: ships test file ${file}`)
    if (!file.endsWith('.map')) continue
    // A map whose sources are not shipped sends go-to-definition nowhere: every source must be
    // in the tarball. A missing one usually means stale output: rm -rf dist && npm run build.
    const map = JSON.parse(readFileSync(join(pkg.dir, file), 'utf8'))
    for (const source of map.sources ?? []) {
      const target = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source))
      if (!files.has(target)) {
        problems.push(`${pkg.name}: ${file} points at ${target}, which is not in the tarball`)
      }
    }
  }
}

/** @param {string[]} argv */
function run(argv) {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('close', (code) => resolvePromise({ code, output }))
  })
}

const PUBLINT = join(ROOT, 'node_modules/publint/src/cli.js')
const ATTW = join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js')
const jobs = packed.flatMap((pkg) => [
  { label: `publint --strict ${pkg.name}`, argv: [PUBLINT, 'run', '--strict', pkg.tarball] },
  {
    label: `attw --profile esm-only ${pkg.name}`,
    argv: [ATTW, '--profile', 'esm-only', '--no-color', '--no-emoji', pkg.tarball],
  },
])

// publint prints its findings but exits 0 for suggestions; --strict makes warnings errors, and
// any line it prints between "Linting..." and the end is a finding, so both count.
async function worker() {
  for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
    const { code, output } = await run(job.argv)
    const publintFinding = job.label.startsWith('publint') && !/All good!/.test(output)
    if (code !== 0 || publintFinding) problems.push(`${job.label} failed:\n${output.trim()}`)
  }
}
await Promise.all(Array.from({ length: Math.min(2, availableParallelism()) }, worker))

const seconds = ((performance.now() - started) / 1000).toFixed(1)
if (problems.length > 0) {
  console.error(`package lint: ${problems.length} problem(s)\n\n${problems.join('\n\n')}`)
  process.exit(1)
}
console.log(
  `package lint passed: ${packed.length} tarballs, publint --strict and attw --profile esm-only (${seconds} s)`,
)
