"""A simulated labeling program, driven through the API over HTTP: how accurate the final labels
are against a hidden truth, and what they cost in human labels and review actions.

    .venv/bin/python -m bench.simulate [--items 2000] [--seed 7] [--store sqlite|postgresql]

One run puts two programs side by side on the same items and the same seeded crowd (5 classes;
good, medium, a spammer answering at random, one annotator biased toward a class; a good reviewer
and a good expert), each on a fresh store and a fresh server:

  (a) naive: every item gets 3 labels, majority vote, and a reviewer sees every decided item;
  (b) Labelgraph's policy: dynamic overlap (1 label to start, more while Dawid-Skene's confidence
      is under the threshold, escalation to an expert at the cap), gold questions served blind
      with suspension under a floor, and a sampled review.

Then crowd-kit's Dawid-Skene and majority vote run offline on (a)'s labels as references, and the
report prints the targets: (b) at least as accurate as Dawid-Skene on (a)'s labels, with at most
0.6x (a)'s human labels per item. Everything the crowd answers is seeded; what the server draws
(the review sample, the gold draws: hashes of fresh UUIDs) and the order the concurrent clients
get items in are not, so (b) moves by a point or two between runs (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx

from bench.crowd import confusion
from bench.server import ADMIN, Server, bootstrap
from bench.stores import PostgresStore, SqliteStore, Store, postgres_answers
from bench.workload import CREATE_PROJECT, FIND_USERS, GRANT_ROLE, IMPORT_ITEMS, UPDATE_POLICY, BenchError, Client
from bench.workload import sign_in as sign_in_as

CLASSES = ("c0", "c1", "c2", "c3", "c4")
FIELD = "label"
SCHEMA = {"fields": [{"name": FIELD, "kind": "single_choice", "classes": list(CLASSES), "required": True}]}
MAX_IMPORT = 10_000  # rows per importItems call (LABELGRAPH_MAX_IMPORT_ITEMS)
REVIEW_CONNECTIONS = 3
PG_SIMULATE_DB = "labelgraph_simulate"  # not bench.run's database: both may run at once
TARGET_LABEL_RATIO = 0.6  # (b) spends at most this share of (a)'s human labels per item

UPDATE_GOLD_POLICY = """
mutation GoldPolicy($input: UpdateGoldPolicyInput!) {
  updateGoldPolicy(input: $input) { project { id } errors { code field message } }
}"""
CLAIM = """
mutation Claim($input: ClaimNextTaskInput!) {
  claimNextTask(input: $input) { assignment { id item { externalId } } errors { code field message } }
}"""
SUBMIT = """
mutation Submit($input: SubmitLabelInput!) {
  submitLabel(input: $input) { label { id } errors { code field message } }
}"""
IN_REVIEW = """
query InReview($project: ID!) {
  project(id: $project) {
    items(first: 100, status: IN_REVIEW) { nodes { externalId labels { id value status } } }
  }
}"""
REVIEW = """
mutation Review($input: ReviewLabelInput!) {
  reviewLabel(input: $input) { finalLabel { method } errors { code field message } }
}"""
CLAIM_ESCALATION = """
mutation ClaimEscalation($input: ClaimNextEscalationInput!) {
  claimNextEscalation(input: $input) { escalation { item { id externalId } } errors { code field message } }
}"""
RESOLVE = """
mutation Resolve($input: ResolveEscalationInput!) {
  resolveEscalation(input: $input) { errors { code field message } }
}"""
COUNTS = """
query Counts($project: ID!) { project(id: $project) { itemCounts { final inReview escalated queued } } }"""
FINALS = """
query Finals($project: ID!, $after: String) {
  project(id: $project) {
    items(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { externalId finalLabel { value method } }
    }
  }
}"""


# --- the crowd ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A simulated person: what it answers is drawn from its confusion matrix (row = true class)."""

    name: str
    kind: str  # good, medium, spammer, biased
    role: str  # ANNOTATOR, REVIEWER or EXPERT
    confusion: tuple[tuple[float, ...], ...]

    def answer(self, seed: int, item: str, truth: int) -> int:
        """The class this person gives the item: seeded by the run's seed, the person and the item,
        so the same person answers the same item the same way whatever order items come in."""
        rng = random.Random(f"{seed}:{self.name}:{item}")
        return rng.choices(range(len(self.confusion)), weights=self.confusion[truth])[0]


def person(name: str, kind: str, role: str = "ANNOTATOR") -> Person:
    matrix = confusion(kind, len(CLASSES), biased_toward=0)
    return Person(name, kind, role, tuple(tuple(float(p) for p in row) for row in matrix))


def default_crowd() -> tuple[Person, ...]:
    """Seven annotators (2 good, 3 medium, a spammer, one biased toward c0), a good reviewer and a
    good expert (bench.crowd.confusion has the matrices)."""
    return (
        person("good1", "good"),
        person("good2", "good"),
        person("medium1", "medium"),
        person("medium2", "medium"),
        person("medium3", "medium"),
        person("spammer", "spammer"),
        person("biased", "biased"),
        person("reviewer", "good", "REVIEWER"),
        person("expert", "good", "EXPERT"),
    )


# --- the programs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    key: str
    title: str
    quality: Mapping[str, Any]  # updateQualityPolicy's input, without projectId
    gold: Mapping[str, Any] | None = None  # updateGoldPolicy's input; None: no gold questions


NAIVE = Program(
    "a",
    "naive: 3 labels, majority, full review",
    {"overlap": 3, "maxOverlap": 3, "method": "MAJORITY", "acceptConfidence": 0.0, "reviewRate": 1.0},
)
# Chosen to do as well as the product can on this crowd (bench/README.md has the trials): one
# label to start, more while the posterior is under 0.8 (0.7 and 0.75 saved labels but fell to
# about the offline Dawid-Skene's accuracy), an expert after 4 (at 5, with three of the seven
# suspended, an item all four others had labeled waited for a fifth label nobody could give);
# the estimates refitted every 25 labels (an overlap-1 start has little else to go on); 3% gold
# served at 4% of claims, suspension under 40% over the last 20 answers (a spammer scores 20%, a
# medium annotator 72%, the biased one 60%; a window of 10 suspended a medium annotator on bad
# luck); a reviewer sees a 10% sample.
LABELGRAPH = Program(
    "b",
    "Labelgraph: dynamic overlap, Dawid-Skene, gold, sampled review",
    {
        "overlap": 1,
        "maxOverlap": 4,
        "method": "DAWID_SKENE",
        "acceptConfidence": 0.8,
        "reviewRate": 0.1,
        "refreshEvery": 25,
    },
    {"goldRate": 0.04, "goldWindow": 20, "goldFloor": 0.4, "goldMinAnswers": 5},
)


@dataclass(frozen=True)
class Config:
    items: int = 2000
    seed: int = 7
    gold_share: float = 0.03  # gold questions, as a share of the items to decide
    crowd: tuple[Person, ...] = field(default_factory=default_crowd)
    programs: tuple[Program, ...] = (NAIVE, LABELGRAPH)
    stall_s: float = 120.0  # give up when nothing moves for this long


@dataclass(frozen=True)
class World:
    """The hidden truth: items to decide and gold questions, each with its true class."""

    truth: dict[str, int]
    gold: dict[str, int]

    def true_class(self, external_id: str) -> int:
        return self.truth[external_id] if external_id in self.truth else self.gold[external_id]


def make_world(items: int, gold_share: float, seed: int) -> World:
    rng = random.Random(f"{seed}:truth")
    truth = {f"item-{i:06d}": rng.randrange(len(CLASSES)) for i in range(items)}
    n_gold = max(1, round(items * gold_share)) if gold_share > 0 else 0
    gold = {f"gold-{i:04d}": rng.randrange(len(CLASSES)) for i in range(n_gold)}
    return World(truth, gold)


# --- what the clients did, and the accounting -----------------------------------------------


@dataclass
class Tally:
    labels: Counter[str] = field(default_factory=Counter)  # per annotator, on items to decide
    gold_answers: Counter[str] = field(default_factory=Counter)  # per annotator
    reviews: int = 0
    corrections: int = 0
    expert_resolutions: int = 0
    suspended: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (labels, gold) then
    label_rows: list[tuple[str, str, int]] = field(default_factory=list)  # (item, annotator, class)


@dataclass(frozen=True)
class Figures:
    accuracy: float
    decided: int  # items to decide that have a final label
    labels_per_item: float  # human labels, gold answers included
    gold_per_item: float
    reviews_per_item: float  # reviews and expert resolutions
    expert_per_item: float
    corrections_per_item: float  # reviews that wrote the reviewer's own value
    spammer: tuple[int, int] | None  # (labels, gold answers) it gave before SUSPENDED; None: never
    seconds: float


def accuracy(finals: Mapping[str, int | None], truth: Mapping[str, int]) -> float:
    """Share of the items to decide whose final label is the true class (no final label: wrong)."""
    if not truth:
        return 0.0
    return sum(1 for item, cls in truth.items() if finals.get(item) == cls) / len(truth)


def figures(
    tally: Tally, finals: Mapping[str, int | None], truth: Mapping[str, int], spammer: str | None, seconds: float
) -> Figures:
    n = len(truth)
    labels, gold = sum(tally.labels.values()), sum(tally.gold_answers.values())
    return Figures(
        accuracy=accuracy(finals, truth),
        decided=sum(1 for item in truth if finals.get(item) is not None),
        labels_per_item=(labels + gold) / n,
        gold_per_item=gold / n,
        reviews_per_item=(tally.reviews + tally.expert_resolutions) / n,
        expert_per_item=tally.expert_resolutions / n,
        corrections_per_item=tally.corrections / n,
        spammer=tally.suspended.get(spammer) if spammer else None,
        seconds=seconds,
    )


@dataclass(frozen=True)
class Target:
    text: str
    met: bool


def targets(a: Figures, b: Figures, ds_on_a: float) -> list[Target]:
    ratio = b.labels_per_item / a.labels_per_item if a.labels_per_item else float("inf")
    return [
        Target(
            f"(b) accuracy {b.accuracy:.4f} >= crowd-kit Dawid-Skene on (a)'s labels {ds_on_a:.4f}",
            b.accuracy >= ds_on_a,
        ),
        Target(
            f"(b) labels/item {b.labels_per_item:.3f} <= {TARGET_LABEL_RATIO} x (a) {a.labels_per_item:.3f} "
            f"(ratio {ratio:.2f}, {1 - ratio:.0%} fewer)",
            ratio <= TARGET_LABEL_RATIO,
        ),
    ]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


@dataclass(frozen=True)
class Report:
    config: Config
    store: str
    gold_questions: int  # served in (b) only
    runs: dict[str, Figures]  # program key -> figures
    ds_on_a: float
    mv_on_a: float
    seconds: float

    def targets(self) -> list[Target]:
        return targets(self.runs["a"], self.runs["b"], self.ds_on_a)

    def lines(self) -> list[str]:
        a, b = self.runs["a"], self.runs["b"]
        n = self.config.items

        def spam(f: Figures) -> str:
            return "never" if f.spammer is None else f"after {f.spammer[0]} labels, {f.spammer[1]} gold answers"

        rows = [
            ("", "(a) naive", "(b) Labelgraph"),
            ("accuracy vs truth", f"{a.accuracy:.4f}", f"{b.accuracy:.4f}"),
            ("items decided", f"{a.decided}/{n}", f"{b.decided}/{n}"),
            ("human labels/item (gold incl.)", f"{a.labels_per_item:.3f}", f"{b.labels_per_item:.3f}"),
            ("  of which gold answers/item", f"{a.gold_per_item:.3f}", f"{b.gold_per_item:.3f}"),
            ("review actions/item", f"{a.reviews_per_item:.3f}", f"{b.reviews_per_item:.3f}"),
            ("  of which corrections", f"{a.corrections_per_item:.3f}", f"{b.corrections_per_item:.3f}"),
            ("  of which expert resolutions", f"{a.expert_per_item:.3f}", f"{b.expert_per_item:.3f}"),
            ("spammer suspended", spam(a), spam(b)),
            ("run time", f"{a.seconds:.0f} s", f"{b.seconds:.0f} s"),
        ]
        width = [max(len(row[i]) for row in rows) for i in range(3)]
        out = [
            f"simulate: {n:,} items to decide, {len(CLASSES)} classes, {len(self.config.crowd)} people, "
            f"seed {self.config.seed}, {self.store}; (b) also serves {self.gold_questions} gold questions; "
            f"{self.seconds:.0f} s in all",
            "",
        ]
        out += ["  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
        out += [
            "",
            f"offline on (a)'s labels: crowd-kit DawidSkene {self.ds_on_a:.4f}, MajorityVote {self.mv_on_a:.4f}",
            "",
            "targets:",
        ]
        out += [f"  {t.text}: {verdict(t.met)}" for t in self.targets()]
        return out


# --- driving a program over HTTP ------------------------------------------------------------


class Progress:
    """One line of progress on stderr: rewritten in place on a terminal, every 10 s otherwise."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = 0.0

    def show(self, text: str) -> None:
        now = time.monotonic()
        if self._tty:
            sys.stderr.write(f"\r{text}\x1b[K")
            sys.stderr.flush()
        elif now - self._last >= 10:
            self._last = now
            print(text, file=sys.stderr, flush=True)

    def done(self, text: str) -> None:
        if self._tty:
            sys.stderr.write(f"\r{text}\x1b[K\n")
        else:
            print(text, file=sys.stderr, flush=True)


async def payload_of(client: Client, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The mutation's payload, its errors included."""
    data = await client.gql(document, variables)
    (payload,) = data.values()
    result: dict[str, Any] = payload
    return result


async def read(client: Client, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    """A query, sent again once when the connection broke under it: a keep-alive connection the
    server closed while idle (uvicorn: after 5 s) can fail the request that reuses it. Only
    queries: sending a mutation twice is not the same as sending it once."""
    try:
        return await client.gql(document, variables)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        return await client.gql(document, variables)


def code_of(payload: Mapping[str, Any]) -> str | None:
    errors = payload["errors"]
    return str(errors[0]["code"]) if errors else None


async def pause(done: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), seconds)


def class_of(value: Mapping[str, Any]) -> int:
    return CLASSES.index(value[FIELD])


async def set_up_project(admin: Client, program: Program, config: Config, world: World) -> str:
    created = await admin.mutate(
        CREATE_PROJECT,
        {"input": {"name": f"Simulated program ({program.key})", "labelSchema": SCHEMA, "overlap": 1}},
    )
    project: str = created["project"]["id"]
    # The overlap applies to items imported afterwards: the policy comes first.
    await admin.mutate(UPDATE_POLICY, {"input": {"projectId": project, **program.quality}})
    if program.gold is not None:
        await admin.mutate(UPDATE_GOLD_POLICY, {"input": {"projectId": project, **program.gold}})
    ids: dict[str, str] = {}
    for who in config.crowd:
        found = await admin.gql(FIND_USERS, {"search": who.name})
        ids.update({u["username"]: u["id"] for u in found["users"]["nodes"]})
    for who in config.crowd:
        await admin.mutate(GRANT_ROLE, {"input": {"userId": ids[who.name], "role": who.role, "projectId": project}})
    rows: list[dict[str, Any]] = [
        {"externalId": item, "data": {"text": f"simulated item {item}"}} for item in world.truth
    ]
    if program.gold is not None:
        rows += [
            {"externalId": item, "data": {"text": f"simulated item {item}"}, "gold": {FIELD: CLASSES[cls]}}
            for item, cls in world.gold.items()
        ]
    random.Random(f"{config.seed}:order").shuffle(rows)  # gold questions among the others, as a manager would
    for start in range(0, len(rows), MAX_IMPORT):
        batch = rows[start : start + MAX_IMPORT]
        imported = await admin.mutate(IMPORT_ITEMS, {"input": {"projectId": project, "items": batch}})
        if imported["importedCount"] != len(batch):
            raise BenchError(f"importItems: {imported}")
    return project


async def annotate(
    client: Client, who: Person, project: str, world: World, seed: int, tally: Tally, done: asyncio.Event
) -> None:
    """Claim, answer by the confusion matrix, submit; wait while the queue is empty; stop when suspended."""
    while not done.is_set():
        claimed = await payload_of(client, CLAIM, {"input": {"projectId": project}})
        code = code_of(claimed)
        if code == "QUEUE_EMPTY":
            await pause(done, 0.25)
            continue
        if code == "SUSPENDED":
            tally.suspended[who.name] = (tally.labels[who.name], tally.gold_answers[who.name])
            return
        if code is not None:
            raise BenchError(f"claimNextTask of {who.name}: {claimed['errors']}")
        assignment = claimed["assignment"]
        item = assignment["item"]["externalId"]
        cls = who.answer(seed, item, world.true_class(item))
        submitted = await payload_of(
            client, SUBMIT, {"input": {"assignmentId": assignment["id"], "value": {FIELD: CLASSES[cls]}}}
        )
        if code_of(submitted) is not None:
            raise BenchError(f"submitLabel of {who.name}: {submitted['errors']}")
        if item in world.gold:
            tally.gold_answers[who.name] += 1
        else:
            tally.labels[who.name] += 1
            tally.label_rows.append((item, who.name, cls))


async def review(
    client: Client, who: Person, project: str, world: World, seed: int, tally: Tally, done: asyncio.Event
) -> None:
    """The reviewer's own judgement (drawn by its confusion matrix) decides: it accepts a label that
    says the same, or corrects to it. It reads the review queue a page at a time and works through
    the page on REVIEW_CONNECTIONS connections at once, as a reviewer with several tabs open would
    (one connection fell behind the seven annotators of the naive program)."""
    token = client.http.headers["authorization"].removeprefix("Bearer ")
    extra = [Client(str(client.http.base_url), token) for _ in range(REVIEW_CONNECTIONS - 1)]

    async def decide(connection: Client, nodes: Sequence[Mapping[str, Any]]) -> None:
        for node in nodes:
            own = who.answer(seed, f"review:{node['externalId']}", world.true_class(node["externalId"]))
            open_labels = [lb for lb in node["labels"] if lb["status"] == "SUBMITTED"]
            same = next((lb for lb in open_labels if lb["value"].get(FIELD) == CLASSES[own]), None)
            if same is not None:
                verdict_input: dict[str, Any] = {"labelId": same["id"], "verdict": "ACCEPT"}
            else:
                verdict_input = {
                    "labelId": open_labels[0]["id"],
                    "verdict": "CORRECT",
                    "correctedValue": {FIELD: CLASSES[own]},
                }
                tally.corrections += 1
            reviewed = await payload_of(connection, REVIEW, {"input": verdict_input})
            if code_of(reviewed) is not None:
                raise BenchError(f"reviewLabel: {reviewed['errors']}")
            tally.reviews += 1

    connections = [client, *extra]
    try:
        while not done.is_set():
            data = await read(client, IN_REVIEW, {"project": project})
            nodes = data["project"]["items"]["nodes"]
            if not nodes:
                await pause(done, 0.25)
                continue
            shares = [nodes[i :: len(connections)] for i in range(len(connections))]
            await asyncio.gather(*(decide(c, share) for c, share in zip(connections, shares, strict=True)))
    finally:
        for connection in extra:
            await connection.aclose()


async def resolve(
    client: Client, who: Person, project: str, world: World, seed: int, tally: Tally, done: asyncio.Event
) -> None:
    """The expert decides escalated items by its own judgement."""
    while not done.is_set():
        claimed = await payload_of(client, CLAIM_ESCALATION, {"input": {"projectId": project}})
        code = code_of(claimed)
        if code == "QUEUE_EMPTY":
            await pause(done, 0.25)
            continue
        if code is not None:
            raise BenchError(f"claimNextEscalation: {claimed['errors']}")
        item = claimed["escalation"]["item"]
        own = who.answer(seed, f"expert:{item['externalId']}", world.true_class(item["externalId"]))
        resolved = await payload_of(
            client,
            RESOLVE,
            {"input": {"itemId": item["id"], "value": {FIELD: CLASSES[own]}, "rationale": "The expert's own reading."}},
        )
        if code_of(resolved) is not None:
            raise BenchError(f"resolveEscalation: {resolved['errors']}")
        tally.expert_resolutions += 1


async def watch(
    admin: Client,
    program: Program,
    project: str,
    n_items: int,
    tally: Tally,
    done: asyncio.Event,
    progress: Progress,
    stall_s: float,
) -> None:
    """Until every item to decide is final: the progress line, and a stop when nothing moves."""
    started = last_move = time.monotonic()
    last: tuple[int, ...] = ()
    while True:
        counts = (await read(admin, COUNTS, {"project": project}))["project"]["itemCounts"]
        labels, gold = sum(tally.labels.values()), sum(tally.gold_answers.values())
        now = time.monotonic()
        progress.show(
            f"({program.key}) final {counts['final']}/{n_items}, in review {counts['inReview']}, "
            f"escalated {counts['escalated']}; labels {labels} + gold {gold}, reviews {tally.reviews}, "
            f"expert {tally.expert_resolutions}; {now - started:.0f} s"
        )
        if counts["final"] >= n_items:
            done.set()
            return
        state = (counts["final"], labels, gold, tally.reviews, tally.expert_resolutions)
        if state != last:
            last, last_move = state, now
        elif now - last_move > stall_s:
            raise BenchError(
                f"({program.key}) nothing moved for {stall_s:.0f} s: {counts} (suspended: {sorted(tally.suspended)})"
            )
        await asyncio.sleep(0.5)


async def read_finals(admin: Client, project: str) -> dict[str, int | None]:
    finals: dict[str, int | None] = {}
    after: str | None = None
    while True:
        page = (await read(admin, FINALS, {"project": project, "after": after}))["project"]["items"]
        for node in page["nodes"]:
            final = node["finalLabel"]
            finals[node["externalId"]] = class_of(final["value"]) if final else None
        if not page["pageInfo"]["hasNextPage"]:
            return finals
        after = page["pageInfo"]["endCursor"]


async def drive(
    base_url: str, program: Program, config: Config, world: World, progress: Progress
) -> tuple[Tally, dict[str, int | None]]:
    """Set the program up as its manager would, then let the crowd work until every item is final."""
    # Everyone signs in first: the admin's connection must not sit idle past the server's
    # keep-alive timeout (5 s) between its set-up and its first look at the counts.
    tokens = {name: await sign_in_as(base_url, name) for name in (ADMIN, *(who.name for who in config.crowd))}
    admin = Client(base_url, tokens[ADMIN])
    clients: list[Client] = [admin]
    try:
        project = await set_up_project(admin, program, config, world)
        tally, done = Tally(), asyncio.Event()
        jobs = []
        for who in config.crowd:
            client = Client(base_url, tokens[who.name])
            clients.append(client)
            work = {"ANNOTATOR": annotate, "REVIEWER": review, "EXPERT": resolve}[who.role]
            jobs.append(work(client, who, project, world, config.seed, tally, done))
        jobs.append(watch(admin, program, project, len(world.truth), tally, done, progress, config.stall_s))
        tasks = [asyncio.ensure_future(job) for job in jobs]
        try:
            await asyncio.gather(*tasks)
        finally:
            done.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return tally, await read_finals(admin, project)
    finally:
        for client in clients:
            await client.aclose()


def run_program(
    store: Store, program: Program, config: Config, world: World, folder: Path, progress: Progress
) -> tuple[Tally, dict[str, int | None], float]:
    """A fresh store (a copy of the one `prepare` set up), a fresh server, the program over HTTP."""
    store.restore()
    started = time.monotonic()
    with Server(store.url(), folder / f"server-{program.key}.log") as server:
        try:
            tally, finals = asyncio.run(drive(server.base_url, program, config, world, progress))
        except BaseException:
            print(f"\nserver log (last lines):\n{server.log_tail()}", file=sys.stderr)
            raise
    seconds = time.monotonic() - started
    progress.done(f"({program.key}) {program.title}: done in {seconds:.0f} s")
    return tally, finals, seconds


def prepare(store: Store, config: Config) -> None:
    """Schema and people through the CLI once (most of it is the CLI's start-up), kept as the
    template every program's fresh store is copied from."""
    store.fresh()
    bootstrap(store.url(), people=(ADMIN, *(who.name for who in config.crowd)))
    store.keep()


def offline_references(rows: Sequence[tuple[str, str, int]], truth: Mapping[str, int]) -> tuple[float, float]:
    """crowd-kit's DawidSkene and MajorityVote on a program's labels: accuracy against the truth."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene, MajorityVote

    frame = pd.DataFrame(rows, columns=["task", "worker", "label"])
    with warnings.catch_warnings():
        # crowd-kit 1.4 still passes inplace=/copy= to pandas 3, which warns on every call.
        warnings.simplefilter("ignore")
        ds = DawidSkene(n_iter=100, tol=1e-5).fit_predict(frame)
        mv = MajorityVote().fit_predict(frame)
    return accuracy(ds.to_dict(), truth), accuracy(mv.to_dict(), truth)


def simulate(config: Config, store: Store, progress: Progress | None = None) -> Report:
    progress = progress or Progress()
    world = make_world(config.items, config.gold_share, config.seed)
    spammer = next((who.name for who in config.crowd if who.kind == "spammer"), None)
    runs: dict[str, Figures] = {}
    tallies: dict[str, Tally] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="labelgraph-simulate-") as folder:
        try:
            prepare(store, config)
            for program in config.programs:
                tally, finals, seconds = run_program(store, program, config, world, Path(folder), progress)
                tallies[program.key] = tally
                runs[program.key] = figures(tally, finals, world.truth, spammer, seconds)
        finally:
            store.drop()
    ds_on_a, mv_on_a = offline_references(tallies["a"].label_rows, world.truth)
    return Report(config, store.name, len(world.gold), runs, ds_on_a, mv_on_a, time.monotonic() - started)


# --- the command ----------------------------------------------------------------------------


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments: one line on stderr and exit code 2, no usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = OneLineParser(prog="python -m bench.simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000, help="items to decide (default 2,000)")
    parser.add_argument("--seed", type=int, default=7, help="the crowd's and the truth's seed (default 7)")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite", help="default sqlite")
    args = parser.parse_args(argv)
    if not 20 <= args.items <= 100_000:
        parser.error("--items must lie within 20..100000")
    if args.seed < 0:
        parser.error("--seed must not be negative")
    return args


def _terminated(signum: int, _frame: object) -> None:
    # SIGTERM as an exception, so the `finally` blocks stop the server and drop the store.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    prog = "python -m bench.simulate"
    try:
        import crowdkit  # noqa: F401
    except ImportError:
        print(f"{prog}: crowd-kit is missing (pip install -e '.[dev]')", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminated)
    config = Config(items=args.items, seed=args.seed)
    try:
        if args.store == "postgresql":
            if (why := postgres_answers()) is not None:
                print(f"{prog}: PostgreSQL does not answer at 127.0.0.1:5432 ({why})", file=sys.stderr)
                return 2
            report = simulate(config, PostgresStore(PG_SIMULATE_DB))
        else:
            with tempfile.TemporaryDirectory(prefix="labelgraph-simulate-db-") as folder:
                report = simulate(config, SqliteStore(Path(folder)))
    except (BenchError, RuntimeError) as exc:
        # The server's log tail is already on stderr; the cause in one line.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        print(f"\n{prog}: {first}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    print(
        "\n(b) varies by a point or two between runs: the server draws its review sample and gold "
        "questions from hashes of fresh ids, and concurrent clients get items in no fixed order."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
