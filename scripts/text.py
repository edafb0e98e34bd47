"""Matching quotes against source texts, and numbers against quotes.

The documented normalisation is deliberately small: runs of spaces and tabs become one space;
typographic quotes, apostrophes and dashes become their ASCII forms. A line break is a paragraph
break: a quote never matches across one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark, apostrophe
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",  # prime
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2212": "-",  # minus sign
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space
        "\t": " ",
    }
)
_SPACES = re.compile(r"[ \r\n]+")
_RUNS = re.compile(r" [ \r\n]+|[\r\n][ \r\n]*")  # whitespace that normalising changes
# the same runs where no space is followed by whitespace: the engine stops only at line
# breaks, where _RUNS tries a match at every space (normalising the seeds of a 100k-claim
# tree: 0.18 -> 0.105 s)
_BREAK_RUNS = re.compile(r"[\r\n][ \r\n]*")


@dataclass(frozen=True)
class NormalisedText:
    """A text after normalisation, and what it takes to map positions back to the original.

    Characters are translated one for one; only whitespace runs shrink. `breaks` holds each
    normalised position after which the original is `shifts[i]` characters further on.
    """

    text: str
    breaks: tuple[int, ...]
    shifts: tuple[int, ...]
    length: int  # length of the original

    def original(self, index: int) -> int:
        """The original position of normalised character `index`."""
        k = bisect_right(self.breaks, index)
        return index + (self.shifts[k - 1] if k else 0)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised [start, end) span back to the original text."""
        return self.original(start), self.original(end - 1) + 1


def normalise(text: str) -> NormalisedText:
    """Apply the documented normalisation, remembering where the text shrank."""
    translated = text.replace("\t", " ") if text.isascii() else text.translate(_TRANSLATE)
    parts: list[str] = []
    breaks: list[int] = []
    shifts: list[int] = []
    shift = position = size = 0
    spaced = "  " in translated or " \n" in translated or " \r" in translated
    for match in (_RUNS if spaced else _BREAK_RUNS).finditer(translated):
        parts.append(translated[position : match.start()])
        parts.append("\n" if "\n" in match.group() else " ")
        size += match.start() - position + 1
        removed = match.end() - match.start() - 1
        if removed:
            shift += removed
            breaks.append(size)
            shifts.append(shift)
        position = match.end()
    parts.append(translated[position:])
    return NormalisedText("".join(parts), tuple(breaks), tuple(shifts), len(text))


def normalise_quote(quote: str) -> str:
    """Normalise a quote; its own line breaks (YAML folding) count as plain spaces."""
    # ASCII text needs only its tabs translated; single spaces need no substitution
    text = quote.replace("\t", " ") if quote.isascii() else quote.translate(_TRANSLATE)
    if "  " in text or "\n" in text or "\r" in text:
        text = _SPACES.sub(" ", text)
    return text.strip()


def find_quote(source: NormalisedText, quote: str) -> tuple[int, int] | None:
    """Find a quote in a normalised source; return its span in the original text, or None."""
    return find_normalised(source, normalise_quote(quote))


def find_normalised(source: NormalisedText, needle: str) -> tuple[int, int] | None:
    """find_quote for a quote normalised already."""
    if not needle:
        return None
    index = source.text.find(needle)
    if index < 0:
        return None
    return source.original_span(index, index + len(needle))


def closest_passage(source: NormalisedText, original: str, quote: str) -> tuple[str, float]:
    """The passage of the original text most like the quote, and how alike they are (0-100)."""
    from rapidfuzz import fuzz  # imported when a quote is not found (costly at start-up)

    needle = normalise_quote(quote)
    best = ("", 0.0)
    start = 0
    for paragraph in source.text.split("\n"):
        alignment = fuzz.partial_ratio_alignment(needle, paragraph)
        if alignment is not None and alignment.score > best[1] and alignment.dest_end > 0:
            begin, end = _whole_words(paragraph, alignment.dest_start, alignment.dest_end)
            first, last = source.original_span(start + begin, start + end)
            best = (original[first:last], alignment.score)
        start += len(paragraph) + 1
    return best


def normalisation_difference(source: NormalisedText, needle: str) -> str | None:
    """If a quote (normalised) that is not in the source is there once both are in Unicode's
    NFC, how they differ ("the quote is NFD, the source NFC"); else None. Such a quote looks
    identical to its passage, so a closest passage would explain nothing."""
    import unicodedata

    if unicodedata.is_normalized("NFC", needle) and unicodedata.is_normalized("NFC", source.text):
        return None
    composed = unicodedata.normalize("NFC", needle)
    if composed not in unicodedata.normalize("NFC", source.text):
        return None
    return f"the quote is {_normal_form(needle)}, the source {_normal_form(source.text)}"


def _normal_form(text: str) -> str:
    import unicodedata

    if unicodedata.is_normalized("NFC", text):
        return "NFC"
    return "NFD" if unicodedata.is_normalized("NFD", text) else "neither NFC nor NFD"


def _whole_words(text: str, begin: int, end: int) -> tuple[int, int]:
    """Widen [begin, end) so that it neither starts nor ends inside a word."""
    while begin > 0 and not text[begin - 1].isspace():
        begin -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return begin, end


@lru_cache(maxsize=4096)
def number_spellings(value: float) -> tuple[str, ...]:
    """The ways a quote may write a number: 3000 as '3,000', '3000', '3 000', 'three thousand'."""
    if value != int(value):
        text = f"{value:g}"
        return (text, text.replace(".", ","))
    number = int(value)
    spellings = {str(number), f"{number:,}", f"{number:,}".replace(",", " ")}
    from num2words import num2words  # imported when first needed (costly at start-up)

    words = num2words(number)
    spellings |= {words, words.replace(" and ", " "), words.replace("-", " ")}
    if number % 1_000_000 == 0 and number >= 1_000_000:
        spellings.add(f"{number // 1_000_000} million")
    if number % 1000 == 0 and number >= 1000:
        spellings.add(f"{number // 1000} thousand")
    return tuple(sorted(spellings, key=len, reverse=True))


_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[, ]\d{3})+|\d+)(?:\.(\d+))?(?![\d]|[.,]\d)")


@lru_cache(maxsize=4096)
def _words_pattern(value: float) -> re.Pattern:
    """Every spelling of a number in words, as one pattern."""
    words = [s.lower() for s in number_spellings(value) if not s[:1].isdigit()]
    return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, words)) + r")(?![\w-])")


def value_in_quote(value: float, quote: str) -> bool:
    """True if the quote writes the number, as digits or words, not as part of a larger number."""
    return value_in_text(value, normalise_quote(quote))


def value_in_text(value: float, text: str) -> bool:
    """value_in_quote for a quote normalised already."""
    for match in _NUMBER.finditer(text):
        whole = match.group(1).replace(",", "").replace(" ", "")
        number = float(f"{whole}.{match.group(2)}" if match.group(2) else whole)
        if number == value:
            return True
    if value != int(value):
        return False
    return _words_pattern(value).search(text.lower()) is not None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of a text as [start, end) offsets: paragraphs (lines) split by sentencex."""
    from sentencex import segment  # imported when first needed

    spans: list[tuple[int, int]] = []
    offset = 0
    for paragraph in text.split("\n"):
        if paragraph.strip():
            position = 0
            for sentence in segment("en", paragraph):
                piece = sentence.strip()
                start = paragraph.find(piece, position) if piece else -1
                if start < 0:
                    continue
                position = start + len(piece)
                spans.append((offset + start, offset + position))
        offset += len(paragraph) + 1
    return spans
