import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {calicoInterfaceName, workloadEndpointName} from '../../src/resources/workloadendpoint.js'

describe('WorkloadEndpoint names', () => {
  it('doubles dashes inside each segment (REFERENCE.md example)', () => {
    assert.equal(
      workloadEndpointName({node: 'node01', pod: 'busybox-deployment-8c7dc8548-btnkv'}),
      'node01-k8s-busybox--deployment--8c7dc8548--btnkv-eth0',
    )
    assert.equal(workloadEndpointName({node: 'k8s-node-1', pod: 'web'}), 'k8s--node--1-k8s-web-eth0')
  })

  it('names host interfaces cali + 11 hex of sha1(namespace.pod), as in seed 000', () => {
    assert.equal(calicoInterfaceName('default', 'busybox-deployment-8c7dc8548-x6ljh'), 'cali9861acf9f07')
    assert.equal(calicoInterfaceName('default', 'busybox-deployment-8c7dc8548-btnkv'), 'calib673e730d42')
    assert.equal(calicoInterfaceName('kube-system', 'coredns-x').length, 15)
  })
})
