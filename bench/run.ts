import { writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { killChildren } from './lib/child.js'
import { benchConfig } from './lib/config.js'
import { renderReport, type SectionResult } from './lib/report.js'
import { runAdapters } from './adapters.js'
import { runDpop } from './dpop.js'
import { runHttp } from './http.js'
import { runInstructions } from './instructions.js'
import { runMicro } from './micro.js'
import { runRedis } from './redis.js'
import { runScale } from './scale.js'

const USAGE = `Usage: npm run bench [-- --quick] [-- --only micro,http,adapters,scale,dpop,redis,instructions]

  --quick   fewer, shorter rounds and smaller scale runs (under a minute)
  --only    run some sections only (RESULTS.md is then not written); redis runs only when
            named, against BEARERKIT_REDIS_URL (default redis://127.0.0.1:6379); instructions
            runs only when named, and needs valgrind (the HTTP servers under callgrind, minutes)`

const SECTIONS = ['micro', 'http', 'adapters', 'scale', 'dpop'] as const
// Sections that need something beyond Node (a Redis): only run when named in --only.
const OPTIONAL_SECTIONS = ['redis', 'instructions'] as const
type Section = (typeof SECTIONS)[number] | (typeof OPTIONAL_SECTIONS)[number]

function parseSections(value: string | undefined): readonly Section[] {
  if (value === undefined) return SECTIONS
  const picked = value.split(',').map((s) => s.trim())
  for (const name of picked) {
    if (![...SECTIONS, ...OPTIONAL_SECTIONS].includes(name as Section)) {
      throw new TypeError(`--only: unknown section ${JSON.stringify(name)}\n\n${USAGE}`)
    }
  }
  return picked as Section[]
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const sections = parseSections(values.only)
  const config = benchConfig(values.quick)
  const started = performance.now()
  const loadAtStart = loadavg()[0] ?? 0
  const log = (line: string): void => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6)
    process.stderr.write(`[${seconds}s] ${line}\n`)
  }
  const results: SectionResult[] = []
  for (const section of sections) {
    switch (section) {
      case 'micro':
        results.push(await runMicro(config, log))
        break
      case 'http':
        results.push(await runHttp(config, log))
        break
      case 'adapters':
        results.push(await runAdapters(config, log))
        break
      case 'scale':
        results.push(await runScale(config, log))
        break
      case 'dpop':
        results.push(await runDpop(config, log))
        break
      case 'redis':
        results.push(await runRedis(config, log))
        break
      case 'instructions':
        results.push(await runInstructions(config, log))
        break
    }
  }
  const report = renderReport(
    {
      date: new Date(),
      quick: config.quick,
      durationSeconds: (performance.now() - started) / 1000,
      loadAtStart,
    },
    results,
  )
  console.log(report)
  if (values.only === undefined) {
    const path = fileURLToPath(new URL('../RESULTS.md', import.meta.url))
    await writeFile(path, report)
    log(`written to ${path}`)
  }
}

try {
  await main()
} catch (error) {
  killChildren()
  throw error
}
