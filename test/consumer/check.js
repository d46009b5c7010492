// The consumer test: what a stranger meets after `npm install @bearerkit/...`.
//
// 1. packs every workspace package (scripts/pack.js) and installs the tarballs, with fastify and
//    the other frameworks from the registry, into a fresh project in a temporary folder;
// 2. type-checks every ```ts block of every README, plus the type tests in test/consumer/types/,
//    against the installed packages, twice: `moduleResolution` nodenext and bundler, both `strict`
//    with `exactOptionalPropertyTypes`;
// 3. runs the README blocks that need nothing from outside (no free names, see preludes.js);
// 4. `require()`s every package from a .cjs file (Node >= 20.19 loads ESM with require).
//
// A block that cannot stand alone is marked in its README with an HTML comment on the line
// before the fence: `<!-- not-checked: reason -->` (not type-checked, not run) or
// `<!-- not-run: reason -->` (type-checked, not run). Part of `npm test`; needs `npm run build`.
//
//   node test/consumer/check.js [--keep]         --keep leaves the temporary project for inspection
//   node test/consumer/check.js --reuse=<dir>    checks again in a kept project (no pack, no install)
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ROOT, packWorkspaces } from '../../scripts/pack.js'
import { PRELUDES } from './preludes.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const require = createRequire(join(ROOT, 'package.json'))
/** @type {typeof import('typescript')} */
const ts = require('typescript')
const reuse = process.argv.find((arg) => arg.startsWith('--reuse='))?.slice('--reuse='.length)
const keep = reuse !== undefined || process.argv.includes('--keep')
const started = performance.now()
const timings = []
const lap = (label, since) =>
  timings.push(`${label} ${((performance.now() - since) / 1000).toFixed(1)} s`)
const failures = []

// Registry packages the README blocks import, at the ranges the monorepo itself is tested with.
const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const FROM_REGISTRY = [
  'fastify',
  '@fastify/cors',
  'express',
  'hono',
  '@hono/node-server',
  'ioredis',
  '@modelcontextprotocol/sdk',
  'tap',
]
const TYPES_FROM_REGISTRY = ['@types/node', '@types/express']

const work = reuse ?? mkdtempSync(join(tmpdir(), 'bearerkit-consumer-'))
try {
  await main()
} finally {
  if (keep) console.log(`consumer project kept in ${work}`)
  else rmSync(work, { recursive: true, force: true })
}

async function main() {
  let since = performance.now()
  const project = join(work, 'project')
  let packed
  if (reuse === undefined) {
    packed = packWorkspaces(join(work, 'pack'))
    lap('pack', since)
    mkdirSync(project)
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'bearerkit-consumer', private: true, type: 'module' }, null, 2),
    )
    since = performance.now()
    install(project, [
      ...packed.map((p) => p.tarball),
      ...[...FROM_REGISTRY, ...TYPES_FROM_REGISTRY].map(
        (name) => `${name}@${rootManifest.devDependencies[name]}`,
      ),
    ])
    lap('install', since)
    writeFileSync(join(work, 'packed.json'), JSON.stringify(packed))
  } else {
    packed = JSON.parse(readFileSync(join(work, 'packed.json'), 'utf8'))
    for (const dir of ['readme', 'types'])
      rmSync(join(project, dir), { recursive: true, force: true })
  }

  // README blocks, each its own module: prelude (the free names it uses), then the block.
  const blocks = readmeBlocks(packed)
  const sources = join(project, 'readme')
  mkdirSync(sources)
  for (const block of blocks) writeFileSync(join(sources, block.file), block.text)
  const typeTests = join(project, 'types')
  mkdirSync(typeTests)
  for (const file of readdirSync(join(HERE, 'types'))) {
    if (file.endsWith('.ts')) copyFileSync(join(HERE, 'types', file), join(typeTests, file))
  }
  const roots = [
    ...blocks.filter((b) => !b.skip).map((b) => join(sources, b.file)),
    ...readdirSync(typeTests).map((f) => join(typeTests, f)),
  ]

  for (const mode of ['nodenext', 'bundler']) {
    since = performance.now()
    typeCheck(mode, roots, blocks, sources, project)
    lap(`tsc ${mode}`, since)
  }

  since = performance.now()
  await runBlocks(
    blocks.filter((b) => !b.skip && b.runnable),
    sources,
    project,
  )
  lap('run blocks', since)

  since = performance.now()
  copyFileSync(join(HERE, 'require-all.cjs'), join(project, 'require-all.cjs'))
  const cjs = await run(process.execPath, ['require-all.cjs'], project, 60_000)
  if (cjs.code !== 0) failures.push(`require() from a .cjs file failed:\n${cjs.output.trim()}`)
  lap('require', since)

  const checked = blocks.filter((b) => !b.skip)
  const ran = checked.filter((b) => b.runnable)
  const skipped = blocks.filter((b) => b.skip)
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  const summary =
    `${blocks.length} README blocks: ${checked.length} type-checked (nodenext, bundler), ` +
    `${ran.length} run, ${skipped.length} marked not-checked; ` +
    `${readdirSync(typeTests).length} type test files; ${packed.length} packages required from CJS ` +
    `(${seconds} s: ${timings.join(', ')})`
  if (failures.length > 0) {
    console.error(`consumer test: ${failures.length} failure(s)\n\n${failures.join('\n\n')}\n`)
    console.error(summary)
    process.exitCode = 1
  } else {
    console.log(`consumer test passed: ${summary}`)
  }
}

/**
 * `npm install` from the local cache first: the packages are the ones the monorepo's lock file
 * already brought in. A cache that holds tarballs but not the registry's metadata for them (a
 * cache filled by `npm ci` alone) answers ENOTCACHED or an ERESOLVE on a missing peer; then the
 * registry fills the gap.
 */
function install(project, specs) {
  const args = ['install', '--no-audit', '--no-fund', '--no-package-lock', ...specs]
  try {
    execFileSync('npm', ['--offline', ...args], { cwd: project, stdio: 'pipe', encoding: 'utf8' })
  } catch (offline) {
    // Without the metadata npm either says so (ENOTCACHED) or, for a peer range, resolves the
    // peer to nothing and reports a conflict (ERESOLVE with "Found: <name>@undefined").
    const stderr = String(offline.stderr)
    if (!stderr.includes('ENOTCACHED') && !/Found: \S+@undefined/.test(stderr)) throw offline
    execFileSync('npm', ['--prefer-offline', ...args], {
      cwd: project,
      stdio: 'pipe',
      encoding: 'utf8',
    })
  }
}

/** Every ```ts block of the top README and of each package README. */
function readmeBlocks(packed) {
  const readmes = [
    'README.md',
    ...packed.map((p) => relative(ROOT, join(p.dir, 'README.md'))).filter(exists),
  ]
  const blocks = []
  for (const readme of readmes) {
    const lines = readFileSync(join(ROOT, readme), 'utf8').split('\n')
    let index = 0
    for (let i = 0; i < lines.length; i++) {
      if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue
      const start = i + 1
      let end = start
      while (end < lines.length && !/^```\s*$/.test(lines[end])) end++
      const code = lines.slice(start, end).join('\n')
      // The marker sits on the closest non-blank line above the fence.
      let above = i - 1
      while (above >= 0 && lines[above].trim() === '') above--
      const marker = /^<!--\s*(not-checked|not-run)\s*:\s*(.+?)\s*-->$/.exec(lines[above] ?? '')
      index++
      const file = `${readme.replace(/\W+/g, '_')}_${index}.ts`
      const { prelude, runnable } = preludeFor(readme, code)
      blocks.push({
        readme,
        line: start + 1,
        file,
        code,
        preludeLines: prelude.length,
        text: [...prelude, code, 'export {}', ''].join('\n'),
        skip: marker?.[1] === 'not-checked',
        // A block that reads process.env depends on the reader's deployment: type-checked only.
        runnable: marker === null && runnable && !code.includes('process.env'),
      })
      i = end
    }
  }
  return blocks
}

function exists(path) {
  try {
    readFileSync(join(ROOT, path))
    return true
  } catch {
    return false
  }
}

/**
 * The declarations (imports or `declare const`) of the free names a block uses and does not
 * declare itself: what a reader has in scope from the README's earlier blocks or their own code.
 */
function preludeFor(readme, code) {
  const table = { ...PRELUDES['*'], ...PRELUDES[readme] }
  const declared = topLevelNames(code)
  // A name counts as used when it stands alone: not a property (`.name`), not a key (`name:`).
  const used = Object.keys(table).filter(
    (name) => !declared.has(name) && new RegExp(`(?<![\\w$.])${name}(?![\\w$]|\\s*:)`).test(code),
  )
  const prelude = used.map((name) => table[name])
  // Imports are real code; a declared stand-in is not, so a block that needs one is not run.
  return { prelude, runnable: prelude.every((line) => line.startsWith('import ')) }
}

function topLevelNames(code) {
  const names = new Set()
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest, false)
  const bind = (name) => {
    if (ts.isIdentifier(name)) names.add(name.text)
    else
      for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name)
  }
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause
      if (clause?.name) names.add(clause.name.text)
      const bindings = clause?.namedBindings
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text)
      if (bindings && ts.isNamedImports(bindings))
        for (const e of bindings.elements) names.add(e.name.text)
    } else if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) bind(d.name)
    } else if ('name' in statement && statement.name && ts.isIdentifier(statement.name)) {
      names.add(statement.name.text)
    }
  }
  return names
}

function typeCheck(mode, roots, blocks, sources, project) {
  const options = {
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2023,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    // As most projects set it; attw and publint look at the declarations themselves.
    skipLibCheck: true,
    skipDefaultLibCheck: true,
    ...(mode === 'nodenext'
      ? { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext }
      : { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }),
  }
  const host = ts.createCompilerHost(options)
  host.getCurrentDirectory = () => project
  const program = ts.createProgram({ rootNames: roots, options, host })
  const byFile = new Map(blocks.map((b) => [join(sources, b.file), b]))
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ')
    const file = diagnostic.file
    if (file === undefined) {
      failures.push(`tsc ${mode}: ${message}`)
      continue
    }
    const { line } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
    const block = byFile.get(file.fileName)
    let where
    if (block !== undefined) {
      const inBlock = line - block.preludeLines
      where =
        inBlock < 0
          ? `${block.readme}:${block.line} (prelude: ${file.text.split('\n')[line]})`
          : `${block.readme}:${block.line + inBlock}`
    } else if (file.fileName.startsWith(join(project, 'types'))) {
      where = `test/consumer/types/${basename(file.fileName)}:${line + 1}`
    } else {
      where = `${relative(project, file.fileName)}:${line + 1}`
    }
    failures.push(`tsc ${mode}: ${where}: TS${diagnostic.code}: ${message}`)
  }
}

async function runBlocks(runnable, sources, project) {
  copyFileSync(join(HERE, 'guard.mjs'), join(project, 'guard.mjs'))
  const queue = [...runnable]
  const worker = async () => {
    for (let block = queue.shift(); block !== undefined; block = queue.shift()) {
      const js = ts.transpileModule(block.text, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 },
      }).outputText
      const file = join(sources, block.file.replace(/\.ts$/, '.mjs'))
      writeFileSync(file, js)
      const result = await run(
        process.execPath,
        ['guard.mjs', relative(project, file)],
        project,
        20_000,
      )
      if (result.code !== 0) {
        failures.push(
          `run ${block.readme}:${block.line}: exit ${result.code}\n${result.output.trim()}\n` +
            '(mark the block <!-- not-run: reason --> if it cannot run on its own)',
        )
      }
    }
  }
  await Promise.all([worker(), worker()])
}

function run(command, args, cwd, timeout) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('close', (code, signal) =>
      resolvePromise({ code: code ?? `${signal} (timed out after ${timeout} ms?)`, output }),
    )
  })
}
