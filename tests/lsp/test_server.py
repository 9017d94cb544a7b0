"""`tenantlint server` end to end with a real LSP client (pytest-lsp, on pygls).

Run by `tests/integration_slow.rs` (`lsp_server_with_pytest_lsp`) with `TENANTLINT_BIN` set to the
release binary; by hand:

    TENANTLINT_BIN=target/release/tenantlint pytest tests/lsp
"""

from __future__ import annotations

import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

BIN = os.environ.get("TENANTLINT_BIN", "tenantlint")

MANAGERS = "from django.db import models\n\n\nclass TenantAwareManager(models.Manager):\n    pass\n"
MODELS = (
    "from django.db import models\n\nfrom tenancy.managers import TenantAwareManager\n\n\n"
    "class Tenant(models.Model):\n    name = models.CharField(max_length=100)\n\n\n"
    "class Invoice(models.Model):\n"
    "    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n"
    "    objects = TenantAwareManager()\n"
)
BROKEN = MODELS.replace("    objects = TenantAwareManager()\n", "")
FIXED = BROKEN.replace(
    "class Invoice(models.Model):\n", "class Invoice(models.Model):\n    objects = TenantAwareManager()\n"
)
VIEWS = "from app.models import Invoice\n\n\ndef invoices(request):\n    return Invoice.objects.all()\n"


def make_project(root: pathlib.Path) -> pathlib.Path:
    files = {
        "pyproject.toml": "[tool.tenantlint]\n",
        "app/__init__.py": "",
        "tenancy/__init__.py": "",
        "tenancy/managers.py": MANAGERS,
        "app/models.py": MODELS,
        "app/views.py": VIEWS,
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def config() -> ClientServerConfig:
    return ClientServerConfig(server_command=[BIN, "server", "--no-cache"])


async def start(client: LanguageClient, spec: str, root: pathlib.Path) -> types.InitializeResult:
    client.registrations = []

    # The test client does not implement dynamic registration: record it, as an editor would.
    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams):
        client.registrations.extend(params.registrations)

    return await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(spec),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="proj")],
        )
    )


@pytest_lsp.fixture(config=config())
async def emacs(lsp_client: LanguageClient, tmp_path: pathlib.Path):
    """Emacs 29's eglot capabilities: pushed diagnostics, dynamic file watching."""
    root = make_project(tmp_path)
    lsp_client.root = root
    lsp_client.init_result = await start(lsp_client, "emacs", root)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=config())
async def neovim(lsp_client: LanguageClient, tmp_path: pathlib.Path):
    """Neovim 0.11's capabilities: pull diagnostics, UTF-8 positions offered."""
    root = make_project(tmp_path)
    lsp_client.root = root
    lsp_client.init_result = await start(lsp_client, "neovim@v0.11.0", root)
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, path: pathlib.Path, text: str) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=text)
        )
    )


def change_doc(client: LanguageClient, path: pathlib.Path, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def diagnostics_until(client: LanguageClient, path: pathlib.Path, pred) -> list[types.Diagnostic]:
    uri = path.as_uri()
    for _ in range(50):
        if uri in client.diagnostics and pred(client.diagnostics[uri]):
            return client.diagnostics[uri]
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    raise AssertionError(f"diagnostics for {uri}: {client.diagnostics.get(uri)}")


def codes(diags) -> list[str]:
    return sorted(str(d.code) for d in diags)


def apply_edit(text: str, edit: types.WorkspaceEdit) -> str:
    """Apply a one-document WorkspaceEdit (ASCII text, so any position encoding is byte offsets)."""
    if edit.document_changes:
        edits = edit.document_changes[0].edits
    else:
        edits = next(iter(edit.changes.values()))
    lines = text.splitlines(keepends=True)
    starts = [0]
    for l in lines:
        starts.append(starts[-1] + len(l))

    def off(p: types.Position) -> int:
        return len(text) if p.line >= len(lines) else starts[p.line] + p.character

    for e in sorted(edits, key=lambda e: off(e.range.start), reverse=True):
        text = text[: off(e.range.start)] + e.new_text + text[off(e.range.end) :]
    return text


async def test_cross_file_diagnostics_quick_fix_and_fix_all(emacs: LanguageClient):
    client = emacs
    root = client.root
    assert client.init_result.server_info.name == "tenantlint"
    views, models = root / "app/views.py", root / "app/models.py"
    open_doc(client, views, VIEWS)
    open_doc(client, models, MODELS)
    assert list(await diagnostics_until(client, views, lambda d: True)) == []

    # Removing the tenant manager in models.py republishes the open views.py with a TEN201.
    change_doc(client, models, 2, BROKEN)
    v = await diagnostics_until(client, views, lambda d: "TEN201" in codes(d))
    assert codes(v) == ["TEN201"]
    assert v[0].code_description.href.endswith("/rules/TEN201.md")
    assert any(r.location.uri == models.as_uri() for r in v[0].related_information)
    m = await diagnostics_until(client, models, lambda d: "TEN101" in codes(d))
    ten101 = next(d for d in m if d.code == "TEN101")

    # The quick fix adds the manager.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=models.as_uri()),
            range=ten101.range,
            context=types.CodeActionContext(diagnostics=[ten101]),
        )
    )
    titles = [a.title for a in actions]
    fix = next(a for a in actions if a.title == "Add `objects = TenantAwareManager()`")
    assert fix.kind == types.CodeActionKind.QuickFix
    assert apply_edit(BROKEN, fix.edit) == FIXED
    assert "Disable TEN101 for this line" in titles, titles

    # source.fixAll.tenantlint applies the safe fixes.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=models.as_uri()),
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll.tenantlint"]),
        )
    )
    assert [a.kind for a in actions] == ["source.fixAll.tenantlint"]
    assert apply_edit(BROKEN, actions[0].edit) == FIXED

    # The config files are watched (eglot registers file watchers dynamically).
    watched = str([r.register_options for r in client.registrations])
    assert "**/pyproject.toml" in watched and "**/tenantlint.toml" in watched, watched

    # Restoring the manager clears both files.
    change_doc(client, models, 3, MODELS)
    await diagnostics_until(client, views, lambda d: len(d) == 0)
    await diagnostics_until(client, models, lambda d: len(d) == 0)


async def test_pull_diagnostics_for_neovim(neovim: LanguageClient):
    client = neovim
    root = client.root
    caps = client.init_result.capabilities
    assert caps.position_encoding == types.PositionEncodingKind.Utf8
    assert caps.diagnostic_provider.inter_file_dependencies
    views, models = root / "app/views.py", root / "app/models.py"
    open_doc(client, views, VIEWS)
    open_doc(client, models, MODELS)

    async def pull(path: pathlib.Path):
        return await client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()))
        )

    report = await pull(views)
    assert report.kind == "full" and list(report.items) == []
    change_doc(client, models, 2, BROKEN)
    report = await pull(views)
    assert codes(report.items) == ["TEN201"]
    # Nothing was pushed to a client that pulls.
    assert client.diagnostics == {}
