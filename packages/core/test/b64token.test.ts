import t from 'tap'
import { isB64Token } from '../src/index.js'

// The grammar as RFC 6750 §2.1 writes it, the reference the table-driven check must agree with.
const REFERENCE = /^[A-Za-z0-9\-._~+/]+=*$/

t.test('isB64Token: tokens of every shape that RFC 6750 §2.1 allows', async (t) => {
  const jwt = `eyJhbGciOiJSUzI1NiJ9.${'eyJzdWIiOiJhIn0'.repeat(50)}.c2lnbmF0dXJl-_`
  for (const token of [
    'a',
    'Z9',
    '-._~+/',
    'abc=',
    'abc==',
    'abcd======',
    'a'.repeat(16 * 1024),
    jwt,
    // Every length around a word boundary, before and after padding.
    ...Array.from({ length: 9 }, (_, n) => `${'x'.repeat(n + 1)}${'='.repeat(n % 3)}`),
  ]) {
    t.equal(isB64Token(token), true, `${token.slice(0, 24)} (${token.length})`)
  }
})

t.test('isB64Token: hostile values are refused', async (t) => {
  const refused = [
    '',
    '=',
    '===',
    'ab=c',
    'ab==c=',
    'a b',
    ' a',
    'a ',
    'a,b',
    'a\tb',
    'a\0',
    '\0',
    'a;b',
    'a:b',
    'a"b',
    'a\\b',
    'a@b',
    'a*b',
    'a!b',
    'a%2Fb',
    'a\nb',
    'a\rb',
    'é',
    'aé',
    'a\u0100',
    'a\uD800',
    '\uFFFD',
    // A one-byte character that the Latin-1 range would take for ASCII once truncated to a byte.
    `a${String.fromCharCode(0x12d)}`,
    `${'a'.repeat(100)}\u{1F600}`,
    // The last character of a word, of each byte position, bad.
    ...Array.from({ length: 8 }, (_, n) => `${'a'.repeat(n)}#${'a'.repeat(7 - n)}`),
    // Longer than the table path (16 KiB): the expression decides.
    `${'a'.repeat(16 * 1024)}!`,
    `${'a'.repeat(16 * 1024)}=a`,
  ]
  for (const value of refused) {
    t.equal(isB64Token(value), false, JSON.stringify(value.slice(0, 40)))
  }
  t.equal(isB64Token(`${'a'.repeat(16 * 1024)}==`), true, 'a long valid token past the table path')
  for (const value of [undefined, null, 42, ['abc'], { toString: () => 'abc' }]) {
    t.equal(isB64Token(value as unknown as string), false, `${typeof value}: not a token`)
  }
})

t.test('isB64Token agrees with the grammar on every character, in every position', async (t) => {
  let disagreements = 0
  for (let code = 0; code < 0x180; code++) {
    const char = String.fromCharCode(code)
    for (const value of [
      char,
      `${char}a`,
      `a${char}`,
      `abc${char}defgh`,
      `abcd${char}`,
      `ab${char}=`,
      `ab=${char}`,
    ]) {
      if (isB64Token(value) !== REFERENCE.test(value)) disagreements++
    }
  }
  t.equal(disagreements, 0)
  // Random strings over an alphabet that mixes good, bad and padding characters.
  const alphabet = 'aZ9-._~+/= ,;é\0\u2028'
  let seed = 7
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    // The high bits: the low ones of this generator repeat with a short period (every 16 draws
    // for the last four, which picked a character of this 16-character alphabet).
    return seed >>> 16
  }
  let mismatches = 0
  for (let i = 0; i < 20_000; i++) {
    const length = 1 + (random() % 40)
    let value = ''
    for (let j = 0; j < length; j++) value += alphabet[random() % alphabet.length]
    if (isB64Token(value) !== REFERENCE.test(value)) mismatches++
  }
  t.equal(mismatches, 0)
})
