import { cpus, loadavg } from 'node:os'

/** A markdown table with a title and notes under it. */
export interface Table {
  readonly title: string
  readonly headers: readonly string[]
  readonly rows: readonly (readonly string[])[]
  readonly notes?: readonly string[]
}

/** One target of the issue, with what was measured. */
export interface Target {
  readonly name: string
  readonly goal: string
  readonly measured: string
  readonly pass: boolean
}

/** What a benchmark section hands back. */
export interface SectionResult {
  readonly tables: readonly Table[]
  readonly targets: readonly Target[]
}

/** `1234567.8` -> `1,234,568`. */
export function formatInt(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

/** ns/op with a unit that keeps three significant digits. */
export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toPrecision(3)} ms`
  if (ns >= 1e3) return `${(ns / 1e3).toPrecision(3)} µs`
  return `${ns.toPrecision(3)} ns`
}

/** A ratio such as `0.97x`. */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}x`
}

/**
 * A ratio judged against `bound` (a goal, or a peer's ratio): two decimals, or as many more as it
 * takes for a ratio that is not the bound to read differently from it, so that a miss by 0.002
 * is not printed as the goal itself (`0.897x` against `>= 0.90x`).
 */
export function formatRatioAgainst(ratio: number, bound: number): string {
  let digits = 2
  while (digits < 6 && ratio !== bound && ratio.toFixed(digits) === bound.toFixed(digits)) digits++
  return `${ratio.toFixed(digits)}x`
}

/** `pass` or `**miss**`. */
export function verdict(pass: boolean): string {
  return pass ? 'pass' : '**miss**'
}

function renderTable(table: Table): string {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|')
  const lines = [`### ${table.title}`, '']
  lines.push(`| ${table.headers.map(escape).join(' | ')} |`)
  lines.push(`| ${table.headers.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`)
  for (const row of table.rows) lines.push(`| ${row.map(escape).join(' | ')} |`)
  for (const note of table.notes ?? []) lines.push('', note)
  return lines.join('\n')
}

/** Machine and run facts printed above the results. */
export interface RunFacts {
  readonly date: Date
  readonly quick: boolean
  readonly durationSeconds: number
  /** 1-minute load average when the run started. */
  readonly loadAtStart: number
}

/** The whole report as markdown: facts, targets, then every section's tables. */
export function renderReport(facts: RunFacts, sections: readonly SectionResult[]): string {
  const cpu = cpus()
  const targets = sections.flatMap((s) => s.targets)
  const loadAtEnd = loadavg()[0] ?? 0
  const busy = Math.max(facts.loadAtStart, loadAtEnd) > cpu.length
  const lines = [
    '# bearerkit benchmark results',
    '',
    `- Date: ${facts.date.toISOString()}`,
    `- Node.js: ${process.version} (${process.platform}/${process.arch})`,
    `- CPU: ${cpu[0]?.model.trim() ?? 'unknown'} × ${cpu.length}`,
    `- Mode: ${facts.quick ? 'quick (`--quick`: fewer and shorter rounds, smaller scale runs)' : 'default'}`,
    `- Run time: ${facts.durationSeconds.toFixed(0)} s`,
    `- Load average (1 min) at start and end: ${facts.loadAtStart.toFixed(2)}, ${loadAtEnd.toFixed(2)}${busy ? ' (above the core count: other processes competed for the CPU; absolute numbers suffer, CPU-time ratios much less)' : ''}`,
    '',
    'Every ratio compares two measurements of the same run. Micro benchmarks: median of the',
    'rounds, with min-max of the rounds as spread. HTTP: autocannon on loopback against a server in',
    'its own process, median of the rounds. See bench/README.md for how to read this.',
  ]
  // A run of information-only sections (`--only instructions`) has no targets to list.
  if (targets.length > 0) {
    lines.push(
      '',
      '## Targets',
      '',
      renderTable({
        title: `${targets.filter((t) => t.pass).length} of ${targets.length} met`,
        headers: ['Target', 'Goal', 'Measured', 'Result'],
        rows: targets.map((t) => [t.name, t.goal, t.measured, verdict(t.pass)]),
      }),
    )
  }
  for (const section of sections) {
    for (const table of section.tables) lines.push('', renderTable(table))
  }
  lines.push('')
  return lines.join('\n')
}
