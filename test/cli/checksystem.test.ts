/** netctl node checksystem: what this machine lacks (ipip among it), and a fake system that has everything. */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {checkSystem, findModule, kernelAtLeast, requiredModules, requiredSysctls, type SystemFacts} from '../../src/services/checksystem.js'
import {runCli} from '../helpers/cli.js'

const nothing = (): SystemFacts => ({
  kernelRelease: '6.1.0-18-amd64',
  sysModules: new Set(),
  procModules: new Set(),
  netfilterMatches: new Set(),
  netfilterTargets: new Set(),
  procNet: new Set(),
  devices: new Set(),
  sysctls: new Map(requiredSysctls.map((s) => [s.name, '1'])),
})

describe('node checksystem', () => {
  it('passes a system whose /proc/modules lists every module Calico needs', () => {
    const facts = {...nothing(), procModules: new Set(requiredModules.map((m) => m.name.replaceAll('-', '_')))}
    const report = checkSystem(facts)
    assert.deepEqual(report.missing, [])
    assert.equal(report.ok, true)
    assert.deepEqual(new Set(report.modules.map((m) => m.status)), new Set(['OK']))
    assert.deepEqual(report.sysctls.map((s) => s.status), ['OK', 'OK', 'OK', 'OK'])
  })

  it('finds modules in modules.builtin, modules.dep, the kernel config and netfilter\'s registry', () => {
    const check = (name: string) => requiredModules.find((m) => m.name === name)!
    assert.equal(findModule(check('ipip'), {...nothing(), modulesBuiltin: 'kernel/net/ipv4/ipip.ko\n'}), 'modules.builtin')
    assert.equal(findModule(check('ipip'), {...nothing(), modulesDep: 'kernel/net/ipv4/ipip.ko.zst: kernel/net/ipv4/tunnel4.ko.zst\n'}), 'modules.dep (loadable)')
    assert.equal(findModule(check('ipip'), {...nothing(), modulesBuiltin: 'kernel/net/ipv4/ipip6.ko\n'}), undefined, 'another module whose name starts the same')
    assert.equal(findModule(check('ipip'), {...nothing(), kernelConfig: new Map([['CONFIG_NET_IPIP', 'm']]), kernelConfigSource: '/boot/config-x'}), '/boot/config-x: CONFIG_NET_IPIP=m')
    assert.equal(findModule(check('ipip'), {...nothing(), kernelConfig: new Map([['CONFIG_NET_IPIP', 'n']])}), undefined)
    assert.equal(findModule(check('xt_set'), {...nothing(), netfilterMatches: new Set(['set'])}), '/proc/net/ip_tables_matches: set')
    assert.equal(findModule(check('vfio-pci'), {...nothing(), sysModules: new Set(['vfio_pci'])}), '/sys/module/vfio_pci')
    assert.equal(findModule(check('ipip'), {...nothing(), devices: new Set(['tunl0'])}), 'device tunl0')
  })

  it('fails on a kernel older than 2.6.24, a missing sysctl and loose rp_filter, and names each', () => {
    assert.equal(kernelAtLeast('2.6.23.9', '2.6.24'), false)
    assert.equal(kernelAtLeast('2.6.24', '2.6.24'), true)
    assert.equal(kernelAtLeast('6.18.44-fc-v669', '2.6.24'), true)
    const sysctls = new Map([['net.ipv4.ip_forward', '0'], ['net.ipv4.conf.all.rp_filter', '2']])
    const report = checkSystem({...nothing(), kernelRelease: '2.6.18', procModules: new Set(requiredModules.map((m) => m.name.replaceAll('-', '_'))), sysctls})
    assert.equal(report.ok, false)
    assert.deepEqual(report.missing, ['kernel 2.6.24 or newer (this is 2.6.18)', 'sysctl net.ipv4.conf.all.rp_filter=2', 'sysctl net.netfilter.nf_conntrack_max'])
    assert.deepEqual(report.sysctls.map((s) => s.status), ['WARN', 'FAIL', 'SKIP', 'FAIL'])
  })

  it('on this machine: names ipip as missing and exits 1', async () => {
    const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()
    const hasIpip = existsSync('/sys/module/ipip') || existsSync('/sys/class/net/tunl0') || (existsSync(`/lib/modules/${release}/modules.builtin`) && /\/ipip\.ko/.test(readFileSync(`/lib/modules/${release}/modules.builtin`, 'utf8')))
    assert.equal(hasIpip, false, 'this test expects a kernel without ipip (as on the build machines)')
    const r = await runCli(['node', 'checksystem'])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stdout, /^Checking kernel version\.\.\.\n\t\t\S+\s*\t\t\t\t\tOK\nChecking kernel modules\.\.\.\n/)
    assert.match(r.stdout, /WARNING: Unable to detect the ipip module: .*\n\t\tipip {16}\t\t\t\t\tFAIL\n/)
    assert.match(r.stdout, /\t\tvxlan {15}\t\t\t\t\tOK\n/)
    assert.doesNotMatch(r.stdout, /System meets minimum/)
    assert.match(r.stderr, /^Error: system doesn't meet one or more minimum systems requirements to run Calico: missing .*ipip/)
    const json = await runCli(['node', 'checksystem', '--json'])
    assert.equal(json.code, 1)
    const report = JSON.parse(json.stdout)
    assert.ok(report.missing.includes('ipip'))
    assert.equal(report.modules.find((m: {name: string}) => m.name === 'ipip').status, 'FAIL')
  })
})
