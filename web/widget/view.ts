/** The widget's DOM: launcher, panel, message log, and the pieces a turn renders. */

import { agentName } from "../shared/api";
import { renderMarkdown } from "../shared/markdown";
import { CSS } from "./styles";

const CHAT_ICON =
  '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/></svg>';

const THUMB =
  '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round" aria-hidden="true"><path d="M7 11v10H3V11zl4-9a3 3 0 0 1 3 3v4h5a2 2 0 0 1 2 2.3l-1.3 8a2 2 0 0 1-2 1.7H7"/></svg>';

export type Score = "up" | "down";

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

export interface ViewOptions {
  title: string;
  onSend(text: string): void;
  onToggle(open: boolean): void;
}

export class View {
  readonly host: HTMLElement;
  readonly root: HTMLElement;
  readonly launcher: HTMLButtonElement;
  readonly panel: HTMLElement;
  readonly log: HTMLElement;
  readonly status: HTMLElement;
  readonly agentLine: HTMLElement;
  readonly input: HTMLTextAreaElement;
  readonly send: HTMLButtonElement;
  private readonly announcer: HTMLElement;
  private readonly empty: HTMLElement;

  constructor(private readonly options: ViewOptions) {
    this.host = h("div", { id: "switchboard-widget" });
    const shadow = this.host.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = CSS;
    this.launcher = h("button", {
      class: "sb-launcher",
      type: "button",
      "aria-expanded": "false",
      "aria-controls": "sb-panel",
    });
    // A static, trusted string: the icon is the only markup not built node by node.
    this.launcher.innerHTML = CHAT_ICON;
    this.launcher.append(h("span", { text: "Chat with us" }), h("span", { class: "sb-badge" }));

    this.agentLine = h("p", { text: "We usually answer in seconds." });
    const close = h("button", { class: "sb-close", type: "button", "aria-label": "Close chat", text: "×" });
    const header = h(
      "header",
      { class: "sb-header" },
      h("div", {}, h("h2", { id: "sb-title", text: options.title }), this.agentLine),
      close,
    );
    this.empty = h("p", { class: "sb-empty", text: "Ask about an order, a refund, a return or our policies." });
    this.log = h("div", { class: "sb-log", role: "region", "aria-label": "Conversation", tabindex: "0" }, this.empty);
    this.status = h("div", { class: "sb-status", role: "status", "aria-live": "polite" });
    this.announcer = h("div", { class: "sb-sr", "aria-live": "polite", "aria-atomic": "false" });
    this.input = h("textarea", {
      class: "sb-input",
      id: "sb-input",
      rows: "1",
      placeholder: "Type your message…",
      "aria-label": "Message",
      autocomplete: "off",
      maxlength: "4000",
    });
    this.send = h("button", { class: "sb-send", type: "submit", text: "Send" });
    const form = h("form", { class: "sb-form" }, this.input, this.send);
    this.panel = h(
      "section",
      { class: "sb-panel", id: "sb-panel", role: "dialog", "aria-labelledby": "sb-title" },
      header,
      this.log,
      this.status,
      form,
      this.announcer,
    );
    this.panel.hidden = true;
    this.root = h("div", { class: "sb-root" }, this.panel, this.launcher);
    shadow.append(style, this.root);

    this.launcher.addEventListener("click", () => this.setOpen(this.panel.hidden));
    close.addEventListener("click", () => this.setOpen(false));
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.setOpen(false);
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => this.autosize());
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (!text || this.send.disabled) return;
    this.input.value = "";
    this.autosize();
    this.options.onSend(text);
  }

  private autosize(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 120)}px`;
  }

  get isOpen(): boolean {
    return !this.panel.hidden;
  }

  setOpen(open: boolean, focus = true): void {
    this.panel.hidden = !open;
    this.root.dataset.open = String(open);
    this.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      this.launcher.dataset.unread = "false";
      this.scrollToEnd();
      if (focus) this.input.focus();
    } else if (focus) {
      this.launcher.focus();
    }
    this.options.onToggle(open);
  }

  markUnread(): void {
    if (!this.isOpen) this.launcher.dataset.unread = "true";
  }

  setBusy(busy: boolean): void {
    this.send.disabled = busy;
    this.send.textContent = busy ? "Sending…" : "Send";
  }

  setAgent(agent: string): void {
    this.agentLine.textContent = `You're chatting with ${agentName(agent)}`;
  }

  setStatus(text: string): void {
    this.status.textContent = text;
  }

  /** Tell screen readers about a new message or notice (the log itself is not live). */
  announce(text: string): void {
    const line = h("p", { text });
    this.announcer.append(line);
    while (this.announcer.childElementCount > 5) this.announcer.firstElementChild?.remove();
  }

  clearLog(): void {
    this.log.replaceChildren(this.empty);
  }

  append(node: Node, parent: HTMLElement = this.log): void {
    this.empty.remove();
    const stick = this.nearEnd();
    parent.append(node);
    if (stick) this.scrollToEnd();
  }

  private nearEnd(): boolean {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
  }

  scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }

  // --- Pieces -------------------------------------------------------------------

  userMessage(text: string): HTMLElement {
    return h("div", { class: "sb-msg sb-user" }, h("span", { class: "sb-sr", text: "You: " }), text);
  }

  assistantMessage(agent: string | null, content: string | null): AssistantBubble {
    const body = h("div", { class: "sb-body" });
    const node = h("div", { class: "sb-msg sb-assistant" }, h("span", { class: "sb-who", text: agentName(agent) }), body);
    const bubble = new AssistantBubble(node, body, agent);
    if (content !== null) bubble.finish(content);
    else node.classList.add("sb-streaming");
    return bubble;
  }

  notice(text: string, strong?: string): HTMLElement {
    const node = h("p", { class: "sb-notice" }, text);
    if (strong) {
      node.textContent = "";
      const [before, after] = text.split("{}");
      node.append(before, h("strong", { text: strong }), after ?? "");
    }
    return node;
  }

  toolLine(text: string): HTMLElement {
    return h("p", { class: "sb-tool", "data-status": "started", text });
  }

  typing(): HTMLElement {
    return h("div", { class: "sb-typing", "aria-hidden": "true" }, h("span"), h("span"), h("span"));
  }

  approvalCard(title: string, message: string, detail: string): HTMLElement {
    return h(
      "div",
      { class: "sb-card", "data-state": "pending" },
      h("h3", { text: title }),
      h("p", { class: "sb-card-message", text: message }),
      h("p", { class: "sb-detail", text: detail }),
    );
  }

  /**
   * Thumbs up / down under a reply. `send` posts the rating (and, after a thumbs
   * down, an optional comment) and rejects on failure; `rated` is a score sent
   * earlier. One rating per reply: the buttons stay focusable but inert after it.
   */
  feedback(send: (score: Score, comment?: string) => Promise<unknown>, rated?: Score): HTMLElement {
    const note = h("span", { class: "sb-fb-note", role: "status" });
    const row = h("div", { class: "sb-fb", role: "group", "aria-label": "Rate this reply" });
    const say = (text: string, error = false) => {
      note.textContent = text;
      note.classList.toggle("sb-fb-err", error);
    };
    const set = (score: Score | null | undefined) => {
      for (const b of buttons) {
        b.setAttribute("aria-pressed", String(b.dataset.score === score));
        b.setAttribute("aria-disabled", String(!!score));
      }
    };
    const rate = async (score: Score) => {
      if (buttons[0].getAttribute("aria-disabled") === "true") return;
      set(score);
      say("Sending…");
      try {
        await send(score);
      } catch {
        set(null);
        return say("Couldn't send your feedback. Please try again.", true);
      }
      say("Thanks for the feedback");
      if (score === "down") row.append(comment());
    };
    const comment = () => {
      const input = h("input", {
        type: "text",
        maxlength: "500",
        placeholder: "What went wrong? (optional)",
        "aria-label": "What went wrong? (optional)",
      });
      const form = h("form", { class: "sb-fb-form" }, input, h("button", { type: "submit", "aria-label": "Send comment", text: "Send" }));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const text = input.value.trim();
        const close = () => {
          form.remove();
          buttons[1].focus();
        };
        if (!text) return close();
        say("Sending…");
        try {
          await send("down", text);
        } catch {
          return say("Couldn't send your comment. Please try again.", true);
        }
        close();
        say("Thanks for the feedback");
      });
      queueMicrotask(() => {
        input.focus();
        if (this.nearEnd()) this.scrollToEnd();
      });
      return form;
    };
    const buttons = (["up", "down"] as const).map((score) => {
      const b = h("button", { type: "button", class: "sb-rate", "data-score": score, "aria-label": score === "up" ? "Helpful" : "Not helpful" });
      b.innerHTML = THUMB; // static, trusted markup
      b.addEventListener("click", () => void rate(score));
      return b;
    });
    set(rated);
    row.append(...buttons, note);
    return row;
  }

  errorBox(message: string, onRetry: (() => void) | null): HTMLElement {
    const box = h("div", { class: "sb-error", role: "alert" }, h("p", { text: message }));
    if (onRetry) {
      const retry = h("button", { type: "button", class: "sb-retry", text: "Retry" });
      retry.addEventListener("click", onRetry);
      box.append(retry);
    }
    return box;
  }
}

export class AssistantBubble {
  text = "";
  done = false;

  constructor(
    readonly node: HTMLElement,
    private readonly body: HTMLElement,
    readonly agent: string | null,
  ) {}

  /** Add streamed text, shown as plain text until the final message arrives. */
  add(delta: string): void {
    this.text += delta;
    this.body.textContent = this.text;
  }

  /** Show the final (guarded) content as safe Markdown. */
  finish(content: string): void {
    this.text = content;
    this.done = true;
    this.node.classList.remove("sb-streaming");
    this.body.replaceChildren(renderMarkdown(content));
  }
}
