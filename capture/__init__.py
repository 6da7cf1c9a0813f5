"""Headless capture engine: devices, ring buffers, writer threads, take sessions, CLI."""
