/** Questions for people at a terminal; never asked when stdin or stdout is not a TTY. */
import {NetctlError} from '../errors.js'

export const isInteractive = (): boolean => Boolean(process.stdin.isTTY && process.stdout.isTTY) && !process.env.CI

/** The error for a missing value when nobody can be asked. */
export const missing = (what: string, example: string): NetctlError =>
  new NetctlError('usage', `${what} is required when not on a terminal`, `for example: ${example}`)

/**
 * The person declined (No: exit 0) or pressed Ctrl-C at a prompt (exit 130). Either way nothing
 * was changed, and netctl says so in one line (base-command prints it).
 */
export class Cancelled extends Error {
  constructor(readonly interrupted: boolean) {
    super('cancelled, nothing changed')
    this.name = 'Cancelled'
  }
}

/** What a command throws when the answer was No. */
export const cancelled = (): Cancelled => new Cancelled(false)

// Inquirer rejects with ExitPromptError when Ctrl-C closes a prompt.
async function asked<T>(question: Promise<T>): Promise<T> {
  try {
    return await question
  } catch (error) {
    if ((error as Error).name === 'ExitPromptError') throw new Cancelled(true)
    throw error
  }
}

export async function choose<T extends string>(message: string, choices: Array<{value: T; name?: string; description?: string}>): Promise<T> {
  const {select} = await import('@inquirer/prompts')
  return asked(select<T>({message, choices}))
}

export async function confirm(message: string): Promise<boolean> {
  const {confirm: ask} = await import('@inquirer/prompts')
  return asked(ask({message, default: false}))
}

export async function ask(message: string): Promise<string> {
  const {input} = await import('@inquirer/prompts')
  return asked(input({message, required: true}))
}
