"""Numbering without a store: the claimed numbers are a set, taking is thread-safe."""

from __future__ import annotations

import threading

import pytest

from jobkeeper.application.numbering import Numbering


def numbering(claimed: set[int]) -> Numbering:
    return Numbering(claimed.__contains__, jitter=lambda: None)


@pytest.mark.parametrize("highest", [0, 1, 2, 3, 7, 8, 9, 100, 1023, 1024, 1025, 99_999])
def test_the_first_number_follows_the_highest_claimed(highest: int) -> None:
    assert numbering(set(range(1, highest + 1))).take() == highest + 1


def test_finding_the_highest_reads_a_logarithmic_number_of_numbers() -> None:
    claimed = set(range(1, 1_000_001))
    looked: list[int] = []
    counter = Numbering(lambda n: looked.append(n) or n in claimed, jitter=lambda: None)
    assert counter.highest() == 1_000_000
    assert len(looked) < 50


def test_numbers_follow_each_other_without_reading_again() -> None:
    looked: list[int] = []
    counter = Numbering(lambda n: looked.append(n) or False, jitter=lambda: None)
    assert [counter.take() for _ in range(5)] == [1, 2, 3, 4, 5]
    assert looked == [1]


def test_a_number_another_process_took_is_skipped_with_those_after_it() -> None:
    claimed: set[int] = set()
    counter = numbering(claimed)
    assert counter.take() == 1
    claimed.update({1, 2, 3})  # another process claimed 1 to 3 meanwhile
    counter.skip_past(1)
    assert counter.take() == 4


def test_a_number_given_back_is_taken_again_unless_a_later_one_went_out() -> None:
    counter = numbering(set())
    first = counter.take()
    counter.give_back(first)
    assert counter.take() == first
    second = counter.take()
    counter.take()
    counter.give_back(second)  # a later number went out meanwhile: keep the order
    assert counter.take() == second + 2


def test_threads_taking_numbers_never_share_one() -> None:
    counter = numbering(set())
    taken: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(500):
            number = counter.take()
            with lock:
                taken.append(number)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(taken) == list(range(1, 4001))
