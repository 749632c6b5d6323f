import {parseIp} from './cidr.js'
import {name, text, type KindInfo} from './kind.js'
import type {Resource} from './types.js'
import {checkAsNumber, checkBoolean, invalid} from './validate.js'

const spec = (r: Resource) => (r.spec ?? {}) as Record<string, unknown>

/** A peer IP may carry a port: 10.0.0.1:179 or [fd00::1]:179. */
function peerAddress(value: string): string {
  const bracketed = /^\[(.+)\](?::\d+)?$/.exec(value)
  if (bracketed) return bracketed[1]!
  const v4WithPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(value)
  return v4WithPort ? v4WithPort[1]! : value
}

function validateBgpPeer(resource: Resource): void {
  const s = spec(resource)
  if (s.peerIP !== undefined && !parseIp(peerAddress(String(s.peerIP)))) {
    throw invalid(resource, 'spec.peerIP', `${JSON.stringify(s.peerIP)} is not an IP address`, 'write it like 172.17.0.40, 172.17.0.40:179 or [fd00::1]:179')
  }
  checkAsNumber(resource, 'spec.asNumber', s.asNumber)
  if (s.node !== undefined && s.nodeSelector !== undefined) {
    throw invalid(resource, 'spec', 'sets both node and nodeSelector', 'keep one of them')
  }
}

export const bgpPeerKind: KindInfo = {
  kind: 'BGPPeer',
  plural: 'bgppeers',
  aliases: ['bgppeer', 'bgppeers', 'bgpp', 'bgpps', 'bp', 'bps'],
  namespaced: false,
  columns: {ps: ['NAME', 'PEERIP', 'NODE', 'ASN'], wide: ['NAME', 'PEERIP', 'NODE', 'ASN']},
  cells: {
    NAME: name,
    PEERIP: (r) => text(spec(r).peerIP),
    NODE: (r) => text(spec(r).node || spec(r).nodeSelector || '(global)'),
    ASN: (r) => text(spec(r).asNumber),
  },
  validate: validateBgpPeer,
}

function validateBgpConfiguration(resource: Resource): void {
  const s = spec(resource)
  checkAsNumber(resource, 'spec.asNumber', s.asNumber)
  checkBoolean(resource, 'spec.nodeToNodeMeshEnabled', s.nodeToNodeMeshEnabled)
}

export const bgpConfigurationKind: KindInfo = {
  kind: 'BGPConfiguration',
  plural: 'bgpconfigurations',
  aliases: ['bgpconfiguration', 'bgpconfigurations', 'bgpconfig', 'bgpconfigs'],
  namespaced: false,
  columns: {ps: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER'], wide: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER']},
  cells: {
    NAME: name,
    LOGSEVERITY: (r) => text(spec(r).logSeverityScreen),
    MESHENABLED: (r) => text(spec(r).nodeToNodeMeshEnabled),
    ASNUMBER: (r) => text(spec(r).asNumber),
  },
  validate: validateBgpConfiguration,
}
