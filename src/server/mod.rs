//! `tenantlint server`: a language server over stdio on the engine's [`Workspace`].
//!
//! One thread owns the session: the projects (one workspace each, loaded on first use and kept in
//! memory) and the open documents. An edit sets the document's text in its workspace, which
//! updates the index one file at a time (`Workspace::set_document`); then every open document of
//! that project is linted again and those whose diagnostics changed are republished, so an edit
//! to `models.py` republishes an open `views.py`. Edits are debounced: the latest text is
//! processed once the client has been quiet for [`QUIET`] (at most [`MAX_DELAY`] after the first
//! unprocessed edit). Requests that read the state (code actions, pull diagnostics) process
//! pending edits first.
//!
//! Diagnostics are pushed (`textDocument/publishDiagnostics`), or, when the client supports pull
//! diagnostics, answered on `textDocument/diagnostic` (with `workspace/diagnostic/refresh` when
//! an edit changes another document's findings); never both, which would show each finding twice.

mod actions;
mod diagnostics;
mod position;
mod session;

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    ClientCapabilities, CodeActionKind, CodeActionOptions, CodeActionProviderCapability,
    DiagnosticOptions, DiagnosticServerCapabilities, DidChangeTextDocumentParams,
    DidChangeWatchedFilesParams, DidChangeWatchedFilesRegistrationOptions,
    DidChangeWorkspaceFoldersParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DocumentDiagnosticParams, DocumentDiagnosticReport, DocumentDiagnosticReportResult,
    FileChangeType, FileSystemWatcher, FullDocumentDiagnosticReport, GlobPattern, InitializeParams,
    MessageType, PublishDiagnosticsParams, Registration, RegistrationParams,
    RelatedFullDocumentDiagnosticReport, RelatedUnchangedDocumentDiagnosticReport, SaveOptions,
    ServerCapabilities, ServerInfo, ShowMessageParams, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
    UnchangedDocumentDiagnosticReport, Url, WorkspaceFoldersServerCapabilities,
    WorkspaceServerCapabilities,
};
use rustc_hash::FxHashMap as HashMap;

use crate::config;
use crate::discovery;
use diagnostics::OtherFiles;
use position::{Encoding, Lines};
use session::{Document, Project};

/// How long the client must be quiet before pending edits are processed.
pub const QUIET: Duration = Duration::from_millis(20);
/// The longest an edit waits while the client keeps typing.
pub const MAX_DELAY: Duration = Duration::from_millis(200);

pub const FIX_ALL_KIND: &str = "source.fixAll.tenantlint";

#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Do not read or write the fact cache.
    pub no_cache: bool,
}

/// Run the server on standard input and output until the client says `exit`. Returns whether it
/// was shut down properly (`shutdown` before `exit`): the exit status is 0 then, else 1.
pub fn run_stdio(options: ServerOptions) -> Result<bool, String> {
    let (connection, io_threads) = Connection::stdio();
    let clean = run(connection, options)?;
    io_threads
        .join()
        .map_err(|e| format!("language server I/O: {e}"))?;
    Ok(clean)
}

/// Run the server on a connection (stdio, or in memory in the tests).
pub fn run(connection: Connection, options: ServerOptions) -> Result<bool, String> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|e| format!("language server handshake: {e}"))?;
    // lsp-types 0.95 reads `workspace.diagnostic`; the protocol (and VS Code) say `diagnostics`.
    let refresh = ["diagnostics", "diagnostic"]
        .iter()
        .any(|k| params["capabilities"]["workspace"][k]["refreshSupport"] == true);
    let params: InitializeParams = match serde_json::from_value(params) {
        Ok(p) => p,
        Err(e) => {
            log(&format!(
                "unreadable initialize parameters ({e}); using defaults"
            ));
            InitializeParams::default()
        }
    };
    let mut caps = ClientCaps::new(&params.capabilities);
    caps.refresh |= refresh;
    let result = serde_json::json!({
        "capabilities": server_capabilities(&caps),
        "serverInfo": ServerInfo {
            name: "tenantlint".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        },
    });
    connection
        .sender
        .send(Response::new_ok(id, result).into())
        .map_err(|e| format!("language server handshake: {e}"))?;
    let mut folders: Vec<PathBuf> = Vec::new();
    for f in params.workspace_folders.iter().flatten() {
        if let Some(p) = file_path(&f.uri) {
            folders.push(p);
        }
    }
    #[allow(deprecated)]
    if folders.is_empty()
        && let Some(p) = params.root_uri.as_ref().and_then(file_path)
    {
        folders.push(p);
    }
    let mut server = Server {
        sender: connection.sender.clone(),
        caps,
        options,
        projects: Vec::new(),
        docs: HashMap::default(),
        dirty: BTreeSet::new(),
        first_dirty: None,
        last_dirty: None,
        shutdown: false,
        next_request: 0,
    };
    for f in folders {
        server.add_folder(f);
    }
    server.main_loop(&connection.receiver)
}

fn log(msg: &str) {
    eprintln!("tenantlint server: {msg}");
}

/// A `file:` URI's path, normalised; `None` for other schemes.
fn file_path(uri: &Url) -> Option<PathBuf> {
    if uri.scheme() != "file" {
        return None;
    }
    uri.to_file_path().ok().map(|p| config::normalize(&p))
}

/// What the client can do, as far as the server cares.
#[derive(Clone, Debug)]
struct ClientCaps {
    encoding: Encoding,
    pull: bool,
    refresh: bool,
    watch: bool,
    document_changes: bool,
    resolve_edit: bool,
}

impl ClientCaps {
    fn new(c: &ClientCapabilities) -> ClientCaps {
        let td = c.text_document.as_ref();
        let ws = c.workspace.as_ref();
        ClientCaps {
            encoding: Encoding::negotiate(
                c.general
                    .as_ref()
                    .and_then(|g| g.position_encodings.as_deref()),
            ),
            pull: td.is_some_and(|t| t.diagnostic.is_some()),
            refresh: ws
                .and_then(|w| w.diagnostic.as_ref())
                .and_then(|d| d.refresh_support)
                .unwrap_or(false),
            watch: ws
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|d| d.dynamic_registration)
                .unwrap_or(false),
            document_changes: ws
                .and_then(|w| w.workspace_edit.as_ref())
                .and_then(|e| e.document_changes)
                .unwrap_or(false),
            resolve_edit: td
                .and_then(|t| t.code_action.as_ref())
                .and_then(|a| a.resolve_support.as_ref())
                .is_some_and(|r| r.properties.iter().any(|p| p == "edit")),
        }
    }
}

fn server_capabilities(caps: &ClientCaps) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(caps.encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..Default::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::new(FIX_ALL_KIND),
            ]),
            resolve_provider: Some(true),
            ..Default::default()
        })),
        diagnostic_provider: caps.pull.then(|| {
            DiagnosticServerCapabilities::Options(DiagnosticOptions {
                identifier: Some("tenantlint".into()),
                inter_file_dependencies: true,
                workspace_diagnostics: false,
                ..Default::default()
            })
        }),
        workspace: Some(WorkspaceServerCapabilities {
            workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: Some(lsp_types::OneOf::Left(true)),
            }),
            file_operations: None,
        }),
        ..Default::default()
    }
}

struct Server {
    sender: Sender<Message>,
    caps: ClientCaps,
    options: ServerOptions,
    projects: Vec<Project>,
    docs: HashMap<Url, Document>,
    /// Open documents edited since the last round (debounced).
    dirty: BTreeSet<Url>,
    first_dirty: Option<Instant>,
    last_dirty: Option<Instant>,
    shutdown: bool,
    next_request: u64,
}

impl Server {
    fn main_loop(&mut self, receiver: &Receiver<Message>) -> Result<bool, String> {
        loop {
            let msg = match self.deadline() {
                Some(deadline) => match receiver.recv_deadline(deadline) {
                    Ok(m) => m,
                    Err(RecvTimeoutError::Timeout) => {
                        self.guarded("processing edits", |s| s.flush());
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return Ok(false),
                },
                None => match receiver.recv() {
                    Ok(m) => m,
                    Err(_) => return Ok(false),
                },
            };
            match msg {
                Message::Request(req) => {
                    if self.shutdown {
                        self.respond(Response::new_err(
                            req.id,
                            ErrorCode::InvalidRequest as i32,
                            "the server is shutting down".into(),
                        ));
                    } else if req.method == lsp_types::request::Shutdown::METHOD {
                        self.shutdown = true;
                        self.respond(Response::new_ok(req.id, ()));
                    } else {
                        let id = req.id.clone();
                        let method = req.method.clone();
                        let answered = self.guarded(&method, |s| s.handle_request(req));
                        if answered.is_none() {
                            self.respond(Response::new_err(
                                id,
                                ErrorCode::InternalError as i32,
                                format!("tenantlint failed on `{method}` (see the server log)"),
                            ));
                        }
                    }
                }
                Message::Notification(n) => {
                    if n.method == lsp_types::notification::Exit::METHOD {
                        return Ok(self.shutdown);
                    }
                    let method = n.method.clone();
                    self.guarded(&method, |s| s.handle_notification(n));
                }
                Message::Response(_) => {}
            }
        }
    }

    /// Run `f`, turning a panic (a bug, never the client's fault) into a log line: the server
    /// goes on with the next message.
    fn guarded<R>(&mut self, what: &str, f: impl FnOnce(&mut Server) -> R) -> Option<R> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| f(self))) {
            Ok(r) => Some(r),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| e.downcast_ref::<&str>().copied())
                    .unwrap_or("panic");
                log(&format!("internal error while {what}: {msg}"));
                None
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let (first, last) = (self.first_dirty?, self.last_dirty?);
        Some((last + QUIET).min(first + MAX_DELAY))
    }

    fn respond(&self, r: Response) {
        let _ = self.sender.send(r.into());
    }

    fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        let _ = self
            .sender
            .send(Notification::new(N::METHOD.to_string(), params).into());
    }

    fn request<R: lsp_types::request::Request>(&mut self, params: R::Params) {
        self.next_request += 1;
        let id = RequestId::from(format!("tenantlint-{}", self.next_request));
        let _ = self
            .sender
            .send(Request::new(id, R::METHOD.to_string(), params).into());
    }

    fn show_error(&self, message: String) {
        log(&message);
        self.notify::<lsp_types::notification::ShowMessage>(ShowMessageParams {
            typ: MessageType::ERROR,
            message,
        });
    }

    // ---- requests -------------------------------------------------------------------------

    fn handle_request(&mut self, req: Request) {
        use lsp_types::request::{
            CodeActionRequest, CodeActionResolveRequest, DocumentDiagnosticRequest,
        };
        let id = req.id.clone();
        let result: Result<serde_json::Value, (ErrorCode, String)> = match req.method.as_str() {
            CodeActionRequest::METHOD => match serde_json::from_value(req.params) {
                Ok(p) => {
                    self.flush();
                    Ok(serde_json::to_value(actions::code_actions(self, p)).unwrap_or_default())
                }
                Err(e) => Err((ErrorCode::InvalidParams, e.to_string())),
            },
            CodeActionResolveRequest::METHOD => match serde_json::from_value(req.params) {
                Ok(p) => {
                    self.flush();
                    Ok(serde_json::to_value(actions::resolve(self, p)).unwrap_or_default())
                }
                Err(e) => Err((ErrorCode::InvalidParams, e.to_string())),
            },
            DocumentDiagnosticRequest::METHOD => {
                match serde_json::from_value::<DocumentDiagnosticParams>(req.params) {
                    Ok(p) => {
                        self.flush();
                        Ok(serde_json::to_value(self.pull(p)).unwrap_or_default())
                    }
                    Err(e) => Err((ErrorCode::InvalidParams, e.to_string())),
                }
            }
            other => Err((
                ErrorCode::MethodNotFound,
                format!("tenantlint does not handle `{other}`"),
            )),
        };
        self.respond(match result {
            Ok(v) => Response::new_ok(id, v),
            Err((code, msg)) => Response::new_err(id, code as i32, msg),
        });
    }

    fn pull(&mut self, p: DocumentDiagnosticParams) -> DocumentDiagnosticReportResult {
        let (items, result_id) = match self.docs.get(&p.text_document.uri) {
            Some(doc) => (doc.published.clone(), doc.result_id.to_string()),
            None => (Vec::new(), "none".to_string()),
        };
        let report = if p.previous_result_id.as_deref() == Some(result_id.as_str()) {
            DocumentDiagnosticReport::Unchanged(RelatedUnchangedDocumentDiagnosticReport {
                related_documents: None,
                unchanged_document_diagnostic_report: UnchangedDocumentDiagnosticReport {
                    result_id,
                },
            })
        } else {
            DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
                related_documents: None,
                full_document_diagnostic_report: FullDocumentDiagnosticReport {
                    result_id: Some(result_id),
                    items,
                },
            })
        };
        DocumentDiagnosticReportResult::Report(report)
    }

    // ---- notifications --------------------------------------------------------------------

    fn handle_notification(&mut self, n: Notification) {
        use lsp_types::notification::{
            DidChangeTextDocument, DidChangeWatchedFiles, DidChangeWorkspaceFolders,
            DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument, Initialized,
        };
        fn params<P: serde::de::DeserializeOwned>(n: Notification) -> Option<P> {
            match serde_json::from_value(n.params) {
                Ok(p) => Some(p),
                Err(e) => {
                    log(&format!(
                        "ignoring `{}`: invalid parameters ({e})",
                        n.method
                    ));
                    None
                }
            }
        }
        match n.method.as_str() {
            Initialized::METHOD => self.register_watchers(),
            DidOpenTextDocument::METHOD => {
                if let Some(p) = params(n) {
                    self.did_open(p)
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Some(p) = params(n) {
                    self.did_change(p)
                }
            }
            DidSaveTextDocument::METHOD => self.flush(),
            DidCloseTextDocument::METHOD => {
                if let Some(p) = params(n) {
                    self.did_close(p)
                }
            }
            DidChangeWatchedFiles::METHOD => {
                if let Some(p) = params(n) {
                    self.watched_files(p)
                }
            }
            DidChangeWorkspaceFolders::METHOD => {
                if let Some(p) = params::<DidChangeWorkspaceFoldersParams>(n) {
                    for f in &p.event.removed {
                        if let Some(path) = file_path(&f.uri) {
                            self.remove_folder(&path);
                        }
                    }
                    for f in &p.event.added {
                        if let Some(path) = file_path(&f.uri) {
                            self.add_folder(path);
                        }
                    }
                    self.reassign_documents();
                }
            }
            _ => {}
        }
    }

    fn register_watchers(&mut self) {
        if !self.caps.watch {
            return;
        }
        let globs = [
            "**/tenantlint.toml",
            "**/.tenantlint.toml",
            "**/pyproject.toml",
            "**/*.py",
            "**/*.pyi",
            "**/Cargo.toml",
            "**/*.rs",
            "**/migrations/**/*.sql",
        ];
        let options = DidChangeWatchedFilesRegistrationOptions {
            watchers: globs
                .iter()
                .map(|g| FileSystemWatcher {
                    glob_pattern: GlobPattern::String(g.to_string()),
                    kind: None,
                })
                .collect(),
        };
        self.request::<lsp_types::request::RegisterCapability>(RegistrationParams {
            registrations: vec![Registration {
                id: "tenantlint-watched-files".into(),
                method: lsp_types::notification::DidChangeWatchedFiles::METHOD.into(),
                register_options: serde_json::to_value(options).ok(),
            }],
        });
    }

    fn did_open(&mut self, p: DidOpenTextDocumentParams) {
        let td = p.text_document;
        let Some(path) = file_path(&td.uri) else {
            log(&format!("ignoring {}: not a file", td.uri));
            return;
        };
        if !(discovery::is_python(&path)
            || discovery::is_rust(&path)
            || td.language_id == "python"
            || td.language_id == "rust")
        {
            return;
        }
        let project = self.project_for(&path);
        let uri = td.uri.clone();
        self.docs.insert(
            td.uri.clone(),
            Document {
                uri: td.uri,
                path,
                version: td.version,
                text: td.text,
                project,
                diagnostics: Vec::new(),
                published: Vec::new(),
                result_id: 0,
            },
        );
        self.mark_dirty(uri);
        // The first diagnostics of a document are not worth waiting for.
        self.flush();
    }

    fn did_change(&mut self, p: DidChangeTextDocumentParams) {
        let enc = self.caps.encoding;
        let Some(doc) = self.docs.get_mut(&p.text_document.uri) else {
            log(&format!(
                "ignoring a change to {}: not open",
                p.text_document.uri
            ));
            return;
        };
        for change in p.content_changes {
            match change.range {
                None => doc.text = change.text,
                Some(range) => {
                    let lines = Lines::new(&doc.text);
                    let mut start = lines.offset(range.start, enc) as usize;
                    let mut end = lines.offset(range.end, enc) as usize;
                    if start > end {
                        log(&format!("a change to {} has its range reversed", doc.uri));
                        std::mem::swap(&mut start, &mut end);
                    }
                    doc.text.replace_range(start..end, &change.text);
                }
            }
        }
        doc.version = p.text_document.version;
        let uri = doc.uri.clone();
        self.mark_dirty(uri);
    }

    fn did_close(&mut self, p: DidCloseTextDocumentParams) {
        let Some(doc) = self.docs.remove(&p.text_document.uri) else {
            return;
        };
        self.dirty.remove(&doc.uri);
        if !self.caps.pull {
            self.notify::<lsp_types::notification::PublishDiagnostics>(PublishDiagnosticsParams {
                uri: doc.uri.clone(),
                diagnostics: Vec::new(),
                version: None,
            });
        }
        if let Some(i) = doc.project
            && let Some(ws) = self.projects[i].ws.as_mut()
        {
            // Back to the file on disk (the buffer may have been closed without saving).
            ws.close_document(&doc.path);
            self.flush();
            self.relint(i, &[]);
        }
    }

    fn watched_files(&mut self, p: DidChangeWatchedFilesParams) {
        self.flush();
        let mut config_changed = false;
        let mut touched: BTreeSet<usize> = BTreeSet::new();
        for change in p.changes {
            let Some(path) = file_path(&change.uri) else {
                continue;
            };
            if session::is_config_file(&path) {
                config_changed = true;
                continue;
            }
            let source = discovery::is_python(&path)
                || discovery::is_rust(&path)
                || discovery::is_sql_migration(&path);
            if !source || self.docs.values().any(|d| d.path == path) {
                // Not a source, or open: the editor's buffer is what counts.
                continue;
            }
            for (i, project) in self.projects.iter_mut().enumerate() {
                let Some(ws) = project.ws.as_mut() else {
                    continue;
                };
                if !project.settings.root.as_os_str().is_empty()
                    && !path.starts_with(&project.settings.root)
                {
                    continue;
                }
                let known = ws.file_id(&path).is_some();
                match change.typ {
                    FileChangeType::DELETED if known => {
                        // The index cannot forget a file: load the project again.
                        project.ws = None;
                        touched.insert(i);
                    }
                    FileChangeType::CREATED | FileChangeType::CHANGED
                        if known || !project.settings.is_excluded(&path) =>
                    {
                        ws.refresh(&path);
                        touched.insert(i);
                    }
                    _ => {}
                }
            }
        }
        if config_changed {
            self.reload_config();
        }
        for i in touched {
            self.relint(i, &[]);
        }
    }

    // ---- projects -------------------------------------------------------------------------

    fn add_folder(&mut self, folder: PathBuf) {
        if self.projects.iter().any(|p| p.folder && p.start == folder) {
            return;
        }
        match Project::new(folder.clone(), true) {
            Ok(p) => self.projects.push(p),
            Err(e) => self.show_error(format!(
                "tenantlint: {e} (workspace folder {})",
                folder.display()
            )),
        }
    }

    fn remove_folder(&mut self, folder: &Path) {
        if let Some(i) = self
            .projects
            .iter()
            .position(|p| p.folder && p.start == folder)
        {
            self.projects.remove(i);
            for d in self.docs.values_mut() {
                d.project = None;
            }
        }
    }

    /// The project of a document: the deepest project root holding it, else a new project found
    /// from the file's directory. `None` when that project's config is broken.
    fn project_for(&mut self, path: &Path) -> Option<usize> {
        let best = self
            .projects
            .iter()
            .enumerate()
            .filter(|(_, p)| p.contains(path))
            .max_by_key(|(_, p)| p.root().components().count())
            .map(|(i, _)| i);
        if best.is_some() {
            return best;
        }
        let dir = path.parent()?.to_path_buf();
        match Project::new(dir, false) {
            Ok(p) => {
                if let Some(i) = self.projects.iter().position(|q| q.root() == p.root()) {
                    return Some(i);
                }
                self.projects.push(p);
                Some(self.projects.len() - 1)
            }
            Err(e) => {
                self.show_error(format!("tenantlint: {e}"));
                None
            }
        }
    }

    /// Assign every open document to its project again (folders or configs changed) and lint.
    fn reassign_documents(&mut self) {
        let uris: Vec<Url> = self.docs.keys().cloned().collect();
        for uri in &uris {
            let path = self.docs[uri].path.clone();
            let project = self.project_for(&path);
            if let Some(doc) = self.docs.get_mut(uri) {
                doc.project = project;
            }
        }
        // Projects no document or folder uses any more are dropped.
        let used: BTreeSet<usize> = self.docs.values().filter_map(|d| d.project).collect();
        let keep: Vec<bool> = (0..self.projects.len())
            .map(|i| self.projects[i].folder || used.contains(&i))
            .collect();
        let mut new_index = Vec::with_capacity(keep.len());
        let mut n = 0;
        for k in &keep {
            new_index.push(n);
            if *k {
                n += 1;
            }
        }
        let mut i = 0;
        self.projects.retain(|_| {
            let k = keep[i];
            i += 1;
            k
        });
        for d in self.docs.values_mut() {
            d.project = d.project.map(|p| new_index[p]);
        }
        for uri in uris {
            self.dirty.insert(uri);
        }
        self.first_dirty.get_or_insert_with(Instant::now);
        self.flush();
    }

    /// A config file changed: every project's settings are found again. A broken config keeps
    /// the project's last good settings (and says so); a good one reloads the project.
    fn reload_config(&mut self) {
        let mut i = 0;
        while i < self.projects.len() {
            let start = self.projects[i].start.clone();
            match session::load_settings(&start) {
                Ok(settings) => {
                    let folder = self.projects[i].folder;
                    self.projects[i] = Project {
                        start,
                        folder,
                        settings: std::sync::Arc::new(settings),
                        ws: None,
                        selections: None,
                    };
                }
                Err(e) => {
                    self.show_error(format!("tenantlint: {e}; keeping the last good settings"))
                }
            }
            i += 1;
        }
        self.reassign_documents();
    }

    // ---- linting --------------------------------------------------------------------------

    fn mark_dirty(&mut self, uri: Url) {
        let now = Instant::now();
        self.dirty.insert(uri);
        self.first_dirty.get_or_insert(now);
        self.last_dirty = Some(now);
    }

    /// Process pending edits: give each edited document's latest text to its workspace, then
    /// lint the open documents of the projects concerned and publish what changed.
    fn flush(&mut self) {
        self.first_dirty = None;
        self.last_dirty = None;
        if self.dirty.is_empty() {
            return;
        }
        let dirty = std::mem::take(&mut self.dirty);
        let mut by_project: HashMap<usize, Vec<Url>> = HashMap::default();
        for uri in dirty {
            let Some(doc) = self.docs.get(&uri) else {
                continue;
            };
            let Some(i) = doc.project else {
                // No project (a broken config): nothing to show.
                continue;
            };
            let (path, text) = (doc.path.clone(), doc.text.clone());
            let project = &mut self.projects[i];
            // (A project not loaded yet reads every open document when it loads.)
            if let Some(ws) = project.ws.as_mut() {
                ws.set_document(path, Ok(text));
            }
            by_project.entry(i).or_default().push(uri);
        }
        for (i, edited) in by_project {
            self.relint(i, &edited);
        }
    }

    fn ensure_loaded(&mut self, i: usize) {
        if self.projects[i].ws.is_some() {
            return;
        }
        let documents: Vec<(PathBuf, String)> = self
            .docs
            .values()
            .filter(|d| d.project == Some(i))
            .map(|d| (d.path.clone(), d.text.clone()))
            .collect();
        let started = Instant::now();
        let use_cache = !self.options.no_cache;
        self.projects[i].load(&documents, use_cache);
        log(&format!(
            "loaded {} ({} files) in {:.0} ms",
            self.projects[i].root().display(),
            self.projects[i].ws.as_ref().map_or(0, |w| w.len()),
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }

    /// Lint every open document of project `i` and publish those whose diagnostics changed.
    /// `edited`: the documents the client just changed (with pull diagnostics the client asks
    /// for those itself; a change elsewhere asks it to refresh).
    fn relint(&mut self, i: usize, edited: &[Url]) {
        if i >= self.projects.len() {
            return;
        }
        self.ensure_loaded(i);
        let enc = self.caps.encoding;
        let project = &self.projects[i];
        let (Some(ws), Some(selections)) = (project.ws.as_ref(), project.selections.as_ref())
        else {
            return;
        };
        let mut uris: Vec<&Url> = self
            .docs
            .values()
            .filter(|d| d.project == Some(i))
            .map(|d| &d.uri)
            .collect();
        uris.sort();
        let targets: Vec<crate::index::FileId> = uris
            .iter()
            .map(|u| &self.docs[*u])
            .filter(|d| !project.settings.is_excluded(&d.path))
            .filter_map(|d| ws.file_id(&d.path))
            .collect();
        let mut by_path: HashMap<PathBuf, Vec<crate::diagnostics::Diagnostic>> = HashMap::default();
        for d in ws.lint(&targets, selections) {
            by_path.entry(d.path.clone()).or_default().push(d);
        }
        let mut others = OtherFiles::new(|p: &Path| ws.sources().read(p).ok());
        let mut updates: Vec<(
            Url,
            Vec<crate::diagnostics::Diagnostic>,
            Vec<lsp_types::Diagnostic>,
        )> = Vec::new();
        for uri in uris {
            let doc = &self.docs[uri];
            let diags = by_path.remove(&doc.path).unwrap_or_default();
            let lines = Lines::new(&doc.text);
            let lsp: Vec<lsp_types::Diagnostic> = diags
                .iter()
                .map(|d| diagnostics::to_lsp(d, &lines, enc, &mut others))
                .collect();
            updates.push((uri.clone(), diags, lsp));
        }
        drop(others);
        let mut refresh = false;
        for (uri, diags, lsp) in updates {
            let Some(doc) = self.docs.get_mut(&uri) else {
                continue;
            };
            doc.diagnostics = diags;
            if doc.published == lsp && doc.result_id != 0 {
                continue;
            }
            doc.published = lsp;
            doc.result_id += 1;
            if self.caps.pull {
                refresh |= !edited.contains(&uri);
            } else {
                let params = PublishDiagnosticsParams {
                    uri: uri.clone(),
                    diagnostics: doc.published.clone(),
                    version: Some(doc.version),
                };
                self.notify::<lsp_types::notification::PublishDiagnostics>(params);
            }
        }
        if refresh && self.caps.refresh {
            self.request::<lsp_types::request::WorkspaceDiagnosticRefresh>(());
        }
    }
}
