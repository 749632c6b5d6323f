/**
 * The one error type the library layers throw. Commands turn it into a one-line
 * message, a suggestion and an exit code; nothing below src/commands prints.
 */
export type ErrorKind =
  | 'usage' // the user asked for something malformed: bad flag, bad file, invalid resource
  | 'invalid' // a resource failed validation
  | 'not-found'
  | 'already-exists'
  | 'conflict' // stale resourceVersion: somebody else changed the object first
  | 'unavailable' // the datastore cannot be reached or read
  | 'unsupported' // the feature is not available here (backend not built yet, kernel lacks it)
  | 'interrupted' // SIGINT/SIGTERM: stopped at a safe point
  | 'internal'

/** Exit codes: 2 for what the user can fix in the command or its input, 1 for runtime failures. */
const exitCodes: Record<ErrorKind, number> = {
  usage: 2,
  invalid: 2,
  'not-found': 1,
  'already-exists': 1,
  conflict: 1,
  unavailable: 1,
  unsupported: 1,
  interrupted: 130,
  internal: 1,
}

export class NetctlError extends Error {
  readonly kind: ErrorKind
  readonly suggestion?: string

  constructor(kind: ErrorKind, message: string, suggestion?: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'NetctlError'
    this.kind = kind
    this.suggestion = suggestion
  }

  get exitCode(): number {
    return exitCodes[this.kind]
  }
}

/** Stop at a safe point when the user asked to stop (Ctrl-C, SIGTERM). */
export function checkpoint(signal: AbortSignal | undefined, what: string, suggestion: string): void {
  if (signal?.aborted) throw new NetctlError('interrupted', `interrupted ${what}`, suggestion)
}

export const isNetctlError = (err: unknown, kind?: ErrorKind): err is NetctlError =>
  err instanceof NetctlError && (kind === undefined || err.kind === kind)
