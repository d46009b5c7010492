// Lints the packed tarballs, as published: what the tarball holds (LICENSE, README, CHANGELOG, no
// build info, source maps that resolve inside the tarball), then `publint --strict` and
// `attw --profile esm-only` on each .tgz. Part of `npm test`; run `npm run build` first.
//
//   node scripts/lint-packages.js [pack-folder]
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join, posix, relative } from 'node:path'
import { ROOT, packWorkspaces } from './pack.js'

const started = performance.now()
const packed = packWorkspaces(process.argv[2])
const problems = []
const stale = new Set()

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
    // in the tarball.
    const map = JSON.parse(readFileSync(join(pkg.dir, file), 'utf8'))
    for (const source of map.sources ?? []) {
      const target = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source))
      if (files.has(target)) continue
      if (existsSync(join(pkg.dir, target))) {
        problems.push(`${pkg.name}: ${file} points at ${target}, which is not in the tarball`)
      } else {
        // Output of a source file that was deleted or renamed: only a working tree built before
        // the change has it (a clean build, as in CI, does not). Said, not failed.
        stale.add(`${relative(ROOT, pkg.dir)}/${file.replace(/\.map$/, '')}`)
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
// The temporary pack folder goes; one given on the command line is the caller's.
if (process.argv[2] === undefined && packed.length > 0) {
  rmSync(dirname(packed[0].tarball), { recursive: true, force: true })
}

const seconds = ((performance.now() - started) / 1000).toFixed(1)
if (stale.size > 0) {
  console.warn(
    `package lint: stale build output (its source is gone; a clean build drops it): ${[...stale].join(', ')}\n` +
      '  rm -rf packages/<name>/dist && npm run build, before packing for real',
  )
}
if (problems.length > 0) {
  console.error(`package lint: ${problems.length} problem(s)\n\n${problems.join('\n\n')}`)
  process.exit(1)
}
console.log(
  `package lint passed: ${packed.length} tarballs, publint --strict and attw --profile esm-only (${seconds} s)`,
)
