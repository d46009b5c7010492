// Lints the packed tarballs, as published: what the tarball holds (LICENSE, README, CHANGELOG, no
// build info, source maps that resolve inside the tarball), then publint (strict) and
// arethetypeswrong (profile esm-only) on each .tgz. Part of `npm test`; run `npm run build` first.
//
//   node scripts/lint-packages.js [pack-folder]
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, posix, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
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

// Both linters run in this process, over every tarball: the same libraries and rules as the
// `publint run --strict <tgz>` and `attw --profile esm-only <tgz>` commands, without starting
// TypeScript once per package (13 CLI runs took 5x longer).
const require = createRequire(join(ROOT, 'package.json'))
const { publint } = await import('publint')
const { formatMessage } = await import('publint/utils')
// attw's library is a dependency of its CLI; resolved from there, as the CLI resolves it.
const attwRequire = createRequire(require.resolve('@arethetypeswrong/cli/package.json'))
const attw = await import(pathToFileURL(attwRequire.resolve('@arethetypeswrong/core')).href)
const { getExitCode } = await import('@arethetypeswrong/cli/internal/getExitCode')
// `--profile esm-only`: CommonJS resolution (node10, node16 from CJS) is out of scope for ESM-only
// packages; require() of them on Node >= 20.19 is checked by the consumer test instead.
const ESM_ONLY = { ignoreResolutions: ['node10', 'node16-cjs'] }

for (const pkg of packed) {
  const data = readFileSync(pkg.tarball)
  const tarball = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
  const linted = await publint({ pack: { tarball }, strict: true })
  for (const message of linted.messages) {
    const text = formatMessage(message, linted.pkg, { color: false }) ?? message.code
    problems.push(`publint --strict ${pkg.name}: ${message.type}: ${text}`)
  }
  const analysis = await attw.checkPackage(attw.createPackageFromTarballData(new Uint8Array(data)))
  if (!analysis.types) {
    // attw passes an untyped package; every bearerkit package ships declarations.
    problems.push(`attw --profile esm-only ${pkg.name}: no type declarations found`)
  } else if (getExitCode(analysis, ESM_ONLY) !== 0) {
    const found = analysis.problems
      .filter(
        (p) => !('resolutionKind' in p) || !ESM_ONLY.ignoreResolutions.includes(p.resolutionKind),
      )
      .map(
        (p) =>
          `${p.kind}${'entrypoint' in p ? ` at ${p.entrypoint}` : ''}${'resolutionKind' in p ? ` (${p.resolutionKind})` : ''}`,
      )
    problems.push(`attw --profile esm-only ${pkg.name}: ${found.join(', ')}`)
  }
}
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
