// Block headers (PROTOCOL.md 2.2), by header version. A new header
// version is one more entry of layouts: its size and how to read it.

// VERSION_OFFSET is where the header keeps its version (version 3, the
// only one any network runs: versions 2 and earlier kept it at 64 and are
// no longer accepted by any node).
const VERSION_OFFSET = 96

// layouts maps a header version to its size in bytes and its reader.
const layouts = {
  3: {
    size: 136,
    read: (v) => ({
      previousHash: hex(v, 0, 32),
      txRoot: hex(v, 32, 32),
      stateRoot: hex(v, 64, 32),
      index: v.getBigUint64(100),
      timestamp: v.getBigInt64(108), // Unix microseconds
      bits: v.getUint32(116),
      txCount: v.getBigUint64(120),
      proof: v.getBigUint64(128)
    })
  }
}

/**
 * Decodes the header at the start of a binary block (PROTOCOL.md 2.3).
 * Throws an Error naming what is wrong for a truncated block or an unknown
 * header version.
 *
 * @param {Uint8Array} block - the binary block
 * @returns {{version: number, size: number, bytes: Uint8Array, previousHash: string, txRoot: string, stateRoot: string, index: bigint, txCount: bigint, timestamp: bigint, bits: number, proof: bigint}}
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
