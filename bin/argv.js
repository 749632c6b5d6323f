'use strict'
// kubectl takes its global flags before the command too (`kubectl -n kube-system get pods`); oclif
// finds the command only in the first words. So flags that come before the command are moved to
// after it (before a `--`, whose rest belongs to the command `lab exec` runs), where oclif parses them.
// Only flags known here move: whether the next word is the flag's value or the command depends on it.

/** Flags that take a value: netctl's global flags (src/cli/base-command.ts) and the common per-command ones. */
const leadingValueFlags = new Set([
  '--datastore', '--config', '--state-dir', '--lab', '--etcd-endpoints', '--kubeconfig', '--context',
  '-o', '--output', '-n', '--namespace', '-l', '--selector',
])
/** Flags that take none. */
const leadingBooleanFlags = new Set(['--debug', '--json', '-A', '--all-namespaces', '-h', '--help', '--allow-version-mismatch'])

/** argv with its leading known flags moved after the command words. */
function moveLeadingFlags(argv) {
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

/**
 * `kubectl netctl ARGS`: kubectl runs kubectl-netctl with ARGS and its own environment. kubectl's
 * --kubeconfig and --context are netctl's too (they mean the Kubernetes datastore); kubectl's
 * -n/--namespace becomes the Kubernetes datastore's default namespace (NETCTL_K8S_NAMESPACE), and
 * stays a flag for the commands that have -n. The datastore is Kubernetes: kubectl's cluster.
 * `commandHasNamespace(words)` says whether the command those words name takes -n.
 */
function kubectlPluginArgs(argv, env, commandHasNamespace) {
  const dashes = argv.indexOf('--')
  const own = dashes === -1 ? argv : argv.slice(0, dashes)
  const after = dashes === -1 ? [] : argv.slice(dashes)
  const args = []
  let namespace
  for (let i = 0; i < own.length; i++) {
    const arg = own[i]
    if ((arg === '-n' || arg === '--namespace') && i + 1 < own.length) namespace = own[++i]
    else if (arg.startsWith('--namespace=')) namespace = arg.slice('--namespace='.length)
    else if (/^-n[^-]/.test(arg)) namespace = arg.slice(2).replace(/^=/, '')
    else args.push(arg)
  }
  const words = moveLeadingFlags(args).filter((a, i, all) => !a.startsWith('-') && all.slice(0, i).every((b) => !b.startsWith('-')))
  if (namespace !== undefined && commandHasNamespace(words)) args.push('-n', namespace)
  const pluginEnv = {...env, DATASTORE_TYPE: 'kubernetes'}
  delete pluginEnv.CALICO_DATASTORE_TYPE
  if (namespace !== undefined) pluginEnv.NETCTL_K8S_NAMESPACE = namespace
  return {args: [...args, ...after], env: pluginEnv}
}

module.exports = {leadingValueFlags, leadingBooleanFlags, moveLeadingFlags, kubectlPluginArgs}
