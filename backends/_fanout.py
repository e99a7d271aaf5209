"""Small helpers shared by the backends that talk to an engine or server over many requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from backends._protocol import BackendEvent, GenerationRequest

Emit = Callable[[BackendEvent], None]
Draw = Callable[[GenerationRequest, list[int], Emit], Awaitable[None]]


def contiguous_chunks(indices: Sequence[int], max_n: int) -> list[list[int]]:
    """Cut `indices` (in the given order) into runs of consecutive integers, each <= max_n long.

    A run ``[i0, i0 + n)`` becomes one request with ``n`` children and seed ``base + i0``."""
    chunks: list[list[int]] = []
    for i in indices:
        if chunks and chunks[-1][-1] + 1 == i and len(chunks[-1]) < max_n:
            chunks[-1].append(i)
        else:
            chunks.append([i])
    return chunks


@dataclass(frozen=True)
class _Failure:
    error: BaseException


async def fan_in(
    workers: list[Callable[[Emit], Awaitable[None]]],
) -> AsyncGenerator[BackendEvent, None]:
    """Run `workers` concurrently and yield what they emit, in arrival order.

    The first failure is raised (the other workers are cancelled). Closing the iterator
    early cancels every worker (which closes their HTTP streams or aborts their engine
    requests).
    """
    queue: asyncio.Queue[BackendEvent | _Failure | None] = asyncio.Queue()

    async def run(w: Callable[[Emit], Awaitable[None]]) -> None:
        try:
            await w(queue.put_nowait)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            queue.put_nowait(_Failure(e))
            return
        queue.put_nowait(None)

    tasks = [asyncio.create_task(run(w)) for w in workers]
    live = len(tasks)
    try:
        while live:
            item = await queue.get()
            if item is None:
                live -= 1
            elif isinstance(item, _Failure):
                raise item.error
            else:
                yield item
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def draw_in_chunks(
    request: GenerationRequest, max_n: int, draw: Draw
) -> AsyncGenerator[BackendEvent, None]:
    """`request`'s samples as `contiguous_chunks` of at most `max_n`, each drawn by
    ``draw(request, chunk, emit)`` concurrently, their events merged by `fan_in`."""

    def worker(chunk: list[int]) -> Callable[[Emit], Awaitable[None]]:
        return lambda emit: draw(request, chunk, emit)

    events = fan_in([worker(c) for c in contiguous_chunks(request.indices, max_n)])
    try:
        async for ev in events:
            yield ev
    finally:
        await events.aclose()  # cancels the workers now, not when garbage-collected
