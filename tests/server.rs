//! The language server, driven in process through an in-memory connection (the same messages a
//! client sends over stdio): open/change/close, cross-file republishing, code actions, fix-all,
//! noqa, config reload, pull diagnostics, bad input, shutdown.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{Value, json};
use tenantlint::server::{ServerOptions, run};

const TIMEOUT: Duration = Duration::from_secs(20);

const MANAGERS: &str =
    "from django.db import models\n\n\nclass TenantAwareManager(models.Manager):\n    pass\n";
const MODELS: &str = "from django.db import models\n\nfrom tenancy.managers import TenantAwareManager\n\n\nclass Tenant(models.Model):\n    name = models.CharField(max_length=100)\n\n\nclass Invoice(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n    objects = TenantAwareManager()\n";
const VIEWS: &str = "from app.models import Invoice\n\n\ndef invoices(request):\n    return Invoice.objects.all()\n";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("pyproject.toml", "[tool.tenantlint]\n");
    write("app/__init__.py", "");
    write("tenancy/__init__.py", "");
    write("tenancy/managers.py", MANAGERS);
    write("app/models.py", MODELS);
    write("app/views.py", VIEWS);
    dir
}

fn uri(path: &Path) -> String {
    url_of(path).to_string()
}

fn url_of(path: &Path) -> lsp_types::Url {
    lsp_types::Url::from_file_path(path).unwrap()
}

struct Client {
    conn: Connection,
    server: Option<std::thread::JoinHandle<Result<bool, String>>>,
    next_id: i32,
    /// Messages from the server not consumed yet.
    inbox: VecDeque<Message>,
    /// Every message the server sent, for assertions on what was (not) sent.
    seen: Vec<Message>,
}

fn default_caps() -> Value {
    json!({
        "workspace": {
            "didChangeWatchedFiles": {"dynamicRegistration": true},
            "workspaceEdit": {"documentChanges": true},
        },
        "textDocument": {"codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "source"]}}}},
    })
}

impl Client {
    fn start(folders: &[&Path], caps: Value) -> (Client, Value) {
        let (server_conn, conn) = Connection::memory();
        let server = std::thread::spawn(move || run(server_conn, ServerOptions { no_cache: true }));
        let mut c = Client {
            conn,
            server: Some(server),
            next_id: 0,
            inbox: VecDeque::new(),
            seen: Vec::new(),
        };
        let folders: Vec<Value> = folders
            .iter()
            .map(|f| json!({"uri": uri(f), "name": f.file_name().unwrap().to_string_lossy()}))
            .collect();
        let init = c.request(
            "initialize",
            json!({"processId": null, "capabilities": caps, "workspaceFolders": folders}),
        );
        c.notify("initialized", json!({}));
        (c, init)
    }

    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Notification::new(method.into(), params).into())
            .unwrap();
    }

    fn recv(&mut self, deadline: Instant) -> Option<Message> {
        if let Some(m) = self.inbox.pop_front() {
            return Some(m);
        }
        let m = self.conn.receiver.recv_deadline(deadline).ok()?;
        self.seen.push(m.clone());
        Some(m)
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        match self.request_result(method, params) {
            Ok(v) => v,
            Err(e) => panic!("{method} failed: {e:?}"),
        }
    }

    fn request_result(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Value, lsp_server::ResponseError> {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn
            .sender
            .send(Request::new(id.clone(), method.into(), params).into())
            .unwrap();
        let deadline = Instant::now() + TIMEOUT;
        let mut kept = VecDeque::new();
        loop {
            let m = self
                .conn
                .receiver
                .recv_deadline(deadline)
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            self.seen.push(m.clone());
            match m {
                Message::Response(Response {
                    id: rid,
                    response_result,
                }) if rid == id => {
                    self.inbox.extend(kept);
                    return response_result;
                }
                other => kept.push_back(other),
            }
        }
    }

    /// The next `publishDiagnostics` for `path` that satisfies `pred`.
    fn diagnostics_where(&mut self, path: &Path, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let want = uri(path);
        let deadline = Instant::now() + TIMEOUT;
        let mut kept = VecDeque::new();
        loop {
            let Some(m) = self.recv(deadline) else {
                panic!("no matching diagnostics for {want}; seen: {:#?}", self.seen);
            };
            if let Message::Notification(n) = &m
                && n.method == "textDocument/publishDiagnostics"
                && n.params["uri"] == want
            {
                let diags = n.params["diagnostics"].as_array().unwrap().clone();
                if pred(&diags) {
                    // Put back what this wait skipped over.
                    while let Some(k) = kept.pop_back() {
                        self.inbox.push_front(k);
                    }
                    return diags;
                }
                continue;
            }
            kept.push_back(m);
        }
    }

    /// The next notification `method` (skipping others).
    fn notification(&mut self, method: &str) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.recv(deadline) {
                Some(Message::Notification(n)) if n.method == method => return n.params,
                Some(_) => {}
                None => panic!("no {method}; seen: {:#?}", self.seen),
            }
        }
    }

    /// Everything the server sends within `wait`.
    fn drain(&mut self, wait: Duration) -> Vec<Message> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while let Some(m) = self.recv(deadline) {
            out.push(m);
        }
        out
    }

    fn open(&self, path: &Path, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri(path), "languageId": "python", "version": 1, "text": text}}),
        );
    }

    fn change_full(&self, path: &Path, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(path), "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    fn shutdown(mut self) -> bool {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r, Value::Null);
        self.notify("exit", Value::Null);
        self.server.take().unwrap().join().unwrap().unwrap()
    }
}

fn codes(diags: &[Value]) -> Vec<String> {
    let mut c: Vec<String> = diags
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    c.sort();
    c
}

fn has(code: &str) -> impl Fn(&[Value]) -> bool + '_ {
    move |d: &[Value]| codes(d).iter().any(|c| c == code)
}

fn lacks(code: &str) -> impl Fn(&[Value]) -> bool + '_ {
    move |d: &[Value]| !codes(d).iter().any(|c| c == code)
}

/// Apply a WorkspaceEdit's edits for one document (UTF-16 positions, this test's texts are ASCII).
fn apply(text: &str, edit: &Value) -> String {
    let edits: Vec<Value> = if let Some(dc) = edit.get("documentChanges") {
        dc[0]["edits"].as_array().unwrap().clone()
    } else {
        edit["changes"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let offset = |pos: &Value| -> usize {
        let line = pos["line"].as_u64().unwrap() as usize;
        let ch = pos["character"].as_u64().unwrap() as usize;
        let mut off = 0;
        for (i, l) in text.split_inclusive('\n').enumerate() {
            if i == line {
                return off + ch.min(l.trim_end_matches('\n').len());
            }
            off += l.len();
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (s, e, t) in spans {
        out.replace_range(s..e, &t);
    }
    out
}

#[test]
fn open_change_close_and_cross_file_republish() {
    let dir = project();
    let root = dir.path();
    let (models, views) = (root.join("app/models.py"), root.join("app/views.py"));
    let (mut c, init) = Client::start(&[root], default_caps());
    assert_eq!(init["serverInfo"]["name"], "tenantlint");
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");
    assert!(init["capabilities"].get("diagnosticProvider").is_none());

    c.open(&views, VIEWS);
    let d = c.diagnostics_where(&views, |_| true);
    assert!(d.is_empty(), "{d:#?}");
    c.open(&models, MODELS);
    let d = c.diagnostics_where(&models, |_| true);
    assert!(d.is_empty(), "{d:#?}");

    // Remove the tenant manager in models.py: models.py gets TEN101, and the open views.py is
    // republished with the now unscoped query.
    let broken = MODELS.replace("    objects = TenantAwareManager()\n", "");
    c.change_full(&models, 2, &broken);
    let m = c.diagnostics_where(&models, has("TEN101"));
    assert_eq!(codes(&m), ["TEN101"]);
    let v = c.diagnostics_where(&views, has("TEN201"));
    assert_eq!(codes(&v), ["TEN201"]);
    let d201 = &v[0];
    assert_eq!(d201["range"]["start"], json!({"line": 4, "character": 11}));
    assert_eq!(d201["source"], "tenantlint");
    assert_eq!(d201["severity"], 2);
    assert!(
        d201["codeDescription"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/rules/TEN201.md")
    );
    // Related information points at the model in models.py.
    let related = d201["relatedInformation"].as_array().unwrap();
    assert!(
        related.iter().any(|r| r["location"]["uri"] == uri(&models)),
        "{related:#?}"
    );

    // Restore it (an incremental change re-inserting the line): both clear.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(&models), "version": 3}, "contentChanges": [{
            "range": {"start": {"line": 11, "character": 0}, "end": {"line": 11, "character": 0}},
            "text": "    objects = TenantAwareManager()\n"}]}),
    );
    let m = c.diagnostics_where(&models, lacks("TEN101"));
    assert!(m.is_empty(), "{m:#?}");
    let v = c.diagnostics_where(&views, lacks("TEN201"));
    assert!(v.is_empty(), "{v:#?}");

    // Edit models.py again, then close it without saving: the disk version (with the manager)
    // counts again, and its diagnostics are cleared.
    c.change_full(&models, 4, &broken);
    c.diagnostics_where(&views, has("TEN201"));
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri(&models)}}),
    );
    let m = c.diagnostics_where(&models, |d| d.is_empty());
    assert!(m.is_empty());
    c.diagnostics_where(&views, lacks("TEN201"));
    assert!(c.shutdown());
}

#[test]
fn code_actions_fix_a_missing_manager_disable_a_line_and_fix_all() {
    let dir = project();
    let root = dir.path();
    let models = root.join("app/models.py");
    let broken = MODELS.replace("    objects = TenantAwareManager()\n", "");
    std::fs::write(&models, &broken).unwrap();
    let (mut c, _) = Client::start(&[root], default_caps());
    c.open(&models, &broken);
    let d = c.diagnostics_where(&models, has("TEN101"));
    let ten101 = d.iter().find(|x| x["code"] == "TEN101").unwrap().clone();

    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&models)}, "range": ten101["range"],
               "context": {"diagnostics": [ten101]}}),
    );
    let actions = actions.as_array().unwrap();
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    let fix = actions
        .iter()
        .find(|a| a["title"] == "Add `objects = TenantAwareManager()`")
        .unwrap_or_else(|| panic!("{titles:?}"));
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["isPreferred"], true);
    assert_eq!(fix["diagnostics"][0]["code"], "TEN101");
    assert_eq!(
        fix["edit"]["documentChanges"][0]["textDocument"]["version"],
        1
    );
    let fixed = apply(&broken, &fix["edit"]);
    let expected = broken.replace(
        "class Invoice(models.Model):\n",
        "class Invoice(models.Model):\n    objects = TenantAwareManager()\n",
    );
    assert_eq!(fixed, expected, "the quick fix adds the manager");

    let noqa = actions
        .iter()
        .find(|a| a["title"] == "Disable TEN101 for this line")
        .unwrap_or_else(|| panic!("{titles:?}"));
    let suppressed = apply(&broken, &noqa["edit"]);
    assert!(
        suppressed.contains("class Invoice(models.Model):  # noqa: TEN101\n"),
        "{suppressed}"
    );
    // The fix-all action is there too when all kinds are asked for.
    assert!(
        titles.contains(&"Fix all safe tenantlint fixes"),
        "{titles:?}"
    );

    // Applying the noqa edit silences the diagnostic.
    c.change_full(&models, 2, &suppressed);
    c.diagnostics_where(&models, lacks("TEN101"));

    // A second code on an existing noqa list is merged into it.
    let merged_src = broken.replace(
        "class Invoice(models.Model):\n",
        "class Invoice(models.Model):  # noqa: TEN501\n",
    );
    c.change_full(&models, 3, &merged_src);
    let d = c.diagnostics_where(&models, has("TEN101"));
    let ten101 = d.iter().find(|x| x["code"] == "TEN101").unwrap().clone();
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&models)}, "range": ten101["range"],
               "context": {"diagnostics": [ten101], "only": ["quickfix"]}}),
    );
    let noqa = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Disable TEN101 for this line")
        .unwrap()
        .clone();
    assert!(
        apply(&merged_src, &noqa["edit"])
            .contains("class Invoice(models.Model):  # noqa: TEN501, TEN101\n")
    );
    assert!(
        !actions
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "source.fixAll.tenantlint"),
        "only quickfixes were asked for"
    );

    // source.fixAll.tenantlint: the safe fixes of the whole document.
    // (Same findings as before: nothing is republished; the request processes the edit.)
    c.change_full(&models, 4, &broken);
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&models)},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": [], "only": ["source.fixAll"]}}),
    );
    let actions = actions.as_array().unwrap();
    assert_eq!(actions.len(), 1, "{actions:#?}");
    assert_eq!(actions[0]["kind"], "source.fixAll.tenantlint");
    assert_eq!(apply(&broken, &actions[0]["edit"]), expected);
    // Computing it left the workspace as it was: the quick fix is still offered, from the
    // document's own text.
    let again = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&models)}, "range": ten101["range"],
               "context": {"diagnostics": [], "only": ["quickfix"]}}),
    );
    let fix = again
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Add `objects = TenantAwareManager()`")
        .expect("the fix is still offered")
        .clone();
    assert_eq!(apply(&broken, &fix["edit"]), expected);
    assert!(c.shutdown());
}

#[test]
fn config_reload_and_a_broken_config_keeps_the_last_good_settings() {
    let dir = project();
    let root = dir.path();
    let views = root.join("app/views.py");
    let models = root.join("app/models.py");
    let broken = MODELS.replace("    objects = TenantAwareManager()\n", "");
    std::fs::write(&models, &broken).unwrap();
    let (mut c, _) = Client::start(&[root], default_caps());
    // The server asks to watch the config files.
    let reg = c.seen.iter().chain(c.inbox.iter()).find_map(|m| match m {
        Message::Request(r) if r.method == "client/registerCapability" => Some(r.params.clone()),
        _ => None,
    });
    let reg = match reg {
        Some(r) => r,
        None => {
            // It may still be on its way.
            let deadline = Instant::now() + TIMEOUT;
            loop {
                match c.recv(deadline) {
                    Some(Message::Request(r)) if r.method == "client/registerCapability" => {
                        break r.params;
                    }
                    Some(_) => {}
                    None => panic!("no registration"),
                }
            }
        }
    };
    let globs = reg.to_string();
    assert!(
        globs.contains("**/pyproject.toml") && globs.contains("**/tenantlint.toml"),
        "{globs}"
    );

    c.open(&views, VIEWS);
    c.diagnostics_where(&views, has("TEN201"));

    // Ignore TEN201 in the config: cleared after the watched-file notification.
    let config = root.join("pyproject.toml");
    std::fs::write(&config, "[tool.tenantlint]\nignore = [\"TEN201\"]\n").unwrap();
    let changed = json!({"changes": [{"uri": uri(&config), "type": 2}]});
    c.notify("workspace/didChangeWatchedFiles", changed.clone());
    c.diagnostics_where(&views, lacks("TEN201"));

    // A broken config: an error message, and the last good settings stay.
    std::fs::write(
        &config,
        "[tool.tenantlint]\nignore = [\"TEN201\"]\nno-such-key = 1\n",
    )
    .unwrap();
    c.notify("workspace/didChangeWatchedFiles", changed.clone());
    let msg = c.notification("window/showMessage");
    assert_eq!(msg["type"], 1);
    assert!(
        msg["message"].as_str().unwrap().contains("no-such-key"),
        "{msg}"
    );
    // (An edit that adds a TEN301, so that there is something to publish.)
    let more = format!(
        "{VIEWS}\n\ndef cached():\n    from django.core.cache import cache\n\n    return cache.get(\"x\")\n"
    );
    c.change_full(&views, 2, &more);
    let v = c.diagnostics_where(&views, has("TEN301"));
    assert_eq!(codes(&v), ["TEN301"], "still ignoring TEN201");

    // Fixed again, without the ignore: TEN201 is back.
    std::fs::write(&config, "[tool.tenantlint]\n").unwrap();
    c.notify("workspace/didChangeWatchedFiles", changed);
    c.diagnostics_where(&views, has("TEN201"));

    // A source changed on disk (not open in the editor) counts too.
    std::fs::write(&models, MODELS).unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri(&models), "type": 2}]}),
    );
    c.diagnostics_where(&views, lacks("TEN201"));
    assert!(c.shutdown());
}

#[test]
fn pull_diagnostics_when_the_client_supports_them() {
    let dir = project();
    let root = dir.path();
    let (models, views) = (root.join("app/models.py"), root.join("app/views.py"));
    let caps = json!({
        "general": {"positionEncodings": ["utf-8", "utf-16"]},
        "textDocument": {"diagnostic": {"dynamicRegistration": false}},
        "workspace": {"diagnostics": {"refreshSupport": true}},
    });
    let (mut c, init) = Client::start(&[root], caps);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-8");
    assert_eq!(
        init["capabilities"]["diagnosticProvider"]["interFileDependencies"],
        true
    );
    c.open(&views, VIEWS);
    c.open(&models, MODELS);
    let pull = |c: &mut Client, p: &Path, prev: Option<&str>| {
        c.request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri(p)}, "previousResultId": prev}),
        )
    };
    let r = pull(&mut c, &views, None);
    assert_eq!(r["kind"], "full");
    assert_eq!(r["items"], json!([]));
    let id = r["resultId"].as_str().unwrap().to_string();
    let r = pull(&mut c, &views, Some(&id));
    assert_eq!(r["kind"], "unchanged");

    c.change_full(
        &models,
        2,
        &MODELS.replace("    objects = TenantAwareManager()\n", ""),
    );
    // views.py changed because of models.py: the client is asked to pull again.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match c.recv(deadline) {
            Some(Message::Request(r)) if r.method == "workspace/diagnostic/refresh" => break,
            Some(_) => {}
            None => panic!("no refresh request"),
        }
    }
    let r = pull(&mut c, &views, Some(&id));
    assert_eq!(r["kind"], "full");
    assert_eq!(codes(r["items"].as_array().unwrap()), ["TEN201"]);
    // No pushed diagnostics in pull mode.
    assert!(
        !c.seen.iter().any(
            |m| matches!(m, Message::Notification(n) if n.method == "textDocument/publishDiagnostics")
        ),
        "pushed diagnostics in pull mode"
    );
    assert!(c.shutdown());
}

#[test]
fn bad_input_is_logged_and_the_server_goes_on() {
    let dir = project();
    let root = dir.path();
    let views = root.join("app/views.py");
    let (mut c, _) = Client::start(&[root], default_caps());
    // Unknown documents, non-file URIs, bad params, out-of-range edits, unknown methods.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///nowhere/x.py", "version": 2}, "contentChanges": [{"text": "x"}]}),
    );
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": "untitled:Untitled-1", "languageId": "python", "version": 1, "text": "x = 1\n"}}),
    );
    c.notify("textDocument/didOpen", json!({"bogus": true}));
    let err = c
        .request_result("textDocument/codeAction", json!({"nope": 1}))
        .unwrap_err();
    assert_eq!(err.code, lsp_server::ErrorCode::InvalidParams as i32);
    let err = c
        .request_result("tenantlint/unknown", json!({}))
        .unwrap_err();
    assert_eq!(err.code, lsp_server::ErrorCode::MethodNotFound as i32);
    let none = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": "file:///nowhere/x.py"},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": []}}),
    );
    assert_eq!(none, json!([]));

    c.open(&views, VIEWS);
    c.diagnostics_where(&views, |_| true);
    // An edit far past the end of the document is clamped to it.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(&views), "version": 2}, "contentChanges": [{
            "range": {"start": {"line": 999, "character": 5}, "end": {"line": 1000, "character": 0}},
            "text": "\nx = Invoice.objects.all()\n"}]}),
    );
    // Reversed ranges too.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(&views), "version": 3}, "contentChanges": [{
            "range": {"start": {"line": 0, "character": 9999}, "end": {"line": 0, "character": 0}},
            "text": "from app.models import Invoice"}]}),
    );
    // Still alive and answering.
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&views)},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": []}}),
    );
    assert!(r.is_array());

    // After shutdown, requests are errors; exit without shutdown is an unclean exit.
    assert_eq!(c.request("shutdown", Value::Null), Value::Null);
    let err = c
        .request_result("textDocument/codeAction", json!({}))
        .unwrap_err();
    assert_eq!(err.code, lsp_server::ErrorCode::InvalidRequest as i32);
    c.notify("exit", Value::Null);
    assert!(c.server.take().unwrap().join().unwrap().unwrap());

    let (mut c2, _) = Client::start(&[root], default_caps());
    c2.notify("exit", Value::Null);
    assert!(
        !c2.server.take().unwrap().join().unwrap().unwrap(),
        "exit without shutdown"
    );
    let _ = c2.drain(Duration::from_millis(10));
}

#[test]
fn multi_root_each_folder_is_its_own_project() {
    let a = project();
    let b = project();
    // In b, the model has no tenant field of its own config: b ignores TEN201.
    std::fs::write(
        b.path().join("pyproject.toml"),
        "[tool.tenantlint]\nignore = [\"TEN201\"]\n",
    )
    .unwrap();
    for d in [&a, &b] {
        std::fs::write(
            d.path().join("app/models.py"),
            MODELS.replace("    objects = TenantAwareManager()\n", ""),
        )
        .unwrap();
    }
    let (mut c, _) = Client::start(&[a.path(), b.path()], default_caps());
    let (va, vb): (PathBuf, PathBuf) =
        (a.path().join("app/views.py"), b.path().join("app/views.py"));
    c.open(&va, VIEWS);
    c.open(&vb, VIEWS);
    c.diagnostics_where(&va, has("TEN201"));
    let d = c.diagnostics_where(&vb, |_| true);
    assert!(d.is_empty(), "{d:#?}");
    let _ = url_of(&va);
    assert!(c.shutdown());
}

#[test]
fn edits_are_debounced_and_only_the_latest_text_is_linted() {
    let dir = project();
    let root = dir.path();
    let models = root.join("app/models.py");
    let broken = MODELS.replace("    objects = TenantAwareManager()\n", "");
    let (mut c, _) = Client::start(&[root], default_caps());
    c.open(&models, MODELS);
    c.diagnostics_where(&models, |_| true);
    // A burst of edits, alternating between broken and fixed, ending broken.
    for v in 2..=7 {
        c.change_full(&models, v, if v % 2 == 1 { &broken } else { MODELS });
    }
    let d = c.diagnostics_where(&models, has("TEN101"));
    assert_eq!(codes(&d), ["TEN101"]);
    let _ = c.drain(Duration::from_millis(300));
    let published: Vec<i64> = c
        .seen
        .iter()
        .filter_map(|m| match m {
            Message::Notification(n)
                if n.method == "textDocument/publishDiagnostics"
                    && n.params["uri"] == uri(&models) =>
            {
                n.params["version"].as_i64()
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        published,
        [1, 7],
        "one round for the whole burst, on the latest text"
    );
    assert!(c.shutdown());
}

#[test]
fn positions_are_utf16_code_units_by_default() {
    let dir = project();
    let root = dir.path();
    std::fs::write(
        root.join("app/models.py"),
        MODELS.replace("    objects = TenantAwareManager()\n", ""),
    )
    .unwrap();
    let views = root.join("app/views.py");
    let text = VIEWS.replace("    return Invoice", "    return \"😀é\" and Invoice");
    let (mut c, _) = Client::start(&[root], default_caps());
    c.open(&views, &text);
    let d = c.diagnostics_where(&views, has("TEN201"));
    // `    return "😀é" and ` is 4 + 7 + 5 + 5 UTF-16 units (the emoji is two).
    assert_eq!(d[0]["range"]["start"], json!({"line": 4, "character": 21}));
    assert!(c.shutdown());
}

/// A Rust service in the server: a `.rs` document gets diagnostics (the entity in another file
/// makes the table tenant-owned), the `// noqa` quick fix, and the unsafe filter fix.
#[test]
fn rust_documents_get_diagnostics_and_quick_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"api\"]\n\n[workspace.metadata.tenantlint]\ntenant-context-types = [\"TenantId\"]\n",
    );
    write(
        "api/Cargo.toml",
        "[package]\nname = \"api\"\nversion = \"0.1.0\"\n",
    );
    write(
        "api/src/invoice.rs",
        "#[derive(DeriveEntityModel)]\n#[sea_orm(table_name = \"invoices\")]\npub struct Model {\n    pub id: i32,\n    pub tenant_id: Uuid,\n}\n",
    );
    let handler_src = "pub async fn list(db: &Db, tenant: TenantId) {\n    let _ = invoice::Entity::find().all(db).await;\n}\n";
    let handler = root.join("api/src/handlers.rs");
    write("api/src/handlers.rs", handler_src);
    let (mut c, _) = Client::start(&[root], default_caps());
    c.open(&handler, handler_src);
    let d = c.diagnostics_where(&handler, has("TEN201"));
    let ten201 = d.iter().find(|x| x["code"] == "TEN201").unwrap().clone();
    assert_eq!(ten201["range"]["start"]["line"], 1);
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&handler)}, "range": ten201["range"],
               "context": {"diagnostics": [ten201]}}),
    );
    let actions = actions.as_array().unwrap();
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    let noqa = actions
        .iter()
        .find(|a| a["title"] == "Disable TEN201 for this line")
        .unwrap_or_else(|| panic!("{titles:?}"));
    let suppressed = apply(handler_src, &noqa["edit"]);
    assert!(
        suppressed.contains("let _ = invoice::Entity::find().all(db).await;  // noqa: TEN201\n"),
        "{suppressed}"
    );
    let fix = actions
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .starts_with("Filter on the tenant")
        })
        .unwrap_or_else(|| panic!("{titles:?}"));
    let fixed = apply(handler_src, &fix["edit"]);
    assert!(
        fixed.contains(
            "invoice::Entity::find().filter(invoice::Column::TenantId.eq(tenant)).all(db)"
        ),
        "{fixed}"
    );
    // The suppressed text is clean.
    c.change_full(&handler, 2, &suppressed);
    c.diagnostics_where(&handler, lacks("TEN201"));
    assert!(c.shutdown());
}
