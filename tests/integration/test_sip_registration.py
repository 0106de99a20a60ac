"""Registration with a trunk (``register = true``), SIPp playing the carrier's registrar:

the carrier starts ─▶ REGISTER ─▶ 401 ─▶ REGISTER with digest credentials (SIPp verifies
    them) ─▶ 200 (2 s granted) ─▶ the trunk is usable ─▶ refreshed before expiry (again
    challenged and verified) ─▶ the carrier stops ─▶ REGISTER Expires: 0 (SIPp checks it)
a registrar that takes the first REGISTER and refuses the refresh ─▶ the trunk is down
    (dial skips it) ─▶ nothing to un-REGISTER
"""

from __future__ import annotations

import asyncio

import pytest

from switchboard.gateways.sip import SipCarrier, SipRouting
from switchboard.gateways.sip.trunks import Trunk
from tests.integration.sipp_carrier import PASSWORD, USERNAME, finished, free_udp_port, sipp
from tests.integration.test_sip_carrier import NoInboundCalls

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def registering(port: int, *, credentials: bool) -> Trunk:
    return Trunk(
        "registered",
        "127.0.0.1",
        port,
        username=USERNAME if credentials else None,
        password=PASSWORD if credentials else None,
        options_seconds=0,
        register=True,
        register_seconds=60,
    )


async def test_a_trunk_registers_with_credentials_refreshes_and_unregisters_on_stop() -> None:
    port = free_udp_port()
    registrar = await sipp(
        "registrar.xml",
        port,
        *("-key", "username", USERNAME, "-key", "password", PASSWORD, "-key", "granted", "2"),
    )
    trunk = registering(port, credentials=True)
    carrier = SipCarrier(SipRouting([trunk], []), NoInboundCalls(), port=0)
    await carrier.start()
    stopped = False
    try:
        async with asyncio.timeout(30):
            assert not carrier.acquire(trunk)  # not registered yet: not usable
            while not carrier.health[trunk.name].registered:
                await carrier.health_changed()
            registration = carrier.registrations[trunk.name]
            assert registration.granted == 2  # from the Contact's expires in the 200
            assert carrier.acquire(trunk)
            carrier.release(trunk)
            while registration.registrations < 2:  # refreshed at half the granted time
                await registration.registered_again()
            await carrier.stop()
            stopped = True
            assert not registration.registered
            assert await finished(registrar) == 0  # it got the un-REGISTER, verified
    finally:
        if not stopped:
            await carrier.stop()


async def test_a_trunk_whose_registration_is_refused_goes_down() -> None:
    port = free_udp_port()
    registrar = await sipp("registrar_refuses.xml", port, "-key", "granted", "2")
    trunk = registering(port, credentials=False)
    carrier = SipCarrier(SipRouting([trunk], []), NoInboundCalls(), port=0)
    await carrier.start()
    try:
        async with asyncio.timeout(30):
            health = carrier.health[trunk.name]
            while not health.registered:
                await carrier.health_changed()
            assert carrier.acquire(trunk)
            carrier.release(trunk)
            while health.registered:  # the refresh is refused (403)
                await carrier.health_changed()
            assert not carrier.acquire(trunk)  # down: dial skips it
            assert await finished(registrar) == 0
    finally:
        await carrier.stop()
