"""TrunkRegistration: REGISTER with a trunk that wants it (``register = true``), RFC 3261 §10.

run() (a task of the carrier, from start):
    REGISTER sip:host (To/From: sip:username@host, Contact: our address, Expires: asked)
        401/407 ─▶ once more with digest credentials (same Call-ID, CSeq + 1)
        2xx ─▶ registered for what the registrar granted (our Contact's expires, else the
            Expires header, else what we asked) ─▶ again at half of it
        anything else, or silence ─▶ the trunk is down (dial skips it; inbound still taken)
            ─▶ again after RETRY seconds
stop() ─▶ REGISTER with Expires: 0 (un-REGISTER), answered or not within a few seconds
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from switchboard.gateways.sip.digest import authorization, parse_challenge
from switchboard.gateways.sip.errors import SipParseError
from switchboard.gateways.sip.message import Headers, SipRequest, SipResponse, header_params
from switchboard.gateways.sip.transactions import ClientTransaction, new_tag
from switchboard.gateways.sip.trunks import Trunk

if TYPE_CHECKING:
    from switchboard.gateways.sip.carrier import SipCarrier

log = logging.getLogger(__name__)

RETRY = 30.0  # after a failed registration
MIN_REFRESH = 1.0  # never re-REGISTER more often than this
UNREGISTER_TIMEOUT = 4.0


class TrunkRegistration:
    def __init__(
        self,
        carrier: SipCarrier,
        trunk: Trunk,
        on_change: Callable[[Trunk, bool], None],
        *,
        retry: float = RETRY,
    ) -> None:
        self.trunk = trunk
        self.registered = False
        self.granted = 0  # seconds the registrar granted last time
        self.registrations = 0  # successful REGISTERs (refreshes included)
        self._carrier = carrier
        self._on_change = on_change
        self._retry = retry
        self._registered_again = asyncio.Event()
        self._call_id = new_tag() + new_tag()  # one Call-ID for all our REGISTERs (§10.2.4)
        self._cseq = 0

    async def run(self) -> None:
        while True:
            granted = await self.register(self.trunk.register_seconds)
            ok = granted is not None and granted > 0
            if ok and granted is not None:
                self.granted = granted
                self.registrations += 1
                self._registered_again.set()
                self._registered_again = asyncio.Event()
            if ok != self.registered:
                self.registered = ok
                self._on_change(self.trunk, ok)
            await asyncio.sleep(max(MIN_REFRESH, granted / 2) if granted else self._retry)

    async def registered_again(self) -> None:
        """Wait for the next successful REGISTER (a refresh)."""
        await self._registered_again.wait()

    async def stop(self) -> None:
        """Un-REGISTER (Expires: 0) if registered."""
        if not self.registered:
            return
        self.registered = False
        try:
            async with asyncio.timeout(UNREGISTER_TIMEOUT):
                await self.register(0)
        except TimeoutError:
            log.info("trunk %s: no answer to our un-REGISTER", self.trunk.name)

    async def register(self, expires: int) -> int | None:
        """One REGISTER (challenged: once more with credentials): the granted expiry in
        seconds, or None if refused or unanswered."""
        response = await self._send(self._request(expires, None))
        if response is not None and response.status in (401, 407):
            credentials = self._credentials(response)
            if credentials is None:
                return None
            response = await self._send(self._request(expires, credentials))
        if response is None or not 200 <= response.status < 300:
            status = response.status if response is not None else "no answer"
            log.warning("trunk %s: REGISTER: %s", self.trunk.name, status)
            return None
        return _granted(response, self._contact, expires)

    def _request(self, expires: int, credentials: tuple[str, str] | None) -> SipRequest:
        trunk = self.trunk
        destination = (trunk.host, trunk.port)
        endpoint = self._carrier.endpoint
        aor = f"<sip:{trunk.username or 'switchboard'}@{trunk.host}>"
        self._cseq += 1
        items = [
            ("Via", endpoint.via(destination)),
            ("Max-Forwards", "70"),
            ("From", f"{aor};tag={new_tag()}"),
            ("To", aor),
            ("Call-ID", self._call_id),
            ("CSeq", f"{self._cseq} REGISTER"),
            ("Contact", self._contact),
            ("Expires", str(expires)),
        ]
        if credentials is not None:
            items.append(credentials)
        return SipRequest("REGISTER", self._uri, Headers(tuple(items)))

    def _credentials(self, response: SipResponse) -> tuple[str, str] | None:
        trunk = self.trunk
        if trunk.username is None:
            log.warning("trunk %s: the registrar wants credentials; none set", trunk.name)
            return None
        proxy = response.status == 407
        try:
            challenge = parse_challenge(
                response.header("Proxy-Authenticate" if proxy else "WWW-Authenticate") or ""
            )
        except SipParseError as exc:
            log.warning("trunk %s: a challenge we cannot answer: %s", trunk.name, exc)
            return None
        value = authorization(
            challenge, trunk.username, trunk.password or "", "REGISTER", self._uri
        )
        return ("Proxy-Authorization" if proxy else "Authorization", value)

    async def _send(self, request: SipRequest) -> SipResponse | None:
        answered: asyncio.Future[SipResponse | None] = asyncio.get_running_loop().create_future()

        def settle(response: SipResponse | None) -> None:
            if not answered.done():
                answered.set_result(response)

        transaction = ClientTransaction(
            self._carrier.endpoint,
            request,
            (self.trunk.host, self.trunk.port),
            lambda response: settle(response) if response.status >= 200 else None,
            lambda: settle(None),
        )
        try:
            return await answered
        finally:
            transaction.stop()

    @property
    def _uri(self) -> str:
        return f"sip:{self.trunk.host}:{self.trunk.port}"

    @property
    def _contact(self) -> str:
        return self._carrier.endpoint.contact((self.trunk.host, self.trunk.port))


def _granted(response: SipResponse, contact: str, asked: int) -> int:
    """What the registrar granted: our Contact's ``expires`` in its 200, else its Expires."""
    ours = contact.strip("<>").split(";", 1)[0]
    for value in response.headers.get_all("Contact"):
        if ours in value:
            expires = header_params(value).get("expires", "")
            if expires.isdigit():
                return int(expires)
    header = (response.header("Expires") or "").strip()
    return int(header) if header.isdigit() else asked
