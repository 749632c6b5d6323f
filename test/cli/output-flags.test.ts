/** The real binary: get -o go-template/jsonpath (and their -file forms), get --export, and --skip-empty on the -f commands. */
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {repoRoot, runCli, tempDir} from '../helpers/cli.js'

describe('get -o go-template / jsonpath, --export; --skip-empty', () => {
  let state: ReturnType<typeof tempDir>
  let files: ReturnType<typeof tempDir>
  const netctl = (args: string[], input?: string) => runCli(args, {stateDir: state.path, input})
  before(async () => {
    state = tempDir()
    files = tempDir()
    const created = await netctl(['create', '-f', join(repoRoot, 'test', 'fixtures', 'pools.yaml')])
    assert.equal(created.code, 0, created.stderr)
    assert.equal((await netctl(['label', 'ippool', 'pool-b', 'env=prod'])).code, 0)
  })
  after(() => {
    state.cleanup()
    files.cleanup()
  })

  it('go-template sees the List for a listing and the object for one name; output is exactly the template\'s', async () => {
    const listing = await netctl(['get', 'ippools', '-o', 'go-template={{range .items}}{{.metadata.name}}{{"\\t"}}{{.spec.cidr}}{{"\\n"}}{{end}}'])
    assert.equal(listing.code, 0, listing.stderr)
    assert.equal(listing.stdout, 'default-ipv4-ippool\t192.168.0.0/16\npool-b\t10.10.0.0/16\n')
    const one = await netctl(['get', 'ippool', 'pool-b', '-o', 'go-template={{.kind}} {{index .metadata.labels "env"}} {{len .spec.allowedUses}}'])
    assert.equal(one.stdout, 'IPPool prod 2')
    const kinds = await netctl(['get', 'ippool,node', '-o', 'go-template={{.kind}} {{len .items}}'])
    assert.equal(kinds.stdout, 'List 2')
  })

  it('go-template-file and jsonpath-file read the template from a file', async () => {
    writeFileSync(join(files.path, 'names.tmpl'), '{{- range .items}}\n{{.metadata.name}}\n{{- end}}\n')
    writeFileSync(join(files.path, 'names.jsonpath'), '{range .items[*]}[{.metadata.name}]{end}')
    assert.equal((await netctl(['get', 'ippools', '-o', `go-template-file=${join(files.path, 'names.tmpl')}`])).stdout, '\ndefault-ipv4-ippool\npool-b\n')
    assert.equal((await netctl(['get', 'ippools', '-o', `jsonpath-file=${join(files.path, 'names.jsonpath')}`])).stdout, '[default-ipv4-ippool][pool-b]')
    const missing = await netctl(['get', 'ippools', '-o', `go-template-file=${join(files.path, 'nope.tmpl')}`])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /cannot read .*nope\.tmpl: no such file or directory/)
  })

  it('jsonpath as kubectl: [*] lists, filters, range', async () => {
    assert.equal((await netctl(['get', 'ippools', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout, 'default-ipv4-ippool pool-b')
    assert.equal((await netctl(['get', 'ippools', '-o', 'jsonpath={.items[?(@.spec.ipipMode=="Always")].metadata.name}'])).stdout, 'default-ipv4-ippool')
    assert.equal((await netctl(['get', 'ippool', 'pool-b', '-o', 'jsonpath={.spec.blockSize}'])).stdout, '24')
  })

  it('a bad template or format fails with exit 2 before anything prints', async () => {
    for (const [format, message] of [
      ['go-template={{template "x"}}', /go-template: line 1: \{\{template\}\} is not supported/],
      ['go-template={{range .items}}', /has no \{\{end\}\}/],
      ['go-template=', /need to specify a template after go-template=/],
      ['jsonpath={.items[?(@.a==1 || @.b==2)]}', /jsonpath: && and \|\| in filters are not supported/],
      ['jsonpath-file=', /need to specify a template file after jsonpath-file=/],
      ['xml', /unknown output format "xml"/],
    ] as const) {
      const result = await netctl(['get', 'ippools', '-o', format])
      assert.equal(result.code, 2, format)
      assert.equal(result.stdout, '', format)
      assert.match(result.stderr, message, format)
    }
  })

  it('--export leaves out uid, resourceVersion and creationTimestamp (and a named object\'s namespace)', async () => {
    const full = JSON.parse((await netctl(['get', 'ippool', 'pool-b', '-o', 'json'])).stdout) as {metadata: Record<string, unknown>}
    assert.ok(full.metadata.uid && full.metadata.resourceVersion && full.metadata.creationTimestamp)
    const exported = JSON.parse((await netctl(['get', 'ippool', 'pool-b', '-o', 'json', '--export'])).stdout) as {metadata: Record<string, unknown>}
    assert.deepEqual(exported.metadata, {name: 'pool-b', labels: {env: 'prod'}})
    const list = JSON.parse((await netctl(['get', 'ippools', '-o', 'json', '--export'])).stdout) as {items: Array<{metadata: Record<string, unknown>}>}
    assert.deepEqual(list.items.map((i) => Object.keys(i.metadata).sort()), [['name'], ['labels', 'name']])
    // What --export prints can be created elsewhere.
    const other = tempDir()
    try {
      const yaml = (await netctl(['get', 'ippool', 'pool-b', '-o', 'yaml', '--export'])).stdout
      const created = await runCli(['create', '-f', '-'], {stateDir: other.path, input: yaml})
      assert.equal(created.code, 0, created.stderr)
    } finally {
      other.cleanup()
    }
  })

  it('--skip-empty: an empty file, stdin or directory is no error for create, apply, replace and delete -f', async () => {
    const empty = join(files.path, 'empty.yaml')
    writeFileSync(empty, '---\n# nothing here\n')
    mkdirSync(join(files.path, 'emptydir'))
    for (const command of ['create', 'apply', 'replace', 'delete']) {
      const refused = await netctl([command, '-f', empty])
      assert.equal(refused.code, 2, command)
      assert.match(refused.stderr, /empty\.yaml holds no resources\n.*--skip-empty/, command)
      const skipped = await netctl([command, '-f', empty, '--skip-empty'])
      assert.equal(skipped.code, 0, `${command}: ${skipped.stderr}`)
      assert.equal(skipped.stdout, 'No resources specified\n', command)
    }
    assert.equal((await netctl(['apply', '-f', join(files.path, 'emptydir')])).code, 2)
    assert.equal((await netctl(['apply', '-f', join(files.path, 'emptydir'), '--skip-empty'])).code, 0)
    assert.equal((await netctl(['apply', '-f', '-', '--skip-empty'], '')).stdout, 'No resources specified\n')
    // A directory with an empty file beside a real one: the real one is applied.
    const mixed = join(files.path, 'mixed')
    mkdirSync(mixed)
    writeFileSync(join(mixed, 'a.yaml'), '')
    writeFileSync(join(mixed, 'b.yaml'), 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool-c}\nspec: {cidr: 10.30.0.0/16}\n')
    assert.equal((await netctl(['apply', '-f', mixed])).code, 2)
    const applied = await netctl(['apply', '-f', mixed, '--skip-empty'])
    assert.equal(applied.code, 0, applied.stderr)
    assert.equal(applied.stdout, "Successfully applied 1 'IPPool' resource(s)\n")
  })
})
