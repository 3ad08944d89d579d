import pytest

from controller.jsonish import JSONishError, extract_json


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('[{"a": 1}]', [{"a": 1}]),
        ('Here is the plan:\n```json\n[{"a": 1}]\n```\nLet me know!', [{"a": 1}]),
        (
            "```\n{'tasks': [{'task': 'x', 'ok': True, 'n': None}]}\n```",
            {"tasks": [{"task": "x", "ok": True, "n": None}]},
        ),
        ('{"tasks": [{"a": 1,}, {"b": [1, 2,],},],}', {"tasks": [{"a": 1}, {"b": [1, 2]}]}),
        (
            "Sure, I'll do it: [{'text': \"don't stop\", 'flag': true}] hope that's fine",
            [{"text": "don't stop", "flag": True}],
        ),
        ('The request [see below] needs:\n[{"a": "x ] y"}]', [{"a": "x ] y"}]),
        (
            '{"a": "contains true and null words", "b": false}',
            {"a": "contains true and null words", "b": False},
        ),
    ],
)
def test_reads_json_the_way_llms_write_it(reply, expected):
    assert extract_json(reply) == expected


def test_a_broken_list_is_not_read_as_its_first_element():
    # Reading only the first object would silently drop the second task.
    with pytest.raises(JSONishError):
        extract_json('[{"task": "a"}, {"task": "b" "args": {}}]')


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("I cannot help with that.", "no JSON"),
        ('[{"task": "image-to-text", "args": {"image": "a.png"}}, {"task": "text-to-sp', "cut off"),
    ],
)
def test_unreadable_replies_say_why(reply, reason):
    with pytest.raises(JSONishError, match=reason):
        extract_json(reply)
