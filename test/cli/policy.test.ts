/** policy explain / selects / eval through the real CLI, on the embedded datastore. */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {repoRoot, runCli, tempDir} from '../helpers/cli.js'

describe('netctl policy', () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  before(async () => {
    state = tempDir()
    const applied = await netctl(['apply', '-f', join(repoRoot, 'test', 'fixtures', 'policy-shop.yaml')])
    assert.equal(applied.code, 0, applied.stderr)
  })
  after(() => state.cleanup())

  it('eval names the deciding tier, policy and rule, and exits 1 when denied', async () => {
    const allowed = await netctl(['policy', 'eval', '--from', 'web-0', '--to', 'db-0', '--port', '5432'])
    assert.equal(allowed.code, 0, allowed.stderr)
    assert.match(allowed.stdout, /^192\.168\.0\.65 → 192\.168\.0\.129 TCP\/5432: ALLOWED\n/)
    assert.match(allowed.stdout, /ingress at WorkloadEndpoint shop\/node02-k8s-db--0-eth0: allow by tier default, NetworkPolicy shop\/allow-web-to-db, rule 0/)
    assert.match(allowed.stdout, /egress at WorkloadEndpoint shop\/node01-k8s-web--0-eth0: allow by profile kns\.shop/)

    const telnet = await netctl(['policy', 'eval', '--from', 'web-0', '--to', 'db-0', '--port', '23'])
    assert.equal(telnet.code, 1)
    assert.match(telnet.stdout, /DENIED\n.*\n {2}ingress at .*: deny by tier security, GlobalNetworkPolicy security\.block-telnet, rule 0/)

    const back = await netctl(['policy', 'eval', '--from', 'db-0', '--to', '192.168.0.65', '--port', '80', '-o', 'json'])
    assert.equal(back.code, 1)
    const verdict = JSON.parse(back.stdout)
    assert.equal(verdict.allowed, false)
    assert.equal(verdict.ingress.decidedBy, 'end-of-tier')
    assert.equal(verdict.ingress.tier, 'default')
  })

  it('explain lists tiers, policies and rules in evaluation order, then profiles', async () => {
    const r = await netctl(['policy', 'explain', 'db-0'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /INGRESS \(in evaluation order\):\n {2}tier security .*\n {4}GlobalNetworkPolicy security\.block-telnet \(order 10\)\n {6}0: Deny TCP .*\n {6}1: Pass\n {2}tier default .*\n {4}NetworkPolicy shop\/allow-web-to-db \(order 100\)\n.*\n {4}NetworkPolicy shop\/default-deny \(order none\)\n {2}then profiles: kns\.shop/)
    assert.match(r.stdout, /EGRESS \(in evaluation order\):\n {2}no policy applies\n {2}then profiles: kns\.shop/)
    assert.equal((await netctl(['policy', 'explain', 'nobody'])).code, 1)
  })

  it('selects shows what a policy applies to and what its rules select', async () => {
    const r = await netctl(['policy', 'selects', 'allow-web-to-db', '-n', 'shop'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /applies to workload endpoints: shop\/node02-k8s-db--0-eth0\n/)
    assert.match(r.stdout, /ingress rule 0: .*\n {2}source: endpoints WorkloadEndpoint shop\/node01-k8s-web--0-eth0\n {2}destination: any address/)
    const gnp = await netctl(['policy', 'selects', 'gnp/security.block-telnet', '-o', 'json'])
    assert.equal(gnp.code, 0, gnp.stderr)
    assert.deepEqual(JSON.parse(gnp.stdout).workloadEndpoints.map((w: {name: string}) => w.name).sort(), ['node01-k8s-web--0-eth0', 'node02-k8s-db--0-eth0'])
  })
})
