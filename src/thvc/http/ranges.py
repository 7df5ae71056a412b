"""HTTP Range parsing (RFC 9110 §14), kept pure so it can be tested alone."""

from __future__ import annotations


class MalformedRange(ValueError):
    """The Range header cannot be parsed; it is ignored and the whole body is sent."""


class RangeNotSatisfiable(ValueError):
    """No byte of the range lies inside the representation."""


def _int(text: str, header: str) -> int:
    if not text.isdigit():
        raise MalformedRange(header)
    return int(text)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Return (start, end) with end exclusive, or None for "send everything".

    Only a single range is served; a multi-range request gets the whole
    representation, which RFC 9110 allows. An empty representation has no
    byte a range could name, so it is always sent whole.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        raise MalformedRange(header)
    if "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        raise MalformedRange(header)
    first, last = first.strip(), last.strip()
    if first == "":
        suffix = _int(last, header)
        if size == 0:
            return None
        if suffix == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - suffix), size
    start = _int(first, header)
    end = size
    if last:
        end = _int(last, header) + 1
        if end <= start:
            raise MalformedRange(header)
    if size == 0:
        return None
    if start >= size:
        raise RangeNotSatisfiable(header)
    return start, min(end, size)
