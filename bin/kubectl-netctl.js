#!/usr/bin/env node
// netctl as a kubectl plugin: `kubectl netctl get weps -n kube-system` runs this with
// `get weps -n kube-system` (kubectl finds kubectl-netctl on PATH; npm installs it from package.json
// "bin"). It talks to kubectl's cluster: the Kubernetes datastore, with kubectl's --kubeconfig,
// --context and -n/--namespace (see kubectlPluginArgs), then runs netctl in this process.
'use strict'
const {readFileSync} = require('node:fs')
const {join} = require('node:path')

const {kubectlPluginArgs} = require('./argv.js')

let commands = {}
try {
  commands = JSON.parse(readFileSync(join(__dirname, '..', 'oclif.manifest.json'), 'utf8')).commands ?? {}
} catch {
  // No manifest (a build in progress): -n is then only the default namespace.
}
/** Whether the longest command the words name has a namespace flag. */
const commandHasNamespace = (words) => {
  for (let n = words.length; n > 0; n--) {
    const command = commands[words.slice(0, n).join(':')]
    if (command) return Boolean(command.flags?.namespace)
  }
  return false
}
const {args, env} = kubectlPluginArgs(process.argv.slice(2), process.env, commandHasNamespace)
for (const name of Object.keys(process.env)) if (!(name in env)) delete process.env[name]
Object.assign(process.env, env)
process.argv = [process.argv[0], join(__dirname, 'run.js'), ...args]
require('./run.js')
