"""Driving the demo store page and the widget in it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.live_server import LiveServer

STREAM_PROBE = """() => {
  const root = document.querySelector('#switchboard-widget').shadowRoot;
  window.__partials = [];
  new MutationObserver(() => {
    for (const body of root.querySelectorAll('.sb-streaming .sb-body')) {
      window.__partials.push(body.textContent.length);
    }
  }).observe(root, { subtree: true, childList: true, characterData: true });
}"""
"""Record the length of every partial reply rendered while tokens stream in."""


def open_store(page: Page, server: LiveServer, customer_id: str, *, open_chat: bool = True) -> None:
    """Open the demo store as `customer_id` (the page remembers the choice) and the chat."""
    page.add_init_script(f"localStorage.setItem('switchboard-demo:customer', '{customer_id}')")
    page.goto(server.url + "/")
    launcher = page.get_by_role("button", name="Chat with us")
    expect(launcher).to_be_visible()
    expect(page.locator("#customer")).to_have_value(customer_id)
    if open_chat and launcher.get_attribute("aria-expanded") != "true":
        launcher.click()
    if open_chat:
        expect(message_box(page)).to_be_focused()


def message_box(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("textbox", name="Message")


def send(page: Page, text: str, *, wait: bool = True) -> None:
    """Type `text`, press Enter and (by default) wait until the reply is over."""
    message_box(page).fill(text)
    message_box(page).press("Enter")
    if wait:
        wait_idle(page)


def wait_idle(page: Page, timeout: float = 30_000) -> None:
    expect(page.locator(".sb-send")).to_have_text("Send", timeout=timeout)


def bubbles(page: Page, kind: str) -> list[str]:
    """The text of the user's (`user`) or the assistants' (`assistant`) messages."""
    return [text.strip() for text in page.locator(f".sb-msg.sb-{kind}").all_text_contents()]


def refund_candidates(server: LiveServer, above: float, count: int) -> list[tuple[str, int]]:
    """`count` (customer, order) pairs, one per customer, each refundable above `above`."""
    rows = server.query(
        "SELECT DISTINCT ON (customer_id) customer_id, order_id FROM store.orders"
        " WHERE status = 'delivered' AND paid_amount - refunded_amount > %s"
        " ORDER BY customer_id DESC, order_id",
        above,
    )
    assert len(rows) >= count, f"the demo seed has too few orders refundable above {above}"
    return [(row["customer_id"], row["order_id"]) for row in rows[:count]]


def refundable_order(server: LiveServer, customer_id: str, above: float) -> tuple[int, float]:
    """A delivered order of `customer_id` with more than `above` left to refund."""
    rows = server.query(
        "SELECT order_id, paid_amount - refunded_amount AS refundable FROM store.orders"
        " WHERE customer_id = %s AND status = 'delivered' AND paid_amount - refunded_amount > %s"
        " ORDER BY order_id LIMIT 1",
        customer_id,
        above,
    )
    assert rows, f"the demo seed has no order of {customer_id} refundable above {above}"
    return rows[0]["order_id"], float(rows[0]["refundable"])
