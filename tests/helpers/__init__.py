"""Helpers shared by the test packages: results, servers on real sockets, and waiting on conditions."""
