/** validate checks a Kubernetes NetworkPolicy as the Calico policy it converts to. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {runCli, tempDir} from '../helpers/cli.js'

describe('validate with Kubernetes NetworkPolicies', () => {
  it('accepts a good one and names what is wrong in a bad one', async () => {
    const state = tempDir()
    try {
      const policy = (port: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-web, namespace: default}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - ports: [{port: ${port}}]\n`
      const good = await runCli(['validate', '-f', '-'], {stateDir: state.path, input: policy('80')})
      assert.equal(good.code, 0, good.stderr)
      assert.match(good.stdout, /Successfully validated 1 'NetworkPolicy' resource\(s\)/)
      const bad = await runCli(['validate', '-f', '-'], {stateDir: state.path, input: policy('70000')})
      assert.equal(bad.code, 2)
    } finally {
      state.cleanup()
    }
  })
})
