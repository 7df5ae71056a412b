"""thvc.memo: bounded by weight, least recently used out first."""

from __future__ import annotations

import threading

from thvc.memo import Memo


def test_values_come_back_by_key() -> None:
    memo: Memo[str] = Memo(10)
    assert memo.get("a") is None
    memo.put("a", "one", 3)
    assert memo.get("a") == "one"
    memo.put("a", "two", 4)  # replaced, weighed again
    assert memo.get("a") == "two" and memo.weight == 4 and len(memo) == 1


def test_the_least_recently_used_go_first_when_over_capacity() -> None:
    memo: Memo[int] = Memo(10)
    memo.put("a", 1, 4)
    memo.put("b", 2, 4)
    assert memo.get("a") == 1  # now b is the least recently used
    memo.put("c", 3, 4)
    assert memo.get("b") is None
    assert memo.get("a") == 1 and memo.get("c") == 3
    assert memo.weight == 8


def test_a_value_heavier_than_the_capacity_is_not_kept() -> None:
    memo: Memo[int] = Memo(10)
    memo.put("a", 1, 4)
    memo.put("big", 2, 11)
    assert memo.get("big") is None and memo.get("a") == 1


def test_threads_never_push_it_over_its_capacity() -> None:
    memo: Memo[int] = Memo(100)

    def work(base: int) -> None:
        for i in range(2000):
            memo.put((base, i % 50), i, 7)
            memo.get((base, (i * 7) % 50))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert memo.weight <= 100 and memo.weight == 7 * len(memo)
