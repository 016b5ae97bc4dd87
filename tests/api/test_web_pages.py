"""The widget, console and demo pages are served; the demo helpers exist only in development."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.auth import verify_token
from tests.conftest import TEST_JWT_SECRET, auth, make_settings, running_app


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for both apps: the help center is indexed once."""
    return tmp_path_factory.mktemp("web-pages")


async def test_widget_and_console_are_served_outside_development(
    database_url: str, data_dir: Path
) -> None:
    settings = make_settings(database_url, data_dir, SWITCHBOARD_ENV="test")
    async with running_app(settings) as client:
        widget = await client.get("/widget.js")
        staff = await client.get("/staff")
        demo_page = await client.get("/")
        customers = await client.get("/v1/demo/customers")
        token = await client.post("/v1/demo/token", json={"customer_id": "cust-001"})

    assert widget.status_code == 200
    assert widget.headers["content-type"].startswith("text/javascript")
    assert "Switchboard" in widget.text
    assert staff.status_code == 200 and "/console.js" in staff.text
    assert staff.headers["x-frame-options"] == "DENY"
    assert [demo_page.status_code, customers.status_code, token.status_code] == [404, 404, 404]


async def test_development_mints_demo_tokens_and_lists_demo_customers(
    database_url: str, data_dir: Path
) -> None:
    settings = make_settings(database_url, data_dir, SWITCHBOARD_ENV="development")
    async with running_app(settings) as client:
        page = await client.get("/")
        customers = (await client.get("/v1/demo/customers")).json()["customers"]
        customer = (await client.post("/v1/demo/token", json={"customer_id": "cust-002"})).json()
        staff = (await client.post("/v1/demo/token", json={"staff_id": "staff-001"})).json()
        both = await client.post("/v1/demo/token", json={"customer_id": "a", "staff_id": "b"})
        as_customer = await client.get(
            "/v1/approvals", headers={"Authorization": f"Bearer {customer['token']}"}
        )
        as_staff = await client.get("/v1/approvals", headers=auth("staff-001", "staff"))

    assert page.status_code == 200 and 'src="/widget.js"' in page.text
    assert customers[0]["id"] == "cust-001" and customers[0]["order_ids"]
    assert verify_token(customer["token"], secret=TEST_JWT_SECRET).role == "customer"
    assert verify_token(staff["token"], secret=TEST_JWT_SECRET).subject == "staff-001"
    assert both.status_code == 422
    assert as_customer.status_code == 403  # what the console tells a customer token
    assert as_staff.status_code == 200
