/** The verdict of one check. `skip`: the check does not apply or could not run (see detail). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

/** One line of the `bearerkit check` checklist. */
export interface CheckResult {
  /** Stable identifier, for CI filters (`prm.resource`, `as.pkce` ...). */
  id: string
  /** The group it belongs to: `Resource`, `Protected resource metadata`, an issuer ... */
  section: string
  status: CheckStatus
  /** What is checked, as a statement that holds when it passes. */
  title: string
  /** Why it did not pass, or what was found. */
  detail?: string
  /** The specification section the check applies (`RFC 9728 §3.3`). */
  ref: string
}

/** What `bearerkit check --json` prints; described by `check-report.schema.json`. */
export interface CheckReport {
  version: 1
  resource: string
  ok: boolean
  summary: Record<CheckStatus, number>
  checks: CheckResult[]
}

/** Collects results in order and reports progress while a request is outstanding. */
export class Checklist {
  readonly results: CheckResult[] = []
  section = ''
  readonly #progress: ((label: string | undefined) => void) | undefined

  constructor(progress?: (label: string | undefined) => void) {
    this.#progress = progress
  }

  add(id: string, status: CheckStatus, title: string, ref: string, detail?: string): void {
    this.results.push({
      id,
      section: this.section,
      status,
      title,
      ref,
      ...(detail === undefined ? {} : { detail }),
    })
  }

  /** Runs `work` with `label` shown as progress (on a terminal only). */
  async step<T>(label: string, work: () => Promise<T>): Promise<T> {
    this.#progress?.(label)
    try {
      return await work()
    } finally {
      this.#progress?.(undefined)
    }
  }

  report(resource: string): CheckReport {
    const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 }
    for (const result of this.results) summary[result.status]++
    return { version: 1, resource, ok: summary.fail === 0, summary, checks: this.results }
  }
}
