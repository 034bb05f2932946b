"""The fixed workload, as a client runs it: tokens from /auth/token, GraphQL for everything else.

The client is kept light because it shares the machine's cores with the server: request
bodies are encoded with the stdlib json module, responses are checked for errors and for the
few fields the next step needs, and nothing else is done per request.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.server import ADMIN, ANNOTATORS, PASSWORD, REVIEWER

SCHEMA = {
    "fields": [
        {"name": "sentiment", "kind": "single_choice", "classes": ["pos", "neg", "neu"], "required": True},
        {"name": "topics", "kind": "multi_choice", "classes": ["price", "quality", "delivery"], "required": False},
    ]
}
VALUES = [
    {"sentiment": "pos", "topics": ["quality"]},
    {"sentiment": "neg", "topics": ["price", "delivery"]},
    {"sentiment": "neu", "topics": []},
    {"sentiment": "pos"},
]
SAMPLE_TEXT = (
    "the parcel arrived late but the product itself works well and the price was fair for what you get "
    "support answered quickly though the box was damaged in transit would order again if delivery improves "
    "quality feels solid battery lasts two days screen is bright enough outdoors sound could be louder"
)
WORDS = SAMPLE_TEXT.split()

CREATE_PROJECT = """
mutation CreateProject($input: CreateProjectInput!) {
  createProject(input: $input) { project { id overlap } errors { code field message } }
}"""
FIND_USERS = """
query FindUsers($search: String!) { users(first: 20, search: $search) { nodes { id username } } }"""
GRANT_ROLE = """
mutation GrantRole($input: RoleInput!) { grantRole(input: $input) { user { id } errors { code field message } } }"""
IMPORT_ITEMS = """
mutation ImportItems($input: ImportItemsInput!) {
  importItems(input: $input) { importedCount errors { code field message } }
}"""
ACKNOWLEDGE = """
mutation Acknowledge($input: AcknowledgeGuidelineInput!) {
  acknowledgeGuideline(input: $input) { errors { code field message } }
}
"""
CLAIM = """
mutation Claim($input: ClaimNextTaskInput!) {
  claimNextTask(input: $input) {
    assignment { id leaseExpiresAt item { id externalId data } }
    resumed
    errors { code field message }
  }
}"""
SUBMIT = """
mutation Submit($input: SubmitLabelInput!) {
  submitLabel(input: $input) { label { id status } errors { code field message } }
}"""
REVIEW_QUEUE = """
query ReviewQueue($project: ID!, $after: String) {
  project(id: $project) {
    items(first: 100, after: $after, status: IN_REVIEW) {
      pageInfo { hasNextPage endCursor }
      nodes { id labels { id status } }
    }
  }
}"""
REVIEW = """
mutation Review($input: ReviewLabelInput!) {
  reviewLabel(input: $input) { finalLabel { method } errors { code field message } }
}"""
PAGE = """
query ItemsPage($project: ID!, $first: Int!, $after: String) {
  project(id: $project) {
    items(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id externalId data status createdAt finalizedAt
        labels { id value status createdAt schemaVersion author { id username } }
        reviews { id verdict comment createdAt labelId reviewer { id username } }
        finalLabel { value method agreement decidedAt sourceLabelIds decidedBy { id username } }
      }
    }
  }
}"""


def _fail_fast_on_missing_sniffio() -> None:
    """httpcore tries `import sniffio` on every request; when it is not installed each try searches
    sys.path again (~0.3 ms of the bench's CPU per request). A None entry makes the import fail at
    once, which httpcore reads as asyncio, as before."""
    if importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_fail_fast_on_missing_sniffio()


class BenchError(RuntimeError):
    """The server answered something the workload cannot go on from."""


@dataclass(frozen=True)
class Sizes:
    items: int = 10_000
    cycles: int = 2_000
    pages: int = 20
    page_size: int = 100
    annotators: int = len(ANNOTATORS)
    review_clients: int = 4


FULL = Sizes()
QUICK = Sizes(items=1_000, cycles=200, pages=2)


@dataclass
class RunFigures:
    import_s: float = 0.0
    cycles_per_s: float = 0.0
    cycle_p50_ms: float = 0.0
    cycle_p95_ms: float = 0.0
    reviews_per_s: float = 0.0
    reviews: int = 0
    page_p50_ms: float = 0.0
    page_p95_ms: float = 0.0
    page_items: int = 0
    page_finals: int = 0
    export_s: float = 0.0
    export_lines: int = 0
    snapshot_id: str = ""
    # The same snapshot again in the other formats (GET /export/snapshots/{id}/{format}): seconds, bytes.
    format_s: dict[str, float] = field(default_factory=dict)
    format_bytes: dict[str, int] = field(default_factory=dict)
    metrics_scrape_ms: float = 0.0
    # Where the time went: server CPU seconds per phase, and the bench client's own CPU.
    server_cpu_s: dict[str, float] = field(default_factory=dict)
    client_cpu_s: dict[str, float] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def item_rows(n: int) -> list[dict[str, Any]]:
    """n items of ~200 characters of text each, with distinct external ids; the same every run."""
    rng = random.Random(20261129)
    rows = []
    for i in range(n):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < 200:
            words.append(rng.choice(WORDS))
        rows.append({"externalId": f"bench-{i:06d}", "data": {"text": " ".join(words)[:200]}})
    return rows


class Client:
    """One HTTP/1.1 keep-alive connection speaking GraphQL with one bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            timeout=httpx.Timeout(300.0),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    async def post(self, body: bytes) -> dict[str, Any]:
        response = await self.http.post("/graphql", content=body)
        reply: dict[str, Any] = json.loads(response.content)
        if response.status_code != 200 or reply.get("errors"):
            raise BenchError(f"HTTP {response.status_code}: {json.dumps(reply)[:2000]}")
        data: dict[str, Any] = reply["data"]
        return data

    async def gql(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await self.post(json.dumps({"query": document, "variables": variables}).encode())

    async def mutate(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The mutation's payload; its UserErrors are a failure of the run."""
        data = await self.gql(document, variables)
        (payload,) = data.values()
        if payload["errors"]:
            raise BenchError(f"{next(iter(data))}: {payload['errors']}")
        result: dict[str, Any] = payload
        return result

    async def aclose(self) -> None:
        await self.http.aclose()


async def sign_in(base_url: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post(
            "/auth/token", data={"grant_type": "password", "username": username, "password": PASSWORD}
        )
    if response.status_code != 200:
        raise BenchError(f"sign-in of {username}: HTTP {response.status_code} {response.text}")
    token: str = response.json()["access_token"]
    return token


@dataclass
class Cast:
    admin: Client
    annotators: list[Client]
    reviewers: list[Client]
    project_id: str

    async def aclose(self) -> None:
        for client in (self.admin, *self.annotators, *self.reviewers):
            await client.aclose()


# The project's aggregation method (bench.run --method).
METHOD = "MAJORITY"

UPDATE_POLICY = """
mutation Policy($input: UpdateQualityPolicyInput!) {
  updateQualityPolicy(input: $input) { project { id } errors { code field message } }
}
"""


async def set_up(base_url: str, sizes: Sizes) -> Cast:
    """The admin creates the project and gives the annotators and the reviewer their roles."""
    admin = Client(base_url, await sign_in(base_url, ADMIN))
    created = await admin.mutate(
        CREATE_PROJECT,
        {
            "input": {
                "name": "Bench reviews",
                "labelSchema": SCHEMA,
                "overlap": 1,
                "leaseSeconds": 600,
                "guideline": "# Sentiment\nPick the overall sentiment; tick every topic the text mentions.",
            }
        },
    )
    project_id: str = created["project"]["id"]
    if METHOD != "MAJORITY":
        await admin.mutate(UPDATE_POLICY, {"input": {"projectId": project_id, "method": METHOD}})
    wanted = {*ANNOTATORS[: sizes.annotators], REVIEWER}
    ids: dict[str, str] = {}
    for search in ("ann", REVIEWER):
        found = await admin.gql(FIND_USERS, {"search": search})
        ids.update({u["username"]: u["id"] for u in found["users"]["nodes"] if u["username"] in wanted})
    if set(ids) != wanted:
        raise BenchError(f"users(search:) found {sorted(ids)}, expected {sorted(wanted)}")
    for name in sorted(wanted):
        role = "REVIEWER" if name == REVIEWER else "ANNOTATOR"
        await admin.mutate(GRANT_ROLE, {"input": {"userId": ids[name], "role": role, "projectId": project_id}})
    annotators = [Client(base_url, await sign_in(base_url, name)) for name in ANNOTATORS[: sizes.annotators]]
    for client in annotators:  # claims wait until the guideline in force was acknowledged
        await client.mutate(ACKNOWLEDGE, {"input": {"projectId": project_id, "version": 1}})
    reviewer_token = await sign_in(base_url, REVIEWER)
    reviewers = [Client(base_url, reviewer_token) for _ in range(sizes.review_clients)]
    return Cast(admin, annotators, reviewers, project_id)


class Phase:
    """Measures a phase: wall time, the server's CPU and the bench client's own CPU."""

    def __init__(self, name: str, figures: RunFigures, server_cpu: Callable[[], float]) -> None:
        self.name, self.figures, self.server_cpu = name, figures, server_cpu

    def __enter__(self) -> Phase:
        self._cpu0, self._client0, self._t0 = self.server_cpu(), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._t0
        self.figures.server_cpu_s[self.name] = self.server_cpu() - self._cpu0
        self.figures.client_cpu_s[self.name] = time.process_time() - self._client0


async def import_items(cast: Cast, rows: list[dict[str, Any]], figures: RunFigures, cpu: Callable[[], float]) -> None:
    body = json.dumps({"query": IMPORT_ITEMS, "variables": {"input": {"projectId": cast.project_id, "items": rows}}})
    encoded = body.encode()
    with Phase("import", figures, cpu) as phase:
        data = await cast.admin.post(encoded)
    payload = data["importItems"]
    if payload["errors"] or payload["importedCount"] != len(rows):
        raise BenchError(f"importItems: {payload}")
    figures.import_s = phase.wall_s


async def label(cast: Cast, cycles: int, figures: RunFigures, cpu: Callable[[], float]) -> None:
    """claimNextTask then submitLabel, `cycles` times in all, from the annotators at once."""
    remaining = cycles
    latencies: list[float] = []
    project = {"input": {"projectId": cast.project_id}}

    async def annotator(client: Client, n: int) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            claim = await client.mutate(CLAIM, project)
            assignment = claim["assignment"]
            value = VALUES[n % len(VALUES)]
            n += 1
            await client.mutate(SUBMIT, {"input": {"assignmentId": assignment["id"], "value": value, "timeSpentMs": n}})
            latencies.append(time.perf_counter() - started)

    with Phase("label", figures, cpu) as phase:
        await asyncio.gather(*(annotator(c, i) for i, c in enumerate(cast.annotators)))
    figures.cycles_per_s = len(latencies) / phase.wall_s
    figures.cycle_p50_ms = percentile(latencies, 50) * 1000
    figures.cycle_p95_ms = percentile(latencies, 95) * 1000


async def review(cast: Cast, figures: RunFigures, cpu: Callable[[], float]) -> None:
    """The reviewer reads the review queue, then accepts every label from several clients at once."""
    label_ids: list[str] = []
    after: str | None = None
    reader = cast.reviewers[0]
    while True:
        data = await reader.gql(REVIEW_QUEUE, {"project": cast.project_id, "after": after})
        page = data["project"]["items"]
        label_ids += [lb["id"] for item in page["nodes"] for lb in item["labels"] if lb["status"] == "SUBMITTED"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    pending = list(reversed(label_ids))

    async def reviewer(client: Client) -> None:
        while pending:
            label_id = pending.pop()
            await client.mutate(REVIEW, {"input": {"labelId": label_id, "verdict": "ACCEPT"}})

    with Phase("review", figures, cpu) as phase:
        await asyncio.gather(*(reviewer(c) for c in cast.reviewers))
    figures.reviews = len(label_ids)
    figures.reviews_per_s = len(label_ids) / phase.wall_s


async def read_pages(cast: Cast, sizes: Sizes, figures: RunFigures, cpu: Callable[[], float]) -> None:
    """Walk the project's items a page at a time, with labels, reviews, authors and final label."""
    latencies: list[float] = []
    after: str | None = None
    with Phase("pages", figures, cpu):
        for _ in range(sizes.pages):
            variables = {"project": cast.project_id, "first": sizes.page_size, "after": after}
            started = time.perf_counter()
            data = await cast.admin.gql(PAGE, variables)
            latencies.append(time.perf_counter() - started)
            page = data["project"]["items"]
            figures.page_items += len(page["nodes"])
            figures.page_finals += sum(1 for node in page["nodes"] if node["finalLabel"] is not None)
            after = page["pageInfo"]["endCursor"]
            if not page["pageInfo"]["hasNextPage"]:
                break
    figures.page_p50_ms = percentile(latencies, 50) * 1000
    figures.page_p95_ms = percentile(latencies, 95) * 1000


async def export(cast: Cast, figures: RunFigures, cpu: Callable[[], float]) -> None:
    """GET /export/{projectId}.jsonl, read to its last byte."""
    lines = 0
    with Phase("export", figures, cpu) as phase:
        async with cast.admin.http.stream("GET", f"/export/{cast.project_id}.jsonl") as response:
            if response.status_code != 200:
                raise BenchError(f"export: HTTP {response.status_code} {(await response.aread())[:500]!r}")
            async for chunk in response.aiter_raw():
                lines += chunk.count(b"\n")
        figures.snapshot_id = response.headers.get("labelgraph-snapshot", "")
    figures.export_s = phase.wall_s
    figures.export_lines = lines


# The formats people train from, rendered from the JSONL export's snapshot (jsonl is the peer).
FORMATS = ("csv", "parquet", "hf", "label-studio")


async def export_formats(cast: Cast, figures: RunFigures, cpu: Callable[[], float]) -> None:
    """The export's snapshot again in each of FORMATS, read to its last byte."""
    for fmt in FORMATS:
        size = 0
        with Phase(f"export-{fmt}", figures, cpu) as phase:
            async with cast.admin.http.stream("GET", f"/export/snapshots/{figures.snapshot_id}/{fmt}") as response:
                if response.status_code != 200:
                    raise BenchError(f"export {fmt}: HTTP {response.status_code} {(await response.aread())[:500]!r}")
                async for chunk in response.aiter_raw():
                    size += len(chunk)
        figures.format_s[fmt] = phase.wall_s
        figures.format_bytes[fmt] = size


async def scrape_metrics(cast: Cast, figures: RunFigures) -> None:
    """GET /metrics as the admin (who holds `metrics read`): what a Prometheus scrape costs."""
    started = time.perf_counter()
    response = await cast.admin.http.get("/metrics")
    if response.status_code != 200 or b"labelgraph_claims_total" not in response.content:
        raise BenchError(f"metrics: HTTP {response.status_code} {response.content[:300]!r}")
    figures.metrics_scrape_ms = (time.perf_counter() - started) * 1000


async def run_workload(
    base_url: str, sizes: Sizes, rows: list[dict[str, Any]], cpu: Callable[[], float], say: Callable[[str], None]
) -> RunFigures:
    figures = RunFigures()
    cast = await set_up(base_url, sizes)
    try:
        await import_items(cast, rows, figures, cpu)
        say(f"import {len(rows):,} items: {figures.import_s:.3f} s")
        await label(cast, sizes.cycles, figures, cpu)
        say(
            f"{sizes.cycles:,} claim+submit cycles: {figures.cycles_per_s:.1f}/s, "
            f"p50 {figures.cycle_p50_ms:.1f} ms, p95 {figures.cycle_p95_ms:.1f} ms"
        )
        await review(cast, figures, cpu)
        say(f"{figures.reviews:,} reviews (ACCEPT): {figures.reviews_per_s:.1f}/s")
        await read_pages(cast, sizes, figures, cpu)
        say(
            f"{sizes.pages} pages of {sizes.page_size}: p50 {figures.page_p50_ms:.1f} ms, "
            f"p95 {figures.page_p95_ms:.1f} ms ({figures.page_items:,} items, {figures.page_finals:,} final)"
        )
        await export(cast, figures, cpu)
        say(f"export: {figures.export_s:.3f} s, {figures.export_lines:,} lines")
        await export_formats(cast, figures, cpu)
        say(
            "the snapshot again: "
            + ", ".join(
                f"{fmt} {figures.format_s[fmt]:.3f} s ({figures.format_bytes[fmt] / 1e6:.1f} MB)" for fmt in FORMATS
            )
        )
        await scrape_metrics(cast, figures)
        say(f"/metrics scrape: {figures.metrics_scrape_ms:.1f} ms")
    finally:
        await cast.aclose()
    return figures
