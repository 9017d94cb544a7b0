//! The command line: `check`, `rule`, `server`, `init`, `--version`. Exit codes: 0 clean, 1 diagnostics remain (or
//! `--diff` would change something), 2 usage, configuration or internal error.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::check::{self, CheckOptions, CheckResult, ConfigSource, FixMode};
use crate::registry::{FixAvailability, Rule};
use crate::report::{self, OutputFormat, Report};

#[derive(Parser, Debug)]
#[command(
    name = "tenantlint",
    version,
    about = "Find and fix tenant-isolation bugs in multi-tenant Django projects"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check files (default: the current directory); `-` reads standard input.
    Check(Box<CheckArgs>),
    /// Explain a rule, or all of them.
    Rule(RuleArgs),
    /// Run the language server over standard input and output (diagnostics, code actions, fix-all).
    Server(ServerArgs),
    /// Infer a config for this project and write it to `tenantlint.toml` at the project root.
    Init(InitArgs),
    /// The on-save daemon that `check --stdin-filename` starts for a large project (see the
    /// README): `--stop` stops the current project's.
    Daemon(DaemonArgs),
}

#[derive(Args, Debug)]
pub struct DaemonArgs {
    /// Stop the daemon of the project of the current directory (or of `--stdin-filename`).
    #[arg(long)]
    pub stop: bool,
    /// The file whose project's daemon is meant (as given to `check --stdin-filename`).
    #[arg(long)]
    pub stdin_filename: Option<PathBuf>,
    /// The config file the on-save runs are given (`check --config`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The project of on-save runs given `check --isolated`.
    #[arg(long)]
    pub isolated: bool,
    /// Serve this socket (how `check` starts the daemon).
    #[arg(long, hide = true)]
    pub socket: Option<PathBuf>,
    #[arg(long, hide = true)]
    pub cwd: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Write `tenantlint.toml` even when a config exists (an existing `tenantlint.toml` is
    /// overwritten).
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Do not read or write the fact cache.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Files or directories to check; `-` for standard input.
    pub paths: Vec<PathBuf>,
    /// Apply safe fixes, write files, report what remains.
    #[arg(long)]
    pub fix: bool,
    /// With --fix: apply unsafe fixes too; without: show them as available.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print the fixes as a unified diff; write nothing.
    #[arg(long)]
    pub diff: bool,
    /// List what --fix changed, per file.
    #[arg(long)]
    pub show_fixes: bool,
    /// Rules to enable: comma-separated codes or prefixes (TEN, TEN3, TEN301).
    #[arg(long, value_delimiter = ',', value_parser = crate::registry::parse_selector)]
    pub select: Option<Vec<String>>,
    /// Rules to enable on top of the selection.
    #[arg(long, value_delimiter = ',', value_parser = crate::registry::parse_selector)]
    pub extend_select: Vec<String>,
    /// Rules to disable.
    #[arg(long, value_delimiter = ',', value_parser = crate::registry::parse_selector)]
    pub ignore: Vec<String>,
    /// Output format (default: full on a terminal, concise otherwise).
    #[arg(long, value_enum)]
    pub output_format: Option<OutputFormat>,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub output_file: Option<PathBuf>,
    /// One line per rule: count, code, name, how many are fixable.
    #[arg(long)]
    pub statistics: bool,
    /// Exit 0 even when diagnostics remain.
    #[arg(long)]
    pub exit_zero: bool,
    /// Use this config file (no discovery).
    #[arg(long, conflicts_with = "isolated")]
    pub config: Option<PathBuf>,
    /// Ignore all config files.
    #[arg(long)]
    pub isolated: bool,
    /// Read the source from standard input and check it as this file.
    #[arg(long)]
    pub stdin_filename: Option<PathBuf>,
    /// Apply `exclude` even to paths named on the command line.
    #[arg(long)]
    pub force_exclude: bool,
    /// Do not read or write the fact cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Report only findings not recorded in this baseline file (overrides the config's `baseline`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record today's findings in this baseline file (the files checked; entries for other files
    /// are kept) and report none of them.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["baseline", "fix", "diff"])]
    pub write_baseline: Option<PathBuf>,
    /// Append `# noqa: CODE` where each remaining finding is suppressed (merging with an existing
    /// `# noqa: ...`); `--add-noqa=REASON` adds `  # REASON` after a new directive.
    #[arg(
        long,
        value_name = "REASON",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        conflicts_with_all = ["fix", "diff", "write_baseline", "stdin_filename"]
    )]
    pub add_noqa: Option<String>,
    /// Print the resolved settings, where each value came from, the project root and the
    /// settings modules found; check nothing.
    #[arg(long, conflicts_with = "show_files")]
    pub show_settings: bool,
    /// Print the files that would be checked, one per line; check nothing.
    #[arg(long)]
    pub show_files: bool,
    /// Print a summary of the project index (files, models, tenant-owned models, scoped
    /// managers, tenant cache) and the time per phase on standard error.
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print only diagnostics.
    #[arg(short, long)]
    pub quiet: bool,
    /// When to use colour; NO_COLOR is honoured with `auto`.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
}

#[derive(Args, Debug)]
pub struct RuleArgs {
    /// The rule code, e.g. TEN101.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub code: Option<String>,
    /// Explain every rule.
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub output_format: RuleFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RuleFormat {
    Text,
    Json,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let outcome = match cli.command {
        Command::Check(args) => run_check(*args),
        Command::Rule(args) => run_rule(args),
        Command::Server(args) => run_server(args),
        Command::Init(args) => run_init(args),
        Command::Daemon(args) => run_daemon(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        // `tenantlint check | head`: the reader has what it wanted; end quietly, as ruff does.
        Err(msg) if msg == CLOSED_PIPE => ExitCode::from(0),
        Err(msg) => {
            let _ = writeln!(io::stderr(), "tenantlint: error: {msg}");
            ExitCode::from(2)
        }
    }
}

/// `--config PATH` / `--isolated` / neither.
fn config_source(config: Option<PathBuf>, isolated: bool) -> ConfigSource {
    match (config, isolated) {
        (Some(p), _) => ConfigSource::File(p),
        (None, true) => ConfigSource::Isolated,
        (None, false) => ConfigSource::Discover,
    }
}

fn run_daemon(args: DaemonArgs) -> Result<u8, String> {
    let cwd = match args.cwd {
        Some(c) => c,
        None => std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?,
    };
    let config = config_source(args.config, args.isolated);
    let opts = crate::daemon::start_options(args.stdin_filename, config);
    if let Some(socket) = args.socket {
        #[cfg(unix)]
        {
            crate::daemon::serve(socket, cwd, opts)?;
            return Ok(0);
        }
        #[cfg(not(unix))]
        {
            let _ = socket;
            return Err("the daemon needs a Unix system".into());
        }
    }
    if args.stop {
        let stopped = crate::daemon::stop(&cwd, &opts);
        let mut err = io::stderr().lock();
        let _ = writeln!(
            err,
            "{}",
            if stopped {
                "tenantlint: daemon stopped"
            } else {
                "tenantlint: no daemon running for this project"
            }
        );
        return Ok(0);
    }
    Err("nothing to do: `tenantlint daemon --stop` stops this project's daemon".into())
}

/// Exit 0 after `shutdown` then `exit`, 1 after an `exit` without `shutdown` (as the protocol
/// says) or when the client went away.
fn run_server(args: ServerArgs) -> Result<u8, String> {
    let clean = crate::server::run_stdio(crate::server::ServerOptions {
        no_cache: args.no_cache,
    })?;
    Ok(if clean { 0 } else { 1 })
}

/// `tenantlint init`: what it inferred on stdout, problems on stderr.
fn run_init(args: InitArgs) -> Result<u8, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let (code, out, err) = crate::init::run(&cwd, args.force);
    let _ = io::stderr().write_all(err.as_bytes());
    let mut stdout = io::stdout().lock();
    stdout.write_all(out.as_bytes()).map_err(io_err)?;
    stdout.flush().map_err(io_err)?;
    Ok(code)
}

/// The error of a write to a closed pipe (standard output read by `head`, a pager that quit).
const CLOSED_PIPE: &str = "\0closed pipe";

/// An output error as a message; a closed pipe becomes [`CLOSED_PIPE`].
fn io_err<E: Into<OutputError>>(e: E) -> String {
    match e.into() {
        OutputError(Some(io::ErrorKind::BrokenPipe), _) => CLOSED_PIPE.to_string(),
        OutputError(_, msg) => format!("cannot write the output: {msg}"),
    }
}

/// An output error (io or serde_json): its kind and message.
struct OutputError(Option<io::ErrorKind>, String);

impl From<io::Error> for OutputError {
    fn from(e: io::Error) -> Self {
        OutputError(Some(e.kind()), e.to_string())
    }
}

impl From<serde_json::Error> for OutputError {
    fn from(e: serde_json::Error) -> Self {
        OutputError(e.io_error_kind(), e.to_string())
    }
}

fn run_rule(args: RuleArgs) -> Result<u8, String> {
    let rules: Vec<Rule> =
        if args.all {
            Rule::all().to_vec()
        } else {
            let code = args.code.unwrap_or_default();
            vec![Rule::from_code(&code).ok_or_else(|| {
                format!("unknown rule `{code}`; `tenantlint rule --all` lists them")
            })?]
        };
    let mut out = io::stdout().lock();
    match args.output_format {
        RuleFormat::Text => {
            for (i, r) in rules.iter().enumerate() {
                if i > 0 {
                    writeln!(out).map_err(io_err)?;
                }
                write!(out, "{}", r.doc()).map_err(io_err)?;
            }
        }
        RuleFormat::Json => {
            let values: Vec<serde_json::Value> = rules.iter().map(|r| rule_json(*r)).collect();
            let v = if args.all {
                serde_json::Value::Array(values)
            } else {
                values.into_iter().next().unwrap_or_default()
            };
            serde_json::to_writer_pretty(&mut out, &v).map_err(io_err)?;
            writeln!(out).map_err(io_err)?;
        }
    }
    Ok(0)
}

pub fn rule_json(r: Rule) -> serde_json::Value {
    serde_json::json!({
        "code": r.code(),
        "name": r.name(),
        "summary": r.summary(),
        "explanation": r.doc(),
        "fix_availability": match r.fix_availability() {
            FixAvailability::Sometimes => "sometimes",
            FixAvailability::None => "none",
        },
    })
}

/// Whether the report is coloured. `always`/`never` win over the environment. Under `auto`:
/// never into a file (`--output-file`) or when stdout carries fixed source (editor on-save);
/// else never with `NO_COLOR`; always with `FORCE_COLOR` (as ruff) or `CLICOLOR_FORCE`, even
/// into a pipe; else as [`anstream`] decides for stdout (a terminal, not `TERM=dumb`, not
/// `CLICOLOR=0`).
pub fn use_color(color: Color, to_stdout: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto if !to_stdout || anstyle_query_no_color() => false,
        Color::Auto if set("FORCE_COLOR") || set("CLICOLOR_FORCE") => true,
        Color::Auto => anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never,
    }
}

/// `NO_COLOR` set to anything but the empty string (no-color.org).
fn anstyle_query_no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn run_check(args: CheckArgs) -> Result<u8, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let read_stdin =
        args.stdin_filename.is_some() || args.paths.iter().any(|p| p == Path::new("-"));
    // Input that is not UTF-8 is a TEN901 diagnostic for the stdin file, as it is on disk; with
    // `--fix` it is echoed back byte for byte.
    let mut stdin_raw: Option<Vec<u8>> = None;
    let mut stdin_error: Option<String> = None;
    let stdin = if read_stdin {
        let mut buf = Vec::new();
        io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        match crate::engine::source::decode(&buf) {
            Ok(s) => Some(s.to_string()),
            Err(msg) => {
                stdin_error = Some(msg);
                stdin_raw = Some(buf);
                Some(String::new())
            }
        }
    } else {
        None
    };
    let opts = CheckOptions {
        paths: args
            .paths
            .iter()
            .filter(|p| *p != Path::new("-"))
            .cloned()
            .collect(),
        stdin: stdin.clone(),
        stdin_error,
        stdin_filename: args.stdin_filename.clone(),
        config: config_source(args.config.clone(), args.isolated),
        force_exclude: args.force_exclude,
        select: args.select.clone(),
        extend_select: args.extend_select.clone(),
        ignore: args.ignore.clone(),
        fix: if args.diff {
            FixMode::Diff
        } else if args.fix {
            FixMode::Apply
        } else {
            FixMode::None
        },
        unsafe_fixes: args.unsafe_fixes,
        no_cache: args.no_cache,
        resolve_fixes: matches!(
            args.output_format,
            Some(OutputFormat::Json | OutputFormat::JsonLines | OutputFormat::Sarif)
        ),
        baseline: args.baseline.as_ref().map(|p| cwd.join(p)),
        write_baseline: args.write_baseline.as_ref().map(|p| cwd.join(p)),
        add_noqa: args
            .add_noqa
            .as_ref()
            .map(|r| Some(r.clone()).filter(|r| !r.trim().is_empty())),
        verbose: args.verbose,
    };
    if args.show_settings || args.show_files {
        let (settings, files) =
            check::settings_and_files(&cwd, &opts).map_err(|e| e.to_string())?;
        let text = if args.show_settings {
            // Settings modules anywhere in the project (the index always covers all of it).
            let project =
                crate::discovery::discover(&settings, std::slice::from_ref(&settings.root), false)
                    .0;
            crate::show::show_settings(
                &settings,
                &crate::show::CliSelection {
                    select: args.select.as_deref(),
                    extend_select: &args.extend_select,
                    ignore: &args.ignore,
                },
                &project,
                &cwd,
            )
        } else {
            files
                .iter()
                .map(|f| format!("{}\n", report::display_path(f, &cwd)))
                .collect()
        };
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes()).map_err(io_err)?;
        out.flush().map_err(io_err)?;
        return Ok(0);
    }
    let result = crate::daemon::run_check(&cwd, &opts).map_err(|e| e.to_string())?;
    let stdin_path = result.stdin_path.clone();
    let stdin_pair = match (&stdin_path, &stdin) {
        (Some(p), Some(t)) => Some((p.as_path(), t.as_str())),
        _ => None,
    };

    // Editor on-save: the fixed source on stdout, everything else on stderr.
    let editor_fix = opts.fix == FixMode::Apply && stdin.is_some();
    let stdout_is_tty = io::stdout().is_terminal();
    let to_file = args.output_file.is_some();
    let format = args
        .output_format
        .unwrap_or(if stdout_is_tty && !to_file && !editor_fix {
            OutputFormat::Full
        } else {
            OutputFormat::Concise
        });
    let color = use_color(args.color, !to_file && !editor_fix);

    let mut stderr = io::stderr().lock();
    for e in &result.fix_errors {
        let _ = writeln!(stderr, "tenantlint: warning: {e}");
    }
    if let Some(summary) = &result.verbose {
        for line in summary.lines() {
            let _ = writeln!(stderr, "tenantlint: {line}");
        }
    }
    if !args.quiet {
        for w in &result.warnings {
            let _ = writeln!(stderr, "tenantlint: warning: {w}");
        }
        // As ruff: nothing to check is worth a word, not a failure.
        if result.checked.is_empty() && result.stdin_path.is_none() && result.diagnostics.is_empty()
        {
            let _ = writeln!(
                stderr,
                "tenantlint: warning: No Python files found under the given path(s)"
            );
        }
        if let Some((path, n)) = &result.wrote_baseline {
            let _ = writeln!(
                stderr,
                "Wrote {n} finding{} to the baseline {}.",
                plural(*n),
                report::display_path(path, &cwd)
            );
        } else if let Some((codes, files)) = result.noqa_added {
            let _ = writeln!(
                stderr,
                "Added {codes} noqa directive{} in {files} file{}.",
                plural(codes),
                plural(files)
            );
        }
        if result.wrote_baseline.is_none() && result.baselined > 0 {
            let _ = writeln!(
                stderr,
                "{} finding{} in the baseline not shown.",
                result.baselined,
                plural(result.baselined)
            );
        }
    }

    if opts.fix == FixMode::Diff {
        let mut out = io::stdout().lock();
        write_diffs(&mut out, &cwd, &result).map_err(io_err)?;
        let changed = !result.fixed.is_empty();
        if !args.quiet {
            let n: usize = result
                .fixed
                .iter()
                .flat_map(|f| f.counts.iter().map(|(_, c)| c))
                .sum();
            if changed {
                let _ = writeln!(stderr, "Would fix {n} error{}.", plural(n));
            } else {
                let _ = writeln!(stderr, "No errors would be fixed.");
            }
        }
        return Ok(if changed && !args.exit_zero { 1 } else { 0 });
    }

    let report = Report {
        cwd: &cwd,
        diagnostics: &result.diagnostics,
        unsafe_fixes: args.unsafe_fixes,
        color,
        files: &result.checked,
        stdin: stdin_pair,
        given: &result.given,
    };

    let mut buf: Vec<u8> = Vec::new();
    if args.statistics {
        write_statistics(&mut buf, format, &report).map_err(io_err)?;
    } else {
        report::write_report(&mut buf, format, &report).map_err(io_err)?;
    }
    let text_format = matches!(
        format,
        OutputFormat::Full | OutputFormat::Concise | OutputFormat::Grouped
    );
    let mut summary = String::new();
    if text_format && !args.quiet {
        summary = summary_text(&result, &args, color);
    }
    if args.show_fixes && !args.quiet {
        summary.push_str(&show_fixes_text(&cwd, &result));
    }

    if let Some(path) = &args.output_file {
        let path = cwd.join(path);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(&path, &buf).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if !summary.is_empty() {
            let _ = write!(stderr, "{summary}");
        }
    } else if editor_fix {
        let _ = stderr.write_all(&buf);
        let _ = write!(stderr, "{summary}");
    } else {
        let mut out = io::stdout().lock();
        out.write_all(&buf).map_err(io_err)?;
        write!(out, "{summary}").map_err(io_err)?;
        out.flush().map_err(io_err)?;
    }
    if editor_fix {
        let mut out = io::stdout().lock();
        if let Some(raw) = &stdin_raw {
            out.write_all(raw).map_err(io_err)?;
            out.flush().map_err(io_err)?;
            let remaining = !result.diagnostics.is_empty();
            return Ok(if remaining && !args.exit_zero { 1 } else { 0 });
        }
        let text = result
            .stdin_output
            .as_deref()
            .or(stdin.as_deref())
            .unwrap_or_default();
        out.write_all(text.as_bytes()).map_err(io_err)?;
        out.flush().map_err(io_err)?;
    }
    let remaining = !result.diagnostics.is_empty();
    Ok(if remaining && !args.exit_zero { 1 } else { 0 })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn summary_text(result: &CheckResult, args: &CheckArgs, color: bool) -> String {
    let remaining = result.diagnostics.len();
    let fixed: usize = result
        .fixed
        .iter()
        .flat_map(|f| f.counts.iter().map(|(_, c)| c))
        .sum();
    let mut s = String::new();
    if args.fix {
        if fixed + remaining == 0 {
            s.push_str("All checks passed!\n");
        } else {
            s.push_str(&format!(
                "Found {} error{} ({fixed} fixed, {remaining} remaining).\n",
                fixed + remaining,
                plural(fixed + remaining)
            ));
        }
    } else if remaining == 0 {
        s.push_str("All checks passed!\n");
    } else {
        s.push_str(&format!("Found {remaining} error{}.\n", plural(remaining)));
    }
    let safe = result
        .diagnostics
        .iter()
        .filter(|d| {
            d.fix.as_ref().is_some_and(|f| {
                crate::engine::fixloop::applies(f.applicability, args.unsafe_fixes)
            })
        })
        .count();
    let unsafe_only = result
        .diagnostics
        .iter()
        .filter(|d| {
            d.fix.as_ref().is_some_and(|f| {
                f.applicability == crate::diagnostics::Applicability::Unsafe && !args.unsafe_fixes
            })
        })
        .count();
    if safe > 0 && !args.fix {
        let mark = report::style::Paint(color).paint("[*]", report::style::FIXABLE);
        s.push_str(&format!("{mark} {safe} fixable with the `--fix` option"));
        if unsafe_only > 0 {
            s.push_str(&format!(
                " ({unsafe_only} hidden fix{} can be enabled with the `--unsafe-fixes` option)",
                if unsafe_only == 1 { "" } else { "es" }
            ));
        }
        s.push_str(".\n");
    } else if unsafe_only > 0 {
        s.push_str(&format!(
            "No fixes available ({unsafe_only} hidden fix{} can be enabled with the `--unsafe-fixes` option).\n",
            if unsafe_only == 1 { "" } else { "es" }
        ));
    }
    s
}

fn show_fixes_text(cwd: &Path, result: &CheckResult) -> String {
    if result.fixed.is_empty() {
        return "No errors fixed.\n".into();
    }
    let total: usize = result
        .fixed
        .iter()
        .flat_map(|f| f.counts.iter().map(|(_, c)| c))
        .sum();
    let mut s = format!("Fixed {total} error{}:\n", plural(total));
    for f in &result.fixed {
        s.push_str(&format!(
            "- {}:\n",
            report::display_path_given(&f.path, cwd, &result.given)
        ));
        for (rule, n) in &f.counts {
            s.push_str(&format!("    {n} × {} ({})\n", rule.code(), rule.name()));
        }
    }
    s
}

fn write_statistics(w: &mut dyn Write, format: OutputFormat, report: &Report) -> io::Result<()> {
    let rows = report::statistics(report);
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, &rows)?;
            writeln!(w)
        }
        OutputFormat::JsonLines => {
            for row in &rows {
                serde_json::to_writer(&mut *w, row)?;
                writeln!(w)?;
            }
            Ok(())
        }
        _ => {
            let width = rows
                .iter()
                .map(|r| r.count.to_string().len())
                .max()
                .unwrap_or(1);
            let paint = report::style::Paint(report.color);
            for r in rows {
                write!(
                    w,
                    "{}\t{}\t{}\t{} fixable",
                    paint.paint(format!("{:>width$}", r.count), report::style::COUNT),
                    paint.paint(r.code, report::style::CODE),
                    r.name,
                    r.fixable
                )?;
                // `12 caused by TEN101`: fixing those root causes removes these.
                for (code, n) in &r.root_causes {
                    write!(w, "\t{n} caused by {code}")?;
                }
                if r.root_cause_of > 0 {
                    write!(w, "\troot cause of {} findings", r.root_cause_of)?;
                }
                writeln!(w)?;
            }
            Ok(())
        }
    }
}

fn write_diffs(w: &mut dyn Write, cwd: &Path, result: &CheckResult) -> io::Result<()> {
    for f in &result.fixed {
        let name = report::display_path_given(&f.path, cwd, &result.given);
        let diff = crate::fix::diff::unified_diff(
            &f.original,
            &f.fixed,
            &format!("a/{name}"),
            &format!("b/{name}"),
            3,
        );
        w.write_all(diff.as_bytes())?;
        writeln!(w)?;
    }
    Ok(())
}
