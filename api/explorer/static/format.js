// gossipchain explorer: how values are written, one unit per quantity.
//
//   hashes      first 10 and last 4 hex digits (00003d47a1…b2c3), whole
//               in the title and on the block page
//   times       relative ("12 s ago"), absolute in the title
//   difficulty  the expected number of hashes to find a block, which is
//               also the block's work ("90.5 M"); the compact target
//               (bits) only in a block's details
//   hash rate   hashes per second ("9.05 MH/s")
//   miners      "this node", "peer a1b2c3" (a connected peer, by the end
//               of its ID), else the end of the address
'use strict';

function short(hash) { return hash ? hash.slice(0, 10) + '…' + hash.slice(-4) : ''; }
function num(n) { return Number(n).toLocaleString('en-US'); }

// si writes x with 3 significant digits and a metric prefix (90.5 M), a
// number below 1000 without trailing zeros (16).
function si(x) {
  if (!isFinite(x) || x <= 0) return '0 ';
  const u = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
  let i = 0;
  while (x >= 999.5 && i < u.length - 1) { x /= 1000; i++; }
  return (i ? x.toPrecision(3) : Number(x.toPrecision(3))) + ' ' + u[i];
}

function rate(r) { return si(r) + 'H/s'; }

function bytes(n) {
  if (n < 1000) return n + ' B';
  return si(n) + 'B';
}

// workOfBits is the expected number of hashes to meet the compact target
// bits: 2^256 / (target + 1), the target being mantissa × 256^(size − 3).
function workOfBits(bits) {
  bits >>>= 0;
  const size = bits >>> 24;
  let mant = bits & 0x7fffff;
  let shift = 8 * (size - 3);
  if (size <= 3) { mant >>>= 8 * (3 - size); shift = 0; }
  if (!mant) return Infinity;
  return Math.pow(2, 256 - shift) / (mant + (shift ? 0 : 1));
}

function difficulty(bits) { return si(workOfBits(bits)).trim(); }
function compact(bits) { return '0x' + (bits >>> 0).toString(16).padStart(8, '0'); }

// span writes a duration in seconds: 0.4 s, 9.2 s, 42 s, 3 min 5 s, 2 h 10 min, 3 d.
function span(sec) {
  const neg = sec < 0;
  sec = Math.abs(sec);
  let t;
  if (sec < 10) t = sec.toFixed(1) + ' s';
  else if (sec < 90) t = Math.round(sec) + ' s';
  else if (sec < 3600) t = Math.floor(sec / 60) + ' min ' + Math.round(sec % 60) + ' s';
  else if (sec < 86400 * 2) t = Math.floor(sec / 3600) + ' h ' + Math.round((sec % 3600) / 60) + ' min';
  else t = Math.round(sec / 86400) + ' d';
  return (neg ? '−' : '') + t;
}

// ago writes how long before now a Unix time (seconds) was: 12 s ago.
function ago(ts) {
  const d = Date.now() / 1000 - ts;
  if (d < -1) return 'in ' + span(-d);
  if (d < 1) return 'just now';
  if (d < 60) return Math.floor(d) + ' s ago';
  if (d < 3600) return Math.floor(d / 60) + ' min ago';
  if (d < 86400 * 2) return Math.floor(d / 3600) + ' h ago';
  if (d < 86400 * 365) return Math.floor(d / 86400) + ' d ago';
  return Math.floor(d / (86400 * 365.25)) + ' y ago';
}

function time(ts) { return ts ? new Date(ts * 1000).toLocaleString() : ''; }

// age is an element showing ago(ts), kept current by tickAges; the title
// holds the absolute time.
function age(ts) { return h('span', { class: 'age', 'data-ts': ts, title: time(ts) }, ago(ts)); }

function tickAges() {
  for (const e of document.querySelectorAll('[data-ts]')) e.textContent = ago(Number(e.dataset.ts));
}

// label names an address: this node, a connected peer, the genesis
// reward, or by the end of a long address.
function label(addr) {
  if (!addr) return '—';
  const st = state.status;
  if (st && addr === st.miner_address) return 'this node';
  if (state.peerIDs.has(addr)) return 'peer ' + addr.slice(-6);
  if (addr.startsWith('gossipchain:')) return 'genesis';
  if (addr === '0') return 'mining reward';
  return addr.length > 16 ? '…' + addr.slice(-6) : addr;
}

function link(href, text, cls, title) { return h('a', { href, class: cls, title }, text); }
function blockLink(hash, text) { return link('#/block/' + hash, text || short(hash), 'mono', hash); }
function txLink(id) { return link('#/tx/' + id, short(id), 'mono', id); }
function addrLink(a) {
  const l = label(a);
  return link('#/address/' + encodeURIComponent(a), l, l === 'this node' ? 'self' : null, a);
}
function badge(text) { return h('span', { class: 'badge ' + text }, text); }
