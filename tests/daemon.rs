//! The on-save daemon (`src/daemon.rs`): `check --stdin-filename` answered by a daemon that keeps
//! the project loaded gives exactly what a run without it gives, through edits on disk, new
//! files, ignore-file changes and unsaved buffers; and it can be stopped.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

struct Daemon {
    project: tempfile::TempDir,
    runtime: tempfile::TempDir,
}

impl Daemon {
    fn new() -> Daemon {
        let project = tempfile::tempdir().unwrap();
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo"),
            project.path(),
        );
        Daemon {
            project,
            runtime: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> &Path {
        self.project.path()
    }

    fn cmd(&self, mode: &str) -> assert_cmd::Command {
        let mut cmd = tl();
        cmd.current_dir(self.root())
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .env("TENANTLINT_DAEMON", mode)
            .env("TENANTLINT_DAEMON_IDLE", "120");
        cmd
    }

    fn sockets(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.runtime.path().join("tenantlint"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "sock"))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn wait_for_socket(&self) {
        let start = Instant::now();
        while self.sockets().is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the daemon never took its socket"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `check --stdin-filename rel` with `text` on standard input: (stdout, stderr).
    fn on_save(&self, mode: &str, rel: &str, text: &str, extra: &[&str]) -> (String, String) {
        let out = self
            .cmd(mode)
            .args(["check", "-v", "--exit-zero", "--output-format", "json"])
            .args(extra)
            .args(["--stdin-filename", rel])
            .write_stdin(text)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    /// The daemon's answer for `rel` (asserting the daemon gave it) and the answer of a run
    /// without daemon or cache.
    fn both(&self, rel: &str, text: &str) -> (String, String) {
        let (served, err) = self.on_save("1", rel, text, &[]);
        assert!(err.contains("served by the daemon"), "not served: {err}");
        let (alone, err) = self.on_save("0", rel, text, &["--no-cache"]);
        assert!(!err.contains("served by the daemon"), "{err}");
        (served, alone)
    }

    fn disk(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self
            .cmd("1")
            .args(["daemon", "--stop", "--stdin-filename", "billing/views.py"])
            .output();
    }
}

fn codes(json: &str) -> Vec<String> {
    parse_json(json.as_bytes()).iter().map(key).collect()
}

#[test]
fn the_daemon_answers_exactly_as_a_run_without_it_through_edits() {
    let d = Daemon::new();
    // A config file from the start (its edits are followed below).
    let config = format!("{}\n[tool.tenantlint]\n", d.disk("pyproject.toml"));
    write(d.root(), "pyproject.toml", &config);
    let services = "inventory/services.py";
    // The first run is answered in-process and starts the daemon.
    let (first, err) = d.on_save("1", services, &d.disk(services), &[]);
    assert!(!err.contains("served by the daemon"), "{err}");
    d.wait_for_socket();
    let (served, alone) = d.both(services, &d.disk(services));
    assert_eq!(served, alone);
    assert_eq!(served, first);
    assert!(
        !codes(&served).is_empty(),
        "the file has findings: {served}"
    );

    // An editor's atomic save (a temporary file renamed over the source) and its lock file (a
    // dangling symbolic link named like a source) change the directory, not the project: no
    // reload.
    let saved = format!("{}\n# saved\n", d.disk(services));
    write(d.root(), "inventory/.services.py.tmp", &saved);
    std::fs::rename(
        d.root().join("inventory/.services.py.tmp"),
        d.root().join(services),
    )
    .unwrap();
    std::os::unix::fs::symlink("user@host.1234", d.root().join("inventory/.#services.py")).unwrap();
    let (err_free, err) = d.on_save("1", services, &saved, &[]);
    assert!(err.contains("served by the daemon\n"), "{err}");
    assert!(!err.contains("reloaded"), "{err}");
    let (alone, _) = d.on_save("0", services, &saved, &["--no-cache"]);
    assert_eq!(err_free, alone);

    // A model edited on disk (its manager now scopes): the daemon follows.
    let models = d.disk("inventory/models.py");
    let scoped = models.replace(
        "    objects = SupplierQuerySet.as_manager()\n",
        "    objects = TenantAwareManager()\n",
    );
    assert_ne!(scoped, models);
    write(d.root(), "inventory/models.py", &scoped);
    let (after, alone) = d.both(services, &d.disk(services));
    assert_eq!(after, alone);
    assert_ne!(
        codes(&after),
        codes(&served),
        "the edit changes the findings"
    );

    // An unsaved buffer is checked as given; the next run sees the disk again.
    let buffer = format!(
        "{}\n\ndef remember():\n    from django.core.cache import cache\n\n    cache.set(\"everything\", 1)\n",
        d.disk(services)
    );
    let (edited, alone) = d.both(services, &buffer);
    assert_eq!(edited, alone);
    assert!(codes(&edited).len() > codes(&after).len(), "{edited}");
    let (back, alone) = d.both(services, &d.disk(services));
    assert_eq!(back, alone);
    assert_eq!(back, after);

    // A new file in the project, then one hidden by a new `.gitignore`.
    write(
        d.root(),
        "inventory/reports.py",
        "from inventory.models import Supplier\n\n\ndef all_suppliers():\n    return Supplier.objects.filter(active=True)\n",
    );
    let (new_file, alone) = d.both("inventory/reports.py", &d.disk("inventory/reports.py"));
    assert_eq!(new_file, alone);
    // A buffer for a file not on disk yet: checked in-process, and the daemon is left running
    // (not replaced by a new one).
    let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let socket = d.sockets().pop().unwrap();
    let before = inode(&socket);
    let draft =
        "from inventory.models import Supplier\n\n\ndef f():\n    return Supplier.objects.all()\n";
    let (unsaved, err) = d.on_save("1", "inventory/draft.py", draft, &[]);
    assert!(!err.contains("served by the daemon"), "{err}");
    let (alone, _) = d.on_save("0", "inventory/draft.py", draft, &["--no-cache"]);
    assert_eq!(unsaved, alone);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(d.sockets(), vec![socket.clone()]);
    assert_eq!(inode(&socket), before, "the daemon was replaced");
    write(d.root(), "inventory/.gitignore", "models.py\n");
    let (ignored, alone) = d.both(services, &d.disk(services));
    assert_eq!(ignored, alone);
    assert_ne!(ignored, back, "the model file left the project");
    std::fs::remove_file(d.root().join("inventory/.gitignore")).unwrap();
    let (restored, alone) = d.both(services, &d.disk(services));
    assert_eq!(restored, alone);

    // The config file changes what is reported.
    write(
        d.root(),
        "pyproject.toml",
        &config.replace(
            "[tool.tenantlint]",
            "[tool.tenantlint]\nignore = [\"TEN201\"]",
        ),
    );
    let (configured, alone) = d.both(services, &d.disk(services));
    assert_eq!(configured, alone);
    assert!(
        !configured.contains("TEN201"),
        "the config's ignore applies: {configured}"
    );

    // `--fix` on standard input: the fixed source on stdout, as without the daemon.
    let fix = |mode: &str, extra: &[&str]| {
        let out = d
            .cmd(mode)
            .args(["check", "--fix", "--exit-zero", "-q"])
            .args(extra)
            .args(["--stdin-filename", "billing/views.py"])
            .write_stdin(d.disk("billing/views.py"))
            .output()
            .unwrap();
        (out.stdout, out.status.code())
    };
    assert_eq!(fix("1", &[]), fix("0", &["--no-cache"]));

    // Stopped on request: the socket goes away.
    let out = d
        .cmd("1")
        .args(["daemon", "--stop", "--stdin-filename", services])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("daemon stopped"),
        "{out:?}"
    );
    let start = Instant::now();
    while !d.sockets().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "still listening");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn without_the_daemon_nothing_is_started() {
    let d = Daemon::new();
    let rel = "billing/views.py";
    // Off, and `--no-cache`: in-process, no socket.
    let (_, err) = d.on_save("0", rel, &d.disk(rel), &[]);
    assert!(!err.contains("served by the daemon"));
    let (_, err) = d.on_save("1", rel, &d.disk(rel), &["--no-cache"]);
    assert!(!err.contains("served by the daemon"));
    // A daemon started anyway would have taken its socket by now (the other test waits less).
    std::thread::sleep(Duration::from_millis(1500));
    assert!(d.sockets().is_empty(), "{:?}", d.sockets());
}
