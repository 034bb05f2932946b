"""The demo program: one identity per role, a product-review project with its label schema and
guideline, and the items in demo_items.jsonl.

`labelgraph seed --demo` runs `load_demo` in one write transaction and prints what it returns.
Every step looks before it writes, so a second run changes nothing.

The demo credentials are fixed and public: people sign in with `demo-<username>-pass`, the
service account with the client secret `demo-<username>-secret`. Never load the demo into a
database that holds real data.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

import app.tables  # noqa: F401  (the ORM needs every table to resolve foreign keys)
from app.auth.actor import Actor
from app.auth.models import IdentityKind, User
from app.auth.passwords import Passwords
from app.auth.service import create_identity
from app.ingestion.models import Item
from app.ingestion.service import NewItem, import_items
from app.policies.enforcer import Authorizer
from app.policies.roles import Role
from app.policies.service import grant_as_system, grants_in_db
from app.projects.models import Project
from app.projects.service import NewProject, create_project
from app.schema.node import global_id
from seeds.demo_guideline import GUIDELINE_CONTENT

ITEMS_PATH = Path(__file__).with_name("demo_items.jsonl")
PROJECT_NAME = "Product reviews (demo)"
BASE_URL = "http://127.0.0.1:8000"  # where `labelgraph serve` listens by default


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    display_name: str
    kind: IdentityKind = IdentityKind.HUMAN

    @property
    def secret(self) -> str:
        """The fixed demo password (people) or client secret (the service account)."""
        kind = "secret" if self.kind is IdentityKind.SERVICE else "pass"
        return f"demo-{self.username}-{kind}"

    @property
    def scope(self) -> str | None:
        """The project the role is held in; None for org-wide roles."""
        return None if self.role.org_wide else PROJECT_NAME


DEMO_USERS = (
    DemoUser("admin", Role.ADMIN, "Demo administrator"),
    DemoUser("pm", Role.PROJECT_MANAGER, "Demo project manager"),
    DemoUser("annotator1", Role.ANNOTATOR, "Demo annotator 1"),
    DemoUser("annotator2", Role.ANNOTATOR, "Demo annotator 2"),
    DemoUser("reviewer", Role.REVIEWER, "Demo reviewer"),
    DemoUser("qa_auditor", Role.QA_AUDITOR, "Demo QA auditor"),
    DemoUser("expert", Role.EXPERT, "Demo domain expert"),
    DemoUser("compliance", Role.COMPLIANCE_OFFICER, "Demo compliance officer"),
    DemoUser("ingest-bot", Role.INGESTION_SERVICE, "Demo ingestion service", IdentityKind.SERVICE),
    DemoUser("ml-bot", Role.ML_SERVICE, "Demo model service", IdentityKind.SERVICE),
)

LABEL_SCHEMA = {
    "fields": [
        {
            "name": "sentiment",
            "kind": "single_choice",
            "classes": ["positive", "negative", "neutral", "mixed"],
            "required": True,
        },
        {
            "name": "topics",
            "kind": "multi_choice",
            "classes": ["price", "quality", "delivery", "durability", "support", "usability"],
            "required": False,
        },
        {"name": "notes", "kind": "text", "max_length": 500, "required": False},
    ]
}

GUIDELINE = """\
# Product reviews: sentiment and topics

Each item is one customer message about one product: a store review, a support e-mail, a chat
message, a survey answer or a social-media post. Read all of it, then label what the writer
says about the product and the company. Label the text, not the product you know.

## sentiment (required, one class)

- **positive**: the writer is satisfied overall. Praise with a small wish stays positive
  ("Good sound, battery lasts forever. Wish the case was smaller.").
- **negative**: the writer is dissatisfied: a defect, a return, a complaint, disappointment.
  A polite support request about something broken is negative.
- **neutral**: no opinion either way: questions, requests for information, plain facts, and
  lukewarm verdicts without a real plus or minus ("It's a kettle. It boils water.").
- **mixed**: a clear positive and a clear negative of similar weight, neither winning
  ("Sound 10/10. Microphone 3/10.").

## topics (optional, every one that applies)

- **price**: cost, value for money, sales, subscriptions.
- **quality**: how well the product works or is made: sound, taste, fit, comfort, materials,
  defects out of the box.
- **delivery**: shipping time, packaging, wrong or missing parts in the parcel, damage in transit.
- **durability**: how it holds up: breaking, wearing out or fading after weeks or months.
- **support**: customer service, warranty, returns, exchanges, spare parts.
- **usability**: set-up, controls, apps, cleaning, ergonomics, day-to-day handling.

## notes (optional, at most 500 characters)

Say why you made a hard call, or flag an item that is not a customer message or that holds
personal data.

## Edge cases

- **Sarcasm**: label what the writer means. "Great, another mouse that double-clicks. Just what
  I needed." is negative.
- **Questions**: "Is the mat latex free?" is neutral. "It stopped working, what are the next
  steps?" is negative: it reports a defect.
- **Updated reviews**: label the latest opinion. A defect fixed by good support ("updating from
  1 to 3 stars") is usually mixed, with topics durability and support.
- **Lukewarm is not mixed**: "Does the job" or "Solid 3/5" with no specifics is neutral; mixed
  needs something good and something bad named.
- **A dealbreaker wins**: "Comfortable, but the heel slips and I'm returning them" is negative.
- **Someone else's opinion** ("Bought it for my mum, she says ...") counts as the writer's.
- Typos, slang and missing capitals never change the label.
"""


async def load_demo(session: AsyncSession, passwords: Passwords, base_url: str = BASE_URL, *, hash_key: bytes) -> str:
    """Load the demo program into the session's transaction; returns what to print, with the
    curl lines aimed at `base_url` (the server the demo will be served from)."""
    created_users = [demo.username for demo in DEMO_USERS if await _ensure_user(session, passwords, demo)]
    # Org-wide grants first: the admin's grant is what lets it create the project.
    new_grants = [demo.username for demo in DEMO_USERS if demo.scope is None and await _grant(session, demo)]
    admin = await _actor(session, "admin")
    project, project_created = await _ensure_project(session, admin)
    new_grants += [demo.username for demo in DEMO_USERS if demo.scope is not None and await _grant(session, demo)]
    imported = await _import_new_items(session, admin, project.id, hash_key)
    total = await session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project.id))
    older = [demo for demo in DEMO_USERS if demo.username not in created_users]
    changed = await _secrets_changed(session, passwords, older)
    return _summary(
        project,
        total or 0,
        changes=(len(created_users), len(new_grants), int(project_created), imported),
        secrets_changed=changed,
        base_url=base_url.rstrip("/"),
    )


async def _ensure_user(session: AsyncSession, passwords: Passwords, demo: DemoUser) -> bool:
    """Create the identity unless the username exists (an existing one is left as it is)."""
    if await session.scalar(select(User.id).where(User.username == demo.username)):
        return False
    await create_identity(
        session, passwords, username=demo.username, secret=demo.secret, kind=demo.kind, display_name=demo.display_name
    )
    return True


async def _grant(session: AsyncSession, demo: DemoUser) -> bool:
    return await grant_as_system(session, demo.username, demo.role, demo.scope)


async def _actor(session: AsyncSession, username: str) -> Actor:
    """The user as an Actor that sees the grants written so far in this transaction."""
    user = await session.scalar(select(User).where(User.username == username))
    assert user is not None, f"{username} was created above"
    return Actor(user.id, user.username, user.kind, Authorizer(await grants_in_db(session)))


async def _ensure_project(session: AsyncSession, admin: Actor) -> tuple[Project, bool]:
    """The demo project; an existing one keeps its settings, schema and guideline."""
    existing = await session.scalar(select(Project).where(Project.name == PROJECT_NAME))
    if existing is not None:
        return existing, False
    new = NewProject(
        name=PROJECT_NAME,
        label_schema=LABEL_SCHEMA,
        description="Demo: sentiment and topics of customer messages about household products.",
        overlap=2,
        guideline=GUIDELINE,
        guideline_content=GUIDELINE_CONTENT,
    )
    return await create_project(session, admin, new), True


def read_items(path: Path = ITEMS_PATH) -> list[NewItem]:
    with path.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    return [NewItem(r["external_id"], r["data"], r.get("metadata")) for r in records]


async def _import_new_items(session: AsyncSession, admin: Actor, project_id: uuid.UUID, hash_key: bytes) -> int:
    """Import the file's items the project does not hold yet; returns how many."""
    present = set(await session.scalars(select(Item.external_id).where(Item.project_id == project_id)))
    fresh = [item for item in read_items() if item.external_id not in present]
    if not fresh:
        return 0
    result = await import_items(session, admin, project_id, fresh, max_items=len(fresh), hash_key=hash_key)
    return result.created


async def _secrets_changed(session: AsyncSession, passwords: Passwords, existing: list[DemoUser]) -> set[str]:
    """Usernames that existed before this run and no longer take their demo secret."""
    changed: set[str] = set()
    for demo in existing:
        stored = await session.scalar(select(User.secret_hash).where(User.username == demo.username))
        if not await passwords.verify(stored, demo.secret):
            changed.add(demo.username)
    return changed


def _summary(
    project: Project, items: int, *, changes: tuple[int, int, int, int], secrets_changed: set[str], base_url: str
) -> str:
    users, grants, projects, imported = changes
    outcome = "Already loaded: nothing changed."
    if any(changes):
        made = [
            _count(users, "user"),
            _count(grants, "role grant"),
            _count(projects, "project"),
            _count(imported, "item"),
        ]
        outcome = f"Created {', '.join(made)}."
    rows = []
    for demo in DEMO_USERS:
        where = "org-wide" if demo.scope is None else "in the project"
        if demo.kind is IdentityKind.SERVICE:
            where += ", service account"
        secret = "(changed since seeding)" if demo.username in secrets_changed else demo.secret
        rows.append(f"  {demo.username:<12} {demo.role.value:<19} {where:<32} {secret}")
    annotator, bot = DEMO_USERS[2], DEMO_USERS[-1]
    return "\n".join(
        [
            f"Demo program. {outcome}",
            "",
            "Users (username, role, scope, password or client secret):",
            *rows,
            "",
            f"Project: {project.name}",
            f"  id {global_id('Project', project.id)}, overlap {project.overlap}, {items} items",
            "",
            "Get an access token (a person, then the service account):",
            f"  curl -s {base_url}/auth/token -d grant_type=password"
            f" -d username={annotator.username} -d password={annotator.secret}",
            f"  curl -s {base_url}/auth/token -d grant_type=client_credentials"
            f" -d client_id={bot.username} -d client_secret={bot.secret}",
            "Then send it to the API:",
            f"  curl -s {base_url}/graphql -H 'Authorization: Bearer <access_token>'"
            """ -H 'Content-Type: application/json' -d '{"query": "{ viewer { username roles { role } } }"}'""",
        ]
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
