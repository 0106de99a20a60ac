"""The media node's UDP socket buffers (media/transport.py) and the SFU benchmark's drop count."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from bench.kernel_counters import udp_drops

from switchboard.media.forwarder import Forwarder
from switchboard.media.stats import MediaTotals
from switchboard.media.transport import SOCKET_BUFFER, UdpTransport, size_socket_buffers


def _rmem_max() -> int:
    return int(Path("/proc/sys/net/core/rmem_max").read_text())


def test_a_buffer_below_the_kernel_cap_is_granted_as_asked() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        receive, send = size_socket_buffers(sock, 64 * 1024)
    assert (receive, send) == (2 * 64 * 1024, 2 * 64 * 1024)  # Linux reports twice the ask


@pytest.mark.skipif(os.geteuid() != 0, reason="needs CAP_NET_ADMIN (CI runs as root)")
def test_the_node_gets_its_buffers_past_rmem_max_when_it_may() -> None:
    asked = max(SOCKET_BUFFER, 2 * _rmem_max())  # beyond what SO_RCVBUF alone can give
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        receive, send = size_socket_buffers(sock, asked)
    assert receive >= asked and send >= asked
    transport = UdpTransport("p1", Forwarder())
    try:
        assert transport.receive_buffer >= SOCKET_BUFFER
        assert transport.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= SOCKET_BUFFER
    finally:
        transport.close()


def test_datagrams_a_full_socket_refused_are_counted_at_its_port() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as full,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        full.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the kernel's minimum
        full.bind(("127.0.0.1", 0))
        port = full.getsockname()[1]
        before = udp_drops([port])
        for _ in range(64):  # never read: the buffer holds a few, the rest are dropped
            sender.sendto(b"x" * 1000, ("127.0.0.1", port))
        assert udp_drops([port]) - before > 32
        assert udp_drops([sender.getsockname()[1]]) == 0


def test_the_kernels_drops_at_a_participants_socket_are_counted_and_kept_after_it_closes() -> None:
    transport = UdpTransport("p1", Forwarder())  # never started: nothing reads its socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        try:
            transport.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            for _ in range(64):
                sender.sendto(b"x" * 1000, transport.local_address)
            drops = transport.receive_drops()
            assert drops > 32
            totals = MediaTotals()
            assert totals.snapshot([(Forwarder(), [transport])]).receive_drops == drops
            totals.retire_transport(transport)
        finally:
            transport.close()
    assert transport.receive_drops() == drops
    assert totals.snapshot([]).receive_drops == drops
