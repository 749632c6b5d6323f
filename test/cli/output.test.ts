import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {formatTable, parseOutputFormat} from '../../src/cli/output.js'
import {kindInfo} from '../../src/resources/registry.js'
import type {Resource} from '../../src/resources/types.js'

const object = (kind: string, name: string, spec: Record<string, unknown>): Resource => ({apiVersion: 'projectcalico.org/v3', kind, metadata: {name}, spec})
const table = (kind: string, resources: Resource[], format = 'ps', context = {}) =>
  formatTable(kindInfo(kind), resources, {format: parseOutputFormat(format), namespaceColumn: false, context})

describe('tables of the other kinds', () => {
  it('nodes: NAME, and wide with the inherited AS in parentheses', () => {
    const nodes = [
      object('Node', 'controlplane', {bgp: {ipv4Address: '172.17.0.32/16'}}),
      object('Node', 'node01', {bgp: {ipv4Address: '172.17.0.40/16', asNumber: 64600}}),
    ]
    assert.equal(table('nodes', nodes), 'NAME\ncontrolplane\nnode01')
    assert.equal(table('no', nodes, 'wide', {defaultASNumber: 64512}), [
      'NAME           ASN       IPV4             IPV6',
      'controlplane   (64512)   172.17.0.32/16',
      'node01         64600     172.17.0.40/16',
    ].join('\n'))
  })

  it('BGP peers show (global) when no node is set; BGP configuration its mesh flag', () => {
    assert.equal(table('bgppeers', [object('BGPPeer', 'rr', {peerIP: '172.17.0.50', asNumber: 64512})]), 'NAME   PEERIP        NODE       ASN\nrr     172.17.0.50   (global)   64512')
    assert.equal(table('bgpconfig', [object('BGPConfiguration', 'default', {nodeToNodeMeshEnabled: false, asNumber: 64512, logSeverityScreen: 'Info'})]),
      'NAME      LOGSEVERITY   MESHENABLED   ASNUMBER\ndefault   Info          false         64512')
  })

  it('accepts the formats calicoctl accepts and no others', () => {
    assert.deepEqual(parseOutputFormat('custom-columns=name, cidr'), {type: 'custom-columns', columns: ['NAME', 'CIDR']})
    assert.throws(() => parseOutputFormat('custom-columns='), /need to specify at least one column/)
    assert.throws(() => parseOutputFormat('table'), /unknown output format "table"/)
  })
})
