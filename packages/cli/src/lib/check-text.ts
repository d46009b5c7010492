import type { CheckReport, CheckStatus } from './checklist.js'
import type { Paint } from './style.js'

const MARK: Record<CheckStatus, [string, 'green' | 'yellow' | 'red' | 'gray']> = {
  pass: ['✔ pass', 'green'],
  warn: ['! warn', 'yellow'],
  fail: ['✘ fail', 'red'],
  skip: ['- skip', 'gray'],
}

/** The checklist as text: one line per check with its RFC section, details indented below. */
export function renderCheckText(report: CheckReport, paint: Paint): string {
  const lines = [`${paint('bold', 'bearerkit check')} ${report.resource}`]
  let section: string | undefined
  for (const check of report.checks) {
    if (check.section !== section) {
      section = check.section
      lines.push('', paint('bold', section))
    }
    const [mark, colour] = MARK[check.status]
    lines.push(`  ${paint(colour, mark)}  ${check.title}  ${paint('dim', `[${check.ref}]`)}`)
    if (check.detail !== undefined) {
      for (const line of check.detail.split('\n')) lines.push(`          ${line}`)
    }
  }
  const { pass, warn, fail, skip } = report.summary
  lines.push(
    '',
    `${pass} passed, ${warn} ${warn === 1 ? 'warning' : 'warnings'}, ${fail} failed, ${skip} skipped`,
  )
  return `${lines.join('\n')}\n`
}
