#!/usr/bin/env node
// Writes completions/netctl.bash and completions/_netctl (zsh) from the built CLI, using
// @oclif/plugin-autocomplete's generator in a throw-away cache directory.
import {execFileSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const cache = mkdtempSync(join(tmpdir(), 'netctl-completions-'))
try {
  execFileSync(process.execPath, ['bin/run.js', 'autocomplete', '--refresh-cache'], {env: {...process.env, XDG_CACHE_HOME: cache}, stdio: 'ignore'})
  const functions = join(cache, 'netctl', 'autocomplete', 'functions')
  mkdirSync('completions', {recursive: true})
  copyFileSync(join(functions, 'bash', 'netctl.bash'), join('completions', 'netctl.bash'))
  copyFileSync(join(functions, 'zsh', '_netctl'), join('completions', '_netctl'))
} finally {
  rmSync(cache, {recursive: true, force: true})
}
