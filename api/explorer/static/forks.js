// gossipchain explorer: the fork view (#/forks). It draws the main chain
// around the head and around every branch GET /forks records, folding the
// runs of main-chain blocks in between, so that it opens on the newest
// fork and the head whatever their distance. The tree and the table below
// it number the branches alike, newest first.
'use strict';

const HEAD_CONTEXT = 4; // main-chain blocks drawn up to the head
const FORK_CONTEXT = 1; // main-chain blocks drawn before a fork and after a branch
const BRANCH_EDGE = 2;  // blocks drawn at each end of a long branch
const BOX_W = 76, BOX_H = 32, STEP = 92, FOLD_W = 60, LANE = 52, X0 = 12, TOP = 22;

// tipOf is the highest block of a branch that GET /forks keeps (the
// first 64 from the fork up).
function tipOf(br) { return br.blocks[br.blocks.length - 1].index; }

// forkRanges returns the heights to draw as [low, high] ranges, ascending:
// the head and the blocks before it, and the two ends of each branch with
// the main-chain blocks around them. Ranges less than three blocks apart
// are joined; the others are folded.
function forkRanges(head, branches) {
  const rs = [[Math.max(1, head - HEAD_CONTEXT + 1), head]];
  for (const br of branches) {
    rs.push([Math.max(1, br.fork_height - FORK_CONTEXT), br.fork_height + BRANCH_EDGE]);
    rs.push([Math.max(1, tipOf(br) - BRANCH_EDGE + 1), Math.min(Math.max(head, tipOf(br)), tipOf(br) + FORK_CONTEXT)]);
  }
  rs.sort((a, b) => a[0] - b[0]);
  const out = [];
  for (const r of rs) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 3) last[1] = Math.max(last[1], r[1]);
    else out.push(r.slice());
  }
  return out;
}

// mainBlocks reads the main-chain blocks of ranges up to the head, by height.
async function mainBlocks(ranges, head) {
  const pages = await Promise.all(ranges.filter(([lo]) => lo <= head).map(([lo, hi]) => {
    hi = Math.min(hi, head);
    return api('/blocks/recent?to=' + hi + '&limit=' + Math.min(MAX_RECENT, hi - lo + 1));
  }));
  const byHeight = new Map();
  for (const p of pages) for (const b of p.blocks) byHeight.set(b.index, b);
  return byHeight;
}

// columns places every height drawn: x of each, and the folds between
// runs of consecutive heights.
function columns(heights) {
  const x = new Map(), folds = [];
  let cx = X0, prev = null;
  for (const ht of heights) {
    if (prev !== null) {
      if (ht === prev + 1) cx += STEP;
      else {
        folds.push({ x: cx + BOX_W, w: STEP - BOX_W + FOLD_W, blocks: ht - prev - 1 });
        cx += STEP + FOLD_W;
      }
    }
    x.set(ht, cx);
    prev = ht;
  }
  return { x, folds, width: cx + BOX_W + X0 };
}

// lanes gives each branch, in order, the lowest lane above the main chain
// (lane 0) in which it overlaps no branch placed before it.
function lanes(branches, x) {
  const used = []; // per lane, the [from, to] spans taken
  return branches.map(br => {
    const from = x.get(br.fork_height) ?? 0, to = x.get(tipOf(br)) + BOX_W;
    let lane = 1;
    while ((used[lane] || []).some(([a, b]) => from < b + 8 && a < to + 8)) lane++;
    (used[lane] = used[lane] || []).push([from, to]);
    return lane;
  });
}

function treeBox(cls, b, x, y, extra) {
  return s('a', { href: '#/block/' + b.hash, class: 'blk ' + cls, 'data-hash': b.hash, 'data-index': b.index },
    s('title', {}, 'block ' + b.index + '\n' + b.hash + (b.miner ? '\nmined by ' + label(b.miner) : '') +
      '\n' + ago(b.timestamp) + (extra || '')),
    s('rect', { x, y, width: BOX_W, height: BOX_H }),
    s('text', { x: x + 6, y: y + 13 }, num(b.index)),
    s('text', { x: x + 6, y: y + 26, class: 'hash' }, b.hash.slice(0, 10)));
}

function drawTree(f, ranges, main) {
  const branches = f.branches;
  const heights = [];
  for (const [lo, hi] of ranges) for (let i = lo; i <= hi; i++) heights.push(i);
  const { x, folds, width } = columns(heights);
  const lane = lanes(branches, x);
  const top = Math.max(0, ...lane);
  const mainY = TOP + top * LANE;
  const svg = s('svg', { class: 'tree', id: 'fork-tree', width, height: mainY + BOX_H + 24 });
  const mid = BOX_H / 2;
  const edge = (x1, y1, x2, y2, cls) => svg.appendChild(s('line', { x1, y1: y1 + mid, x2, y2: y2 + mid, class: cls }));
  for (const fd of folds) {
    edge(fd.x, mainY, fd.x + fd.w, mainY, 'folded');
    svg.appendChild(s('text', { x: fd.x + fd.w / 2, y: mainY - 4, class: 'fold', 'text-anchor': 'middle' }, '⋯ ' + num(fd.blocks)));
  }
  let prev = null;
  for (const b of [...main.values()].sort((a, c) => a.index - c.index)) {
    if (prev && prev.index === b.index - 1) edge(x.get(prev.index) + BOX_W, mainY, x.get(b.index), mainY);
    const head = b.hash === f.head;
    svg.appendChild(treeBox('blk-main' + (head ? ' head' : ''), b, x.get(b.index), mainY, head ? '\nthe head' : ''));
    prev = b;
  }
  const hx = x.get(f.height);
  if (hx !== undefined) svg.appendChild(s('text', { x: hx + BOX_W / 2, y: mainY + BOX_H + 14, 'text-anchor': 'middle', class: 'head-label' }, 'head'));
  branches.forEach((br, i) => {
    const y = mainY - lane[i] * LANE;
    const g = s('g', { class: 'branch', 'data-n': i + 1, 'data-kind': br.kind, 'data-fork': br.fork_height });
    const cls = 'blk-' + (br.kind === 'abandoned' ? 'abandoned' : 'side');
    let last = { index: br.fork_height, y: mainY };
    for (const b of br.blocks) {
      const bx = x.get(b.index);
      if (bx === undefined) continue; // folded
      g.appendChild(s('line', { x1: x.get(last.index) + BOX_W, y1: last.y + mid, x2: bx, y2: y + mid,
        class: b.index === last.index + 1 ? null : 'folded' }));
      g.appendChild(treeBox(cls, b, bx, y, '\nbranch #' + (i + 1) + ', ' + br.kind));
      last = { index: b.index, y };
    }
    g.appendChild(s('text', { x: x.get(br.blocks[0].index), y: y - 5, class: 'branch-no' }, '#' + (i + 1) + ' ' + br.kind));
    svg.appendChild(g);
  });
  return svg;
}

function branchRow(br, i) {
  const shown = br.blocks.slice(0, 3);
  const miners = [...new Set(br.blocks.map(b => label(b.miner)))];
  return h('tr', { class: 'branch-row', 'data-kind': br.kind, 'data-n': i + 1 },
    h('td', { class: 'num' }, '#' + (i + 1)),
    h('td', {}, badge(br.kind)),
    h('td', { class: 'num' }, link('#/block/' + br.fork_height, num(br.fork_height))),
    h('td', { class: 'num' }, num(br.length)),
    h('td', {}, shown.map(b => [blockLink(b.hash), ' ']), br.length > shown.length ? '+' + (br.length - shown.length) + ' more' : null),
    h('td', {}, miners.join(', ')),
    h('td', {}, age(Date.parse(br.seen) / 1000)));
}

// treeScroll is where the tree opens: where the reader left it, else at
// the right end (the head), moved left if needed to show the newest fork.
function treeScroll(wrap, kept) {
  const end = wrap.scrollWidth - wrap.clientWidth;
  if (kept !== null) { wrap.scrollLeft = Math.min(kept, end); return; }
  const first = wrap.querySelector('.branch[data-n="1"] .blk');
  let left = end;
  if (first) {
    const fx = first.getBBox().x - STEP; // the block it forks from, too
    if (fx < left) left = Math.max(0, fx);
  }
  wrap.scrollLeft = left;
}

async function viewForks(_, seq) {
  const f = await api('/forks');
  f.branches = f.branches.filter(br => br.blocks.length);
  const ranges = forkRanges(f.height, f.branches);
  const main = await mainBlocks(ranges, f.height);
  const old = $('tree-wrap');
  const kept = old && old.scrollLeft + old.clientWidth < old.scrollWidth - 4 ? old.scrollLeft : null;
  const wrap = h('div', { id: 'tree-wrap', class: 'tree-wrap' }, drawTree(f, ranges, main));
  const shown = show(seq, h('div', {},
    h('h1', {}, 'Block tree'),
    h('p', { class: 'muted' }, 'The main chain (green) up to the head, and the branches this node saw since it started: ',
      'side branches (amber) and branches a reorganisation abandoned (red), newest first, numbered as in the table. ',
      'Runs of main-chain blocks between them are folded (⋯ and their count).'),
    h('div', { id: 'reorg-banner', class: 'banner', hidden: true }),
    wrap,
    h('h2', {}, 'Branches (' + f.branches.length + ')'),
    f.branches.length ? null : h('p', { class: 'muted' }, 'No fork seen since this node started.'),
    table(['#', 'Kind', 'Fork height', 'Blocks', 'Hashes', 'Miners', 'Seen'], f.branches.map(branchRow), { id: 'branches-table' })));
  if (shown) treeScroll(wrap, kept);
  return { onEvent: refreshOn(['reorg', 'head', 'block']) };
}
