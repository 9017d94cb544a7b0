//! Issue 9 (cache, settings, defaults): root causes on the cache findings, `--statistics` ranking
//! them first, `extend-` twins of list keys, and test code quiet by default.

mod common;

use std::path::Path;

use common::{findings, parse_json, tl, write};
use serde_json::Value;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rules")
        .join(name)
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    tl().current_dir(dir)
        .args(["check", "--no-cache", "--exit-zero"])
        .args(args)
        .output()
        .unwrap()
}

/// Every TEN301/TEN302 on a cache whose tenant `KEY_FUNCTION` sits in `OPTIONS` names that
/// setting (the TEN303) as its root cause, in JSON, SARIF and the full output.
#[test]
fn cache_findings_point_to_the_ignored_key_function() {
    let dir = fixture("ten303_options_key_function");
    let out = run(&dir, &["--output-format", "json"]);
    let diags = parse_json(&out.stdout);
    let cache_findings: Vec<&Value> = diags
        .iter()
        .filter(|d| matches!(d["code"].as_str(), Some("TEN301" | "TEN302")))
        .collect();
    assert_eq!(cache_findings.len(), 2, "{diags:#?}");
    for d in &cache_findings {
        let rc = &d["root_cause"];
        assert_eq!(rc["filename"], "config/settings.py", "{d:#}");
        assert_eq!(rc["location"]["row"], 14, "{d:#}");
        assert_eq!(rc["location"]["column"], 13, "{d:#}");
        assert!(rc["message"].as_str().unwrap().contains("TEN303"), "{d:#}");
    }
    // The TEN303s themselves have no root cause (the key stays absent from their objects).
    for d in diags.iter().filter(|d| d["code"] == "TEN303") {
        assert!(d.get("root_cause").is_none(), "{d:#}");
    }

    let sarif = run(&dir, &["--output-format", "sarif"]);
    let v: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    let with_rc = results
        .iter()
        .filter(|r| {
            r["relatedLocations"].as_array().is_some_and(|l| {
                l.iter().any(|x| {
                    x["message"]["text"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("root cause:")
                })
            })
        })
        .count();
    assert_eq!(with_rc, 2, "{v:#}");

    let full = run(&dir, &["--output-format", "full", "--color", "never"]);
    let text = String::from_utf8_lossy(&full.stdout);
    assert_eq!(
        text.matches("root cause: config/settings.py:14:13:")
            .count(),
        2,
        "{text}"
    );
}

/// `--statistics` lists the root cause first and says how many findings it causes.
#[test]
fn statistics_rank_root_causes_first() {
    let dir = fixture("ten303_options_key_function");
    let out = run(&dir, &["--statistics"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains("TEN303") && first.ends_with("root cause of 2 findings"),
        "{text}"
    );
    let out = run(&dir, &["--statistics", "--output-format", "json"]);
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["code"], "TEN303", "{rows:#?}");
    assert_eq!(rows[0]["root_cause_of"], 2, "{rows:#?}");
    assert!(rows[1].get("root_cause_of").is_none(), "{rows:#?}");
}

/// Without a misplaced key function there is no root cause.
#[test]
fn no_root_cause_without_a_misplaced_key_function() {
    let dir = fixture("ten301_key_forms");
    let out = run(&dir, &["--output-format", "json"]);
    let diags = parse_json(&out.stdout);
    assert!(!diags.is_empty());
    assert!(
        diags.iter().all(|d| d.get("root_cause").is_none()),
        "{diags:#?}"
    );
}

/// `extend-<key>` adds to the default (or set) list; the plain key replaces it.
#[test]
fn extend_twins_add_to_the_defaults() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    write(
        root,
        "app/views.py",
        "from django.core.cache import cache\n\n\ndef f(x):\n    cache.get(\"tenant:a\")\n    cache.get(\"org:b\")\n    cache.get(tenant_key(x))\n    cache.get(org_key(x))\n",
    );
    write(
        root,
        "app/tests/test_views.py",
        "from django.core.cache import cache\n\n\ndef test_f():\n    cache.get(\"plain\")\n",
    );
    write(root, "pyproject.toml", "[project]\nname = \"x\"\n");
    // Defaults: `tenant:` and `tenant_key` count; the test file is quiet.
    assert_eq!(
        findings(root, &[]),
        vec!["app/views.py:6:5 TEN301", "app/views.py:8:5 TEN301"]
    );
    write(
        root,
        "tenantlint.toml",
        "extend-key-prefixes = [\"org:\"]\nextend-key-helpers = [\"org_key\"]\n",
    );
    assert!(findings(root, &[]).is_empty());
    // The plain key replaces the default: `tenant:` no longer counts.
    write(
        root,
        "tenantlint.toml",
        "key-prefixes = [\"org:\"]\nextend-key-helpers = [\"org_key\"]\n",
    );
    assert_eq!(findings(root, &[]), vec!["app/views.py:5:5 TEN301"]);
    // `test-paths = []`: tests are checked like any other code.
    write(root, "tenantlint.toml", "test-paths = []\n");
    assert_eq!(
        findings(root, &[]),
        vec![
            "app/tests/test_views.py:5:5 TEN301",
            "app/views.py:6:5 TEN301",
            "app/views.py:8:5 TEN301"
        ]
    );
    // An `extend-` twin of a key that is not a list is an unknown key.
    write(root, "tenantlint.toml", "extend-tenant-model = [\"Org\"]\n");
    let err = config_error(root);
    assert!(err.contains("extend-tenant-model"), "{err}");
}

/// TEN304 is off by default; `extend-select` and a `TEN3` prefix turn it on, the blanket `TEN`
/// does not.
#[test]
fn ten304_is_off_by_default() {
    let dir = fixture("ten304_counters_locks");
    let on = findings(&dir, &[]);
    assert!(on.iter().any(|k| k.ends_with("TEN304")), "{on:?}");
    let off = findings(&dir, &["--isolated"]);
    assert!(!off.iter().any(|k| k.ends_with("TEN304")), "{off:?}");
    let prefix = findings(&dir, &["--isolated", "--select", "TEN3"]);
    assert!(prefix.iter().any(|k| k.ends_with("TEN304")), "{prefix:?}");
    let blanket = findings(&dir, &["--isolated", "--select", "TEN"]);
    assert!(
        !blanket.iter().any(|k| k.ends_with("TEN304")),
        "{blanket:?}"
    );
}

/// `app/models.py` with a tenant model and two models owned through a tenant foreign key.
fn write_tenant_models(root: &Path) {
    write(
        root,
        "app/models.py",
        "from django.db import models\n\n\nclass Tenant(models.Model):\n    pass\n\n\nclass Project(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n\n\nclass Issue(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n    project = models.ForeignKey(Project, on_delete=models.CASCADE)\n",
    );
}

/// A project with the tenant models whose scoping lives in views (`scoped-managers = []`), and
/// `file` holding `src`.
fn views_scoped_project(root: &Path, file: &str, src: &str) {
    write_tenant_models(root);
    write(root, file, src);
    write_views_scoped_config(root);
}

/// A project whose scoping lives in views, with `models` as `app/models.py` and `views` (if
/// any) as `app/views.py`.
fn views_scoped_models(root: &Path, models: &str, views: Option<&str>) {
    write(root, "app/models.py", models);
    if let Some(views) = views {
        write(root, "app/views.py", views);
    }
    write_views_scoped_config(root);
}

fn write_views_scoped_config(root: &Path) {
    write(root, "pyproject.toml", "[project]\nname = \"x\"\n");
    write(root, "tenantlint.toml", "scoped-managers = []\n");
}

/// The findings of a whole-project check that are in `file`.
fn findings_in(root: &Path, file: &str) -> Vec<String> {
    findings(root, &[])
        .into_iter()
        .filter(|f| f.starts_with(file))
        .collect()
}

/// `strict-parent-lookups` (issue 9, precision on real projects): a boolean, validated, shown by
/// `--show-settings` with its source, and it brings back the raw-id parent lookups that a
/// project scoping in views trusts by default (the fixtures `config_parent_lookups` and
/// `config_strict_parent_lookups` hold the cases).
#[test]
fn strict_parent_lookups_is_a_validated_shown_key() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    views_scoped_project(
        root,
        "app/views.py",
        "from app.models import Issue\n\n\ndef issues(request, project_id):\n    return Issue.objects.filter(project_id=project_id)\n",
    );
    assert!(findings(root, &[]).is_empty());
    let text = show_settings(root);
    assert!(
        text.contains("strict-parent-lookups = false  # default"),
        "{text}"
    );

    write(
        root,
        "tenantlint.toml",
        "scoped-managers = []\nstrict-parent-lookups = true\n",
    );
    assert_eq!(findings(root, &[]), vec!["app/views.py:5:12 TEN201"]);
    let text = show_settings(root);
    assert!(
        text.contains("strict-parent-lookups = true  # tenantlint.toml"),
        "{text}"
    );

    write(root, "tenantlint.toml", "strict-parent-lookups = \"yes\"\n");
    let err = config_error(root);
    assert!(err.contains("strict-parent-lookups"), "{err}");
}

fn show_settings(root: &std::path::Path) -> String {
    let out = tl()
        .current_dir(root)
        .args(["check", "--show-settings"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The standard error of a run whose config is rejected (exit 2).
fn config_error(root: &std::path::Path) -> String {
    let out = tl()
        .current_dir(root)
        .args(["check", "--no-cache"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Issue 9 (taiga's importers: `snapshot = take_snapshot(...)`, then
/// `HistoryEntry.objects.filter(id=snapshot.id)`): the key of a row a project function returned
/// is a row in hand only when every `return` of that function gives a row read by a query or
/// nothing. A nested function's `return`s are its own; a function with no `return` gives `None`;
/// reassigning the local forgets the call.
#[test]
fn pk_of_a_row_a_project_function_returned() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    write_tenant_models(root);
    write(
        root,
        "app/services.py",
        "from app.models import Issue\n\n\ndef make(project):\n    def helper():\n        return {\"id\": 1}\n\n    helper()\n    return Issue.objects.create(project=project)\n\n\ndef maybe(project):\n    if project is None:\n        return\n    row = Issue.objects.create(project=project)\n    return row\n\n\ndef nothing(project):\n    Issue.objects.create(project=project)\n\n\ndef nested_other(project):\n    def inner():\n        return Issue.objects.create(project=project)\n\n    return {\"id\": inner}\n",
    );
    write(
        root,
        "app/views.py",
        "from app import services\nfrom app.models import Issue\nfrom app.services import make, nested_other, nothing\n\n\ndef touch(project):\n    row = make(project)\n    Issue.objects.filter(id=row.id).update(project=project)\n    row2 = services.maybe(project)\n    Issue.objects.filter(id=row2.id).delete()\n    n = nothing(project)\n    Issue.objects.filter(id=n.id).delete()\n    o = nested_other(project)\n    Issue.objects.filter(id=o.id).delete()\n    row = project.data\n    Issue.objects.filter(id=row.id).delete()\n",
    );
    write_views_scoped_config(root);
    let views = findings_in(root, "app/views.py");
    assert_eq!(
        views,
        vec![
            "app/views.py:12:5 TEN201",
            "app/views.py:14:5 TEN201",
            "app/views.py:16:5 TEN201"
        ]
    );
}

/// `filter(**self.filters["base"])` (plane's analytics views): the dict is what a project
/// function returned into `self.filters` in a method of the class or a base class. Its keys
/// count as lookups when every assignment of the attribute, and every `return` of the function,
/// holds them.
#[test]
fn lookups_of_a_dict_a_project_function_built_for_self() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    write_tenant_models(root);
    write(
        root,
        "app/filters.py",
        "def build_filters(tenant, user):\n    base = {\"tenant\": tenant, \"project__members\": user}\n    if user is None:\n        return {\"base\": {\"tenant\": tenant}, \"open\": {}}\n    return {\"base\": base, \"open\": {\"project__members\": user}}\n\n\ndef sometimes(tenant):\n    if tenant:\n        return {\"base\": {\"tenant\": tenant}}\n    return {\"base\": {}}\n",
    );
    write(
        root,
        "app/views.py",
        "from app.filters import build_filters, sometimes\nfrom app.models import Issue\n\n\nclass Base:\n    def setup(self, request):\n        self.filters = build_filters(request.tenant, request.user)\n        self.maybe = sometimes(request.tenant)\n\n\nclass IssueStats(Base):\n    def get(self, request):\n        self.setup(request)\n        scoped = Issue.objects.filter(**self.filters[\"base\"]).count()\n        everyone = Issue.objects.filter(**self.filters[\"open\"]).count()\n        maybe = Issue.objects.filter(**self.maybe[\"base\"]).count()\n        return scoped, everyone, maybe\n\n\nclass Reset(Base):\n    def reset(self):\n        self.filters = {\"base\": {}}\n\n    def get(self, request):\n        self.setup(request)\n        return Issue.objects.filter(**self.filters[\"base\"]).count()\n",
    );
    write_views_scoped_config(root);
    let views = findings_in(root, "app/views.py");
    // `Reset` assigns a dict of its own to `self.filters` too: its keys are not read, so its
    // query is not taken as scoped.
    assert_eq!(
        views,
        vec![
            "app/views.py:15:20 TEN201",
            "app/views.py:16:17 TEN201",
            "app/views.py:26:16 TEN201"
        ]
    );
    // The functions the dicts came from are related locations: checking only their module
    // (pre-commit on a change there) reports the queries it leaves unscoped.
    assert_eq!(
        findings(root, &["app/filters.py"]),
        vec![
            "app/views.py:15:20 TEN201",
            "app/views.py:16:17 TEN201",
            "app/views.py:26:16 TEN201"
        ]
    );
}

/// A key held by a parameter (`instance.project_id`, `obj.id`: a foreign or primary key of a row
/// the caller passed in) pins a relation like the parameter itself would, in a project that
/// scopes in views; not a key of a local, and not under `strict-parent-lookups`.
#[test]
fn keys_of_a_row_passed_in_pin_relations() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    views_scoped_project(
        root,
        "app/serializers.py",
        "from app.models import Issue\n\n\nclass IssueSerializer:\n    def update(self, instance, data):\n        return Issue.objects.filter(project_id=instance.project_id, title=data[\"t\"])\n\n    def get_count(self, obj):\n        return Issue.objects.filter(project_id=obj.id).count()\n\n\ndef elsewhere(payload):\n    other = payload.get(\"issue\")\n    return Issue.objects.filter(project_id=other.project_id)\n",
    );
    assert_eq!(
        findings_in(root, "app/serializers.py"),
        vec!["app/serializers.py:14:12 TEN201"]
    );
    write(
        root,
        "tenantlint.toml",
        "scoped-managers = []\nstrict-parent-lookups = true\n",
    );
    assert_eq!(
        findings_in(root, "app/serializers.py"),
        vec![
            "app/serializers.py:6:16 TEN201",
            "app/serializers.py:9:16 TEN201",
            "app/serializers.py:14:12 TEN201"
        ]
    );
}

/// `pk__in=` a tenant-filtered query on another model that reads one relation to this model
/// (inline or kept in a local): the rows those rows point to. Reading another column, or a
/// query that is not tenant-filtered, pins nothing; the unfiltered subquery written inline is
/// not reported itself (it only narrows the outer query, which is).
#[test]
fn pk_subquery_through_another_models_relation() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    views_scoped_project(
        root,
        "app/views.py",
        "from app.models import Issue, Project\n\n\ndef projects(request, tenant):\n    ids = Issue.objects.filter(tenant=tenant).values_list(\"project_id\", flat=True)\n    a = Project.objects.filter(id__in=ids)\n    b = Project.objects.filter(pk__in=Issue.objects.filter(tenant=tenant).values(\"project\"))\n    c = Project.objects.filter(id__in=Issue.objects.filter(tenant=tenant).values_list(\"id\"))\n    d = Project.objects.filter(id__in=Issue.objects.filter(title=\"x\").values_list(\"project_id\"))\n    return a, b, c, d\n",
    );
    let views = findings_in(root, "app/views.py");
    assert_eq!(
        views,
        vec!["app/views.py:8:9 TEN201", "app/views.py:9:9 TEN201"]
    );
}

/// The values of a `**dict` of lookups count as keyword arguments' do (an instance or a
/// parameter pins a relation), also through `.copy()`; a raw id from the request does not.
#[test]
fn dict_lookup_values_are_read_like_keywords() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    views_scoped_project(
        root,
        "app/views.py",
        "from app.models import Issue\n\n\ndef a(request, project_id):\n    flt = {\"project_id\": project_id}\n    return Issue.objects.filter(**flt)\n\n\ndef b(request, project):\n    base = {\"project\": project, \"title\": \"x\"}\n    extra = base.copy()\n    return Issue.objects.filter(**extra)\n\n\ndef c(request):\n    flt = {\"project_id\": request.GET[\"p\"]}\n    return Issue.objects.filter(**flt)\n",
    );
    let views = findings_in(root, "app/views.py");
    assert_eq!(views, vec!["app/views.py:17:12 TEN201"]);
}

/// A many-to-many field to a tenant-owned model pins rows to given instances as a foreign key
/// does (`filter(labels=label)` with a label read for the tenant); a lookup of another kind
/// through it (`labels__name=`), or one to a model that is not tenant-owned, or to the tenant
/// model itself (a row shared with several tenants), does not.
#[test]
fn many_to_many_lookups_on_an_instance_pin_the_tenant() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    views_scoped_models(
        root,
        "from django.db import models\n\n\nclass Tenant(models.Model):\n    pass\n\n\nclass Colour(models.Model):\n    name = models.CharField(max_length=9)\n\n\nclass Label(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n    name = models.CharField(max_length=9)\n\n\nclass Doc(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n    labels = models.ManyToManyField(Label)\n    colours = models.ManyToManyField(\"Colour\")\n    shared_with = models.ManyToManyField(Tenant, related_name=\"shared_docs\")\n",
        Some(
            "from app.models import Doc, Label\n\n\ndef docs(request, tenant, pk):\n    label = Label.objects.get(tenant=tenant, pk=pk)\n    a = Doc.objects.filter(labels=label)\n    b = Doc.objects.filter(labels__in=[label])\n    c = Doc.objects.filter(labels__name=\"x\")\n    d = Doc.objects.filter(colours=request.colour)\n    e = Doc.objects.filter(shared_with=request.tenant)\n    return a, b, c, d, e\n",
        ),
    );
    assert_eq!(
        findings_in(root, "app/views.py"),
        vec![
            "app/views.py:8:9 TEN201",
            "app/views.py:9:9 TEN201",
            "app/views.py:10:9 TEN201"
        ]
    );
}

/// The values of `Q(...)` keywords are read like keyword arguments': an instance pins a
/// relation in a `Q` of its own and in every branch of `Q(...) | Q(...)`; a raw id from the
/// request does not, and neither does an `|` with a branch that pins nothing.
#[test]
fn q_objects_on_instances_pin_relations() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    write_tenant_models(root);
    write(
        root,
        "app/views.py",
        "from django.db.models import Q\n\nfrom app.models import Issue, Project\n\n\ndef issues(request, tenant):\n    project = Project.objects.get(tenant=tenant, pk=request.GET[\"p\"])\n    others = [project]\n    a = Issue.objects.filter(Q(title=\"x\"), Q(project__in=others))\n    b = Issue.objects.filter(Q(project=project) | Q(project__in=others))\n    c = Issue.objects.filter(Q(project=project) | Q(title=\"x\"))\n    d = Issue.objects.filter(Q(project_id=request.GET[\"p\"]))\n    e = Issue.objects.filter(Q(project=project, _negated=True))\n    return a, b, c, d, e\n",
    );
    write(root, "pyproject.toml", "[project]\nname = \"x\"\n");
    assert_eq!(
        findings_in(root, "app/views.py"),
        vec![
            "app/views.py:11:9 TEN201",
            "app/views.py:12:9 TEN201",
            "app/views.py:13:9 TEN201"
        ]
    );
}

/// `filter(content_type=ct, object_id=self.pk)` in a method of a tenant-owned model reads the
/// rows a generic relation attaches to that instance; without the content type, with another
/// model's content type, or in a method of a model that is not tenant-owned, it pins nothing.
#[test]
fn generic_relation_to_self_pins_the_tenant() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    views_scoped_models(
        root,
        "from django.contrib.contenttypes.fields import GenericForeignKey\nfrom django.contrib.contenttypes.models import ContentType\nfrom django.db import models\n\n\nclass Tenant(models.Model):\n    pass\n\n\nclass Log(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)\n    object_id = models.PositiveIntegerField()\n    target = GenericForeignKey(\"content_type\", \"object_id\")\n\n\nclass Project(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n\n    def logs(self):\n        ct = ContentType.objects.get_for_model(self)\n        return Log.objects.filter(content_type=ct, object_id=self.pk)\n\n    def any_logs(self):\n        return Log.objects.filter(object_id=self.pk)\n\n    def colour_logs(self):\n        return Log.objects.filter(content_type=ContentType.objects.get_for_model(Colour), object_id=self.pk)\n\n\nclass Colour(models.Model):\n    def logs(self):\n        ct = ContentType.objects.get_for_model(self)\n        return Log.objects.filter(content_type=ct, object_id=self.pk)\n",
        None,
    );
    assert_eq!(
        findings_in(root, "app/models.py")
            .into_iter()
            .filter(|f| f.ends_with("TEN201"))
            .collect::<Vec<_>>(),
        vec![
            "app/models.py:25:16 TEN201",
            "app/models.py:28:16 TEN201",
            "app/models.py:34:16 TEN201"
        ]
    );
}

/// `<relation>__in=` a tenant-filtered subquery that reads keys of the relation's target pins the
/// relation; so does `pk__in=` one whose values path reaches this model through relations. A
/// subquery that is not tenant-filtered, or reads keys of another model, pins nothing.
#[test]
fn relation_subqueries_and_key_paths() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    views_scoped_models(
        root,
        "from django.db import models\n\n\nclass Tenant(models.Model):\n    pass\n\n\nclass Project(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n\n\nclass Issue(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n    project = models.ForeignKey(Project, on_delete=models.CASCADE)\n\n\nclass Comment(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n    issue = models.ForeignKey(Issue, on_delete=models.CASCADE)\n",
        Some(
            "from app.models import Comment, Issue, Project\n\n\ndef view(request, tenant):\n    issue_ids = Issue.objects.filter(tenant=tenant).values_list(\"id\", flat=True)\n    a = Comment.objects.filter(issue__in=issue_ids)\n    titled_ids = Issue.objects.filter(title=\"x\").values_list(\"id\")\n    b = Comment.objects.filter(issue_id__in=titled_ids)\n    project_ids = Project.objects.filter(tenant=tenant).values_list(\"id\")\n    c = Comment.objects.filter(issue__in=project_ids)\n    linked_project_ids = Comment.objects.filter(tenant=tenant).values_list(\"issue__project_id\")\n    d = Project.objects.filter(id__in=linked_project_ids)\n    return a, b, c, d\n",
        ),
    );
    assert_eq!(
        findings_in(root, "app/views.py"),
        vec![
            "app/views.py:7:18 TEN201",
            "app/views.py:8:9 TEN201",
            "app/views.py:10:9 TEN201"
        ]
    );
}

/// Periodic jobs are global on purpose (the fixture `ten201_periodic_tasks` has the quiet and the
/// reported cases); `global-periodic-tasks = false` reports their queries too, and the management
/// command and the migration stay quiet either way (`bypass-allowed-paths`).
#[test]
fn global_periodic_tasks_can_be_turned_off() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    common::copy_dir(&fixture("ten201_periodic_tasks"), root);
    let quiet = findings(root, &["--no-cache"]);
    assert_eq!(quiet.len(), 10, "{quiet:#?}");
    write(
        root,
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.tenantlint]\nglobal-periodic-tasks = false\n",
    );
    let all = findings(root, &["--no-cache"]);
    let added: Vec<&String> = all.iter().filter(|f| !quiet.contains(f)).collect();
    assert_eq!(
        added,
        vec![
            "shop/jobs.py:11:12 TEN201",
            "shop/jobs.py:34:14 TEN201",
            "shop/tasks.py:9:5 TEN201",
            "shop/tasks.py:12:16 TEN201",
            "shop/tasks.py:20:5 TEN201",
            "shop/tasks.py:26:5 TEN201",
            "shop/tasks.py:57:16 TEN201",
        ],
        "{all:#?}"
    );
    assert!(show_settings(root).contains("global-periodic-tasks = false"));
    assert!(
        all.iter()
            .all(|f| !f.contains("management/") && !f.contains("migrations/")),
        "{all:#?}"
    );
}

/// Keys stored into a lookup dict after it was built (`kw["tenant"] = t`, onesila's
/// `tasks_runner.py`) count when the store runs whenever the dict's assignment did: in the same
/// block or one around it, and not after the dict was assigned again. A store under an `if` or in
/// a loop may not run.
#[test]
fn keys_stored_into_a_lookup_dict() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    views_scoped_project(
        root,
        "app/views.py",
        "from app.models import Issue\n\n\ndef branches(tenant, extra=None):\n    if extra is None:\n        kw = {\"title\": \"a\", \"tenant\": tenant}\n    else:\n        kw = {**extra}\n        if \"title\" not in kw:\n            kw[\"title\"] = \"a\"\n        kw[\"tenant\"] = tenant\n    return Issue.objects.filter(**kw)\n\n\ndef conditional_add(tenant, flag):\n    kw = {\"title\": \"a\"}\n    if flag:\n        kw[\"tenant\"] = tenant\n    return Issue.objects.filter(**kw)\n\n\ndef after_if(tenant, flag):\n    kw = {\"title\": \"a\"}\n    if flag:\n        kw[\"title\"] = \"b\"\n    kw[\"tenant\"] = tenant\n    return Issue.objects.filter(**kw)\n\n\ndef reassigned(tenant):\n    kw = {\"title\": \"a\"}\n    kw[\"tenant\"] = tenant\n    kw = {\"title\": \"b\"}\n    return Issue.objects.filter(**kw)\n\n\ndef copied(tenant):\n    kw = {\"title\": \"a\"}\n    kw[\"tenant\"] = tenant\n    other = kw.copy()\n    return Issue.objects.filter(**other)\n\n\ndef loop_add(tenants):\n    kw = {\"title\": \"a\"}\n    for t in tenants:\n        kw[\"tenant\"] = t\n    return Issue.objects.filter(**kw)\n",
    );
    assert_eq!(
        findings_in(root, "app/views.py"),
        vec![
            "app/views.py:19:12 TEN201",
            "app/views.py:34:12 TEN201",
            "app/views.py:48:12 TEN201"
        ]
    );
}

/// `capability-fields` (the fixture `config_capability_fields` has the cases): validated as a
/// list of names, shown by `--show-settings`, and `extend-capability-fields` adds to it.
#[test]
fn capability_fields_is_a_validated_extendable_key() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    common::copy_dir(&fixture("config_capability_fields"), root);
    write(
        root,
        "tenantlint.toml",
        "scoped-managers = []\ncapability-fields = [\"Board.anchor\"]\nextend-capability-fields = [\"Check.code\"]\n",
    );
    let found = findings(root, &["--no-cache"]);
    assert!(
        !found.iter().any(|f| f.starts_with("boards/views.py:43:")),
        "{found:#?}"
    );
    // `token` is no longer configured: the invitation lookup is reported.
    assert!(
        found.iter().any(|f| f == "boards/views.py:20:12 TEN201"),
        "{found:#?}"
    );
    let shown = show_settings(root);
    assert!(
        shown.contains(r#"capability-fields = ["Board.anchor", "Check.code"]"#),
        "{shown}"
    );
    write(
        root,
        "tenantlint.toml",
        "capability-fields = [\"Board.\"]\n",
    );
    assert!(config_error(root).contains("capability-fields"));
}

/// Keys of rows in hand through locals: `project_id = project.id` with `project` a loop variable
/// over a local holding a query (plane's `archive_old_issues`), and the values a loop unpacks from
/// a `values_list` query (`for title, project_id in pairs`), pin the lookups they are given. A
/// loop over a plain parameter's items pins nothing.
#[test]
fn keys_of_rows_in_hand_through_locals() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    write_tenant_models(root);
    write(
        root,
        "app/views.py",
        "from app.models import Issue, Project\n\n\ndef archive(request):\n    projects = Project.objects.filter(tenant=request.tenant)\n    for project in projects:\n        project_id = project.id\n        Issue.objects.filter(project=project_id, title=\"old\").delete()\n\n\ndef expire(request):\n    pairs = Issue.objects.filter(tenant=request.tenant).values_list(\"title\", \"project_id\")\n    for title, project_id in pairs:\n        Project.objects.filter(id=project_id).update(title=title)\n\n\ndef not_a_query(request, ids):\n    for project_id in ids:\n        Issue.objects.filter(project=project_id, title=\"x\").delete()\n",
    );
    write(root, "pyproject.toml", "[project]\nname = \"x\"\n");
    write(
        root,
        "tenantlint.toml",
        "scoped-managers = []\nstrict-parent-lookups = true\n",
    );
    assert_eq!(
        findings_in(root, "app/views.py"),
        vec!["app/views.py:19:9 TEN201"]
    );
}

/// `tenant-parent-fields` (the fixture `config_tenant_parent_fields` has the cases): empty by
/// default (nothing is owned through a parent), validated as plain field names, shown by
/// `--show-settings`, and `extend-tenant-parent-fields` adds to it.
#[test]
fn tenant_parent_fields_is_a_validated_extendable_key() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    common::copy_dir(&fixture("config_tenant_parent_fields"), root);
    write(root, "tenantlint.toml", "");
    assert!(
        findings(root, &["--no-cache"]).is_empty(),
        "nothing is owned through a parent by default"
    );
    assert!(show_settings(root).contains("tenant-parent-fields = []"));
    // Only `project`: issues are owned, events (through `issue`) are not.
    write(
        root,
        "tenantlint.toml",
        "extend-tenant-parent-fields = [\"project\"]\n",
    );
    assert_eq!(
        findings(root, &["--no-cache"]),
        vec![
            "tracker/views.py:14:12 TEN201",
            "tracker/views.py:19:12 TEN201"
        ]
    );
    write(
        root,
        "tenantlint.toml",
        "tenant-parent-fields = [\"project\"]\nextend-tenant-parent-fields = [\"issue\"]\n",
    );
    assert!(
        show_settings(root).contains(r#"tenant-parent-fields = ["project", "issue"]"#),
        "{}",
        show_settings(root)
    );
    assert_eq!(findings(root, &["--no-cache"]).len(), 3);
    write(
        root,
        "tenantlint.toml",
        "tenant-parent-fields = [\"tracker.project\"]\n",
    );
    assert!(config_error(root).contains("tenant-parent-fields"));
}

/// `tenant-view-mixins` (the fixture `config_tenant_view_mixins` has the cases): empty by
/// default, shown by `--show-settings`, and `extend-tenant-view-mixins` adds to it.
#[test]
fn tenant_view_mixins_is_an_extendable_key() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    common::copy_dir(&fixture("config_tenant_view_mixins"), root);
    write(root, "pyproject.toml", "[project]\nname = \"api\"\n");
    assert_eq!(findings(root, &["--no-cache"]).len(), 4);
    assert!(show_settings(root).contains("tenant-view-mixins = []"));
    write(
        root,
        "pyproject.toml",
        "[project]\nname = \"api\"\n\n[tool.tenantlint]\nextend-tenant-view-mixins = [\"FilterByOrganizationManaged\", \"FilterByParentManaged\"]\n",
    );
    assert_eq!(
        findings(root, &["--no-cache"]),
        vec!["api/views.py:25:16 TEN204"]
    );
}
