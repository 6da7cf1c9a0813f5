"""The ring buffer: order, wrap-around, overflow accounting, non-consuming latest()."""

import threading

import numpy as np

from capture.ring import RingBuffer


def frames(start, n, channels=2):
    base = np.arange(start, start + n, dtype=np.int32)[:, None]
    return base * 10 + np.arange(channels, dtype=np.int32)[None, :]


def test_wraps_in_order():
    ring = RingBuffer(10, 2)
    assert ring.write(frames(0, 7)) == 7
    np.testing.assert_array_equal(ring.read(5), frames(0, 5))
    assert ring.write(frames(7, 8)) == 8  # crosses the end of the buffer
    assert ring.available == 10
    np.testing.assert_array_equal(ring.read(), frames(5, 10))
    assert ring.available == 0 and ring.frames_dropped == 0


def test_full_ring_drops_newest_and_counts():
    ring = RingBuffer(8, 1)
    assert ring.write(frames(0, 6, 1)) == 6
    assert ring.write(frames(6, 5, 1)) == 2
    assert ring.frames_dropped == 3 and ring.drop_count == 1
    np.testing.assert_array_equal(ring.read(), frames(0, 8, 1))


def test_latest_does_not_consume():
    ring = RingBuffer(8, 2)
    ring.write(frames(0, 6))
    ring.read(4)
    ring.write(frames(6, 5))  # wraps
    np.testing.assert_array_equal(ring.latest(3), frames(8, 3))
    np.testing.assert_array_equal(ring.latest(100), frames(3, 8))
    assert ring.available == 7
    assert RingBuffer(4, 2).latest(3).shape == (0, 2)


def test_peek_and_advance_views():
    ring = RingBuffer(6, 2)
    ring.write(frames(0, 4))
    ring.read(3)
    ring.write(frames(4, 4))
    a, b = ring.peek_views()
    np.testing.assert_array_equal(np.concatenate([a, b]), frames(3, 5))
    ring.advance(len(a) + len(b))
    assert ring.available == 0


def test_concurrent_producer_consumer_keeps_every_frame():
    ring = RingBuffer(1000, 2)
    total, block = 60_000, 37
    got = []

    def produce():
        pos = 0
        while pos < total:
            n = min(block, total - pos)
            stored = ring.write(frames(pos, n))
            pos += stored

    t = threading.Thread(target=produce)
    t.start()
    count = 0
    while count < total:
        chunk = ring.read(256)
        got.append(chunk)
        count += len(chunk)
    t.join()
    np.testing.assert_array_equal(np.concatenate(got), frames(0, total))
