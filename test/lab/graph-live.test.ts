/** netctl lab graph on a real calico lab with route reflectors and real BIRD (root). */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {endProcess} from '../../src/lab/daemons/proc.js'
import {readOwned} from '../../src/lab/state.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {kernelSkipReason, namespacesWithPrefix, removeNamespaces} from '../helpers/kernel.js'

const skip = kernelSkipReason()
const tag = `g${process.pid % 10000}`
const lab = `${tag}r`

/** The BGP edges of a Mermaid graph: "n0 n2" → what the label reads (entities decoded). */
const bgpEdges = (mermaid: string): Map<string, string> =>
  new Map([...mermaid.matchAll(/^ {2}(\w+) -\.-\|"([^"]*)"\| (\w+)$/gm)].map((m) => [`${m[1]} ${m[3]}`, m[2]!.replace(/#(\d+);/g, (_, c: string) => String.fromCodePoint(Number(c)))]))

describe('netctl lab graph (network namespaces, BIRD)', {skip}, () => {
  let state: ReturnType<typeof tempDir>
  const netctl = (args: string[]) => runCli(args, {stateDir: state.path})

  before(async () => {
    state = tempDir()
    const up = await netctl(['lab', 'up', '--name', lab, '--nodes', '3', '--pods-per-node', '1', '--route-reflectors', '1'])
    assert.equal(up.code, 0, up.stderr)
  })
  after(async () => {
    await netctl(['lab', 'down', '--all'])
    removeNamespaces(namespacesWithPrefix(`nc-${tag}`))
    state.cleanup()
  })

  it('draws the sessions to the route reflector as BIRD reports them: Established', async () => {
    const graph = await netctl(['lab', 'graph', lab])
    assert.equal(graph.code, 0, graph.stderr)
    assert.deepEqual([...bgpEdges(graph.stdout)], [['n0 n1', 'BGP route reflector: Established'], ['n0 n2', 'BGP route reflector: Established']])
    for (const netns of ['underlay', 'n-controlplane', 'n-node01', 'n-node02', 'p-busybox-node02-0']) assert.ok(graph.stdout.includes(`netns nc-${lab}.${netns}<br/>`), netns)
  })

  it('--trace highlights the path a packet takes, as lab trace computes it', async () => {
    const status = JSON.parse((await netctl(['lab', 'status', lab, '--json'])).stdout)
    const [a, b] = [status.pods[0].name, status.pods.find((p: {node: string}) => p.node !== status.pods[0].node).name]
    const dot = await netctl(['lab', 'graph', lab, '-o', 'dot', '--trace', a, b])
    assert.equal(dot.code, 0, dot.stderr)
    assert.match(dot.stdout, new RegExp(`label="lab ${lab} \\(calico\\) — path ${a} → ${b} \\(delivered, ttl=62\\)"`))
    assert.equal((dot.stdout.match(/penwidth=4/g) ?? []).length, 4)
    assert.equal((await netctl(['lab', 'graph', lab, '--trace', a])).code, 2)
  })

  it('writes a self-contained HTML page around the SVG', async () => {
    const file = join(state.path, 'lab.html')
    const written = await netctl(['lab', 'graph', '-o', 'html', '--output-file', file])
    assert.equal(written.code, 0, written.stderr)
    assert.equal(written.stdout, '')
    const html = readFileSync(file, 'utf8')
    assert.match(html, /<figure><svg [\s\S]*BGP route reflector: Established[\s\S]*<\/svg><\/figure>/)
    assert.doesNotMatch(html, /<script|src=|href=/)
  })

  it('a node whose BIRD stopped: its sessions are no longer Established, and the graph still comes out', async () => {
    const bird = readOwned(state.path, lab).find((o) => 'pid' in o && o.what === 'bird node02')
    assert.ok(bird && 'pid' in bird, 'node02\'s BIRD is recorded')
    assert.ok(await endProcess(bird.pid, bird.start))
    const graph = await netctl(['lab', 'graph', lab])
    assert.equal(graph.code, 0, graph.stderr)
    assert.match(bgpEdges(graph.stdout).get('n0 n2')!, /^BGP route reflector: controlplane \S.*, node02 unknown$/)
    assert.equal(bgpEdges(graph.stdout).get('n0 n1'), 'BGP route reflector: Established')
    assert.match(graph.stdout, /BIRD#58; not running"\]/)
  })
})
