import json, re, sys, collections
test = re.compile(r'(^|/)(tests?|testing)(/|$)|(^|/)test_[^/]*\.py$|_tests?\.py$|(^|/)tests\.py$|(^|/)conftest\.py$|(^|/)settings/testing\.py$|test_settings\.py$')
PARENT = r'\b(project|project_id|project__\w+|issue|issue_id|issue__\w+|module|module_id|cycle|cycle_id|parent|parent_id|sales_channel|sales_channel_id|product|product_id|remote_product|user_story|user_story_id|milestone|milestone_id|event|event_id|check|owner|content_type|object_id|team|team_id|page_id|page|view|remote_instance|local_instance|import_process|sales_channel_view|property|property_id|order|order_id|workflow|inbound|intake|label|state|state_id)\s*='
def stmt(L, r):
    s = L[r-1]; depth = s.count('(') - s.count(')'); i = r
    while depth > 0 and i < len(L) and i < r+12:
        s += ' ' + L[i].strip(); depth += L[i].count('(') - L[i].count(')'); i += 1
    return s
def classify(name, x, L):
    f = x['filename']; r = x['location']['row']; s = stmt(L, r); code = x['code']
    if code != 'TEN201': return None
    if '/migrations/' in f: return 'intentional', 'migration'
    if '/management/commands/' in f: return 'intentional', 'management command / cron job'
    if re.search(r'\.(none)\(\)', s): return 'wrong', '.none() empty queryset'
    if re.search(r'\.objects\.(bulk_update|create|bulk_create|get_or_create|update_or_create)\(', s) and not re.search(r'\.objects\.(filter|get|all)', s): return 'wrong', 'write/create through manager (not a read of other rows)'
    if 'OuterRef(' in s: return 'wrong', 'correlated subquery (OuterRef) inside an already-scoped query'
    if re.search(r'Prefetch\(', s) or re.search(r'queryset\s*=\s*\w+(\.\w+)*\.objects', s) and not re.search(r'^\s{4}queryset\s*=', L[r-1]): return 'wrong', 'Prefetch()/field queryset= evaluated under a scoped parent'
    if re.search(r'^\s{4}queryset\s*=', L[r-1]): return 'wrong', 'DRF class-level queryset narrowed by get_queryset/filter_backends'
    if '**' in s and re.search(r'\.(filter|get|exclude)\(\s*\*\*', s): return 'wrong', 'tenant filter inside a **dict'
    if re.search(r'\b(pk|id)(__in)?\s*=\s*(self|obj|instance|\w+)\.(pk|id)\b|\(\s*(pk|id)\s*=\s*self\.', s) or re.search(r'pk__in=\[\w+\.pk for', s): return 'wrong', 'pk of an object already in hand'
    if re.search(PARENT, s): return 'wrong', 'filter on a tenant-owned parent FK (transitively scoped)'
    return 'unclassified', ''
name = sys.argv[1]
import os
d = json.load(open(os.path.join(os.environ.get('OUT', '/tmp/tenantlint-real'), f'{name}.json')))
ROOT = os.environ.get('REAL_ROOT', '/work/realprojects')
out = collections.Counter(); ex = {}
for x in d:
    if test.search(x['filename']): continue
    L = open(f"{ROOT}/{name}/{x['filename']}").read().splitlines()
    c = classify(name, x, L)
    if c is None: continue
    out[c] += 1; ex.setdefault(c, []).append(f"{x['filename']}:{x['location']['row']}")
    if c[0]=='unclassified' and len(sys.argv)>2: print(f"{x['filename']}:{x['location']['row']}  {L[x['location']['row']-1].strip()[:120]}")
for k, v in out.most_common(): print(v, k, ex[k][:2])
