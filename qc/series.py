"""Runs and running filters over 1-D series (10 ms blocks, frames, analysis windows)."""

from __future__ import annotations

import numpy as np


def true_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a 1-D boolean array."""
    if mask.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    steps = np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8))
    return np.flatnonzero(steps == 1), np.flatnonzero(steps == -1)


def joined_runs(mask: np.ndarray, gap: int = 0) -> list[tuple[int, int]]:
    """[start, end) runs of True, joining runs separated by at most ``gap`` False items."""
    starts, ends = true_runs(mask.astype(bool))
    out: list[tuple[int, int]] = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if out and start - out[-1][1] <= gap:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def running_median(a: np.ndarray, size: int) -> np.ndarray:
    """Running median of width ``size`` along the last axis, edges repeated (as 'nearest')."""
    half = size // 2
    padded = np.pad(a, [(0, 0)] * (a.ndim - 1) + [(half, size - 1 - half)], mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, size, axis=-1), axis=-1)


def mean_of_three(a: np.ndarray) -> np.ndarray:
    """Each value averaged with its two neighbours (edges repeated)."""
    padded = np.pad(a, 1, mode="edge")
    return (padded[:-2] + padded[1:-1] + padded[2:]) / 3.0


def closing(mask: np.ndarray, width: int) -> np.ndarray:
    """Binary closing (dilation then erosion) with a flat structure of ``width``."""
    kernel = np.ones(width, dtype=np.int16)
    dilated = np.convolve(mask.astype(np.int16), kernel, mode="same") > 0
    return np.convolve(dilated.astype(np.int16), kernel, mode="same") == width
