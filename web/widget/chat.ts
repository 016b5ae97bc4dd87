/**
 * The conversation: a thread kept per customer, turns streamed over SSE, and
 * recovery from reloads and dropped connections.
 *
 * Every message gets a `client_message_id` before it is sent and keeps it on
 * every retry, so the server runs the turn once and replays it to a client
 * that missed the end (issue 6). The id of a message not yet answered sits in
 * localStorage, so a reload in the middle of a turn re-attaches to it.
 */

import { Api, ApiError, agentName, apiError, randomId, randomUuid, tokenSubject } from "../shared/api";
import { followChanges } from "../shared/live";
import { readSse } from "../shared/sse";
import { AssistantBubble, type Score, View } from "./view";

interface HistoryMessage {
  id: string | null;
  role: "user" | "assistant";
  agent: string | null;
  content: string;
}

interface History {
  thread_id: string;
  active_agent: string;
  messages: HistoryMessage[];
}

interface PendingApproval {
  id: string;
  action: string;
  summary: string;
  /** Ids of the history's messages once the turn paused; an assistant message not among them is the decision's outcome. */
  known: string[] | null;
}

interface Saved {
  threadId: string | null;
  /** `threadId` was picked here and no message has created it on the server yet: the next one asks to. */
  newThread?: boolean;
  /** The message sent but not answered yet: re-sent with the same id after a reload. */
  pending: { id: string; content: string } | null;
  approval: PendingApproval | null;
  /** Replies rated here (message id → score), so a reload shows them rated. */
  rated?: Record<string, Score>;
}

class StreamCut extends Error {}

const POLL_MS = 2000;
/** While approval changes are pushed live, the history is still read this often. */
const LIVE_POLL_MS = 30_000;
const idOf = (message: HistoryMessage) => message.id ?? `${message.role}:${message.content}`;
const MAX_RECONNECTS = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Friendly text for tool activity; `{order}` is the order number the customer mentioned. */
const TOOL_TEXT: Record<string, [string, string]> = {
  get_order: ["Looking up order {order}…", "Looking up your order…"],
  list_orders: ["Looking up your orders…", ""],
  check_return_eligibility: ["Checking whether order {order} can be returned…", "Checking the return policy…"],
  create_return: ["Starting a return for order {order}…", "Starting your return…"],
  track_return: ["Tracking your return…", ""],
  cancel_order: ["Cancelling order {order}…", "Cancelling your order…"],
  list_invoices: ["Looking up your invoices…", ""],
  get_invoice: ["Looking up the invoice…", ""],
  payment_status: ["Checking payments on order {order}…", "Checking your payments…"],
  explain_charge: ["Checking the charges on order {order}…", "Checking your charges…"],
  request_refund: ["Preparing a refund for order {order}…", "Preparing your refund…"],
  search_knowledge_base: ["Searching the help center…", ""],
};

function toolText(name: string, context: string): string {
  const [withOrder, without] = TOOL_TEXT[name] ?? ["Working on it…", ""];
  const order = /(?:#|\border\s*(?:number|no\.?|nr)?\s*)(\d{3,})|\b(\d{4,})\b/i.exec(context);
  const number = order?.[1] ?? order?.[2];
  if (withOrder.includes("{order}")) {
    return number ? withOrder.replace("{order}", number) : without;
  }
  return withOrder;
}

function guardText(stage: string, action: string): string {
  const where = stage === "tool" ? " in data from our systems" : "";
  if (/block|refus|stop/i.test(action)) return `A safety check stopped part of this conversation${where}.`;
  if (/redact|mask|hid|remov/i.test(action)) return `A safety check hid some details${where}.`;
  return `A safety check was applied${where}.`;
}

/** One message of the customer's and everything the assistant did in reply. */
class Turn {
  readonly node: HTMLElement;
  readonly out: HTMLElement;
  private bubble: AssistantBubble | null = null;
  private typing: HTMLElement | null = null;
  private tools: HTMLElement[] = [];
  failed = false;
  interrupted = false;

  constructor(
    private readonly view: View,
    readonly id: string,
    readonly content: string,
  ) {
    this.out = document.createElement("div");
    this.out.className = "sb-out";
    this.node = document.createElement("div");
    this.node.className = "sb-turn";
    this.node.dataset.clientMessageId = id;
    this.node.append(view.userMessage(content), this.out);
  }

  hideUserMessage(): void {
    this.node.firstElementChild?.remove();
  }

  /** Forget what was rendered: the stream is about to start over (or be replayed). */
  reset(): void {
    this.out.replaceChildren();
    this.bubble = null;
    this.tools = [];
    this.failed = false;
    this.interrupted = false;
    this.typing = this.view.typing();
    this.out.append(this.typing);
  }

  private add(node: Node): void {
    this.view.append(node, this.out);
    if (this.typing) this.out.append(this.typing); // keep the indicator last
  }

  stopTyping(): void {
    this.typing?.remove();
    this.typing = null;
  }

  token(delta: string, agent: string): void {
    if (!this.bubble || this.bubble.done || this.bubble.agent !== agent) {
      this.bubble = this.view.assistantMessage(agent, null);
      this.add(this.bubble.node);
    }
    this.bubble.add(delta);
    this.view.setStatus("");
    this.view.scrollToEnd();
  }

  message(agent: string | null, content: string): AssistantBubble {
    if (this.bubble && !this.bubble.done && this.bubble.agent === agent) {
      this.bubble.finish(content);
    } else {
      this.bubble = this.view.assistantMessage(agent, content);
      this.add(this.bubble.node);
    }
    this.view.announce(`${agentName(agent)}: ${content}`);
    this.view.scrollToEnd();
    return this.bubble;
  }

  handoff(to: string): void {
    this.bubble = null;
    const text = `You're now with ${agentName(to)}`;
    this.add(this.view.notice("You're now with {}", agentName(to)));
    this.view.announce(text);
    this.view.setAgent(to);
  }

  tool(name: string, status: string): void {
    if (status === "started") {
      const text = toolText(name, this.content);
      const line = this.view.toolLine(text);
      line.dataset.tool = name;
      this.tools.push(line);
      this.add(line);
      this.view.setStatus(text);
      return;
    }
    const line = this.tools.find((l) => l.dataset.tool === name && l.dataset.status === "started");
    if (line) {
      line.dataset.status = status;
      line.textContent = status === "failed" ? "That didn't work; trying another way." : (line.textContent ?? "").replace(/…$/, "");
    }
    this.view.setStatus("");
  }

  /** Settle tool lines left running: the turn ended (or paused for an approval). */
  settleTools(status: "completed" | "waiting"): void {
    for (const line of this.tools) {
      if (line.dataset.status !== "started") continue;
      line.dataset.status = status;
      line.textContent = (line.textContent ?? "").replace(/…$/, "");
    }
  }

  guard(stage: string, action: string): void {
    const text = guardText(stage, action);
    this.add(this.view.notice(text));
    this.view.announce(text);
  }

  error(message: string, onRetry: (() => void) | null): void {
    this.failed = true;
    this.stopTyping();
    const box = this.view.errorBox(message, onRetry);
    this.view.append(box, this.out);
    this.view.announce(message);
  }
}

export interface ChatOptions {
  url: string;
  token: string;
  title?: string;
  open?: boolean;
}

export class Chat {
  readonly view: View;
  private readonly api: Api;
  private readonly key: string;
  private saved: Saved;
  private busy = false;
  private pollTimer: number | null = null;
  /** The push of this conversation's approval changes, while a decision is awaited. */
  private changes: AbortController | null = null;
  private live = false;
  private lastPoll = 0;
  private card: HTMLElement | null = null;
  private destroyed = false;
  private wake: (() => void) | null = null;

  constructor(options: ChatOptions) {
    this.api = new Api(options.url, options.token);
    const subject = tokenSubject(options.token) ?? "anonymous";
    this.key = `switchboard:v1:${this.api.url("")}:${subject}`;
    this.saved = this.load();
    this.view = new View({
      title: options.title ?? "Support",
      onSend: (text) => void this.send(text),
      onToggle: (open) => sessionStorage.setItem(`${this.key}:open`, open ? "1" : ""),
    });
    document.body.append(this.view.host);
    const open = options.open ?? sessionStorage.getItem(`${this.key}:open`) === "1";
    if (open) this.view.setOpen(true, false);
    window.addEventListener("online", this.onOnline);
    void this.start();
  }

  destroy(): void {
    this.destroyed = true;
    this.stopPolling();
    window.removeEventListener("online", this.onOnline);
    this.view.host.remove();
  }

  private onOnline = (): void => this.wake?.();

  // --- Persistence --------------------------------------------------------------

  private load(): Saved {
    try {
      const raw = localStorage.getItem(this.key);
      if (raw) return { threadId: null, pending: null, approval: null, ...JSON.parse(raw) };
    } catch {
      // Unreadable or blocked storage: start fresh.
    }
    return { threadId: null, pending: null, approval: null };
  }

  private save(): void {
    try {
      localStorage.setItem(this.key, JSON.stringify(this.saved));
    } catch {
      // Private mode or full storage: the conversation still works, it just won't survive a reload.
    }
  }

  // --- Start-up and history -----------------------------------------------------

  private async start(): Promise<void> {
    let history: History | null = null;
    if (this.saved.threadId && !this.saved.newThread) {
      history = await this.loadHistory();
      if (!history && this.saved.threadId) return;
    }
    if (this.saved.pending) {
      const { id, content } = this.saved.pending;
      const turn = new Turn(this.view, id, content);
      // The server may have stored the message before the page went away.
      const users = history?.messages.filter((m) => m.role === "user") ?? [];
      if (users.at(-1)?.content === content) turn.hideUserMessage();
      await this.run(turn, true);
    } else if (this.saved.approval) {
      const known = new Set(this.saved.approval.known ?? []);
      const decided = this.saved.approval.known !== null && history?.messages.some((m) => m.role === "assistant" && !known.has(idOf(m)));
      if (decided) {
        this.saved.approval = null;
        this.save();
      } else {
        this.showApproval(this.view.log);
      }
    }
  }

  private async fetchHistory(): Promise<History | null> {
    if (!this.saved.threadId || this.saved.newThread) return null;
    try {
      return await this.api.request<History>("GET", `/v1/threads/${encodeURIComponent(this.saved.threadId)}/messages`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.saved = { threadId: null, pending: null, approval: null };
        this.save();
      } else if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        this.fatal(error.message);
      }
      return null;
    }
  }

  /** Replace the log with the server's history (the source of truth). */
  private async loadHistory(): Promise<History | null> {
    const history = await this.fetchHistory();
    if (!history) return null;
    this.view.clearLog();
    for (const message of history.messages) this.renderHistoryMessage(message);
    this.view.setAgent(history.active_agent);
    this.view.scrollToEnd();
    return history;
  }

  private renderHistoryMessage(message: HistoryMessage): void {
    if (message.role === "user") return this.view.append(this.view.userMessage(message.content));
    const node = this.view.assistantMessage(message.agent, message.content).node;
    this.view.append(node);
    this.rateable(node, message.id);
  }

  // --- Feedback -----------------------------------------------------------------

  /** Put thumbs up / down under a stored reply (`note-…` ids are approval notes, not replies). */
  private rateable(node: HTMLElement, id: unknown): void {
    const thread = this.saved.threadId;
    if (typeof id !== "string" || !id || id.startsWith("note-") || !thread) return;
    const row = this.view.feedback(async (score, comment) => {
      await this.api.request("POST", `/v1/threads/${encodeURIComponent(thread)}/feedback`, { message_id: id, score, comment });
      const rated = (this.saved.rated ??= {});
      delete rated[id];
      rated[id] = score;
      for (const old of Object.keys(rated).slice(0, -100)) delete rated[old];
      this.save();
    }, this.saved.rated?.[id]);
    node.after(row);
  }

  private fatal(message: string): void {
    this.view.append(this.view.errorBox(message, null));
    this.view.setBusy(true);
  }

  // --- Sending ------------------------------------------------------------------

  async send(content: string): Promise<void> {
    if (this.busy) return;
    const turn = new Turn(this.view, randomId(), content);
    this.saved.pending = { id: turn.id, content };
    this.save();
    this.view.append(turn.node);
    this.view.scrollToEnd();
    await this.run(turn, false);
  }

  private retry(turn: Turn): void {
    if (this.busy) return;
    this.saved.pending = { id: turn.id, content: turn.content };
    this.save();
    void this.run(turn, false).then(() => this.view.input.focus());
  }

  /** The conversation's id; a new one is picked here and created by its first message. */
  private ensureThread(): string {
    if (this.saved.threadId) return this.saved.threadId;
    this.saved.threadId = randomUuid();
    this.saved.newThread = true;
    this.save();
    return this.saved.threadId;
  }

  /**
   * Stream `turn`'s reply, reconnecting with the same id until it ends.
   *
   * `recovering` is a turn re-sent after a reload: its user message may
   * already be in the history, so the history is reloaded when it ends.
   */
  private async run(turn: Turn, recovering: boolean): Promise<void> {
    this.busy = true;
    this.view.setBusy(true);
    if (recovering) this.view.append(turn.node);
    let failures = 0;
    let recreated = false;
    try {
      for (;;) {
        turn.reset();
        try {
          const threadId = this.ensureThread();
          const create = this.saved.newThread ? { create_thread: true } : {};
          const response = await fetch(this.api.url(`/v1/threads/${encodeURIComponent(threadId)}/messages`), {
            method: "POST",
            headers: this.api.headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
            body: JSON.stringify({ content: turn.content, client_message_id: turn.id, ...create }),
          });
          if (response.status === 409) {
            // Still being answered (we lost the stream) or another turn is running: wait, ask again.
            const error = await apiError(response);
            this.view.setStatus("Still working on your message…");
            await sleep((error.retryAfter ?? 1.5) * 1000);
            continue;
          }
          if (response.status === 404 && !recreated) {
            // Gone, or (a new id) someone else's: start over with a new id.
            recreated = true;
            this.saved.threadId = null;
            this.saved.newThread = false;
            continue;
          }
          if (!response.ok || !response.body) throw await apiError(response);
          if (this.saved.newThread) {
            this.saved.newThread = false;
            this.save();
          }
          this.view.setStatus("");
          await this.consume(turn, response.body);
          break;
        } catch (error) {
          if (error instanceof ApiError && error.status < 500 && error.status !== 429) {
            this.saved.pending = null;
            const retry = error.status === 401 || error.status === 403 || error.status === 422 ? null : () => this.retry(turn);
            turn.error(error.message, retry);
            break;
          }
          failures++;
          if (failures > MAX_RECONNECTS) {
            turn.error("We couldn't reach support. Check your connection and try again.", () => this.retry(turn));
            break;
          }
          this.view.setStatus(navigator.onLine ? "Connection lost. Reconnecting…" : "You're offline. We'll reconnect when you're back.");
          await this.pause(Math.min(500 * 2 ** failures, 8000));
        }
      }
    } finally {
      turn.settleTools(turn.interrupted ? "waiting" : "completed");
      turn.stopTyping();
      this.view.setStatus("");
      this.busy = false;
      if (!this.destroyed) this.view.setBusy(false);
    }
    if (!turn.failed) this.saved.pending = null;
    this.save();
    if (recovering && !turn.failed) {
      await this.loadHistory();
      if (this.saved.approval) this.showApproval(this.view.log);
    }
    if (turn.interrupted) {
      this.showApproval(turn.out);
      await this.baseline();
    } else if (this.saved.approval && !recovering) {
      await this.baseline();
    }
  }

  /** Wait `ms`, or less when the browser comes back online. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, navigator.onLine ? ms : 60_000);
      this.wake = done;
    });
  }

  private async consume(turn: Turn, body: ReadableStream<Uint8Array>): Promise<void> {
    for await (const frame of readSse(body)) {
      let data: any;
      try {
        data = JSON.parse(frame.data);
      } catch {
        continue;
      }
      switch (frame.event) {
        case "token":
          turn.stopTyping();
          turn.token(String(data.delta ?? ""), String(data.agent ?? "triage"));
          break;
        case "handoff":
          turn.handoff(String(data.to));
          break;
        case "tool":
          turn.tool(String(data.name), String(data.status));
          break;
        case "guard":
          turn.guard(String(data.stage), String(data.action));
          break;
        case "message":
          if (data.role === "assistant") {
            turn.stopTyping();
            this.rateable(turn.message(data.agent ?? null, String(data.content ?? "")).node, data.id);
            this.view.scrollToEnd();
          }
          break;
        case "interrupt":
          turn.interrupted = true;
          this.saved.approval = {
            id: String(data.approval_id),
            action: String(data.action ?? ""),
            summary: String(data.summary ?? ""),
            known: null,
          };
          this.save();
          break;
        case "error":
          turn.error(String(data.message ?? "Something went wrong."), () => this.retry(turn));
          break;
        case "done":
          return;
      }
    }
    throw new StreamCut("the stream ended before its done event");
  }

  // --- Approvals ----------------------------------------------------------------

  private showApproval(parent: HTMLElement): void {
    const approval = this.saved.approval;
    if (!approval) return;
    this.card?.remove();
    const refund = /refund/i.test(approval.action);
    this.card = this.view.approvalCard(
      "Waiting for approval",
      refund
        ? "A member of our team is reviewing your refund. The decision will appear here; you can keep this page open or come back later."
        : "A member of our team is reviewing this request. The decision will appear here.",
      approval.summary,
    );
    this.card.dataset.approvalId = approval.id;
    this.card.dataset.live = String(this.live);
    this.view.append(this.card, parent);
    this.view.announce("Your request is waiting for a team member's approval.");
    this.startPolling();
  }

  /** Note the history's messages now; later assistant messages are the decision's outcome. */
  private async baseline(): Promise<void> {
    this.lastPoll = Date.now();
    const history = await this.fetchHistory();
    if (history && this.saved.approval) {
      this.saved.approval.known = history.messages.map(idOf);
      this.save();
    }
  }

  /**
   * Watch for the decision: the server pushes this conversation's approval changes
   * (`GET /v1/threads/{id}/events`) and each one reads the history. While the push
   * is not live the history is read every 2 s; while it is, every 30 s in case.
   */
  private startPolling(): void {
    if (this.pollTimer !== null) return;
    this.pollTimer = window.setInterval(() => {
      if (!this.live || Date.now() - this.lastPoll >= LIVE_POLL_MS) void this.poll();
    }, POLL_MS);
    if (this.saved.threadId && !this.changes) {
      this.changes = followChanges(this.api, `/v1/threads/${encodeURIComponent(this.saved.threadId)}/events`, {
        onChange: () => this.poll(),
        onLive: (live) => this.setLive(live),
      });
    }
  }

  private stopPolling(): void {
    if (this.pollTimer !== null) window.clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.changes?.abort();
    this.changes = null;
    this.setLive(false);
  }

  private setLive(live: boolean): void {
    this.live = live;
    if (this.card) this.card.dataset.live = String(live);
  }

  private async poll(): Promise<void> {
    const approval = this.saved.approval;
    if (!approval) return this.stopPolling();
    if (this.busy || approval.known === null) return;
    this.lastPoll = Date.now();
    const history = await this.fetchHistory();
    if (!history || !this.saved.approval || this.busy) return;
    const known = new Set(approval.known);
    const fresh = history.messages.filter((m) => m.role === "assistant" && !known.has(idOf(m)));
    if (!fresh.length) return;
    this.stopPolling();
    this.saved.approval = null;
    this.save();
    if (this.card) {
      this.card.dataset.state = "decided";
      this.card.querySelector("h3")!.textContent = "Reviewed by our team";
      this.card.querySelector(".sb-card-message")!.textContent = "A team member has decided on your request:";
    }
    for (const message of fresh) {
      const node = this.view.assistantMessage(message.agent, message.content).node;
      this.view.append(node);
      this.rateable(node, message.id);
      this.view.announce(`${agentName(message.agent)}: ${message.content}`);
    }
    this.view.setAgent(history.active_agent);
    this.view.markUnread();
    this.view.scrollToEnd();
  }
}
