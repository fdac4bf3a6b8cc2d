"""The example templates as files (hub/devdocs/example_templates/) and the one
table of example bodies (hub/devdocs/bodies.py) that the examples, the /docs page
and the Postman collection all send."""

from __future__ import annotations

import json

from hub.devdocs import examples as ex
from hub.devdocs import page
from hub.devdocs.bodies import EXAMPLE_BODIES, example_json
from hub.devdocs.example_model import Env
from tests.docs_page.conftest import ROUTED, parse


def _read_by_the_renderer() -> set[str]:
    """Every template file some language reads, parts included."""
    read: set[str] = set()
    for lang in ex.LANGUAGES:
        kinds = [(lang.id, "post"), (lang.id, "get"), (lang.id, "verdict")]
        kinds.append((lang.webhook_from or lang.id, "webhook"))
        if lang.helper:
            helper_lang, helper_kind = lang.helper.split("/")
            kinds.append((helper_lang, helper_kind))
        for lang_id, kind in kinds:
            ext = next(other.ext for other in ex.LANGUAGES if other.id == lang_id)
            path = ex.TEMPLATES / lang_id / f"{kind}.{ext}.tmpl"
            read.add(path.relative_to(ex.TEMPLATES).as_posix())
            for name in ex.PART.findall(path.read_text("utf-8")):
                part_lang, part_kind = name.split("/")
                part_ext = next(o.ext for o in ex.LANGUAGES if o.id == part_lang)
                read.add(f"{part_lang}/{part_kind}.{part_ext}.tmpl")
    return read


def test_every_template_file_is_one_a_language_reads() -> None:
    present = {p.relative_to(ex.TEMPLATES).as_posix() for p in ex.TEMPLATES.rglob("*.tmpl")}
    assert present == _read_by_the_renderer()
    assert not [p for p in ex.TEMPLATES.rglob("*") if p.is_file() and p.suffix != ".tmpl"]


def test_a_shared_part_takes_the_indentation_of_the_line_it_is_pulled_into() -> None:
    verify = ex.part("php", "verify").split("\n")
    plain, laravel = ex.template("php", "webhook"), ex.template("laravel", "webhook")

    assert "\n".join(verify) in plain  # at the left margin there
    assert "\n".join("    " + line for line in verify) in laravel  # inside a class here
    assert "{{>" not in plain + laravel


def test_the_examples_send_the_bodies_of_the_one_table() -> None:
    for op in ex.OPERATIONS:
        if op.method != "POST":
            continue
        row = EXAMPLE_BODIES[op.id]
        assert [key for key, _ in op.body] == list(row), op.id
        literal = {key: value for key, value in op.body if not isinstance(value, Env)}
        assert literal == {key: row[key] for key in literal}, op.id


def test_the_quick_start_and_postman_send_the_same_bodies_as_the_examples() -> None:
    page.render.cache_clear()
    try:
        quick = parse(page.render(ROUTED, "en", "https://sms.example.uz"))
    finally:
        page.render.cache_clear()
    collection = json.loads(page.postman_collection(ROUTED, "https://sms.example.uz"))
    sent = {
        item["request"]["url"]["raw"]: json.loads(item["request"]["body"]["raw"])
        for folder in collection["item"]
        for item in folder["item"]
        if "options" in item["request"].get("body", {})  # JSON, not the CSV import
    }

    steps = quick.by_id("step-3").text
    for op_id, path in (("send_sms", "/sms/send"), ("send_otp", "/otp/send")):
        assert f"-d '{example_json(op_id)}'" in steps, op_id
        assert sent["{{baseUrl}}" + path] == EXAMPLE_BODIES[op_id], op_id
        example = dict(ex.operation(op_id).body)
        assert example == EXAMPLE_BODIES[op_id], op_id
