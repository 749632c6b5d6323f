import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {renderJsonPath} from '../../src/cli/jsonpath.js'
import {renderGoTemplate, sprintf} from '../../src/cli/template.js'

const list = {
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPoolList',
  items: [
    {kind: 'IPPool', metadata: {name: 'a', labels: {env: 'prod', 'app.kubernetes.io/name': 'x'}}, spec: {cidr: '10.0.0.0/16', disabled: true, blockSize: 26}},
    {kind: 'IPPool', metadata: {name: 'b'}, spec: {cidr: '10.1.0.0/16', disabled: false, blockSize: 24}},
  ],
}
const go = (template: string) => renderGoTemplate(template, list)
const jp = (template: string) => renderJsonPath(template, list)

describe('go-template', () => {
  it('fields, range over items, and text as it is', () => {
    assert.equal(go('{{.kind}}'), 'IPPoolList')
    assert.equal(go('{{range .items}}{{.metadata.name}} {{.spec.cidr}}\n{{end}}'), 'a 10.0.0.0/16\nb 10.1.0.0/16\n')
    assert.equal(go('{{range $i, $p := .items}}{{$i}}={{$p.metadata.name}};{{end}}'), '0=a;1=b;')
    assert.equal(go('{{range .items}}{{$.kind}},{{end}}'), 'IPPoolList,IPPoolList,')
  })

  it('index (labels with dots), len, pipelines and (groups)', () => {
    assert.equal(go('{{range .items}}{{index .metadata.labels "env"}},{{end}}'), 'prod,<no value>,')
    assert.equal(go('{{index (index .items 0).metadata.labels "app.kubernetes.io/name"}}'), 'x')
    assert.equal(go('{{len .items}} {{index .items 0 | len}} {{len "héllo"}}'), '2 3 6')
    assert.equal(go('{{(index .items 1).metadata.name}} {{.kind | printf "%q"}}'), 'b "IPPoolList"')
  })

  it('printf with widths, flags and verbs, as Go formats them', () => {
    assert.equal(go('{{range .items}}{{printf "%-5s|%5d|%v|%t\\n" .metadata.name .spec.blockSize .spec.disabled .spec.disabled}}{{end}}'), 'a    |   26|true|true\nb    |   24|false|false\n')
    assert.equal(sprintf('%s\t%s\n', ['a', 'b']), 'a\tb\n')
    assert.equal(sprintf('%05.1f %x %X %03d %%', [3.14159, 255, 255, 7]), '003.1 ff FF 007 %')
    assert.equal(sprintf('%d %s', [1]), '1 %!s(MISSING)')
    assert.equal(sprintf('%d', ['x']), '%!d(string=x)')
    assert.equal(sprintf('%s', ['a', 2]), 'a%!(EXTRA int64=2)')
  })

  it('if / else if / else, with, comparisons and logic', () => {
    assert.equal(go('{{range .items}}{{if .spec.disabled}}D{{else if eq .spec.blockSize 24}}24{{else}}x{{end}}{{end}}'), 'D24')
    assert.equal(go('{{eq .kind "x" "IPPoolList"}} {{ne 1 2}} {{lt 1 2}} {{ge "b" "a"}} {{and 1 0}} {{or 0 "" "z"}} {{not 1}}'), 'true true true true 0 z false')
    assert.equal(go('{{with .nope}}y{{else}}n{{end}}{{with .kind}}{{.}}{{end}}'), 'nIPPoolList')
    assert.equal(go('{{range .nothing}}x{{else}}empty{{end}}'), 'empty')
    assert.equal(go('{{$n := 0}}{{range .items}}{{$n = .spec.blockSize}}{{end}}{{$n}}'), '24')
  })

  it('trims whitespace with {{- and -}}, skips comments', () => {
    assert.equal(go('a  {{- .kind -}}  \n b'), 'aIPPoolListb')
    assert.equal(go('{{range .items -}}\n  {{.metadata.name}}\n{{- end}}'), 'ab')
    assert.equal(go('x{{/* a comment */}}y{{- /* trimmed */ -}} z'), 'xyz')
  })

  it('prints values as Go does: <no value>, maps, lists; join as calicoctl has it', () => {
    assert.equal(go('{{.nope}} {{.nope.deeper}}'), '<no value> <no value>')
    assert.equal(go('{{(index .items 1).metadata}}'), 'map[name:b]')
    assert.equal(go('{{range .items}}{{join .metadata.labels ","}};{{end}}'), 'app.kubernetes.io/name=x,env=prod;;')
    assert.equal(renderGoTemplate('{{.a}} {{.b}} {{.c}}', {a: [1, 'x'], b: 1.5, c: null}), '[1 x] 1.5 <nil>')
  })

  it('refuses what it does not support, and bad templates, as usage errors (exit 2)', () => {
    const usage = (template: string, message: RegExp) => assert.throws(() => go(template), (e: Error & {kind?: string}) => e.kind === 'usage' && message.test(e.message))
    usage('{{define "x"}}{{end}}', /\{\{define\}\} is not supported/)
    usage('{{template "x"}}', /\{\{template\}\} is not supported/)
    usage('{{range .items}}{{break}}{{end}}', /\{\{break\}\} is not supported/)
    usage('{{html .kind}}', /function "html" is not supported/)
    usage('{{upper .kind}}', /function "upper" is not a function netctl knows/)
    usage('{{if .kind}}x', /the \{\{if\}\} on line 1 has no \{\{end\}\}/)
    usage('{{end}}', /unexpected \{\{end\}\}/)
    usage('{{.kind', /unclosed action/)
    usage('{{.kind.x}}', /can't evaluate field x in type string/)
    usage('{{index .items 5}}', /index out of range: 5/)
    usage('{{lt .kind 1}}', /incompatible types for comparison/)
    usage('{{.kind .kind}}', /is not a function/)
  })

  it('calicoctl\'s Go field names get a pointer to the JSON names templates see', () => {
    assert.throws(() => go('{{range .}}{{range .Items}}{{.ObjectMeta.Name}}{{end}}{{end}}'), /no field Items: netctl templates see the JSON field names, as -o json shows them \(here items\), not calicoctl's Go names/)
    assert.throws(() => go('{{range .items}}{{.ObjectMeta.Name}}{{end}}'), /no field ObjectMeta.*\(here metadata\)/)
    assert.throws(() => go('{{range .items}}{{.metadata.Name}}{{end}}'), /no field Name.*\(here name\)/)
  })
})

describe('jsonpath (kubectl)', () => {
  it('paths, [*] joined by spaces, range with literals', () => {
    assert.equal(jp('{.kind}'), 'IPPoolList')
    assert.equal(jp('{.items[*].metadata.name}'), 'a b')
    assert.equal(jp('{range .items[*]}{.metadata.name}{"\\t"}{.spec.cidr}{"\\n"}{end}'), 'a\t10.0.0.0/16\nb\t10.1.0.0/16\n')
    assert.equal(jp('{range .items}{.metadata.name},{end}'), 'a,b,')
    assert.equal(jp('names: {$.items[0].metadata.name}'), 'names: a')
  })

  it('filters, recursive descent, indexes, slices, quoted keys and unions', () => {
    assert.equal(jp('{.items[?(@.spec.disabled==true)].metadata.name}'), 'a')
    assert.equal(jp('{.items[?(@.spec.blockSize>25)].metadata.name}'), 'a')
    assert.equal(jp("{.items[?(@.metadata.name=='b')].spec.cidr}"), '10.1.0.0/16')
    assert.equal(jp('{.items[?(@.spec.disabled!=true)].metadata.name}'), 'b')
    assert.equal(jp('{.items[?(@.metadata.labels)].metadata.name}'), 'a')
    assert.equal(jp('{..cidr}'), '10.0.0.0/16 10.1.0.0/16')
    assert.equal(jp('{.items[-1].metadata.name} {.items[0:1].metadata.name} {.items[::-1].metadata.name}'), 'b a b a')
    assert.equal(jp("{.items[0].metadata.labels['app.kubernetes.io/name']}"), 'x')
    assert.equal(jp('{.items[0].metadata.labels.app\\.kubernetes\\.io/name}'), 'x', "kubectl's escaped dots")
    assert.equal(jp('{.items[?(@.metadata.labels.app\\.kubernetes\\.io/name=="x")].metadata.name}'), 'a')
    assert.equal(jp("{.items[0]['kind','metadata']}"), 'IPPool {"labels":{"app.kubernetes.io/name":"x","env":"prod"},"name":"a"}')
  })

  it('missing keys print nothing (kubectl get allows them); maps and lists print as JSON', () => {
    assert.equal(jp('[{.nope}] [{.items[*].metadata.labels.env}]'), '[] [prod]')
    assert.equal(jp('{.items[1].metadata}'), '{"name":"b"}')
  })

  it('refuses bad or unsupported expressions as usage errors', () => {
    const usage = (template: string, message: RegExp) => assert.throws(() => jp(template), (e: Error & {kind?: string}) => e.kind === 'usage' && message.test(e.message))
    usage('{.items[5]}', /array index out of bounds: index 5, length 2/)
    usage('{range .items[*]}{.x}', /\{range\} without \{end\}/)
    usage('{end}', /\{end\} without \{range\}/)
    usage('{.items[?(@.a==1 && @.b==2)]}', /&& and \|\| in filters are not supported/)
    usage('{.items[?(@.a=~/x/)]}', /=~ \(regular expressions\)/)
    usage('{.items', /unclosed \{/)
  })
})
