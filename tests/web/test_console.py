"""The staff approval console in a real browser (issue 6)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from api.auth import mint_token
from tests.conftest import TEST_JWT_SECRET
from tests.live_server import LiveServer
from tests.web.conftest import screenshot
from tests.web.helpers import open_store, refund_candidates, send

pytestmark = pytest.mark.slow


def _sign_in(page: Page, server: LiveServer, subject: str, role: str = "staff") -> None:
    page.goto(server.url + "/staff")
    token = mint_token(subject, role, secret=TEST_JWT_SECRET, ttl_seconds=600)
    page.get_by_label("Staff token").fill(token)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_customer_token_cannot_open_the_console(live_server: LiveServer, new_page) -> None:
    page: Page = new_page()

    _sign_in(page, live_server, "cust-001", role="customer")

    expect(page.get_by_role("alert")).to_contain_text("not a staff token")
    expect(page.locator("#app")).to_be_hidden()
    expect(page.get_by_label("Staff token")).to_be_focused()


def test_staff_edits_or_rejects_and_decisions_move_to_history(
    live_server: LiveServer, new_page
) -> None:
    staff: Page = new_page()
    _sign_in(staff, live_server, "staff-007")
    expect(staff.get_by_text("Signed in as staff-007")).to_be_visible()

    # Two shoppers ask for refunds; the open console picks them up without a reload.
    (edited, first_order), (rejected_customer, second_order) = refund_candidates(
        live_server, 260, 2
    )
    for customer, order in ((edited, first_order), (rejected_customer, second_order)):
        shopper: Page = new_page()
        open_store(shopper, live_server, customer)
        send(shopper, f"I want a refund of $250 for order {order}")
        expect(shopper.locator(".sb-card")).to_be_visible()
    first = staff.locator(".item", has_text=f"order {first_order}")
    second = staff.locator(".item", has_text=f"order {second_order}")
    expect(first).to_be_visible()
    expect(second).to_be_visible()

    first.click()
    staff.get_by_label("Amount").fill("120")
    staff.get_by_role("button", name="Approve edited amount").click()
    expect(staff.locator(".outcome")).to_contain_text("Approved (edited)")
    expect(staff.locator(".outcome")).to_contain_text("Approved amount: 120.00")

    second.click()
    staff.get_by_role("button", name="Reject").click()
    expect(staff.locator(".form-message")).to_have_text("Give a reason to reject.")
    expect(staff.get_by_label("Note to the customer")).to_be_focused()
    staff.keyboard.type("Damage claims need photos; please reply with one.")
    staff.get_by_role("button", name="Reject").click()
    expect(staff.locator(".outcome")).to_contain_text("Rejected")
    expect(staff.locator(".outcome")).to_contain_text("Reason: Damage claims need photos")

    staff.get_by_role("tab", name="History").click()
    expect(staff.locator(".item", has_text=f"order {first_order}")).to_contain_text(
        "Approved (edited)"
    )
    rejected = staff.locator(".item", has_text=f"order {second_order}")
    expect(rejected).to_contain_text("Rejected")
    expect(rejected).to_contain_text("By staff-007")
    screenshot(staff, "console-history")
    assert staff.errors == []


def test_a_new_request_is_pushed_to_the_open_console_without_waiting_for_a_poll(
    live_server: LiveServer, new_page
) -> None:
    staff: Page = new_page()
    _sign_in(staff, live_server, "staff-009")
    # Live: the lists now reload on each pushed change, and on their own only every 30 s.
    expect(staff.locator("#app")).to_have_attribute("data-live", "true")
    expect(staff.locator("#updates")).to_have_text("● Live")

    # Any process may write the approval: the change travels through Postgres.
    live_server.query(
        "INSERT INTO switchboard.approvals (approval_id, thread_id, tool_call_id, customer_id,"
        " action, args, summary, expires_at) VALUES ('appr-pushed', gen_random_uuid()::text,"
        " 'call-pushed', 'cust-001', 'request_refund',"
        ' \'{"order_id": 4242, "amount": "250.00", "currency": "USD"}\','
        " 'Refund 250.00 USD on order 4242', now() + interval '1 day') RETURNING approval_id"
    )

    expect(staff.locator(".item", has_text="order 4242")).to_be_visible(timeout=10_000)
    expect(staff.locator("#pending-count")).not_to_have_text("0")
    assert staff.errors == []


def test_a_click_on_a_request_survives_a_reload_of_the_lists_while_the_button_is_held(
    live_server: LiveServer, new_page
) -> None:
    live_server.query(
        "INSERT INTO switchboard.approvals (approval_id, thread_id, tool_call_id, customer_id,"
        " action, args, summary, expires_at) VALUES ('appr-held-click', gen_random_uuid()::text,"
        " 'call-held-click', 'cust-001', 'request_refund',"
        ' \'{"order_id": 4343, "amount": "230.00", "currency": "USD"}\','
        " 'Refund 230.00 USD on order 4343', now() + interval '1 day') RETURNING approval_id"
    )
    staff: Page = new_page()
    _sign_in(staff, live_server, "staff-011")
    expect(staff.locator("#app")).to_have_attribute("data-live", "true")
    item = staff.locator(".item", has_text="order 4343")
    item.hover()

    # A change pushed for another approval reloads the lists between press and release,
    # as a live update or the poll may at any moment; nothing on screen changes.
    staff.mouse.down()
    with staff.expect_response(lambda response: "status=expired" in response.url) as reload:
        live_server.query(
            "SELECT pg_notify('switchboard_approvals', json_build_object("
            "'approval_id', 'appr-elsewhere', 'status', 'approved', 'thread_id', 'elsewhere',"
            " 'answered', false)::text) IS NULL AS sent"
        )
    reload.value.finished()
    staff.wait_for_timeout(300)  # the lists render once all four have been read
    staff.mouse.up()

    expect(staff.get_by_role("heading", name="Refund 230.00 USD")).to_be_focused()
    assert staff.errors == []
    live_server.query(
        "DELETE FROM switchboard.approvals WHERE approval_id = 'appr-held-click' RETURNING 1"
    )
