import { fork, type ChildProcess } from 'node:child_process'

/** A child process spoken to with IPC messages that each carry a `type`. */
export interface Child<In, Out extends { type: string }> {
  readonly process: ChildProcess
  /** Sends `message` and resolves with the next message of type `reply` (an `error` rejects). */
  ask<T extends Out['type']>(message: In, reply: T): Promise<Extract<Out, { type: T }>>
  /** Sends `message` without waiting. */
  tell(message: In): void
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>
}

const live = new Set<ChildProcess>()

/**
 * Kills every child this module started that is still running (after a failed run, so that their
 * IPC channels do not keep the benchmark alive).
 */
export function killChildren(): void {
  for (const child of live) child.kill()
}

/**
 * Forks `script` (an absolute path) with IPC, passing `execArgv` to node; with `execPath`, runs
 * that program instead (`valgrind`, with node's own path last in `execArgv`).
 */
export function startChild<In, Out extends { type: string }>(
  script: string,
  execArgv: readonly string[] = [],
  execPath?: string,
): Child<In, Out> {
  const child = fork(script, [], {
    execArgv: [...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...(execPath === undefined ? {} : { execPath }),
  })
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  return {
    process: child,
    exited,
    tell(message) {
      child.send(message as object)
    },
    ask(message, reply) {
      return new Promise((resolve, reject) => {
        const onMessage = (received: Out): void => {
          if (received.type === reply) {
            cleanup()
            resolve(received as Extract<Out, { type: typeof reply }>)
          } else if (received.type === 'error') {
            cleanup()
            reject(new Error(`${script}: ${(received as unknown as { message: string }).message}`))
          }
        }
        const onExit = (code: number | null): void => {
          cleanup()
          reject(new Error(`${script} exited with code ${String(code)}`))
        }
        const cleanup = (): void => {
          child.off('message', onMessage)
          child.off('exit', onExit)
        }
        child.on('message', onMessage)
        child.once('exit', onExit)
        child.send(message as object)
      })
    },
  }
}
