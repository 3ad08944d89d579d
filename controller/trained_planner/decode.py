"""One request to one plan: task types from the model, order and wiring from the structure rules, and
argument values copied from the conversation. Pure and synchronous: the planner runs it on a thread."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from controller.schema import Task, ref
from controller.trained_planner.arguments import (
    GENERATORS,
    REFERS_BACK,
    WRITERS,
    Given,
    Media,
    lacks,
    linked_slot,
    media_inputs,
    read_given,
    text_value,
)
from controller.trained_planner.asking import (
    ABOUT_SERVICE,
    MAKING,
    MENTIONS,
    NO_TAKER,
    ask_for,
    ask_for_referred_file,
    asks_about_service,
    likeliest_on,
    made_before,
    pointed_at,
    text_to_ask_for,
    what_can_run,
)
from controller.trained_planner.completion import (
    LEAST,
    bridge_to_unlinked,
    cover_steps,
    for_each_other_file,
    likeliest,
    makers_for_unfed,
    reader_of_made_media,
    redo_of_last_text,
    taker_of_made_media,
    taker_of_unused_file,
)
from controller.trained_planner.cues import SPEECH_ASKED_AT, named_tasks, speech_asked
from controller.trained_planner.mediums import (
    about,
    each_drawing_step,
    edit_of_named_picture,
    make_again,
    makers_of_other_media,
    unlink_parts,
    written_about,
)
from controller.trained_planner.model import CHAT, PlannerModel
from controller.trained_planner.questions import asks_the_picture
from controller.trained_planner.repeats import each_listed
from controller.trained_planner.structure import (
    LABELLERS,
    Layout,
    clauses,
    makes_media,
    on_own_inputs,
    only_names_files,
    opens_with_back_reference,
    order,
    pair_features,
    reads_only_a_label,
    text_behind_label,
    to_first_made,
    to_named_outputs,
    wire,
)
from controller.trained_planner.subjects import (
    AGAIN,
    generation_phrase,
    names_nothing,
    points_back,
    subject_before,
)
from experts.tasks import TASK_TYPES, MediaKind


@dataclass
class Decision:
    tasks: list[Task]
    chat_reason: str | None = None  # set when no task should run
    ask: str | None = None  # the reply itself when nothing runs: the input asked for, why not, or what can


def decide(
    model: PlannerModel,
    request: str,
    history: list[tuple[str, str]],
    embeddings: np.ndarray,
    tuned: np.ndarray,
    offered: Collection[str],
    max_tasks: int = 10,
) -> Decision:
    """``embeddings``: MiniLM vectors of ``model.embedding_texts(request)`` (the request, then its clauses);
    ``tuned``: the fine-tuned detector's probabilities for the same texts, (1 + clauses, L)."""
    if asks_about_service(request):
        # Answered from the live task types: a small chat model asked this invents skills ("proofreading").
        return Decision([], chat_reason=ABOUT_SERVICE, ask=what_can_run(offered))
    probs = model.probabilities(model.features([request], embeddings[:1]))[0]
    labels = model.labels
    chat_i = labels.index(CHAT)
    pieces = clauses(request)
    evidence = model.clause_log_probs([c for _, c in pieces], embeddings[1:])
    # The decision model weighs the whole request's and the clauses' evidence for each task.
    decided = model.decision_probabilities(probs, evidence, len(request.split()), tuned)
    # What each clause alone says (the clause model and the detector together): it places each task and
    # finds the steps no chosen task covers.
    placing = evidence + CLAUSE_DETECTOR_WEIGHT * np.log(np.clip(tuned[1:], 1e-5, 1 - 1e-5))
    # An "[attached audio: …]" line is where a file was given, not a step: a task placed there (it reads as
    # transcription) was ordered after the steps the text asks for first. So is "Take selfie.jpg" (it read
    # as a caption, placed before the edit it describes). Grouped CV: node 85.02 -> 85.06, edge 55.33 -> 55.36.
    markers = np.array([only_names_files(c) for _, c in pieces])
    if markers.any() and not markers.all():
        placing[markers] = -np.inf
    readings = np.exp(placing / 2)
    back = [opens_with_back_reference(c) for _, c in pieces]
    decided = cover_steps(decided, readings, model.thresholds, chat_i, back)
    if speech_asked(request) and SPEECH_ASKED_AT <= decided[speech := labels.index("text-to-speech")]:
        # "into speech", "aloud": speech at 0.48 was left out (grouped CV unchanged from 0.1 to 0.3).
        decided[speech] = max(decided[speech], model.thresholds[speech])
    for named in named_tasks(request):  # "the text classification of 'I love this movie'" made a video
        decided[k] = max(decided[k := labels.index(named)], model.thresholds[k])
    # Each task's strongest reading in one clause (a one-clause request's reading is the whole request's).
    said = {label: float(readings[:, i].max()) for i, label in enumerate(labels)} if len(pieces) > 1 else {}
    task_p = {label: float(decided[i]) for i, label in enumerate(labels) if label != CHAT}
    # Either model's word alone, for the fallbacks below: the linear node model or the fine-tuned detector.
    node_p = {label: float(max(probs[i], tuned[0, i])) for i, label in enumerate(labels) if label != CHAT}
    chosen = [t for t, p in task_p.items() if p >= model.thresholds[labels.index(t)]]
    top = max(node_p, key=node_p.__getitem__)
    # Weak evidence for a task still plans it when it beats the two models' mean chat probability: the linear
    # model alone read keyboard mash as a drawing (0.23 text to image, 0.20 chat; the detector: 0.98 chat).
    # Grouped CV: everyday lines 76 -> 74 wrong of 510 (the max of the two: 75), TaskBench unchanged.
    if not chosen and node_p[top] >= LEAST and node_p[top] > (probs[chat_i] + tuned[0, chat_i]) / 2:
        chosen = [top]  # a short request: weak evidence, but more for this task than for a chat
    given = read_given(request, history)
    if given.media and all(m.kind in NO_TAKER for m in given.media) and not MAKING.search(request):
        # "Tell me what's happening in party.mp4" made a new video from the request's words; "create a video
        # ..., I have a reference video 'example.mp4'" still makes one.
        kind = given.media[0].kind
        return Decision(
            [],
            chat_reason=f"no expert works on {kind} files",
            ask=f"None of the experts here can open a {kind} file, so {given.media[0].value} was not used and "
            f"nothing was made. {what_can_run(offered)}",
        )
    # A follow-up about an earlier file ("how many people are in it?") is work on that file, not chat.
    # Without a file of its own, a question after a file ("how many windows are there?") is about that file
    # too: out of context it reads as chat (0.98) even when the question-answering task is chosen.
    follow_up = bool(given.history_media) and (REFERS_BACK.search(request) is not None or not given.media)
    on_earlier_file = follow_up and any(not lacks(given, i.kind) for t in chosen for i in media_inputs(t))
    # A short question about an earlier file without "it" ("what colour are the boots?") reads as chat to
    # models that see no history: the likeliest task on that kind of file runs when either model gives it at
    # least LEAST. Grouped CV: 2 more of the 28 everyday follow-ups on a file right, no chat line lost
    # (at 0.05: 4 more, but "how did you make that voice?" ran a task).
    if not chosen and given.history_media and not given.media:
        best = likeliest_on({m.kind for m in given.history_media}, offered, node_p)
        if best is not None:
            chosen, on_earlier_file = [best], True
    newest = given.history_media[0].kind if given.history_media and not given.media else None
    if asks_the_picture(request, chosen, newest, offered):  # "is the cat happy?" after a drawing
        chosen, on_earlier_file = ["visual-question-answering"], True
    chat_wins = probs[chat_i] >= 0.5 and probs[chat_i] >= max((task_p[t] for t in chosen), default=0.0)
    if not chosen or (chat_wins and not on_earlier_file):
        if (redo := redo_of_last_text(request, given, offered)) is not None:
            chosen = [redo]  # "make it longer": work on the last reply's text
        elif (again := make_again(request, history, offered)) is not None:
            chosen = [again]  # "one more please": a new take of what the last reply made
        elif (ask := ask_for_referred_file(request, given, node_p, offered)) is not None:
            return Decision([], ask=ask)
        else:
            return Decision([], chat_reason="the request needs no model")
    chosen.sort(key=lambda t: -task_p[t])
    missing = [t for t in chosen if t not in offered]
    chosen = [t for t in chosen if t in offered][:max_tasks]
    chosen += makers_for_unfed(chosen, given, task_p, offered, max_tasks)
    chosen += taker_of_unused_file(chosen, given, task_p, offered, max_tasks, len(request.split()))
    chosen += reader_of_made_media(chosen, given, task_p, offered, max_tasks, said)
    chosen += taker_of_made_media(chosen, given, task_p, offered, max_tasks, readings, labels)
    chosen += makers_of_other_media(chosen, [c for _, c in pieces], offered, max_tasks)
    if not chosen:
        names = ", ".join(t.replace("-", " ") for t in missing)
        # Said plainly, never handed to a chat model: it would answer as if the work had been done.
        return Decision(
            [],
            chat_reason=f"no live expert serves what the request needs ({names})",
            ask=f"No expert for what you asked ({names}) is running right now, so nothing was made. "
            "They may still be starting: try again in a minute (GET /v1/models shows which are live).",
        )
    # "this audio" with no audio given asks for it, unless a task asked for before it makes that audio
    # ("turn the text into speech, then clean up this audio"), or no task works on that kind of file ("my
    # upcoming video project": a video to make, not one to give).
    pointed = pointed_at(request)
    wanted = pointed and next(
        ((t, i.kind) for t in chosen for i in media_inputs(t) if i.kind in pointed[0]), None
    )
    if (
        wanted
        and all(lacks(given, kind) for kind in pointed[0])
        and not any(made_before(chosen, kind, pointed[1], pieces, evidence, labels) for kind in pointed[0])
    ):
        return Decision([], ask=ask_for(wanted[1], wanted[0]))
    if (
        pointed
        and not wanted
        and all(lacks(given, kind) for kind in pointed[0])
        and not any(kind in TASK_TYPES[t].output_kinds for t in chosen for kind in pointed[0])
        and any(i.kind in pointed[0] for t in offered for i in media_inputs(t))
    ):
        # "Can you summarise this audio for me?" with no audio summarised the question itself: no chosen task
        # opens the file the request points at, so it is asked for (which task would open it is a guess:
        # the likeliest one here was audio classification).
        return Decision([], ask=ask_for(pointed[0][0], None))
    needs_source = {t for t in chosen if any(lacks(given, i.kind) for i in media_inputs(t))}
    # A doubtful task whose input nobody gives or makes was most likely misread: drop it rather than ask.
    orphans = [t for t in needs_source if not any(makes_media(s, t) for s in chosen if s != t)]
    # A likely one is kept (and its input asked for) only when the request talks about that kind of file.
    kept = [
        t
        for t in chosen
        if t not in orphans
        or (task_p[t] >= _SURE and any(MENTIONS[i.kind].search(request) for i in media_inputs(t)))
    ]
    if not kept:
        # Every task wants a file nobody gives: the likeliest task that can run on what was given was meant
        # ("improve the quality of example.jpg" read as audio); failing that, the input is asked for.
        runnable = [
            t for t in task_p if t in offered and not any(lacks(given, i.kind) for i in media_inputs(t))
        ]
        best = likeliest(runnable, node_p)
        kept = [best] if best is not None else chosen
    chosen, needs_source = kept, needs_source & set(kept)
    # Each task is placed in the clause that the clause model and the detector, reading each clause alone,
    # find likeliest to ask for it (together: edge F1 +0.7 in grouped CV over the clause model alone).
    layout, ordered, links = _arrange(model, pieces, placing, chosen, given, needs_source)
    if dropped := reads_only_a_label(ordered, links):
        chosen = [t for t in chosen if t not in dropped]
        layout, ordered, links = _arrange(model, pieces, placing, chosen, given, needs_source - dropped)
    if (bridging := bridge_to_unlinked(ordered, links, task_p, offered, max_tasks)) is not None:
        bridge, target = bridging
        lacking = {bridge} if any(lacks(given, i.kind) for i in media_inputs(bridge)) else set()
        bridged = _arrange(model, pieces, placing, [*chosen, bridge], given, needs_source | lacking)
        # Kept only where it ends up between an earlier task and the one it was added for (placed elsewhere,
        # it was most likely misread).
        k = bridged[1].index(bridge)
        if k in bridged[2] and bridged[2].get(bridged[1].index(target), (None,))[0] == k:
            layout, ordered, links = bridged
    task_clauses = [layout.clauses[layout.where[t][0]] for t in ordered]
    links = unlink_parts(ordered, to_first_made(ordered, links, task_clauses), task_clauses)
    links = to_named_outputs(ordered, on_own_inputs(ordered, links, task_clauses, given), task_clauses)
    tasks, ask = _fill(ordered, links, given, request, task_clauses, max_tasks)
    tasks = edit_of_named_picture(tasks, [m.value for m in given.media_of("image")], offered)
    if ask := ask or text_to_ask_for(tasks, request, given):
        return Decision([], ask=ask)
    taken = {where[0] for where in layout.where.values()}
    return Decision(each_drawing_step(tasks, layout.clauses, taken, readings, labels, max_tasks))


CLAUSE_DETECTOR_WEIGHT = 1.0  # of the detector's log-probability per clause (0.5 and 2 placed worse)
_SURE = 0.6  # a task this likely is asked for even when its input is missing


def locate(
    model: PlannerModel, pieces: list[tuple[int, str]], evidence: np.ndarray, tasks: list[str], given: Given
) -> Layout:
    """Where the request asks for each task: the clause the clause model finds likeliest to ask for it
    (``evidence``: ``model.clause_log_probs`` of ``pieces``), and the strongest word in that clause."""
    where: dict[str, tuple[int, int]] = {}
    spread: dict[str, float] = {}
    places = np.arange(len(pieces)) / max(len(pieces) - 1, 1)
    for t in tasks:
        column = evidence[:, model.labels.index(t)]
        k = int(np.argmax(column))
        offset, text = pieces[k]
        where[t] = (k, offset + model.strongest_offset(text, t))
        weights = np.exp(column - column.max())
        spread[t] = float(places @ weights / weights.sum())
    literals = {kind: len(given.media_of(kind)) for kind in ("image", "audio", "video")}
    literals["text"] = len(given.quotes) + (1 if given.after_colon else 0)
    return Layout(where, literals, [c for _, c in pieces], spread)


def _arrange(
    model: PlannerModel,
    pieces: list[tuple[int, str]],
    placing: np.ndarray,
    chosen: list[str],
    given: Given,
    needs_source: set[str],
) -> tuple[Layout, list[str], dict[int, tuple[int, MediaKind]]]:
    """Where each task is asked for, their order, and which earlier task feeds each."""
    layout = locate(model, pieces, placing, chosen, given)
    ordered = order(chosen, lambda a, b: before_probability(model, a, b, layout), needs_source)
    return layout, ordered, wire(ordered, needs_source, model.link)


def before_probability(model: PlannerModel, a: str, b: str, layout: Layout) -> float:
    x = pair_features(a, b, layout, float(model.order_prior[model.labels.index(a), model.labels.index(b)]))
    return float(1.0 / (1.0 + np.exp(-(x @ model.order_coef))))


def _fill(
    order: list[str],
    links: dict[int, tuple[int, MediaKind]],
    given: Given,
    request: str,
    task_clauses: list[str],
    max_tasks: int,
) -> tuple[list[Task], str | None]:
    used: dict[MediaKind, int] = {}
    quotes = list(given.quotes)
    tasks: list[Task] = []
    for j, name in enumerate(order):
        spec = TASK_TYPES[name]
        args: dict[str, str] = {}
        link = links.get(j)
        if link is not None and (behind := text_behind_label(name, tasks[link[0]], given)) is not None:
            args["text"], link = behind
        if link is not None and (slot := linked_slot(name, link[1], given)) is not None:
            args[slot] = ref(link[0])
            if name in WRITERS and tasks[link[0]].task in LABELLERS:  # "write a fun fact about it"
                args[slot] = about(task_clauses[j], ref(link[0])) or args[slot]
        for inp in spec.inputs:
            if inp.name in args:
                continue
            if inp.kind != "text":
                media = _next_media(given, inp.kind, used)
                if media is None:
                    return [], ask_for(inp.kind, name)
                args[inp.name] = media.value
                continue
            # A writer or a generator leaves a quote in a later task's own clause to that task: "write a poem about
            # autumn, ..., and tell me how similar the poem is to 'leaves fall softly'" asked for 'leaves fall
            # softly'; "Draw a red fox, ... and read 'good morning' aloud" drew 'good morning' (a generator whose
            # clause names nothing, "draw a picture and a video of '...'", still takes it). Grouped CV:
            # v-F1 unchanged for writers, 52.69 -> 52.64 with generators too (kept: TaskBench's generators take
            # a context quote from a later clause; a user's drawing is of its own words).
            later = [
                q
                for q in quotes
                if (
                    name in WRITERS
                    or (name in GENERATORS and not names_nothing(generation_phrase(task_clauses[j])))
                )
                and q not in task_clauses[j]
                and any(q in c for c in task_clauses[j + 1 :])
            ]
            mine = [q for q in quotes if q not in later]
            value = text_value(name, inp.name, given, mine, request, task_clauses[j], later)
            if name in GENERATORS and points_back(generation_phrase(task_clauses[j])):
                # "Generate an image of a cat wearing a hat, then make a video of it": the video is of what
                # this request made before it, not of "it" (nor of the last turn's subject).
                value = next((t.args["text"] for t in reversed(tasks) if t.task in GENERATORS), value)
                if value is not None and points_back(value):  # "Tell me about the Eiffel Tower and draw it"
                    value = subject_before(request, task_clauses[j]) or value
            if name in WRITERS:  # "Draw a sunset and write a poem about it": about the sunset
                value = written_about(task_clauses[j], tasks) or value
            quotes[:] = mine + later
            if value is not None:
                args[inp.name] = value
            elif inp.required:
                args[inp.name] = request
        if name in GENERATORS and given.history_request and AGAIN.search(task_clauses[j]):
            args["seed"] = str(
                len(given.history_media) + 1
            )  # "another one": a new take, not the same picture
        deps = [link[0]] if link is not None else []
        tasks.append(Task(id=j, task=name, dep=deps, args=args))
    tasks = each_listed(tasks, given, request, max_tasks)
    return tasks + for_each_other_file(tasks, given, used, request, max_tasks), None


def _next_media(given: Given, kind: MediaKind, used: dict[MediaKind, int]) -> Media | None:
    """The next file of this kind in the order the request names them; the last one again when a
    second task works on the same file; an earlier turn's file for a follow-up."""
    own = given.media_of(kind)
    if own:
        i = min(used.get(kind, 0), len(own) - 1)
        used[kind] = i + 1
        return own[i]
    return next((m for m in given.history_media if m.kind == kind), None)
