"""One local CA for every node that shares the database, kept with the resource secrets.

    first node to start: the CA its data dir already holds (so clients that trust that
        ca.pem keep working), else a new one ─▶ stored once (get_or_create: concurrent first
        starts agree on one)
    every node: that CA ─▶ its tls/ca.pem, and the server certificate it issues (http/tls.py)

The CA's key is as secret as the access keys beside it: whoever reads the database can mint
certificates its clients trust (docs/deploy.md: backups).
"""

from __future__ import annotations

from pathlib import Path

from switchboard.http.tls import LocalCa, local_ca_in, new_local_ca
from switchboard.storage.secrets import SqlSecretStore

LOCAL_CA = "tls_local_ca"  # the CA certificate's PEM, then its key's PEM
_KEY_MARKER = "-----BEGIN PRIVATE KEY-----"


async def cluster_ca(secrets: SqlSecretStore, tls_dir: Path) -> LocalCa:
    def adopt_or_make() -> str:
        ca = local_ca_in(tls_dir) or new_local_ca()
        return (ca.cert_pem + ca.key_pem).decode("ascii")

    stored = await secrets.get_or_create(LOCAL_CA, adopt_or_make)
    cert, marker, key = stored.partition(_KEY_MARKER)
    return LocalCa(cert.encode("ascii"), (marker + key).encode("ascii"))
