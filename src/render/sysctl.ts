/**
 * sysctl keys and values, as given to `sysctl -w key=value`. A key becomes a path under
 * /proc/sys: a component with "/" or ".." in it, or an "=" that moves the value, is refused.
 * Interface names may hold dots, which sysctl writes as "/" inside a key.
 */
import {refuse} from './refuse.js'

const target = 'a sysctl setting'

export function sysctlKey(...components: string[]): string {
  for (const c of components) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/.test(c) || c.includes('..')) throw refuse(target, c, 'a key component is letters, digits, _ - and single dots')
  }
  return components.map((c) => c.replaceAll('.', '/')).join('.')
}

/** Checks an assignment the planner built: key components as sysctlKey makes them, a plain value. */
export function sysctlAssignment(key: string, value: string): string {
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_/-]+)+$/.test(key) || key.split(/[./]/).some((part) => part === '')) throw refuse(target, key, 'it is not a sysctl key')
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw refuse(target, value, 'a sysctl value here is a plain word or number')
  return `${key}=${value}`
}
