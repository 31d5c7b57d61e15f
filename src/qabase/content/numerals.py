"""Chinese numerals as used in article numbers, both ways.

>>> to_int("二百三十七"), to_int("十"), to_int("一百零五"), to_int("237")
(237, 10, 105, 237)
>>> to_chinese(237), to_chinese(10), to_chinese(105), to_chinese(1010)
('二百三十七', '十', '一百零五', '一千零一十')
"""
from __future__ import annotations

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
          "六": 6, "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL_CHARS = "".join(DIGITS) + "".join(UNITS) + "0123456789０１２３４５６７８９"


def to_int(text: str) -> int:
    """Parse ``text`` (Chinese numerals below 10,000, or digits); ValueError if it is neither."""
    text = text.strip()
    if not text:
        raise ValueError("空的数字")
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    last_unit = 10_000
    for ch in text:
        if ch in DIGITS:
            current = DIGITS[ch]
        elif ch in UNITS:
            unit = UNITS[ch]
            if unit >= last_unit:
                raise ValueError(f"不是合法的中文数字：{text}")
            total += (current or 1) * unit
            current = 0
            last_unit = unit
        else:
            raise ValueError(f"不是合法的中文数字：{text}")
    return total + current


def to_chinese(n: int) -> str:
    """Article-number style: 10 → 十, 110 → 一百一十, 1010 → 一千零一十."""
    if n < 0 or n >= 10_000:
        raise ValueError(f"超出范围：{n}")
    if n == 0:
        return "零"
    names = "零一二三四五六七八九"
    parts = []
    zero = False
    for unit, char in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // unit % 10
        if d == 0:
            if parts:
                zero = True
            continue
        if zero:
            parts.append("零")
            zero = False
        parts.append(names[d] + char)
    out = "".join(parts)
    return out[1:] if out.startswith("一十") else out
