#!/usr/bin/env node
'use strict'
// CommonJS (bin/package.json), as is everything `netctl get` loads of ours (dist/package.json): an ES
// module entry would bring up Node's ES module loader, ~8 ms of every start.
const {join} = require('node:path')

if (process.argv[2] === '--version') {
  // `netctl --version` is asked often (scripts, bug reports) and needs nothing of oclif but its user
  // agent string, while loading @oclif/core alone doubles the start-up time: print that same string
  // directly. Same rule as oclif's main.run (only when --version is the first argument; this CLI
  // declares no init hooks and no additionalVersionFlags) and same text:
  // `${name}/${version} ${platform}-${arch} node-${version}`.
  const {readFileSync} = require('node:fs')
  const {arch, platform} = require('node:os')
  const {pathToFileURL} = require('node:url')
  const pjson = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'))
  // oclif reports WSL as platform 'wsl', asking wsl-utils (its own dependency, an ES module, resolved from there).
  const wslUtils = require.resolve('wsl-utils', {paths: [require.resolve('@oclif/core')]})
  import(pathToFileURL(wslUtils).href).then(({isWsl}) => {
    const cpu = arch() === 'ia32' ? 'x86' : arch()
    process.stdout.write(`${pjson.name}/${pjson.version} ${isWsl ? 'wsl' : platform()}-${cpu} node-${process.version}\n`)
  })
} else {
  const {execute} = require('../dist/oclif.js')
  const {moveLeadingFlags} = require('./argv.js')
  // The package's root, not this file: oclif looks upwards for the first package.json, and bin/ has one.
  execute({dir: join(__dirname, '..'), args: moveLeadingFlags(process.argv.slice(2))})
}
