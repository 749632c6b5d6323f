/**
 * The state directory cannot be turned against its user: planted symbolic links, another
 * user's directories and world-writable ones are refused (naming the path and what to do),
 * and file-system failures there are explained instead of printed raw.
 * No lab here builds namespaces: lab dirs hold a lab.json and no owned.jsonl.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {fsError} from '../../src/datastore/safe-fs.js'
import {NetctlError} from '../../src/errors.js'
import {netctlBin, runCli, tempDir} from '../helpers/cli.js'

const poolYaml = 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p1}\nspec: {cidr: 10.9.0.0/16}\n'
const storeWith = (name: string) =>
  JSON.stringify({apiVersion: 'netctl/v1', kind: 'FileDatastore', revision: 1, objects: {[`ippools/${name}`]: {apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: {name, resourceVersion: '1'}, spec: {cidr: '10.66.0.0/16'}}}})
const labRecord = (name: string) => JSON.stringify({apiVersion: 'netctl/v1', kind: 'Lab', name, basic: 'veth', datastore: {type: 'file'}, createdAt: '2026-01-01T00:00:00Z'})

/** Every path under dir with its type and content: a victim is untouched when this does not change. */
function snapshot(dir: string): string {
  const entries = readdirSync(dir, {recursive: true}).map(String).sort()
  return entries.map((e) => {
    const st = lstatSync(join(dir, e))
    return `${e} ${st.mode.toString(8)} ${st.isFile() ? readFileSync(join(dir, e), 'utf8') : ''}`
  }).join('\n')
}

const unprivileged = (stateDir: string, args: string[], input = '') =>
  spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', `NETCTL_STATE_DIR=${stateDir}`, 'HOME=/tmp', 'XDG_CONFIG_HOME=/nonexistent', process.execPath, netctlBin, ...args], {encoding: 'utf8', input})

describe('state directory safety', () => {
  let base: ReturnType<typeof tempDir>
  let n = 0
  /** A fresh private state dir, and a victim dir (with a file and a lab-like subdir) outside it. */
  let fresh: () => {state: string; victim: string; before: string}
  before(() => {
    base = tempDir()
    chmodSync(base.path, 0o755) // the unprivileged user must reach its own dirs in here
    fresh = () => {
      const root = join(base.path, String(n++))
      mkdirSync(root, {mode: 0o755})
      const state = join(root, 'state')
      const victim = join(root, 'victim')
      mkdirSync(state, {mode: 0o700})
      mkdirSync(join(victim, 'keep'), {recursive: true})
      writeFileSync(join(victim, 'precious'), 'do not touch\n')
      writeFileSync(join(victim, 'keep', 'lab.json'), labRecord('keep'))
      return {state, victim, before: snapshot(victim)}
    }
  })
  after(() => base.cleanup())

  const makeLab = (state: string, name: string) => {
    mkdirSync(join(state, 'labs', name), {recursive: true, mode: 0o700})
    writeFileSync(join(state, 'labs', name, 'lab.json'), labRecord(name))
  }

  it('lab down --all refuses a labs/ that is a symlink and deletes nothing through it', async () => {
    const {state, victim, before} = fresh()
    symlinkSync(victim, join(state, 'labs'))
    const r = await runCli(['lab', 'down', '--all'], {stateDir: state})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, new RegExp(`${join(state, 'labs')}.*symbolic link`))
    assert.match(r.stderr, /rm /)
    assert.equal(snapshot(victim), before)
  })

  it('lab down --all reports a lab that is a symlink and leaves its target alone', async () => {
    const {state, victim, before} = fresh()
    makeLab(state, 'aaa')
    symlinkSync(join(victim, 'keep'), join(state, 'labs', 'evil'))
    const r = await runCli(['lab', 'down', '--all'], {stateDir: state})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, new RegExp(`${join(state, 'labs', 'evil')}.*symbolic link`))
    assert.equal(snapshot(victim), before)
    assert.equal(existsSync(join(state, 'labs', 'aaa')), false, 'the lab before it is taken down')
  })

  it('lab down --all goes on with the other labs after a bad entry', async () => {
    const {state, victim, before} = fresh()
    makeLab(state, 'aaa')
    makeLab(state, 'zzz')
    symlinkSync(join(victim, 'keep'), join(state, 'labs', 'evil'))
    const r = await runCli(['lab', 'down', '--all'], {stateDir: state})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /evil/)
    assert.equal(snapshot(victim), before)
    assert.deepEqual(readdirSync(join(state, 'labs')), ['evil'])
  })

  it('lab down <name> refuses a lab dir of another user, an owned.jsonl symlink, and keeps both', async () => {
    const {state, victim, before} = fresh()
    makeLab(state, 'other')
    chownSync(join(state, 'labs', 'other'), 65534, 65534)
    let r = await runCli(['lab', 'down', 'other'], {stateDir: state})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /labs\/other.*belongs to uid 65534/)
    assert.ok(existsSync(join(state, 'labs', 'other', 'lab.json')))

    makeLab(state, 'linked')
    symlinkSync(join(victim, 'precious'), join(state, 'labs', 'linked', 'owned.jsonl'))
    r = await runCli(['lab', 'down', 'linked'], {stateDir: state})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /labs\/linked\/owned\.jsonl.*symbolic link/)
    assert.equal(snapshot(victim), before)
  })

  it('lab down removes a real lab dir but not what a symlink inside it points to', async () => {
    const {state, victim, before} = fresh()
    makeLab(state, 'real')
    symlinkSync(victim, join(state, 'labs', 'real', 'escape'))
    const r = await runCli(['lab', 'down', 'real'], {stateDir: state})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(existsSync(join(state, 'labs', 'real')), false)
    assert.equal(snapshot(victim), before)
  })

  it('lab list refuses a labs/ symlink and a lab.json symlink', async () => {
    const {state, victim, before} = fresh()
    symlinkSync(victim, join(state, 'labs'))
    let r = await runCli(['lab', 'list'], {stateDir: state})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /labs.*symbolic link/)
    assert.doesNotMatch(r.stdout, /keep/)

    const other = fresh()
    mkdirSync(join(other.state, 'labs', 'aaa'), {recursive: true})
    symlinkSync(join(other.victim, 'keep', 'lab.json'), join(other.state, 'labs', 'aaa', 'lab.json'))
    r = await runCli(['lab', 'list'], {stateDir: other.state})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stdout + r.stderr, /labs\/aaa\/lab\.json.*symbolic link/)
    assert.equal(snapshot(victim), before)
    assert.equal(snapshot(other.victim), other.before)
  })

  it('config use-context refuses a current-context symlink and does not write through it', async () => {
    const {state, victim, before} = fresh()
    makeLab(state, 'aaa')
    symlinkSync(join(victim, 'precious'), join(state, 'current-context'))
    for (const context of ['lab/aaa', 'default']) {
      const r = await runCli(['config', 'use-context', context], {stateDir: state})
      assert.equal(r.code, 1, r.stdout + r.stderr)
      assert.match(r.stderr, /current-context.*symbolic link/)
    }
    assert.equal(snapshot(victim), before)
  })

  it('config use-context refuses a lab dir that is a symlink', async () => {
    const {state, victim, before} = fresh()
    mkdirSync(join(state, 'labs'))
    symlinkSync(join(victim, 'keep'), join(state, 'labs', 'keep'))
    const r = await runCli(['config', 'use-context', 'lab/keep'], {stateDir: state})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /labs\/keep.*symbolic link/)
    assert.equal(existsSync(join(state, 'current-context')), false)
    assert.equal(snapshot(victim), before)
  })

  it('the file datastore refuses a datastore.json symlink for reads and writes', async () => {
    const {state, victim} = fresh()
    writeFileSync(join(victim, 'store.json'), storeWith('stolen'))
    const before = snapshot(victim)
    symlinkSync(join(victim, 'store.json'), join(state, 'datastore.json'))
    let r = await runCli(['get', 'ippools'], {stateDir: state})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /datastore\.json.*symbolic link/)
    assert.doesNotMatch(r.stdout, /stolen/)
    r = await runCli(['apply', '-f', '-'], {stateDir: state, input: poolYaml})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /datastore\.json.*symbolic link/)
    assert.equal(snapshot(victim), before)
    assert.ok(lstatSync(join(state, 'datastore.json')).isSymbolicLink())
  })

  it('a lab datastore behind a symlinked lab dir is refused, and nothing is written into the target', async () => {
    const {state, victim, before} = fresh()
    mkdirSync(join(state, 'labs'))
    symlinkSync(join(victim, 'keep'), join(state, 'labs', 'keep'))
    for (const args of [['get', 'ippools', '--lab', 'keep'], ['apply', '-f', '-', '--lab', 'keep']]) {
      const r = await runCli(args, {stateDir: state, input: poolYaml})
      assert.equal(r.code, 1, r.stdout + r.stderr)
      assert.match(r.stderr, /labs\/keep.*symbolic link/)
    }
    assert.equal(snapshot(victim), before)
  })

  it('a lab name cannot climb out of labs/ (--lab ../..)', async () => {
    const {state, victim, before} = fresh()
    const r = await runCli(['apply', '-f', '-', '--lab', '../../victim/keep'], {stateDir: state, input: poolYaml})
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stderr, /^Error: "\.\.\/\.\.\/victim\/keep" cannot name anything in the state directory/)
    assert.equal(snapshot(victim), before)
  })

  it('a planted datastore.lock symlink is refused and its target kept', async () => {
    const {state, victim, before} = fresh()
    symlinkSync(join(victim, 'keep'), join(state, 'datastore.lock'))
    const r = await runCli(['apply', '-f', '-'], {stateDir: state, input: poolYaml})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /datastore\.lock.*symbolic link/)
    assert.equal(snapshot(victim), before)
  })

  it('a state dir that is a symlink, another user\'s, or writable by others is refused', async () => {
    const {state, victim, before} = fresh()
    const link = join(state, '..', 'link')
    symlinkSync(victim, link)
    let r = await runCli(['get', 'ippools'], {stateDir: link})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /link: it is a symbolic link/)
    assert.equal(snapshot(victim), before)

    chownSync(state, 65534, 65534)
    r = await runCli(['apply', '-f', '-'], {stateDir: state, input: poolYaml})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, new RegExp(`${state}: it belongs to uid 65534, not to you \\(uid 0\\)`))
    assert.deepEqual(readdirSync(state), [])

    chownSync(state, 0, 0)
    chmodSync(state, 0o777)
    r = await runCli(['get', 'ippools'], {stateDir: state})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /other users can write to it \(mode 0?777\)/)
    assert.match(r.stderr, /chmod go-w/)
    chmodSync(state, 0o700)
    assert.equal((await runCli(['get', 'ippools'], {stateDir: state})).code, 0)
  })

  it('an unprivileged user refuses root\'s state dir and works in its own, made 0700', () => {
    const {state} = fresh()
    chmodSync(state, 0o755)
    let r = unprivileged(state, ['get', 'ippools'])
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /belongs to uid 0, not to you \(uid 65534\)/)

    const parent = join(state, '..', 'mine')
    mkdirSync(parent)
    chownSync(parent, 65534, 65534)
    const own = join(parent, 'nested', 'netctl')
    r = unprivileged(own, ['apply', '-f', '-'], poolYaml)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(statSync(own).mode & 0o777, 0o700)
    assert.equal(statSync(own).uid, 65534)
    assert.equal(statSync(join(own, 'datastore.json')).mode & 0o777, 0o600)
    r = unprivileged(own, ['get', 'ippools'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /p1/)
  })

  it('EACCES: says which path, why and what to do', () => {
    const {state} = fresh()
    chmodSync(state, 0o755) // root's, readable by all: the unprivileged user cannot create in it
    const r = unprivileged(join(state, 'netctl'), ['apply', '-f', '-'], poolYaml)
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.match(r.stderr, new RegExp(`^Error: (stdin: )?cannot create the directory ${join(state, 'netctl')}: permission denied`))
    assert.match(r.stderr, /--state-dir/)
    assert.doesNotMatch(r.stderr, /EACCES: permission denied, mkdir/)
  })

  it('a state dir the user cannot enter is reported where it is used, not while reading the settings', () => {
    const {state} = fresh()
    chmodSync(join(state, '..'), 0o700) // root's and private: the unprivileged user cannot enter it
    try {
      const inside = join(state, 'netctl')
      const view = unprivileged(inside, ['config', 'view'])
      assert.equal(view.status, 0, view.stderr)
      const r = unprivileged(inside, ['get', 'ippools'])
      assert.equal(r.status, 1, r.stdout + r.stderr)
      assert.equal(r.stderr.split('\n')[0], `Error: cannot read ${inside}: permission denied`)
    } finally {
      chmodSync(join(state, '..'), 0o755)
    }
  })

  it('ENOTDIR: a regular file where the state dir (or a parent of it) should be', async () => {
    const {state} = fresh()
    const file = join(state, 'plain-file')
    writeFileSync(file, 'x')
    let r = await runCli(['apply', '-f', '-'], {stateDir: file, input: poolYaml})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, new RegExp(`${file}: it is a regular file, not a directory`))
    r = await runCli(['get', 'ippools'], {stateDir: join(file, 'netctl')})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, new RegExp(`${join(file, 'netctl')}: a part of this path is a file, not a directory`))
    assert.doesNotMatch(r.stderr, /ENOTDIR:/)
    assert.match(r.stderr, /--state-dir/)
  })

  it('EROFS and ENOSPC for real, on a read-only and on a full tmpfs (in a private mount namespace)', () => {
    const {state} = fresh()
    // The mounts live only in unshare's own mount namespace: they vanish with it.
    const script = [
      'mount -t tmpfs -o ro,size=1m none "$1"',
      'NETCTL_STATE_DIR="$1/netctl" "$2" "$3" apply -f - < "$4"; echo "rc=$?" >&2',
      'umount "$1"',
      'mount -t tmpfs -o size=64k,mode=0700 none "$1"',
      'head -c 65536 /dev/zero > "$1/fill"',
      'NETCTL_STATE_DIR="$1" "$2" "$3" apply -f - < "$4"; echo "rc=$?" >&2',
    ].join('\n')
    const pools = join(state, '..', 'pool.yaml')
    writeFileSync(pools, poolYaml)
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', state, process.execPath, netctlBin, pools], {encoding: 'utf8', env: {...process.env, XDG_CONFIG_HOME: '/nonexistent'}})
    assert.equal(r.status, 0, r.stderr)
    const [readOnly, full] = r.stderr.split(/rc=\d+\n/)
    assert.match(r.stderr, /rc=1\n[^]*rc=1\n$/)
    assert.match(readOnly!, new RegExp(`^Error: (stdin: )?cannot create the directory ${join(state, 'netctl')}: the file system is read-only\n  remount it read-write, or point --state-dir`))
    assert.match(full!, new RegExp(`^Error: (stdin: )?cannot [a-z ]+ ${state}/datastore\\.[a-z]+: no space left on the device\n  free space on that file system`))
  })

  it('maps EROFS, ENOSPC and others to a message with the path and a suggestion', () => {
    const fake = (code: string) => Object.assign(new Error(`${code}: raw message`), {code})
    const rofs = fsError(fake('EROFS'), '/s/datastore.json', 'write')
    assert.ok(rofs instanceof NetctlError)
    assert.equal(rofs.kind, 'unavailable')
    assert.equal(rofs.message, 'cannot write /s/datastore.json: the file system is read-only')
    assert.match(rofs.suggestion!, /--state-dir/)
    const nospc = fsError(fake('ENOSPC'), '/s/labs/a/lab.json', 'write')
    assert.equal(nospc.message, 'cannot write /s/labs/a/lab.json: no space left on the device')
    assert.match(nospc.suggestion!, /free space/)
    assert.match(fsError(fake('EDQUOT'), '/s', 'write').message, /quota/)
    assert.match(fsError(fake('EIO'), '/s/x', 'read').message, /^cannot read \/s\/x: EIO: raw message$/)
    const already = new NetctlError('conflict', 'kept')
    assert.equal(fsError(already, '/s', 'read'), already)
  })

  it('new state, labs and lab dirs are private (0700)', async () => {
    const {state} = fresh()
    const dir = join(state, 'new')
    const r = await runCli(['apply', '-f', '-'], {stateDir: dir, input: poolYaml})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    assert.equal(statSync(join(dir, 'datastore.json')).mode & 0o777, 0o600)
  })
})

describe('config view', () => {
  it('masks credentials inside endpoint URLs in every output format', async () => {
    const endpoints = 'http://alice:s3cret@127.0.0.1:2379,https://bob:hunter2@10.0.0.2:2379'
    for (const output of ['table', 'yaml', 'json']) {
      const r = await runCli(['config', 'view', '-o', output, '--datastore', 'etcdv3', '--etcd-endpoints', endpoints])
      assert.equal(r.code, 0, r.stderr)
      assert.doesNotMatch(r.stdout, /s3cret|hunter2|alice|bob/, output)
      assert.match(r.stdout, /http:\/\/\*\*\*\*@127\.0\.0\.1:2379,https:\/\/\*\*\*\*@10\.0\.0\.2:2379/, output)
    }
    const r = await runCli(['config', 'view', '--json', '--datastore', 'etcdv3'], {env: {ETCD_ENDPOINTS: endpoints}})
    assert.doesNotMatch(r.stdout, /s3cret|hunter2/)
  })
})
