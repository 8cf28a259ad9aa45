"""Fakes that run for real on loopback (gRPC and HTTP servers), shared by the tests."""
