// gossipchain explorer: building the page and reading the node's API.
// Every string from the network is inserted as text (text nodes,
// textContent, SVG text), never as HTML.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';

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

// fill replaces the children of e with kids, as h takes them.
function fill(e, ...kids) {
  e.replaceChildren();
  append(e, kids);
  return e;
}

// s builds an SVG element.
function s(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  append(e, kids);
  return e;
}

function $(id) { return document.getElementById(id); }
function setText(id, text) { const e = $(id); if (e) e.textContent = text; }

// thead is a table's head; a header is a name or [name, explanation].
function thead(headers) {
  return h('thead', {}, h('tr', {}, headers.map(x => Array.isArray(x) ? h('th', { title: x[1] }, x[0]) : h('th', {}, x))));
}

function table(headers, rows, props) {
  return h('table', props || {}, thead(headers), h('tbody', {}, rows));
}

// kv is a two-column table of [label, value] pairs; null pairs are left out.
function kv(pairs) {
  return h('table', { class: 'kv' }, h('tbody', {},
    pairs.filter(p => p).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))));
}

// api GETs a path of the node's API and returns its JSON; an answer
// outside 2xx throws an Error carrying the node's message and status.
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
