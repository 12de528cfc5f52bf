// Checks the page's header and proof-of-work code against the Go node's
// vectors (testdata/): every compact target decodes to the same target or
// is refused for the same reason, and every block of the consensus chain
// that the tab can judge alone gets the tab's verdict. Run by
// TestJSVectors (peer_test.go): node test/vectors.mjs COMPACT CONSENSUS.
import { readFileSync } from 'node:fs'
import { compactToTarget } from '../src/pow.js'
import { verifyBlockMessage } from '../src/verify.js'

if (globalThis.crypto?.subtle === undefined) {
  globalThis.crypto = (await import('node:crypto')).webcrypto // node 18
}

const [compactPath, consensusPath] = process.argv.slice(2)
const failures = []
let checked = 0

const compact = JSON.parse(readFileSync(compactPath, 'utf8'))
for (const tc of compact.decode) {
  checked++
  let got
  try {
    got = '0x' + compactToTarget(Number(tc.compact)).toString(16)
  } catch (err) {
    got = err.message.includes('negative') ? 'negative' : err.message.includes('overflow') ? 'overflow' : err.message
  }
  const want = tc.error ?? tc.target
  if (got !== want) failures.push(`compact ${tc.compact}: got ${got}, want ${want}`)
}

const hexBytes = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16))
// message is a gossip message: content id || binary block.
function message (hash, binary) {
  const data = new Uint8Array(32 + binary.length)
  data.set(hash)
  data.set(binary, 32)
  return data
}

async function expect (what, data, ok) {
  checked++
  const v = await verifyBlockMessage(data)
  if (v.ok !== ok) failures.push(`${what}: tab says ${v.ok ? 'verified' : 'refused: ' + v.reason}`)
}

// What the tab judges alone, by the Go node's error codes; every other
// code needs the chain (the parent, retargeting, the ledger). A case with
// no binary form (a stated JSON hash) does not occur in gossip.
const verdicts = { ok: true, bad_proof: false }
const consensus = JSON.parse(readFileSync(consensusPath, 'utf8'))
for (const chain of consensus.chains) {
  for (const b of chain.blocks) {
    if (!(b.expect in verdicts) || b.binary === undefined) continue
    const hash = hexBytes(b.json.hash)
    await expect(`block "${b.description}" (${b.expect})`, message(hash, hexBytes(b.binary)), verdicts[b.expect])
    if (b.expect === 'ok') {
      hash[31] ^= 1 // a content id that is not the header's hash
      await expect(`block "${b.description}" under another content id`, message(hash, hexBytes(b.binary)), false)
    }
  }
}

if (failures.length > 0) {
  console.error(failures.join('\n'))
  process.exit(1)
}
console.log(`${checked} vectors agree`)
