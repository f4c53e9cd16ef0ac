"""Forked children: every process takes items from one queue, results come back in the
original order, what a dead child took is done again in the parent."""

import os
import time

import pytest

from trainlint import parallel

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="no fork() here")


def test_results_come_back_in_the_order_of_the_items():
    items = [f"file{i}" for i in range(23)]
    parent = os.getpid()
    def work(item):
        time.sleep(0.01)  # long enough for the children to start taking items
        return item.upper(), os.getpid() == parent

    results = parallel.map_forked(work, items, [len(item) for item in items], 3)
    assert [upper for upper, _ in results] == [item.upper() for item in items]
    in_parent = sum(1 for _, here in results if here)
    assert 0 < in_parent < len(items)  # the parent checked some, the children the rest


def test_a_child_that_dies_has_its_share_done_again_here():
    parent = os.getpid()

    def square_or_die(number):
        if number == 7 and os.getpid() != parent:
            os._exit(3)  # killed mid-share, nothing sent
        return number * number

    numbers = list(range(12))
    assert parallel.map_forked(square_or_die, numbers, [1] * 12, 2) == [n * n for n in numbers]


def test_a_result_that_does_not_pickle_is_made_again_here():
    parent = os.getpid()
    results = parallel.map_forked(lambda n: (lambda: n) if os.getpid() != parent else n,
                                  list(range(6)), [1] * 6, 2)
    assert results == list(range(6))


def test_a_process_that_meets_a_slow_item_takes_fewer_items():
    """No estimate decides who does what: the items are taken from a queue, heaviest first, so
    the process that takes the slow item leaves most of the others to the rest."""
    def work(index):
        time.sleep(0.4 if index == 0 else 0.01)
        return index, os.getpid()

    weights = [100] + [1] * 30
    results = parallel.map_forked(work, list(range(31)), weights, 2)
    assert [index for index, _ in results] == list(range(31))
    slow = results[0][1]
    assert sum(1 for _, pid in results if pid == slow) < 10  # the other process took 20+


def test_the_items_of_a_group_are_done_by_one_process_in_order():
    """A group shares work (a project scan): one process takes it whole, while the others
    take the other items and groups."""
    def work(index):
        time.sleep(0.002)
        return os.getpid(), time.perf_counter()

    groups = [[5, 17, 33], [2, 39]]
    results = parallel.map_forked(work, list(range(40)), [1] * 40, 2, groups=groups)
    for group in groups:
        pids = {results[index][0] for index in group}
        assert len(pids) == 1
        times = [results[index][1] for index in group]
        assert times == sorted(times)
    assert len({pid for pid, _ in results}) == 2


def test_a_heavy_group_does_not_keep_the_other_items_waiting():
    """Groups are tickets like the other items, heaviest first: while one process works
    through a heavy group, the other takes the rest."""
    def work(index):
        time.sleep(0.02 if index < 10 else 0.002)
        return os.getpid()

    pids = parallel.map_forked(work, list(range(60)), [5] * 10 + [1] * 50, 2,
                               groups=[list(range(10))])
    grouped = pids[0]
    assert sum(1 for pid in pids[10:] if pid != grouped) > 40


def test_tickets_keep_groups_whole_heaviest_first(monkeypatch):
    assert parallel._tickets([1, 9, 1, 1, 4], [[0, 2, 3]]) == [[1], [4], [0, 2, 3]]
    monkeypatch.setattr(parallel, "MAX_TICKETS", 2)
    tickets = parallel._tickets([1, 9, 1, 1, 4], [[0, 2, 3]])
    assert tickets == [[1, 4], [0, 2, 3]]


def test_more_items_than_tickets_are_taken_in_groups(monkeypatch):
    monkeypatch.setattr(parallel, "MAX_TICKETS", 4)
    items = list(range(37))
    assert parallel.map_forked(lambda n: n * 3, items, items, 3) == [n * 3 for n in items]


def test_a_map_inside_a_share_runs_in_that_process():
    """A share does not fork again: the other cores are busy with theirs."""
    def inner(n):
        pid = os.getpid()
        return parallel.map_forked(lambda m: os.getpid() == pid, [n, n + 1], [1, 1], 2)

    assert all(all(each) for each in parallel.map_forked(inner, list(range(6)), [1] * 6, 2))


def test_a_pipe_too_small_for_the_tickets_computes_here(monkeypatch):
    """Where the queue's pipe cannot take every ticket before the fork (a small pipe buffer),
    nothing forks and nothing hangs: the items are computed in this process."""
    parent = os.getpid()
    real_write = os.write
    monkeypatch.setattr(parallel.os, "write", lambda fd, data: real_write(fd, data[:4]))
    results = parallel.map_forked(lambda n: (n, os.getpid() == parent), list(range(9)), [1] * 9, 2)
    assert results == [(n, True) for n in range(9)]
