"""The quality report for a retrospective: projectQuality's figures for a period, their charts,
the per-class error patterns, and what changed in the label schema and the guideline meanwhile."""

from __future__ import annotations

from app.quality.report import FieldFigures
from app.reports import charts
from app.reports.data import GuidelineChange, ReportData, SchemaChange, class_name
from app.reports.document import (
    NONE,
    Block,
    Bullets,
    Chart,
    Document,
    Heading,
    Para,
    Pre,
    Table,
    number,
    percent,
    seconds,
    when,
)

MAX_CONFUSION = 12  # classes of a confusion table; beyond it only the per-class table
MAX_BODY_DIFF = 200  # lines of a guideline body's diff shown


def build(data: ReportData) -> Document:
    title = f"{data.project} — quality report"
    blocks: list[Block] = [
        Heading(title, 1),
        Para(
            f"Period {when(data.period.start)} to {when(data.period.end)} (end excluded). "
            f"Generated {when(data.generated_at)}.",
            muted=True,
        ),
    ]
    blocks += _summary(data)
    blocks += _over_time(data)
    blocks += _fields(data)
    blocks += _audits(data)
    blocks += _annotators(data)
    blocks += _schema(data.schema_changes)
    blocks += _guideline(data.guideline_changes)
    return Document(title, blocks)


def _summary(data: ReportData) -> list[Block]:
    f, flow, audits = data.quality.figures, data.quality.flow, data.quality.audits
    rows = [
        ["Labels (gold answers apart)", number(f.labels)],
        ["Items labeled", number(f.items)],
        ["Items decided", number(flow.decided_items)],
        ["Labels per decided item", number(flow.labels_per_decided_item, 2)],
        ["Median import to decision", seconds(flow.median_cycle_time_s)],
        ["Reviews", number(flow.reviews)],
        ["Review rejection rate", percent(flow.review_rejection_rate)],
        ["Escalations", number(flow.escalations)],
        ["Escalation rate", percent(flow.escalation_rate)],
        ["Gold answers", number(f.gold_answers)],
        ["Gold accuracy", percent(f.gold_accuracy)],
        ["QA audits", number(audits.audits)],
        ["Audits overturned", number(audits.overturned)],
        ["Overturn rate", percent(audits.overturn_rate)],
    ]
    return [Heading("Summary"), Table(["Figure", "Value"], rows, frozenset({1}))]


def _over_time(data: ReportData) -> list[Block]:
    return [
        Heading("Over the period"),
        Chart(charts.throughput(data), "No labels were made in this period."),
        Chart(
            charts.agreement(data),
            "No window had two labels of one item to compare.",
            "Agreement among the labels made within each window.",
        ),
    ]


def _fields(data: ReportData) -> list[Block]:
    figures = data.quality.figures.fields
    if not figures:
        return []
    blocks: list[Block] = [
        Heading("Agreement by field"),
        Table(
            ["Field", "Kind", "Statistic", "Agreement", "Pairwise", "Gold answers", "Gold accuracy"],
            [
                [
                    f.name,
                    f.kind,
                    f.statistic,
                    number(f.agreement),
                    number(f.pairwise_agreement),
                    number(f.gold_answers),
                    percent(f.gold_accuracy),
                ]
                for f in figures
            ],
            frozenset({3, 4, 5, 6}),
        ),
    ]
    for f in figures:
        if f.classes:
            blocks += _classes(data, f)
    return blocks


def _classes(data: ReportData, f: FieldFigures) -> list[Block]:
    blocks: list[Block] = [
        Heading(f"Classes of {f.name}", 3),
        Chart(charts.class_errors(data, f.name), "No label of a decided item gives a class of this field."),
        Table(
            ["Class", "Agreement", "Precision", "Recall", "F1", "Support"],
            [
                [
                    class_name(c.value),
                    number(c.agreement),
                    number(c.precision),
                    number(c.recall),
                    number(c.f1),
                    str(c.support),
                ]
                for c in f.classes
            ],
            frozenset({1, 2, 3, 4, 5}),
        ),
    ]
    if f.confusion and len(f.confusion_classes) <= MAX_CONFUSION:
        names = [class_name(c) for c in f.confusion_classes]
        blocks += [
            Para(
                f"Confusion of {f.name}: rows the final label's class, columns the class an annotator gave.", muted=True
            ),
            Table(
                ["final \\ given", *names],
                [[names[i], *(str(n) for n in row)] for i, row in enumerate(f.confusion)],
                frozenset(range(1, len(names) + 1)),
            ),
        ]
    return blocks


def _audits(data: ReportData) -> list[Block]:
    audits = data.quality.audits
    blocks: list[Block] = [
        Heading("QA audits: error patterns by class"),
        Chart(charts.audit_overturns(data), "No QA audit was completed in this period."),
    ]
    if audits.classes:
        blocks.append(
            Table(
                ["Field", "Class decided", "Audits", "Overturned", "Overturn rate"],
                [
                    [c.field, class_name(c.value), str(c.audits), str(c.overturned), percent(c.overturn_rate)]
                    for c in sorted(audits.classes, key=lambda c: (-c.overturned, c.field, c.value))
                ],
                frozenset({2, 3, 4}),
            )
        )
    if audits.reviewers:
        blocks.append(
            Table(
                ["Reviewer", "Decisions audited", "Overturned", "Overturn rate"],
                [
                    [data.user(r.reviewer), str(r.audits), str(r.overturned), percent(r.overturn_rate)]
                    for r in audits.reviewers
                ],
                frozenset({1, 2, 3}),
            )
        )
    return blocks


def _annotators(data: ReportData) -> list[Block]:
    audited = {a.annotator: a for a in data.quality.audits.annotators}
    people = data.quality.figures.annotators
    if not people and not audited:
        return []
    rows = []
    for a in people:
        seen = audited.get(a.annotator)
        rows.append(
            [
                data.user(a.annotator),
                str(a.labels),
                percent(a.accuracy),
                percent(a.agreement),
                seconds(None if a.median_time_ms is None else a.median_time_ms / 1000),
                number(a.labels_per_active_hour, 1),
                percent(a.gold_accuracy),
                number(seen.labels if seen else None),
                percent(seen.error_rate if seen else None),
            ]
        )
    rows += [
        [data.user(name), "0", *[NONE] * 5, str(a.labels), percent(a.error_rate)]
        for name, a in audited.items()
        if name not in {p.annotator for p in people}
    ]
    return [
        Heading("Annotators"),
        Chart(charts.annotator_errors(data), "No annotator has a label on a decided or audited item."),
        Table(
            [
                "Annotator",
                "Labels",
                "Accuracy",
                "Agreement",
                "Median time",
                "Labels/h",
                "Gold accuracy",
                "Audited labels",
                "Audit error rate",
            ],
            rows,
            frozenset(range(1, 9)),
        ),
    ]


def _schema(changes: list[SchemaChange] | None) -> list[Block]:
    blocks: list[Block] = [Heading("Label schema changes in the period")]
    if changes is None:
        return [*blocks, Para("You may not read the label schema's history.", muted=True)]
    if not changes:
        return [*blocks, Para("The label schema did not change in this period.", muted=True)]
    for change in changes:
        blocks.append(Heading(f"Schema version {change.version} — {when(change.created_at)}", 3))
        if change.rationale.strip():
            blocks.append(Para(f"Why: {change.rationale}"))
        if change.diff is None:
            blocks.append(Para("The first version of the schema.", muted=True))
            continue
        lines = [
            f"Field {c.field}: {c.change.lower()}"
            + (f" (was {c.previous})" if c.previous else "")
            + (f" — {'; '.join(c.details)}" if c.details else "")
            for c in change.diff.fields
        ]
        lines += [
            f"Class {c.field}.{c.class_}: {c.change.lower()}" + (f" → {c.target}" if c.target else "")
            for c in change.diff.classes
        ]
        lines += [f"Rule {c.change.lower()}: {c.description}" for c in change.diff.rules]
        blocks.append(Bullets(lines) if lines else Para("No change to fields, classes or rules.", muted=True))
    return blocks


def _guideline(changes: list[GuidelineChange] | None) -> list[Block]:
    blocks: list[Block] = [Heading("Guideline versions published in the period")]
    if changes is None:
        return [*blocks, Para("You may not read the guideline.", muted=True)]
    if not changes:
        return [*blocks, Para("No guideline version was published in this period.", muted=True)]
    for change in changes:
        blocks.append(Heading(f"Guideline version {change.version} — {when(change.published_at)}", 3))
        if change.changelog.strip():
            blocks.append(Para(f"Changelog: {change.changelog}"))
        if change.diff is None:
            blocks.append(Para("The first published version.", muted=True))
            continue
        blocks.append(
            Para(
                f"Against version {change.previous}: body +{change.diff.body_added} "
                f"/ -{change.diff.body_removed} lines, {len(change.diff.changes)} structured changes.",
                muted=True,
            )
        )
        if change.diff.changes:
            blocks.append(
                Table(
                    ["Section", "Change", "Entry", "Before", "After"],
                    [[c.section, c.kind.lower(), c.key, c.before or "", c.after or ""] for c in change.diff.changes],
                )
            )
        if change.diff.body:
            lines = change.diff.body.splitlines()
            shown = "\n".join(lines[:MAX_BODY_DIFF])
            if len(lines) > MAX_BODY_DIFF:
                shown += f"\n… {len(lines) - MAX_BODY_DIFF} more lines"
            blocks.append(Pre(shown))
    return blocks
