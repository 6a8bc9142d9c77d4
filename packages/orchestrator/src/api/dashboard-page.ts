/**
 * The dashboard's page and stylesheet (static: every datum is filled in by its script from the
 * API). The key field has no `name`, so no form submission can ever carry the key anywhere.
 */

/** The dashboard's HTML (no data, no inline script or style). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Parlor fleet</title>
<link rel="stylesheet" href="/dashboard/dashboard.css">
<script src="/dashboard/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <h1>Parlor <span>fleet</span></h1>
  <p id="conn" class="conn" role="status" aria-live="polite" data-state="signed-out">Signed out</p>
  <button id="signout" type="button" class="btn quiet" hidden>Sign out</button>
</header>

<section id="login" class="login" aria-labelledby="login-title">
  <h2 id="login-title">Sign in</h2>
  <form id="login-form" method="post" autocomplete="off" novalidate>
    <label for="key">Admin key</label>
    <input id="key" type="password" autocomplete="off" spellcheck="false" required aria-describedby="login-help login-error">
    <button type="submit" class="btn">Open dashboard</button>
    <p id="login-help" class="help">The key stays in this tab (session storage) and is sent only as an <code>Authorization</code> header to this orchestrator.</p>
    <p id="login-error" class="error" role="alert"></p>
  </form>
</section>

<main id="board" hidden>
  <p id="notice" class="notice" role="alert" hidden></p>
  <section aria-labelledby="totals-title">
    <h2 id="totals-title">Fleet</h2>
    <dl id="totals" class="totals">
      <div><dt>Instances</dt><dd id="t-instances">0</dd><dd class="sub" id="t-states"></dd></div>
      <div><dt>Rooms</dt><dd id="t-rooms">0</dd><dd class="sub" id="t-rooms-cap"></dd></div>
      <div><dt>Players</dt><dd id="t-players">0</dd><dd class="sub" id="t-players-cap"></dd></div>
      <div><dt>Last event</dt><dd id="t-event" class="mono">—</dd><dd class="sub" id="t-sync"></dd></div>
    </dl>
  </section>

  <section aria-labelledby="instances-title">
    <h2 id="instances-title">Instances</h2>
    <table id="instances" aria-labelledby="instances-title">
      <thead><tr>
        <th scope="col">Instance</th><th scope="col">Address</th><th scope="col">Labels</th><th scope="col">State</th>
        <th scope="col" class="num">Rooms</th><th scope="col" class="num">Players</th><th scope="col">Squish</th><th scope="col"><span class="sr">Actions</span></th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <p id="instances-empty" class="empty">No instance is connected.</p>
  </section>

  <section aria-labelledby="rooms-title">
    <h2 id="rooms-title">Rooms</h2>
    <table id="rooms" aria-labelledby="rooms-title">
      <thead><tr>
        <th scope="col">Room</th><th scope="col">Type</th><th scope="col">Version</th><th scope="col" class="num">Players</th>
        <th scope="col">Instance</th><th scope="col" class="num">Age</th><th scope="col"><span class="sr">Actions</span></th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <p id="rooms-empty" class="empty">No room is running.</p>
  </section>

  <section id="catalog" aria-labelledby="catalog-title" hidden>
    <h2 id="catalog-title">Games</h2>
    <table id="games" aria-labelledby="catalog-title">
      <thead><tr id="games-head"><th scope="col">Game</th><th scope="col">Listed</th><th scope="col">Access</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="games-empty" class="empty">No game is in the catalog.</p>
  </section>
</main>
</body>
</html>
`;

/** The dashboard's stylesheet. */
export const DASHBOARD_STYLE = `
:root{--bg:#f6f7f9;--card:#fff;--line:#d9dde3;--text:#1c2430;--muted:#5b6675;--accent:#0b6bcb;--ok:#1a7f37;--warn:#9a6700;--bad:#c62828}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--text)}
.top{display:flex;align-items:center;gap:16px;padding:14px 24px;background:var(--card);border-bottom:1px solid var(--line)}
.top h1{margin:0;font-size:20px}
.top h1 span{color:var(--accent)}
.conn{margin:0 0 0 auto;font-size:13px;padding:3px 10px;border-radius:999px;background:#eef0f3;color:var(--muted)}
.conn[data-state=live]{background:#dafbe1;color:var(--ok)}
.conn[data-state=connecting]{background:#fff8c5;color:var(--warn)}
.conn[data-state=error]{background:#ffebe9;color:var(--bad)}
main,.login{max-width:1280px;margin:0 auto;padding:8px 24px 40px}
h2{font-size:14px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted);margin:24px 0 8px}
.login form{display:flex;flex-wrap:wrap;align-items:center;gap:10px;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:18px;max-width:640px}
.login label{font-weight:600}
.login input{flex:1;min-width:240px;font:inherit;padding:6px 10px;border:1px solid var(--line);border-radius:6px}
.help{flex-basis:100%;margin:0;color:var(--muted);font-size:13px}
.error{flex-basis:100%;margin:0;color:var(--bad);font-weight:600}
.error:empty{display:none}
.notice{background:#ffebe9;color:var(--bad);border:1px solid #ffcecb;border-radius:6px;padding:8px 12px}
.btn{font:inherit;font-size:13px;font-weight:600;padding:4px 12px;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
.btn.quiet{background:transparent;color:var(--accent)}
.btn.danger{background:transparent;border-color:var(--bad);color:var(--bad)}
.btn[disabled]{opacity:.5;cursor:wait}
.totals{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px;margin:0}
.totals>div{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.totals dt{color:var(--muted);font-size:13px}
.totals dd{margin:0;font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}
.totals dd.sub{font-size:13px;font-weight:400;color:var(--muted)}
.totals dd.mono{font:600 14px/1.9 ui-monospace,SFMono-Regular,Menlo,monospace}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px}
th,td{text-align:left;padding:7px 12px;border-bottom:1px solid var(--line);vertical-align:baseline}
th{font-size:12px;color:var(--muted);font-weight:600;background:#fafbfc}
tbody tr:last-child td{border-bottom:0}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.actions{text-align:right;white-space:nowrap}
.mono,code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
.muted{color:var(--muted);font-size:13px}
.label{display:inline-block;margin:0 4px 2px 0;padding:0 6px;border-radius:4px;background:#eef0f3;font-size:12px}
.state{font-weight:600}
.state.active{color:var(--ok)}
.state.draining{color:var(--warn)}
.state.stale{color:var(--bad)}
.full{color:var(--bad);font-weight:600}
.empty{color:var(--muted);margin:0;padding:12px;border:1px dashed var(--line);border-radius:8px;background:var(--card)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
[hidden]{display:none!important}
`;
