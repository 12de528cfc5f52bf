// gossipchain explorer: a single page over the node's JSON API and its
// Server-Sent Events (GET /events). This file holds the page's state, the
// summary bar, the event log and the routing; dom.js, format.js,
// charts.js, views.js and forks.js, loaded before it, the rest.
'use strict';

const HISTORY = 120;      // recent blocks kept for the charts
const MAX_RECENT = 1000;  // the most blocks one GET /blocks/recent answers
const RATE_SAMPLES = 300; // this node's hash-rate samples kept (one a second)
const MAX_EVENTS = 50;

const state = {
  status: null,
  peerIDs: new Set(), // connected peers, to name miners
  recent: [],         // summaries of the latest blocks, oldest first, linked
  history: null,      // settles once recent was first read
  rates: [],          // this node's hash rate: {t (ms), rate}
  events: [],         // the event log, newest first: {ts, text}
  view: null,         // {onEvent, onRecent} of the page shown
};

// ---- summary bar -------------------------------------------------------

async function refreshStatus() {
  try {
    state.status = await api('/status');
    renderSummary();
    return state.status;
  } catch (e) {
    setText('height', '?');
    return null;
  }
}

async function refreshPeers() {
  try { state.peerIDs = new Set((await api('/peers')).map(p => p.id)); } catch (e) { /* kept */ }
}

function renderSummary() {
  const st = state.status;
  if (!st) return;
  const p = st.params || {};
  setText('height', num(st.height));
  $('head').replaceChildren(blockLink(st.head));
  setText('peers', num(st.peers));
  setText('pending', num(st.pending));
  setText('mining', st.mining ? 'yes · ' + rate(st.hash_rate) : 'no');
  setText('difficulty', difficulty(st.bits));
  setText('network', st.network);
  setText('ledger', (p.ledger || 'open') + ' ledger');
  setText('retarget', p.fixed_difficulty ? 'fixed difficulty' :
    'retargets toward ' + span(p.target_block_time_us / 1e6).replace('.0 s', ' s') + ' blocks');
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
    (p.peer ? ' · from ' + label(p.peer) : ''));
}

// ---- recent blocks -----------------------------------------------------

// mergeRecent adds blocks (newest first, consecutive) to state.recent,
// replacing those at their heights; the blocks below and above them are
// kept if they link up with them, so that an answer read before a newer
// one, but merged after it, loses nothing.
function mergeRecent(blocks) {
  if (!blocks.length) return;
  const asc = blocks.slice().reverse();
  const lo = asc[0], hi = asc[asc.length - 1];
  let below = state.recent.filter(b => b.index < lo.index);
  let above = state.recent.filter(b => b.index > hi.index);
  const under = below[below.length - 1];
  if (under && (under.index !== lo.index - 1 || under.hash !== lo.previous_hash)) below = [];
  if (above.length && (above[0].index !== hi.index + 1 || above[0].previous_hash !== hi.hash)) above = [];
  state.recent = below.concat(asc, above).slice(-(HISTORY + 1));
}

async function loadRecent(limit) {
  mergeRecent((await api('/blocks/recent?limit=' + limit)).blocks);
}

// refreshRecent reads the blocks added since the last read (at least the
// latest LATEST + 1, so that a short reorganisation is replaced), all of
// the history when they do not link up; at most one read runs at a time.
let recentBusy = null, recentAgain = false;
function refreshRecent() {
  if (recentBusy) { recentAgain = true; return recentBusy; }
  recentBusy = (async () => {
    do {
      recentAgain = false;
      const top = state.recent.length ? state.recent[state.recent.length - 1].index : 0;
      const height = state.status ? state.status.height : 0;
      try {
        await loadRecent(Math.min(HISTORY + 1, Math.max(LATEST + 1, height - top + 1)));
        if (state.recent.length < Math.min(HISTORY + 1, height)) await loadRecent(HISTORY + 1);
      } catch (e) { /* the next head retries */ }
      if (state.view && state.view.onRecent) state.view.onRecent();
    } while (recentAgain);
    recentBusy = null;
  })();
  return recentBusy;
}

// loadHistory reads, once per page load, the recent blocks and the forks
// while the status and peers are read (ready), and starts the event log
// with them.
async function loadHistory(ready) {
  const none = () => null;
  const [, recent, forks] = await Promise.all([ready,
    api('/blocks/recent?limit=' + (HISTORY + 1)).catch(none),
    // A light node keeps no side branches' blocks: it has no /forks.
    ready.then(() => (state.status && state.status.light ? null : api('/forks'))).catch(none)]);
  if (recent) mergeRecent(recent.blocks);
  const seeded = state.recent.slice(-8).filter(b => b.index > 1).map(b => ({
    ts: b.timestamp, text: 'block ' + num(b.index) + ' ' + short(b.hash) + ' by ' + label(b.miner),
  }));
  for (const br of forks ? forks.branches : []) {
    seeded.push({
      ts: Date.parse(br.seen) / 1000, text: br.kind === 'abandoned'
        ? 'reorganisation: ' + br.length + ' block(s) abandoned above height ' + num(br.fork_height)
        : 'side branch of ' + br.length + ' block(s) at height ' + num(br.fork_height + 1),
    });
  }
  state.events = seeded.concat(state.events).sort((a, b) => b.ts - a.ts).slice(0, MAX_EVENTS);
  renderEvents();
}

// ---- live events -------------------------------------------------------

function eventItem(e) { return h('li', { title: e.text }, age(e.ts), ' ', e.text); }

function renderEvents() {
  const ul = $('events');
  if (ul) ul.replaceChildren(...eventList().children);
}

function logEvent(text) {
  state.events.unshift({ ts: Date.now() / 1000, text });
  state.events.length = Math.min(state.events.length, MAX_EVENTS);
  renderEvents();
}

function addRate(r) {
  state.rates.push({ t: Date.now(), rate: r || 0 });
  if (state.rates.length > RATE_SAMPLES) state.rates.shift();
  drawRateChart();
}

function connectEvents() {
  const es = new EventSource('/events');
  // A page that is left (or kept in the back/forward cache) closes its
  // stream, so that it holds none of the browser's few connections to the
  // node; pageshow opens a new one if the page comes back.
  addEventListener('pagehide', () => es.close(), { once: true });
  const live = $('live');
  es.onopen = () => { live.className = 'live on'; live.textContent = 'live'; };
  es.onerror = () => { live.className = 'live off'; live.textContent = 'reconnecting'; };
  const on = (type, fn) => es.addEventListener(type, m => {
    let d;
    try { d = JSON.parse(m.data); } catch (e) { return; }
    fn(d);
    if (state.view && state.view.onEvent) state.view.onEvent(type, d);
  });
  on('hello', () => refreshStatus().then(refreshRecent));
  on('head', d => {
    if (state.status) {
      state.status.height = d.height;
      state.status.head = d.hash;
      renderSummary();
    }
    refreshRecent();
  });
  on('block', d => {
    logEvent('block ' + num(d.index) + ' ' + short(d.hash) + ' ' + d.status.replace('_', ' ') + ' (' + d.source +
      (d.blocks > 1 ? ', ' + d.blocks + ' blocks' : '') + (d.peer ? ' from ' + label(d.peer) : '') + ')');
  });
  on('reorg', d => {
    logEvent('reorganisation: ' + d.depth + ' block(s) abandoned above height ' + num(d.fork_height) +
      ', new head ' + short(d.new_head));
    const b = $('reorg-banner');
    if (b) { b.hidden = false; b.textContent = 'Reorganisation at height ' + num(d.fork_height) + ': ' + d.depth + ' block(s) abandoned'; }
  });
  on('tx', d => {
    if (state.status) { state.status.pending = d.pending; renderSummary(); }
    logEvent('transaction ' + short(d.id) + ': ' + label(d.sender) + ' → ' + label(d.recipient) + ' ' + num(d.amount));
  });
  on('peer', d => {
    if (state.status) { state.status.peers = d.peers; renderSummary(); }
    refreshPeers();
    logEvent('peer ' + d.id.slice(-6) + ' ' + d.state + (d.source ? ' (' + d.source + ')' : ''));
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

// ---- routing -----------------------------------------------------------

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
  if (seq !== routeSeq) return false;
  $('view').replaceChildren(node);
  return true;
}

const routes = {
  '': viewHome, block: viewBlock, tx: viewTx, address: viewAddress,
  pending: viewPending, peers: viewPeers, forks: viewForks,
};

let routeSeq = 0;
async function route() {
  const seq = ++routeSeq;
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const fn = routes[parts[0]];
  const arg = decodeURIComponent(parts.slice(1).join('/'));
  state.view = null;
  if (!fn) { show(seq, h('p', { class: 'error' }, 'No such page: ' + location.hash)); return; }
  try {
    const v = await fn(arg, seq);
    if (seq === routeSeq) state.view = v || null;
  } catch (e) {
    if (seq === routeSeq) show(seq, h('div', {}, h('h1', {}, 'Not found'), h('p', { class: 'error', id: 'error' }, e.message)));
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
window.addEventListener('resize', drawCharts);
setInterval(refreshStatus, 5000);
setInterval(tickAges, 1000);
setInterval(() => { if (!state.status || !state.status.mining) addRate(0); }, 1000);
// Pages name miners once the status and the peers are read; the home page
// also waits for the recent blocks, read at the same time.
const ready = Promise.all([refreshStatus(), refreshPeers()]);
state.history = loadHistory(ready);
ready.then(route);
connectEvents();
window.addEventListener('pageshow', e => { if (e.persisted) connectEvents(); });
