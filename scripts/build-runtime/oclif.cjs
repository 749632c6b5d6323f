// dist/oclif.js (copied here by scripts/build.js; CommonJS, as dist/package.json says): loads
// dist/netctl.cjs, the bundle of netctl's code, @oclif/core, js-yaml and cli-table3, from a V8 code
// cache (dist/netctl.cache, see cached-require.js): one file read and no parsing instead of ~220
// files that Node would each resolve, read and compile. It exports @oclif/core's API (bin/run.js
// starts oclif with it) and `netctl`, the bundle, from which dist/commands/** and dist/hooks/** take
// their code: the CLI, its commands and its hook share one copy of oclif.
'use strict'
const {join} = require('node:path')

const {requireCached} = require('./cached-require.js')

const {exports: netctl, codeCache} = requireCached(join(__dirname, 'netctl.cjs'))
// What bin/run.js, the command and hook modules and the tests take: the bundle, whether it came from
// the code cache, and @oclif/core's API (getters: only what is used is initialised).
module.exports = {netctl, codeCache}
for (const name of Object.keys(netctl.oclif)) Object.defineProperty(module.exports, name, {enumerable: true, get: () => netctl.oclif[name]})
