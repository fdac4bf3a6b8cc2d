"""Search keys for names and numbers: one spelling, whatever the script or accents.

Uzbek names are written in Latin (with ``oʻ``, ``gʻ`` and several apostrophe
look-alikes) and in Cyrillic, by the same people. A name is indexed folded
(case, accents and apostrophes removed) and, when it is Cyrillic, also
transliterated to Uzbek Latin; a query is folded the same way and tried in
both scripts. So "Шерзод", "sherzod" and "SHERZOD" find each other, and
"O'g'iloy", "Oʻgʻiloy" and "Огилой" too.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Uzbek Cyrillic → Latin (the 1995 alphabet), lower case; apostrophes dropped
# since folding removes them anyway.
_CYRILLIC: Final = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "yo",
    "ж": "j", "з": "z", "и": "i", "й": "y", "к": "k", "қ": "q", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ў": "o",
    "ф": "f", "х": "x", "ҳ": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "",
    "ы": "i", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
_APOSTROPHES: Final = re.compile("['`\u02bb\u02bc\u2018\u2019\u00b4]")
_SPACES: Final = re.compile(r"\s+")


def _strip_latin_accents(text: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isascii() or "LATIN" not in unicodedata.name(ch, ""):
            out.append(ch)  # Cyrillic keeps its own letters (й is not и)
        else:
            base = unicodedata.normalize("NFKD", ch)
            out.append("".join(c for c in base if not unicodedata.combining(c)))
    return "".join(out)


def fold(text: str) -> str:
    """Lower case, no Latin accents, no apostrophes, single spaces."""
    folded = _strip_latin_accents(text).casefold()
    return _SPACES.sub(" ", _APOSTROPHES.sub("", folded)).strip()


def to_latin(text: str) -> str:
    """A folded text with its Uzbek Cyrillic letters transliterated."""
    return "".join(_CYRILLIC.get(ch, ch) for ch in fold(text))


def search_terms(name: str, phone: str) -> str:
    """What the index holds for a recipient: the name in each script, the digits."""
    folded, latin = fold(name), to_latin(name)
    names = folded if folded == latin else f"{folded} {latin}"
    return f"{names} {digits(phone)}".strip()


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def query_forms(query: str) -> list[str]:
    """The spellings a query is searched in: folded, and transliterated if different;
    a query of digits and phone punctuation only is searched as its digits."""
    stripped = query.strip()
    if stripped and re.fullmatch(r"[\d\s+()\-.]+", stripped):
        return [digits(stripped)] if digits(stripped) else []
    forms = [fold(stripped), to_latin(stripped)]
    return [f for i, f in enumerate(forms) if f and f not in forms[:i]]
