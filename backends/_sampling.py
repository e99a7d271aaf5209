"""Token sampling from one row of logits: top-p (nucleus), then temperature, then a seeded draw.

The same order as llama.cpp's default chain (top-p on the model's own distribution, then the
temperature): the nucleus is the smallest set of most probable tokens whose probability at
temperature 1 reaches `top_p` (the token that crosses it included); the token is drawn from the
nucleus re-weighted at `temperature`, with the sequence's own random generator, so the same
seed draws the same token from the same logits. Temperature 0 is greedy (the most probable
token; ties to the lowest id).

It is exact but does not sort the vocabulary: tokens whose logit is within `delta` of the
largest are candidates; when their probability mass reaches `top_p`, the nucleus lies among
them (every other token is less probable than each of them), else `delta` is doubled. A peaked
next-token distribution keeps a few hundred of 150,000 tokens, so a token costs one `exp` over
the vocabulary (which the log-probability needs anyway) and a small sort.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatRow = npt.NDArray[np.float32]
_DELTA = 12.0  # first candidate window below the largest logit (e^-12 ~ 6e-6 per token)


def make_rng(seed: int) -> np.random.Generator:
    """The random generator of one sample (any integer seed)."""
    return np.random.Generator(np.random.PCG64(seed & (2**64 - 1)))


def nucleus(
    row: FloatRow, top_p: float, exp_row: FloatRow | None = None, z: float | None = None
) -> tuple[npt.NDArray[np.intp], float]:
    """The nucleus of `row` (token ids, most probable first; with top_p >= 1 every token, in id
    order) and log Z of the row's softmax.

    `exp_row` = exp(row - max(row)) and `z` = its sum may be passed when already computed."""
    top = float(row.max())
    e = np.exp(row - top) if exp_row is None else exp_row
    total = float(e.sum(dtype=np.float64)) if z is None else z
    log_z = top + math.log(total)
    if top_p >= 1.0:
        return np.arange(row.size), log_z
    delta = _DELTA
    while True:
        kept = np.flatnonzero(row >= top - delta)
        if kept.size == row.size or float(e[kept].sum(dtype=np.float64)) >= top_p * total:
            break
        delta *= 2.0
    order = kept[np.argsort(-row[kept], kind="stable")]
    cum = np.cumsum(e[order], dtype=np.float64)
    cut = int(np.searchsorted(cum, top_p * total, side="left")) + 1
    return order[: max(1, min(cut, order.size))], log_z


def sample_token(
    row: FloatRow, temperature: float, top_p: float, rng: np.random.Generator
) -> tuple[int, float]:
    """(token, its log-probability at temperature 1) drawn from `row` as the module says."""
    top = float(row.max())
    e = np.exp(row - top)
    z = float(e.sum(dtype=np.float64))
    if temperature <= 0.0:
        tok = int(row.argmax())
        return tok, float(row[tok]) - (top + math.log(z))
    ids, log_z = nucleus(row, top_p, e, z)
    logits = row[ids].astype(np.float64)
    w = np.exp((logits - logits.max()) / temperature)
    cum = np.cumsum(w)
    i = int(np.searchsorted(cum, rng.random() * cum[-1], side="right"))
    tok = int(ids[min(i, ids.size - 1)])
    return tok, float(row[tok]) - log_z
