import { PLAY_PATH_PREFIX, playPath } from '@parlor/squish';
import type { GameInfo } from '../games/catalog.js';
import type { RoomInfo } from '../rooms/room.js';

/** Escapes text for HTML element content and quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
:root{color-scheme:dark;--bg:#0f172a;--card:#1e293b;--line:#334155;--text:#e2e8f0;--muted:#94a3b8;--accent:#22d3ee;--accent2:#f97316}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--text)}
header{padding:32px 24px 8px;max-width:960px;margin:0 auto}
header h1{margin:0;font-size:32px;letter-spacing:.5px}
header h1 span{color:var(--accent)}
header p{margin:4px 0 0;color:var(--muted)}
main{max-width:960px;margin:0 auto;padding:8px 24px 48px}
h2{font-size:18px;text-transform:uppercase;letter-spacing:1px;color:var(--muted);margin:32px 0 12px}
.games{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:16px}
.game{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px;display:flex;flex-direction:column;gap:8px}
.game h3{margin:0;font-size:20px}
.game p{margin:0;color:var(--muted);flex:1}
.meta{font-size:13px;color:var(--muted)}
a.btn{display:inline-block;padding:6px 14px;border-radius:8px;text-decoration:none;font-weight:600;font-size:14px}
a.play{background:var(--accent);color:#0f172a}
a.spec{border:1px solid var(--line);color:var(--text)}
a.btn:hover,button.btn:hover{filter:brightness(1.15)}
button.btn{display:inline-block;padding:6px 14px;border-radius:8px;font:inherit;font-weight:600;font-size:14px;cursor:pointer;margin-left:6px}
button.fleet{background:transparent;border:1px solid var(--accent);color:var(--accent)}
button.fleet[disabled]{opacity:.6;cursor:wait}
.fleet-error{color:var(--accent2);font-size:13px}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:12px;overflow:hidden}
th,td{text-align:left;padding:10px 14px;border-bottom:1px solid var(--line)}
th{font-size:13px;color:var(--muted);font-weight:600}
tr:last-child td{border-bottom:0}
td.actions{text-align:right;white-space:nowrap}
td.actions a{margin-left:6px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:14px}
.empty{color:var(--muted);padding:16px;background:var(--card);border:1px dashed var(--line);border-radius:12px}
footer{color:var(--muted);font-size:13px;text-align:center;padding:24px}
footer a{color:inherit}
html.play,body.play{margin:0;height:100%;overflow:hidden;background:#000}
body.play canvas#parlor{display:block;width:100vw;height:100vh;touch-action:none;outline:none}
`;

/** Path of the pages' stylesheet (served by the server; pages carry no inline style). */
export const STYLE_PATH = '/parlor/parlor.css';
/** Path of the lobby's script (room list refresh, fleet button; pages carry no inline script). */
export const LOBBY_SCRIPT_PATH = '/parlor/lobby.js';
/** Path of the play page's bootstrap script: starts the client from the canvas's `data-*` attributes. */
export const PLAY_SCRIPT_PATH = '/parlor/play.js';

/**
 * The Content-Security-Policy of every HTML page (lobby, play, error pages): scripts, styles,
 * images, media and connections from this origin only (`connect-src 'self'` covers the same
 * origin's `ws:`/`wss:`), no inline script or style, no plugins, no `<base>`, forms to this
 * origin, framed by this origin only.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

/** Security headers of every HTML page: {@link PAGE_CSP}, `nosniff`, `Referrer-Policy`, framing and opener isolation. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': PAGE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'SAMEORIGIN',
  'Cross-Origin-Opener-Policy': 'same-origin',
});

/**
 * The Content-Security-Policy of game assets (and the pages' static script/style files): opened
 * directly, an asset is a sandboxed document (opaque origin, no script, no plugins) that can load
 * nothing, so an SVG with `<script>` cannot touch the origin's storage or cookies.
 */
export const ASSET_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/**
 * Headers of a game asset: {@link ASSET_CSP}, `nosniff` (the declared MIME type is the only one a
 * browser will use), and for SVG (the one allowed type that can carry script) also
 * `Content-Disposition: attachment`, so a browser never renders it as a document on this origin
 * (`<img>` and `new Image()` ignore the disposition).
 */
export function assetHeaders(contentType: string, fileName: string): Record<string, string> {
  const h: Record<string, string> = {
    'Content-Security-Policy': ASSET_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
  if (/^image\/svg\+xml\b/i.test(contentType)) {
    const ascii = fileName.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'asset.svg';
    h['Content-Disposition'] = `attachment; filename="${ascii}"`;
  }
  return h;
}

/** A string field of untrusted-shaped data, or `fallback`; capped at `max` characters. */
function str(v: unknown, max: number, fallback = ''): string {
  return typeof v === 'string' ? (v.length > max ? `${v.slice(0, max)}…` : v) : fallback;
}

/** A finite number as text, or `'?'`. */
function num(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : '?';
}

function roomRow(s: RoomInfo): string {
  const id = str(s.id, 64);
  const game = str(s.game, 64);
  const base = playPath(game, id);
  const full = typeof s.players === 'number' && typeof s.maxPlayers === 'number' && s.players >= s.maxPlayers;
  return `<tr data-room="${escapeHtml(id)}"><td>${escapeHtml(str(s.title, 80, game))}</td><td><code>${escapeHtml(id)}</code></td>` +
    `<td class="players">${num(s.players)} / ${num(s.maxPlayers)} players</td><td class="spectators">${num(s.spectators)} spectator${s.spectators === 1 ? '' : 's'}</td>` +
    `<td class="actions">${full ? '' : `<a class="btn play" href="${escapeHtml(base)}">Play</a>`}<a class="btn spec" href="${escapeHtml(base)}?spectate=1">Spectate</a></td></tr>`;
}

function roomRows(rooms: readonly RoomInfo[]): string {
  const rows: string[] = [];
  for (const s of rooms) {
    try {
      rows.push(roomRow(s));
    } catch {
      // one bad row never takes the lobby down
    }
  }
  if (rows.length === 0) return '<p class="empty" id="no-rooms">No live rooms yet: press Play on a game to start one.</p>';
  return `<table id="rooms"><thead><tr><th>Game</th><th>Room</th><th>Players</th><th>Spectators</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function gameCard(g: GameInfo, fleet: boolean): string {
  const name = str(g.name, 64);
  const href = playPath(name);
  const players = num(g.maxPlayers);
  return `<div class="game" data-game="${escapeHtml(name)}"><h3>${escapeHtml(str(g.title, 80, name))}</h3>` +
    `<p>${escapeHtml(str(g.description, 500) || 'No description.')}</p>` +
    `<div class="meta">up to ${players} player${g.maxPlayers === 1 ? '' : 's'} · ${num(g.tickRate)} Hz · <code>${escapeHtml(playPath(name))}</code></div>` +
    `<div><a class="btn play" href="${escapeHtml(href)}">Play</a>` +
    (fleet ? `<button type="button" class="btn fleet" data-fleet-game="${escapeHtml(name)}">New room (fleet)</button>` : '') +
    `</div></div>`;
}

/**
 * The lobby page (`GET /`): every game with Play / Spectate links and every live room. With
 * `opts.fleet` each game also gets a "New room (fleet)" button that POSTs `{ game }` to
 * `/parlor/api/fleet/rooms` and opens the returned `joinUrl` (the room may be on another server).
 * Rendered defensively: a field of the wrong type or length is shown as a placeholder or cut, and
 * a row that cannot be rendered is left out, so one game's data never fails the page. No inline
 * script or style (see {@link PAGE_CSP}): behaviour comes from {@link LOBBY_SCRIPT_PATH}.
 */
export function renderLobby(games: readonly GameInfo[], rooms: readonly RoomInfo[], opts: { fleet?: boolean } = {}): string {
  const cards: string[] = [];
  for (const g of games) {
    try {
      cards.push(gameCard(g, opts.fleet === true));
    } catch {
      // skip a game whose data cannot be rendered
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Parlor</title><link rel="stylesheet" href="${STYLE_PATH}"><script src="${LOBBY_SCRIPT_PATH}" defer></script></head>
<body><header><h1><span>▣</span> Parlor</h1><p>Server-authoritative multiplayer games. Open a game in two tabs to play together.</p></header>
<main><h2>Games</h2><div class="games">${cards.length ? cards.join('') : '<p class="empty">No games loaded.</p>'}</div>
<h2>Live rooms</h2><div id="live">${roomRows(rooms)}</div></main>
<footer>Parlor · <a href="/parlor/api/rooms">rooms JSON</a> · <a href="/metrics">metrics</a></footer>
</body></html>`;
}

/** The lobby's script, served at {@link LOBBY_SCRIPT_PATH}: refreshes the room list every 3 s and wires the fleet buttons. */
export const LOBBY_SCRIPT = `(function(){
  'use strict';
  function esc(s){return String(s).replace(/[&<>"']/g,function(c){return{'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];});}
  function str(v,max,d){return typeof v==='string'?(v.length>max?v.slice(0,max)+'\\u2026':v):(d||'');}
  function num(v){return typeof v==='number'&&isFinite(v)?String(v):'?';}
  function render(list){
    var live=document.getElementById('live');
    if(!live)return;
    if(!Array.isArray(list)||!list.length){live.innerHTML='<p class="empty" id="no-rooms">No live rooms yet: press Play on a game to start one.</p>';return;}
    var h='<table id="rooms"><thead><tr><th>Game</th><th>Room</th><th>Players</th><th>Spectators</th><th></th></tr></thead><tbody>';
    list.forEach(function(s){
      if(!s||typeof s!=='object')return;
      var id=str(s.id,64),game=str(s.game,64);
      var base='${PLAY_PATH_PREFIX}'+encodeURIComponent(game)+'/'+encodeURIComponent(id);
      h+='<tr data-room="'+esc(id)+'"><td>'+esc(str(s.title,80,game))+'</td><td><code>'+esc(id)+'</code></td><td class="players">'+num(s.players)+' / '+num(s.maxPlayers)+' players</td><td class="spectators">'+num(s.spectators)+' spectator'+(s.spectators===1?'':'s')+'</td><td class="actions">'+(s.players>=s.maxPlayers?'':'<a class="btn play" href="'+esc(base)+'">Play</a>')+'<a class="btn spec" href="'+esc(base)+'?spectate=1">Spectate</a></td></tr>';
    });
    live.innerHTML=h+'</tbody></table>';
  }
  function start(){
    Array.prototype.forEach.call(document.querySelectorAll('button[data-fleet-game]'),function(b){
      b.addEventListener('click',function(){
        var card=b.parentNode,err=card.querySelector('.fleet-error');
        if(err)err.remove();
        b.disabled=true;
        fetch('/parlor/api/fleet/rooms',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({game:b.getAttribute('data-fleet-game')})})
          .then(function(r){return r.json().then(function(j){var u=null;try{u=new URL(String(j&&j.joinUrl),location.href);}catch(e){u=null;}if(!r.ok||!u||(u.protocol!=='http:'&&u.protocol!=='https:'))throw new Error(str(j&&j.message,300)||('HTTP '+r.status));location.assign(u.href);});})
          .catch(function(e){b.disabled=false;var p=document.createElement('div');p.className='fleet-error';p.textContent='Fleet: '+str(e&&e.message,300);card.appendChild(p);});
      });
    });
    setInterval(function(){
      fetch('/parlor/api/rooms').then(function(r){return r.json();}).then(function(j){render(j&&j.rooms||[]);}).catch(function(){});
    },3000);
  }
  if(document.readyState==='loading')document.addEventListener('DOMContentLoaded',start);else start();
})();
`;

/**
 * The play page's bootstrap, served at {@link PLAY_SCRIPT_PATH}: `Parlor.start(...)` from
 * `<canvas id="parlor">`'s `data-game`, `data-room`, `data-spectate` and `data-dev` (dev mode:
 * the client shows the dev overlay). With `data-pending` (dev mode, a game that has not built
 * yet) only the dev overlay starts (`Parlor.startDevOverlay`), which reloads the page once the game builds.
 */
export const PLAY_SCRIPT = `(function(){
  'use strict';
  var c=document.getElementById('parlor');
  var P=window.Parlor;
  if(!c||!P||typeof P.start!=='function')return;
  var d=c.dataset,o={game:d.game||'',roomId:d.room||'',spectate:d.spectate==='1'};
  if(d.dev==='1')o.dev=true;
  if(d.pending==='1'){if(typeof P.startDevOverlay==='function')P.startDevOverlay(o);return;}
  P.start(o);
})();
`;

/** The pages' stylesheet, served at {@link STYLE_PATH}. */
export const PAGE_STYLE = STYLE;

/** Options of the play page. */
export interface PlayPageOptions {
  game: string;
  title: string;
  /** `''` = join any open room. */
  roomId: string;
  spectate: boolean;
  /** Dev mode (`parlor dev`): the client shows the dev overlay (`data-dev="1"`). Default false. */
  dev?: boolean;
  /** Dev mode, a game that has not built yet: the page runs only the dev overlay (`data-pending="1"`). Default false. */
  pending?: boolean;
}

/**
 * The play page (`GET /play/:game[/:roomId]`): a full-window `<canvas id="parlor">` carrying
 * `data-game`, `data-room` and `data-spectate` (and in dev mode `data-dev`, `data-pending`), the
 * client bundle from `/parlor/client.js`, and {@link PLAY_SCRIPT_PATH}, which calls
 * `Parlor.start({ game, roomId, spectate, dev })` from them (no inline script: see {@link PAGE_CSP}).
 */
export function renderPlay(o: PlayPageOptions): string {
  return `<!doctype html>
<html lang="en" class="play"><head><meta charset="utf-8"><link rel="icon" href="data:,"><meta name="viewport" content="width=device-width,initial-scale=1,maximum-scale=1,user-scalable=no">
<title>${escapeHtml(str(o.title, 80, o.game))}${o.spectate ? ' (spectating)' : ''} · Parlor</title>
<link rel="stylesheet" href="${STYLE_PATH}">
</head><body class="play"><canvas id="parlor" tabindex="0" data-game="${escapeHtml(o.game)}" data-room="${escapeHtml(o.roomId)}" data-spectate="${o.spectate ? '1' : '0'}"${o.dev ? ' data-dev="1"' : ''}${o.dev && o.pending ? ' data-pending="1"' : ''}></canvas>
<script src="/parlor/client.js"></script>
<script src="${PLAY_SCRIPT_PATH}"></script>
</body></html>`;
}

/** A small HTML error page (404, 503…) with an optional action link (e.g. start that room) and a link back to the lobby. */
export function renderErrorPage(status: number, title: string, message: string, action?: { href: string; label: string }): string {
  const act = action ? `<a class="btn play" href="${escapeHtml(action.href)}">${escapeHtml(str(action.label, 100))}</a> ` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${status} ${escapeHtml(str(title, 200))} · Parlor</title><link rel="stylesheet" href="${STYLE_PATH}"></head>
<body><header><h1><span>▣</span> ${status} · ${escapeHtml(str(title, 200))}</h1><p>${escapeHtml(str(message, 1000))}</p></header>
<main><p>${act}<a class="btn" href="/">Back to the lobby</a></p></main></body></html>`;
}
