"""Quantities written as Go's Quantity.String() writes integer amounts (metrics-server's usage figures)."""
from __future__ import annotations

import pytest

from shim.machinery.quantity import format_binary, format_decimal


@pytest.mark.parametrize(("value", "scale", "text"), [
    (0, -9, "0"), (123, -9, "123n"), (5_000_000, -9, "5m"), (1_500_000_000, -9, "1500m"), (2_000_000_000, -9, "2"),
    (596_884_082, -9, "596884082n"), (10, -9, "10n"), (3000, 0, "3k")])
def test_decimal_si(value: int, scale: int, text: str) -> None:
    assert format_decimal(value, scale) == text


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (1000, "1k"), (1023, "1023"), (1024, "1Ki"), (456 * 1024, "456Ki"), (1500, "1500"),
    (3 * 1024**2, "3Mi"), (62_060 * 1024, "62060Ki")])
def test_binary_si(value: int, text: str) -> None:
    assert format_binary(value) == text
