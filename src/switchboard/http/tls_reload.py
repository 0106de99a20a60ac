"""An operator's certificate (``--tls-cert``/``--tls-key``), re-read without a restart.

    start: check_certificate(cert, key) ─▶ one line (ConfigError) if it cannot be served
    serving: SIGHUP, or the files' size/mtime changed (looked at every tls_reload_seconds)
        ─▶ load both into a fresh SSLContext first (a half-written pair is refused there)
        ─▶ load_cert_chain on the live context: new connections get the new certificate;
           connections already open keep theirs

``SSLContext.load_cert_chain`` on the context the server listens with replaces the certificate
that new handshakes present (OpenSSL copies it into each new connection); it runs on the event
loop, between handshakes, so no connection sees the new certificate with the old key.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
from collections.abc import Sequence
from pathlib import Path

from switchboard.core.errors import ConfigError

log = logging.getLogger(__name__)


def check_certificate(cert: Path, key: Path) -> None:
    """Refuse, in one line, a certificate and key that cannot be served together."""
    for setting, path in (("tls_cert", cert), ("tls_key", key)):
        if not path.is_file() or not os.access(path, os.R_OK):
            what = "does not exist" if not path.exists() else "cannot be read by this user"
            option = "--" + setting.replace("_", "-")
            raise ConfigError(
                f"{setting} {path} {what}: give a PEM file this user can read ({option})"
            )
    try:
        _load(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), cert, key)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(
            f"cannot serve tls_cert {cert} with tls_key {key}: {_reason(exc)}; give the PEM "
            "certificate (chain) and its unencrypted private key"
        ) from None


def _load(context: ssl.SSLContext, cert: Path, key: Path) -> None:
    context.load_cert_chain(certfile=cert, keyfile=key, password=_no_password)


def _no_password() -> str:
    raise ValueError("the private key is encrypted (Switchboard cannot ask for its password)")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return exc.reason.lower().replace("_", " ")
    return str(exc) or type(exc).__name__


class CertificateReloader:
    """Keeps the live contexts serving what the certificate files hold now."""

    def __init__(self, cert: Path, key: Path, contexts: Sequence[ssl.SSLContext]) -> None:
        self.cert = cert
        self.key = key
        self._contexts = list(contexts)
        self._seen = self._stamp()
        self.reloads = 0  # successful reloads (tests, logs)

    def _stamp(self) -> tuple[tuple[int, int, int], ...]:
        stamps = []
        for path in (self.cert, self.key):
            try:
                info = path.stat()
            except OSError:
                stamps.append((0, 0, 0))
                continue
            stamps.append((info.st_mtime_ns, info.st_size, info.st_ino))
        return tuple(stamps)

    def reload(self, why: str) -> bool:
        """Load the files now; False (and the old certificate kept) if they cannot serve."""
        self._seen = self._stamp()
        try:
            _load(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), self.cert, self.key)
        except (OSError, ssl.SSLError, ValueError) as exc:
            log.error(
                "TLS certificate not reloaded (%s): %s; still serving the previous one",
                why,
                _reason(exc),
            )
            return False
        for context in self._contexts:
            _load(context, self.cert, self.key)
        self.reloads += 1
        log.info("TLS certificate reloaded from %s (%s)", self.cert, why)
        return True

    def changed(self) -> bool:
        return self._stamp() != self._seen

    async def watch(self, interval: float) -> None:
        """Reload on SIGHUP and whenever the files change; runs until cancelled."""
        loop = asyncio.get_running_loop()
        hangup = asyncio.Event()
        loop.add_signal_handler(signal.SIGHUP, hangup.set)
        try:
            while True:
                try:
                    await asyncio.wait_for(hangup.wait(), timeout=interval)
                except TimeoutError:
                    if self.changed():
                        self.reload("the files changed")
                    continue
                hangup.clear()
                self.reload("SIGHUP")
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
