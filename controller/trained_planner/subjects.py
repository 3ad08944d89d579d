"""What a picture, video or speech is of: "Draw a lighthouse at dusk, then describe it" -> "a lighthouse at
dusk"; a phrase that only points back ("it a video"); what "it" means in the request's own earlier words."""

from __future__ import annotations

import re

_LEAD = re.compile(
    r"^(?:(?:please|kindly|can you|could you|would you|i(?:'d| would) like (?:you )?to|i want (?:you )?to|"
    r"i need (?:you )?to|help me|let's|now|then|and|also|just|go ahead and|bitte|s'il te plaît|por favor|"
    r"per favore|i(?:'d| would)? (?:want|like|need))\s+)*",
    re.I,
)
_MAKE = re.compile(
    r"^(?:draw|paint|sketch|generate|create|make|produce|render|design|illustrate|imagine|show|give|get|send|see|"
    # French, German, Spanish, Italian, Portuguese, Dutch: the planner reads these requests too.
    r"dessine|crée|génère|zeichne|erstelle|erzeuge|male|dibuja|crea|genera|disegna|desenha|cria|gera|teken|"
    r"maak)\s+(?:me\s+|us\s+|moi\s+|mir\s+|uns\s+)?",
    re.I,
)
_MEDIUM = re.compile(
    r"^(?:(?:a|an|the|some|one|another|new)\s+)?(?:(?:short|little|quick|small|nice|cool|realistic|beautiful|"
    r"simple|brief|\d+[- ]?(?:second|sec|minute|min)s?|(?:one|two|three|five|ten)[- ](?:second|minute)s?)\s+)*"
    r"(?:image|picture|photo|photograph|drawing|painting|illustration|sketch|artwork|render|"
    r"video|clip|animation|movie|film|pic|poster|logo)s?\s+(?:of|showing|depicting|with|about|that shows|where)\s+",
    re.I,
)
_TAIL = re.compile(
    r"(?:,?\s+(?:and\s+then|then|and|after that|afterwards|next)\s+(?:describe|caption|read|say|speak|tell|"
    r"classify|detect|identify|translate|summari[sz]e|answer|turn|convert|make|use|estimate|segment|"
    r"generate|create|edit|transcribe|explain|write|show|find|check)\b.*|[.!?]+\s.*|[.!?]+$|"
    # "an image of a dog and a caption for it": the caption is another step's (image to text)
    r",?\s+(?:and|with|plus)\s+(?:a|an|its)\s+(?:short\s+)?(?:caption|description)\b.*|"
    r",?\s+(?:puis|et puis|ensuite|dann|und dann|luego|y luego|después|e poi|poi|depois|e depois|en dan|"
    r"daarna)\s.*)",
    re.I | re.S,
)


def asks_to_make(clause: str) -> bool:
    """The clause starts with a verb of making ("Then draw a knight", "please create ..."), not context."""
    return bool(_MAKE_VERB.match(_LEAD.sub("", clause.strip())))


# "Imagine this: ..." and "show me" start context as often as a step: not verbs of making here.
_MAKE_VERB = re.compile(
    r"^(?:draw|paint|sketch|generate|create|make|produce|render|design|illustrate)\b", re.I
)


def generation_phrase(clause: str) -> str:
    """'Draw a lighthouse at dusk, then describe it' -> 'a lighthouse at dusk'."""
    text = _LEAD.sub("", clause.strip())
    text = _MAKE.sub("", text)
    text = _MEDIUM.sub("", text)
    text = _TAIL.sub("", text).strip(" ,.;:")
    text = re.sub(r"(?:\s+(?:for (?:me|us)|instead)|,?\s+please)+$", "", text, flags=re.I)  # "a dog for me"
    return text or clause.strip()


# "make it a video", "a picture of that too": a phrase that names nothing but what came before.
_BACK_ONLY = re.compile(
    r"^(?:(?:it|this|that|them|same|the|a|an|one|of|into|as|to|too|also|now|turn|make|convert|transform|"
    r"version|short|little|quick|brief|small|animated|moving|video|clip|animation|movie|film|gif|image|"
    r"picture|drawing|photo|scene|thing|another|again|more|please|different|new|animate|narrate)\b|\W)+$",
    re.I,
)
_BACK = re.compile(r"\b(?:it|this|that|them|same|another|again|one more)\b", re.I)
# "another one", "again", "one more": a new take of what was made, not the same picture once more.
AGAIN = re.compile(r"\b(?:another|again|one more|a different one|a new one)\b", re.I)


def names_nothing(phrase: str) -> bool:
    """A generation phrase with nothing of its own to make: "a picture", "it", "it a video"."""
    return bool(_BACK_ONLY.match(phrase))


_EDIT = re.compile(r"^(?:it|them|this|that|these|those)\b", re.I)


def names_a_subject(phrase: str) -> bool:
    """A generation phrase that names what to make, not an edit of what was made ("make it red": "it red",
    which "now animate it" then filmed)."""
    return not names_nothing(phrase) and not _EDIT.match(phrase)


def points_back(phrase: str) -> bool:
    """A generation phrase that names nothing but what came before: "it", "it a video", "the same"."""
    return names_nothing(phrase) and bool(_BACK.search(phrase))


_ABOUT = re.compile(
    r"\b(?:about|of|on|regarding)\s+(.+)$|^(?:describe|imagine|picture|explain|consider|think of|"
    r"i (?:love|like|saw|see|want|remember))\s+(.+)$",
    re.I | re.S,
)


def subject_before(request: str, clause: str) -> str | None:
    """What "it" means in a request's own earlier words: "Tell me about the Eiffel Tower and then draw it"."""
    before = _TAIL.sub("", request[: max(request.find(clause.strip()), 0)].strip() + ".").strip(" ,.;:")
    before = re.sub(r"\s+(?:and|then|and then)$", "", before, flags=re.I)
    if not before:
        return None
    phrase = (m[1] or m[2]) if (m := _ABOUT.search(before)) else generation_phrase(before)
    return None if names_nothing(phrase) else phrase.strip(" ,.;:")


_NAME_WORDS = 3
_NAMED_FILE = re.compile(r"\.\w{2,4}$")  # "'example.txt'": a text file the writer works from


def names_in_prompt(quote: str) -> bool:
    """A quote this short in a writer's step is a name in its prompt ("write two sentences welcoming listeners
    to 'Tech Talk'"), not the text to write from: the writer was prompted "Tech Talk"."""
    return len(quote.split()) <= _NAME_WORDS and not _NAMED_FILE.search(quote)
