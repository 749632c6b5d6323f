// kubectl takes its global flags before the command too (`kubectl -n kube-system get pods`); oclif
// finds the command only in the first words. So flags that come before the command are moved to
// after it (before a `--`, whose rest belongs to the command `lab exec` runs), where oclif parses them.
// Only flags known here move: whether the next word is the flag's value or the command depends on it.

/** Flags that take a value: netctl's global flags (src/cli/base-command.ts) and the common per-command ones. */
export const leadingValueFlags = new Set([
  '--datastore', '--config', '--state-dir', '--lab', '--etcd-endpoints', '--kubeconfig', '--context',
  '-o', '--output', '-n', '--namespace', '-l', '--selector',
])
/** Flags that take none. */
export const leadingBooleanFlags = new Set(['--debug', '--json', '-A', '--all-namespaces', '-h', '--help'])

/** argv with its leading known flags moved after the command words. */
export function moveLeadingFlags(argv) {
  const leading = []
  let i = 0
  while (i < argv.length) {
    const arg = argv[i]
    const name = arg.startsWith('--') ? arg.split('=')[0] : arg
    if (leadingBooleanFlags.has(arg)) {
      leading.push(arg)
      i += 1
    } else if (leadingValueFlags.has(name) && arg !== name) {
      leading.push(arg) // --lab=demo
      i += 1
    } else if (leadingValueFlags.has(arg) && i + 1 < argv.length) {
      leading.push(arg, argv[i + 1])
      i += 2
    } else break
  }
  // Nothing before the command, or nothing but flags (`netctl -h`): oclif handles it as it is.
  if (leading.length === 0 || i === argv.length) return argv
  const rest = argv.slice(i)
  const dashes = rest.indexOf('--')
  return dashes === -1 ? [...rest, ...leading] : [...rest.slice(0, dashes), ...leading, ...rest.slice(dashes)]
}
