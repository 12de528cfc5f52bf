// Block headers (PROTOCOL.md 2.2), by header version. A new header
// version is one more entry of layouts: its size and how to read it.

// VERSION_OFFSET is where every header version so far keeps its version.
const VERSION_OFFSET = 64

// layouts maps a header version to its size in bytes and its reader.
const layouts = {
  2: {
    size: 96,
    read: (v) => ({
      previousHash: hex(v, 0, 32),
      txRoot: hex(v, 32, 32),
      index: v.getBigUint64(68),
      timestamp: v.getBigInt64(76), // Unix microseconds
      bits: v.getUint32(84),
      proof: v.getBigUint64(88)
    })
  }
}

/**
 * Decodes the header at the start of a binary block (PROTOCOL.md 2.3).
 * Throws an Error naming what is wrong for a truncated block or an unknown
 * header version.
 *
 * @param {Uint8Array} block - the binary block
 * @returns {{version: number, size: number, bytes: Uint8Array, previousHash: string, txRoot: string, index: bigint, timestamp: bigint, bits: number, proof: bigint}}
 */
export function parseHeader (block) {
  if (block.length < VERSION_OFFSET + 4) {
    throw new Error(`block of ${block.length} bytes is shorter than a header`)
  }
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength)
  const version = view.getUint32(VERSION_OFFSET)
  const layout = layouts[version]
  if (layout === undefined) {
    throw new Error(`unknown header version ${version}`)
  }
  if (block.length < layout.size) {
    throw new Error(`block of ${block.length} bytes is shorter than a version ${version} header (${layout.size})`)
  }
  return { version, size: layout.size, bytes: block.subarray(0, layout.size), ...layout.read(view) }
}

/** hex returns the lower-case hex of n bytes of view from offset. */
export function hex (view, offset, n) {
  let s = ''
  for (let i = 0; i < n; i++) {
    s += view.getUint8(offset + i).toString(16).padStart(2, '0')
  }
  return s
}
