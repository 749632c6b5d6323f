import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {repoRoot} from '../helpers/cli.js'

const complete = (words: string[]) => {
  const script = `source ${join(repoRoot, 'completions/netctl.bash')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${words.join(' ')}'; _netctl_autocomplete; echo "\${COMPREPLY[@]}"`
  return spawnSync('bash', ['-c', script], {encoding: 'utf8'}).stdout.trim().split(/\s+/)
}

describe('shell completions', () => {
  it('the build writes bash and zsh completion scripts', () => {
    assert.ok(existsSync(join(repoRoot, 'completions/netctl.bash')))
    assert.ok(existsSync(join(repoRoot, 'completions/_netctl')))
  })

  it('bash completes commands, topics and flags', () => {
    assert.deepEqual(complete(['netctl', 'ipp']), ['ippool'])
    assert.ok(complete(['netctl', 'ippool', 'set', '--']).includes('--ipip'))
    assert.ok(complete(['netctl', 'get', '--']).includes('--all-namespaces'))
  })
})
