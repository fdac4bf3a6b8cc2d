"""Every verify example decides on ``valid``, never on ``ok`` or the HTTP status."""

from __future__ import annotations

from hub.devdocs import examples as dx


def test_every_verify_example_branches_on_valid_and_says_why() -> None:
    for lang, code in dx.examples_for("verify_otp").items():
        after_answer = code[code.index(dx.VALID_NOTE[0]) :]  # the branch follows the note
        assert "valid" in after_answer.replace(dx.VALID_NOTE[0], ""), lang
        assert "not valid" in after_answer, lang  # the other branch is spelled out
        assert dx.VALID_NOTE[1] in code, lang


def test_only_the_verify_examples_carry_the_valid_branch() -> None:
    for op in dx.OPERATIONS:
        if op.id == "verify_otp":
            continue
        for lang, code in dx.examples_for(op.id).items():
            assert dx.VALID_NOTE[0] not in code and "not valid" not in code, (lang, op.id)
