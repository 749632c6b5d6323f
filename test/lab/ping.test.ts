/**
 * `netctl lab ping --port`: TCP/UDP probes between pods, to listeners the lab starts and
 * records. The pure parts (pairs, parsing, verdicts, rendering) run anywhere; the lab part
 * builds a real calico lab (root only).
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {repoRoot, runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'
import {killPid} from '../helpers/process.js'
import {parseProbeLines, pingPairs, renderGrid, renderProbeReport, summarizeAttempts, summaryLine, type ProbeReport, type ProbeResult} from '../../src/lab/inspect/ping.js'

const pods = (perNode: number, nodes: number) =>
  Array.from({length: nodes}, (_, n) => Array.from({length: perNode}, (_, i) => ({name: `p${n}-${i}`, node: `n${n}`}))).flat()

describe('lab ping --port: pure parts', () => {
  it('pairs: every ordered pair in a small lab; in a large one every node pair is still covered', () => {
    assert.equal(pingPairs(pods(2, 2), false).length, 12)
    const large = pods(8, 5)
    const sample = pingPairs(large, false)
    assert.ok(sample.length < 40 * 39)
    assert.ok(sample.every(({a, b}) => a !== b))
    const covered = new Set(sample.map(({a, b}) => `${a.node}>${b.node}`))
    for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) assert.ok(covered.has(`n${x}>n${y}`), `n${x}>n${y}`)
    assert.equal(pingPairs(large, true).length, 40 * 39)
  })

  it('parses the prober lines by source pod and target IP and skips anything else', () => {
    const byPair = parseProbeLines(
      [
        '{"from": "a", "ip": "10.0.0.2", "attempt": 1, "outcome": "ok", "ms": 0.5}',
        'Traceback (most recent call last):',
        '{"from": "a", "ip": "10.0.0.2", "attempt": 2, "outcome": "timeout", "ms": 1000.1}',
        '{"from": "b", "ip": "10.0.0.2", "attempt": 1, "outcome": "refused", "ms": 0.1}',
        '{"from": "a", "ip": "10.0.0.3", "attempt": 1, "outcome": "bogus", "ms": 1}',
        '{"ip": "10.0.0.3", "attempt": 1, "outcome": "ok", "ms": 1}',
        '{"from": "a", "ip": "10.0.0.4", "att',
      ].join('\n'),
    )
    assert.deepEqual([...byPair.keys()], ['a 10.0.0.2', 'b 10.0.0.2'])
    assert.deepEqual(byPair.get('a 10.0.0.2'), [{outcome: 'ok', ms: 0.5}, {outcome: 'timeout', ms: 1000.1}])
    assert.deepEqual(byPair.get('b 10.0.0.2'), [{outcome: 'refused', ms: 0.1}])
  })

  it('a pair is ok only when every attempt was; otherwise its most frequent failure; missing attempts are errors', () => {
    assert.deepEqual(summarizeAttempts([{outcome: 'ok', ms: 1}, {outcome: 'ok', ms: 2}], 2), {attempts: 2, ok: 2, outcome: 'ok', timeAvgMs: 1.5})
    assert.deepEqual(summarizeAttempts([{outcome: 'ok', ms: 1}, {outcome: 'timeout', ms: 1000}], 2), {attempts: 2, ok: 1, outcome: 'timeout', timeAvgMs: 1})
    assert.equal(summarizeAttempts([{outcome: 'refused', ms: 1}, {outcome: 'timeout', ms: 1}, {outcome: 'timeout', ms: 1}], 3).outcome, 'timeout')
    assert.deepEqual(summarizeAttempts([], 2), {attempts: 2, ok: 0, outcome: 'error', timeAvgMs: undefined})
  })

  const result = (from: string, to: string, outcome: ProbeResult['outcome'] = 'ok'): ProbeResult => ({
    from, to, toIp: `10.0.0.${to.length}`, attempts: 1, ok: outcome === 'ok' ? 1 : 0, outcome, timeAvgMs: outcome === 'ok' ? 0.25 : undefined,
  })

  it('renders a from×to grid of ✓/✗ with · on the diagonal and blanks for pairs not probed', () => {
    const grid = renderGrid(['a', 'bb', 'c'], [result('a', 'bb'), result('bb', 'a', 'timeout'), result('c', 'a'), result('c', 'bb', 'refused')])
    assert.deepEqual(grid, ['FROM \\ TO', '        1 2 3', '1 a     · ✓  ', '2 bb    ✗ ·  ', '3 c     ✓ ✗ ·'])
  })

  it('renders the report: protocol/port header, one row per pair, legend, summary naming the failures', () => {
    const report: ProbeReport = {
      protocol: 'tcp', port: 8080, timeoutMs: 1000, pods: ['a', 'b'], failed: 1, sampled: false, listeners: {started: 2, running: 2},
      results: [result('a', 'b'), result('b', 'a', 'timeout')],
    }
    const text = renderProbeReport(report)
    assert.match(text, /^TCP port 8080: 2 pairs of 2 pods, 1 attempt each, 1 s timeout\n/)
    assert.match(text, /^FROM\s+TO\s+TARGET\s+RESULT\s+TIME\(ms\)$/m)
    assert.match(text, /^a\s+b\s+10\.0\.0\.1:8080\s+✓ ok\s+0\.250$/m)
    assert.match(text, /^b\s+a\s+10\.0\.0\.1:8080\s+✗ timed out\s+-$/m)
    assert.match(text, /^✓ allowed \(connected on every attempt\)\s+✗ denied \(refused, timed out, unreachable\)$/m)
    assert.match(text, /\n1\/2 pairs allowed, 1 denied \(1 timed out\)$/)
    assert.equal(summaryLine({...report, protocol: 'udp', failed: 0, results: [result('a', 'b')], sampled: true}), '1/1 pairs allowed (a sample: --all probes every pair)')
    assert.match(renderProbeReport({...report, protocol: 'udp', port: 53}), /^UDP port 53:[^]*✗ denied \(no answer, refused, unreachable\)/m)
    // Above the full-matrix limit no grid is drawn (it would not fit); the rows and summary still are.
    const many = Array.from({length: 31}, (_, i) => `p${i}`)
    const large = renderProbeReport({...report, pods: many, results: [result('p0', 'p1')], failed: 0, sampled: true})
    assert.doesNotMatch(large, /FROM \\ TO/)
    assert.match(large, /^1\/1 pairs allowed \(a sample: --all probes every pair\)$/m)
  })
})

const skip = kernelSkipReason()
const tag = `q${process.pid % 10000}`

/** Start times (field 22 of /proc/<pid>/stat) of the listeners seen: an after() kill must hit only those processes. */
const startOf = new Map<number, string>()
const startTime = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** The recorded listeners of a lab: "<pod> <proto>/<port>" → pid. */
function recordedListeners(stateDir: string, lab: string): Map<string, number> {
  const lines = readFileSync(join(stateDir, 'labs', lab, 'owned.jsonl'), 'utf8').split('\n').filter(Boolean)
  const found = new Map<string, number>()
  for (const line of lines) {
    const o = JSON.parse(line) as {pid?: number; start?: string; what?: string}
    if (o.pid && o.start && o.what?.startsWith('probe-listener ')) {
      found.set(o.what.slice('probe-listener '.length), o.pid)
      startOf.set(o.pid, o.start)
    }
  }
  return found
}

const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^\S+ \(.*\) [ZX] /.test(stat)
  } catch {
    return false
  }
}

describe('netctl lab ping --port (network namespaces)', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const lab = `${tag}p`
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})
  const pids: number[] = []

  before(async () => {
    state = tempDir()
    const up = await netctl(['lab', 'up', '--name', lab, '--bgp', 'off', '--pods-per-node', '2'])
    assert.equal(up.code, 0, up.stderr)
  })
  after(async () => {
    await netctl(['lab', 'down', lab])
    removeNamespaces(namespacesWithPrefix(`nc-${lab}.`))
    // A listener the down missed would still be ours: end it by its pid.
    for (const pid of pids) if (alive(pid) && startTime(pid) === startOf.get(pid)) killPid(pid)
    state.cleanup()
  })

  it('TCP 8080: every pair connects; the listeners are recorded and reused by the next ping', async () => {
    const ping = await netctl(['lab', 'ping', lab, '--port', '8080', '--count', '1'])
    assert.equal(ping.code, 0, ping.stdout + ping.stderr)
    assert.match(ping.stdout, /^TCP port 8080: 12 pairs of 4 pods/)
    assert.match(ping.stdout, /^12\/12 pairs allowed$/m)
    assert.doesNotMatch(ping.stdout, /✗ (timed|refused)/)
    const listeners = recordedListeners(state.path, lab)
    assert.equal([...listeners.keys()].filter((k) => k.endsWith(' tcp/8080')).length, 4)
    pids.push(...listeners.values())
    assert.ok([...listeners.values()].every(alive))
    const again = await netctl(['lab', 'ping', lab, '--port', '8080', '--count', '1', '--json'])
    assert.equal(again.code, 0, again.stderr)
    const report = JSON.parse(again.stdout)
    assert.equal(report.listeners.started, 0)
    assert.equal(report.failed, 0)
    assert.deepEqual(recordedListeners(state.path, lab), listeners)
    // One that died (crashed, killed) is started again, the others kept.
    const victim = listeners.get('busybox-node01-1 tcp/8080')!
    killPid(victim)
    const third = JSON.parse((await netctl(['lab', 'ping', lab, '--port', '8080', '--count', '1', '--json'])).stdout)
    assert.deepEqual([third.listeners.started, third.failed], [1, 0])
    const now = recordedListeners(state.path, lab)
    assert.notEqual(now.get('busybox-node01-1 tcp/8080'), victim)
    assert.equal(now.get('busybox-node01-0 tcp/8080'), listeners.get('busybox-node01-0 tcp/8080'))
    pids.push(...now.values())
  })

  it('--protocol needs --port; a port out of range is refused', async () => {
    assert.equal((await netctl(['lab', 'ping', lab, '--protocol', 'udp'])).code, 2)
    assert.equal((await netctl(['lab', 'ping', lab, '--port', '70000'])).code, 2)
  })

  it('UDP 5353: every pair is answered', async () => {
    const ping = await netctl(['lab', 'ping', lab, '--port', '5353', '--protocol', 'udp', '--count', '2'])
    assert.equal(ping.code, 0, ping.stdout + ping.stderr)
    assert.match(ping.stdout, /^UDP port 5353: 12 pairs of 4 pods, 2 attempts each/)
    assert.match(ping.stdout, /^12\/12 pairs allowed$/m)
    pids.push(...recordedListeners(state.path, lab).values())
  })

  it('a pod that drops TCP 8080 in its own namespace: the pairs towards it time out, exit 1', async () => {
    const target = 'busybox-node01-0'
    const nft = (args: string[]) => netctl(['lab', 'exec', '--lab', lab, target, '--', 'nft', ...args])
    const add = await nft(['add', 'table', 'inet', 't'])
    assert.equal(add.code, 0, add.stderr)
    try {
      assert.equal((await nft(['add', 'chain', 'inet', 't', 'in', '{', 'type', 'filter', 'hook', 'input', 'priority', '0', ';', '}'])).code, 0)
      assert.equal((await nft(['add', 'rule', 'inet', 't', 'in', 'tcp', 'dport', '8080', 'drop'])).code, 0)
      const ping = await netctl(['lab', 'ping', lab, '--port', '8080', '--count', '1', '--json'])
      assert.equal(ping.code, 1, ping.stderr)
      const report = JSON.parse(ping.stdout)
      const denied = report.results.filter((r: {outcome: string}) => r.outcome !== 'ok')
      assert.equal(denied.length, 3)
      assert.ok(denied.every((r: {to: string; outcome: string}) => r.to === target && r.outcome === 'timeout'), JSON.stringify(denied))
      const text = await netctl(['lab', 'ping', lab, '--port', '8080', '--count', '1'])
      assert.equal(text.code, 1)
      assert.match(text.stdout, new RegExp(`^busybox-\\S+\\s+${target}\\s+\\S+:8080\\s+✗ timed out\\s+-$`, 'm'))
      assert.match(text.stdout, /^9\/12 pairs allowed, 3 denied \(3 timed out\)$/m)
      // UDP to the same pod is not blocked...
      assert.equal((await netctl(['lab', 'ping', lab, '--port', '5353', '--protocol', 'udp', '--count', '1'])).code, 0)
      // ...until it is: no answer. And a TCP reset instead of a drop reads as refused.
      assert.equal((await nft(['add', 'rule', 'inet', 't', 'in', 'udp', 'dport', '5353', 'drop'])).code, 0)
      assert.equal((await nft(['flush', 'chain', 'inet', 't', 'in'])).code, 0)
      assert.equal((await nft(['add', 'rule', 'inet', 't', 'in', 'udp', 'dport', '5353', 'drop'])).code, 0)
      assert.equal((await nft(['add', 'rule', 'inet', 't', 'in', 'tcp', 'dport', '8080', 'reject', 'with', 'tcp', 'reset'])).code, 0)
      const udp = await netctl(['lab', 'ping', lab, '--port', '5353', '--protocol', 'udp', '--count', '1'])
      assert.equal(udp.code, 1)
      assert.match(udp.stdout, /^9\/12 pairs allowed, 3 denied \(3 no answer\)$/m)
      const reset = await netctl(['lab', 'ping', lab, '--port', '8080', '--count', '1'])
      assert.equal(reset.code, 1)
      assert.match(reset.stdout, /^9\/12 pairs allowed, 3 denied \(3 refused\)$/m)
    } finally {
      await nft(['delete', 'table', 'inet', 't'])
    }
    assert.equal((await netctl(['lab', 'ping', lab, '--port', '8080', '--count', '1'])).code, 0)
  })

  it('listeners of pods the lab no longer has are ended by the next ping', async () => {
    const before = recordedListeners(state.path, lab)
    const shrink = await netctl(['lab', 'up', '--name', lab, '--bgp', 'off', '--pods-per-node', '1'])
    assert.equal(shrink.code, 0, shrink.stderr)
    assert.equal((await netctl(['lab', 'ping', lab, '--port', '8080', '--count', '1'])).code, 0)
    const gone = [...before].filter(([key]) => / tcp\/8080$/.test(key) && key.split(' ')[0]!.endsWith('-1')).map(([, pid]) => pid)
    assert.equal(gone.length, 2)
    assert.deepEqual(gone.filter(alive), [])
    const now = recordedListeners(state.path, lab)
    assert.deepEqual([...now.keys()].filter((k) => k.endsWith(' tcp/8080')).sort(), ['busybox-controlplane-0 tcp/8080', 'busybox-node01-0 tcp/8080'])
    pids.push(...now.values())
  })

  it('a port something else already listens on in a pod: a clear error, not a silent pass', async () => {
    const report = JSON.parse((await netctl(['lab', 'ping', lab, '--port', '8080', '--count', '1', '--json'])).stdout)
    const ip = report.results.find((r: {to: string}) => r.to === 'busybox-node01-0').toIp
    const dir = tempDir()
    // Someone else's server on 7070 in that pod (the probe program itself, not recorded by the lab).
    const other = spawn('ip', ['netns', 'exec', `nc-${lab}.p-busybox-node01-0`, 'python3', join(repoRoot, 'libexec', 'port-probe.py'), 'listen', 'tcp', ip, '7070', join(dir.path, 'ready')], {stdio: 'ignore'})
    try {
      for (let i = 0; i < 150 && !existsSync(join(dir.path, 'ready')); i++) await new Promise((resolve) => setTimeout(resolve, 20))
      assert.ok(existsSync(join(dir.path, 'ready')))
      const ping = await netctl(['lab', 'ping', lab, '--port', '7070', '--count', '1'])
      assert.equal(ping.code, 1)
      assert.match(ping.stderr, /the tcp\/7070 probe listener did not start in pod busybox-node01-0: cannot listen on [\d.]+ tcp\/7070: Address already in use/)
      assert.match(ping.stderr, /something in the pod already uses tcp\/7070: probe another --port/)
    } finally {
      other.kill('SIGKILL')
      dir.cleanup()
    }
  })

  it('lab down ends every listener', async () => {
    const listeners = [...recordedListeners(state.path, lab).values()].filter(alive)
    assert.ok(listeners.length >= 2)
    assert.ok(listeners.every(alive))
    const down = await netctl(['lab', 'down', lab])
    assert.equal(down.code, 0, down.stderr)
    assert.deepEqual(listeners.filter(alive), [])
  })
})
