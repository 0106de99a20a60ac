"""Driving the sample app's web client (examples/sample_app/static) the way a user does: by
the labels and roles of its controls (the page is keyboard-operable with labelled controls, so
the tests find what a screen reader announces).

- ``sign_in``: a new page of ``context`` signed in as ``name`` (status "Ready");
- ``befriend``: add a contact by name;
- ``expect_call_state``: the call's state as the SDK says it (``data-state``; the page shows
  it in words);
- ``join_from_prejoin``: the pre-join screen's "Join now".
"""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

CALL_TIMEOUT_MS = 15_000


def sign_in(context: BrowserContext, url: str, name: str, helpers: str = "") -> Page:
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"[{name}] page error: {error}"))
    page.goto(url)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#status")).to_have_text("Ready", timeout=CALL_TIMEOUT_MS)
    if helpers:
        page.evaluate(f"() => {{ {helpers} }}")
    return page


def befriend(page: Page, name: str) -> None:
    page.get_by_label("Add a contact by name").fill(name)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(f"#friend-{name}")).to_be_visible(timeout=10_000)


def send_chat(page: Page, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def expect_call_state(page: Page, state: str, timeout: int = CALL_TIMEOUT_MS) -> None:
    expect(page.locator("#call-state")).to_have_attribute("data-state", state, timeout=timeout)


def join_from_prejoin(page: Page) -> None:
    """The pre-join screen of a group call or meeting is up: join."""
    expect(page.locator("#prejoin-actions")).to_be_visible()
    page.get_by_role("button", name="Join now").click()


def join_invitation(page: Page, text: str) -> None:
    """Join through the ringing invitation toast whose text is ``text``, then the pre-join."""
    toast = page.get_by_role("alertdialog", name=text)
    expect(toast).to_be_visible(timeout=10_000)
    expect(toast).to_have_attribute("data-ringing", "true")
    toast.get_by_role("button", name="Join").click()
    join_from_prejoin(page)
