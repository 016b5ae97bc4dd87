/** A thin JSON client for Switchboard's HTTP API, with bearer auth. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** Read the `{"error": {"code", "message"}}` body (or FastAPI's `detail`) of a failed response. */
export async function apiError(response: Response): Promise<ApiError> {
  let code = `http_${response.status}`;
  let message = response.statusText || "Request failed";
  try {
    const body = await response.json();
    const error = body?.error ?? body;
    if (typeof error?.code === "string") code = error.code;
    if (typeof error?.message === "string") message = error.message;
    else if (typeof body?.detail === "string") message = body.detail;
  } catch {
    // Not JSON: keep the status text.
  }
  const retry = Number(response.headers.get("Retry-After"));
  return new ApiError(response.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : null);
}

export class Api {
  constructor(
    readonly baseUrl: string,
    public token: string,
  ) {}

  url(path: string): string {
    return this.baseUrl.replace(/\/+$/, "") + path;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const response = await fetch(this.url(path), {
      method,
      headers: this.headers(body === undefined ? {} : { "Content-Type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!response.ok) throw await apiError(response);
    return (await response.json()) as T;
  }
}

/** Return the `sub` claim of a JWT without verifying it (the server verifies). */
export function tokenSubject(token: string): string | null {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload));
    return typeof claims.sub === "string" ? claims.sub : null;
  } catch {
    return null;
  }
}

/** A random id for `client_message_id` (crypto.randomUUID needs a secure context). */
/** A random (version 4) UUID written as the API writes one: lowercase, with dashes. */
export function randomUuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const AGENT_NAMES: Record<string, string> = {
  triage: "Support",
  billing: "Billing",
  returns: "Returns",
};

export function agentName(agent: string | null | undefined): string {
  if (!agent) return "Support";
  return AGENT_NAMES[agent] ?? agent.charAt(0).toUpperCase() + agent.slice(1);
}
