#!/usr/bin/env node
// `netctl --version` is asked often (scripts, bug reports) and needs nothing of oclif but its user agent
// string, while loading @oclif/core alone doubles the start-up time: print that same string directly.
// Same rule as oclif's main.run (only when --version is the first argument; this CLI declares no init
// hooks and no additionalVersionFlags) and same text: `${name}/${version} ${platform}-${arch} node-${version}`.
if (process.argv[2] === '--version') {
  const {readFileSync} = await import('node:fs')
  const {createRequire} = await import('node:module')
  const {arch, platform} = await import('node:os')
  const {pathToFileURL} = await import('node:url')
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  // oclif reports WSL as platform 'wsl', asking wsl-utils (its own dependency, resolved from there).
  const oclif = createRequire(import.meta.url).resolve('@oclif/core')
  const {isWsl} = await import(pathToFileURL(createRequire(oclif).resolve('wsl-utils')).href)
  const cpu = arch() === 'ia32' ? 'x86' : arch()
  process.stdout.write(`${pjson.name}/${pjson.version} ${isWsl ? 'wsl' : platform()}-${cpu} node-${process.version}\n`)
} else {
  const [{execute}, {moveLeadingFlags}] = await Promise.all([import('#oclif'), import('./argv.js')])
  await execute({dir: import.meta.url, args: moveLeadingFlags(process.argv.slice(2))})
}
