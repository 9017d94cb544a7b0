#!/usr/bin/env python3
"""Generate a synthetic multi-tenant Django project for benchmarking tenantlint.

Usage:
    python3 bench/gen_project.py OUT_DIR --lines 1000000 [--seed N] [--force]

The project looks like a shared-schema SaaS code base:

* ``tenancy/``  -- ``Tenant`` (the tenant registry), the abstract ``TenantAwareModel``,
  ``TenantAwareManager`` (the scoped manager), ``tenancy/cache.py`` with ``tenant_cache``
  and ``tenant_key``, a context module, a middleware.
* ``common/``   -- shared, non-tenant helpers and an abstract ``TimeStampedModel``.
* ``config/``   -- settings and urls.
* ``app_000/`` ... -- Django apps with models, managers, views, services, tasks,
  serializers, admin, urls, signals, migrations, tests and plenty of ordinary Python
  (dataclasses, helpers, comprehensions, f-strings, match statements, async code...).

Tenant-isolation bugs are planted at a low, realistic rate (TEN101 models without a
scoped default manager, TEN201 unscoped queries, TEN301 unprefixed cache keys), some of
them suppressed with ``# noqa``.  The counts are written to ``OUT_DIR/bench_manifest.json``
so a run over the tree can be sanity-checked (see bench/README.md).

Only the standard library is used.  Output is deterministic for a given seed and
line target.
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------
# vocabulary
# --------------------------------------------------------------------------------------

NOUNS = [
    "invoice", "order", "customer", "payment", "shipment", "product", "subscription",
    "ticket", "project", "task", "document", "report", "account", "contact", "lead",
    "campaign", "asset", "vendor", "contract", "budget", "expense", "timesheet",
    "employee", "department", "warehouse", "inventory", "coupon", "refund", "review",
    "message", "notification", "webhook", "integration", "workflow", "approval", "audit",
    "license", "device", "location", "schedule", "booking", "room", "attendee", "course",
    "lesson", "enrollment", "quiz", "article", "comment", "label", "category", "plan",
    "quota", "usage", "metric", "alert", "incident", "policy", "claim", "patient",
    "appointment", "prescription", "vehicle", "route", "driver", "parcel", "supplier",
    "receipt", "ledger", "journal", "milestone", "sprint", "release", "feature", "survey",
    "response", "credit", "discount", "voucher", "membership", "team", "member", "role",
    "permission", "session", "token", "upload", "attachment", "template", "segment",
]
SUFFIXES = [
    "line", "item", "note", "entry", "event", "batch", "rule", "setting", "snapshot",
    "log", "link", "version", "group", "request", "summary", "record", "slot", "tier",
]
ADJS = [
    "active", "pending", "archived", "primary", "default", "recent", "stale", "open",
    "closed", "draft", "shared", "internal", "external", "billable", "overdue", "priority",
    "public", "private", "monthly", "weekly", "daily", "expired", "flagged", "verified",
]
VERBS = [
    "compute", "build", "sync", "refresh", "collect", "render", "export", "load",
    "validate", "normalize", "reconcile", "summarize", "dispatch", "prepare", "resolve",
    "schedule", "merge", "split", "apply", "publish", "rebuild", "purge", "notify",
    "recalculate", "aggregate", "format", "parse", "estimate", "allocate", "archive",
]
STATUSES = ["draft", "open", "pending", "active", "paused", "closed", "archived", "failed", "done"]
STATES = sorted(set(STATUSES) | set(ADJS))
WORDS = [
    "the", "current", "tenant", "record", "value", "total", "list", "set", "of", "rows",
    "for", "each", "given", "returned", "cached", "computed", "result", "when", "missing",
    "and", "with", "a", "new", "existing", "valid", "optional", "amount", "period",
    "window", "batch", "limit", "default", "from", "into", "all", "matching", "entries",
]
EXTRA_FIELDS = [
    ("description", 'models.TextField(blank=True, default="")'),
    ("amount", 'models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))'),
    ("quantity", "models.PositiveIntegerField(default=0)"),
    ("priority", "models.SmallIntegerField(default=0, db_index=True)"),
    ("due_date", "models.DateField(null=True, blank=True)"),
    ("updated_at", "models.DateTimeField(auto_now=True)"),
    ("reference", "models.CharField(max_length=64, unique=True, default=uuid.uuid4)"),
    ("external_id", 'models.CharField(max_length=128, blank=True, default="")'),
    ("metadata", "models.JSONField(default=dict, blank=True)"),
    ("email", "models.EmailField(blank=True)"),
    ("score", "models.FloatField(default=0.0)"),
    ("is_public", "models.BooleanField(default=False)"),
    ("slug", "models.SlugField(max_length=80, blank=True)"),
    ("notes", 'models.TextField(blank=True, default="")'),
    ("currency", 'models.CharField(max_length=3, default="EUR")'),
    ("position", "models.PositiveIntegerField(default=0)"),
]


def ident(name: str) -> str:
    return name + "_" if keyword.iskeyword(name) or keyword.issoftkeyword(name) else name


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


class Names:
    """Hands out identifiers that are unique within one file."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, base: str) -> str:
        base = ident(base)
        name, n = base, 2
        while name in self.used:
            name = f"{base}_{n}"
            n += 1
        self.used.add(name)
        return name


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def prune_imports(lines: list[str], r: random.Random, keep_unused: float) -> list[str]:
    """Drop the names of the leading import block that the rest of the file never uses.

    Templates import generously; real projects that run a linter in CI have few unused
    imports.  With probability ``keep_unused`` one unused name is kept, so F401 still has a
    little to report.
    """
    i = 0
    if lines and lines[0].startswith('"""'):
        if lines[0].count('"""') >= 2 and len(lines[0]) > 3:
            i = 1
        else:
            i = 1
            while i < len(lines) and '"""' not in lines[i]:
                i += 1
            i += 1
    start = i
    stmts: list[tuple[str, list[str], list[str]]] = []  # (kind, names-bound, original lines)
    while i < len(lines):
        ln = lines[i]
        if ln == "" or ln.startswith("#"):
            stmts.append(("blank", [], [ln]))
            i += 1
            continue
        if ln.startswith("import ") or (ln.startswith("from ") and " import " in ln):
            orig = [ln]
            if ln.endswith("("):
                while not lines[i].startswith(")"):
                    i += 1
                    orig.append(lines[i])
            i += 1
            stmts.append(("import", [], orig))
            continue
        break
    end = i
    used = set(_WORD.findall("\n".join(lines[end:])))
    out: list[str] = []
    spare: list[str] = []
    for kind, _, orig in stmts:
        if kind == "blank":
            if orig[0] == "" and out and out[-1] == "":
                continue
            out.append(orig[0])
            continue
        first = orig[0]
        if "noqa" in first or first.startswith("from __future__"):
            out.append(first) if len(orig) == 1 else out.extend(orig)
            continue
        if first.startswith("import "):
            target = first[len("import "):]
            bound = target.split(" as ")[1] if " as " in target else target.split(".")[0]
            if bound in used:
                out.append(first)
            else:
                spare.append(first)
            continue
        module = first[len("from "):].split(" import ")[0]
        body = " ".join(x.strip() for x in orig)
        items = body.split(" import ", 1)[1].strip().strip("()")
        names = [x.strip() for x in items.split(",") if x.strip()]
        keep = [n for n in names if (n.split(" as ")[-1]) in used]
        spare += [f"from {module} import {n}" for n in names if n not in keep]
        if keep:
            out.append(f"from {module} import {', '.join(keep)}")
    if spare and r.random() < keep_unused:
        pos = next((k for k, x in enumerate(out)
                    if x.startswith(("import ", "from ")) and not x.startswith("from __future__")), len(out))
        out.insert(pos, r.choice(spare))
    while len(out) > 1 and out[0] == "" and out[1] == "":
        out.pop(0)
    return lines[:start] + out + lines[end:]


# --------------------------------------------------------------------------------------
# bookkeeping
# --------------------------------------------------------------------------------------


@dataclass
class Stats:
    planted: dict[str, int] = field(default_factory=lambda: {"TEN101": 0, "TEN201": 0, "TEN301": 0})
    suppressed: dict[str, int] = field(default_factory=lambda: {"TEN101": 0, "TEN201": 0, "TEN301": 0})
    ambiguous: dict[str, int] = field(default_factory=lambda: {"TEN201": 0, "TEN301": 0})
    clean: dict[str, int] = field(default_factory=lambda: {"models": 0, "queries": 0, "cache_calls": 0})
    kinds: dict[str, int] = field(default_factory=dict)
    detail: dict[str, int] = field(default_factory=dict)

    def note(self, key: str) -> None:
        self.detail[key] = self.detail.get(key, 0) + 1

    def plant(self, code: str, suppressed: bool) -> None:
        (self.suppressed if suppressed else self.planted)[code] += 1


@dataclass
class ModelSpec:
    app: str
    name: str
    kind: str
    tenant_owned: bool
    default_scoped: bool
    unscoped_attr: str | None  # an extra unscoped manager reachable on the class
    fields: list[str]

    @property
    def var(self) -> str:
        out = []
        for i, ch in enumerate(self.name):
            if ch.isupper() and i:
                out.append("_")
            out.append(ch.lower())
        return ident("".join(out))


# --------------------------------------------------------------------------------------
# generator
# --------------------------------------------------------------------------------------


FILLER_IMPORTS = [
    "from __future__ import annotations",
    "",
    "import asyncio",
    "import contextlib",
    "import datetime as dt",
    "import enum",
    "import functools",
    "import itertools",
    "import json",
    "import logging",
    "import re",
    "import time",
    "from collections import Counter, defaultdict",
    "from collections.abc import Iterable, Iterator, Mapping, Sequence",
    "from dataclasses import dataclass, field",
    "from decimal import ROUND_HALF_UP, Decimal",
    "from typing import Any, NamedTuple, Optional, Protocol, TypedDict",
    "",
    "logger = logging.getLogger(__name__)",
]


class Gen:
    def __init__(self, out: str, seed: int, target_lines: int) -> None:
        self.out = out
        self.seed = seed
        self.target = target_lines
        self.files = 0
        self.lines = 0
        self.stats = Stats()
        self.all_models: list[ModelSpec] = []
        self.r = random.Random(seed)
        self.keep_unused = 0.05
        self.in_tests = False

    # ---- output -----------------------------------------------------------------------

    def write(self, rel: str, lines: list[str]) -> int:
        path = os.path.join(self.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if rel.endswith(".py") and rel.startswith("app_"):
            lines = prune_imports(lines, random.Random(f"{self.seed}:imports:{rel}"), self.keep_unused)
        while lines and lines[-1] == "":
            lines.pop()
        text = "\n".join(lines) + "\n" if lines else ""
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        if rel.endswith(".py"):
            self.files += 1
            self.lines += len(lines)
        return len(lines)

    # ---- small helpers ----------------------------------------------------------------

    def sentence(self, r: random.Random, lo: int = 4, hi: int = 10) -> str:
        words = [r.choice(WORDS) for _ in range(r.randint(lo, hi))]
        return " ".join(words).capitalize() + "."

    def noqa(self, r: random.Random, code: str, p: float = 0.1) -> tuple[str, bool]:
        if r.random() < p:
            return f"  # noqa: {code}", True
        return "", False

    # ---- project skeleton -------------------------------------------------------------

    def skeleton(self) -> None:
        self.write("pyproject.toml", [
            "[project]",
            'name = "synthetic-saas"',
            'version = "0.1.0"',
            'description = "Synthetic multi-tenant Django project generated by bench/gen_project.py"',
            'requires-python = ">=3.11"',
            'dependencies = ["django>=5.0", "celery>=5.3", "djangorestframework>=3.15"]',
            "",
            "[tool.ruff]",
            "line-length = 120",
            "",
            "[tool.tenantlint]",
            "# The embedded defaults fit this project (Tenant, TenantAwareModel,",
            "# TenantAwareManager, tenant_cache, tenant_key); only src is spelled out.",
            'src = ["."]',
        ])
        self.write("manage.py", [
            "#!/usr/bin/env python",
            '"""Django\'s command-line utility for administrative tasks."""',
            "import os",
            "import sys",
            "",
            "",
            "def main() -> None:",
            '    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")',
            "    from django.core.management import execute_from_command_line",
            "",
            "    execute_from_command_line(sys.argv)",
            "",
            "",
            'if __name__ == "__main__":',
            "    main()",
        ])
        self.write("config/__init__.py", [])
        self.write("config/wsgi.py", [
            "import os",
            "",
            "from django.core.wsgi import get_wsgi_application",
            "",
            'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")',
            "application = get_wsgi_application()",
        ])
        self.write("tenancy/__init__.py", [
            '"""Shared-schema multi-tenancy: every tenant-owned row carries a ``tenant`` FK."""',
            "",
            "from .cache import tenant_cache, tenant_key  # noqa: F401",
            "",
            '__all__ = ["tenant_cache", "tenant_key"]',
        ])
        self.write("tenancy/apps.py", [
            "from django.apps import AppConfig",
            "",
            "",
            "class TenancyConfig(AppConfig):",
            '    default_auto_field = "django.db.models.BigAutoField"',
            '    name = "tenancy"',
        ])
        self.write("tenancy/context.py", [
            '"""The tenant of the current request or task, kept in a context variable."""',
            "",
            "from __future__ import annotations",
            "",
            "import contextlib",
            "from contextvars import ContextVar",
            "from typing import TYPE_CHECKING, Iterator, Optional",
            "",
            "if TYPE_CHECKING:",
            "    from .models import Tenant",
            "",
            '_current_tenant: ContextVar[Optional["Tenant"]] = ContextVar("current_tenant", default=None)',
            "",
            "",
            'def get_current_tenant() -> Optional["Tenant"]:',
            "    return _current_tenant.get()",
            "",
            "",
            'def set_current_tenant(tenant: Optional["Tenant"]) -> None:',
            "    _current_tenant.set(tenant)",
            "",
            "",
            "@contextlib.contextmanager",
            'def tenant_context(tenant: "Tenant") -> Iterator["Tenant"]:',
            '    """Run a block of code on behalf of ``tenant``."""',
            "    token = _current_tenant.set(tenant)",
            "    try:",
            "        yield tenant",
            "    finally:",
            "        _current_tenant.reset(token)",
        ])
        self.write("tenancy/managers.py", [
            '"""Managers that only ever see the rows of the current tenant."""',
            "",
            "from __future__ import annotations",
            "",
            "from django.db import models",
            "",
            "from .context import get_current_tenant",
            "",
            "",
            "class TenantAwareQuerySet(models.QuerySet):",
            "    def for_tenant(self, tenant):",
            "        return self.filter(tenant=tenant)",
            "",
            "",
            "class TenantAwareManager(models.Manager.from_queryset(TenantAwareQuerySet)):",
            '    """Default manager of tenant-owned models: filters by the current tenant."""',
            "",
            "    def get_queryset(self):",
            "        queryset = super().get_queryset()",
            "        tenant = get_current_tenant()",
            "        if tenant is None:",
            "            return queryset.none()",
            "        return queryset.filter(tenant=tenant)",
        ])
        self.write("tenancy/models.py", [
            '"""The tenant registry and the abstract base of every tenant-owned model."""',
            "",
            "from __future__ import annotations",
            "",
            "from django.db import models",
            "from django.utils import timezone",
            "",
            "from .managers import TenantAwareManager",
            "",
            "",
            "class Tenant(models.Model):",
            '    """One customer organisation.  Shared by everybody; not tenant-owned itself."""',
            "",
            "    name = models.CharField(max_length=200)",
            "    slug = models.SlugField(unique=True)",
            "    is_active = models.BooleanField(default=True)",
            "    created_at = models.DateTimeField(default=timezone.now)",
            '    plan = models.CharField(max_length=32, default="free")',
            "",
            "    class Meta:",
            '        ordering = ["name"]',
            "",
            "    def __str__(self) -> str:",
            "        return self.name",
            "",
            "",
            "class TenantAwareModel(models.Model):",
            '    """Abstract base: rows belong to one tenant, queries see only that tenant."""',
            "",
            '    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")',
            "",
            "    objects = TenantAwareManager()",
            "    all_objects = models.Manager()",
            "",
            "    class Meta:",
            "        abstract = True",
        ])
        self.write("tenancy/cache.py", [
            '"""A cache whose keys are always prefixed with the current tenant."""',
            "",
            "from __future__ import annotations",
            "",
            "from typing import Any, Iterable, Mapping",
            "",
            "from django.core.cache import cache as _shared_cache",
            "",
            "from .context import get_current_tenant",
            "",
            'KEY_PREFIX = "tenant:"',
            "",
            "",
            "def tenant_key(key: str, tenant=None) -> str:",
            '    """Return ``key`` prefixed with the (current) tenant."""',
            "    tenant = tenant or get_current_tenant()",
            "    if tenant is None:",
            '        raise RuntimeError("no current tenant")',
            '    return f"{KEY_PREFIX}{tenant.pk}:{key}"',
            "",
            "",
            "class TenantCache:",
            '    """A thin facade over Django\'s cache that prefixes every key."""',
            "",
            "    def get(self, key: str, default: Any = None) -> Any:",
            "        return _shared_cache.get(tenant_key(key), default)",
            "",
            "    def set(self, key: str, value: Any, timeout: int | None = 300) -> None:",
            "        _shared_cache.set(tenant_key(key), value, timeout)",
            "",
            "    def delete(self, key: str) -> None:",
            "        _shared_cache.delete(tenant_key(key))",
            "",
            "    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:",
            "        prefixed = {tenant_key(k): k for k in keys}",
            "        found = _shared_cache.get_many(list(prefixed))  # noqa: TEN301",
            "        return {prefixed[k]: v for k, v in found.items()}",
            "",
            "    def set_many(self, data: Mapping[str, Any], timeout: int | None = 300) -> None:",
            "        _shared_cache.set_many({tenant_key(k): v for k, v in data.items()}, timeout)  # noqa: TEN301",
            "",
            "    def incr(self, key: str, delta: int = 1) -> int:",
            "        return _shared_cache.incr(tenant_key(key), delta)",
            "",
            "    def decr(self, key: str, delta: int = 1) -> int:",
            "        return _shared_cache.decr(tenant_key(key), delta)",
            "",
            "",
            "tenant_cache = TenantCache()",
        ])
        self.write("tenancy/middleware.py", [
            "from __future__ import annotations",
            "",
            "from django.http import Http404",
            "",
            "from .context import set_current_tenant",
            "from .models import Tenant",
            "",
            "",
            "class TenantMiddleware:",
            '    """Resolve the tenant from the host name and make it current."""',
            "",
            "    def __init__(self, get_response):",
            "        self.get_response = get_response",
            "",
            "    def __call__(self, request):",
            '        subdomain = request.get_host().split(".")[0]',
            "        try:",
            "            tenant = Tenant.objects.get(slug=subdomain, is_active=True)",
            "        except Tenant.DoesNotExist:",
            '            raise Http404(f"unknown tenant {subdomain!r}")',
            "        request.tenant = tenant",
            "        set_current_tenant(tenant)",
            "        try:",
            "            return self.get_response(request)",
            "        finally:",
            "            set_current_tenant(None)",
        ])
        self.write("common/__init__.py", [])
        self.write("common/models.py", [
            "from django.db import models",
            "from django.utils import timezone",
            "",
            "",
            "class TimeStampedModel(models.Model):",
            '    """Abstract base with creation and modification timestamps (not tenant-owned)."""',
            "",
            "    created_at = models.DateTimeField(default=timezone.now, db_index=True)",
            "    modified_at = models.DateTimeField(auto_now=True)",
            "",
            "    class Meta:",
            "        abstract = True",
        ])
        self.write("common/cache.py", [
            '"""Re-exports so apps can write ``from common.cache import tcache, tkey``."""',
            "",
            "from tenancy.cache import tenant_cache as tcache  # noqa: F401",
            "from tenancy.cache import tenant_key as tkey  # noqa: F401",
        ])

    def finish_config(self, apps: list[str]) -> None:
        lines = [
            '"""Settings for the synthetic project."""',
            "",
            "from pathlib import Path",
            "",
            "BASE_DIR = Path(__file__).resolve().parent.parent",
            'SECRET_KEY = "synthetic-not-secret"',
            "DEBUG = False",
            'ALLOWED_HOSTS = [".example.com"]',
            "",
            "INSTALLED_APPS = [",
            '    "django.contrib.admin",',
            '    "django.contrib.auth",',
            '    "django.contrib.contenttypes",',
            '    "django.contrib.sessions",',
            '    "rest_framework",',
            '    "tenancy",',
            '    "common",',
        ]
        lines += [f'    "{a}",' for a in apps]
        lines += [
            "]",
            "",
            "MIDDLEWARE = [",
            '    "django.middleware.security.SecurityMiddleware",',
            '    "django.contrib.sessions.middleware.SessionMiddleware",',
            '    "django.contrib.auth.middleware.AuthenticationMiddleware",',
            '    "tenancy.middleware.TenantMiddleware",',
            "]",
            "",
            "CACHES = {",
            '    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://cache:6379/1"},',
            "}",
            "",
            'ROOT_URLCONF = "config.urls"',
            'DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"',
        ]
        self.write("config/settings.py", lines)
        urls = ["from django.contrib import admin", "from django.urls import include, path", "", "urlpatterns = ["]
        urls.append('    path("admin/", admin.site.urls),')
        urls += [f'    path("{a}/", include("{a}.urls")),' for a in apps]
        urls.append("]")
        self.write("config/urls.py", urls)

    # ---- models -----------------------------------------------------------------------

    MODEL_KINDS = (
        # (kind, weight, tenant_owned, default_scoped, plants TEN101)
        ("base", 28, True, True, False),
        ("base_custom", 12, True, True, False),
        ("base_fromqs", 5, True, True, False),
        ("base_alias_module", 3, True, True, False),
        ("fk_scoped", 12, True, True, False),
        ("fk_scoped_fromqs", 4, True, True, False),
        ("fk_custom", 6, True, True, False),
        ("global", 18, False, False, False),
        ("fk_nomgr", 3, True, False, True),
        ("fk_plain", 3, True, False, True),
        ("base_plain", 2, True, False, True),
        ("base_plain_custom", 2, True, False, True),
        ("base_extra_first", 1, True, False, True),
        ("fk_qs_as_manager", 1, True, False, True),
    )

    def pick_kind(self, r: random.Random) -> tuple:
        total = sum(k[1] for k in self.MODEL_KINDS)
        x = r.uniform(0, total)
        for k in self.MODEL_KINDS:
            x -= k[1]
            if x <= 0:
                return k
        return self.MODEL_KINDS[0]

    def plan_models(self, r: random.Random, app: str, n: int) -> list[ModelSpec]:
        names = Names()
        specs = []
        nouns = r.sample(NOUNS, min(len(NOUNS), n))
        for i in range(n):
            noun = nouns[i % len(nouns)]
            if r.random() < 0.35:
                base = f"{noun}_{r.choice(SUFFIXES)}"
            else:
                base = noun
            name = camel(names.take(base))
            kind, _, owned, scoped, _ = self.pick_kind(r)
            extra = [f for f, _ in r.sample(EXTRA_FIELDS, r.randint(2, 6))]
            unscoped = None
            if kind.startswith("base") and kind != "base_extra_first":
                unscoped = "all_objects"
            elif kind in ("fk_scoped", "fk_scoped_fromqs", "fk_custom"):
                unscoped = "all_objects" if r.random() < 0.7 else None
            elif kind == "base_extra_first":
                unscoped = "archived"
            fields = ["name", "status", "is_active", "created_at"] + extra
            specs.append(ModelSpec(app, name, kind, owned, scoped, unscoped, fields))
        return specs

    def gen_managers(self, r: random.Random, app: str, specs: list[ModelSpec]) -> tuple[list[str], dict[str, dict]]:
        """managers.py: querysets and managers for models that use custom ones."""
        alias = r.random() < 0.25
        tam = "ScopedManager" if alias else "TenantAwareManager"
        lines = [
            f'"""Managers and querysets for {app}."""',
            "",
            "from __future__ import annotations",
            "",
            "import datetime as dt",
            "",
            "from django.db import models",
            "from django.db.models import Q",
            "from django.utils import timezone",
            "",
            ("from tenancy.managers import TenantAwareManager as ScopedManager" if alias
             else "from tenancy.managers import TenantAwareManager"),
            "",
        ]
        info: dict[str, dict] = {}
        for m in specs:
            need_qs = m.kind in ("base_fromqs", "fk_scoped_fromqs", "fk_qs_as_manager") or r.random() < 0.3
            need_mgr = m.kind in ("base_custom", "base_fromqs", "fk_custom", "base_plain_custom", "base_alias_module")
            if not (need_qs or need_mgr):
                continue
            d: dict[str, str] = {}
            if need_qs:
                qs = f"{m.name}QuerySet"
                d["qs"] = qs
                lines += [
                    "",
                    f"class {qs}(models.QuerySet):",
                    f'    """Chainable filters for :class:`{m.name}`."""',
                    "",
                    "    def active(self):",
                    "        return self.filter(is_active=True)",
                    "",
                    "    def with_status(self, *statuses: str):",
                    "        return self.filter(status__in=statuses)",
                    "",
                    "    def recent(self, days: int = 30):",
                    "        cutoff = timezone.now() - dt.timedelta(days=days)",
                    "        return self.filter(created_at__gte=cutoff)",
                    "",
                    "    def search(self, term: str):",
                    "        term = term.strip()",
                    "        if not term:",
                    "            return self",
                    "        return self.filter(Q(name__icontains=term) | Q(status__iexact=term))",
                    "",
                ]
            if need_mgr:
                mgr = f"{m.name}Manager"
                d["mgr"] = mgr
                if m.kind == "base_plain_custom":
                    base = "models.Manager"
                    d["scoped"] = "no"
                else:
                    base = tam
                lines += [
                    "",
                    f"class {mgr}({base}):",
                    f'    """Default manager of :class:`{m.name}`."""',
                    "",
                    "    def get_queryset(self):",
                    "        return super().get_queryset().select_related()",
                    "",
                    "    def visible(self):",
                    '        return self.get_queryset().exclude(status="archived")',
                    "",
                ]
                if r.random() < 0.3 and m.kind != "base_plain_custom":
                    sub = f"Archived{m.name}Manager"
                    d["sub"] = sub
                    lines += [
                        "",
                        f"class {sub}({mgr}):",
                        "    def get_queryset(self):",
                        '        return super().get_queryset().filter(status="archived")',
                        "",
                    ]
            info[m.name] = d
        return lines, info

    def gen_models(self, r: random.Random, app: str, specs: list[ModelSpec], minfo: dict[str, dict]) -> list[str]:
        st = self.stats
        mgr_imports = sorted({v for d in minfo.values() for k, v in d.items() if k in ("qs", "mgr", "sub")})
        uses_tam = any(m.kind in ("fk_scoped", "fk_scoped_fromqs") for m in specs)
        uses_alias_module = any(m.kind == "base_alias_module" for m in specs)
        lines = [
            f'"""Database models of {app}."""',
            "",
            "from __future__ import annotations",
            "",
            "import uuid",
            "from decimal import Decimal",
            "",
            "from django.conf import settings",
            "from django.db import models",
            "from django.utils import timezone",
            "",
            "from common.models import TimeStampedModel",
        ]
        if uses_alias_module:
            lines.append("from tenancy import models as tenancy_models")
        lines.append("from tenancy.models import TenantAwareModel")
        if uses_tam:
            lines.append("from tenancy.managers import TenantAwareManager")
        if mgr_imports:
            lines.append("")
            lines.append("from .managers import (")
            lines += [f"    {x}," for x in mgr_imports]
            lines.append(")")
        lines += ["", "STATUS_CHOICES = ["]
        lines += [f'    ("{s}", "{s.capitalize()}"),' for s in STATUSES]
        lines += ["]", ""]
        prev: list[ModelSpec] = []
        for m in specs:
            st.kinds[m.kind] = st.kinds.get(m.kind, 0) + 1
            d = minfo.get(m.name, {})
            planted = m.kind in ("fk_nomgr", "fk_plain", "base_plain", "base_plain_custom",
                                 "base_extra_first", "fk_qs_as_manager")
            suffix, supp = ("", False)
            if planted:
                suffix, supp = self.noqa(r, "TEN101", 0.1)
                st.plant("TEN101", supp)
                st.note(f"TEN101 {'suppressed' if supp else 'planted'}: model kind {m.kind}")
            elif m.tenant_owned:
                st.clean["models"] += 1
            if m.kind.startswith("base"):
                base = "tenancy_models.TenantAwareModel" if m.kind == "base_alias_module" else "TenantAwareModel"
                bases = f"TimeStampedModel, {base}" if r.random() < 0.2 else base
            elif m.kind == "global":
                bases = "TimeStampedModel" if r.random() < 0.3 else "models.Model"
            else:
                bases = "TimeStampedModel" if r.random() < 0.3 else "models.Model"
            lines += ["", f"class {m.name}({bases}):{suffix}", f'    """{self.sentence(r)}"""', ""]
            if m.kind.startswith("fk") or r.random() < 0.0:
                lines.append(
                    '    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, '
                    f'related_name="{m.var}_set")'
                )
            lines += [
                "    name = models.CharField(max_length=200)",
                '    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default="draft")',
                "    is_active = models.BooleanField(default=True)",
            ]
            if "TimeStampedModel" not in bases:
                lines.append("    created_at = models.DateTimeField(default=timezone.now, db_index=True)")
            for f in m.fields[4:]:
                lines.append(f"    {f} = {dict(EXTRA_FIELDS)[f]}")
            if prev and r.random() < 0.6:
                tgt = r.choice(prev)
                fk = tgt.var if tgt.var not in m.fields else tgt.var + "_ref"
                lines.append(
                    f'    {fk} = models.ForeignKey("{tgt.name}", on_delete=models.SET_NULL, null=True, blank=True, '
                    f'related_name="{plural(m.var)}")'
                )
            if r.random() < 0.3:
                lines.append(
                    "    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, "
                    f'related_name="owned_{plural(m.var)}")'
                )
            lines.append("")
            k = m.kind
            if k == "base_custom":
                mgr = d.get("mgr")
                lines.append(f"    objects = {mgr}()")
                if d.get("sub"):
                    lines.append(f"    archived = {d['sub']}()")
            elif k == "base_fromqs":
                lines.append(f"    objects = {d['mgr']}.from_queryset({d['qs']})()")
            elif k == "base_alias_module":
                lines.append(f"    objects = {d['mgr']}()")
            elif k in ("fk_scoped", "fk_scoped_fromqs"):
                if k == "fk_scoped_fromqs":
                    lines.append(f"    objects = TenantAwareManager.from_queryset({d['qs']})()")
                else:
                    lines.append("    objects = TenantAwareManager()")
                if m.unscoped_attr:
                    lines.append("    all_objects = models.Manager()")
            elif k == "fk_custom":
                lines.append(f"    objects = {d['mgr']}()")
                if d.get("sub"):
                    lines.append(f"    archived = {d['sub']}()")
                if m.unscoped_attr:
                    lines.append("    all_objects = models.Manager()")
            elif k in ("fk_plain", "base_plain"):
                lines.append("    objects = models.Manager()")
            elif k == "base_plain_custom":
                lines.append(f"    objects = {d['mgr']}()")
            elif k == "base_extra_first":
                # Declared on the child, so it comes before the inherited scoped manager:
                # Django makes it the default manager.
                lines.append("    archived = models.Manager()")
            elif k == "fk_qs_as_manager":
                lines.append(f"    objects = {d['qs']}.as_manager()")
            elif k == "global" and r.random() < 0.3:
                lines.append("    objects = models.Manager()")
            if lines[-1] != "":
                lines.append("")
            lines += ["    class Meta:", '        ordering = ["-created_at"]']
            if m.tenant_owned:
                lines.append('        indexes = [models.Index(fields=["tenant", "status"])]')
            lines += [
                f'        verbose_name = "{m.var.replace("_", " ")}"',
                "",
                "    def __str__(self) -> str:",
                f'        return f"{m.name} {{self.name}} ({{self.status}})"',
                "",
                "    @property",
                "    def is_open(self) -> bool:",
                '        return self.is_active and self.status in {"open", "pending", "active"}',
                "",
                "    def archive(self, *, commit: bool = True) -> None:",
                '        self.status = "archived"',
                "        self.is_active = False",
                "        if commit:",
                '            self.save(update_fields=["status", "is_active"])',
            ]
            if "amount" in m.fields:
                lines += [
                    "",
                    "    def amount_with_tax(self, rate: Decimal = Decimal(\"0.21\")) -> Decimal:",
                    '        return (self.amount * (1 + rate)).quantize(Decimal("0.01"))',
                ]
            lines.append("")
            prev.append(m)
        return lines

    # ---- queries ----------------------------------------------------------------------

    def chain(self, r: random.Random, m: ModelSpec, terminal: bool = True) -> str:
        parts = []
        for _ in range(r.randint(0, 2)):
            c = r.random()
            if c < 0.35:
                parts.append(f'.filter(status="{r.choice(STATUSES)}")')
            elif c < 0.5:
                parts.append(".filter(is_active=True)")
            elif c < 0.6:
                parts.append('.exclude(status="archived")')
            elif c < 0.75:
                parts.append('.order_by("-created_at")')
            elif c < 0.85:
                parts.append('.only("id", "name", "status")')
            else:
                parts.append(f'.filter(Q(status="open") | Q(name__icontains="{r.choice(NOUNS)}"))')
        if terminal:
            c = r.random()
            if c < 0.2:
                parts.append(".count()")
            elif c < 0.3:
                parts.append(".exists()")
            elif c < 0.4:
                parts.append(".first()")
            elif c < 0.5:
                parts.append('.values_list("id", flat=True)')
            elif c < 0.55:
                parts.append('.aggregate(total=Count("id"))')
        return "".join(parts)

    def query(self, r: random.Random, m: ModelSpec, tenant: str, terminal: bool = True,
              allow_plant: bool = True, single_line: bool = True) -> tuple[str, str]:
        """Return (expression, noqa-suffix).  Records planted/clean counts."""
        st = self.stats
        tail = self.chain(r, m, terminal)
        where = "tests/" if self.in_tests else "app code"
        if not m.tenant_owned:
            st.note("clean query: global model")
            if r.random() < 0.1:
                st.clean["queries"] += 1
                return f"{m.name}._base_manager.all(){tail}", ""
            st.clean["queries"] += 1
            return f"{m.name}.objects.all(){tail}" if r.random() < 0.3 else f"{m.name}.objects{tail or '.all()'}", ""
        tf = r.choice([f"tenant={tenant}", f"tenant={tenant}", f"tenant_id={tenant}.pk"])
        plant = allow_plant and r.random() < 0.07
        if m.default_scoped:
            if plant:
                mgr = m.unscoped_attr if (m.unscoped_attr and r.random() < 0.75) else "_base_manager"
                head = f"{m.name}.{mgr}"
                expr = head + (r.choice([".all()", f'.filter(status="{r.choice(STATUSES)}")', ".filter(is_active=True)"])) + tail
                suffix, supp = self.noqa(r, "TEN201", 0.1 if single_line else 0.0)
                st.plant("TEN201", supp)
                st.note(f"TEN201 {'suppressed' if supp else 'planted'}: via `{mgr}` (default manager scoped)")
                return expr, suffix
            c = r.random()
            st.clean["queries"] += 1
            if c < 0.9 or not m.unscoped_attr:
                st.note("clean query: scoped default manager `objects`")
                if c < 0.2:
                    return f"{m.name}.objects.filter({tf}){tail}", ""
                return f"{m.name}.objects{tail or '.all()'}", ""
            st.note(f"clean query: unscoped `{m.unscoped_attr}` with a tenant filter, in {where}")
            if c < 0.95:
                return f"{m.name}.{m.unscoped_attr}.filter({tf}){tail}", ""
            return f'{m.name}.{m.unscoped_attr}.filter(status="open").filter({tf}){tail}', ""
        # tenant-owned model whose default manager is not scoped
        if plant:
            # (for base_extra_first the inherited `objects` is still scoped; `archived` is the default)
            unscoped = "archived" if m.kind == "base_extra_first" else "objects"
            expr = f"{m.name}.{unscoped}" + r.choice([".all()", '.filter(status="open")', ".exclude(is_active=False)"]) + tail
            suffix, supp = self.noqa(r, "TEN201", 0.1 if single_line else 0.0)
            st.plant("TEN201", supp)
            st.note(f"TEN201 {'suppressed' if supp else 'planted'}: via `{unscoped}` (the unscoped default manager)")
            return expr, suffix
        st.clean["queries"] += 1
        st.note(f"clean query: unscoped default manager with a tenant filter, in {where}")
        return f"{m.name}.objects.filter({tf}){tail}", ""

    def cache_call(self, r: random.Random, m: ModelSpec, tenant: str, dj: str, tc: str, tk: str,
                   value: str = "payload") -> str:
        """A statement calling a cache.  ``dj`` is the name of Django's cache in scope."""
        st = self.stats
        key = f"{m.var}-{r.choice(['summary', 'stats', 'list', 'count', 'dashboard', 'totals'])}"
        c = r.random()
        if c < 0.07:
            suffix, supp = self.noqa(r, "TEN301", 0.1)
            st.plant("TEN301", supp)
            return r.choice([
                f'{dj}.set("{key}", {value}, 300){suffix}',
                f'{dj}.set(f"{key}:{{{tenant}.pk}}x", {value}, timeout=600){suffix}',
                f'{dj}.delete("{key}"){suffix}',
                f'{dj}.incr("{key}-hits"){suffix}',
            ])
        st.clean["cache_calls"] += 1
        if c < 0.5:
            return r.choice([
                f'{tc}.set({tk}("{key}"), {value}, timeout=300)',
                f'{tc}.delete({tk}("{key}"))',
                f'{tc}.set("{key}", {value})',
            ])
        if c < 0.75:
            return r.choice([
                f'{dj}.set({tk}("{key}"), {value}, 300)',
                f'{dj}.delete({tk}("{key}"))',
            ])
        return r.choice([
            f'{dj}.set(f"tenant:{{{tenant}.pk}}:{key}", {value}, 300)',
            f'{dj}.delete(f"tenant:{{{tenant}.pk}}:{key}")',
        ])

    def cache_get(self, r: random.Random, m: ModelSpec, tenant: str, dj: str, tc: str, tk: str) -> str:
        st = self.stats
        key = f"{m.var}-{r.choice(['summary', 'stats', 'list', 'count', 'dashboard', 'totals'])}"
        c = r.random()
        if c < 0.07:
            suffix, supp = self.noqa(r, "TEN301", 0.1)
            st.plant("TEN301", supp)
            return r.choice([f'{dj}.get("{key}"){suffix}', f'{dj}.get_or_set("{key}", dict, 60){suffix}'])
        st.clean["cache_calls"] += 1
        if c < 0.55:
            return r.choice([f'{tc}.get({tk}("{key}"))', f'{tc}.get("{key}")'])
        if c < 0.8:
            return f'{dj}.get({tk}("{key}"))'
        return r.choice([f'{dj}.get(f"tenant:{{{tenant}.pk}}:{key}")', f'{dj}.get("tenant:shared:{key}")'])

    # ---- views ------------------------------------------------------------------------

    def imports_from_other_apps(self, r: random.Random, names: Names, max_n: int) -> tuple[list[str], list[ModelSpec]]:
        if not self.all_models:
            return [], []
        picks = [r.choice(self.all_models) for _ in range(r.randint(0, max_n))]
        lines, specs = [], []
        seen = set()
        for p in picks:
            if (p.app, p.name) in seen:
                continue
            seen.add((p.app, p.name))
            alias = names.take(f"{camel(p.app)}{p.name}")
            lines.append(f"from {p.app}.models import {p.name} as {alias}")
            specs.append(ModelSpec(p.app, alias, p.kind, p.tenant_owned, p.default_scoped, p.unscoped_attr, p.fields))
        return lines, specs

    def gen_views(self, r: random.Random, app: str, specs: list[ModelSpec]) -> list[str]:
        names = Names()
        for m in specs:
            names.take(m.name)
        ext_lines, ext = self.imports_from_other_apps(r, names, 3)
        dj = "django_cache" if r.random() < 0.2 else "cache"
        lines = [
            f'"""HTTP views of {app}."""',
            "",
            "from __future__ import annotations",
            "",
            "import json",
            "import logging",
            "",
            "from django.contrib.auth.decorators import login_required",
            "from django.contrib.auth.mixins import LoginRequiredMixin",
            ("from django.core.cache import cache as django_cache" if dj == "django_cache"
             else "from django.core.cache import cache"),
            "from django.db.models import Count, Q",
            "from django.http import HttpRequest, HttpResponse, JsonResponse",
            "from django.shortcuts import get_object_or_404, redirect, render",
            "from django.views.decorators.http import require_http_methods",
            "from django.views.generic import DetailView, ListView",
            "",
            "from tenancy.cache import tenant_cache, tenant_key",
            "",
            "from . import services",
            "from .models import " + ", ".join(m.name for m in specs),
        ]
        lines += ext_lines
        lines += ["", "logger = logging.getLogger(__name__)", ""]
        pool = specs + ext
        for m in specs:
            plural_var = ident(plural(m.var))
            fn = names.take(f"{m.var}_list")
            q, sfx = self.query(r, m, "tenant", terminal=False)
            lines += [
                "",
                "@login_required",
                f"def {fn}(request: HttpRequest) -> HttpResponse:",
                f'    """List the {plural(m.var).replace("_", " ")} of the current tenant."""',
                "    tenant = request.tenant",
                '    status = request.GET.get("status")',
                f"    {plural_var} = {q}{sfx}",
                "    if status:",
                f"        {plural_var} = {plural_var}.filter(status=status)",
                '    term = request.GET.get("q", "").strip()',
                "    if term:",
                f"        {plural_var} = {plural_var}.filter(Q(name__icontains=term) | Q(status__iexact=term))",
                "    context = {",
                f'        "{plural_var}": {plural_var}[:100],',
                '        "status": status,',
                '        "term": term,',
                '        "tenant": tenant,',
                "    }",
                f'    return render(request, "{app}/{m.var}_list.html", context)',
                "",
            ]
            fn = names.take(f"{m.var}_detail")
            if r.random() < 0.5:
                q, sfx = self.query(r, m, "tenant", terminal=False)
                getter = f"get_object_or_404({q}, pk=pk)"
            else:
                sfx = ""
                getter = f"get_object_or_404({m.name}, pk=pk)" if m.default_scoped or not m.tenant_owned \
                    else f"get_object_or_404({m.name}, pk=pk, tenant=tenant)"
            lines += [
                "",
                "@login_required",
                f"def {fn}(request: HttpRequest, pk: int) -> HttpResponse:",
                "    tenant = request.tenant",
                f"    {m.var} = {getter}{sfx}",
                '    if request.method == "POST" and request.POST.get("action") == "archive":',
                f"        {m.var}.archive()",
                f'        logger.info("archived %s %s for tenant %s", "{m.name}", pk, tenant.pk)',
                f'        return redirect("{app}:{m.var.replace("_", "-")}-list")',
                f'    return render(request, "{app}/{m.var}_detail.html", {{"{m.var}": {m.var}, "tenant": tenant}})',
                "",
            ]
            if r.random() < 0.6:
                fn = names.take(f"{m.var}_stats")
                get = self.cache_get(r, m, "tenant", dj, "tenant_cache", "tenant_key")
                q, sfx = self.query(r, m, "tenant", terminal=False, single_line=True)
                setc = self.cache_call(r, m, "tenant", dj, "tenant_cache", "tenant_key")
                lines += [
                    "",
                    '@require_http_methods(["GET"])',
                    f"def {fn}(request: HttpRequest) -> JsonResponse:",
                    "    tenant = request.tenant",
                    f"    payload = {get}",
                    "    if payload is None:",
                    f"        queryset = {q}{sfx}",
                    "        payload = {",
                    '            "count": queryset.count(),',
                    '            "open": queryset.filter(status="open").count(),',
                    '            "by_status": dict(queryset.values_list("status").annotate(n=Count("id"))),',
                    "        }",
                    f"        {setc}",
                    "    return JsonResponse(payload)",
                    "",
                ]
            if r.random() < 0.5:
                cls = names.take(f"{m.name}ListView")
                q, sfx = self.query(r, m, "self.request.tenant", terminal=False, single_line=False)
                lines += [
                    "",
                    f"class {cls}(LoginRequiredMixin, ListView):",
                    f"    model = {m.name}",
                    f"    paginate_by = {r.choice([20, 25, 50, 100])}",
                    f'    template_name = "{app}/{m.var}_list.html"',
                    f'    context_object_name = "{plural_var}"',
                    "",
                    "    def get_queryset(self):",
                    "        queryset = (",
                    f"            {q}",
                    "        )",
                    '        ordering = self.request.GET.get("ordering")',
                    '        if ordering in {"name", "-name", "created_at", "-created_at"}:',
                    "            queryset = queryset.order_by(ordering)",
                    "        return queryset",
                    "",
                    "    def get_context_data(self, **kwargs):",
                    "        context = super().get_context_data(**kwargs)",
                    '        context["statuses"] = [s for s in ("open", "pending", "closed")]',
                    "        return context",
                    "",
                ]
        # a few views over models imported from other apps
        for m in ext:
            fn = names.take(f"related_{m.var}_export")
            q, _ = self.query(r, m, "tenant", terminal=False, single_line=False)
            lines += [
                "",
                "@login_required",
                f"def {fn}(request: HttpRequest) -> JsonResponse:",
                "    tenant = request.tenant",
                "    rows = [",
                '        {"id": obj.pk, "name": obj.name, "status": obj.status}',
                f"        for obj in {q}",
                "    ]",
                '    return JsonResponse({"rows": rows, "count": len(rows)})',
                "",
            ]
        # a JSON API view that calls into services
        fn = names.take("dashboard")
        m = r.choice(pool)
        lines += [
            "",
            "@login_required",
            f"def {fn}(request: HttpRequest) -> JsonResponse:",
            "    tenant = request.tenant",
            "    try:",
            "        body = json.loads(request.body or b\"{}\")",
            "    except json.JSONDecodeError:",
            '        return JsonResponse({"error": "invalid json"}, status=400)',
            '    days = int(body.get("days", 30))',
            "    summary = services.build_summary(tenant, days=days)",
            '    return JsonResponse({"tenant": tenant.slug, "summary": summary})',
            "",
        ]
        return lines

    # ---- services ---------------------------------------------------------------------

    def gen_services(self, r: random.Random, app: str, specs: list[ModelSpec]) -> list[str]:
        names = Names()
        names.take("build_summary")
        for m in specs:
            names.take(m.name)
        style = r.random()
        if style < 0.2:
            dj, tc, tk = "cache", "tcache", "tkey"
            cache_imports = ["from django.core.cache import cache", "from common.cache import tcache, tkey"]
        elif style < 0.35:
            dj, tc, tk = "cache", "tenant_cache", "tenant_key"
            cache_imports = ["from django.core.cache import cache", "from tenancy import tenant_cache, tenant_key"]
        elif style < 0.5:
            dj, tc, tk = "shared_cache", "tenant_cache", "tenant_key"
            cache_imports = ["from django.core.cache import cache as shared_cache",
                             "from tenancy.cache import tenant_cache, tenant_key"]
        else:
            dj, tc, tk = "cache", "tenant_cache", "tenant_key"
            cache_imports = ["from django.core.cache import cache", "from tenancy.cache import tenant_cache, tenant_key"]
        lines = [
            f'"""Business logic of {app}."""',
            "",
            "from __future__ import annotations",
            "",
            "import datetime as dt",
            "import logging",
            "from collections import defaultdict",
            "from dataclasses import dataclass, field",
            "from decimal import Decimal",
            "from typing import Any",
            "",
            "from django.db import transaction",
            "from django.db.models import Count, Q, Sum",
            "from django.utils import timezone",
            "",
        ] + cache_imports + [
            "from tenancy.models import Tenant",
            "",
            "from .models import " + ", ".join(m.name for m in specs),
            "",
            "logger = logging.getLogger(__name__)",
            "",
        ]
        # summary dataclass
        cls = names.take(f"{camel(app)}Summary")
        lines += [
            "",
            "@dataclass",
            f"class {cls}:",
            f'    """{self.sentence(r)}"""',
            "",
            "    tenant_id: int",
            "    generated_at: dt.datetime",
            "    counts: dict[str, int] = field(default_factory=dict)",
            "    warnings: list[str] = field(default_factory=list)",
            "",
            "    def as_dict(self) -> dict[str, Any]:",
            "        return {",
            '            "tenant_id": self.tenant_id,',
            '            "generated_at": self.generated_at.isoformat(),',
            '            "counts": dict(sorted(self.counts.items())),',
            '            "warnings": list(self.warnings),',
            "        }",
            "",
        ]
        body = [
            "",
            "def build_summary(tenant: Tenant, *, days: int = 30) -> dict[str, Any]:",
            '    """Counts of recent objects per model for ``tenant``, cached for five minutes."""',
            f'    cached = {tc}.get({tk}(f"summary:{{days}}"))',
            "    if cached is not None:",
            "        return cached",
            "    since = timezone.now() - dt.timedelta(days=days)",
            f"    summary = {cls}(tenant_id=tenant.pk, generated_at=timezone.now())",
        ]
        for m in specs:
            q, sfx = self.query(r, m, "tenant", terminal=False)
            body.append(f'    summary.counts["{m.var}"] = {q}.filter(created_at__gte=since).count(){sfx}')
        body += [
            "    if not any(summary.counts.values()):",
            '        summary.warnings.append(f"no activity in the last {days} days")',
            "    result = summary.as_dict()",
            f'    {tc}.set({tk}(f"summary:{{days}}"), result, 300)',
            "    return result",
            "",
        ]
        lines += body
        for m in specs:
            plural_var = ident(plural(m.var))
            verb = r.choice(VERBS)
            fn = names.take(f"{verb}_{plural_var}")
            q, sfx = self.query(r, m, "tenant", terminal=False)
            get = self.cache_get(r, m, "tenant", dj, tc, tk)
            setc = self.cache_call(r, m, "tenant", dj, tc, tk, value="result")
            lines += [
                "",
                f"def {fn}(tenant: Tenant, *, limit: int = {r.choice([50, 100, 250, 500])}) -> list[dict[str, Any]]:",
                f'    """{self.sentence(r)}"""',
                f"    cached = {get}",
                "    if cached is not None:",
                "        return cached",
                "    result: list[dict[str, Any]] = []",
                f"    for index, obj in enumerate({q}[:limit]):{sfx}",
                "        row = {",
                '            "id": obj.pk,',
                '            "name": obj.name,',
                '            "status": obj.status,',
                '            "position": index,',
                "        }",
                "        if obj.is_open:",
                '            row["label"] = f"{obj.name} (open)"',
                "        result.append(row)",
                f"    {setc}",
                "    return result",
                "",
            ]
            if r.random() < 0.6:
                fn = names.take(f"bulk_archive_{plural_var}")
                q, sfx = self.query(r, m, "tenant", terminal=False)
                setc = self.cache_call(r, m, "tenant", dj, tc, tk, value="None")
                lines += [
                    "",
                    "@transaction.atomic",
                    f"def {fn}(tenant: Tenant, ids: list[int]) -> int:",
                    f'    """Archive the given {plural(m.var).replace("_", " ")}; return how many changed."""',
                    "    if not ids:",
                    "        return 0",
                    f'    changed = {q}.filter(pk__in=ids).update(status="archived", is_active=False){sfx}',
                    f"    {setc}",
                    f'    logger.info("archived %d {plural(m.var)} for tenant %s", changed, tenant.pk)',
                    "    return changed",
                    "",
                ]
            if "amount" in m.fields and r.random() < 0.7:
                fn = names.take(f"total_{m.var}_amount")
                q, sfx = self.query(r, m, "tenant", terminal=False)
                lines += [
                    "",
                    f"def {fn}(tenant: Tenant, statuses: tuple[str, ...] = (\"open\", \"pending\")) -> Decimal:",
                    f'    totals = {q}.filter(status__in=statuses).aggregate(total=Sum("amount")){sfx}',
                    '    return totals["total"] or Decimal("0.00")',
                    "",
                ]
        # a class-based service
        m = r.choice(specs)
        svc = names.take(f"{m.name}Service")
        q, sfx = self.query(r, m, "self.tenant", terminal=False)
        q2, sfx2 = self.query(r, m, "self.tenant", terminal=False)
        lines += [
            "",
            f"class {svc}:",
            f'    """Operations on {plural(m.var).replace("_", " ")} of one tenant."""',
            "",
            "    def __init__(self, tenant: Tenant, *, dry_run: bool = False) -> None:",
            "        self.tenant = tenant",
            "        self.dry_run = dry_run",
            "        self._seen: set[int] = set()",
            "",
            "    def pending(self):",
            f"        return {q}.filter(status=\"pending\"){sfx}",
            "",
            "    def group_by_status(self) -> dict[str, list[int]]:",
            "        groups: dict[str, list[int]] = defaultdict(list)",
            f"        for pk, status in {q2}.values_list(\"pk\", \"status\"):{sfx2}",
            "            groups[status].append(pk)",
            "            self._seen.add(pk)",
            "        return dict(groups)",
            "",
            "    def close_stale(self, days: int = 90) -> int:",
            "        cutoff = timezone.now() - dt.timedelta(days=days)",
            "        stale = [obj for obj in self.pending() if obj.created_at < cutoff]",
            "        if self.dry_run:",
            '            logger.info("would close %d objects", len(stale))',
            "            return len(stale)",
            "        for obj in stale:",
            '            obj.status = "closed"',
            '            obj.save(update_fields=["status"])',
            "        return len(stale)",
            "",
        ]
        return lines

    # ---- tasks ------------------------------------------------------------------------

    def gen_tasks(self, r: random.Random, app: str, specs: list[ModelSpec]) -> list[str]:
        names = Names()
        rel = r.random() < 0.5
        lines = [
            f'"""Celery tasks of {app}."""',
            "",
            "from __future__ import annotations",
            "",
            "import logging",
            "",
            "from celery import shared_task",
            "from django.core.cache import cache",
            "from django.db.models import Count, Q",
            "",
            "from tenancy.cache import tenant_cache, tenant_key",
            "from tenancy.context import tenant_context",
            "from tenancy.models import Tenant",
            "",
            ("from .models import " if rel else f"from {app}.models import ") + ", ".join(m.name for m in specs),
            "",
            "logger = logging.getLogger(__name__)",
            "",
        ]
        for m in specs:
            names.take(m.name)
        refreshers: list[str] = []
        for m in r.sample(specs, max(1, len(specs) // 2)):
            plural_var = ident(plural(m.var))
            fn = names.take(f"refresh_{plural_var}")
            refreshers.append(fn)
            q, sfx = self.query(r, m, "tenant", terminal=False)
            setc = self.cache_call(r, m, "tenant", "cache", "tenant_cache", "tenant_key", value="count")
            lines += [
                "",
                f"@shared_task(bind=True, max_retries={r.randint(1, 5)}, acks_late=True)",
                f"def {fn}(self, tenant_id: int) -> int:",
                f'    """{self.sentence(r)}"""',
                "    tenant = Tenant.objects.get(pk=tenant_id)",
                "    count = 0",
                "    with tenant_context(tenant):",
                f"        for obj in {q}.iterator(chunk_size=500):{sfx}",
                "            if not obj.name:",
                "                continue",
                "            count += 1",
                f"        {setc}",
                f'    logger.info("refreshed %d {plural(m.var)} for tenant %s", count, tenant_id)',
                "    return count",
                "",
            ]
        fn = names.take(f"fan_out_{app}")
        lines += [
            "",
            "@shared_task",
            f"def {fn}() -> int:",
            '    """Queue the per-tenant refresh for every active tenant."""',
            "    queued = 0",
            '    for tenant_id in Tenant.objects.filter(is_active=True).values_list("pk", flat=True):',
        ]
        for n in refreshers[:3]:
            lines.append(f"        {n}.delay(tenant_id)")
        lines += ["        queued += 1", "    return queued", ""]
        return lines

    # ---- small files ------------------------------------------------------------------

    def gen_admin(self, r: random.Random, app: str, specs: list[ModelSpec]) -> list[str]:
        lines = ["from django.contrib import admin", "", "from .models import " + ", ".join(m.name for m in specs), ""]
        for m in specs:
            lines += [
                "",
                f"@admin.register({m.name})",
                f"class {m.name}Admin(admin.ModelAdmin):",
                '    list_display = ("id", "name", "status", "is_active", "created_at")',
                '    list_filter = ("status", "is_active")',
                '    search_fields = ("name",)',
                '    ordering = ("-created_at",)',
            ]
            if m.tenant_owned:
                if r.random() < 0.9:
                    self.stats.note("admin: tenant-owned model, get_queryset filters by request.tenant")
                    lines += [
                        "",
                        "    def get_queryset(self, request):",
                        "        return super().get_queryset(request).filter(tenant=request.tenant)",
                    ]
                else:
                    self.stats.note("admin: tenant-owned model, ModelAdmin without a tenant-scoped get_queryset")
            lines.append("")
        return lines

    def gen_serializers(self, app: str, specs: list[ModelSpec]) -> list[str]:
        lines = ["from rest_framework import serializers", "", "from .models import " + ", ".join(m.name for m in specs), ""]
        for m in specs:
            flds = ", ".join(f'"{f}"' for f in ["id"] + m.fields)
            lines += [
                "",
                f"class {m.name}Serializer(serializers.ModelSerializer):",
                "    display_name = serializers.SerializerMethodField()",
                "",
                "    class Meta:",
                f"        model = {m.name}",
                f"        fields = ({flds}, \"display_name\")",
                '        read_only_fields = ("id", "created_at")',
                "",
                "    def get_display_name(self, obj) -> str:",
                '        return f"{obj.name} [{obj.status}]"',
                "",
                "    def validate_name(self, value: str) -> str:",
                "        value = value.strip()",
                "        if len(value) < 2:",
                '            raise serializers.ValidationError("name is too short")',
                "        return value",
                "",
            ]
        return lines

    def gen_urls(self, app: str, specs: list[ModelSpec], view_lines: list[str]) -> list[str]:
        funcs = [ln[4:].split("(")[0] for ln in view_lines if ln.startswith("def ")]
        lines = ["from django.urls import path", "", "from . import views", "", f'app_name = "{app}"', "", "urlpatterns = ["]
        for f in funcs:
            lines.append(f'    path("{f.replace("_", "-")}/", views.{f}, name="{f.replace("_", "-")}"),')
        lines.append("]")
        return lines

    def gen_signals(self, r: random.Random, app: str, specs: list[ModelSpec]) -> list[str]:
        lines = [
            "from django.core.cache import cache",
            "from django.db.models.signals import post_delete, post_save",
            "from django.dispatch import receiver",
            "",
            "from tenancy.cache import tenant_cache, tenant_key",
            "",
            "from .models import " + ", ".join(m.name for m in specs),
            "",
        ]
        for m in specs:
            if not m.tenant_owned or r.random() < 0.4:
                continue
            setc = self.cache_call(r, m, "instance.tenant", "cache", "tenant_cache", "tenant_key", value="None")
            lines += [
                "",
                f"@receiver(post_save, sender={m.name})",
                f"@receiver(post_delete, sender={m.name})",
                f"def invalidate_{m.var}_cache(sender, instance, **kwargs) -> None:",
                f"    {setc}",
                "",
            ]
        return lines

    def gen_migration(self, app: str, specs: list[ModelSpec]) -> list[str]:
        lines = [
            "import uuid",
            "from decimal import Decimal",
            "",
            "import django.db.models.deletion",
            "import django.utils.timezone",
            "from django.conf import settings",
            "from django.db import migrations, models",
            "",
            "",
            "class Migration(migrations.Migration):",
            "    initial = True",
            "",
            "    dependencies = [",
            '        ("tenancy", "0001_initial"),',
            "        migrations.swappable_dependency(settings.AUTH_USER_MODEL),",
            "    ]",
            "",
            "    operations = [",
        ]
        for m in specs:
            lines += [
                "        migrations.CreateModel(",
                f'            name="{m.name}",',
                "            fields=[",
                '                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),',
                '                ("name", models.CharField(max_length=200)),',
                '                ("status", models.CharField(default="draft", max_length=16)),',
                '                ("is_active", models.BooleanField(default=True)),',
                '                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),',
            ]
            for f in m.fields[4:]:
                lines.append(f'                ("{f}", {dict(EXTRA_FIELDS)[f].replace("timezone.", "django.utils.timezone.")}),')
            if m.tenant_owned:
                lines.append(
                    '                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, '
                    'related_name="+", to="tenancy.tenant")),'
                )
            lines += [
                "            ],",
                '            options={"ordering": ["-created_at"]},',
                "        ),",
            ]
        lines.append("    ]")
        return lines

    def gen_tests(self, r: random.Random, app: str, specs: list[ModelSpec]) -> list[str]:
        self.in_tests = True
        try:
            return self._gen_tests(r, app, specs)
        finally:
            self.in_tests = False

    def _gen_tests(self, r: random.Random, app: str, specs: list[ModelSpec]) -> list[str]:
        lines = [
            "import pytest",
            "from django.db.models import Count, Q",
            "from django.urls import reverse",
            "",
            "from tenancy.context import tenant_context",
            "from tenancy.models import Tenant",
            "",
            "from .. import services",
            "from ..models import " + ", ".join(m.name for m in specs),
            "",
            "",
            "@pytest.fixture",
            "def tenant(db):",
            '    return Tenant.objects.create(name="Acme", slug="acme")',
            "",
            "",
            "@pytest.fixture",
            "def other_tenant(db):",
            '    return Tenant.objects.create(name="Globex", slug="globex")',
            "",
        ]
        for m in specs:
            if not m.tenant_owned:
                continue
            mgr = "objects" if m.default_scoped else ("archived" if m.kind == "base_extra_first" else "objects")
            if not m.default_scoped:
                # create(tenant=...) through an unscoped manager: carries the tenant, but whether
                # that counts as a "tenant filter" is up to the engine.
                self.stats.ambiguous["TEN201"] += 2
                self.stats.detail["ambiguous: Model.objects.create(tenant=...) via an unscoped default manager, in tests/"] = (
                    self.stats.detail.get("ambiguous: Model.objects.create(tenant=...) via an unscoped default manager, in tests/", 0) + 2)
            q, _ = self.query(r, m, "tenant", terminal=False, allow_plant=False)
            lines += [
                "",
                f"def test_{m.var}_is_isolated(tenant, other_tenant):",
                f'    {m.name}.{mgr}.create(tenant=tenant, name="mine")',
                f'    {m.name}.{mgr}.create(tenant=other_tenant, name="theirs")',
                "    with tenant_context(tenant):",
                f"        names = sorted(obj.name for obj in {q})",
                '    assert names == ["mine"]',
                "",
            ]
        lines += [
            "",
            "def test_summary_is_cached(tenant, django_assert_num_queries):",
            "    with tenant_context(tenant):",
            "        first = services.build_summary(tenant)",
            "        with django_assert_num_queries(0):",
            "            assert services.build_summary(tenant) == first",
            "",
            "",
            "@pytest.mark.parametrize(\"status\", [\"open\", \"closed\", \"archived\"])",
            "def test_list_view_filters(client, tenant, status):",
            f'    response = client.get(reverse("{app}:{specs[0].var.replace("_", "-")}-list"), {{"status": status}})',
            "    assert response.status_code in (200, 302)",
            "",
        ]
        return lines

    # ---- filler -----------------------------------------------------------------------

    def filler_block(self, r: random.Random, names: Names) -> list[str]:
        noun = r.choice(NOUNS)
        noun2 = r.choice(NOUNS)
        pn = ident(plural(noun))
        c = r.randrange(12)
        if c == 0:  # dataclass
            cls = names.take(camel(f"{noun}_{r.choice(['summary', 'row', 'snapshot', 'payload', 'result', 'config'])}"))
            flds = r.sample(["name", "code", "count", "total", "ratio", "enabled", "created", "owner", "rank", "region"], r.randint(3, 7))
            types = {"name": ("str", None), "code": ("str", '""'), "count": ("int", "0"), "total": ("Decimal", 'Decimal("0")'),
                     "ratio": ("float", "0.0"), "enabled": ("bool", "True"), "created": ("Optional[dt.datetime]", "None"),
                     "owner": ("Optional[str]", "None"), "rank": ("int", "0"), "region": ("str", '"eu"')}
            req = [f for f in flds if types[f][1] is None]
            opt = [f for f in flds if types[f][1] is not None]
            frozen = r.choice(["", "(frozen=True)", "(slots=True)", "(order=True)"])
            out = [f"@dataclass{frozen}", f"class {cls}:", f'    """{self.sentence(r)}"""', ""]
            out += [f"    {f}: {types[f][0]}" for f in req]
            out += [f"    {f}: {types[f][0]} = {types[f][1]}" for f in opt]
            out += ["    tags: list[str] = field(default_factory=list)", ""]
            out += ["    def to_dict(self) -> dict[str, Any]:", "        return {"]
            out += [f'            "{f}": self.{f},' for f in req + opt]
            out += ['            "tags": list(self.tags),', "        }", ""]
            out += ["    @classmethod", f"    def from_dict(cls, data: Mapping[str, Any]) -> \"{cls}\":", "        return cls("]
            out += [f'            {f}=data["{f}"],' for f in req]
            out += [f'            {f}=data.get("{f}", {types[f][1]}),' for f in opt]
            out += ['            tags=[str(t) for t in data.get("tags", ())],', "        )"]
            return out
        if c == 1:  # normaliser with loop, try/except, f-strings
            fn = names.take(f"{r.choice(VERBS)}_{noun}_rows")
            k1, k2 = r.sample(["name", "amount", "code", "quantity", "region", "status", "email"], 2)
            return [
                f"def {fn}(rows: Iterable[Mapping[str, Any]], *, strict: bool = False) -> list[dict[str, Any]]:",
                f'    """{self.sentence(r, 6, 14)}',
                "",
                f"    Rows without a ``{k1}`` are skipped unless ``strict`` is set, in which case they raise.",
                '    """',
                "    result: list[dict[str, Any]] = []",
                "    for index, row in enumerate(rows):",
                f'        {ident(k1)} = str(row.get("{k1}", "")).strip()',
                f"        if not {ident(k1)}:",
                "            if strict:",
                f'                raise ValueError(f"row {{index}} has no {k1}")',
                "            continue",
                "        try:",
                f'            amount = Decimal(str(row.get("{k2}", "0")))',
                "        except (ArithmeticError, ValueError) as exc:",
                f'            logger.warning("bad {k2} in row %s: %s", index, exc)',
                "            continue",
                "        if amount < 0:",
                "            amount = -amount",
                f'        result.append({{"{k1}": {ident(k1)}, "{k2}": amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "index": index}})',
                "    return result",
            ]
        if c == 2:  # enum
            cls = names.take(camel(f"{noun}_{r.choice(['status', 'kind', 'state', 'level', 'mode'])}"))
            members = r.sample(STATES, r.randint(3, 7))
            out = [f"class {cls}(str, enum.Enum):", f'    """{self.sentence(r)}"""', ""]
            out += [f'    {mm.upper()} = "{mm}"' for mm in members]
            out += [
                "",
                "    @classmethod",
                "    def choices(cls) -> list[tuple[str, str]]:",
                '        return [(member.value, member.name.replace("_", " ").title()) for member in cls]',
                "",
                "    @property",
                "    def is_terminal(self) -> bool:",
                f"        return self in {{{', '.join(f'{cls}.{mm.upper()}' for mm in members[:2])}}}",
            ]
            return out
        if c == 3:  # match statement
            fn = names.take(f"classify_{noun}")
            return [
                f"def {fn}(value: object) -> str:",
                f'    """Classify a raw {noun} payload."""',
                "    match value:",
                f'        case {{"kind": "{noun}", "id": int(pk), **rest}}:',
                f'            return f"{noun}:{{pk}}:{{len(rest)}}"',
                "        case [first, *others] if others:",
                '            return f"list:{first!r}+{len(others)}"',
                "        case int() | float() as number if number > 0:",
                '            return "positive"',
                "        case str() as text if text.isdigit():",
                '            return "numeric-string"',
                "        case None:",
                '            return "empty"',
                "        case _:",
                '            return "unknown"',
            ]
        if c == 4:  # async
            fn = names.take(f"fetch_{pn}")
            return [
                f"async def {fn}(client: Any, ids: Sequence[int], *, concurrency: int = 8) -> dict[int, Any]:",
                f'    """Fetch {pn.replace("_", " ")} from the remote API, at most ``concurrency`` at a time."""',
                "    semaphore = asyncio.Semaphore(concurrency)",
                "",
                "    async def one(pk: int) -> tuple[int, Any]:",
                "        async with semaphore:",
                f'            response = await client.get(f"/api/{pn}/{{pk}}")',
                "            response.raise_for_status()",
                "            return pk, response.json()",
                "",
                "    pairs = await asyncio.gather(*(one(pk) for pk in ids), return_exceptions=True)",
                "    out: dict[int, Any] = {}",
                "    for item in pairs:",
                "        if isinstance(item, BaseException):",
                '            logger.debug("fetch failed: %s", item)',
                "            continue",
                "        pk, data = item",
                "        out[pk] = data",
                "    return out",
            ]
        if c == 5:  # generator
            fn = names.take(f"iter_{noun}_chunks")
            return [
                f"def {fn}(items: Iterable[Any], size: int = {r.choice([50, 100, 200, 500])}) -> Iterator[list[Any]]:",
                '    """Yield lists of at most ``size`` items."""',
                "    if size <= 0:",
                '        raise ValueError("size must be positive")',
                "    iterator = iter(items)",
                "    while chunk := list(itertools.islice(iterator, size)):",
                "        yield chunk",
            ]
        if c == 6:  # decorator
            fn = names.take(f"retry_{noun}")
            return [
                f"def {fn}(times: int = 3, delay: float = 0.1, exceptions: tuple[type[BaseException], ...] = (Exception,)):",
                '    """Retry the decorated function a few times with a linear back-off."""',
                "",
                "    def decorator(func):",
                "        @functools.wraps(func)",
                "        def wrapper(*args: Any, **kwargs: Any) -> Any:",
                "            last: Optional[BaseException] = None",
                "            for attempt in range(1, times + 1):",
                "                try:",
                "                    return func(*args, **kwargs)",
                "                except exceptions as exc:  # pragma: no cover - timing dependent",
                "                    last = exc",
                '                    logger.info("attempt %d/%d of %s failed: %s", attempt, times, func.__name__, exc)',
                "                    time.sleep(delay * attempt)",
                "            assert last is not None",
                "            raise last",
                "",
                "        return wrapper",
                "",
                "    return decorator",
            ]
        if c == 7:  # calculator class
            cls = names.take(camel(f"{noun}_{r.choice(['calculator', 'allocator', 'planner', 'estimator'])}"))
            return [
                f"class {cls}:",
                f'    """{self.sentence(r, 6, 12)}"""',
                "",
                "    def __init__(self, rate: Decimal, *, minimum: Decimal = Decimal(\"0\"), cap: Optional[Decimal] = None) -> None:",
                "        self.rate = rate",
                "        self.minimum = minimum",
                "        self.cap = cap",
                "        self._history: list[Decimal] = []",
                "",
                "    def __repr__(self) -> str:",
                f'        return f"{cls}(rate={{self.rate}}, minimum={{self.minimum}}, cap={{self.cap}})"',
                "",
                "    def apply(self, amount: Decimal) -> Decimal:",
                "        value = max(self.minimum, amount * self.rate)",
                "        if self.cap is not None and value > self.cap:",
                "            value = self.cap",
                '        value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)',
                "        self._history.append(value)",
                "        return value",
                "",
                "    def apply_many(self, amounts: Iterable[Decimal]) -> list[Decimal]:",
                "        return [self.apply(a) for a in amounts if a]",
                "",
                "    @property",
                "    def total(self) -> Decimal:",
                '        return sum(self._history, Decimal("0"))',
                "",
                "    @staticmethod",
                "    def describe(values: Sequence[Decimal]) -> str:",
                "        if not values:",
                '            return "no values"',
                "        ordered = sorted(values)",
                "        middle = ordered[len(ordered) // 2]",
                '        return f"n={len(values)} min={ordered[0]} median={middle} max={ordered[-1]}"',
            ]
        if c == 8:  # constants mapping
            var = names.take(f"{noun.upper()}_{r.choice(['LIMITS', 'LABELS', 'DEFAULTS', 'THRESHOLDS'])}")
            out = [f"{var}: dict[str, tuple[int, str]] = {{"]
            for s in r.sample(STATES, r.randint(4, 10)):
                out.append(f'    "{s}": ({r.randint(1, 5000)}, "{s.replace("_", " ").title()} {noun}"),')
            out += ["}", "", f"{var}_BY_LIMIT = {{label: limit for limit, label in {var}.values()}}"]
            return out
        if c == 9:  # regex parser
            var = names.take(f"_{noun.upper()}_PATTERN")
            fn = names.take(f"parse_{noun}_reference")
            pref = noun[:3].upper()
            return [
                f'{var} = re.compile(r"^(?P<prefix>{pref})-(?P<year>\\d{{4}})-(?P<number>\\d{{3,8}})$")',
                "",
                "",
                f"class {camel(fn)}Result(NamedTuple):",
                "    prefix: str",
                "    year: int",
                "    number: int",
                "",
                "",
                f"def {fn}(value: str) -> Optional[{camel(fn)}Result]:",
                f'    """Parse references such as ``{pref}-2024-00042``."""',
                f"    if not (match := {var}.match(value.strip().upper())):",
                "        return None",
                "    year = int(match.group(\"year\"))",
                "    if not 2000 <= year <= 2100:",
                "        return None",
                f"    return {camel(fn)}Result(match.group(\"prefix\"), year, int(match.group(\"number\")))",
            ]
        if c == 10:  # aggregation with comprehensions and counters
            fn = names.take(f"{r.choice(['summarize', 'aggregate', 'tally'])}_{pn}")
            key = r.choice(["status", "region", "owner", "kind", "category"])
            return [
                f"def {fn}(records: Sequence[Mapping[str, Any]], *, top: int = 5) -> dict[str, Any]:",
                f'    """{self.sentence(r, 5, 12)}"""',
                f'    by_{key} = Counter(str(rec.get("{key}", "unknown")) for rec in records)',
                "    totals: dict[str, Decimal] = defaultdict(Decimal)",
                "    for rec in records:",
                f'        totals[str(rec.get("{key}", "unknown"))] += Decimal(str(rec.get("amount", 0)))',
                "    largest = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]",
                "    return {",
                '        "count": len(records),',
                f'        "by_{key}": dict(by_{key}.most_common(top)),',
                '        "largest": [{"key": k, "total": str(v)} for k, v in largest],',
                '        "empty": [k for k, v in totals.items() if not v],',
                f'        "label": f"{{len(records)}} {pn.replace("_", " ")} in {{len(by_{key})}} groups",',
                "    }",
            ]
        # c == 11: context manager + typed dict + protocol
        td = names.take(camel(f"{noun}_{noun2}_dict"))
        proto = names.take(camel(f"supports_{noun}"))
        cm = names.take(f"timed_{noun}")
        return [
            f"class {td}(TypedDict, total=False):",
            "    id: int",
            "    name: str",
            "    amount: str",
            f"    {ident(noun2)}_id: Optional[int]",
            "",
            "",
            f"class {proto}(Protocol):",
            f"    def to_{noun}(self) -> {td}: ...",
            "",
            "",
            "@contextlib.contextmanager",
            f"def {cm}(label: str, *, threshold: float = 0.5) -> Iterator[dict[str, float]]:",
            '    """Measure the wrapped block and log it when slow."""',
            '    timings: dict[str, float] = {"start": time.perf_counter()}',
            "    try:",
            "        yield timings",
            "    finally:",
            '        timings["elapsed"] = elapsed = time.perf_counter() - timings["start"]',
            "        if elapsed > threshold:",
            '            logger.warning("%s took %.3fs", label, elapsed)',
            "        else:",
            '            logger.debug("%s took %.3fs", label, elapsed)',
        ]

    def filler_file(self, r: random.Random, title: str, budget: int) -> list[str]:
        names = Names()
        lines = [f'"""{title}', "", self.sentence(r, 8, 16), '"""', ""] + FILLER_IMPORTS
        while len(lines) < budget:
            lines += ["", ""] + self.filler_block(r, names)
        return lines

    # ---- apps -------------------------------------------------------------------------

    def gen_app(self, idx: int) -> None:
        app = f"app_{idx:03d}"
        r = random.Random(f"{self.seed}:{app}")
        app_target = r.randint(1500, 4000)
        start = self.lines
        n_models = r.randint(3, 10)
        specs = self.plan_models(r, app, n_models)
        mgr_lines, minfo = self.gen_managers(r, app, specs)
        self.write(f"{app}/__init__.py", [f'"""{camel(app)}: {self.sentence(r)}"""'] if r.random() < 0.5 else [])
        self.write(f"{app}/apps.py", [
            "from django.apps import AppConfig",
            "",
            "",
            f"class {camel(app)}Config(AppConfig):",
            '    default_auto_field = "django.db.models.BigAutoField"',
            f'    name = "{app}"',
            "",
            "    def ready(self) -> None:",
            "        from . import signals  # noqa: F401",
        ])
        self.write(f"{app}/managers.py", mgr_lines)
        self.write(f"{app}/models.py", self.gen_models(r, app, specs, minfo))
        views = self.gen_views(r, app, specs)
        self.write(f"{app}/views.py", views)
        self.write(f"{app}/urls.py", self.gen_urls(app, specs, views))
        self.write(f"{app}/services.py", self.gen_services(r, app, specs))
        self.write(f"{app}/tasks.py", self.gen_tasks(r, app, specs))
        self.write(f"{app}/admin.py", self.gen_admin(r, app, specs))
        self.write(f"{app}/serializers.py", self.gen_serializers(app, specs))
        self.write(f"{app}/signals.py", self.gen_signals(r, app, specs))
        self.write(f"{app}/migrations/__init__.py", [])
        self.write(f"{app}/migrations/0001_initial.py", self.gen_migration(app, specs))
        self.write(f"{app}/tests/__init__.py", [])
        self.write(f"{app}/tests/test_isolation.py", self.gen_tests(r, app, specs))
        # filler up to the app's budget (and never past the global target by much)
        remaining = min(app_target - (self.lines - start), self.target - self.lines)
        files = ["utils.py", "reports.py", "formatting.py"]
        n = 0
        while remaining > 40:
            size = min(remaining, r.randint(150, 700))
            if n < len(files):
                rel = f"{app}/{files[n]}"
            else:
                if n == len(files):
                    self.write(f"{app}/lib/__init__.py", [])
                rel = f"{app}/lib/module_{n - len(files):02d}.py"
            written = self.write(rel, self.filler_file(r, f"Helpers for {app} ({rel}).", size))
            remaining -= written
            n += 1
        self.all_models.extend(specs)

    def expected_by_code(self) -> dict[str, int]:
        """What the rule set as of tenantlint ef08c8a reports on this tree (see bench/README.md)."""
        st, d = self.stats, self.stats.detail
        extra_first = d.get("TEN101 planted: model kind base_extra_first", 0)
        return {
            # a child's own plain manager ahead of an inherited scoped one is TEN102, not TEN101
            "TEN101": st.planted["TEN101"] - extra_first,
            # ...and a noqa comment naming only TEN101 does not silence TEN102
            "TEN102": extra_first + d.get("TEN101 suppressed: model kind base_extra_first", 0),
            "TEN201": st.planted["TEN201"],
            # bypass managers (all_objects) outside migrations/tests, even with a tenant filter
            "TEN202": d.get("clean query: unscoped `all_objects` with a tenant filter, in app code", 0),
            "TEN301": st.planted["TEN301"],
            "TEN501": d.get("admin: tenant-owned model, ModelAdmin without a tenant-scoped get_queryset", 0),
        }

    def run(self) -> None:
        self.skeleton()
        apps = []
        idx = 0
        while self.lines < self.target or idx == 0:
            self.gen_app(idx)
            apps.append(f"app_{idx:03d}")
            idx += 1
        self.finish_config(apps)
        manifest = {
            "generator": "bench/gen_project.py",
            "seed": self.seed,
            "target_lines": self.target,
            "python_files": self.files,
            "python_lines": self.lines,
            "apps": len(apps),
            "models": len(self.all_models),
            "model_kinds": dict(sorted(self.stats.kinds.items())),
            "planted_unsuppressed": self.stats.planted,
            "expected_by_code": self.expected_by_code(),
            "planted_suppressed_with_noqa": self.stats.suppressed,
            "ambiguous_sites": self.stats.ambiguous,
            "clean_sites": self.stats.clean,
            "breakdown": dict(sorted(self.stats.detail.items())),
            "note": (
                "planted_unsuppressed is what a correct tenantlint should report with default settings "
                "(TEN101 per model class, TEN201 per query, TEN301 per cache call); clean_sites should "
                "produce nothing. Counts are by construction and follow Django's default-manager rules "
                "(a manager declared on the child comes before inherited ones). expected_by_code maps the "
                "breakdown onto the rule set as of tenantlint ef08c8a (TEN102, TEN202, TEN501 added); "
                "update expected_by_code() in gen_project.py when rules change."
            ),
        }
        with open(os.path.join(self.out, "bench_manifest.json"), "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=False)
            fh.write("\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", help="directory to create (must not exist or be empty, unless --force)")
    ap.add_argument("--lines", type=int, default=1_000_000, help="approximate number of Python lines (default 1e6)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--force", action="store_true", help="delete OUT_DIR first if it exists")
    ap.add_argument("--verify", action="store_true",
                    help="compile every generated file in memory (no .pyc written) and fail on a syntax error")
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out_dir)
    if os.path.exists(out) and os.listdir(out):
        if not args.force:
            print(f"error: {out} exists and is not empty (use --force to replace it)", file=sys.stderr)
            return 2
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)
    t0 = time.perf_counter()
    g = Gen(out, args.seed, args.lines)
    g.run()
    dt_ = time.perf_counter() - t0
    print(f"wrote {g.files} Python files, {g.lines} lines, to {out} in {dt_:.1f}s")
    print(f"planted (unsuppressed): {g.stats.planted}; suppressed with noqa: {g.stats.suppressed}")
    if args.verify:
        t0 = time.perf_counter()
        bad = 0
        for root, _dirs, files in os.walk(out):
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(root, name)
                    with open(path, encoding="utf-8") as fh:
                        try:
                            compile(fh.read(), path, "exec", dont_inherit=True)
                        except SyntaxError as exc:
                            bad += 1
                            print(f"error: {exc}", file=sys.stderr)
        print(f"verify: compiled {g.files} files in {time.perf_counter() - t0:.1f}s, {bad} with syntax errors")
        if bad:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
