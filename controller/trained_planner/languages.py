"""Which language a translation goes into: named in English ("into German", "a French version"), in German,
French or Spanish ("ins Französische"), off the list ("into Klingon"), or alone in a follow-up ("and to
Italian?", which translates the earlier text again)."""

from __future__ import annotations

import re

LANGUAGES = (
    "English", "German", "French", "Spanish", "Italian", "Portuguese", "Dutch", "Russian", "Chinese",
    "Japanese", "Korean", "Arabic", "Hindi", "Turkish", "Polish", "Swedish", "Norwegian", "Danish",
    "Finnish", "Greek", "Czech", "Hungarian", "Romanian", "Ukrainian", "Vietnamese", "Thai",
    "Indonesian", "Hebrew", "Bengali", "Urdu", "Persian", "Malay", "Catalan", "Swahili", "Tagalog",
)  # fmt: skip
_TARGET = re.compile(
    r"\b(?:in|into|to)\s+("
    + "|".join(LANGUAGES)
    + r")\b|\b("
    + "|".join(LANGUAGES)
    + r")\s+(?:translation|version)\b",
    re.I,
)


def find_target_language(text: str, unquoted: str) -> str | None:
    """The language a translation goes into: "into German", "a French version", "ins Französische", "into
    Klingon"; ``unquoted``: ``text`` with its quotes blanked ("translate 'take me to Paris'")."""
    for m in _TARGET.finditer(text):
        name = (m.group(1) or m.group(2)).capitalize()
        if name != "English" or re.search(r"\b(?:into|to)\s+english\b", text, re.I):
            return name
    # A language named in German, French or Spanish ("ins Französische", "en anglais", "al alemán").
    if m := _NAMED_ELSEWHERE.search(unquoted):
        return _ALIASES[m[1].lower()[:5]]
    # A language not in the list ("Translate this into Klingon: hello") is passed on, never made English.
    m = _OTHER_TARGET.search(unquoted)
    return m[1] if m else None


_ALIASES = {  # the first five letters of a language's name in German, French or Spanish
    "franz": "French", "franç": "French", "franc": "French", "deuts": "German", "allem": "German",
    "alemá": "German", "alema": "German", "engli": "English", "angla": "English", "inglé": "English",
    "ingle": "English", "spani": "Spanish", "espag": "Spanish", "españ": "Spanish", "espan": "Spanish",
    "itali": "Italian", "japan": "Japanese", "japon": "Japanese", "chine": "Chinese", "chino": "Chinese",
    "russi": "Russian", "russe": "Russian", "ruso": "Russian",
}  # fmt: skip
_NAMED_ELSEWHERE = re.compile(
    r"\b(?:ins|auf|in|en|al|a)\s+(?:das\s+)?(französisch\w*|deutsch\w*|englisch\w*|spanisch\w*|italienisch\w*|"
    r"japanisch\w*|chinesisch\w*|russisch\w*|français|francais|anglais|allemand|espagnol|italien|japonais|chinois|"
    r"russe|francés|frances|inglés|ingles|alemán|aleman|español|espanol|italiano|japonés|chino|ruso)\b",
    re.I,
)


_OTHER_TARGET = re.compile(r"\b(?i:translat)\w*\b[^.?!:]*?\b(?:in|into|to)\s+([A-Z][a-z]{3,})\b")


_ANOTHER_LANGUAGE = re.compile(
    rf"^\W*(?:(?:and|now|also|what about|how about|then)\W+)*(?:(?:to|into|in)\s+)?({'|'.join(LANGUAGES)})\W*$",
    re.I,
)


def language_alone(request: str) -> str | None:
    """The language a follow-up names and nothing else: "and to Italian?", "what about German"."""
    return m[1].capitalize() if (m := _ANOTHER_LANGUAGE.match(request.strip())) else None


def translated_before(request: str, history_request: str | None, history_quote: str | None) -> str | None:
    """For a follow-up that names only another language, after a turn that asked for one, the text an earlier
    turn gave to translate ("and to Italian?" after "Translate 'good morning' to Spanish": 'good morning', not
    the Spanish); after "Write a poem 'X'", "in French" translates the poem."""
    before = history_request or ""
    asked_a_language = find_target_language(before, before) is not None or language_alone(before)
    return history_quote if asked_a_language and language_alone(request) else None
