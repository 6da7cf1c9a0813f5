"""Headless capture engine: input backends, ring buffers, writer threads, takes, recovery."""
