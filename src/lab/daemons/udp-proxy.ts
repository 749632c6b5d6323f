/**
 * flannel's udp backend needs a process per node: the proxy in libexec/ that moves packets
 * between flannel0 and UDP 8285. Started, told of new routes (SIGHUP) and stopped here,
 * recorded like BIRD.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {NetctlError} from '../../errors.js'
import type {LabCluster, LabNode} from '../plan/cluster.js'
import {udpProxyConfig} from '../plan/flannel.js'
import {adoptStrays, nodeDir, nodeFile, runningDaemons, signalProcess, startDaemon, stopDaemons, type DaemonSpec} from './proc.js'
import {readStateFile, writeStateFile} from '../../datastore/safe-fs.js'

const kind = 'flannel-udp-proxy'
// From dist/lab/ or src/lab/ alike.
const program = fileURLToPath(new URL('../../../libexec/flannel-udp-proxy.py', import.meta.url))

const udpProxyFiles = (stateDir: string, lab: string, node: string) => {
  const dir = nodeDir(stateDir, lab, node)
  return {dir, config: join(dir, 'udp-proxy.json'), ready: join(dir, 'udp-proxy.ready'), log: join(dir, 'udp-proxy.log')}
}

function udpProxyDaemon(stateDir: string, lab: string, node: LabNode): DaemonSpec {
  const files = udpProxyFiles(stateDir, lab, node.name)
  return {
    kind, node: node.name, netns: node.netns, argv: ['python3', program, files.config], readyPath: files.ready, logPath: files.log,
    whenMissing: {message: 'cannot start the flannel udp proxy', suggestion: 'install python3 (apt-get install python3), or use the host-gw or vxlan backend'},
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/**
 * On the udp backend: every node's proxy running with its current routes (a new one makes
 * flannel0, so this runs before the kernel is programmed). On any other backend: none, which
 * takes flannel0 away (called once no route leads there).
 */
export async function syncUdpProxies(stateDir: string, cluster: LabCluster): Promise<{started: number; reloaded: number}> {
  if (cluster.flavor !== 'flannel' || cluster.backend?.type !== 'udp') {
    await stopDaemons(stateDir, cluster.lab, kind)
    return {started: 0, reloaded: 0}
  }
  await adoptStrays(stateDir, cluster.lab, cluster.nodes.map((node) => udpProxyDaemon(stateDir, cluster.lab, node)))
  const running = runningDaemons(stateDir, cluster.lab, kind)
  let started = 0
  let reloaded = 0
  for (const node of cluster.nodes) {
    const files = udpProxyFiles(stateDir, cluster.lab, node.name)
    const text = JSON.stringify(udpProxyConfig(cluster, node, files.ready), null, 2) + '\n'
    const configFile = nodeFile(cluster.lab, node.name, 'udp-proxy.json')
    const previous = readStateFile(stateDir, configFile)
    // Renamed into place: a proxy re-reading on SIGHUP never sees half a file.
    writeStateFile(stateDir, configFile, text)
    const proxy = running.get(node.name)
    if (proxy) {
      if (previous !== text) {
        signalProcess(proxy.pid, 'SIGHUP')
        reloaded++
      }
      continue
    }
    const ready = await startDaemon(stateDir, cluster.lab, udpProxyDaemon(stateDir, cluster.lab, node))
    if (!ready) {
      const log = readText(files.log)?.trim().split('\n').slice(-2).join(' / ')
      throw new NetctlError('internal', `the flannel udp proxy did not start on node ${node.name}: ${log || 'it never became ready'}`, `see ${files.log}`)
    }
    started++
  }
  return {started, reloaded}
}
