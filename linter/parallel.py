"""Check files on several cores: fork children that start with every module and the rule set
already in memory; each process, this one too, takes the next file from a queue shared by all
(a pipe of tickets written before the fork, heaviest files first), so that a process that
meets slow files takes fewer; the children send their results back through a pipe each.

Not concurrent.futures: importing it (with multiprocessing) cost 13 ms and its pool another 20 ms
on a 150 ms run of 134 scripts, measured on 2 cores. A child that dies or cannot send its
results costs nothing but time: what it took is checked again here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Iterator, Sequence


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what a container or taskset allows, on Linux
    except AttributeError:
        return os.cpu_count() or 1


# True while this process computes its share of a map (and always in a forked child): the
# other cores are busy with theirs, so a map asked for meanwhile runs in this process.
_IN_SHARE = [False]


def can_fork() -> bool:
    """fork() without exec is safe in a process with one thread (no lock can be held by a thread
    the child does not have). Windows has no fork: the caller checks in one process there. A
    share of a map does not fork again: the other cores already have theirs."""
    if not hasattr(os, "fork") or _IN_SHARE[0]:
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


# A scan that parses a project's files pays for a fork from about this many bytes of Python:
# a fork costs about 5 ms, parsing and indexing 64 KiB about 25 ms (speechbrain's 207 files
# with loader calls, 3 MB, took 4 s on one core).
SCAN_MIN_BYTES = 64 * 1024
MAX_SCAN_PROCESSES = 8


def file_sizes(paths: Sequence[str]) -> list[int]:
    """Each file's size in bytes (0 for one that cannot be read): the weights of a map over
    files."""
    sizes = []
    for path in paths:
        try:
            sizes.append(os.path.getsize(path))
        except OSError:
            sizes.append(0)
    return sizes


def map_scan(function: Callable[[object], object], items: Sequence,
             weights: Sequence[int]) -> list:
    """`[function(item) for item in items]` for a scan of a project's files, on every usable
    core when their `weights` (bytes) are worth a fork, else in this process."""
    processes = min(usable_cpus(), MAX_SCAN_PROCESSES)
    if processes < 2 or sum(weights) < SCAN_MIN_BYTES or not can_fork():
        return [function(item) for item in items]
    return map_forked(function, items, weights, processes)


# At most this many tickets (4 bytes each) in the queue: the pipe takes them all before the
# fork (a pipe holds 16 KiB or more where there is fork; where it holds less, the items are
# computed in this process).
MAX_TICKETS = 2048


def map_forked(function: Callable[[object], object], items: Sequence, weights: Sequence[int],
               processes: int, groups: Collection[Collection[int]] = ()) -> list:
    """`[function(item) for item in items]`, computed by this process and `processes - 1` forked
    children (in this process alone where it cannot fork, see can_fork). Results must pickle.
    The items at the indexes of one of `groups` are computed by one process, one after the
    other (they share work that it then does once); the groups and the other items are taken
    from the queue, heaviest first."""
    if not can_fork():
        return [function(item) for item in items]
    tickets = _tickets(weights, groups)
    queue, queue_input = os.pipe()
    data = b"".join(number.to_bytes(4, "little") for number in range(len(tickets)))
    os.set_blocking(queue_input, False)  # a pipe too small for the tickets must not hang here
    try:
        written = os.write(queue_input, data)
    except BlockingIOError:
        written = 0
    os.close(queue_input)
    if written < len(data):
        os.close(queue)
        return [function(item) for item in items]
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # a child must not write this process's buffered output a second time
    children = [_fork_child(function, items, tickets, queue) for _ in range(processes - 1)]
    results: list = [_MISSING] * len(items)
    _IN_SHARE[0] = True
    try:
        for index, result in _take_tickets(function, items, tickets, queue):
            results[index] = result
    finally:
        _IN_SHARE[0] = False
        os.close(queue)
    for pid, read_end in children:
        for index, result in _receive(read_end):
            results[index] = result
        os.waitpid(pid, 0)
    return [function(items[index]) if result is _MISSING else result
            for index, result in enumerate(results)]


_MISSING = object()  # no result yet: a child that died took the item


def _tickets(weights: Sequence[int], groups: Collection[Collection[int]]) -> list[list[int]]:
    """The queue's tickets, heaviest first: each group whole, each other item alone; at most
    MAX_TICKETS, neighbours in that order sharing a ticket where there are more."""
    grouped = {index for group in groups for index in group}
    units = [list(group) for group in groups if group]
    units += [[index] for index in range(len(weights)) if index not in grouped]
    units.sort(key=lambda unit: sum(weights[index] for index in unit), reverse=True)
    size = -(-len(units) // MAX_TICKETS) or 1
    return [[index for unit in units[start:start + size] for index in unit]
            for start in range(0, len(units), size)]


def _take_tickets(function: Callable, items: Sequence, tickets: list[list[int]],
                  queue: int) -> Iterator[tuple[int, object]]:
    """(index, result) of the items of each ticket this process takes, until none is left.
    A read of 4 bytes from the queue is one ticket: every process reads whole tickets."""
    while len(ticket := os.read(queue, 4)) == 4:
        for index in tickets[int.from_bytes(ticket, "little")]:
            yield index, function(items[index])


def _fork_child(function: Callable, items: Sequence, tickets: list[list[int]],
                queue: int) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    os.close(read_end)
    _IN_SHARE[0] = True
    status = 1
    try:
        import pickle  # only when forking: a run on one core never loads it

        done = list(_take_tickets(function, items, tickets, queue))
        payload = pickle.dumps(done, pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)  # no atexit handlers, no second flush of inherited buffers


def _receive(read_end: int) -> list[tuple[int, object]]:
    """The (index, result) pairs a child sent; none from a child that died or could not
    pickle its results (its items are computed again here)."""
    import pickle  # see _fork_child

    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    try:
        received = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - a child that died mid-write: nothing usable was sent
        return []
    return received if isinstance(received, list) else []
