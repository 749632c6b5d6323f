/** Calico's selector language, read as libcalico-go's tokenizer and parser read it. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {NetctlError} from '../../src/errors.js'
import {parseSelector} from '../../src/resources/selector.js'

const labels = {a: 'x', 'route-reflector': 'true', 'projectcalico.org/name': 'node01', b: 'hello'}

describe('selectors', () => {
  const matches: Array<[string, boolean]> = [
    ['', true],
    ['all()', true],
    ['!all()', false],
    ['global()', true],
    ["route-reflector == 'true'", true],
    ['route-reflector == "true"', true],
    ["a != 'x'", false],
    ["missing != 'x'", true],
    ["a in {'x','y'}", true],
    ["a in {'y'}", false],
    ["a in {}", false],
    ["missing not in {'x'}", true],
    ["a not in {'x'}", false],
    ["a not in{'y'}", true],
    ["b contains 'ell'", true],
    ["b starts with 'he'", true],
    ["b startswith 'he'", true],
    ["b ends with 'lo'", true],
    ["missing contains ''", false],
    ['has(a) && !has(zz)', true],
    ['has( a )', true],
    ['!!has(a)', true],
    ['! has(a)', false],
    ["a == 'x' || a == 'y' && b == 'nope'", true],
    ["(a == 'x' || a == 'y') && b == 'nope'", false],
    ["projectcalico.org/name == 'node01'", true],
    ["\ta == 'x' ", true],
  ]
  for (const [selector, expected] of matches) {
    it(`${JSON.stringify(selector)} → ${expected}`, () => assert.equal(parseSelector(selector)(labels), expected))
  }

  const refused = [
    'a', "a = 'x'", 'a == x', 'has(a', 'has()', 'all(', 'global(x)', "a == 'x' b", "a inx {'x'}", "(a == 'x'", "a == 'x')", "a == 'x' &", "'x'",
    "a\n== 'x'", "a == 'x\"", "&& a == 'x'", "a in {'x'", "a in 'x'", '!', "a == 'x';", "a == 'x'}", `${'k'.repeat(513)} == 'x'`, 'a == \u0000',
  ]
  for (const selector of refused) {
    it(`refuses ${JSON.stringify(selector).slice(0, 40)}`, () => {
      assert.throws(() => parseSelector(selector), (e: unknown) => e instanceof NetctlError && e.kind === 'invalid' && /cannot read the selector/.test(e.message) && !e.message.includes('\n'))
    })
  }
})
