/**
 * netctl's bird.conf in a real BIRD 2: where BIRD programs an IPIP pool's routes (BGPConfiguration
 * programClusterRoutes Enabled, Calico's behaviour before 3.33 and seed 000's), stock BIRD sends
 * them through tunl0 onlink, as Calico's BIRD fork does with krt_tunnel. This kernel has no ipip
 * module, so node a's "tunl0" is a stand-in veth of that name: BIRD only needs the device to
 * exist to route through it; what IPIP does with the packets is not under test here.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, describe, it} from 'node:test'

import {bgpSessions, renderBirdConfig, type BgpNode} from '../../src/bgp/config.js'
import {tempDir} from '../helpers/cli.js'
import {kernelSkipReason, removeNamespaces} from '../helpers/kernel.js'
import {killPid} from '../helpers/process.js'

const skip = kernelSkipReason() || (spawnSync('bird', ['--version']).error ? 'needs BIRD 2 (apt-get install bird2)' : false)
if (skip) console.log(`# skipped: ${skip}`)

const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** BIRD's daemonized child writes its pid file after the parent has exited: wait for the number. */
async function pidFrom(file: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : ''
    if (/^\d+$/.test(text)) return Number(text)
    await sleep(20)
  }
  throw new Error(`${file} holds no pid after 2 s`)
}

describe('bird.conf in BIRD 2: an IPIP pool BIRD programs', {skip}, () => {
  const dir = tempDir('netctl-bird-')
  const ns = {a: `ncbird${process.pid}-a`, b: `ncbird${process.pid}-b`}
  const nodes: BgpNode[] = [{name: 'a', ip: '172.17.0.32', labels: {}}, {name: 'b', ip: '172.17.0.40', labels: {}}]
  const blocks = {a: '192.168.0.0/26', b: '192.168.0.64/26'}
  const pids: number[] = []

  after(() => {
    for (const pid of pids) killPid(pid)
    removeNamespaces(Object.values(ns))
    dir.cleanup()
  })

  it('installs the peer\'s block via the peer on tunl0, onlink, proto bird (seed 000\'s route), and its own blackhole', async () => {
    ip('netns', 'add', ns.a)
    ip('netns', 'add', ns.b)
    ip('-n', ns.a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.b)
    ip('-n', ns.a, 'link', 'add', 'tunl0', 'type', 'veth', 'peer', 'name', 'tunl0-peer')
    for (const [name, node] of [['a', nodes[0]!], ['b', nodes[1]!]] as const) {
      ip('-n', ns[name], 'addr', 'add', `${node.ip}/24`, 'dev', 'eth0')
      for (const link of name === 'a' ? ['lo', 'eth0', 'tunl0', 'tunl0-peer'] : ['lo', 'eth0']) ip('-n', ns[name], 'link', 'set', link, 'up')
      const files = {config: join(dir.path, `${name}.conf`), socket: join(dir.path, `${name}.ctl`), pid: join(dir.path, `${name}.pid`)}
      writeFileSync(files.config, renderBirdConfig({
        node, asNumber: 64512, sessions: bgpSessions(node, nodes, undefined, []), blocks: [blocks[name]],
        pools: [{cidr: '192.168.0.0/16', ipip: 'Always'}], localSubnet: '172.17.0.0/24', logFile: join(dir.path, `${name}.log`),
      }))
      const started = spawnSync('ip', ['netns', 'exec', ns[name], 'bird', '-c', files.config, '-s', files.socket, '-P', files.pid], {encoding: 'utf8'})
      assert.equal(started.status, 0, started.stderr)
      pids.push(await pidFrom(files.pid))
    }
    let routes = ''
    for (let i = 0; i < 60 && !/192\.168\.0\.64\/26/.test(routes); i++) {
      await sleep(250)
      routes = ip('-n', ns.a, 'route', 'show', 'proto', 'bird')
    }
    assert.match(routes, /^192\.168\.0\.64\/26 via 172\.17\.0\.40 dev tunl0 onlink $/m, routes)
    assert.match(routes, /^blackhole 192\.168\.0\.0\/26 $/m, 'a blackhole stays a blackhole')
  })
})
