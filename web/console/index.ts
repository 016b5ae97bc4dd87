/**
 * The staff approval console (`/staff`): sign in with a staff token, watch
 * the pending approvals, and approve, edit or reject them.
 *
 * Everything on screen is built with `textContent` or the safe Markdown
 * renderer: approvals quote customers and models, so none of it is HTML.
 */

import { Api, ApiError, agentName, tokenSubject } from "../shared/api";
import { renderMarkdown } from "../shared/markdown";
import { followChanges } from "../shared/live";

type Status = "pending" | "approved" | "rejected" | "expired";

interface ConversationMessage {
  role: string;
  agent?: string | null;
  content: string;
}

interface Approval {
  approval_id: string;
  thread_id?: string;
  customer_id: string;
  customer_name?: string | null;
  action: string;
  args: Record<string, unknown>;
  summary: string;
  status: Status;
  created_at: string;
  expires_at?: string;
  decided_at?: string | null;
  decided_by?: string | null;
  decision?: { decision?: string; args?: Record<string, unknown> } | string | null;
  reason?: string | null;
  outcome?: Record<string, unknown> | null;
  policy?: string | null;
  policy_reason?: string | null;
  messages?: ConversationMessage[];
  conversation?: ConversationMessage[] | { messages?: ConversationMessage[] };
}

const POLL_MS = 2000;
/** While approval changes are pushed live, the lists are still reloaded this often. */
const LIVE_POLL_MS = 30_000;
const TOKEN_KEY = "switchboard:staff-token";
const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string> = {},
  ...children: (Node | string | null)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null) node.append(child);
  return node;
}

function listOf(body: unknown): Approval[] {
  if (Array.isArray(body)) return body as Approval[];
  const object = body as Record<string, unknown>;
  for (const key of ["approvals", "items", "data", "results"]) {
    if (Array.isArray(object?.[key])) return object[key] as Approval[];
  }
  return [];
}

function conversationOf(approval: Approval): ConversationMessage[] {
  if (Array.isArray(approval.messages)) return approval.messages;
  const c = approval.conversation;
  if (Array.isArray(c)) return c;
  if (c && Array.isArray(c.messages)) return c.messages;
  return [];
}

function actionName(action: string): string {
  if (/refund/i.test(action)) return "Refund";
  return action.replace(/[_.]/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

function amountOf(approval: Approval): string {
  const { amount, currency } = approval.args ?? {};
  if (amount === undefined || amount === null) return "";
  return `${Number(amount).toFixed(2)} ${currency ?? ""}`.trim();
}

function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function ago(iso: string): string {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return when(iso);
}

function decisionOf(approval: Approval): string {
  const d = approval.decision;
  const kind = typeof d === "string" ? d : d?.decision;
  if (approval.status === "expired") return "Expired";
  if (kind === "edit") return "Approved (edited)";
  if (kind === "reject" || approval.status === "rejected") return "Rejected";
  return "Approved";
}

class Console {
  private api: Api | null = null;
  private tab: "pending" | "history" = "pending";
  private selected: string | null = null;
  private pending: Approval[] = [];
  private history: Approval[] = [];
  private known = new Set<string>();
  private timer: number | null = null;
  private deciding = false;
  /** True while `GET /v1/approvals/events` is pushing changes; polling backs off. */
  private live = false;
  private stream: AbortController | null = null;
  private lastRefresh = 0;
  private scheduled: number | null = null;

  constructor() {
    $("#signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      void this.signIn(($("#token") as HTMLTextAreaElement).value.trim());
    });
    $("#signout").addEventListener("click", () => this.signOut());
    for (const tab of document.querySelectorAll<HTMLButtonElement>("[role=tab]")) {
      tab.addEventListener("click", () => this.showTab(tab.dataset.tab as "pending" | "history"));
      tab.addEventListener("keydown", (event) => {
        if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
          const next = this.tab === "pending" ? "history" : "pending";
          this.showTab(next);
          $(`[data-tab=${next}]`).focus();
        }
      });
    }
    void this.offerDemoSignIn();
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) void this.signIn(saved);
  }

  // --- Sign-in ------------------------------------------------------------------

  private async offerDemoSignIn(): Promise<void> {
    // Development mode mints demo tokens; elsewhere the endpoint is a 404.
    const probe = await fetch("/v1/demo/customers").catch(() => null);
    if (!probe?.ok) return;
    const button = $("#demo-signin") as HTMLButtonElement;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const response = await fetch("/v1/demo/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ staff_id: "staff-001" }),
      });
      if (response.ok) await this.signIn((await response.json()).token);
    });
  }

  private signInError(message: string): void {
    const box = $("#signin-error");
    box.textContent = message;
    box.hidden = false;
    $("#token").focus();
  }

  async signIn(token: string): Promise<void> {
    if (!token) return this.signInError("Paste a staff token first.");
    const api = new Api(location.origin, token);
    try {
      this.pending = listOf(await api.request("GET", "/v1/approvals?status=pending"));
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      if (error instanceof ApiError && error.status === 403) {
        return this.signInError(
          "This token is not a staff token. The approval console is for support staff only; customers can't open it.",
        );
      }
      if (error instanceof ApiError && error.status === 401) {
        return this.signInError(`Sign-in failed: ${error.message}`);
      }
      return this.signInError(`Can't reach the approvals service: ${(error as Error).message}`);
    }
    this.api = api;
    sessionStorage.setItem(TOKEN_KEY, token);
    for (const approval of this.pending) this.known.add(approval.approval_id);
    $("#signin").hidden = true;
    $("#signin-error").hidden = true;
    $("#app").hidden = false;
    $("#signout").hidden = false;
    $("#whoami").textContent = `Signed in as ${tokenSubject(token) ?? "staff"}`;
    this.renderLists();
    $("[data-tab=pending]").focus();
    this.timer = window.setInterval(() => {
      if (!this.live || Date.now() - this.lastRefresh >= LIVE_POLL_MS) void this.refresh();
    }, POLL_MS);
    void this.refresh();
    this.listen();
  }

  private signOut(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
    this.stream?.abort();
    this.stream = null;
    this.setLive(false);
    this.api = null;
    this.selected = null;
    sessionStorage.removeItem(TOKEN_KEY);
    $("#app").hidden = true;
    $("#signout").hidden = true;
    $("#whoami").textContent = "";
    $("#signin").hidden = false;
    ($("#token") as HTMLTextAreaElement).value = "";
    $("#token").focus();
  }

  // --- Lists --------------------------------------------------------------------

  /**
   * Hear approval changes as they happen (any staff member, any server process) and
   * reload the lists on each; on `down`, or while the stream is unavailable, the
   * 2-second poll takes over until the stream is back.
   */
  private listen(): void {
    if (!this.api) return;
    this.stream = followChanges(this.api, "/v1/approvals/events", {
      onChange: (kind) => (kind === "approval" ? this.scheduleRefresh() : this.refresh()),
      onLive: (live) => this.setLive(live),
    });
  }

  private setLive(live: boolean): void {
    this.live = live;
    $("#app").dataset.live = String(live);
    $("#updates").textContent = live ? "● Live" : "";
  }

  /** Reload once for a burst of changes. */
  private scheduleRefresh(): void {
    if (this.scheduled !== null) return;
    this.scheduled = window.setTimeout(() => {
      this.scheduled = null;
      void this.refresh();
    }, 100);
  }

  private async refresh(): Promise<void> {
    if (!this.api) return;
    this.lastRefresh = Date.now();
    try {
      const [pending, approved, rejected, expired] = await Promise.all(
        (["pending", "approved", "rejected", "expired"] as const).map((status) =>
          this.api!.request("GET", `/v1/approvals?status=${status}`).then(listOf),
        ),
      );
      this.setConnection("");
      const fresh = pending.filter((a) => !this.known.has(a.approval_id));
      for (const approval of fresh) {
        this.known.add(approval.approval_id);
        this.announce(`New approval request: ${actionName(approval.action)} ${amountOf(approval)} for ${approval.customer_id}`);
      }
      this.pending = pending;
      this.history = [...approved, ...rejected, ...expired].sort((a, b) =>
        String(b.decided_at ?? b.created_at).localeCompare(String(a.decided_at ?? a.created_at)),
      );
      this.renderLists();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        this.signOut();
        this.signInError(`You were signed out: ${error.message}`);
        return;
      }
      this.setConnection("Connection lost; retrying…");
    }
  }

  private setConnection(text: string): void {
    $("#connection").textContent = text;
  }

  private announce(text: string): void {
    const live = $("#live");
    live.append(h("p", { text }));
    while (live.childElementCount > 5) live.firstElementChild?.remove();
  }

  private showTab(tab: "pending" | "history"): void {
    this.tab = tab;
    this.renderLists();
  }

  private renderLists(): void {
    for (const button of document.querySelectorAll<HTMLButtonElement>("[role=tab]")) {
      const active = button.dataset.tab === this.tab;
      button.setAttribute("aria-selected", String(active));
      button.tabIndex = active ? 0 : -1;
    }
    $("#pending-count").textContent = String(this.pending.length);
    const items = this.tab === "pending" ? this.pending : this.history;
    const list = $("#list");
    list.setAttribute("aria-labelledby", `tab-${this.tab}`);
    const rows = items.length
      ? items.map((approval) => this.listItem(approval))
      : [h("li", { class: "empty", text: this.tab === "pending" ? "No approvals waiting. New requests appear here automatically." : "No decisions yet." })];
    // A reload that changes nothing leaves the items in place: a click whose button was
    // replaced between press and release would reach no button at all.
    const shown = [...list.children];
    const unchanged = shown.length === rows.length && shown.every((row, i) => row.isEqualNode(rows[i]));
    if (!unchanged) {
      const focused = document.activeElement?.closest<HTMLElement>("[data-approval-id]")?.dataset.approvalId;
      list.replaceChildren(...rows);
      if (focused) list.querySelector<HTMLElement>(`[data-approval-id="${CSS.escape(focused)}"]`)?.focus();
    }
    if (this.selected && !this.deciding) {
      const still = [...this.pending, ...this.history].find((a) => a.approval_id === this.selected);
      if (!still) this.clearDetail();
    }
  }

  private listItem(approval: Approval): HTMLElement {
    const button = h(
      "button",
      { type: "button", class: "item", "data-approval-id": approval.approval_id, "aria-current": String(approval.approval_id === this.selected) },
      h("span", { class: "item-top" }, h("strong", { text: `${actionName(approval.action)} ${amountOf(approval)}` }), h("span", { class: `badge ${approval.status}`, text: approval.status === "pending" ? "Pending" : decisionOf(approval) })),
      h("span", { class: "item-sub", text: `${approval.customer_name ?? approval.customer_id} · order ${approval.args?.order_id ?? "?"}` }),
      h("span", { class: "item-sub", text: approval.status === "pending" ? `Requested ${ago(approval.created_at)}` : `${approval.decided_by ? `By ${approval.decided_by} · ` : ""}${when(approval.decided_at)}` }),
    );
    button.addEventListener("click", () => void this.open(approval.approval_id));
    return h("li", {}, button);
  }

  // --- Detail -------------------------------------------------------------------

  private clearDetail(): void {
    this.selected = null;
    $("#detail").replaceChildren(h("p", { class: "placeholder", text: "Select an approval to see the conversation and decide." }));
  }

  private async open(id: string): Promise<void> {
    if (!this.api) return;
    this.selected = id;
    this.renderLists();
    let approval: Approval;
    try {
      approval = await this.api.request<Approval>("GET", `/v1/approvals/${encodeURIComponent(id)}`);
    } catch (error) {
      $("#detail").replaceChildren(h("p", { class: "error", role: "alert", text: (error as Error).message }));
      return;
    }
    approval = (approval as unknown as { approval?: Approval }).approval
      ? { ...(approval as unknown as { approval: Approval }).approval, ...approval }
      : approval;
    this.renderDetail(approval);
  }

  private renderDetail(approval: Approval): void {
    const detail = $("#detail");
    const heading = h("h2", { id: "detail-title", tabindex: "-1", text: `${actionName(approval.action)} ${amountOf(approval)}` });
    const facts = h("dl", { class: "facts" });
    const fact = (term: string, value: string) => value && facts.append(h("dt", { text: term }), h("dd", { text: value }));
    fact("Customer", approval.customer_name ? `${approval.customer_name} (${approval.customer_id})` : approval.customer_id);
    fact("Order", String(approval.args?.order_id ?? ""));
    fact("Amount", amountOf(approval));
    fact("Customer's reason", String(approval.args?.reason ?? ""));
    fact("Requested", when(approval.created_at));
    if (approval.status === "pending") fact("Expires", when(approval.expires_at));
    const policy = approval.policy_reason ?? approval.policy ?? "Refunds above the approval threshold wait for a staff member's decision.";
    const conversation = conversationOf(approval);
    const transcript = h("ol", { class: "transcript", "aria-label": "Conversation so far" });
    for (const message of conversation) {
      const body = h("div", { class: "text" });
      body.append(renderMarkdown(message.content));
      transcript.append(
        h("li", { class: message.role === "user" ? "from-user" : "from-assistant" }, h("span", { class: "who", text: message.role === "user" ? "Customer" : agentName(message.agent) }), body),
      );
    }
    detail.replaceChildren(
      heading,
      h("p", { class: "summary", text: approval.summary }),
      h("p", { class: "policy" }, h("strong", { text: "Why it needs approval: " }), policy),
      facts,
      h("h3", { text: "Conversation so far" }),
      conversation.length ? transcript : h("p", { class: "placeholder", text: "No messages recorded." }),
      approval.status === "pending" ? this.decisionForm(approval) : this.outcome(approval),
    );
    heading.focus();
  }

  private outcome(approval: Approval): HTMLElement {
    const box = h("section", { class: `outcome ${approval.status}`, "aria-label": "Decision" });
    box.append(h("h3", { text: decisionOf(approval) }));
    const text = [
      approval.decided_by ? `By ${approval.decided_by}` : "",
      approval.decided_at ? `on ${when(approval.decided_at)}` : "",
    ].filter(Boolean).join(" ");
    if (text) box.append(h("p", { text }));
    if (approval.reason) box.append(h("p", { text: `Reason: ${approval.reason}` }));
    const d = approval.decision;
    const editedAmount = typeof d === "object" && d?.decision === "edit" ? d.args?.amount : undefined;
    if (editedAmount !== undefined) box.append(h("p", { text: `Approved amount: ${Number(editedAmount).toFixed(2)} ${approval.args?.currency ?? ""}` }));
    const refund = approval.outcome?.refund_id;
    if (refund) box.append(h("p", { text: `Refund ${refund} issued` }));
    return box;
  }

  private decisionForm(approval: Approval): HTMLElement {
    const amount = Number(approval.args?.amount ?? 0);
    const form = h("form", { class: "decide", "aria-label": "Decision" });
    const amountInput = h("input", { id: "edit-amount", type: "number", min: "0.01", step: "0.01", max: String(amount), value: amount.toFixed(2), inputmode: "decimal" });
    const reason = h("textarea", { id: "reason", rows: "2", placeholder: "Shown to the customer; required to reject" });
    const message = h("p", { class: "form-message", role: "alert" });
    const approve = h("button", { type: "button", class: "approve", text: "Approve" });
    const edit = h("button", { type: "button", class: "edit", text: "Approve edited amount" });
    const reject = h("button", { type: "button", class: "reject", text: "Reject" });
    form.append(
      h("div", { class: "field" }, h("label", { for: "edit-amount", text: `Amount (${approval.args?.currency ?? ""}, up to ${amount.toFixed(2)})` }), amountInput),
      h("div", { class: "field" }, h("label", { for: "reason", text: "Note to the customer" }), reason),
      h("div", { class: "buttons" }, approve, edit, reject),
      message,
    );
    const decide = async (decision: "approve" | "edit" | "reject") => {
      const note = reason.value.trim();
      if (decision === "reject" && !note) {
        message.textContent = "Give a reason to reject.";
        reason.focus();
        return;
      }
      const body: Record<string, unknown> = { decision };
      if (note) body.reason = note;
      if (decision === "edit") {
        const value = Number(amountInput.value);
        if (!(value > 0) || value > amount) {
          message.textContent = `Enter an amount between 0.01 and ${amount.toFixed(2)}.`;
          amountInput.focus();
          return;
        }
        body.args = { amount: value.toFixed(2) };
      }
      for (const button of [approve, edit, reject]) button.disabled = true;
      message.textContent = "Sending decision…";
      this.deciding = true;
      try {
        const decided = await this.api!.request<Approval>("POST", `/v1/approvals/${encodeURIComponent(approval.approval_id)}/decision`, body);
        const merged = { ...approval, ...((decided as unknown as { approval?: Approval }).approval ?? decided) };
        this.announce(`${decisionOf(merged)}: ${actionName(approval.action)} ${amountOf(approval)} for ${approval.customer_id}`);
        this.toast(`${decisionOf(merged)} — ${actionName(approval.action)} ${amountOf(approval)} for ${approval.customer_id}`);
        await this.refresh();
        this.renderDetail(merged.status === "pending" ? { ...merged, status: decision === "reject" ? "rejected" : "approved", decision: { decision, args: body.args as Record<string, unknown> } } : merged);
      } catch (error) {
        for (const button of [approve, edit, reject]) button.disabled = false;
        message.textContent =
          error instanceof ApiError && error.status === 409
            ? `Someone else already decided this one: ${error.message}`
            : `The decision was not saved: ${(error as Error).message}`;
        if (error instanceof ApiError && error.status === 409) await this.refresh();
      } finally {
        this.deciding = false;
      }
    };
    approve.addEventListener("click", () => void decide("approve"));
    edit.addEventListener("click", () => void decide("edit"));
    reject.addEventListener("click", () => void decide("reject"));
    form.addEventListener("submit", (event) => event.preventDefault());
    return form;
  }

  private toast(text: string): void {
    const toast = $("#toast");
    toast.textContent = text;
    toast.hidden = false;
    window.setTimeout(() => (toast.hidden = true), 4000);
  }
}

new Console();
