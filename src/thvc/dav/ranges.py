"""HTTP Range parsing (RFC 9110 §14), kept pure so it can be tested alone."""

from __future__ import annotations


class MalformedRange(ValueError):
    """The Range header cannot be parsed; it is ignored and the whole body is sent."""


class RangeNotSatisfiable(ValueError):
    """No byte of the range lies inside the representation."""


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Return (start, end) with end exclusive, or None for "send everything".

    Only a single range is served; a multi-range request gets the whole
    representation, which RFC 9110 allows.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec:
        raise MalformedRange(header)
    if "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        raise MalformedRange(header)
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                raise RangeNotSatisfiable(header)
            return max(0, size - n), size
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        raise MalformedRange(header) from None
    if start < 0 or end <= start:
        raise MalformedRange(header)
    if start >= size:
        raise RangeNotSatisfiable(header)
    return start, min(end, size)
