/** Questions for people at a terminal; never asked when stdin or stdout is not a TTY. */
import {NetctlError} from '../errors.js'

export const isInteractive = (): boolean => Boolean(process.stdin.isTTY && process.stdout.isTTY) && !process.env.CI

/** The error for a missing value when nobody can be asked. */
export const missing = (what: string, example: string): NetctlError =>
  new NetctlError('usage', `${what} is required when not on a terminal`, `for example: ${example}`)

export async function choose<T extends string>(message: string, choices: Array<{value: T; name?: string; description?: string}>): Promise<T> {
  const {select} = await import('@inquirer/prompts')
  return select<T>({message, choices})
}

export async function confirm(message: string): Promise<boolean> {
  const {confirm: ask} = await import('@inquirer/prompts')
  return ask({message, default: false})
}

export async function ask(message: string): Promise<string> {
  const {input} = await import('@inquirer/prompts')
  return input({message, required: true})
}
