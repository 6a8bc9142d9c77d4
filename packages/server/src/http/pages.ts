/** A game as listed in the lobby and `/parlor/api/games`. */
export interface GameInfo {
  /** Route name. */
  name: string;
  /** Display title (`metadata().name`). */
  title: string;
  description: string;
  maxPlayers: number;
  tickRate: number;
  aspectRatio: { x: number; y: number };
}

/** A live session as listed in the lobby and `/parlor/api/sessions`. */
export interface SessionInfo {
  id: string;
  /** Game route name. */
  game: string;
  /** Game display title. */
  title: string;
  /** Players, including those within their reconnect grace period. */
  players: number;
  /** Players connected right now. */
  connectedPlayers: number;
  spectators: number;
  maxPlayers: number;
  /** Creation time, ms since the epoch. */
  createdAt: number;
}

/** Escapes text for HTML element content and quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON for inline `<script>`: `<`, `>`, `&` and line separators escaped so it cannot close the tag. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
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
`;

function sessionRows(sessions: readonly SessionInfo[]): string {
  if (sessions.length === 0) return '<p class="empty" id="no-sessions">No live sessions yet: press Play on a game to start one.</p>';
  const rows = sessions
    .map((s) => {
      const base = `/play/${encodeURIComponent(s.game)}/${encodeURIComponent(s.id)}`;
      const full = s.players >= s.maxPlayers;
      return `<tr data-session="${escapeHtml(s.id)}"><td>${escapeHtml(s.title)}</td><td><code>${escapeHtml(s.id)}</code></td>` +
        `<td class="players">${s.players} / ${s.maxPlayers} players</td><td class="spectators">${s.spectators} spectator${s.spectators === 1 ? '' : 's'}</td>` +
        `<td class="actions">${full ? '' : `<a class="btn play" href="${base}">Play</a>`}<a class="btn spec" href="${base}?spectate=1">Spectate</a></td></tr>`;
    })
    .join('');
  return `<table id="sessions"><thead><tr><th>Game</th><th>Session</th><th>Players</th><th>Spectators</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * The lobby page (`GET /`): every game with Play / Spectate links and every live session. With
 * `opts.fleet` each game also gets a "New room (fleet)" button that POSTs `{ game }` to
 * `/parlor/api/fleet/rooms` and opens the returned `joinUrl` (the room may be on another server).
 */
export function renderLobby(games: readonly GameInfo[], sessions: readonly SessionInfo[], opts: { fleet?: boolean } = {}): string {
  const cards = games.length
    ? games
        .map((g) => {
          const href = `/play/${encodeURIComponent(g.name)}`;
          return `<div class="game" data-game="${escapeHtml(g.name)}"><h3>${escapeHtml(g.title)}</h3>` +
            `<p>${escapeHtml(g.description || 'No description.')}</p>` +
            `<div class="meta">up to ${g.maxPlayers} player${g.maxPlayers === 1 ? '' : 's'} · ${g.tickRate} Hz · <code>/play/${escapeHtml(g.name)}</code></div>` +
            `<div><a class="btn play" href="${href}">Play</a>` +
            (opts.fleet ? `<button type="button" class="btn fleet" data-fleet-game="${escapeHtml(g.name)}">New room (fleet)</button>` : '') +
            `</div></div>`;
        })
        .join('')
    : '<p class="empty">No games loaded.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Parlor</title><style>${STYLE}</style></head>
<body><header><h1><span>▣</span> Parlor</h1><p>Server-authoritative multiplayer games. Open a game in two tabs to play together.</p></header>
<main><h2>Games</h2><div class="games">${cards}</div>
<h2>Live sessions</h2><div id="live">${sessionRows(sessions)}</div></main>
<footer>Parlor · <a href="/parlor/api/sessions" style="color:inherit">sessions JSON</a> · <a href="/metrics" style="color:inherit">metrics</a></footer>
<script>
(function(){
  function esc(s){return String(s).replace(/[&<>"']/g,function(c){return{'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];});}
  function render(list){
    var live=document.getElementById('live');
    if(!list.length){live.innerHTML='<p class="empty" id="no-sessions">No live sessions yet: press Play on a game to start one.</p>';return;}
    var h='<table id="sessions"><thead><tr><th>Game</th><th>Session</th><th>Players</th><th>Spectators</th><th></th></tr></thead><tbody>';
    list.forEach(function(s){
      var base='/play/'+encodeURIComponent(s.game)+'/'+encodeURIComponent(s.id);
      h+='<tr data-session="'+esc(s.id)+'"><td>'+esc(s.title)+'</td><td><code>'+esc(s.id)+'</code></td><td class="players">'+s.players+' / '+s.maxPlayers+' players</td><td class="spectators">'+s.spectators+' spectator'+(s.spectators===1?'':'s')+'</td><td class="actions">'+(s.players>=s.maxPlayers?'':'<a class="btn play" href="'+base+'">Play</a>')+'<a class="btn spec" href="'+base+'?spectate=1">Spectate</a></td></tr>';
    });
    live.innerHTML=h+'</tbody></table>';
  }
  Array.prototype.forEach.call(document.querySelectorAll('button[data-fleet-game]'),function(b){
    b.addEventListener('click',function(){
      var card=b.parentNode,err=card.querySelector('.fleet-error');
      if(err)err.remove();
      b.disabled=true;
      fetch('/parlor/api/fleet/rooms',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({game:b.getAttribute('data-fleet-game')})})
        .then(function(r){return r.json().then(function(j){if(!r.ok||!/^https?:/.test(j.joinUrl||''))throw new Error(j.message||('HTTP '+r.status));location.assign(j.joinUrl);});})
        .catch(function(e){b.disabled=false;var p=document.createElement('div');p.className='fleet-error';p.textContent='Fleet: '+e.message;card.appendChild(p);});
    });
  });
  setInterval(function(){
    fetch('/parlor/api/sessions').then(function(r){return r.json();}).then(function(j){render(j.sessions||[]);}).catch(function(){});
  },3000);
})();
</script></body></html>`;
}

/** Options of the play page. */
export interface PlayPageOptions {
  game: string;
  title: string;
  /** `''` = join any open session. */
  sessionId: string;
  spectate: boolean;
}

/**
 * The play page (`GET /play/:game[/:sessionId]`): a full-window `<canvas id="parlor">`, the client
 * bundle from `/parlor/client.js`, and `Parlor.start({ game, sessionId, spectate })`.
 */
export function renderPlay(o: PlayPageOptions): string {
  const start = `{ game: ${scriptJson(o.game)}, sessionId: ${scriptJson(o.sessionId)}, spectate: ${o.spectate ? 'true' : 'false'} }`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><meta name="viewport" content="width=device-width,initial-scale=1,maximum-scale=1,user-scalable=no">
<title>${escapeHtml(o.title)}${o.spectate ? ' (spectating)' : ''} · Parlor</title>
<style>html,body{margin:0;height:100%;overflow:hidden;background:#000}canvas#parlor{display:block;width:100vw;height:100vh;touch-action:none;outline:none}</style>
</head><body><canvas id="parlor" tabindex="0"></canvas>
<script src="/parlor/client.js"></script>
<script>Parlor.start(${start})</script>
</body></html>`;
}

/** A small HTML error page (404, 503…) with a link back to the lobby. */
export function renderErrorPage(status: number, title: string, message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${status} ${escapeHtml(title)} · Parlor</title><style>${STYLE}</style></head>
<body><header><h1><span>▣</span> ${status} · ${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></header>
<main><p><a class="btn play" href="/">Back to the lobby</a></p></main></body></html>`;
}
