"""A bounded, thread-safe memo for work that is redone with the same inputs.

Each value is stored with the inputs it was made from, and a caller uses it only after
checking that today's inputs are equal to those (:meth:`Memo.get` returns both): the memo
never answers from stale data, it only saves rebuilding what would come out the same.
Bounded by a total weight (entries of a listing, bytes of a body): the least recently
used values go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    """Up to ``capacity`` units of weight of values, by key, least recently used out first."""

    __slots__ = ("_capacity", "_items", "_lock", "_weight")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._weight = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: V, weight: int) -> None:
        """Keep ``value`` (unless it alone outweighs the capacity), evicting as needed."""
        if weight > self._capacity:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            self._items[key] = (value, weight)
            self._weight += weight
            while self._weight > self._capacity:
                _, (_, dropped) = self._items.popitem(last=False)
                self._weight -= dropped

    def __len__(self) -> int:
        return len(self._items)

    @property
    def weight(self) -> int:
        return self._weight
