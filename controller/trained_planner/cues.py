"""Cue phrases: one regular expression per task type for the ways people ask for it, in English and a
few other languages. Each is one binary feature of the node model, so its weight is learned from the
(English) training data and carries over to every language the expression covers."""

from __future__ import annotations

import re

import numpy as np

from experts.tasks import TASK_ALIASES, TASK_TYPES

_CUES: dict[str, str] = {
    "text-classification": r"sentiment|positive or negative|sounds? (?:positive|negative|happy|angry)|tone of|"
    r"classify (?:this|the) (?:text|review|comment|sentence|message)|spam|toxic|stimmung|sentiment|sentimiento|情感",
    "token-classification": r"named entit|entities|\bner\b|people,? places|names? of (?:people|places|companies)|"
    r"part[- ]of[- ]speech|pos tag|entités|entidades|实体",
    "text2text-generation": r"paraphrase|rewrite|rephrase|correct (?:the )?grammar|fix (?:the )?(?:grammar|typos|spelling)|"
    r"simplify (?:this|the) (?:text|sentence)|reformule|umformulier|reescrib",
    "summarization": r"summar|summaris|synopsis|\btl;?dr\b|\bgist\b|key points|condense|shorten (?:this|the)|"
    r"\bfass\w* .{0,80}zusammen|"
    r"résum|zusammenfass|resum|要約|摘要|总结|概括",
    "translation": r"translat|in(?:to)? (?:english|german|french|spanish|italian|portuguese|chinese|japanese|korean|"
    r"russian|dutch|arabic|hindi)\b|übersetz|tradu|翻译|翻訳",
    "question-answering": r"(?:answer|respond to) (?:the|this|my) question|based on (?:this|the) (?:text|passage|paragraph|"
    r"article)|according to (?:the|this) (?:text|passage|article)|from (?:this|the) (?:passage|context)",
    "conversational": r"chatbot|dialogue|dialog|conversation|converse|chat with|reply as|respond as",
    "text-generation": r"write (?:a|an|me|some)|continue (?:the|this|my) (?:story|text|sentence)|compose|"
    r"generate (?:a |some )?(?:text|story|poem|paragraph|description|caption for)|draft|écri|schreib|escrib",
    "sentence-similarity": r"similar(?:ity)?|same meaning|how close|compare (?:these|the|two) (?:sentences|texts|phrases)|"
    r"semantic|ähnlich|similitud|相似",
    "zero-shot-classification": r"(?:labels?|categories|classes|topics?)\s*:|one of (?:these|the following)|"
    r"\b(?:is it|it's|it is|whether it's|if it's) (?:about )?\w+(?:, \w+)+,? or \w+|"
    r"which (?:category|topic|label)|categori[sz]e (?:this|the) (?:text|article|email)",
    "tabular-classification": r"\btable\b|tabular|spreadsheet|\bcsv\b|rows?|columns?",
    "object-detection": r"detect|bounding box|locate (?:the )?objects|find (?:all )?(?:the )?objects|what objects|"
    r"objects? (?:in|on)|count (?:the )?(?:people|cars|objects)|détect|erkenn|detect|检测",
    "image-classification": r"classify (?:the|this|my) (?:image|photo|picture)|what (?:kind|type|breed|species) of|"
    r"identify (?:the )?(?:breed|species|animal|plant|object in)|what is (?:in|this) (?:the|this)? ?(?:image|photo|picture)",
    "image-segmentation": r"segment|mask|separate (?:the )?(?:foreground|background|objects)|outline (?:each|the) "
    r"(?:object|region)|segmen|分割",
    "depth-estimation": r"depth|how far|distance (?:of|between|from)|3d|tiefe|profondeur|profundidad|深度",
    "image-to-text": r"describe (?:the|this|my|that|it|what)|caption|descri|what(?:'s| is) in (?:the|this|my) "
    r"(?:image|photo|picture)|tell me what (?:the|this) (?:image|photo|picture) shows|beschreib|描述|説明",
    "visual-question-answering": r"(?:how many|what colou?r|is there|are there|what is the .{0,30} (?:doing|wearing|holding))|"
    r"question about (?:the|this) (?:image|photo|picture)|in (?:the|this) (?:image|photo|picture)\?",
    "document-question-answering": r"document|invoice|receipt|form\b|scanned|pdf|contract|letter|page",
    "text-to-image": r"draw|paint|sketch|illustrat|(?:generate|create|make|produce|render) (?:me )?(?:an? )?"
    r"(?:image|picture|photo|drawing|illustration|artwork|poster|logo)|picture of|image of|dessin|zeichne|dibuj|"
    r"画|生成.{0,4}图",
    "image-to-image": r"edit|modify|make (?:it|the image|the photo) (?:look|brighter|darker|more)|style|turn (?:it|the "
    r"(?:image|photo|picture)) into|brighten|colou?rize|restyle|transform (?:the|this|my) (?:image|photo|picture)|"
    r"retouch|bearbeit|modifi",
    "text-to-video": r"video|clip|animation|animate|film|movie|vidéo|视频",
    "text-to-speech": r"aloud|read (?:it|this|that|the .{0,20}) (?:out|aloud)|speak|say (?:it|this|that)|voice|"
    r"speech|narrat|pronounc|spoken|audio (?:version|file) of|vorles|à voix haute|en voz alta|朗读|读出",
    "automatic-speech-recognition": r"transcri|speech[- ]to[- ]text|what (?:\w+ ){0,3}(?:said|says|saying)\b|"
    r"what (?:does|did) (?:\w+ ){0,2}say|write down what|dictat|transkri|听写|转录|文字起こし",
    "audio-to-audio": r"denois|noise|enhance (?:the )?(?:audio|recording|sound|voice)|clean (?:up )?(?:the )?(?:audio|"
    r"recording|sound)|hiss|separate (?:the )?(?:voice|vocals|speakers)|improve (?:the )?(?:audio|sound)",
    "audio-classification": r"what (?:kind|type) of (?:sound|audio|noise)|classify (?:the|this) (?:audio|sound|recording)|"
    # Birds and instruments only with a hearing word: "which bird is on the branch" is about a picture.
    r"identify (?:the )?(?:sound|noise|instrument|genre|speaker|emotion)|which (?:instrument|genre)|"
    r"(?:bird|instrument)s? (?:\w+ )?(?:i hear|is singing|are singing|is playing|in (?:the|this) (?:recording|audio|song))|"
    r"sound (?:event|class)",
}
CUE_LABELS: tuple[str, ...] = tuple(_CUES)
_COMPILED = {task: re.compile(pattern, re.I) for task, pattern in _CUES.items()}


def cue_vector(text: str, labels: tuple[str, ...] = CUE_LABELS) -> np.ndarray:
    """(len(labels),) 1.0 where the request uses a cue phrase for that task type."""
    head = text[:4000]  # cues live in the words a person types, not in a pasted document
    return np.array([1.0 if _COMPILED[t].search(head) else 0.0 for t in labels], dtype=np.float32)


# "Turn 'I love you' into speech in French": words that ask for speech outright, whatever else is asked.
_SPEECH_ASKED = re.compile(r"\b(?:into|as|to) (?:speech|audio)\b|\baloud\b|\bout loud\b", re.I)
SPEECH_ASKED_AT = 0.2  # the decision model's least word for speech that such words make a step


def speech_asked(request: str) -> bool:
    return bool(_SPEECH_ASKED.search(request))


def _name_pattern(slug_name: str) -> str:
    return r"[\s_-]+".join(re.escape(w) for w in slug_name.split("-"))


# Task types named outright ("the text classification of 'I love this movie'", "run object detection on ..."):
# the names of two words or more, and their unambiguous aliases; longest first, so that "visual question
# answering" is not read as question answering too. In TaskBench's requests, 99 of 100 named tasks are in the
# gold plan; planned at their threshold, fold models: edge 55.36 -> 55.37, node unchanged.
_NAMES = sorted(
    [
        (n, t)
        for n, t in [*((t, t) for t in TASK_TYPES), *TASK_ALIASES.items()]
        if "-" in n and t in TASK_TYPES
    ],
    key=lambda pair: -len(pair[0]),
)
_NAMED = re.compile("|".join(rf"(?P<t{k}>\b{_name_pattern(n)}\b)" for k, (n, _) in enumerate(_NAMES)), re.I)


def named_tasks(request: str) -> set[str]:
    """The task types a request names outright."""
    return {_NAMES[int(m.lastgroup[1:])][1] for m in _NAMED.finditer(request) if m.lastgroup}
