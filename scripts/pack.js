// Packs every workspace package exactly as `npm publish` would, into one folder, so the checks
// after it (scripts/lint-packages.js, test/consumer/check.js) look at what users download rather
// than at the working tree. Run `npm run build` first: packing does not build.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))

/**
 * @typedef {{ name: string, version: string, dir: string, tarball: string, files: string[] }} Packed
 */

/**
 * `npm pack --workspaces` into `destination` (a new temporary folder by default).
 * `--ignore-scripts`: the root `prepare` script would rebuild everything once per package.
 *
 * @param {string} [destination]
 * @returns {Packed[]}
 */
export function packWorkspaces(destination = mkdtempSync(join(tmpdir(), 'bearerkit-pack-'))) {
  mkdirSync(destination, { recursive: true })
  const out = execFileSync(
    'npm',
    ['pack', '--workspaces', '--ignore-scripts', '--json', '--pack-destination', destination],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 },
  )
  /** @type {Array<{ name: string, version: string, filename: string, files: Array<{ path: string }> }>} */
  const report = JSON.parse(out)
  return report.map((entry) => ({
    name: entry.name,
    version: entry.version,
    dir: join(ROOT, 'packages', entry.name.replace(/^@bearerkit\//, '')),
    tarball: join(destination, entry.filename),
    files: entry.files.map((f) => f.path),
  }))
}
