import type { CheckReport, CheckStatus } from './checklist.js'
import { safeText } from './safe-text.js'
import type { Paint } from './style.js'

const MARK: Record<CheckStatus, [string, 'green' | 'yellow' | 'red' | 'gray']> = {
  pass: ['✔ pass', 'green'],
  warn: ['! warn', 'yellow'],
  fail: ['✘ fail', 'red'],
  skip: ['- skip', 'gray'],
}

/**
 * The checklist as text: one line per check with its RFC section, details indented below. Titles,
 * sections and details quote what servers sent (issuers, metadata fields, challenge parameters),
 * so every one of them goes through {@link safeText}.
 */
export function renderCheckText(report: CheckReport, paint: Paint): string {
  const lines = [`${paint('bold', 'bearerkit check')} ${safeText(report.resource)}`]
  let section: string | undefined
  for (const check of report.checks) {
    if (check.section !== section) {
      section = check.section
      lines.push('', paint('bold', safeText(section)))
    }
    const [mark, colour] = MARK[check.status]
    lines.push(
      `  ${paint(colour, mark)}  ${safeText(check.title)}  ${paint('dim', `[${check.ref}]`)}`,
    )
    if (check.detail !== undefined) lines.push(`          ${safeText(check.detail)}`)
  }
  const { pass, warn, fail, skip } = report.summary
  lines.push(
    '',
    `${pass} passed, ${warn} ${warn === 1 ? 'warning' : 'warnings'}, ${fail} failed, ${skip} skipped`,
  )
  return `${lines.join('\n')}\n`
}
