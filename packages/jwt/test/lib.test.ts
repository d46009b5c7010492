// Unit tests of internal helpers, for the cases no token can reach.
import t from 'tap'
import { isBase64url } from '../src/lib/base64url.js'
import { PreparedKey } from '../src/lib/prepared-key.js'
import {
  acquireScratch,
  loadToken as load,
  readJsonSegment as readJson,
  readSignature as readSig,
  releaseScratch,
  signingInput as input,
} from '../src/lib/token-bytes.js'

// The scratch decoder on a buffer of its own, as a nested verification would have it.
const scratch = Buffer.alloc(3 * 64 * 1024)
const loadToken = (token: string) => load(scratch, token)
const readJsonSegment = (token: string, start: number, end: number, clean: boolean) =>
  readJson(scratch, token, start, end, clean)
const readSignature = (token: string, start: number, clean: boolean) =>
  readSig(scratch, token, start, clean)
const signingInput = (end: number) => input(scratch, end)

t.test('isBase64url accepts only canonical, unpadded base64url', async (t) => {
  for (const ok of ['AA', 'AAA', 'AAAA', 'Zg', 'Zm8', '-_-_', 'AQ', 'AAE', 'A-A', 'A_A', 'AAAw']) {
    t.equal(isBase64url(ok), true, ok)
  }
  for (const bad of [
    '',
    'A',
    'AAAAA',
    'AB',
    'AAB',
    'Zh',
    'Zm9',
    'A=',
    'AA==',
    'A+A',
    'A/A',
    'A A',
    'AA-',
    'AA_',
    'AAA\n',
    'é',
  ]) {
    t.equal(isBase64url(bad), false, JSON.stringify(bad))
  }
})

t.test('PreparedKey.verify never throws', async (t) => {
  const key = new PreparedKey(
    'k',
    'RSA',
    new Map([
      [
        'RS256',
        () => {
          throw new Error('unexpected')
        },
      ],
    ]),
  )
  t.equal(key.verify('RS256', new Uint8Array(1), new Uint8Array(1)), false)
  t.equal(key.verify('ES256', new Uint8Array(1), new Uint8Array(1)), false)
  t.same([...key.algorithms], ['RS256'])
})

t.test('the scratch decoder accepts exactly what the strict reference accepts', async (t) => {
  // Every ASCII character, and characters Node's decoder would misread, put in every place of a
  // few segments of each length class, by insertion and by replacement: the scratch decoder
  // (byte count, + and / excluded, ASCII only) and the regular-expression reference must agree
  // on each, and agree on the bytes when both accept.
  const specials = [0x80, 0xe9, 0xff, 0x100, 0x12b, 0x141, 0x15f, 0xd800, 0xfeff, 0xff21]
  const codes = [...Array.from({ length: 128 }, (_, i) => i), ...specials]
  const bases = ['QUJD', 'QUJDRA', 'QUJDREU', 'Zm9vYmFy', 'AAAA', '____']
  const mismatches: string[] = []
  let accepted = 0
  let refused = 0
  for (const base of bases) {
    for (let at = 0; at <= base.length; at++) {
      for (const code of codes) {
        const c = String.fromCharCode(code)
        for (const segment of [
          base.slice(0, at) + c + base.slice(at),
          base.slice(0, at) + c + base.slice(at + 1),
        ]) {
          if (segment.includes('.')) continue
          const token = `e30.e30.${segment}`
          const clean = loadToken(token)
          const ours = readSignature(token, 8, clean)
          const reference = isBase64url(segment) ? Buffer.from(segment, 'base64url') : null
          if (reference === null) refused++
          else accepted++
          const same =
            ours === null
              ? reference === null
              : reference !== null && Buffer.from(ours).equals(reference)
          if (!same) mismatches.push(JSON.stringify(segment))
        }
      }
    }
  }
  t.same(mismatches, [])
  t.ok(accepted > 500, `${accepted} accepted`)
  t.ok(refused > 3000, `${refused} refused`)
})

t.test('the scratch decoder reads JSON segments and keeps the signing input', async (t) => {
  const header = Buffer.from('{"alg":"RS256"}').toString('base64url')
  const payload = Buffer.from('{"sub":"é"}').toString('base64url')
  const token = `${header}.${payload}.AAAA`
  t.equal(loadToken(token), true)
  t.same(readJsonSegment(token, 0, header.length, true), { alg: 'RS256' })
  const second = header.length + 1 + payload.length
  t.same(readJsonSegment(token, header.length + 1, second, true), { sub: 'é' })
  t.same(Buffer.from(signingInput(second)).toString('latin1'), token.slice(0, second))
  for (const bad of ['W10', 'bnVsbA', 'MQ', '', 'A', '77u_e30']) {
    // [], null, 1, empty, impossible length, BOM + {}
    t.equal(
      readJsonSegment(`${bad}.e30.AAAA`, 0, bad.length, loadToken(`${bad}.e30.AAAA`)),
      null,
      bad,
    )
  }
  // Invalid UTF-8 inside the JSON text.
  const invalid = Buffer.concat([
    Buffer.from('{"a":"'),
    Buffer.from([0xc3, 0x28]),
    Buffer.from('"}'),
  ])
  const segment = invalid.toString('base64url')
  t.equal(readJsonSegment(`${segment}.e30.AAAA`, 0, segment.length, true), null)
  // U+FFFD sent as such is text like any other; the same character standing in for a byte that
  // is not UTF-8 (a lenient decoder's repair) is refused, also beside a real one.
  const real = Buffer.from('{"a":"\uFFFD"}').toString('base64url')
  t.same(readJsonSegment(`${real}.e30.AAAA`, 0, real.length, true), { a: '\uFFFD' })
  for (const bytes of [[0xff], [0xed, 0xa0, 0x80], [0xef, 0xbf, 0xbd, 0x80], [0xc0, 0xaf]]) {
    const repaired = Buffer.concat([
      Buffer.from('{"a":"'),
      Buffer.from(bytes),
      Buffer.from('"}'),
    ]).toString('base64url')
    t.equal(
      readJsonSegment(`${repaired}.e30.AAAA`, 0, repaired.length, true),
      null,
      bytes.join(' '),
    )
  }
  // A token longer than the scratch buffer grows it; the bytes are still right.
  const big = `${Buffer.from(JSON.stringify({ x: 'y'.repeat(20_000) })).toString('base64url')}.e30.AAAA`
  t.equal(loadToken(big), true)
  t.equal((readJsonSegment(big, 0, big.indexOf('.'), true)?.x as string).length, 20_000)
  t.same(
    Buffer.from(signingInput(big.indexOf('.'))).toString('latin1'),
    big.slice(0, big.indexOf('.')),
  )
})

t.test('the shared scratch buffer is lent to one verification at a time', async (t) => {
  const outer = acquireScratch(10)
  const nested = acquireScratch(10)
  t.not(nested, outer, 'a verification started inside another gets a buffer of its own')
  t.ok(nested.length >= 30)
  releaseScratch(nested)
  t.not(acquireScratch(10), outer, 'releasing the nested buffer does not free the shared one')
  releaseScratch(outer)
  const next = acquireScratch(10)
  t.equal(next, outer, 'once released, the shared buffer is lent again')
  releaseScratch(next)
  // Growing for a long token replaces the shared buffer.
  const big = acquireScratch(100_000)
  t.ok(big.length >= 300_000)
  releaseScratch(big)
  t.equal(acquireScratch(10), big)
  releaseScratch(big)
})
