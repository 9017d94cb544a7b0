//! The on-save daemon: a project's [`Workspace`] kept warm between `check --stdin-filename` runs.
//!
//! An editor's on-save command checks one file, but tenantlint's answer depends on the whole
//! project (which classes are tenant-owned models, which managers scope), and loading that takes
//! a large project a few hundred milliseconds even from the fact cache. So, as Flow and Pyre do
//! for their cross-file checks, the first slow on-save run of a project starts a daemon in the
//! background; later runs hand their request to it over a Unix socket and print its answer as
//! their own. The daemon runs exactly the code `check` runs ([`check::finish`]) on its resident
//! workspace, after bringing that workspace up to date with the disk:
//!
//! - every project file is `stat`ed; one whose stamp changed (or was recorded within two seconds
//!   of its last change, when the file system's clock may not show a later write) is read and
//!   hashed, and refreshed in the index if its content changed;
//! - every directory the walk went into is `stat`ed; one that changed is listed again, and a
//!   change of its source files, subdirectories, `Cargo.toml` or ignore files reloads the project
//!   (an editor's atomic save, a temporary file renamed over the source, changes nothing);
//! - the ignore files the walk read (`.gitignore`, `.ignore`, `.git/info/exclude`, the global
//!   excludes) and the config file are compared too: a change reloads.
//!
//! The daemon's results are therefore the results of a run without it (the tests compare them,
//! edits included). It listens on a socket in a private directory (`$XDG_RUNTIME_DIR/tenantlint`
//! or `$TMPDIR/tenantlint-<uid>`, mode 0700) named by a hash of the binary, the project root,
//! the config file and the cache directory; it exits after 15 idle minutes
//! (`TENANTLINT_DAEMON_IDLE` seconds), when its binary or project goes away, or when another
//! daemon takes its socket. `TENANTLINT_DAEMON=0` never uses one, `=1` starts one on the first
//! on-save run whatever its speed; `--no-cache` runs without it. It is never started on its own
//! in CI (`CI` set) or by a debug build.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::check::{self, CheckOptions, CheckResult, ConfigSource};

/// Bump when [`Request`] or [`Response`] (or what they carry) changes shape.
const PROTOCOL: u32 = 1;

/// An on-save run slower than this starts a daemon (unless `TENANTLINT_DAEMON` says otherwise).
const SLOW_RUN: Duration = Duration::from_millis(100);

const IDLE: Duration = Duration::from_secs(15 * 60);

/// How long a client waits for the daemon's answer (a reload of a large project included)
/// before it runs the check itself.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Serialize, Deserialize)]
enum Request {
    Check {
        cwd: PathBuf,
        opts: Box<CheckOptions>,
    },
    Stop,
}

#[derive(Serialize, Deserialize)]
enum Response {
    Done(Box<Result<CheckResult, String>>),
    /// The daemon does not answer this one (a file it does not know, another project): the
    /// client runs it in-process.
    Declined,
    Stopping,
}

/// `TENANTLINT_DAEMON`: `0`/`off` never, `1`/`on` on every on-save run, unset: when a run is slow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Off,
    Auto,
    On,
}

pub fn mode() -> Mode {
    match std::env::var("TENANTLINT_DAEMON").as_deref().map(str::trim) {
        Ok("0" | "off" | "false" | "no") => Mode::Off,
        Ok("1" | "on" | "true" | "yes") => Mode::On,
        _ => Mode::Auto,
    }
}

/// Runs the daemon answers: the on-save command (standard input checked as a file of the
/// project, nothing else named), without `--no-cache`, and writing nothing but standard output
/// (no baseline, no `--add-noqa`).
pub fn eligible(opts: &CheckOptions) -> bool {
    opts.stdin.is_some()
        && opts.stdin_filename.is_some()
        && opts.paths.is_empty()
        && !opts.no_cache
        && opts.write_baseline.is_none()
        && opts.add_noqa.is_none()
}

/// `check` for the CLI: through the project's daemon when there is one (starting it after a slow
/// run), else in-process. The result is the same either way.
pub fn run_check(cwd: &Path, opts: &CheckOptions) -> Result<CheckResult, check::CheckError> {
    let mode = mode();
    if mode == Mode::Off || !eligible(opts) {
        return check::run(cwd, opts);
    }
    let Some(socket) = socket_for(cwd, opts) else {
        return check::run(cwd, opts);
    };
    let listening = match ask(&socket, cwd, opts) {
        Asked::Answer(answer) => return (*answer).map_err(check::CheckError::Usage),
        // A daemon that cannot answer this one (a file not on disk yet) keeps running.
        Asked::Declined => true,
        Asked::Nobody => false,
    };
    let started = Instant::now();
    let result = check::run(cwd, opts);
    // Never on its own in CI (nobody saves twice there) or from a debug build (the test
    // suite's).
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    let slow = started.elapsed() >= SLOW_RUN && !ci && !cfg!(debug_assertions);
    if !listening && (mode == Mode::On || slow) {
        spawn(&socket, cwd, opts);
    }
    result
}

/// The daemon's socket for the project this run belongs to (`None`: no private place for it, or
/// not a Unix system).
fn socket_for(cwd: &Path, opts: &CheckOptions) -> Option<PathBuf> {
    let prep = check::prepare(cwd, opts).ok()?;
    let settings = &prep.settings;
    let exe = std::env::current_exe().ok()?;
    let stamp = crate::source_io::Stamp::of_path(&exe)?;
    let cache = crate::engine::cache::cache_dir(&settings.root, settings.cache_dir.as_deref());
    let key = format!(
        "{}\0{PROTOCOL}\0{}\0{}\0{}\0{}\0{:?}\0{}\0{:?}",
        env!("CARGO_PKG_VERSION"),
        exe.display(),
        stamp.len,
        stamp.mtime_ns,
        settings.root.display(),
        settings.config_file,
        cache.display(),
        std::env::var_os("TENANTLINT_RUST_FULL_PARSE"),
    );
    let hash = xxhash_rust::xxh3::xxh3_128(key.as_bytes());
    Some(private_dir()?.join(format!("{hash:032x}.sock")))
}

#[cfg(unix)]
fn private_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("tenantlint"),
        None => std::env::temp_dir().join(format!("tenantlint-{uid}")),
    };
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    // Only a directory of our own that nobody else can enter.
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0).then_some(dir)
}

#[cfg(not(unix))]
fn private_dir() -> Option<PathBuf> {
    None
}

fn write_frame(w: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(&(bytes.len() as u64).to_le_bytes())?;
    w.write_all(bytes)?;
    w.flush()
}

fn read_frame(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len > 1 << 32 {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

fn encode<T: Serialize>(value: &T) -> Option<Vec<u8>> {
    let mut out = PROTOCOL.to_le_bytes().to_vec();
    out.extend(postcard::to_stdvec(value).ok()?);
    Some(out)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let (version, rest) = bytes.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*version) != PROTOCOL {
        return None;
    }
    postcard::from_bytes(rest).ok()
}

enum Asked {
    Answer(Box<Result<CheckResult, String>>),
    /// A daemon is there but does not answer this run.
    Declined,
    /// No daemon (or none that could be reached or understood).
    Nobody,
}

/// Ask the daemon at `socket`.
#[cfg(unix)]
fn ask(socket: &Path, cwd: &Path, opts: &CheckOptions) -> Asked {
    let request = Request::Check {
        cwd: cwd.to_path_buf(),
        opts: Box::new(opts.clone()),
    };
    match exchange(socket, &request) {
        Some(Response::Done(result)) => Asked::Answer(result),
        Some(Response::Declined) => Asked::Declined,
        Some(Response::Stopping) | None => Asked::Nobody,
    }
}

#[cfg(not(unix))]
fn ask(_: &Path, _: &Path, _: &CheckOptions) -> Asked {
    Asked::Nobody
}

#[cfg(unix)]
fn exchange(socket: &Path, request: &Request) -> Option<Response> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(ANSWER_TIMEOUT)).ok()?;
    write_frame(&mut stream, &encode(request)?).ok()?;
    decode(&read_frame(&mut stream).ok()?)
}

/// Start the project's daemon in the background (its own process group, no standard streams):
/// it loads the project and then takes over the socket.
#[cfg(unix)]
fn spawn(socket: &Path, cwd: &Path, opts: &CheckOptions) {
    use std::os::unix::process::CommandExt;
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("daemon")
        .arg("--socket")
        .arg(socket)
        .arg("--cwd")
        .arg(cwd);
    if let Some(f) = &opts.stdin_filename {
        cmd.arg("--stdin-filename").arg(f);
    }
    match &opts.config {
        ConfigSource::Discover => {}
        ConfigSource::File(p) => {
            cmd.arg("--config").arg(p);
        }
        ConfigSource::Isolated => {
            cmd.arg("--isolated");
        }
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0);
    let _ = cmd.spawn();
}

#[cfg(not(unix))]
fn spawn(_: &Path, _: &Path, _: &CheckOptions) {}

/// Ask the daemon of the project `opts` belong to to stop; whether one answered.
pub fn stop(cwd: &Path, opts: &CheckOptions) -> bool {
    let Some(socket) = socket_for(cwd, opts) else {
        return false;
    };
    #[cfg(unix)]
    {
        matches!(exchange(&socket, &Request::Stop), Some(Response::Stopping))
    }
    #[cfg(not(unix))]
    {
        let _ = socket;
        false
    }
}

/// The options a daemon started for `cwd`, `stdin_filename` and `config` resolves its settings
/// with (those of the on-save run that started it).
pub fn start_options(stdin_filename: Option<PathBuf>, config: ConfigSource) -> CheckOptions {
    CheckOptions {
        stdin: Some(String::new()),
        stdin_filename,
        config,
        ..Default::default()
    }
}

#[cfg(unix)]
pub use server::serve;

#[cfg(unix)]
mod server {
    use super::*;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use rayon::prelude::*;

    use crate::config::Settings;
    use crate::engine::Workspace;
    use crate::engine::cache::{self, FactCache};
    use crate::engine::source::Sources;
    use crate::frontend::Language;
    use crate::source_io::Stamp;

    /// A stamp, and whether it was old enough when taken to be trusted (see [`Stamp::settled`]).
    #[derive(Clone, Copy, PartialEq)]
    struct Seen {
        stamp: Option<Stamp>,
        settled: bool,
    }

    impl Seen {
        fn of(path: &Path) -> Seen {
            let stamp = std::fs::metadata(path).ok().map(|m| Stamp::of(&m));
            Seen {
                stamp,
                settled: stamp.is_none_or(|s| s.settled(SystemTime::now())),
            }
        }
    }

    /// A directory the walk went into: its stamp and a hash of the names in it that can change
    /// the project's files.
    struct Dir {
        path: PathBuf,
        seen: Seen,
        listing: u64,
    }

    /// What of a directory's listing matters: subdirectories, sources, manifests, ignore files.
    fn listing(dir: &Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        let mut names: Vec<(std::ffi::OsString, bool)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                // As the walk sees them: symbolic links are neither followed nor listed (an
                // editor's lock file `.#views.py` is one).
                let kind = e.file_type().ok()?;
                let is_dir = kind.is_dir();
                let name = e.file_name();
                let path = Path::new(&name);
                let relevant = is_dir
                    || (kind.is_file()
                        && (crate::discovery::is_python(path)
                            || path.extension().is_some_and(|x| x == "rs" || x == "sql")
                            || matches!(
                                name.to_str(),
                                Some("Cargo.toml" | ".gitignore" | ".ignore")
                            )));
                relevant.then_some((name, is_dir))
            })
            .collect();
        names.sort_unstable();
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for (name, is_dir) in &names {
            h.update(name.as_encoded_bytes());
            h.update(&[0, *is_dir as u8]);
        }
        h.digest()
    }

    /// The ignore files a walk from `root` may read besides those in the walked directories.
    fn outer_ignore_files(root: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for dir in root.ancestors() {
            // Not `.git` itself: git touches it on every `git status`.
            for name in [".gitignore", ".ignore", ".git/info/exclude"] {
                out.push(dir.join(name));
            }
        }
        if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
            out.push(PathBuf::from(xdg).join("git/ignore"));
        }
        if let Some(home) = std::env::var_os("HOME").filter(|x| !x.is_empty()) {
            let home = PathBuf::from(home);
            out.push(home.join(".config/git/ignore"));
            out.push(home.join(".gitconfig"));
        }
        out
    }

    /// The project as the daemon holds it.
    struct Resident {
        config_hash: Option<u64>,
        ws: Workspace,
        /// How each of the workspace's files looked when last read (by [`crate::index::FileId`]).
        seen: Vec<Seen>,
        dirs: Vec<Dir>,
        /// The ignore files outside the walked directories (absent ones too: one that appears
        /// shows as a new stamp) and those in them (present ones: a new one shows in its
        /// directory's listing).
        ignore_files: Vec<(PathBuf, Seen)>,
    }

    fn config_hash(settings: &Settings) -> Option<u64> {
        let file = settings.config_file.as_ref()?;
        Some(xxhash_rust::xxh3::xxh3_64(
            &std::fs::read(file).unwrap_or_default(),
        ))
    }

    impl Resident {
        fn load(settings: Arc<Settings>) -> Resident {
            let config_hash = config_hash(&settings);
            let dirs = std::sync::Mutex::new(Vec::new());
            // Each directory is stamped and listed before the walk reads it: an entry added
            // later shows in the stamp.
            let files = crate::discovery::discover_watching_dirs(&settings, &|d: &Path| {
                let seen = Seen::of(d);
                let listing = listing(d);
                if let Ok(mut dirs) = dirs.lock() {
                    dirs.push(Dir {
                        path: d.to_path_buf(),
                        seen,
                        listing,
                    });
                }
            });
            let dirs = dirs.into_inner().unwrap_or_default();
            let seen_at = |p: PathBuf| {
                let s = Seen::of(&p);
                (p, s)
            };
            let mut ignore_files: Vec<(PathBuf, Seen)> = outer_ignore_files(&settings.root)
                .into_iter()
                .map(seen_at)
                .collect();
            ignore_files.extend(
                dirs.iter()
                    .flat_map(|d| [d.path.join(".gitignore"), d.path.join(".ignore")])
                    .map(seen_at)
                    .filter(|(_, s)| s.stamp.is_some()),
            );
            // Stamped before they are read: a write during the load shows as a change.
            let seen: Vec<Seen> = files.par_iter().map(|p| Seen::of(p)).collect();
            let cache = FactCache::open(cache::cache_dir(
                &settings.root,
                settings.cache_dir.as_deref(),
            ));
            let mut ws = Workspace::load(settings, files, Sources::default(), Some(cache));
            ws.detach_cache();
            Resident {
                config_hash,
                ws,
                seen,
                dirs,
                ignore_files,
            }
        }

        /// Bring the workspace up to date with the disk; `false` when only a reload can.
        fn sync(&mut self) -> bool {
            let now = SystemTime::now();
            // The ignore files decide which files are the project's.
            let ignores_same = self
                .ignore_files
                .iter()
                .all(|(p, s)| s.settled && Seen::of(p).stamp == s.stamp);
            if !ignores_same {
                return false;
            }
            let dirs_same = self.dirs.par_iter_mut().all(|d| {
                let now_seen = Seen::of(&d.path);
                if now_seen.stamp == d.seen.stamp && d.seen.settled {
                    return true;
                }
                if now_seen.stamp.is_none() || listing(&d.path) != d.listing {
                    return false;
                }
                d.seen = Seen {
                    stamp: now_seen.stamp,
                    settled: now_seen.stamp.is_none_or(|s| s.settled(now)),
                };
                true
            });
            if !dirs_same {
                return false;
            }
            #[derive(PartialEq)]
            enum Now {
                Same,
                Changed(crate::index::FileId),
                Gone,
            }
            let ws = &self.ws;
            let states: Vec<Now> = self
                .seen
                .par_iter_mut()
                .enumerate()
                .map(|(i, seen)| {
                    let id = i as crate::index::FileId;
                    let path = ws.path(id);
                    let now_seen = Seen::of(path);
                    if now_seen.stamp == seen.stamp && seen.settled {
                        return Now::Same;
                    }
                    if now_seen.stamp.is_none() {
                        return Now::Gone;
                    }
                    *seen = now_seen;
                    // Unreadable now: the refresh records why (TEN901), as a fresh load would.
                    let key = std::fs::read(path)
                        .ok()
                        .map(|text| cache::content_key(Language::of(path), &text));
                    if key.is_some() && ws.content_key(id) == key {
                        Now::Same
                    } else {
                        Now::Changed(id)
                    }
                })
                .collect();
            // A file deleted (or replaced by something else): the walk decides again.
            if states.contains(&Now::Gone) {
                return false;
            }
            let changed: Vec<crate::index::FileId> = states
                .into_iter()
                .filter_map(|s| match s {
                    Now::Changed(id) => Some(id),
                    _ => None,
                })
                .collect();
            // Many files changed (a branch switch): a load from the fact cache is cheaper.
            if changed.len() > 200 {
                return false;
            }
            for id in changed {
                let path = self.ws.path(id).to_path_buf();
                self.ws.refresh(&path);
            }
            true
        }
    }

    /// Serve `socket` for the project the options resolve to, until idle, replaced or stopped.
    pub fn serve(socket: PathBuf, cwd: PathBuf, opts: CheckOptions) -> Result<(), String> {
        let prep = check::prepare(&cwd, &opts).map_err(|e| e.to_string())?;
        let mut resident = Resident::load(prep.settings.clone());
        drop(prep);
        // Bound under a temporary name and renamed into place: a client finds a daemon that is
        // ready, or none.
        let tmp = socket.with_extension(format!("sock.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let listener = UnixListener::bind(&tmp).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &socket).map_err(|e| e.to_string())?;
        let ino = std::fs::symlink_metadata(&socket)
            .map_err(|e| e.to_string())?
            .ino();
        let idle = std::env::var("TENANTLINT_DAEMON_IDLE")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map_or(IDLE, Duration::from_secs);
        let started = Instant::now();
        let last = Arc::new(AtomicU64::new(0));
        let busy = Arc::new(AtomicBool::new(false));
        let exe = std::env::current_exe().ok();
        let exe_stamp = exe.as_deref().and_then(Stamp::of_path);
        let root = resident.ws.settings().root.clone();
        {
            let (last, busy, socket) = (last.clone(), busy.clone(), socket.clone());
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(500));
                    if busy.load(Ordering::SeqCst) {
                        continue;
                    }
                    let since = started
                        .elapsed()
                        .saturating_sub(Duration::from_millis(last.load(Ordering::SeqCst)));
                    let ours = std::fs::symlink_metadata(&socket).is_ok_and(|m| m.ino() == ino);
                    let exe_same = exe.as_deref().and_then(Stamp::of_path) == exe_stamp;
                    if since >= idle || !ours || !exe_same || !root.is_dir() {
                        if ours {
                            let _ = std::fs::remove_file(&socket);
                        }
                        std::process::exit(0);
                    }
                }
            });
        }
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            busy.store(true, Ordering::SeqCst);
            let stop = handle(&mut stream, &mut resident);
            last.store(started.elapsed().as_millis() as u64, Ordering::SeqCst);
            busy.store(false, Ordering::SeqCst);
            if stop {
                break;
            }
        }
        if std::fs::symlink_metadata(&socket).is_ok_and(|m| m.ino() == ino) {
            let _ = std::fs::remove_file(&socket);
        }
        Ok(())
    }

    /// Answer one connection; whether the daemon should stop.
    fn handle(stream: &mut UnixStream, resident: &mut Resident) -> bool {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let Ok(frame) = read_frame(stream) else {
            return false;
        };
        let (response, stop) = match decode::<Request>(&frame) {
            Some(Request::Stop) => (Response::Stopping, true),
            Some(Request::Check { cwd, opts }) => (answer(resident, &cwd, &opts), false),
            None => (Response::Declined, false),
        };
        if let Some(bytes) = encode(&response) {
            let _ = write_frame(stream, &bytes);
        }
        stop
    }

    fn answer(resident: &mut Resident, cwd: &Path, opts: &CheckOptions) -> Response {
        if !eligible(opts) {
            return Response::Declined;
        }
        let prep = match check::prepare(cwd, opts) {
            Ok(p) => p,
            Err(e) => return Response::Done(Box::new(Err(e.to_string()))),
        };
        let held = resident.ws.settings();
        if prep.settings.root != held.root || prep.settings.config_file != held.config_file {
            // Another project (its config moved since the client asked).
            return Response::Declined;
        }
        let reloaded = if config_hash(&prep.settings) != resident.config_hash || !resident.sync() {
            *resident = Resident::load(prep.settings.clone());
            true
        } else {
            false
        };
        prep.lap(if reloaded {
            "daemon: reload"
        } else {
            "daemon: sync"
        });
        let Some(stdin_path) = prep.stdin_path.clone() else {
            return Response::Declined;
        };
        if resident.ws.file_id(&stdin_path).is_none() {
            // A file the project does not hold yet (unsaved, or excluded).
            return Response::Declined;
        }
        let report_files = if prep.stdin_excluded(opts) {
            Vec::new()
        } else {
            vec![stdin_path.clone()]
        };
        if let Some(doc) = check::stdin_document(opts) {
            resident.ws.set_document(stdin_path.clone(), doc);
        }
        let result = check::finish(cwd, opts, &prep, &mut resident.ws, report_files, Vec::new());
        // Back to the disk's text for the next run.
        for path in resident.ws.sources().documents() {
            resident.ws.close_document(&path);
        }
        Response::Done(Box::new(result.map_err(|e| e.to_string()).map(|mut r| {
            if let Some(v) = &mut r.verbose {
                v.push_str(if reloaded {
                    "served by the daemon (project reloaded)\n"
                } else {
                    "served by the daemon\n"
                });
            }
            r
        })))
    }
}
