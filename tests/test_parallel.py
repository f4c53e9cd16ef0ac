"""Forked children: shares of equal work, results in the original order, a dead child's share
done again in the parent."""

import os

import pytest

from trainlint import parallel

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="no fork() here")


def test_deal_balances_the_work_and_keeps_the_order():
    weights = [9, 1, 1, 1, 5, 4, 3, 1]
    shares = parallel.deal(weights, 2)
    assert sorted(i for share in shares for i in share) == list(range(len(weights)))
    assert all(share == sorted(share) for share in shares)
    loads = [sum(weights[i] for i in share) for share in shares]
    assert max(loads) - min(loads) <= 1


def test_deal_with_more_shares_than_items():
    assert parallel.deal([3, 2], 4) == [[0], [1], [], []]


def test_results_come_back_in_the_order_of_the_items():
    items = [f"file{i}" for i in range(23)]
    parent = os.getpid()
    results = parallel.map_forked(lambda item: (item.upper(), os.getpid() == parent), items,
                                  [len(item) for item in items], 3)
    assert [upper for upper, _ in results] == [item.upper() for item in items]
    in_parent = sum(1 for _, here in results if here)
    assert 0 < in_parent < len(items)  # the parent checked a share, the children the rest


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
