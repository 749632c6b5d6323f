/** What every Calico kind registers once so that get/apply/delete stay generic. */
import type {Resource} from './types.js'

export interface ColumnContext {
  /** The cluster's default AS number (BGPConfiguration "default"), shown for nodes that have none. */
  defaultASNumber?: number
}

export type Cell = (resource: Resource, context: ColumnContext) => string

export interface ValidationContext {
  /** The stored object an update replaces; undefined on create. */
  existing?: Resource
  /** Other stored objects of the same kind (for overlap checks on create). */
  others: Resource[]
}

export interface KindInfo {
  kind: string
  plural: string
  aliases: readonly string[]
  namespaced: boolean
  columns: {ps: readonly string[]; wide: readonly string[]}
  /** Every column a kind can show, for -o custom-columns too. */
  cells: Readonly<Record<string, Cell>>
  /** Fill the fields Calico fills when it stores the object. Pure: returns a new object. */
  withDefaults?(resource: Resource): Resource
  /** Throw NetctlError('invalid') naming the field that is wrong. */
  validate?(resource: Resource, context: ValidationContext): void
  /** Whether validation needs the other stored objects of the kind. */
  needsOthers?: boolean
}

export const name: Cell = (r) => r.metadata.name
export const joined = (values: unknown): string => (Array.isArray(values) ? values.join(',') : '')
export const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value))
