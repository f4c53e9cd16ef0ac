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


def test_items_together_are_all_done_in_this_process_first():
    parent = os.getpid()
    order = []

    def work(index):
        if os.getpid() == parent:
            order.append(index)
        return os.getpid() == parent

    results = parallel.map_forked(work, list(range(40)), [1] * 40, 2, together=[5, 17, 33])
    assert results[5] and results[17] and results[33]
    assert order[:3] == [5, 17, 33]


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
