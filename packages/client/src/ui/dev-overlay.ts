/**
 * The dev overlay (`parlor dev` only): a panel over the top of the page listing a game's
 * diagnostics (kind, message, file:line:column, the code frame in monospace), errors in red and
 * warnings in amber, and a note (e.g. "the room stopped… this tab reloads when the fix builds").
 * A panel showing only warnings can be dismissed until the next change. DOM only: what to show
 * comes from `dev-mode.ts`.
 */
import type { DevDiagnostic } from '../net/dev-events.js';

const PANEL_STYLE = [
  'position:fixed',
  'left:0',
  'right:0',
  'top:0',
  'z-index:2147483000',
  'max-height:70vh',
  'overflow:auto',
  'margin:0',
  'padding:12px 16px',
  'background:rgba(15,23,42,0.96)',
  'color:#e2e8f0',
  'font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif',
  'box-shadow:0 4px 18px rgba(0,0,0,0.5)',
  'pointer-events:auto',
  'text-align:left',
].join(';');
const ERROR_COLOR = '#f87171';
const WARNING_COLOR = '#fbbf24';
const MONO = 'ui-monospace,SFMono-Regular,Menlo,Consolas,monospace';

/** What the dev overlay shows. */
export interface DevOverlayContent {
  /** The game's diagnostics, errors first. */
  diagnostics: readonly DevDiagnostic[];
  /** A line about the page itself (the room stopped, waiting for a build…); `''` for none. */
  note: string;
}

/** `file:line:column` of a diagnostic (as much as is known), or `''`. */
export function diagnosticLocation(d: DevDiagnostic): string {
  if (!d.file) return '';
  return d.line ? `${d.file}:${d.line}${d.column ? `:${d.column}` : ''}` : d.file;
}

/** The dev overlay's panel (see the module comment). Hidden while there is nothing to show. */
export class DevOverlay {
  /** The panel element (`.parlor-dev-overlay`, `data-severity` `error` | `warning` | `note`). */
  readonly element: HTMLDivElement;
  private content: DevOverlayContent = { diagnostics: [], note: '' };
  private dismissed = false;

  constructor(private readonly doc: Document = document) {
    this.element = doc.createElement('div');
    this.element.className = 'parlor-dev-overlay';
    this.element.setAttribute('role', 'alert');
    this.element.style.cssText = PANEL_STYLE;
    this.element.style.display = 'none';
    (doc.body ?? doc.documentElement).append(this.element);
  }

  /** Whether the panel is on screen. */
  get visible(): boolean {
    return this.element.style.display !== 'none';
  }

  /** Shows `content` (a dismissed panel comes back when the content differs). */
  show(content: DevOverlayContent): void {
    const same = content.note === this.content.note && sameDiagnostics(content.diagnostics, this.content.diagnostics);
    this.content = { diagnostics: [...content.diagnostics], note: content.note };
    if (!same) this.dismissed = false;
    this.render();
  }

  /** Hides the panel until a warning-only panel is shown again; only a panel without errors can be dismissed. */
  dismiss(): void {
    if (this.hasErrors()) return;
    this.dismissed = true;
    this.render();
  }

  /** Removes the panel from the page. */
  destroy(): void {
    this.element.remove();
  }

  private hasErrors(): boolean {
    return this.content.diagnostics.some((d) => d.severity === 'error');
  }

  private render(): void {
    const { diagnostics, note } = this.content;
    const el = this.element;
    el.textContent = '';
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = diagnostics.length - errors;
    if ((diagnostics.length === 0 && note === '') || this.dismissed) {
      el.style.display = 'none';
      return;
    }
    el.dataset.severity = errors ? 'error' : warnings ? 'warning' : 'note';
    el.style.display = 'block';
    el.style.borderTop = `4px solid ${errors ? ERROR_COLOR : warnings ? WARNING_COLOR : '#94a3b8'}`;

    const head = this.doc.createElement('div');
    head.style.cssText = 'display:flex;align-items:center;gap:12px;margin-bottom:6px';
    const title = this.doc.createElement('strong');
    title.className = 'parlor-dev-title';
    title.textContent = errors
      ? `${errors} error${errors === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}`
      : warnings
        ? `${warnings} warning${warnings === 1 ? '' : 's'}`
        : 'parlor dev';
    title.style.cssText = 'flex:1;font-size:15px';
    head.append(title);
    if (!errors) {
      const close = this.doc.createElement('button');
      close.type = 'button';
      close.className = 'parlor-dev-dismiss';
      close.textContent = 'Dismiss';
      close.setAttribute('aria-label', 'Dismiss the warnings');
      close.style.cssText = 'font:inherit;font-size:13px;padding:2px 10px;border-radius:6px;border:1px solid #475569;background:transparent;color:inherit;cursor:pointer';
      close.addEventListener('click', () => this.dismiss());
      head.append(close);
    }
    el.append(head);

    if (note) {
      const p = this.doc.createElement('div');
      p.className = 'parlor-dev-note';
      p.textContent = note;
      p.style.cssText = 'margin:4px 0 8px;color:#cbd5e1';
      el.append(p);
    }
    for (const d of diagnostics) el.append(this.item(d));
  }

  private item(d: DevDiagnostic): HTMLElement {
    const color = d.severity === 'error' ? ERROR_COLOR : WARNING_COLOR;
    const box = this.doc.createElement('div');
    box.className = 'parlor-dev-diagnostic';
    box.dataset.severity = d.severity;
    box.dataset.kind = d.kind;
    box.style.cssText = `margin:8px 0;padding:6px 10px;border-left:3px solid ${color};background:rgba(255,255,255,0.04)`;
    const line = this.doc.createElement('div');
    const badge = this.doc.createElement('span');
    badge.className = 'parlor-dev-kind';
    badge.textContent = `${d.severity} [${d.kind}]`;
    badge.style.cssText = `color:${color};font-weight:600;margin-right:8px`;
    const message = this.doc.createElement('span');
    message.className = 'parlor-dev-message';
    message.textContent = d.message;
    line.append(badge, message);
    box.append(line);
    const where = diagnosticLocation(d);
    if (where) {
      const loc = this.doc.createElement('div');
      loc.className = 'parlor-dev-location';
      loc.textContent = where;
      loc.style.cssText = `font-family:${MONO};font-size:13px;color:#93c5fd;margin-top:2px;word-break:break-all`;
      box.append(loc);
    }
    if (d.codeFrame) {
      const pre = this.doc.createElement('pre');
      pre.className = 'parlor-dev-frame';
      pre.textContent = d.codeFrame;
      pre.style.cssText = `font-family:${MONO};font-size:13px;line-height:1.4;margin:6px 0 0;padding:8px;background:rgba(0,0,0,0.35);border-radius:4px;overflow:auto;white-space:pre`;
      box.append(pre);
    }
    return box;
  }
}

function sameDiagnostics(a: readonly DevDiagnostic[], b: readonly DevDiagnostic[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((d, i) => {
    const e = b[i];
    return d.kind === e.kind && d.severity === e.severity && d.message === e.message && d.file === e.file && d.line === e.line && d.column === e.column;
  });
}
