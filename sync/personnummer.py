"""Swedish personal identity numbers: format and check digit (Luhn). Demo data uses impossible 1800s births."""
import re

PATTERN = re.compile(r"^(\d{2})(\d{2})(\d{2})(\d{2})-(\d{4})$")


def check_digit(nine_digits: str) -> int:
    """Luhn over YYMMDDNNN, as the Tax Agency computes it."""
    total = 0
    for i, ch in enumerate(nine_digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return (10 - total % 10) % 10


def is_valid(number: str) -> bool:
    m = PATTERN.match(number)
    if not m:
        return False
    digits = m.group(2) + m.group(3) + m.group(4) + m.group(5)
    return check_digit(digits[:9]) == int(digits[9])


def make(year: int, month: int, day: int, serial: int) -> str:
    """YYYYMMDD-NNNC with a correct check digit C; `serial` is the three-digit birth number."""
    nine = f"{year % 100:02d}{month:02d}{day:02d}{serial:03d}"
    return f"{year:04d}{month:02d}{day:02d}-{serial:03d}{check_digit(nine)}"
