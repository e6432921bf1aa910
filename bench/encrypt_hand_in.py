"""In-process cost of field encryption per hand-in: no server, no database, one core.

A student of the junior battery (PHQ-A, GAD-7, ASQ) autosaves every answer and hands in. With
answers encrypted (docs/security.md), the web worker now also
- seals each draft answer when it is autosaved (bound to assignment, instrument and item),
- opens every draft at the hand-in,
- seals the answers, scores, critical and unanswered items of each response (bound to its key);
where it used to write the same values as JSON text. This times both, through the same functions
the hand-in path calls (xinqiao/screening/taking/services.py), under both cipher suites, and
prints the difference per hand-in. The server-side figures are in bench/submit.py.

    python bench/encrypt_hand_in.py [--rounds N] [--quick]

The RESULT line gives hand-ins per second of CPU under AES, with the plaintext path as the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from _common import ROOT, result_line  # noqa: F401  (ROOT: the checkout on sys.path)
from _layout import FIELD_KEY

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["FIELD_ENCRYPTION_KEY"] = FIELD_KEY

import django

django.setup()

from django.conf import settings  # noqa: E402

from xinqiao.instruments.definition import get_definition  # noqa: E402
from xinqiao.instruments.engine import score_response  # noqa: E402
from xinqiao.screening.taking.services import (  # noqa: E402
    _DRAFT_ANSWER,
    _SEALED_RESPONSE,
    _draft_row,
)

BATTERY = ("PHQ-A", "GAD-7", "ASQ")
ASSIGNMENT = 123_456
SEALED_NAMES = ("answers", "scores", "critical", "missing")


def hand_in() -> tuple[list[tuple[str, str, int]], list[tuple[str, dict[str, Any]]]]:
    """The drafts of one student (every item answered 1) and the responses they score to."""
    drafts, responses = [], []
    for code in BATTERY:
        defn = get_definition(code)
        answers = [sorted(defn.option_codes(item))[1] for item in defn.items]
        drafts += [(code, item.id, a) for item, a in zip(defn.items, answers, strict=True)]
        result = score_response(defn, answers, [4.0] * len(answers)).to_json_dict()
        result["answers"] = answers
        responses.append((f"client-key-0001:{code}", result))
    return drafts, responses


def plaintext(drafts: list, responses: list) -> None:
    dumps = json.dumps
    for _code, _item, value in drafts:  # autosave: the number as is
        str(value)
    for _code, _item, value in drafts:  # hand-in: read back
        int(value)
    for _key, result in responses:
        for name in ("answers", "scores", "critical", "missing"):
            dumps(result[name], ensure_ascii=False, separators=(",", ":"))


def encrypted(drafts: list, responses: list) -> None:
    seal, open_token = _DRAFT_ANSWER.seal, _DRAFT_ANSWER.open_token
    tokens = [
        (code, item, seal(_draft_row(ASSIGNMENT, code, item), value))
        for code, item, value in drafts
    ]
    for code, item, token in tokens:
        open_token(_draft_row(ASSIGNMENT, code, item), token)
    for key, result in responses:
        for field, name in zip(_SEALED_RESPONSE, SEALED_NAMES, strict=True):
            field.seal(key, result[name])


def per_call(function: Any, rounds: int, *args: Any) -> float:
    function(*args)  # warm: derived keys are cached per process
    start = time.perf_counter()
    for _ in range(rounds):
        function(*args)
    return (time.perf_counter() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="200 rounds (CI)")
    args = parser.parse_args()
    rounds = 200 if args.quick else args.rounds
    drafts, responses = hand_in()
    print(f"one hand-in: {len(drafts)} draft answers, {len(responses)} responses")
    base = per_call(plaintext, rounds, drafts, responses)
    print(f"plaintext (before): {base * 1e6:8.1f} µs per hand-in")
    costs = {}
    for suite in ("aes", "sm"):
        settings.CRYPTO_SUITE = suite
        cost = costs[suite] = per_call(encrypted, rounds, drafts, responses)
        print(
            f"encrypted ({suite}):   {cost * 1e6:8.1f} µs per hand-in "
            f"(+{(cost - base) * 1e3:.2f} ms; {len(drafts) * 2 + len(responses) * 4} "
            "seal/open operations)"
        )
    print(result_line("encrypt_hand_in", 1 / costs["aes"], "hand-ins/s", 1 / base))


if __name__ == "__main__":
    main()
