/**
 * Follow a stream of approval changes (`GET /v1/approvals/events` for staff,
 * `GET /v1/threads/{id}/events` for a shopper) and reconnect with backoff.
 *
 * The server pushes `ready {live}`, then `approval` for each change, `down` while it
 * does not hear changes and `resync` once it does again. Changes made before a
 * `ready` or during a `down` were not pushed, so on `ready` (when live) and on
 * `resync` the caller reloads before it relies on the stream again.
 */

import type { Api } from "./api";
import { readSse } from "./sse";

export interface ChangeHandlers {
  /** Reload what is shown: `approval` for a pushed change, `reload` after missed ones. */
  onChange(kind: "approval" | "reload"): void | Promise<void>;
  /** Whether changes are pushed right now; poll often while not. */
  onLive(live: boolean): void;
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** Start following `path`; abort the returned controller to stop. */
export function followChanges(api: Api, path: string, handlers: ChangeHandlers): AbortController {
  const controller = new AbortController();
  void follow(api, path, handlers, controller.signal);
  return controller;
}

async function follow(api: Api, path: string, handlers: ChangeHandlers, signal: AbortSignal): Promise<void> {
  let delay = RETRY_FIRST_MS;
  while (!signal.aborted) {
    try {
      const response = await fetch(api.url(path), {
        headers: api.headers({ Accept: "text/event-stream" }),
        signal,
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      delay = RETRY_FIRST_MS;
      for await (const frame of readSse(response.body)) {
        if (frame.event === "approval") {
          handlers.onLive(true);
          void handlers.onChange("approval");
        } else if (frame.event === "down") {
          handlers.onLive(false);
        } else if (frame.event === "ready" || frame.event === "resync") {
          const live = frame.event === "resync" || JSON.parse(frame.data).live === true;
          if (live) await handlers.onChange("reload");
          handlers.onLive(live);
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    handlers.onLive(false);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
}
