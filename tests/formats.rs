//! The CI output formats (`sarif`, `github`, `gitlab`, `junit`), `--statistics`, `--exit-zero` and
//! `--output-file`, on the real output of the binary over the fixture projects.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::copy_dir;

const ALL_FORMATS: &[&str] = &[
    "full",
    "concise",
    "json",
    "json-lines",
    "sarif",
    "github",
    "gitlab",
    "junit",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo() -> PathBuf {
    root().join("fixtures/demo")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenantlint"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the tenantlint binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// `check --output-format FORMAT` in `dir`; returns stdout, asserting the exit status.
fn check(dir: &Path, format: &str, expect_status: i32) -> String {
    let o = run(dir, &["check", "--no-cache", "--output-format", format]);
    assert_eq!(
        o.status.code(),
        Some(expect_status),
        "{format} in {}: stderr: {}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o)
}

fn json_diagnostics(dir: &Path) -> Vec<Value> {
    let out = run(dir, &["check", "--no-cache", "--output-format", "json"]);
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("json output parses")
        .as_array()
        .unwrap()
        .clone()
}

/// Every fixture project: the demo, the Rust service and each `fixtures/rules/<case>`.
fn fixture_projects() -> Vec<PathBuf> {
    let mut dirs = vec![demo(), root().join("fixtures/rust-service")];
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("EXPECTED").is_file())
        .collect();
    cases.sort();
    dirs.extend(cases);
    dirs
}

/// How many diagnostics the JSON output has: the reference every other format is compared to
/// (the fixtures' EXPECTED files are checked against it by the rule tests).
fn diagnostic_count(dir: &Path) -> usize {
    json_diagnostics(dir).len()
}

// ---------------------------------------------------------------------------------------------
// SARIF

fn sarif_validators() -> Vec<(&'static str, jsonschema::Validator)> {
    ["sarif-schema-2.1.0.json"]
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(root().join("tests/data").join(name)).unwrap();
            let schema: Value = serde_json::from_str(&text).unwrap();
            let v = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft4)
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|e| panic!("{name} compiles: {e}"));
            (name, v)
        })
        .collect()
}

fn assert_valid_sarif(validators: &[(&str, jsonschema::Validator)], log: &Value, what: &str) {
    for (name, v) in validators {
        let errors: Vec<String> = v
            .iter_errors(log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: SARIF output does not validate against {name}:\n{}",
            errors.join("\n")
        );
    }
}

#[test]
fn sarif_validates_against_the_official_schema_and_matches_json() {
    let validators = sarif_validators();
    let dir = demo();
    let text = check(&dir, "sarif", 1);
    assert!(
        text.len() < 40_000,
        "the demo's SARIF is {} bytes (24 results; the rule pages are linked, not embedded)",
        text.len()
    );
    let log: Value = serde_json::from_str(&text).expect("sarif output is JSON");
    assert_valid_sarif(&validators, &log, "demo");
    let json = json_diagnostics(&dir);

    assert_eq!(log["version"], "2.1.0");
    assert!(
        log["$schema"]
            .as_str()
            .unwrap()
            .contains("sarif-schema-2.1.0.json")
    );
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "tenantlint");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    // The rules with results, once each, in code order (as ruff's SARIF).
    let mut codes: Vec<&str> = json.iter().map(|j| j["code"].as_str().unwrap()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(ids, codes, "tool.driver.rules lists the rules with results");
    for r in rules {
        let code = r["id"].as_str().unwrap();
        assert!(!r["name"].as_str().unwrap().is_empty());
        assert!(!r["shortDescription"]["text"].as_str().unwrap().is_empty());
        assert!(!r["help"]["markdown"].as_str().unwrap().is_empty());
        assert_eq!(r["defaultConfiguration"]["level"], "error");
        // The page is linked, not embedded.
        let uri = r["helpUri"].as_str().unwrap();
        assert!(uri.ends_with(&format!("/rules/{code}.md")), "{uri}");
        assert!(uri.contains(&format!("/blob/v{}/", env!("CARGO_PKG_VERSION"))));
        assert!(r["help"]["markdown"].as_str().unwrap().contains(uri));
        assert!(r["help"]["text"].as_str().unwrap().len() < 200);
        let tags: Vec<&str> = r["properties"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(tags.contains(&"security"), "{code}: {tags:?}");
        let severity: f64 = r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((7.0..=10.0).contains(&severity), "ranked high by GitHub");
        assert_eq!(r["properties"]["precision"], "high");
    }
    let srcroot = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        srcroot.starts_with("file://") && srcroot.ends_with('/'),
        "{srcroot}"
    );

    let results = run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        json.len(),
        "one SARIF result per JSON diagnostic"
    );
    let mut fingerprints = HashSet::new();
    for (r, j) in results.iter().zip(&json) {
        assert_eq!(r["ruleId"], j["code"]);
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules[index]["id"], r["ruleId"],
            "ruleIndex points at the rule"
        );
        // JSON carries ruff's `url`, `noqa_row` and `severity` too.
        assert_eq!(j["url"], rules[index]["helpUri"]);
        assert_eq!(j["noqa_row"], j["location"]["row"]);
        assert_eq!(j["severity"], "error");
        assert_eq!(r["level"], "error");
        assert_eq!(r["message"]["text"], j["message"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], j["filename"]);
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(
            dir.join(loc["artifactLocation"]["uri"].as_str().unwrap())
                .is_file()
        );
        assert_eq!(loc["region"]["startLine"], j["location"]["row"]);
        assert_eq!(loc["region"]["startColumn"], j["location"]["column"]);
        assert_eq!(loc["region"]["endLine"], j["end_location"]["row"]);
        assert_eq!(loc["region"]["endColumn"], j["end_location"]["column"]);
        match j["fix"].as_object() {
            None => assert!(r.get("fixes").is_none()),
            Some(fix) => {
                let f = &r["fixes"][0];
                assert_eq!(f["description"]["text"], fix["message"]);
                let reps = f["artifactChanges"][0]["replacements"].as_array().unwrap();
                let edits = fix["edits"].as_array().unwrap();
                assert_eq!(reps.len(), edits.len());
                for (rep, e) in reps.iter().zip(edits) {
                    assert_eq!(rep["insertedContent"]["text"], e["content"]);
                    assert_eq!(rep["deletedRegion"]["startLine"], e["location"]["row"]);
                    assert_eq!(rep["deletedRegion"]["startColumn"], e["location"]["column"]);
                    assert_eq!(rep["deletedRegion"]["endLine"], e["end_location"]["row"]);
                    assert_eq!(
                        rep["deletedRegion"]["endColumn"],
                        e["end_location"]["column"]
                    );
                }
            }
        }
        assert!(
            fingerprints.insert(
                r["partialFingerprints"]["tenantlint/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            )
        );
    }
    assert!(
        results.iter().any(|r| r.get("fixes").is_some()),
        "the demo has fixable diagnostics"
    );

    // The validator is not vacuous: a broken log is rejected.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    for (_, v) in &validators {
        assert!(!v.is_valid(&broken));
    }
}

/// Every fixture (including unparsable and non-UTF-8 files, and clean projects) gives valid SARIF.
#[test]
fn sarif_validates_on_every_fixture() {
    let validators = sarif_validators();
    for dir in fixture_projects() {
        let n = diagnostic_count(&dir);
        let log: Value = serde_json::from_str(&check(&dir, "sarif", if n == 0 { 0 } else { 1 }))
            .expect("sarif output is JSON");
        assert_valid_sarif(&validators, &log, &dir.display().to_string());
        assert_eq!(
            log["runs"][0]["results"].as_array().unwrap().len(),
            n,
            "{}",
            dir.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// GitHub

fn unescape_github(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// Parse `::error k=v,k=v::message` into its properties and message (unescaped).
fn parse_github_line(line: &str) -> (BTreeMap<String, String>, String) {
    let rest = line
        .strip_prefix("::error ")
        .unwrap_or_else(|| panic!("not an ::error command: {line}"));
    let (props, message) = rest
        .split_once("::")
        .unwrap_or_else(|| panic!("no `::` before the message: {line}"));
    let mut map = BTreeMap::new();
    for kv in props.split(',') {
        let (k, v) = kv
            .split_once('=')
            .unwrap_or_else(|| panic!("bad property `{kv}` in {line}"));
        assert!(
            !v.contains(':') && !v.contains(','),
            "unescaped property value in {line}"
        );
        map.insert(k.to_string(), unescape_github(v));
    }
    (map, unescape_github(message))
}

#[test]
fn github_annotations_parse_and_match_json() {
    let dir = demo();
    let out = check(&dir, "github", 1);
    let json = json_diagnostics(&dir);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        json.len(),
        "one annotation per diagnostic:\n{out}"
    );
    for (line, j) in lines.iter().zip(&json) {
        let (props, message) = parse_github_line(line);
        assert_eq!(
            props.keys().map(String::as_str).collect::<Vec<_>>(),
            ["col", "endColumn", "endLine", "file", "line", "title"]
        );
        assert_eq!(props["file"], j["filename"].as_str().unwrap());
        assert_eq!(props["line"], j["location"]["row"].to_string());
        assert_eq!(props["col"], j["location"]["column"].to_string());
        assert_eq!(props["endLine"], j["end_location"]["row"].to_string());
        assert_eq!(props["endColumn"], j["end_location"]["column"].to_string());
        assert_eq!(props["title"], j["code"].as_str().unwrap());
        assert_eq!(message, j["message"].as_str().unwrap());
        assert!(dir.join(&props["file"]).is_file());
    }
    // The order GitHub documents.
    assert!(lines[0].starts_with("::error file="));
    assert!(
        lines[0].contains(",line=") && lines[0].contains(",col=") && lines[0].contains(",endLine=")
    );
}

#[test]
fn github_escaping_follows_the_actions_toolkit() {
    use tenantlint::report::github::{escape_data, escape_property};
    let msg = "100% of rows: a, b\nand\r\nmore";
    assert_eq!(escape_data(msg), "100%25 of rows: a, b%0Aand%0D%0Amore");
    assert_eq!(
        escape_property(msg),
        "100%25 of rows%3A a%2C b%0Aand%0D%0Amore"
    );
    // Escaping is reversible (the runner decodes `%25` last).
    assert_eq!(unescape_github(&escape_property(msg)), msg);
    assert_eq!(unescape_github(&escape_data(msg)), msg);
    // An already-escaped-looking text is not decoded by mistake.
    assert_eq!(escape_data("%0A"), "%250A");
    assert_eq!(escape_property("a:b,c%2C"), "a%3Ab%2Cc%252C");
}

#[test]
fn github_escapes_paths_in_properties() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("proj");
    copy_dir(&root().join("fixtures/rules/ten900_syntax_error"), &project);
    // A directory name with a comma, a colon and a percent sign.
    let odd = project.join("a,b:c%d");
    std::fs::create_dir_all(&odd).unwrap();
    std::fs::write(odd.join("m.py"), "def broken(:\n    pass\n").unwrap();
    let out = check(&project, "github", 1);
    let line = out
        .lines()
        .find(|l| l.contains("file=a%2Cb%3Ac%25d/m.py"))
        .unwrap_or_else(|| panic!("{out}"));
    let (props, _) = parse_github_line(line);
    assert_eq!(props["file"], "a,b:c%d/m.py");
    assert_eq!(props["title"], "TEN900");
}

// ---------------------------------------------------------------------------------------------
// GitLab

fn gitlab(dir: &Path) -> Vec<Value> {
    let out = check(dir, "gitlab", 1);
    serde_json::from_str::<Value>(&out)
        .expect("gitlab output is JSON")
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn gitlab_code_quality_report_is_complete_unique_and_stable() {
    let dir = demo();
    let first = gitlab(&dir);
    let json = json_diagnostics(&dir);
    assert_eq!(first.len(), json.len());
    let mut seen = HashSet::new();
    for (issue, j) in first.iter().zip(&json) {
        assert_eq!(issue["check_name"], j["code"]);
        assert!(
            issue["description"]
                .as_str()
                .unwrap()
                .contains(j["message"].as_str().unwrap())
        );
        assert_eq!(issue["severity"], "major");
        assert_eq!(issue["location"]["path"], j["filename"]);
        assert_eq!(issue["location"]["lines"]["begin"], j["location"]["row"]);
        let fp = issue["fingerprint"].as_str().unwrap();
        assert!(
            !fp.is_empty() && fp.chars().all(|c| c.is_ascii_hexdigit()),
            "{fp}"
        );
        assert!(seen.insert(fp.to_string()), "duplicate fingerprint {fp}");
    }
    // Stable across runs.
    let second = gitlab(&dir);
    assert_eq!(first, second);
}

#[test]
fn gitlab_fingerprints_survive_line_shifts() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("demo");
    copy_dir(&demo(), &project);
    let before = gitlab(&project);

    // Insert a blank line at the top of a file with several findings.
    let file = "billing/services.py";
    let path = project.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("\n{text}")).unwrap();
    let after = gitlab(&project);

    assert_eq!(before.len(), after.len());
    let mut shifted = 0;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            b["fingerprint"], a["fingerprint"],
            "fingerprint changed for {b} -> {a}"
        );
        let (rb, ra) = (
            b["location"]["lines"]["begin"].as_u64().unwrap(),
            a["location"]["lines"]["begin"].as_u64().unwrap(),
        );
        if b["location"]["path"] == file {
            assert_eq!(ra, rb + 1);
            shifted += 1;
        } else {
            assert_eq!(ra, rb);
        }
    }
    assert!(shifted >= 2, "the edited file has findings");
}

#[test]
fn gitlab_fingerprints_tell_apart_identical_findings() {
    // Two identical lines with the same finding in one file still get two fingerprints.
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    copy_dir(&root().join("fixtures/rules/ten900_syntax_error"), &project);
    let dup = project.join("dup");
    std::fs::create_dir_all(&dup).unwrap();
    std::fs::write(
        project.join("dup/a.py"),
        "from django.core.cache import cache\n\ncache.get('k')\ncache.get('k')\n",
    )
    .unwrap();
    let issues = gitlab(&project);
    let fps: HashSet<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps.len(), issues.len());
}

// ---------------------------------------------------------------------------------------------
// JUnit

#[test]
fn junit_is_well_formed_with_one_testcase_per_diagnostic() {
    let dir = demo();
    let out = check(&dir, "junit", 1);
    let json = json_diagnostics(&dir);
    let doc = roxmltree::Document::parse(&out)
        .unwrap_or_else(|e| panic!("junit output is not XML: {e}\n{out}"));
    let root_el = doc.root_element();
    assert_eq!(root_el.tag_name().name(), "testsuites");
    let all_cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(
        root_el.attribute("tests"),
        Some(all_cases.to_string().as_str())
    );
    assert_eq!(
        root_el.attribute("failures"),
        Some(json.len().to_string().as_str())
    );

    // One failing testcase per diagnostic, in the order of the JSON output.
    let failing: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .collect();
    assert_eq!(
        failing.len(),
        json.len(),
        "one failing testcase per diagnostic"
    );
    for (case, j) in failing.iter().zip(&json) {
        let suite = case.parent_element().unwrap();
        assert_eq!(suite.attribute("name"), j["filename"].as_str());
        assert_eq!(case.attribute("classname"), j["filename"].as_str());
        let name = format!(
            "{} at {}:{}",
            j["code"].as_str().unwrap(),
            j["location"]["row"],
            j["location"]["column"]
        );
        assert_eq!(case.attribute("name"), Some(name.as_str()));
        let failures: Vec<_> = case
            .children()
            .filter(|n| n.has_tag_name("failure"))
            .collect();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].attribute("type"), j["code"].as_str());
        assert_eq!(failures[0].attribute("message"), j["message"].as_str());
        assert!(
            failures[0]
                .text()
                .unwrap()
                .contains(j["message"].as_str().unwrap())
        );
    }

    // One testsuite per file: those with diagnostics fail, checked clean files pass.
    let suites: Vec<_> = root_el
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let names: Vec<&str> = suites
        .iter()
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(
        names.iter().collect::<HashSet<_>>().len(),
        names.len(),
        "suite names are unique"
    );
    let with_diagnostics: HashSet<&str> = json
        .iter()
        .map(|j| j["filename"].as_str().unwrap())
        .collect();
    for suite in &suites {
        let name = suite.attribute("name").unwrap();
        assert!(
            dir.join(name).is_file(),
            "suite {name} is a file of the project"
        );
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let failed = cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
            .count();
        assert_eq!(
            suite.attribute("tests"),
            Some(cases.len().to_string().as_str())
        );
        assert_eq!(
            suite.attribute("failures"),
            Some(failed.to_string().as_str())
        );
        if with_diagnostics.contains(name) {
            assert_eq!(failed, cases.len(), "{name}");
        } else {
            assert_eq!(
                (cases.len(), failed),
                (1, 0),
                "a clean file is one passing testcase: {name}"
            );
        }
    }
    for f in &with_diagnostics {
        assert!(names.contains(f), "no testsuite for {f}");
    }
}

#[test]
fn every_format_is_well_formed_on_every_fixture() {
    for dir in fixture_projects() {
        let n = diagnostic_count(&dir);
        let status = if n == 0 { 0 } else { 1 };
        let junit = check(&dir, "junit", status);
        let doc = roxmltree::Document::parse(&junit)
            .unwrap_or_else(|e| panic!("{}: {e}\n{junit}", dir.display()));
        let failures = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count();
        assert_eq!(failures, n, "{}", dir.display());
        assert!(
            doc.descendants().any(|n| n.has_tag_name("testcase")),
            "at least one testcase"
        );

        let gl: Value = serde_json::from_str(&check(&dir, "gitlab", status)).unwrap();
        assert_eq!(gl.as_array().unwrap().len(), n);

        let gh = check(&dir, "github", status);
        assert_eq!(gh.lines().count(), n);
        for line in gh.lines() {
            parse_github_line(line);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --statistics, --exit-zero, --output-file, in every format

#[test]
fn exit_zero_and_statistics_in_every_format() {
    let dir = demo();
    let json = json_diagnostics(&dir);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for j in &json {
        *counts
            .entry(j["code"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for format in ALL_FORMATS {
        let plain = run(&dir, &["check", "--no-cache", "--output-format", format]);
        assert_eq!(
            plain.status.code(),
            Some(1),
            "{format}: diagnostics remain -> 1"
        );
        let zero = run(
            &dir,
            &[
                "check",
                "--no-cache",
                "--output-format",
                format,
                "--exit-zero",
            ],
        );
        assert_eq!(zero.status.code(), Some(0), "{format} --exit-zero -> 0");
        assert_eq!(
            stdout(&plain),
            stdout(&zero),
            "{format}: --exit-zero changes only the status"
        );

        let stats = run(
            &dir,
            &[
                "check",
                "--no-cache",
                "--output-format",
                format,
                "--statistics",
            ],
        );
        assert_eq!(
            stats.status.code(),
            Some(1),
            "{format} --statistics still fails"
        );
        let text = stdout(&stats);
        if matches!(*format, "json" | "json-lines") {
            // `json`: one array; `json-lines`: one row object per line.
            let rows: Vec<Value> = if *format == "json" {
                let v: Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{format}: {e}\n{text}"));
                v.as_array().unwrap().clone()
            } else {
                text.lines()
                    .map(|l| {
                        serde_json::from_str(l).unwrap_or_else(|e| panic!("{format}: {e}\n{l}"))
                    })
                    .collect()
            };
            let got: BTreeMap<String, usize> = rows
                .iter()
                .map(|r| {
                    (
                        r["code"].as_str().unwrap().to_string(),
                        r["count"].as_u64().unwrap() as usize,
                    )
                })
                .collect();
            assert_eq!(got, counts, "{format}");
        } else {
            for (code, n) in &counts {
                let line = text
                    .lines()
                    .find(|l| l.split('\t').nth(1) == Some(code.as_str()))
                    .unwrap_or_else(|| panic!("{format} --statistics lacks {code}:\n{text}"));
                assert_eq!(
                    line.split('\t').next().unwrap().trim(),
                    n.to_string(),
                    "{format}: {line}"
                );
            }
        }
        let stats_zero = run(
            &dir,
            &[
                "check",
                "--no-cache",
                "--output-format",
                format,
                "--statistics",
                "--exit-zero",
            ],
        );
        assert_eq!(
            stats_zero.status.code(),
            Some(0),
            "{format} --statistics --exit-zero"
        );
    }
}

#[test]
fn clean_project_exits_zero_in_every_format() {
    let dir = root().join("fixtures/rules/empty_file");
    assert_eq!(diagnostic_count(&dir), 0);
    for format in ALL_FORMATS {
        let o = run(&dir, &["check", "--no-cache", "--output-format", format]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let validators = sarif_validators();
    let log: Value = serde_json::from_str(&check(&dir, "sarif", 0)).unwrap();
    assert_valid_sarif(&validators, &log, "empty project");
    assert_eq!(check(&dir, "gitlab", 0).trim(), "[]");
    assert_eq!(check(&dir, "github", 0), "");
}

#[test]
fn output_file_writes_every_format() {
    let dir = demo();
    let tmp = tempfile::tempdir().unwrap();
    for format in ALL_FORMATS {
        let to_stdout = stdout(&run(
            &dir,
            &["check", "--no-cache", "--output-format", format],
        ));
        let file = tmp.path().join("reports").join(format!("report.{format}"));
        let o = run(
            &dir,
            &[
                "check",
                "--no-cache",
                "--output-format",
                format,
                "--output-file",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{format}");
        assert!(
            o.stdout.is_empty(),
            "{format}: nothing on stdout with --output-file: {}",
            stdout(&o)
        );
        let written = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert!(!written.is_empty(), "{format}");
        if matches!(*format, "full" | "concise") {
            // The summary goes to stderr; the report is the same.
            assert!(
                to_stdout.starts_with(&written),
                "{format}:\n{written}\n---\n{to_stdout}"
            );
        } else {
            assert_eq!(written, to_stdout, "{format}");
        }
    }
    // A relative --output-file is relative to the current directory.
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("demo");
    copy_dir(&dir, &project);
    let o = run(
        &project,
        &[
            "check",
            "--no-cache",
            "--output-format",
            "sarif",
            "--output-file",
            "out/tenantlint.sarif",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let log: Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("out/tenantlint.sarif")).unwrap(),
    )
    .unwrap();
    assert_valid_sarif(&sarif_validators(), &log, "--output-file");
}
