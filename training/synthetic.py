"""Everyday requests composed from step phrases: short, plain, chained the way people chain requests
("draw X, then describe it and read it aloud"). TaskBench's requests are long and formal and the
hand-written everyday lines are few; these fill the gap. Deterministic (seeded), so the training data's
fingerprint is stable. Subjects, texts and file names here are our own and appear in no test."""

from __future__ import annotations

import random
from dataclasses import dataclass

from controller.schema import ref
from controller.trained_planner.structure import feeds
from experts.tasks import TASK_TYPES
from training.data import Example

SUBJECTS = [
    "a fox asleep under a pine tree", "an old red tram in the rain", "a bowl of miso soup", "a castle on a cliff",
    "a robot watering plants", "two kittens playing with yarn", "a sunflower field at noon", "a snowy mountain hut",
    "a jazz band on a rooftop", "a sailboat in a storm", "a cup of coffee on a desk", "a dragon made of clouds",
    "a busy night market", "a lighthouse keeper's cottage", "a bicycle leaning on a wall", "a koala eating leaves",
    "a futuristic train station", "a quiet library at night", "a hot air balloon over hills", "a pirate ship",
]  # fmt: skip
TEXTS = [
    "The meeting moved to Thursday at ten.", "I really enjoyed the concert last night.",
    "Our flight was delayed by three hours and nobody told us why.", "The new phone battery lasts two days.",
    "Please remember to water the tomatoes.", "This is the worst pizza I have ever had.",
    "Maria and Tom visited Lisbon in June.", "The museum opens at nine on weekdays.",
    "Thanks for helping me move last weekend!", "The package arrived damaged and late.",
]  # fmt: skip
LANGS = ["German", "French", "Spanish", "Italian", "Japanese", "Portuguese", "Dutch", "Chinese"]
IMAGES = [
    "holiday.jpg",
    "IMG_2041.jpg",
    "garden.png",
    "street.jpeg",
    "kitchen.png",
    "https://example.org/pics/view.jpg",
]
DOCS = ["invoice.png", "receipt.jpg", "scan_page1.png", "form.jpg"]
AUDIO = ["memo.m4a", "call.wav", "lecture.mp3", "interview.wav", "https://example.org/audio/talk.mp3"]
QUESTIONS = [
    "how many people are there?",
    "what colour is the car?",
    "is it day or night?",
    "what is on the table?",
]
DOC_QUESTIONS = ["what is the total?", "what date is on it?", "who is it addressed to?"]
LABELS = ["sports, politics, technology", "billing, support, sales", "urgent, not urgent"]

# (task) -> phrases when the task starts from what the user gives: {s} subject, {t} text, {img} image,
# {doc} document image, {aud} audio, {lang} language, {q} question, {labels} labels
ROOT: dict[str, list[str]] = {
    "text-to-image": ["draw {s}", "generate an image of {s}", "make a picture of {s}", "paint {s}",
                      "create an illustration of {s}", "show me a picture of {s}", "I'd like an image of {s}"],
    "text-to-video": ["make a short video of {s}", "create a clip of {s}", "generate a video showing {s}",
                      "animate {s}"],
    "text-to-speech": ["read this aloud: {t}", "say '{t}'", "convert '{t}' to speech", "speak this: {t}",
                       "can you read '{t}' out loud"],
    "image-to-text": ["describe {img}", "caption {img}", "what's in {img}?", "write a caption for {img}",
                      "tell me what {img} shows"],
    "object-detection": ["detect the objects in {img}", "find all the objects in {img}",
                         "what objects are in {img}?", "draw boxes around the things in {img}"],
    "image-classification": ["classify {img}", "what kind of animal is in {img}?", "what is this a photo of: {img}",
                             "identify what {img} is"],
    "image-segmentation": ["segment {img}", "separate the objects in {img}", "make a segmentation mask of {img}"],
    "depth-estimation": ["estimate the depth of {img}", "make a depth map of {img}", "how far away are things in {img}?"],
    "image-to-image": ["make {img} look like a watercolor", "turn {img} into a pencil sketch", "edit {img} to be brighter",
                       "restyle {img} as a comic"],
    "visual-question-answering": ["look at {img}: {q}", "in {img}, {q}", "about {img} - {q}"],
    "document-question-answering": ["in {doc}, {q2}", "read {doc} and tell me {q2}", "from the document {doc}: {q2}"],
    "automatic-speech-recognition": ["transcribe {aud}", "what is said in {aud}?", "write down what {aud} says",
                                     "turn {aud} into text"],
    "audio-to-audio": ["clean up the noise in {aud}", "enhance {aud}", "remove the background hiss from {aud}"],
    "audio-classification": ["what sound is in {aud}?", "classify the audio {aud}", "what kind of noise is in {aud}?"],
    "translation": ["translate '{t}' into {lang}", "how do you say '{t}' in {lang}?", "put '{t}' into {lang}"],
    "summarization": ["summarize this: {t} {t2}", "give me a short summary of: {t} {t2}", "tl;dr: {t} {t2}"],
    "text-classification": ["is '{t}' positive or negative?", "what's the sentiment of '{t}'?",
                            "does '{t}' sound happy or angry?"],
    "token-classification": ["find the names in '{t}'", "which people and places are mentioned in '{t}'?",
                             "extract the entities from '{t}'"],
    "question-answering": ["using this text: '{t}', answer: {q3}", "read '{t}' and tell me: {q3}"],
    "text-generation": ["write a short poem about {s}", "write a story about {s}", "continue this: '{t}'"],
    "sentence-similarity": ["how similar are '{t}' and '{t2}'?", "do '{t}' and '{t2}' mean the same thing?"],
    "zero-shot-classification": ["sort '{t}' into one of these: {labels}", "which of {labels} fits '{t}'?"],
    "text2text-generation": ["rewrite '{t}' more politely", "fix the grammar in '{t}'", "paraphrase '{t}'"],
}  # fmt: skip
# (task) -> phrases when the task works on the previous step's output
NEXT: dict[str, list[str]] = {
    "image-to-text": ["describe it", "describe the picture", "write a caption for it", "tell me what it shows"],
    "text-to-speech": ["read it aloud", "read that out loud", "say it", "turn it into speech", "read the result aloud"],
    "translation": ["translate it into {lang}", "translate the result to {lang}", "put it in {lang}"],
    "summarization": ["summarize it", "give me a short summary", "sum it up"],
    "text-classification": ["tell me whether it sounds positive", "check the sentiment", "is it positive or negative?"],
    "object-detection": ["detect the objects in it", "find the objects in the result"],
    "image-classification": ["classify the result", "tell me what kind of thing it is"],
    "image-segmentation": ["segment it", "separate the objects in it"],
    "depth-estimation": ["estimate its depth", "make a depth map of it"],
    "image-to-image": ["make it look like an oil painting", "turn it into a sketch", "make it brighter"],
    "visual-question-answering": ["answer this about it: {q}", "tell me {q}"],
    "text-to-image": ["draw a picture of it", "make an image from it", "illustrate it"],
    "text-to-video": ["turn it into a video", "make a short clip from it"],
    "automatic-speech-recognition": ["transcribe it", "write down what it says"],
    "audio-to-audio": ["clean up the audio", "enhance it"],
    "audio-classification": ["tell me what kind of sound it is"],
    "token-classification": ["list the people and places in it", "find the names in it"],
    "text-generation": ["write a short story from it", "continue it"],
}  # fmt: skip
_TEXT_CONSUMERS = frozenset(
    {"text-to-speech", "translation", "summarization", "text-classification", "token-classification",
     "text-to-image", "text-to-video", "text-generation"}
)  # fmt: skip
# One phrase, two steps: "read its description aloud" is a caption read aloud.
COMPOUND: dict[str, list[tuple[str, list[str]]]] = {
    "image": [
        ("read its description aloud", ["image-to-text", "text-to-speech"]),
        ("tell me out loud what it shows", ["image-to-text", "text-to-speech"]),
        ("translate its caption into {lang}", ["image-to-text", "translation"]),
    ],
    "audio": [
        ("summarize what they said", ["automatic-speech-recognition", "summarization"]),
        ("translate what is said into {lang}", ["automatic-speech-recognition", "translation"]),
        ("tell me what the speaker said", ["automatic-speech-recognition"]),
    ],
}
JOINERS = [", then ", " and then ", ", and ", " and ", ". Then ", ", after that ", " then "]


@dataclass
class _Slots:
    rng: random.Random

    def fill(self, phrase: str) -> tuple[str, dict[str, str]]:
        values = {
            "s": self.rng.choice(SUBJECTS), "t": self.rng.choice(TEXTS), "t2": self.rng.choice(TEXTS),
            "img": self.rng.choice(IMAGES), "doc": self.rng.choice(DOCS), "aud": self.rng.choice(AUDIO),
            "lang": self.rng.choice(LANGS), "q": self.rng.choice(QUESTIONS), "q2": self.rng.choice(DOC_QUESTIONS),
            "q3": "when does it open?", "labels": self.rng.choice(LABELS),
        }  # fmt: skip
        return phrase.format(**values), values


def _args(task: str, values: dict[str, str], upstream: int | None, kind: str | None) -> dict[str, str]:
    args: dict[str, str] = {}
    for inp in TASK_TYPES[task].inputs:
        if upstream is not None and inp.kind == kind and not args.get("_linked"):
            args[inp.name] = ref(upstream)
            args["_linked"] = "1"
        elif inp.kind == "image":
            args[inp.name] = values["doc"] if task == "document-question-answering" else values["img"]
        elif inp.kind == "audio":
            args[inp.name] = values["aud"]
        elif inp.name == "target_language":
            args[inp.name] = values["lang"]
        elif inp.required:
            args[inp.name] = values["s"] if task in ("text-to-image", "text-to-video") else values["t"]
    args.pop("_linked", None)
    return args


def synthetic_examples(n: int = 1500, seed: int = 7) -> list[Example]:
    rng = random.Random(seed)
    slots = _Slots(rng)
    out: list[Example] = []
    roots = sorted(ROOT)
    for k in range(n):
        first = rng.choice(roots)
        phrase, values = slots.fill(rng.choice(ROOT[first]))
        plan = [{"id": 0, "task": first, "dep": [], "args": _args(first, values, None, None)}]
        parts = [phrase]
        for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
            prev = plan[-1]["task"]
            options = [
                t
                for t in sorted(NEXT)
                if (kind := feeds(prev, t))
                and t not in {p["task"] for p in plan}
                and (kind != "text" or t in _TEXT_CONSUMERS)
            ]
            made = next((k for k in ("image", "audio") if k in TASK_TYPES[prev].output_kinds), None)
            if made and rng.random() < 0.25:
                phrase_, tasks = rng.choice(COMPOUND[made])
                step, more = slots.fill(phrase_)
                values["lang"] = more["lang"]
                for nxt in tasks:
                    j = len(plan)
                    link = feeds(plan[-1]["task"], nxt)
                    plan.append(
                        {"id": j, "task": nxt, "dep": [j - 1], "args": _args(nxt, values, j - 1, link)}
                    )
                parts.append(step)
                break
            if not options:
                break
            nxt = rng.choice(options)
            step, more = slots.fill(rng.choice(NEXT[nxt]))
            values.update({k2: v for k2, v in more.items() if k2 in ("lang", "q")})
            j = len(plan)
            plan.append(
                {"id": j, "task": nxt, "dep": [j - 1], "args": _args(nxt, values, j - 1, feeds(prev, nxt))}
            )
            parts.append(step)
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(JOINERS) + part
        if rng.random() < 0.3:
            text = rng.choice(["please ", "can you ", "could you ", "hey, ", ""]) + text
        if rng.random() < 0.5:
            text = text[0].upper() + text[1:]
        labels = {p["task"] for p in plan}
        out.append(Example(text, labels, f"synthetic:{k}", "synthetic", plan))
    return out
