// gossipchain explorer: a single page over the node's JSON API and its
// Server-Sent Events. Every string from the network is inserted as text
// (text nodes, textContent, SVG text), never as HTML.
'use strict';

const LATEST = 20;          // blocks on the front page
const TREE_WINDOW = 40;     // main-chain blocks drawn around forks
const RATE_SAMPLES = 120;   // points of the hash-rate chart
const SVG = 'http://www.w3.org/2000/svg';

const state = {
  status: null,
  rates: [],          // {t, rate}
  events: [],         // recent event lines, newest first
  view: null,         // {name, arg, onEvent}
  connected: false,
};

// ---- DOM helpers -------------------------------------------------------

// h builds an element: props are attributes (on* keys are listeners);
// children are nodes or strings, strings becoming text nodes.
function h(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, kids);
  return e;
}

function append(e, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    e.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

function s(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  append(e, kids);
  return e;
}

function $(id) { return document.getElementById(id); }
function setText(id, text) { const e = $(id); if (e) e.textContent = text; }
function short(hash) { return hash ? hash.slice(0, 10) + '…' + hash.slice(-6) : ''; }
function link(href, text, cls) { return h('a', { href, class: cls }, text); }
function blockLink(hash, text) { return link('#/block/' + hash, text || short(hash), 'mono'); }
function txLink(id) { return link('#/tx/' + id, short(id), 'mono'); }
function addrLink(a) { return link('#/address/' + encodeURIComponent(a), a); }
function badge(text) { return h('span', { class: 'badge ' + text }, text); }
function time(ts) { return ts ? new Date(ts * 1000).toLocaleString() : ''; }
function num(n) { return Number(n).toLocaleString('en-US'); }
function rate(r) {
  if (!r) return '0 H/s';
  const u = ['H/s', 'kH/s', 'MH/s', 'GH/s'];
  let i = 0;
  while (r >= 1000 && i < u.length - 1) { r /= 1000; i++; }
  return r.toFixed(r < 10 ? 2 : 1) + ' ' + u[i];
}

function table(headers, rows, props) {
  return h('table', props || {},
    h('thead', {}, h('tr', {}, headers.map(x => h('th', {}, x)))),
    h('tbody', {}, rows));
}

function kv(pairs) {
  return h('table', { class: 'kv' }, h('tbody', {},
    pairs.filter(p => p).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))));
}

// ---- API ---------------------------------------------------------------

async function api(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  let body;
  try { body = await r.json(); } catch (e) { throw new Error(path + ': ' + r.status + ' (not JSON)'); }
  if (!r.ok) {
    const err = new Error(body && body.error ? body.error : path + ': ' + r.status);
    err.status = r.status;
    throw err;
  }
  return body;
}

// ---- summary bar -------------------------------------------------------

async function refreshStatus() {
  try {
    const st = await api('/status');
    state.status = st;
    renderSummary();
    return st;
  } catch (e) {
    setText('height', '?');
    return null;
  }
}

function renderSummary() {
  const st = state.status;
  if (!st) return;
  setText('height', num(st.height));
  const head = $('head');
  head.replaceChildren(blockLink(st.head, st.head));
  setText('peers', num(st.peers));
  setText('pending', num(st.pending));
  setText('mining', st.mining ? 'yes · ' + rate(st.hash_rate) : 'no');
  setText('network', st.network + ' · difficulty ' + st.difficulty);
  setText('version', 'gossipchain ' + (st.version || ''));
  renderSync({ syncing: st.syncing, height: st.height, target_height: st.target_height });
}

function renderSync(p) {
  const card = $('sync-card');
  card.hidden = !p.syncing;
  if (!p.syncing) return;
  const bar = $('sync-bar');
  bar.max = Math.max(1, p.target_height);
  bar.value = p.height;
  setText('sync-text', num(p.height) + ' / ' + num(p.target_height) +
    (p.blocks_per_s ? ' · ' + num(Math.round(p.blocks_per_s)) + ' blocks/s' : '') +
    (p.peer ? ' · from ' + short(p.peer) : ''));
}

// ---- live events -------------------------------------------------------

function logEvent(text) {
  state.events.unshift(new Date().toLocaleTimeString() + '  ' + text);
  state.events.length = Math.min(state.events.length, 50);
  const ul = $('events');
  if (ul) {
    for (const p of ul.querySelectorAll('li.muted')) p.remove();
    ul.prepend(h('li', {}, state.events[0]));
    while (ul.children.length > 50) ul.lastChild.remove();
  }
}

function connectEvents() {
  const es = new EventSource('/events');
  const live = $('live');
  es.onopen = () => { state.connected = true; live.className = 'live on'; live.textContent = 'live'; };
  es.onerror = () => { state.connected = false; live.className = 'live off'; live.textContent = 'reconnecting'; };
  const on = (type, fn) => es.addEventListener(type, m => {
    let d;
    try { d = JSON.parse(m.data); } catch (e) { return; }
    fn(d);
    if (state.view && state.view.onEvent) state.view.onEvent(type, d);
  });
  on('hello', () => refreshStatus());
  on('head', d => {
    if (state.status) {
      state.status.height = d.height;
      state.status.head = d.hash;
      renderSummary();
    }
  });
  on('block', d => {
    logEvent('block ' + d.index + ' ' + short(d.hash) + ' ' + d.status + ' (' + d.source +
      (d.blocks > 1 ? ', ' + d.blocks + ' blocks' : '') + (d.peer ? ' from ' + short(d.peer) : '') + ')');
  });
  on('reorg', d => {
    logEvent('REORGANISATION: ' + d.depth + ' block(s) abandoned above height ' + d.fork_height +
      ', new head ' + short(d.new_head));
    const b = $('reorg-banner');
    if (b) { b.hidden = false; b.textContent = 'Reorganisation at height ' + d.fork_height + ': ' + d.depth + ' block(s) abandoned'; }
  });
  on('tx', d => {
    if (state.status) { state.status.pending = d.pending; renderSummary(); }
    logEvent('transaction ' + short(d.id) + ': ' + d.sender + ' → ' + d.recipient + ' ' + d.amount);
  });
  on('peer', d => {
    if (state.status) { state.status.peers = d.peers; renderSummary(); }
    logEvent('peer ' + short(d.id) + ' ' + d.state + (d.source ? ' (' + d.source + ')' : ''));
  });
  on('sync', d => {
    renderSync(d);
    if (state.status) { state.status.syncing = d.syncing; state.status.target_height = d.target_height; }
  });
  on('mining', d => {
    if (state.status) { state.status.mining = d.mining; state.status.hash_rate = d.hash_rate; renderSummary(); }
    addRate(d.mining ? d.hash_rate : 0);
  });
  on('dropped', () => logEvent('event stream dropped (too slow); reconnecting'));
}

function addRate(r) {
  state.rates.push({ t: Date.now(), rate: r || 0 });
  if (state.rates.length > RATE_SAMPLES) state.rates.shift();
  drawChart();
}

function drawChart() {
  const svg = $('rate-chart');
  if (!svg) return;
  const w = 600, ht = 120, pad = 18;
  const pts = state.rates;
  const top = Math.max(1, ...pts.map(p => p.rate));
  const line = pts.map((p, i) => {
    const x = pad + (w - 2 * pad) * (pts.length < 2 ? 1 : i / (RATE_SAMPLES - 1));
    const y = ht - pad - (ht - 2 * pad) * (p.rate / top);
    return x.toFixed(1) + ',' + y.toFixed(1);
  }).join(' ');
  svg.replaceChildren(
    s('text', { x: pad, y: 12 }, 'max ' + rate(top)),
    s('text', { x: pad, y: ht - 4 }, pts.length ? 'last ' + pts.length + ' s' : 'no mining yet'),
    s('polyline', { points: line }));
}

// ---- views -------------------------------------------------------------

function blockRow(b, fresh) {
  const reward = (b.transactions || []).find(t => t.sender === '0');
  return h('tr', { 'data-hash': b.hash, 'data-index': b.index, class: fresh ? 'fresh' : null },
    h('td', {}, link('#/block/' + b.index, String(b.index))),
    h('td', {}, blockLink(b.hash)),
    h('td', {}, time(b.timestamp)),
    h('td', {}, String((b.transactions || []).length)),
    h('td', {}, reward ? addrLink(reward.recipient) : ''));
}

async function viewHome(_, seq) {
  const st = state.status || await refreshStatus();
  const height = st ? st.height : 1;
  const from = Math.max(1, height - LATEST + 1);
  const latest = await api('/chain?from=' + from + '&limit=' + LATEST);
  const blocks = latest.chain.slice().reverse();
  const tbody = h('tbody', { id: 'latest-body' }, blocks.map(b => blockRow(b)));
  const ul = h('ul', { id: 'events' }, state.events.length ? state.events.map(e => h('li', {}, e)) :
    h('li', { class: 'muted' }, 'Blocks, transactions, peers and reorganisations appear here as they happen.'));
  const page = h('div', {},
    h('div', { id: 'reorg-banner', class: 'banner', hidden: true }),
    h('div', { class: 'grid' },
      h('div', {},
        h('h1', {}, 'Latest blocks'),
        h('table', { id: 'latest' },
          h('thead', {}, h('tr', {}, ['Index', 'Hash', 'Time', 'Txs', 'Miner'].map(x => h('th', {}, x)))),
          tbody),
        h('h2', {}, 'Hash rate'),
        s('svg', { id: 'rate-chart', class: 'chart', viewBox: '0 0 600 120', preserveAspectRatio: 'none' })),
      h('div', {}, h('h1', {}, 'Events'), ul)));
  if (!show(seq, page)) return null;
  drawChart();
  const seen = new Set(blocks.map(b => b.hash));
  const redraw = refreshOn(['reorg']);
  const view = {
    onEvent: async (type, d) => {
      if (type === 'reorg') {
        // The latest blocks changed below the head: read them again.
        view.onEvent = redraw;
        redraw(type);
        return;
      }
      if (type !== 'head' || seen.has(d.hash)) return;
      try {
        const b = await api('/blocks/' + d.hash);
        if (seen.has(b.hash)) return;
        seen.add(b.hash);
        // Blocks above a reorganised height are replaced.
        for (const row of [...tbody.children]) {
          if (Number(row.dataset.index) >= b.index) row.remove();
        }
        tbody.prepend(blockRow(b, true));
        while (tbody.children.length > LATEST) tbody.lastChild.remove();
      } catch (e) { /* the block may have been reorganised away */ }
    },
  };
  return view;
}

async function viewBlock(id, seq) {
  const b = await api('/blocks/' + encodeURIComponent(id));
  let onMain = false;
  try { onMain = (await api('/blocks/' + b.index)).hash === b.hash; } catch (e) { onMain = false; }
  const st = state.status;
  const txs = b.transactions.map(t => h('tr', {},
    h('td', {}, txLink(t.id)), h('td', {}, t.sender === '0' ? h('span', { class: 'muted' }, 'reward') : addrLink(t.sender)),
    h('td', {}, addrLink(t.recipient)), h('td', {}, num(t.amount))));
  show(seq, h('div', {},
    h('h1', {}, 'Block ' + b.index + ' ', badge(onMain ? 'main' : 'side')),
    kv([
      ['Hash', h('span', { class: 'mono', id: 'block-hash' }, b.hash)],
      ['Previous', b.index > 1 ? blockLink(b.previous_hash, b.previous_hash) : h('span', { class: 'mono' }, b.previous_hash)],
      ['Next', onMain && st && b.index < st.height ? link('#/block/' + (b.index + 1), 'block ' + (b.index + 1)) : '—'],
      ['Time', time(b.timestamp)],
      ['Proof', String(b.proof)],
      ['Target (bits)', '0x' + (b.bits >>> 0).toString(16).padStart(8, '0')],
      ['Transaction root', h('span', { class: 'mono' }, b.tx_root)],
      ['Confirmations', onMain && st ? num(st.height - b.index + 1) : '—'],
    ]),
    h('h2', {}, 'Transactions (' + b.transactions.length + ')'),
    table(['Id', 'Sender', 'Recipient', 'Amount'], txs)));
}

async function viewTx(id, seq) {
  const r = await api('/transactions/' + encodeURIComponent(id));
  const t = r.transaction;
  show(seq, h('div', {},
    h('h1', {}, 'Transaction ', badge(r.status)),
    kv([
      ['Id', h('span', { class: 'mono' }, t.id)],
      ['Sender', t.sender === '0' ? 'mining reward' : addrLink(t.sender)],
      ['Recipient', addrLink(t.recipient)],
      ['Amount', num(t.amount)],
      ['Nonce', String(t.nonce)],
      r.block_hash ? ['Block', blockLink(r.block_hash, r.block_index + ' · ' + short(r.block_hash))] : null,
      r.confirmations ? ['Confirmations', num(r.confirmations)] : null,
    ])));
}

async function viewAddress(addr, seq) {
  const r = await api('/addresses/' + encodeURIComponent(addr) + '?limit=100');
  const rows = r.transactions.map(e => h('tr', {},
    h('td', {}, e.block_index ? link('#/block/' + e.block_index, String(e.block_index)) : badge('pending')),
    h('td', {}, txLink(e.transaction.id)),
    h('td', {}, e.direction),
    h('td', {}, e.direction === 'out' ? addrLink(e.transaction.recipient) :
      (e.transaction.sender === '0' ? 'mining reward' : addrLink(e.transaction.sender))),
    h('td', {}, num(e.transaction.amount))));
  show(seq, h('div', {},
    h('h1', {}, 'Address ', h('span', { id: 'address-title' }, r.address)),
    kv([
      ['Received', num(r.received)],
      ['Sent', num(r.sent)],
      r.balance !== undefined ? ['Balance', num(r.balance)] : ['Balance', h('span', { class: 'muted' }, 'not kept: this network has no accounts (open ledger)')],
      r.next_nonce !== undefined ? ['Next nonce', String(r.next_nonce)] : null,
      ['Blocks searched', r.complete ? 'the whole chain' : num(r.scanned_from) + ' to ' + num(r.scanned_to) + ' (the most recent)'],
    ]),
    h('h2', {}, 'History (newest first)'),
    table(['Block', 'Transaction', 'Direction', 'Counterpart', 'Amount'], rows)));
}

async function viewPending(_, seq) {
  const r = await api('/transactions/pending?limit=200');
  const rows = r.transactions.map(t => h('tr', {},
    h('td', {}, txLink(t.id)), h('td', {}, addrLink(t.sender)), h('td', {}, addrLink(t.recipient)), h('td', {}, num(t.amount))));
  show(seq, h('div', {},
    h('h1', {}, 'Pending transactions (' + num(r.total) + ')'),
    r.total > r.transactions.length ? h('p', { class: 'muted' }, 'The oldest ' + r.transactions.length + ' are shown.') : null,
    table(['Id', 'Sender', 'Recipient', 'Amount'], rows, { id: 'pending-table' })));
  return { onEvent: refreshOn(['tx', 'head']) };
}

async function viewPeers(_, seq) {
  const peers = await api('/peers');
  const st = state.status;
  const rows = peers.map(p => h('tr', { 'data-peer': p.id },
    h('td', { class: 'mono' }, p.id),
    h('td', {}, p.height === null ? '?' : num(p.height)),
    h('td', {}, st && p.height !== null ? (p.height > st.height ? '+' + (p.height - st.height) : p.height < st.height ? '−' + (st.height - p.height) : 'level') : ''),
    h('td', {}, p.direction), h('td', {}, p.source), h('td', { class: 'mono' }, p.addr)));
  show(seq, h('div', {},
    h('h1', {}, 'Peers (' + peers.length + ')'),
    table(['Peer id', 'Height', 'Vs. us', 'Direction', 'Found by', 'Address'], rows, { id: 'peers-table' })));
  return { onEvent: refreshOn(['peer', 'head']) };
}

async function viewForks(_, seq) {
  const f = await api('/forks');
  const height = f.height;
  const low = f.branches.length ? Math.min(...f.branches.map(b => b.fork_height)) : height;
  const from = Math.max(1, Math.min(low, height - TREE_WINDOW + 1));
  const to = Math.min(height, from + TREE_WINDOW - 1);
  const page = await api('/chain?from=' + from + '&limit=' + (to - from + 1));
  const W = 76, H = 30, GAP = 22, ROW = 46, X0 = 10;
  const shown = f.branches.filter(b => b.fork_height + 1 >= from && b.fork_height < to + 1);
  const rows = shown.length + 1;
  const width = X0 + (to - from + 2) * (W + GAP);
  const svg = s('svg', { class: 'tree', id: 'fork-tree', width, height: rows * ROW + 20 });
  const x = i => X0 + (i - from) * (W + GAP);
  const mainY = rows * ROW - ROW + 10;
  const box = (cls, b, y) => {
    const a = s('a', { href: '#/block/' + b.hash, class: 'blk ' + cls, 'data-hash': b.hash, 'data-index': b.index },
      s('title', {}, b.index + ' ' + b.hash + (b.miner ? ' mined by ' + b.miner : '')),
      s('rect', { x: x(b.index), y, width: W, height: H }),
      s('text', { x: x(b.index) + 5, y: y + 13 }, '#' + b.index),
      s('text', { x: x(b.index) + 5, y: y + 25 }, b.hash.slice(0, 10)));
    svg.appendChild(a);
  };
  let prev = null;
  for (const b of page.chain) {
    if (prev) svg.appendChild(s('line', { x1: x(prev.index) + W, y1: mainY + H / 2, x2: x(b.index), y2: mainY + H / 2 }));
    box('blk-main', b, mainY);
    prev = b;
  }
  shown.forEach((br, i) => {
    const y = mainY - (i + 1) * ROW;
    const g = s('g', { class: 'branch', 'data-kind': br.kind, 'data-fork': br.fork_height });
    svg.appendChild(g);
    let last = { index: br.fork_height, y: mainY };
    for (const b of br.blocks) {
      if (b.index > to + 1) break;
      svg.appendChild(s('line', { x1: x(last.index) + W, y1: last.y + H / 2, x2: x(b.index), y2: y + H / 2 }));
      box('blk-' + (br.kind === 'abandoned' ? 'abandoned' : 'side'), b, y);
      g.appendChild(s('desc', {}, b.hash));
      last = { index: b.index, y };
    }
  });
  const list = f.branches.map(br => h('tr', { class: 'branch-row', 'data-kind': br.kind },
    h('td', {}, badge(br.kind)),
    h('td', {}, link('#/block/' + br.fork_height, String(br.fork_height))),
    h('td', {}, String(br.length)),
    h('td', {}, br.blocks.map(b => [blockLink(b.hash), ' '])),
    h('td', {}, new Date(br.seen).toLocaleTimeString())));
  show(seq, h('div', {},
    h('h1', {}, 'Block tree'),
    h('p', { class: 'muted' }, 'Main chain (green) from block ' + from + ' to ' + to +
      '; side branches (amber) and branches abandoned by a reorganisation (red) seen by this node since it started.'),
    h('div', { id: 'reorg-banner', class: 'banner', hidden: true }),
    h('div', { style: null }, svg),
    h('h2', {}, 'Branches (' + f.branches.length + ')'),
    table(['Kind', 'Fork height', 'Blocks', 'Hashes', 'Seen'], list, { id: 'branches-table' })));
  return { onEvent: refreshOn(['reorg', 'head', 'block']) };
}

// refreshOn returns an event handler that renders the current view again,
// at most every 300 ms, after events of the given types.
function refreshOn(types) {
  let timer = null;
  const handler = type => {
    if (!types.includes(type) || timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (state.view && state.view.onEvent === handler) route();
    }, 300);
  };
  return handler;
}

// show puts node in the page if the route that built it is still the
// current one (a slower, older route must not cover a newer page).
function show(seq, node) {
  if (node === undefined) { node = seq; seq = routeSeq; }
  if (seq !== routeSeq) return false;
  $('view').replaceChildren(node);
  return true;
}

// ---- routing -----------------------------------------------------------

const routes = {
  '': viewHome, block: viewBlock, tx: viewTx, address: viewAddress,
  pending: viewPending, peers: viewPeers, forks: viewForks,
};

let routeSeq = 0;
async function route() {
  const seq = ++routeSeq;
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const name = parts[0];
  const arg = decodeURIComponent(parts.slice(1).join('/'));
  const fn = routes[name];
  state.view = null;
  if (!fn) { show(h('p', { class: 'error' }, 'No such page: ' + location.hash)); return; }
  try {
    const v = await fn(arg, seq);
    if (seq === routeSeq) state.view = v || null;
  } catch (e) {
    if (seq === routeSeq) show(h('div', {}, h('h1', {}, 'Not found'), h('p', { class: 'error', id: 'error' }, e.message)));
  }
}

// search: an index or a 64-hex hash (a block, else a transaction), else an address.
async function search(q) {
  q = q.trim();
  if (!q) return;
  if (/^[0-9]+$/.test(q)) { location.hash = '#/block/' + q; return; }
  if (/^[0-9a-fA-F]{64}$/.test(q)) {
    try { await api('/blocks/' + q); location.hash = '#/block/' + q; return; } catch (e) { /* not a block */ }
    try { await api('/transactions/' + q); location.hash = '#/tx/' + q; return; } catch (e) { /* not a tx */ }
  }
  location.hash = '#/address/' + encodeURIComponent(q);
}

$('search').addEventListener('submit', ev => { ev.preventDefault(); search($('search-input').value); });
window.addEventListener('hashchange', route);
setInterval(refreshStatus, 5000);
setInterval(() => { if (!state.status || !state.status.mining) addRate(0); }, 1000);
refreshStatus().then(route);
connectEvents();
