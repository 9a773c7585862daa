"""Background prefetch: decode the next items while the current one is processed."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def prefetch(
    items: Iterable[T], load: Callable[[T], R], *, workers: int = 1, depth: int = 4
) -> Iterator[R]:
    """Yield ``load(item)`` for each item, in order, loading up to ``depth`` items ahead.

    ``workers = 0`` loads in the caller's thread (no prefetch). Decoders such as OpenCV and
    zlib release the GIL, so a thread overlaps decoding with the caller's work. An error in
    ``load`` is raised when its item is reached; closing the iterator early cancels the rest.
    """
    if workers <= 0:
        for item in items:
            yield load(item)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vosbench-prefetch")
    pending: deque[Future] = deque()
    source = iter(items)
    try:
        for item in source:
            pending.append(pool.submit(load, item))
            if len(pending) >= depth:
                break
        while pending:
            result = pending.popleft().result()
            for item in source:
                pending.append(pool.submit(load, item))
                break
            yield result
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
