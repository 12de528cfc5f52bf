// The retargeting rule (PROTOCOL.md 10.1, 10.3, 10.4) in exact integer
// arithmetic (BigInt), as chain/retarget.go computes it: the compact
// encoding of a target, the work of a target, aserti3-2d, the target a
// child of a header must carry, the median time and the future limit.
import { compactToTarget } from './pow.js'

const TWO_256 = 1n << 256n

/**
 * Encodes a target in compact form (10.1): the top three bytes, one byte
 * moved into the size when the mantissa would read as negative.
 *
 * @param {bigint} target - 0 <= target < 2^256
 * @returns {number} the uint32 compact form
 */
export function compactOf (target) {
  if (target < 0n || target >= TWO_256) {
    throw new Error(`target 0x${target.toString(16)} is outside [0, 2^256)`)
  }
  let size = Math.ceil(target.toString(2).length / 8)
  if (target === 0n) size = 0
  let word = size <= 3 ? Number(target << BigInt(8 * (3 - size))) : Number(target >> BigInt(8 * (size - 3)))
  if (word & 0x00800000) {
    word >>>= 8
    size++
  }
  return ((size << 24) | word) >>> 0
}

/** work returns the work of a block with target t: floor(2^256 / (t + 1)). */
export function work (target) {
  return TWO_256 / (target + 1n)
}

// aserti3-2d's fixed-point constants (chain/retarget.go).
const RADIX = 16n
const ONE = 1n << RADIX
const MAX_EXP = 260n << RADIX
const MIN_EXP = -300n << RADIX

/**
 * ASERT is aserti3-2d (10.3): the target of a block heightDiff+1 blocks
 * after an anchor of target anchor, timeDiff after the anchor's parent,
 * clamped to [1, maxTarget]. Every product is exact.
 *
 * @param {bigint} anchor
 * @param {bigint} timeDiff
 * @param {bigint} heightDiff
 * @param {bigint} spacing
 * @param {bigint} halfLife
 * @param {bigint} maxTarget
 * @returns {bigint}
 */
export function asert (anchor, timeDiff, heightDiff, spacing, halfLife, maxTarget) {
  if (maxTarget <= 0n || maxTarget >= TWO_256 || anchor <= 0n || anchor > maxTarget || heightDiff < 0n || spacing <= 0n || halfLife <= 0n) {
    throw new Error('asert: inputs out of range')
  }
  // BigInt division truncates toward zero, as the rule's does.
  const exponent = ((timeDiff - spacing * (heightDiff + 1n)) << RADIX) / halfLife
  if (exponent > MAX_EXP) return maxTarget
  if (exponent < MIN_EXP) return 1n
  const shifts = (exponent >> RADIX) - RADIX // >> floors a BigInt
  const frac = exponent & (ONE - 1n)
  const factor = ONE + ((195766423245049n * frac + 971821376n * frac * frac + 5127n * frac * frac * frac + (1n << 47n)) >> 48n)
  let next = anchor * factor
  next = shifts <= 0n ? next >> -shifts : next << shifts
  if (next === 0n) return 1n
  return next > maxTarget ? maxTarget : next
}

// MAX_SOLVE_BLOCKS caps the solve time one block counts, in block times.
const MAX_SOLVE_BLOCKS = 6n

/**
 * nextBits returns the compact target the child of parent must carry
 * (10.3): parent is {index, bits, timestamp, prevMark}, prevMark the time
 * mark of the parent's parent; params has targetBlockTime, halfLife (µs,
 * bigint), initialBits, maxBits and fixed.
 *
 * @returns {number}
 */
export function nextBits (params, parent) {
  if (params.fixed || parent.index === 1n) return params.initialBits
  const spacing = params.targetBlockTime
  let solve = spacing
  if (parent.index > 2n) {
    solve = parent.timestamp - parent.prevMark
    if (solve < 0n) solve = 0n
    if (solve > MAX_SOLVE_BLOCKS * spacing) solve = MAX_SOLVE_BLOCKS * spacing
  }
  const next = asert(compactToTarget(parent.bits), solve, 0n, spacing, params.halfLife, compactToTarget(params.maxBits))
  return compactOf(next)
}

// MEDIAN_TIME_BLOCKS is how many timestamps the median rule looks at.
export const MEDIAN_TIME_BLOCKS = 11

/** medianTime returns the upper median of timestamps (bigints), 0n for none. */
export function medianTime (times) {
  if (times.length === 0) return 0n
  const sorted = [...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return sorted[sorted.length >> 1]
}

/**
 * futureLimit returns, in µs, how far ahead of the clock a timestamp may
 * be: 5 block times, at least 2 s, at most 2 hours (10.4).
 *
 * @param {bigint} targetBlockTime - µs
 * @returns {bigint}
 */
export function futureLimit (targetBlockTime) {
  const limit = 5n * targetBlockTime
  if (limit < 2_000_000n) return 2_000_000n
  return limit > 7_200_000_000n ? 7_200_000_000n : limit
}
