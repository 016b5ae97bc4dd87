/**
 * The widget's CSS, scoped by its shadow root: host-page styles cannot reach
 * in and these cannot leak out. `:host { all: initial }` also stops inherited
 * properties (font, color, line-height) from the page.
 *
 * Colours meet WCAG AA: #1d4ed8 on white is 6.7:1, #4b5563 on white 7.6:1.
 */
export const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.sb-root {
  --sb-accent: #1d4ed8; --sb-accent-dark: #1e3a8a; --sb-text: #111827; --sb-muted: #4b5563;
  --sb-bg: #ffffff; --sb-soft: #f3f4f6; --sb-border: #d1d5db; --sb-danger: #b91c1c;
  --sb-ok: #15803d; --sb-warn-bg: #fffbeb; --sb-warn: #92400e;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--sb-text); position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  display: flex; flex-direction: column; align-items: flex-end; gap: 12px;
}
button { font: inherit; cursor: pointer; }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.sb-launcher {
  display: inline-flex; align-items: center; gap: 8px; border: 0; border-radius: 999px;
  padding: 12px 18px; background: var(--sb-accent); color: #fff; font-weight: 600;
  box-shadow: 0 6px 20px rgba(0,0,0,.2);
}
.sb-launcher:hover { background: var(--sb-accent-dark); }
.sb-launcher svg { width: 20px; height: 20px; }
.sb-badge { width: 10px; height: 10px; border-radius: 50%; background: #f59e0b; display: none; }
.sb-launcher[data-unread="true"] .sb-badge { display: inline-block; }
.sb-panel {
  width: 380px; height: min(620px, calc(100vh - 110px)); display: flex; flex-direction: column;
  background: var(--sb-bg); border: 1px solid var(--sb-border); border-radius: 14px;
  box-shadow: 0 12px 40px rgba(0,0,0,.22); overflow: hidden;
}
.sb-panel[hidden] { display: none; }
.sb-header {
  display: flex; align-items: center; gap: 10px; padding: 12px 14px;
  background: var(--sb-accent); color: #fff;
}
.sb-header h2 { margin: 0; font-size: 16px; line-height: 1.2; }
.sb-header p { margin: 2px 0 0; font-size: 13px; opacity: .95; }
.sb-header div { flex: 1; min-width: 0; }
.sb-close {
  border: 0; background: transparent; color: #fff; width: 36px; height: 36px;
  border-radius: 8px; font-size: 22px; line-height: 1;
}
.sb-close:hover { background: rgba(255,255,255,.15); }
.sb-log { flex: 1; overflow-y: auto; padding: 14px; display: flex; flex-direction: column; gap: 10px; }
.sb-empty { color: var(--sb-muted); text-align: center; margin: auto 12px; }
.sb-turn, .sb-out { display: flex; flex-direction: column; gap: 10px; }
.sb-msg { max-width: 88%; padding: 9px 12px; border-radius: 14px; overflow-wrap: anywhere; }
.sb-msg p { margin: 0 0 6px; } .sb-msg p:last-child { margin-bottom: 0; }
.sb-msg ul, .sb-msg ol { margin: 4px 0 6px; padding-left: 20px; }
.sb-msg code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; background: rgba(0,0,0,.06); padding: 1px 4px; border-radius: 4px; }
.sb-msg pre { white-space: pre-wrap; margin: 4px 0; }
.sb-msg a { color: var(--sb-accent-dark); }
.sb-user { align-self: flex-end; background: var(--sb-accent); color: #fff; white-space: pre-wrap; border-bottom-right-radius: 4px; }
.sb-assistant { align-self: flex-start; background: var(--sb-soft); border-bottom-left-radius: 4px; }
.sb-assistant.sb-streaming .sb-body { white-space: pre-wrap; }
.sb-who { display: block; font-size: 12px; font-weight: 700; color: var(--sb-muted); margin-bottom: 2px; }
.sb-source { font-size: 13px; color: var(--sb-muted); border-top: 1px solid var(--sb-border); padding-top: 6px; }
.sb-notice { align-self: center; font-size: 13px; color: var(--sb-muted); text-align: center; }
.sb-notice strong { color: var(--sb-text); }
.sb-tool { align-self: flex-start; font-size: 13px; color: var(--sb-muted); display: flex; align-items: center; gap: 6px; }
.sb-tool::before { content: ""; width: 10px; height: 10px; border-radius: 50%; border: 2px solid var(--sb-accent); border-right-color: transparent; animation: sb-spin .8s linear infinite; }
.sb-tool[data-status="completed"]::before { border-color: var(--sb-ok); animation: none; background: var(--sb-ok); }
.sb-tool[data-status="waiting"]::before { border-color: #b45309; animation: none; background: #f59e0b; }
.sb-tool[data-status="failed"]::before { border-color: var(--sb-danger); animation: none; }
@keyframes sb-spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .sb-tool::before, .sb-typing span { animation: none !important; } }
.sb-fb { align-self: flex-start; display: flex; flex-wrap: wrap; align-items: center; gap: 4px; margin-top: -6px; font-size: 13px; color: var(--sb-muted); }
.sb-rate { display: flex; padding: 5px; border: 1px solid transparent; border-radius: 8px; background: none; color: var(--sb-muted); }
.sb-rate svg { width: 16px; height: 16px; }
.sb-rate[data-score="down"] svg { transform: rotate(180deg); }
.sb-rate:hover { background: var(--sb-soft); }
.sb-rate[aria-pressed="true"] { color: var(--sb-accent); border-color: currentColor; background: #eff6ff; }
.sb-rate[aria-pressed="true"] path { fill: #bfdbfe; }
.sb-rate[aria-disabled="true"] { cursor: default; }
.sb-rate[aria-disabled="true"][aria-pressed="false"] { opacity: .45; }
.sb-fb-err { color: var(--sb-danger); }
.sb-fb-form { display: flex; gap: 6px; width: 100%; }
.sb-fb-form input { flex: 1; min-width: 0; font: inherit; color: var(--sb-text); border: 1px solid #6b7280; border-radius: 8px; padding: 5px 8px; }
.sb-fb-form button { border: 0; border-radius: 8px; padding: 5px 12px; background: var(--sb-accent); color: #fff; font-weight: 600; }
.sb-card { border: 1px solid #f59e0b; background: var(--sb-warn-bg); border-radius: 12px; padding: 10px 12px; font-size: 14px; }
.sb-card h3 { margin: 0 0 4px; font-size: 14px; color: var(--sb-warn); }
.sb-card p { margin: 0; }
.sb-card .sb-detail { margin-top: 6px; font-size: 13px; color: var(--sb-muted); }
.sb-card[data-state="decided"] { border-color: var(--sb-ok); background: #f0fdf4; }
.sb-card[data-state="decided"] h3 { color: var(--sb-ok); }
.sb-error { border: 1px solid #fca5a5; background: #fef2f2; color: var(--sb-danger); border-radius: 12px; padding: 10px 12px; font-size: 14px; }
.sb-error p { margin: 0 0 8px; }
.sb-error button, .sb-send {
  border: 0; border-radius: 10px; padding: 8px 14px; background: var(--sb-accent); color: #fff; font-weight: 600;
}
.sb-error button:hover, .sb-send:hover { background: var(--sb-accent-dark); }
.sb-typing { align-self: flex-start; display: flex; gap: 4px; padding: 12px; background: var(--sb-soft); border-radius: 14px; }
.sb-typing span { width: 7px; height: 7px; border-radius: 50%; background: #6b7280; animation: sb-blink 1.2s infinite; }
.sb-typing span:nth-child(2) { animation-delay: .2s; } .sb-typing span:nth-child(3) { animation-delay: .4s; }
@keyframes sb-blink { 50% { opacity: .25; } }
.sb-status { min-height: 0; padding: 0 14px; font-size: 13px; color: var(--sb-muted); }
.sb-status:not(:empty) { padding: 6px 14px; border-top: 1px solid var(--sb-soft); }
.sb-form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid var(--sb-border); align-items: flex-end; }
.sb-input {
  flex: 1; resize: none; font: inherit; color: var(--sb-text); background: #fff;
  border: 1px solid #6b7280; border-radius: 10px; padding: 8px 10px; max-height: 120px; min-height: 40px;
}
.sb-send { height: 40px; }
.sb-send:disabled { background: #6b7280; cursor: not-allowed; }
.sb-sr { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media (max-width: 480px) {
  .sb-root { right: 12px; bottom: 12px; left: 12px; align-items: flex-end; }
  .sb-root[data-open="true"] { inset: 0; }
  .sb-panel { width: 100%; height: 100%; border-radius: 0; border: 0; }
  .sb-root[data-open="true"] .sb-launcher { display: none; }
}
`;
