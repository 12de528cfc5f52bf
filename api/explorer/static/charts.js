// gossipchain explorer: the home page's charts. They are drawn from the
// node's recent blocks (state.recent, read at load from GET /blocks/recent)
// and from this node's hash-rate samples (state.rates, from "mining"
// events), so that they are full on first paint.
'use strict';

const RATE_WINDOW = 10;   // blocks of one network hash-rate estimate
const INTERVAL_BARS = 60; // blocks of the interval chart
const CHART_HEIGHT = 120;
const PAD = { l: 6, r: 6, t: 18, b: 16 };

// chainBlocks returns the recent blocks after the genesis, whose
// timestamp is fixed by the network, oldest first.
function chainBlocks() { return state.recent.filter(b => b.index > 1); }

// networkRates estimates the network's hash rate at each recent block:
// the work of the RATE_WINDOW blocks up to it over the time they took.
function networkRates(blocks) {
  const out = [];
  for (let j = 1; j < blocks.length; j++) {
    const lo = Math.max(0, j - RATE_WINDOW);
    let work = 0;
    for (let m = lo + 1; m <= j; m++) work += workOfBits(blocks[m].bits);
    const dt = blocks[j].timestamp - blocks[lo].timestamp;
    if (dt > 0) out.push({ t: blocks[j].timestamp, rate: work / dt });
  }
  return out;
}

// frame sizes svg's coordinates to its width on the page, so that its text
// is not stretched, and returns that width.
function frame(svg) {
  const w = Math.max(200, Math.round(svg.getBoundingClientRect().width) || 440);
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + CHART_HEIGHT);
  return w;
}

function points(pts, X, Y) { return pts.map(p => X(p).toFixed(1) + ',' + Y(p).toFixed(1)).join(' '); }

// drawRateChart draws the network's estimated hash rate over the recent
// blocks and this node's own samples, on one time axis ending now.
function drawRateChart() {
  const svg = $('rate-chart');
  if (!svg) return;
  const w = frame(svg), ht = CHART_HEIGHT;
  const net = networkRates(chainBlocks());
  const own = state.rates.map(p => ({ t: p.t / 1000, rate: p.rate }));
  const now = Date.now() / 1000;
  const all = net.concat(own);
  const t0 = Math.min(now - 60, ...all.map(p => p.t));
  const top = Math.max(1, ...all.map(p => p.rate));
  const X = p => PAD.l + (w - PAD.l - PAD.r) * (p.t - t0) / (now - t0);
  const Y = p => ht - PAD.b - (ht - PAD.t - PAD.b) * p.rate / top;
  fill(svg,
    s('text', { x: PAD.l, y: 12 }, 'max ' + rate(top)),
    s('text', { x: PAD.l, y: ht - 4 }, span(now - t0) + ' ago'),
    s('text', { x: w - PAD.r, y: ht - 4, 'text-anchor': 'end' }, 'now'),
    s('line', { class: 'axis', x1: PAD.l, x2: w - PAD.r, y1: ht - PAD.b, y2: ht - PAD.b }),
    s('polyline', { class: 'own', points: points(own, X, Y) }),
    s('polyline', { class: 'net', points: points(net, X, Y) }));
  setText('rate-net', net.length ? rate(net[net.length - 1].rate) : 'no blocks yet');
  const last = state.rates[state.rates.length - 1];
  setText('rate-own', state.status && state.status.mining ? rate(state.status.hash_rate) : last && last.rate ? rate(last.rate) : 'not mining');
}

// drawIntervalChart draws, for the last INTERVAL_BARS blocks, the time
// since the block before (bars), the difficulty (line) and the target
// interval of a retargeting network (dashed).
function drawIntervalChart() {
  const svg = $('interval-chart');
  if (!svg) return;
  const w = frame(svg), ht = CHART_HEIGHT;
  const blocks = chainBlocks().slice(-(INTERVAL_BARS + 1));
  const items = [];
  for (let i = 1; i < blocks.length; i++) {
    items.push({ b: blocks[i], dt: blocks[i].timestamp - blocks[i - 1].timestamp, work: workOfBits(blocks[i].bits) });
  }
  const p = state.status && state.status.params;
  const target = p && !p.fixed_difficulty ? p.target_block_time_us / 1e6 : 0;
  if (!items.length) {
    fill(svg, s('text', { x: PAD.l, y: 12 }, 'max 0 s'),
      s('text', { x: PAD.l, y: ht / 2 }, 'two blocks after the genesis are needed'));
    setText('interval-range', '—');
    return;
  }
  const top = Math.max(1, target * 1.5, ...items.map(x => x.dt));
  const lo = Math.min(...items.map(x => x.work)), hi = Math.max(...items.map(x => x.work));
  const slot = (w - PAD.l - PAD.r) / INTERVAL_BARS;
  const x0 = PAD.l + (INTERVAL_BARS - items.length) * slot; // the newest bar at the right
  const base = ht - PAD.b, room = ht - PAD.t - PAD.b;
  const bars = items.map((x, i) => {
    const bh = room * Math.max(0, x.dt) / top;
    return s('rect', { class: 'bar', x: (x0 + i * slot).toFixed(1), y: (base - bh).toFixed(1), width: Math.max(1, slot - 1).toFixed(1), height: bh.toFixed(1) },
      s('title', {}, 'block ' + x.b.index + ': ' + span(x.dt) + ' after the block before, difficulty ' + si(x.work).trim()));
  });
  const X = q => x0 + q.i * slot + slot / 2;
  const Y = q => hi > lo ? base - room * (0.1 + 0.8 * (q.work - lo) / (hi - lo)) : base - room / 2;
  fill(svg,
    s('text', { x: PAD.l, y: 12 }, 'max ' + span(top)),
    s('text', { x: w - PAD.r, y: ht - 4, 'text-anchor': 'end' }, 'block ' + items[items.length - 1].b.index),
    s('text', { x: x0, y: ht - 4 }, 'block ' + items[0].b.index),
    s('line', { class: 'axis', x1: PAD.l, x2: w - PAD.r, y1: base, y2: base }),
    bars,
    target ? s('line', { class: 'target', x1: PAD.l, x2: w - PAD.r, y1: base - room * target / top, y2: base - room * target / top }) : null,
    s('polyline', { class: 'diff', points: points(items.map((x, i) => ({ i, work: x.work })), X, Y) }));
  setText('interval-range', lo === hi ? si(lo).trim() : si(lo).trim() + ' to ' + si(hi).trim());
}

function drawCharts() {
  drawRateChart();
  drawIntervalChart();
}
