/**
 * The dashboard's script (plain DOM, no framework, no build step: served as written).
 *
 * - **Key**: asked once, checked with `GET /v1/stats`, kept in `sessionStorage` (this tab only),
 *   sent only as `Authorization: Bearer`. A 401 later (the key was rotated out) signs out with a
 *   message; a 429 says how long the throttle lasts.
 * - **Live**: `GET /v1/events` read with `fetch` streaming and parsed as SSE here, since
 *   `EventSource` cannot send the header. A `sync` replaces the model; `instance:*`, `room:*` and
 *   `player:*` events patch it. After a drop (network, `overflow`, orchestrator restart) it
 *   reconnects with `Last-Event-ID` after the server's `retry` delay, doubling up to 10 s, so the
 *   orchestrator replays exactly the missed events or sends a fresh `sync`.
 * - **Reconcile**: `/v1/instances` every 10 s refreshes the instances the stream knows (a stale
 *   instance that answers again emits no event); who is in the fleet is the stream's to say.
 * - **Catalog**: `/v1/games` and `/v1/manifests/<env>` every 30 s; the section is hidden while
 *   `/v1/games` answers `NOT_FOUND` (no catalog mounted).
 * Every datum reaches the page through `textContent`, never as HTML.
 */

/** The environments whose manifest versions the games table shows. */
export const DASHBOARD_ENVS: readonly string[] = ['dev', 'staging', 'prod'];

/** The script (String.raw: its backslashes are the browser's). */
export const DASHBOARD_SCRIPT = String.raw`(function () {
'use strict';
var KEY_ITEM = 'parlor.dashboard.adminKey';
var ENVS = ${JSON.stringify(DASHBOARD_ENVS)};
var MAX_RETRY_MS = 10000;
var S = { key: null, instances: new Map(), rooms: new Map(), lastId: '', syncReason: '', ctrl: null, attempt: 0, retryMs: 1000, timers: [], reconnectTimer: null, queued: false, catalog: null };

function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function setConn(state, text) { var c = $('conn'); c.dataset.state = state; c.textContent = text; }
function notice(text) { var n = $('notice'); n.textContent = text || ''; n.hidden = !text; }

async function api(method, path, body) {
  var headers = { Authorization: 'Bearer ' + S.key };
  var init = { method: method, headers: headers, cache: 'no-store' };
  if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
  var res = await fetch(path, init);
  var json = null;
  try { json = await res.json(); } catch (e) { json = null; }
  return { status: res.status, json: json, retryAfter: res.headers.get('Retry-After') };
}
function authProblem(r) {
  if (r.status === 401) return 'The orchestrator refused this admin key (401 UNAUTHORIZED). Check the key and try again.';
  if (r.status === 429 && r.json && r.json.cause === 'AUTH_THROTTLED') return 'Too many wrong keys from this address: try again in ' + (r.retryAfter || 'a few') + ' s.';
  return null;
}
function refusal(r) {
  var j = r.json;
  if (j && j.status === 'rejected') return j.cause + (j.message ? ': ' + j.message : '') + ' (' + r.status + ')';
  return 'HTTP ' + r.status;
}

// ---- sign in / out ----
function showLogin(message) {
  $('login').hidden = false; $('board').hidden = true; $('signout').hidden = true;
  $('login-error').textContent = message || '';
  setConn(message ? 'error' : 'signed-out', 'Signed out');
  $('key').focus();
}
async function signIn(key) {
  if (S.ctrl) { S.ctrl.abort(); S.ctrl = null; }
  S.key = key;
  $('login-error').textContent = '';
  setConn('connecting', 'Checking key…');
  var r;
  try { r = await api('GET', '/v1/stats'); } catch (e) { S.key = null; return showLogin('Cannot reach the orchestrator: ' + e.message); }
  var problem = authProblem(r);
  if (problem || r.status !== 200) {
    S.key = null;
    sessionStorage.removeItem(KEY_ITEM);
    return showLogin(problem || 'The orchestrator answered ' + refusal(r) + '.');
  }
  sessionStorage.setItem(KEY_ITEM, key);
  $('key').value = '';
  $('login').hidden = true; $('board').hidden = false; $('signout').hidden = false;
  notice('');
  connect();
  loadCatalog();
  S.timers.forEach(clearInterval);
  S.timers = [setInterval(reconcile, 10000), setInterval(loadCatalog, 30000), setInterval(queueRender, 5000)];
}
function signOut(message) {
  if (S.ctrl) S.ctrl.abort();
  S.ctrl = null;
  clearTimeout(S.reconnectTimer);
  S.timers.forEach(clearInterval);
  S.timers = [];
  S.key = null; S.lastId = ''; S.syncReason = ''; S.attempt = 0;
  S.instances = new Map(); S.rooms = new Map(); S.catalog = null;
  sessionStorage.removeItem(KEY_ITEM);
  render();
  showLogin(message);
}

// ---- the event stream ----
function connect() {
  var ctrl = new AbortController();
  S.ctrl = ctrl;
  setConn('connecting', S.lastId ? 'Reconnecting…' : 'Connecting…');
  var headers = { Authorization: 'Bearer ' + S.key, Accept: 'text/event-stream' };
  if (S.lastId) headers['Last-Event-ID'] = S.lastId;
  fetch('/v1/events', { headers: headers, signal: ctrl.signal, cache: 'no-store' }).then(async function (res) {
    if (res.status !== 200) {
      var json = null;
      try { json = await res.json(); } catch (e) { json = null; }
      var r = { status: res.status, json: json, retryAfter: res.headers.get('Retry-After') };
      if (res.status === 401) { signOut('The orchestrator no longer accepts this admin key (401). Sign in with a current key.'); return; }
      throw new Error(authProblem(r) || 'event stream refused: ' + refusal(r));
    }
    setConn('live', 'Live');
    await readEvents(res.body, ctrl);
    throw new Error('event stream closed');
  }).catch(function (err) {
    if (ctrl.signal.aborted || S.ctrl !== ctrl) return;
    var delay = Math.min(MAX_RETRY_MS, S.retryMs * Math.pow(2, S.attempt));
    delay = Math.round(delay / 2 + Math.random() * delay / 2);
    S.attempt++;
    setConn('error', 'Disconnected (' + err.message + '); retrying in ' + Math.ceil(delay / 1000) + ' s');
    S.reconnectTimer = setTimeout(function () { if (S.ctrl === ctrl) connect(); }, delay);
  });
}
async function readEvents(body, ctrl) {
  var reader = body.getReader();
  var decoder = new TextDecoder();
  var buf = '';
  var ev = { id: null, name: '', data: [] };
  for (;;) {
    var chunk = await reader.read();
    if (chunk.done || ctrl.signal.aborted) return;
    buf += decoder.decode(chunk.value, { stream: true });
    var m;
    var lineRe = /\r\n|\r|\n/g;
    var start = 0;
    // a lone \r at the end may be half of \r\n: keep it for the next chunk
    while ((m = lineRe.exec(buf)) !== null) {
      if (m[0] === '\r' && m.index === buf.length - 1) break;
      var line = buf.slice(start, m.index);
      start = m.index + m[0].length;
      if (line === '') {
        if (ev.id !== null) S.lastId = ev.id;
        if (ev.data.length > 0) dispatch(ev.name || 'message', ev.data.join('\n'));
        ev = { id: null, name: '', data: [] };
        continue;
      }
      if (line.charAt(0) === ':') continue;
      var i = line.indexOf(':');
      var field = i < 0 ? line : line.slice(0, i);
      var value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'data') ev.data.push(value);
      else if (field === 'event') ev.name = value;
      else if (field === 'id' && value.indexOf('\0') < 0) ev.id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) S.retryMs = Number(value);
    }
    buf = buf.slice(start);
  }
}
function dispatch(name, raw) {
  var d;
  try { d = JSON.parse(raw); } catch (e) { return; }
  S.attempt = 0;
  if (name === 'sync') {
    S.instances = new Map(d.instances.map(function (i) { return [i.id, i]; }));
    S.rooms = new Map(d.rooms.map(function (r) { return [r.roomId, r]; }));
    S.syncReason = d.reason;
  } else if (name === 'instance:join' || name === 'instance:update' || name === 'instance:stale') {
    S.instances.set(d.instance.id, d.instance);
  } else if (name === 'instance:leave') {
    S.instances.delete(d.instance.id);
    S.rooms.forEach(function (r, id) { if (r.instanceId === d.instance.id) S.rooms.delete(id); });
  } else if (name === 'room:create') {
    S.rooms.set(d.room.roomId, d.room);
  } else if (name === 'room:destroy') {
    S.rooms.delete(d.room.roomId);
  } else if (name === 'player:join' || name === 'player:leave') {
    var r = S.rooms.get(d.roomId);
    if (r) r.clientCount = d.clientCount;
  }
  queueRender();
}

// ---- polls ----
async function reconcile() {
  if (!S.key) return;
  try {
    var r = await api('GET', '/v1/instances');
    if (r.status === 401) return signOut('The orchestrator no longer accepts this admin key (401). Sign in with a current key.');
    if (r.status !== 200) return;
    // the stream decides who is in the fleet; the read refreshes what it does not announce (stale → fresh)
    r.json.data.forEach(function (i) { if (S.instances.has(i.id)) S.instances.set(i.id, i); });
    queueRender();
  } catch (e) { /* the stream shows the connection state */ }
}
async function loadCatalog() {
  if (!S.key) return;
  try {
    var g = await api('GET', '/v1/games');
    if (g.status === 401) return signOut('The orchestrator no longer accepts this admin key (401). Sign in with a current key.');
    if (g.status !== 200) { S.catalog = null; return queueRender(); }
    var pins = {};
    var answers = await Promise.all(ENVS.map(function (env) { return api('GET', '/v1/manifests/' + env); }));
    answers.forEach(function (m, i) {
      if (m.status !== 200) return;
      m.json.data.games.forEach(function (e) { (pins[e.slug] = pins[e.slug] || {})[ENVS[i]] = e.version; });
    });
    S.catalog = { games: g.json.data, pins: pins };
    queueRender();
  } catch (e) { /* kept as it was */ }
}

// ---- actions ----
async function act(button, method, path, done) {
  button.disabled = true;
  try {
    var r = await api(method, path);
    if (r.status === 401) return signOut('The orchestrator no longer accepts this admin key (401). Sign in with a current key.');
    if (r.status >= 300) notice(button.getAttribute('aria-label') + ' failed: ' + refusal(r));
    else { notice(''); done(r.json.data); }
  } catch (e) {
    notice(button.getAttribute('aria-label') + ' failed: ' + e.message);
  } finally {
    button.disabled = false;
    queueRender();
  }
}
function onClick(ev) {
  var b = ev.target.closest('button[data-action]');
  if (!b || b.disabled) return;
  var id = b.dataset.id;
  var action = b.dataset.action;
  if (action === 'drain' || action === 'undrain') {
    act(b, 'POST', '/v1/instances/' + encodeURIComponent(id) + '/' + action, function (inst) { S.instances.set(inst.id, inst); });
  } else if (action === 'destroy') {
    if (!window.confirm('Destroy room ' + id + '? Its players are disconnected.')) return;
    act(b, 'DELETE', '/v1/rooms/' + encodeURIComponent(id), function () { S.rooms.delete(id); });
  }
}

// ---- rendering ----
function queueRender() {
  if (S.queued) return;
  S.queued = true;
  requestAnimationFrame(function () { S.queued = false; render(); });
}
function age(ms) {
  var s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
}
function fmt(n) { return Number(n).toLocaleString('en-US'); }
function cell(tr, cls, text) { var td = el('td', cls, text); tr.appendChild(td); return td; }
function button(action, id, text, label, cls) {
  var b = el('button', 'btn ' + (cls || 'quiet'), text);
  b.type = 'button'; b.dataset.action = action; b.dataset.id = id;
  b.setAttribute('aria-label', label);
  return b;
}
function stateOf(i) { return i.stale ? 'stale' : i.status; }
function fill(tbody, rows) {
  var focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset : null;
  var key = focused && focused.action ? focused.action + ' ' + focused.id : null;
  tbody.replaceChildren.apply(tbody, rows);
  if (key) {
    var again = tbody.querySelector('button[data-action="' + CSS.escape(focused.action) + '"][data-id="' + CSS.escape(focused.id) + '"]');
    if (again) again.focus();
  }
}
function render() {
  var load = new Map();
  S.rooms.forEach(function (r) {
    var l = load.get(r.instanceId) || { rooms: 0, players: 0 };
    l.rooms++; l.players += r.clientCount;
    load.set(r.instanceId, l);
  });
  var insts = Array.from(S.instances.values()).sort(function (a, b) { return a.name.localeCompare(b.name) || a.id.localeCompare(b.id); });
  var counts = { active: 0, draining: 0, stale: 0 };
  var cap = { rooms: 0, players: 0 };
  var players = 0;
  var rows = insts.map(function (i) {
    var st = stateOf(i);
    counts[st]++;
    if (!i.stale) { cap.rooms += i.capacity.maxRooms; cap.players += i.capacity.maxConnections; }
    var l = load.get(i.id) || { rooms: 0, players: 0 };
    var tr = el('tr'); tr.dataset.instance = i.id;
    var name = cell(tr, '', null);
    name.appendChild(el('strong', '', i.name)); name.appendChild(el('div', 'mono muted', i.id));
    cell(tr, 'mono', i.endpointUrl);
    var labels = cell(tr, '', null);
    Object.keys(i.labels).sort().forEach(function (k) { labels.appendChild(el('span', 'label', k + '=' + i.labels[k])); });
    var s = cell(tr, '', null);
    s.appendChild(el('span', 'state ' + st, st === 'stale' && i.status === 'draining' ? 'stale, draining' : st));
    if (i.health && i.health !== 'ok') s.appendChild(el('div', 'state stale health', i.health === 'snapshot-refused' ? 'snapshots refused' : i.health));
    cell(tr, 'num' + (l.rooms >= i.capacity.maxRooms ? ' full' : ''), fmt(l.rooms) + ' / ' + fmt(i.capacity.maxRooms));
    cell(tr, 'num' + (l.players >= i.capacity.maxConnections ? ' full' : ''), fmt(l.players) + ' / ' + fmt(i.capacity.maxConnections));
    cell(tr, 'mono', Array.isArray(i.squishVersions) && i.squishVersions.length ? i.squishVersions.join(', ') : '—');
    var a = cell(tr, 'actions', null);
    a.appendChild(i.status === 'draining' ? button('undrain', i.id, 'Undrain', 'Undrain ' + i.name) : button('drain', i.id, 'Drain', 'Drain ' + i.name));
    return tr;
  });
  fill($('instances').tBodies[0], rows);
  $('instances').hidden = rows.length === 0; $('instances-empty').hidden = rows.length > 0;

  var now = Date.now();
  var rooms = Array.from(S.rooms.values()).sort(function (a, b) { return b.createdAt - a.createdAt || a.roomId.localeCompare(b.roomId); });
  rows = rooms.map(function (r) {
    players += r.clientCount;
    var tr = el('tr'); tr.dataset.room = r.roomId;
    cell(tr, 'mono', r.roomId);
    cell(tr, '', r.type);
    cell(tr, 'mono', r.version || '—');
    var max = r.metadata && typeof r.metadata.maxPlayers === 'number' ? r.metadata.maxPlayers : null;
    cell(tr, 'num' + (max !== null && r.clientCount >= max ? ' full' : ''), max === null ? fmt(r.clientCount) : fmt(r.clientCount) + ' / ' + fmt(max));
    var inst = S.instances.get(r.instanceId);
    var where = cell(tr, '', null);
    where.appendChild(el('span', '', inst ? inst.name : r.instanceId));
    if (inst) where.appendChild(el('div', 'mono muted', r.instanceId));
    cell(tr, 'num', age(now - r.createdAt));
    cell(tr, 'actions', null).appendChild(button('destroy', r.roomId, 'Destroy', 'Destroy room ' + r.roomId, 'danger'));
    return tr;
  });
  fill($('rooms').tBodies[0], rows);
  $('rooms').hidden = rows.length === 0; $('rooms-empty').hidden = rows.length > 0;

  $('t-instances').textContent = fmt(insts.length);
  $('t-states').textContent = counts.active + ' active · ' + counts.draining + ' draining · ' + counts.stale + ' stale';
  $('t-rooms').textContent = fmt(rooms.length);
  $('t-rooms-cap').textContent = 'of ' + fmt(cap.rooms) + ' room slots';
  $('t-players').textContent = fmt(players);
  $('t-players-cap').textContent = 'of ' + fmt(cap.players) + ' connections';
  $('t-event').textContent = S.lastId || '—';
  $('t-sync').textContent = S.syncReason ? 'last sync: ' + S.syncReason : '';
  renderCatalog();
}
function renderCatalog() {
  var c = S.catalog;
  $('catalog').hidden = !c;
  if (!c) return;
  var head = $('games-head');
  while (head.children.length > 3) head.removeChild(head.lastChild);
  ENVS.forEach(function (env) { var th = el('th', '', env); th.scope = 'col'; head.appendChild(th); });
  var rows = c.games.slice().sort(function (a, b) { return a.slug.localeCompare(b.slug); }).map(function (g) {
    var tr = el('tr'); tr.dataset.game = g.slug;
    var name = cell(tr, '', null);
    name.appendChild(el('strong', '', g.name)); name.appendChild(el('div', 'mono muted', g.slug));
    cell(tr, '', g.show ? 'yes' : 'hidden');
    cell(tr, '', g.access.minRole ? 'role ' + g.access.minRole : g.access.requiresAuth ? 'signed in' : 'anyone');
    ENVS.forEach(function (env) { cell(tr, 'mono', (c.pins[g.slug] && c.pins[g.slug][env]) || '—'); });
    return tr;
  });
  fill($('games').tBodies[0], rows);
  $('games').hidden = rows.length === 0; $('games-empty').hidden = rows.length > 0;
}

document.addEventListener('DOMContentLoaded', function () {
  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var key = $('key').value.trim();
    if (!key) { $('login-error').textContent = 'Enter an admin key.'; return; }
    signIn(key);
  });
  $('signout').addEventListener('click', function () { signOut(''); });
  $('board').addEventListener('click', onClick);
  render();
  var stored = sessionStorage.getItem(KEY_ITEM);
  if (stored) signIn(stored); else showLogin('');
});
})();
`;
