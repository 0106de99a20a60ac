"""SMPP addresses: E.164 numbers, short codes and alphanumeric sender ids ⇄ (address, TON, NPI).

"+14255550123" ⇄ ("14255550123", TON international, NPI ISDN)
"12345"        ─▶ ("12345", TON unknown, NPI ISDN)           (a short code)
"Contoso"      ─▶ ("Contoso", TON alphanumeric, NPI unknown)  (a sender id)
"""

from __future__ import annotations

TON_INTERNATIONAL, TON_ALPHANUMERIC, NPI_ISDN = 1, 5, 1


def smpp_address(value: str, ton: int | None, npi: int | None) -> tuple[str, int, int]:
    """(address, ton, npi) for an E.164 number, a short code or an alphanumeric sender id;
    ``ton`` / ``npi`` from the settings win over the ones guessed from the value."""
    if value.startswith("+") and value[1:].isdigit():
        address, auto_ton, auto_npi = value[1:], TON_INTERNATIONAL, NPI_ISDN
    elif value.isdigit():
        address, auto_ton, auto_npi = value, 0, NPI_ISDN
    else:
        address, auto_ton, auto_npi = value, TON_ALPHANUMERIC, 0
    return address, auto_ton if ton is None else ton, auto_npi if npi is None else npi


def e164(address: str, ton: int) -> str:
    """An address as the SMSC sent it → E.164 when it is an international number."""
    if ton == TON_INTERNATIONAL and address.isdigit():
        return f"+{address}"
    return address
