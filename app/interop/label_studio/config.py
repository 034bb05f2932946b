"""A Label Studio labeling config (XML) as a Labelgraph label schema, and what of it cannot be.

Pure: `map_config(text)` never raises. The config is untrusted input: it is parsed by defusedxml
with DTDs forbidden (no entity expansion, no external entities), bounded in size, and walked
with an explicit stack.

What maps (one field per control tag, named by the control's `name`):

- ``Choices`` -> ``single_choice`` (``choice="single"`` or ``"single-radio"``, the default) or
  ``multi_choice`` (``choice="multiple"``); classes are the ``Choice`` children's ``alias`` or
  ``value`` (what Label Studio stores in results).
- ``Labels`` on a ``Text`` -> ``spans`` over the task's data key the Text reads (``value="$key"``),
  overlap allowed (Label Studio allows overlapping regions).
- ``RectangleLabels`` on an ``Image`` -> ``boxes`` (pixels; the image size comes from results).
- ``Rating`` -> ``rating`` 1..``maxRating`` (default 5); ``TextArea`` -> ``text``;
  ``Number`` -> ``number`` (its ``min``/``max``); ``Taxonomy`` -> ``taxonomy`` (nested ``Choice``
  tags as the tree, ``multiple`` unless ``maxUsages="1"``).

Everything else comes back as a ConfigProblem naming the tag, its name and the attribute:
region tags Labelgraph has no kind for (polygons, keypoints, brushes, ...), relations, per-region
controls, visibility rules (the field is kept but asked always, and not required), targets a
kind cannot read (Labels on HyperText), names that are not field names (renamed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from app.interop.label_studio.error_codes import ConfigCode
from app.taxonomy import schema_language

MAX_CONFIG_CHARS = 256 * 1024
MAX_TAGS = 5_000

# Object tags: what a task shows. Text and Image are the ones region controls may target.
OBJECT_TAGS = frozenset(
    {"text", "hypertext", "image", "audio", "audioplus", "video", "timeseries", "table", "paragraphs", "pdf", "list"}
)
LAYOUT_TAGS = frozenset({"view", "header", "style", "filter", "collapse", "panel", "channel", "choice", "label"})
CONTROL_KINDS = {
    "choices": "single_choice",
    "labels": "spans",
    "rectanglelabels": "boxes",
    "rating": "rating",
    "textarea": "text",
    "number": "number",
    "taxonomy": "taxonomy",
}
# Label Studio controls Labelgraph has no field kind for: dropped with their results.
UNSUPPORTED = frozenset(
    {
        "polygonlabels",
        "polygon",
        "keypointlabels",
        "keypoint",
        "brushlabels",
        "brush",
        "bitmasklabels",
        "bitmask",
        "ellipselabels",
        "ellipse",
        "rectangle",
        "magicwand",
        "hypertextlabels",
        "paragraphlabels",
        "timeserieslabels",
        "videorectangle",
        "relations",
        "relation",
        "pairwise",
        "ranker",
        "datetime",
        "vectorlabels",
        "vector",
    }
)
VISIBILITY = ("visibleWhen", "whenTagName", "whenLabelValue", "whenChoiceValue", "whenRole")
DATA_KEY = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
TRUE = ("true", "1", "yes")


@dataclass(frozen=True)
class ConfigProblem:
    """One thing of the config the mapping drops or cannot read, named as the config names it."""

    code: ConfigCode
    tag: str
    name: str | None
    attribute: str | None
    message: str


@dataclass(frozen=True)
class Control:
    """How one control's results become one field's value."""

    name: str  # the control's name (results' from_name)
    tag: str  # as written in the config
    field: str  # the Labelgraph field
    kind: str
    result_type: str  # the results' `type` and value key: choices, labels, rectanglelabels, ...
    source: str | None = None  # spans: the task's data key holding the text; boxes: the image's


@dataclass(frozen=True)
class ConfigMapping:
    schema: dict[str, Any] | None  # a definition the schema language lints clean; None if nothing maps
    controls: dict[str, Control] = field(default_factory=dict)  # by control name
    dropped: dict[str, str] = field(default_factory=dict)  # control name -> tag, results dropped
    problems: tuple[ConfigProblem, ...] = ()

    @property
    def readable(self) -> bool:
        """Whether the config could be read at all (an unreadable one maps nothing)."""
        return not any(p.code in FATAL for p in self.problems)


FATAL = (ConfigCode.INVALID_CONFIG, ConfigCode.UNSAFE_XML, ConfigCode.CONFIG_TOO_LARGE)


def _parse(text: str) -> Element | ConfigProblem:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if not isinstance(text, str) or not text.strip():
        return ConfigProblem(ConfigCode.INVALID_CONFIG, "View", None, None, "The labeling config is empty.")
    if len(text) > MAX_CONFIG_CHARS:
        return ConfigProblem(
            ConfigCode.CONFIG_TOO_LARGE,
            "View",
            None,
            None,
            f"A labeling config has at most {MAX_CONFIG_CHARS} characters.",
        )
    try:
        root: Element = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        return ConfigProblem(
            ConfigCode.UNSAFE_XML,
            "!DOCTYPE",
            None,
            None,
            "The config declares a DTD or entities; they are refused unread (entity expansion).",
        )
    except (ParseError, ValueError):
        return ConfigProblem(
            ConfigCode.INVALID_CONFIG, "View", None, None, "The labeling config is not well-formed XML."
        )
    if not isinstance(root.tag, str) or root.tag.lower() != "view":
        return ConfigProblem(
            ConfigCode.INVALID_CONFIG, str(root.tag), None, None, "A labeling config has a <View> root."
        )
    return root


def _walk(root: Element) -> Iterator[tuple[Element, bool]]:
    """Every element below the root in document order, with whether a View above it has a visibility rule."""
    stack: list[tuple[Element, bool]] = [(child, _visible_when(root)) for child in reversed(list(root))]
    while stack:
        node, hidden = stack.pop()
        yield node, hidden
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        if tag in CONTROL_KINDS or tag in UNSUPPORTED:  # their children are their classes
            continue
        inner = hidden or (tag == "view" and _visible_when(node))
        stack.extend((child, inner) for child in reversed(list(node)))


def _visible_when(node: Element) -> bool:
    return any(attr in node.attrib for attr in VISIBILITY)


def _flag(node: Element, attr: str) -> bool:
    return node.get(attr, "").strip().lower() in TRUE


class _Mapper:
    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []
        self.fields: list[dict[str, Any]] = []
        self.controls: dict[str, Control] = {}
        self.dropped: dict[str, str] = {}
        self.names: set[str] = set()

    def problem(self, code: ConfigCode, node: Element, attr: str | None, message: str) -> None:
        self.problems.append(ConfigProblem(code, str(node.tag), node.get("name"), attr, message))

    def drop(self, node: Element, code: ConfigCode, attr: str | None, message: str) -> None:
        name = node.get("name")
        if name:
            self.dropped[name] = str(node.tag)
        self.problem(code, node, attr, message)

    def field_name(self, node: Element, name: str) -> str:
        candidate = re.sub(r"[^A-Za-z0-9_]", "_", name)[:64] or "field"
        if not re.match(r"^[A-Za-z_]", candidate):
            candidate = f"f_{candidate}"[:64]
        base, n = candidate, 2
        while candidate in self.names:
            suffix = f"_{n}"
            candidate, n = base[: 64 - len(suffix)] + suffix, n + 1
        if candidate != name:
            self.problem(
                ConfigCode.RENAMED,
                node,
                "name",
                f"'{name}' is not a field name (an identifier): the field is '{candidate}'.",
            )
        return candidate


def map_config(text: str) -> ConfigMapping:
    """The config's label schema, how each control's results map to it, and every problem."""
    root = _parse(text)
    if isinstance(root, ConfigProblem):
        return ConfigMapping(None, problems=(root,))
    mapper = _Mapper()
    nodes = list(_walk(root))
    if len(nodes) > MAX_TAGS:
        problem = ConfigProblem(ConfigCode.CONFIG_TOO_LARGE, "View", None, None, f"At most {MAX_TAGS} tags.")
        return ConfigMapping(None, problems=(problem,))
    objects = {n.get("name"): n for n, _ in nodes if isinstance(n.tag, str) and n.tag.lower() in OBJECT_TAGS}
    if _visible_when(root):
        mapper.problem(ConfigCode.VISIBILITY_DROPPED, root, _rule(root), "The root View's visibility rule is dropped.")
    for node, hidden in nodes:
        if not isinstance(node.tag, str):  # comments and processing instructions
            continue
        tag = node.tag.lower()
        if tag == "view" and _visible_when(node):
            mapper.problem(
                ConfigCode.VISIBILITY_DROPPED,
                node,
                _rule(node),
                "This View shows its controls only under a condition: the fields inside are kept, always asked "
                "and not required.",
            )
        if tag in LAYOUT_TAGS or tag in OBJECT_TAGS:
            continue
        if tag in UNSUPPORTED:
            what = "relations between regions" if tag in ("relations", "relation") else f"<{node.tag}> regions"
            mapper.drop(
                node,
                ConfigCode.UNSUPPORTED_TAG,
                None,
                f"Labelgraph has no field kind for {what}: dropped with its results.",
            )
            continue
        if tag not in CONTROL_KINDS:
            mapper.problem(ConfigCode.UNKNOWN_TAG, node, None, f"<{node.tag}> is not a tag this import knows: ignored.")
            continue
        _control(mapper, node, tag, hidden, objects)
    fields = mapper.fields
    if not fields:
        mapper.problems.append(
            ConfigProblem(ConfigCode.NO_FIELDS, "View", None, None, "Nothing of this config maps to a label field.")
        )
        return ConfigMapping(None, {}, mapper.dropped, tuple(mapper.problems))
    schema = {"fields": fields}
    # Each field was linted alone; the whole must lint clean too (it does: names are unique).
    assert not schema_language.lint(schema), schema_language.lint(schema)
    return ConfigMapping(schema, mapper.controls, mapper.dropped, tuple(mapper.problems))


def _rule(node: Element) -> str:
    return next(attr for attr in VISIBILITY if attr in node.attrib)


def _control(mapper: _Mapper, node: Element, tag: str, hidden: bool, objects: dict[str | None, Element]) -> None:
    name = node.get("name")
    if not name:
        mapper.problem(ConfigCode.INVALID_CONFIG, node, "name", f"A <{node.tag}> without a name: dropped.")
        return
    if _flag(node, "perRegion"):
        mapper.drop(
            node,
            ConfigCode.PER_REGION,
            "perRegion",
            "A per-region control answers about each region, not the task: Labelgraph fields answer the task. Dropped.",
        )
        return
    kind = CONTROL_KINDS[tag]
    target = objects.get(node.get("toName"))
    target_tag = target.tag.lower() if target is not None and isinstance(target.tag, str) else None
    spec: dict[str, Any] = {"kind": kind}
    source = None
    if kind in ("spans", "boxes"):
        wanted = "text" if kind == "spans" else "image"
        if target_tag != wanted:
            mapper.drop(
                node,
                ConfigCode.UNSUPPORTED_TARGET,
                "toName",
                f"<{node.tag}> maps to {kind} only on a <{wanted.title()}>: dropped.",
            )
            return
        assert target is not None
        key = DATA_KEY.match(target.get("value", ""))
        if key is None:
            mapper.drop(
                node,
                ConfigCode.UNSUPPORTED_ATTRIBUTE,
                "value",
                f"Its <{target.tag}> does not read a top-level data key ($key): dropped.",
            )
            return
        source = key.group(1)
        labels = _classes(node, "label")
        spec["labels"] = labels
        if kind == "spans":
            spec.update(source=source, allow_overlap=True)
    elif kind in ("single_choice", "multi_choice"):
        mode = node.get("choice", "single").strip().lower()
        if mode == "multiple":
            spec["kind"] = kind = "multi_choice"
        elif mode not in ("single", "single-radio"):
            mapper.problem(
                ConfigCode.UNSUPPORTED_ATTRIBUTE, node, "choice", f"choice='{mode}' is not known: read as single."
            )
        spec["classes"] = _classes(node, "choice")
    elif kind == "rating":
        top = _int(node.get("maxRating", "5"))
        if top is None or top < 1:
            mapper.problem(
                ConfigCode.UNSUPPORTED_ATTRIBUTE, node, "maxRating", "maxRating is not a positive integer: 5."
            )
            top = 5
        spec.update(min=1, max=top)
    elif kind == "number":
        for attr in ("min", "max"):
            if attr in node.attrib:
                bound = _number(node.get(attr, ""))
                if bound is None:
                    mapper.problem(ConfigCode.UNSUPPORTED_ATTRIBUTE, node, attr, f"{attr} is not a number: dropped.")
                else:
                    spec[attr] = bound
    elif kind == "text":
        if node.get("maxSubmissions", "1").strip() not in ("", "1"):
            mapper.problem(
                ConfigCode.UNSUPPORTED_ATTRIBUTE,
                node,
                "maxSubmissions",
                "Several submissions of one TextArea become one text, one submission per line.",
            )
    elif kind == "taxonomy":
        spec["tree"] = _tree(node)
        spec["multiple"] = node.get("maxUsages", "").strip() != "1"
    required = _flag(node, "required")
    if hidden or _visible_when(node):
        if _visible_when(node):
            mapper.problem(
                ConfigCode.VISIBILITY_DROPPED,
                node,
                _rule(node),
                "Its visibility rule is dropped: the field is always asked"
                + (" and not required." if required else "."),
            )
        required = False
    if required:
        spec["required"] = True
    field_name = mapper.field_name(node, name)
    spec = {"name": field_name, **spec}
    problems = schema_language.lint({"fields": [spec]})
    if problems:
        mapper.drop(node, ConfigCode.INVALID_FIELD, None, f"It maps to an unusable field: {problems[0].message}")
        return
    mapper.names.add(field_name)
    mapper.fields.append(spec)
    mapper.controls[name] = Control(name, str(node.tag), field_name, kind, tag, source)


def _classes(node: Element, child_tag: str) -> list[str]:
    """The values results carry for the children: `alias` when set, else `value`."""
    found = []
    for child in node.iter():
        if child is not node and isinstance(child.tag, str) and child.tag.lower() == child_tag:
            value = child.get("alias") or child.get("value")
            if value is not None:
                found.append(value)
    return found


def _tree(node: Element) -> list[dict[str, Any]]:
    """A Taxonomy's nested Choice tags as class nodes (explicit stack: any nesting)."""
    roots: list[dict[str, Any]] = []
    stack: list[tuple[Element, list[dict[str, Any]]]] = [(c, roots) for c in reversed(list(node))]
    while stack:
        child, siblings = stack.pop()
        if not isinstance(child.tag, str) or child.tag.lower() != "choice":
            continue
        entry: dict[str, Any] = {"name": child.get("alias") or child.get("value") or ""}
        siblings.append(entry)
        kids = [c for c in child if isinstance(c.tag, str) and c.tag.lower() == "choice"]
        if kids:
            entry["children"] = []
            stack.extend((c, entry["children"]) for c in reversed(kids))
    return roots


def _int(raw: str) -> int | None:
    try:
        return int(raw.strip())
    except ValueError:
        return None


def _number(raw: str) -> float | int | None:
    found = _int(raw)
    if found is not None:
        return found
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None
