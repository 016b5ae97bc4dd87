/**
 * Switchboard's embeddable chat widget.
 *
 *   <script src="https://support.example.com/widget.js"
 *           data-switchboard-url="https://support.example.com"
 *           data-token="<customer token minted by your server>" async></script>
 *
 * Without `data-token`, call `Switchboard.init({ url, token })` once your page
 * has a token (listen for the `switchboard:ready` event when loading async).
 */

import { Chat, type ChatOptions } from "./chat";

const script = document.currentScript as HTMLScriptElement | null;
let chat: Chat | null = null;

function defaultUrl(): string {
  const attribute = script?.dataset.switchboardUrl;
  if (attribute) return attribute;
  return script?.src ? new URL(script.src, location.href).origin : location.origin;
}

export interface InitOptions extends Partial<ChatOptions> {
  token: string;
}

function init(options: InitOptions): void {
  chat?.destroy();
  const start = () => {
    chat = new Chat({
      url: options.url ?? defaultUrl(),
      token: options.token,
      title: options.title ?? script?.dataset.title,
      open: options.open,
    });
  };
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
}

const Switchboard = {
  init,
  open: () => chat?.view.setOpen(true),
  close: () => chat?.view.setOpen(false),
  destroy: () => {
    chat?.destroy();
    chat = null;
  },
};

declare global {
  interface Window {
    Switchboard: typeof Switchboard;
  }
}

window.Switchboard = Switchboard;
if (script?.dataset.token) init({ token: script.dataset.token });
window.dispatchEvent(new Event("switchboard:ready"));
