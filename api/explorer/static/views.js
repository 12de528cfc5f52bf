// gossipchain explorer: the pages (#/…), each built from the node's API.
// A view function renders its page with show and may return what follows
// the node while it is shown: onEvent(type, data) for each event, onRecent()
// when state.recent was read again.
'use strict';

const LATEST = 20; // blocks on the home page

const BLOCK_COLUMNS = [
  'Height', 'Hash', 'Age', ['Interval', 'time since the block before'], 'Txs', 'Size',
  ['Difficulty', 'expected hashes to find the block: its work'], 'Miner'];

// blockRow is one row of the latest blocks; prev is the block before.
function blockRow(b, prev, fresh) {
  return h('tr', { 'data-hash': b.hash, 'data-index': b.index, class: fresh ? 'fresh' : null },
    h('td', { class: 'num' }, link('#/block/' + b.index, num(b.index))),
    h('td', {}, blockLink(b.hash)),
    h('td', {}, age(b.timestamp)),
    h('td', { class: 'num' }, prev && prev.index > 1 ? span(b.timestamp - prev.timestamp) : '—'),
    h('td', { class: 'num' }, num(b.transactions)),
    h('td', { class: 'num' }, bytes(b.size)),
    h('td', { class: 'num' }, difficulty(b.bits)),
    h('td', {}, b.index === 1 ? 'genesis' : addrLink(b.miner)));
}

// renderLatest fills tbody with the latest blocks of state.recent, marking
// those not shown before.
function renderLatest(tbody) {
  const shown = new Set([...tbody.children].map(r => r.dataset.hash));
  const first = tbody.children.length === 0;
  const rows = [];
  const rec = state.recent;
  for (let i = rec.length - 1; i >= 0 && rows.length < LATEST; i--) {
    rows.push(blockRow(rec[i], rec[i - 1], !first && !shown.has(rec[i].hash)));
  }
  tbody.replaceChildren(...rows);
}

function eventList() {
  return h('ul', { id: 'events' }, state.events.length ? state.events.map(eventItem) :
    h('li', { class: 'muted' }, 'Blocks, transactions, peers and reorganisations appear here as they happen.'));
}

async function viewHome(_, seq) {
  await state.history;
  const tbody = h('tbody', { id: 'latest-body' });
  renderLatest(tbody);
  const chart = id => s('svg', { id, class: 'chart', height: CHART_HEIGHT, viewBox: '0 0 440 ' + CHART_HEIGHT, preserveAspectRatio: 'none' });
  const page = h('div', {},
    h('div', { id: 'reorg-banner', class: 'banner', hidden: true }),
    h('div', { class: 'grid' },
      h('div', {},
        h('h1', {}, 'Latest blocks'),
        h('table', { id: 'latest', class: 'blocks' }, thead(BLOCK_COLUMNS), tbody),
        h('p', { class: 'legend' }, 'Difficulty is the expected number of hashes to find a block (its work), ',
          'the same unit everywhere on these pages; the compact target (bits) is in each block\'s details. ',
          'Interval: time since the block before. Hover a hash, time or miner for the whole value.')),
      h('div', {},
        h('h2', {}, 'Hash rate'),
        chart('rate-chart'),
        h('p', { class: 'legend' }, h('span', { class: 'key net' }), 'network, from the last ' + RATE_WINDOW + ' blocks: ',
          h('b', { id: 'rate-net' }), ' · ', h('span', { class: 'key own' }), 'this node: ', h('b', { id: 'rate-own' })),
        h('h2', {}, 'Block interval and difficulty'),
        chart('interval-chart'),
        h('p', { class: 'legend' }, h('span', { class: 'key bar' }), 'interval (last ' + INTERVAL_BARS + ' blocks) · ',
          h('span', { class: 'key diff' }), 'difficulty ', h('b', { id: 'interval-range' }),
          state.status && !state.status.params.fixed_difficulty ? [' · ', h('span', { class: 'key target' }), 'target interval'] : null),
        h('h2', {}, 'Events'), eventList())));
  if (!show(seq, page)) return null;
  drawCharts();
  return { onRecent: () => { renderLatest(tbody); drawCharts(); } };
}

// signed reports whether the network has a signed ledger, whose
// transactions pay fees (the open ledger has none).
function signed() {
  return !!(state.status && state.status.params && state.status.params.ledger === 'signed');
}

// feeCell is a transaction's fee on a signed network ('—' for the reward).
function feeCell(t) {
  return h('td', { class: 'num' }, t.sender === '0' ? '—' : num(t.fee || 0));
}

async function viewBlock(id, seq) {
  const b = await api('/blocks/' + encodeURIComponent(id));
  // The main chain at its height, and the block before: size, interval.
  let here = null, prev = null;
  try {
    const r = await api('/blocks/recent?to=' + b.index + '&limit=2');
    [here, prev] = [r.blocks[0], r.blocks[1]];
  } catch (e) { /* beyond the head */ }
  const onMain = here && here.hash === b.hash;
  if (!onMain && b.index > 1) {
    try { prev = await api('/blocks/' + b.previous_hash); } catch (e) { prev = null; }
  }
  const st = state.status;
  const reward = b.transactions.find(t => t.sender === '0');
  const fees = b.transactions.reduce((n, t) => n + (t.fee || 0), 0);
  const txs = b.transactions.map(t => h('tr', {},
    h('td', {}, txLink(t.id)), h('td', {}, t.sender === '0' ? h('span', { class: 'muted' }, 'mining reward') : addrLink(t.sender)),
    h('td', {}, addrLink(t.recipient)), h('td', { class: 'num' }, num(t.amount)), signed() ? feeCell(t) : null));
  show(seq, h('div', {},
    h('h1', {}, 'Block ' + num(b.index) + ' ', badge(onMain ? 'main' : 'side')),
    kv([
      ['Hash', h('span', { class: 'mono', id: 'block-hash' }, b.hash)],
      ['Previous', b.index > 1 ? blockLink(b.previous_hash, b.previous_hash) : h('span', { class: 'mono' }, b.previous_hash)],
      ['Next', onMain && st && b.index < st.height ? link('#/block/' + (b.index + 1), 'block ' + num(b.index + 1)) : '—'],
      ['Time', [age(b.timestamp), h('span', { class: 'muted' }, ' · ' + time(b.timestamp))]],
      ['Interval', prev && prev.index > 1 ? span(b.timestamp - prev.timestamp) + ' after block ' + num(prev.index) : '—'],
      ['Miner', reward ? [addrLink(reward.recipient), h('span', { class: 'muted mono' }, ' ' + reward.recipient)] : '—'],
      signed() && reward ? ['Reward', h('span', { id: 'block-reward' }, num(reward.amount) + ' (' + num(fees) + ' of it fees)')] : null,
      ['Difficulty', h('span', { id: 'block-difficulty' }, difficulty(b.bits) + ' expected hashes (the block\'s work)')],
      ['Compact target (bits)', h('span', { class: 'mono', id: 'block-bits' }, compact(b.bits))],
      ['Proof', String(b.proof)],
      ['Size', onMain ? bytes(here.size) : '—'],
      ['Transaction root', h('span', { class: 'mono' }, b.tx_root)],
      ['Confirmations', onMain && st ? [num(st.height - b.index + 1), held(null)] : '—'],
    ]),
    h('h2', {}, 'Transactions (' + b.tx_count + ')'),
    st && st.light ? h('p', { class: 'muted' }, 'A light node keeps block headers only: the block commits to its ' +
      num(b.tx_count) + ' transactions by its transaction root, which a proof checks a transaction against.') : null,
    table(['Id', 'Sender', 'Recipient', 'Amount'].concat(signed() ? ['Fee'] : []), txs)));
}

async function viewTx(id, seq) {
  const r = await api('/transactions/' + encodeURIComponent(id));
  const t = r.transaction;
  show(seq, h('div', {},
    h('h1', {}, 'Transaction ', badge(r.status)),
    kv([
      ['Id', h('span', { class: 'mono' }, t.id)],
      ['Sender', t.sender === '0' ? 'mining reward' : [addrLink(t.sender), h('span', { class: 'muted mono' }, ' ' + t.sender)]],
      ['Recipient', [addrLink(t.recipient), h('span', { class: 'muted mono' }, ' ' + t.recipient)]],
      ['Amount', num(t.amount)],
      signed() && t.sender !== '0' ? ['Fee', h('span', { id: 'tx-fee' }, num(t.fee || 0))] : null,
      signed() && t.sender === '0' ? ['Fees collected', h('span', { id: 'tx-fee' }, num(t.amount - state.status.params.reward))] : null,
      ['Nonce', String(t.nonce)],
      r.block_hash ? ['Block', [link('#/block/' + r.block_hash, 'block ' + num(r.block_index)), ' ', blockLink(r.block_hash)]] : null,
      r.confirmations ? ['Confirmations', [h('span', { id: 'tx-confirmations' }, num(r.confirmations)), held(r)]] : null,
    ])));
}

// held says where a balance or a confirmation comes from: checked by a
// proof from full peers against this node's header chain (r.verified, on a
// light node), read from a light node's header chain, or held by this node
// itself (a full node).
function held(r) {
  if (r && r.verified) {
    return h('span', { class: 'held proved', title: 'a light node: checked by a Merkle proof from full peers against block ' +
      (r.head || r.block_hash) + ' of its header chain' }, 'checked by proof (light node)');
  }
  if (state.status && state.status.light) return h('span', { class: 'held' }, 'from this light node\'s header chain');
  return h('span', { class: 'held' }, 'held by this node (full node)');
}

// balanceRows are the address page's balance lines: on a signed network
// the confirmed balance, what pending transactions spend and receive, and
// the balance once they are mined.
function balanceRows(r, acct) {
  if (r.balance === undefined) {
    return [['Balance', h('span', { class: 'muted' }, 'not kept: this network\'s ledger is open (it has no accounts)')]];
  }
  const incoming = r.transactions.filter(e => e.pending && e.direction === 'in').reduce((n, e) => n + e.transaction.amount, 0);
  const spend = acct ? acct.pending_spend : 0;
  const count = acct ? acct.pending : 0;
  return [
    ['Confirmed balance', [h('span', { id: 'balance-confirmed' }, num(r.balance)), held(acct)]],
    ['Pending spend', h('span', { id: 'balance-pending-spend' }, (spend ? '−' : '') + num(spend) +
      (count ? ' in ' + count + ' pending transaction' + (count > 1 ? 's' : '') : ''))],
    incoming ? ['Pending receipts', h('span', { id: 'balance-pending-in' }, '+' + num(incoming) + ' (spendable once mined)')] : null,
    ['Balance after pending', h('strong', { id: 'balance-after' }, num(r.balance - spend + incoming))],
    ['Nonce of its next transaction', String(acct ? acct.pending_nonce : r.next_nonce)],
  ];
}

// viewLightAddress is the address page of a light node: the account as
// full peers proved it; a light node keeps no history.
async function viewLightAddress(addr, seq) {
  const a = await api('/accounts/' + encodeURIComponent(addr));
  show(seq, h('div', {},
    h('h1', {}, 'Address ', h('span', { id: 'address-title', class: 'mono' }, a.address)),
    kv([
      ['Confirmed balance', [h('span', { id: 'balance-confirmed' }, num(a.balance)), held(a)]],
      ['Nonce of its next transaction', String(a.next_nonce)],
      ['Checked against', [link('#/block/' + a.head, 'block ' + num(a.height)), ' ', blockLink(a.head)]],
    ]),
    h('p', { class: 'muted' }, 'A light node keeps block headers only: it shows no history or pending transactions.')));
}

async function viewAddress(addr, seq) {
  if (state.status && state.status.light) return viewLightAddress(addr, seq);
  const r = await api('/addresses/' + encodeURIComponent(addr) + '?limit=100');
  let acct = null;
  if (r.balance !== undefined) acct = await api('/accounts/' + encodeURIComponent(addr));
  const rows = r.transactions.map(e => h('tr', {},
    h('td', {}, e.block_index ? link('#/block/' + e.block_index, num(e.block_index)) : badge('pending')),
    h('td', {}, txLink(e.transaction.id)),
    h('td', {}, e.direction),
    h('td', {}, e.direction === 'out' ? addrLink(e.transaction.recipient) :
      (e.transaction.sender === '0' ? 'mining reward' : addrLink(e.transaction.sender))),
    h('td', { class: 'num' }, num(e.transaction.amount))));
  const who = label(addr);
  show(seq, h('div', {},
    h('h1', {}, 'Address ', h('span', { id: 'address-title', class: 'mono' }, r.address)),
    who === 'this node' ? h('p', { class: 'muted' }, 'This node\'s mining address.') : null,
    who.startsWith('peer ') ? h('p', { class: 'muted' }, 'A connected peer (' + who + ').') : null,
    kv([
      ...balanceRows(r, acct),
      ['Received', num(r.received)],
      ['Sent', num(r.sent)],
      ['Blocks searched', r.complete ? 'the whole chain' : num(r.scanned_from) + ' to ' + num(r.scanned_to) + ' (the most recent)'],
    ]),
    h('h2', {}, 'History (newest first)'),
    table(['Block', 'Transaction', 'Direction', 'Counterpart', 'Amount'], rows)));
}

async function viewPending(_, seq) {
  const r = await api('/transactions/pending?limit=200');
  const rows = r.transactions.map(t => h('tr', {},
    h('td', {}, txLink(t.id)), h('td', {}, addrLink(t.sender)), h('td', {}, addrLink(t.recipient)), h('td', { class: 'num' }, num(t.amount)),
    signed() ? feeCell(t) : null));
  show(seq, h('div', {},
    h('h1', {}, 'Pending transactions (' + num(r.total) + ')'),
    r.total > r.transactions.length ? h('p', { class: 'muted' }, 'The oldest ' + r.transactions.length + ' are shown.') : null,
    table(['Id', 'Sender', 'Recipient', 'Amount'].concat(signed() ? ['Fee'] : []), rows, { id: 'pending-table' })));
  return { onEvent: refreshOn(['tx', 'head']) };
}

async function viewPeers(_, seq) {
  const peers = await api('/peers');
  state.peerIDs = new Set(peers.map(p => p.id));
  const st = state.status;
  const rows = peers.map(p => h('tr', { 'data-peer': p.id },
    h('td', {}, label(p.id)),
    h('td', { class: 'mono' }, p.id),
    h('td', { class: 'num' }, p.height === null ? '?' : num(p.height)),
    h('td', { class: 'num' }, st && p.height !== null ? (p.height > st.height ? '+' + (p.height - st.height) : p.height < st.height ? '−' + (st.height - p.height) : 'level') : ''),
    h('td', { class: 'num' }, p.latency_ms ? p.latency_ms.toFixed(1) + ' ms' : '—'),
    h('td', {}, p.direction), h('td', {}, p.source), h('td', { class: 'mono' }, p.addr)));
  show(seq, h('div', {},
    h('h1', {}, 'Peers (' + peers.length + ')'),
    table(['Name', 'Peer id', 'Height', 'Vs. us', 'Ping', 'Direction', 'Found by', 'Address'], rows, { id: 'peers-table' })));
  return { onEvent: refreshOn(['peer', 'head']) };
}
