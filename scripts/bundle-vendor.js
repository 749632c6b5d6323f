#!/usr/bin/env node
/**
 * Part of `npm run build`: the two datastore clients netctl loads at run time, each bundled into
 * one file under dist/vendor/ (esbuild, the bundler tsx runs on). Loading one file instead of
 * hundreds is what makes `get` on etcd or Kubernetes start quickly:
 * - dist/vendor/kubeconfig.js: @kubernetes/client-node's KubeConfig (kubeconfig files, contexts,
 *   every auth method) without the generated API clients its config module imports but netctl
 *   never calls (makeApiClient): about 50 ms and 13 MB to load instead of 0.6-1 s and 75 MB.
 * - dist/vendor/etcd3/lib/etcd3.js (+ its .proto files beside it, which it reads at load time): the
 *   etcd3 client with grpc-js, protobufjs and cockatiel (its fault handling, whose noop netctl
 *   passes it), about half the load time of the packages.
 * src/datastore/{kubeconfig,etcd}.ts use these when they exist and the packages otherwise (tests
 * run from src through tsx).
 */
import {createHash} from 'node:crypto'
import {cpSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {build} from 'esbuild'

import {asciiOnly} from './ascii.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'vendor')
// CommonJS, as dist/package.json says: required, not imported (no ES module loader at run time).
const options = {bundle: true, format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning', legalComments: 'inline'}

/** client-node's config module imports ./gen/index.js (every API client) for makeApiClient alone. */
const noApiClients = {
  name: 'no-api-clients',
  setup(b) {
    b.onResolve({filter: /\/gen\/index\.js$/}, (args) => (/client-node[/\\]dist[/\\]config\.js$/.test(args.importer) ? {path: 'gen', namespace: 'netctl-no-api-clients'} : undefined))
    b.onLoad({filter: /.*/, namespace: 'netctl-no-api-clients'}, () => ({
      loader: 'js',
      contents: [
        "const unused = () => { throw new Error('netctl bundles no Kubernetes API clients (KubeConfig.makeApiClient)') }",
        'export function createConfiguration() { unused() }',
        'export class ServerConfiguration { constructor() { unused() } }',
      ].join('\n'),
    }))
  },
}

/**
 * client-node's config module imports node-fetch (for Headers, in applyToFetchOptions, which netctl
 * never calls) and three proxy agents (only for a cluster with a proxy-url) at load: about 13 ms of
 * every Kubernetes command's start. Each is still bundled, but initialised by its first use.
 */
const lazyImports = {
  name: 'lazy-imports',
  setup(b) {
    const classes = {'node-fetch': ['Headers'], 'socks-proxy-agent': ['SocksProxyAgent'], hpagent: ['HttpProxyAgent', 'HttpsProxyAgent']}
    b.onResolve({filter: /^(node-fetch|socks-proxy-agent|hpagent)$/}, (args) =>
      /client-node[/\\]dist[/\\]config\.js$/.test(args.importer) ? {path: args.path, namespace: 'netctl-lazy'} : undefined)
    b.onLoad({filter: /.*/, namespace: 'netctl-lazy'}, (args) => ({
      loader: 'js',
      resolveDir: root,
      // A function called with new that returns an object gives that object: the real class's instance.
      contents: classes[args.path].map((name) => `export function ${name}(...args) { return new (require(${JSON.stringify(args.path)}).${name})(...args) }`).join('\n'),
    }))
  },
}

/**
 * The datastores require these through dist/cached-require.js, which keeps a V8 code cache beside
 * each (FILE.cache, written by the first run that loads it) and takes it only for the build named
 * on the bundle's first line.
 */
async function bundle(buildOptions) {
  await build(buildOptions)
  const code = asciiOnly(readFileSync(buildOptions.outfile, 'utf8'), buildOptions.outfile)
  if (/(?<![\w$."'`])import\(/.test(code)) throw new Error(`${buildOptions.outfile}: an import() call, which code run from a code cache cannot make`)
  writeFileSync(buildOptions.outfile, `// netctl vendor build ${createHash('sha256').update(code).digest('hex').slice(0, 16)}\n${code}`)
  rmSync(buildOptions.outfile.replace(/\.js$/, '.cache'), {force: true})
}

await bundle({
  ...options,
  stdin: {contents: "export {KubeConfig} from '@kubernetes/client-node/dist/config.js'", resolveDir: root, loader: 'js'},
  outfile: join(out, 'kubeconfig.js'),
  plugins: [noApiClients, lazyImports],
})

await bundle({...options, stdin: {contents: "export {Etcd3} from 'etcd3'\nexport {noop} from 'cockatiel'", resolveDir: root, loader: 'js'}, outfile: join(out, 'etcd3', 'lib', 'etcd3.js')})
mkdirSync(join(out, 'etcd3', 'proto'), {recursive: true})
cpSync(join(root, 'node_modules', 'etcd3', 'proto'), join(out, 'etcd3', 'proto'), {recursive: true})
