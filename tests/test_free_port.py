"""Ports handed to child processes stay out of the kernel's ephemeral range, where an outgoing
connection's source port could take one between our check and the child's bind."""

from __future__ import annotations

import socket

from tests.helpers.servers import PORT_BAND_SIZE, PORT_BANDS_START, free_port


def ephemeral_start() -> int:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as ranges:
        return int(ranges.read().split()[0])


def test_ports_come_from_below_the_ephemeral_range_and_are_not_repeated() -> None:
    ports = [free_port() for _ in range(20)]
    assert len(set(ports)) == len(ports)
    assert all(PORT_BANDS_START <= port < ephemeral_start() for port in ports)
    assert max(ports) - min(ports) < PORT_BAND_SIZE


def test_a_port_in_use_is_passed_over_when_the_band_comes_round() -> None:
    held = free_port()
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", held))
        listening.listen()
        assert held not in {free_port() for _ in range(PORT_BAND_SIZE)}
