#!/bin/sh
# (Re)creates the seed corpora of the libFuzzer targets, test/fuzz/corpus/
# <target>/, from the unit-test data, so every case the unit tests know is
# also where fuzzing starts (and what the replay ctest runs):
#
#   fuzz_record  test/data/record/{valid,invalid}/*/input.json and
#                test/data/pidf/*/record.json, as they are
#   fuzz_pidf    the same valid records re-encoded in fuzz_pidf.c's input
#                format (flags, knob, geo, NUL-separated fields)
#   fuzz_dial    the three plans of test_dial.c with the dialled strings and
#                URNs of test/data/dial/*.txt, one seed per line and one per
#                file, plus the invalid plans; and the per-country cases of
#                test/data/dial/countries (plan file and calls)
#   fuzz_mime    test/data/mime/*: a length byte, ctype, body
#   fuzz_geoloc  every "in:" value of test/data/geoloc/cases.txt, and the
#                URIs of test/data/geoloc/policy.txt as Geolocation values
#   fuzz_ruri    the URNs of test/data/dial/ruri_urns.txt and urns.txt and
#                the dialled strings of test/data/dial/*.txt, escaped
#   fuzz_replication  test/data/replication/{valid,invalid}/*/body
#   fuzz_sitemap test/data/sitemap/{valid,invalid}/*/map.json, as they are
#
# plus, for every target, the inputs kept in test/fuzz/regress/<target>/:
# findings of past fuzzing runs (add a minimised crash input there when
# fixing what it found, so the replay ctest keeps checking it).
#
# Seeds are named after their case and kept small (the whole set well
# under 2 MB). Usage: test/fuzz/make-corpus.sh (from anywhere; needs
# python3). Commit the result.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
exec python3 - "$here" <<'EOF'
import json, os, re, shutil, struct, sys

fuzz = sys.argv[1]
data = os.path.normpath(os.path.join(fuzz, '..', 'data'))
corpus = os.path.join(fuzz, 'corpus')
counts = {}

def reset(target):
    d = os.path.join(corpus, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    counts[target] = 0
    return d

def seed(target, name, blob):
    name = re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:100]
    with open(os.path.join(corpus, target, name), 'wb') as f:
        f.write(blob)
    counts[target] += 1

def read(path):
    with open(path, 'rb') as f:
        return f.read()

def cases(sub, fname):
    base = os.path.join(data, sub)
    for kind in sorted(os.listdir(base)):
        kd = os.path.join(base, kind)
        if not os.path.isdir(kd):
            continue
        for case in sorted(os.listdir(kd)):
            p = os.path.join(kd, case, fname)
            if os.path.isfile(p):
                yield kind, case, p

# ---- fuzz_record --------------------------------------------------------
reset('fuzz_record')
valid_json = []
for kind, case, p in cases('record', 'input.json'):
    seed('fuzz_record', kind + '_' + case, read(p))
    if kind == 'valid':
        valid_json.append((case, read(p)))
for case in sorted(os.listdir(os.path.join(data, 'pidf'))):
    p = os.path.join(data, 'pidf', case, 'record.json')
    if os.path.isfile(p):
        seed('fuzz_record', 'pidf_' + case, read(p))
        valid_json.append(('pidf_' + case, read(p)))

# ---- fuzz_pidf (format: see fuzz_pidf.c) --------------------------------
CIVIC = ['country', 'A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'PRM', 'PRD', 'RD',
         'STS', 'POD', 'POM', 'RDSEC', 'RDBR', 'RDSUBBR', 'HNO', 'HNS', 'LMK',
         'LOC', 'FLR', 'NAM', 'PC', 'BLD', 'UNIT', 'ROOM', 'SEAT', 'PLC', 'PCN',
         'POBOX', 'ADDCODE', 'STP', 'HNP', 'MP', 'PN']
EXTRA = ['key', 'callback', 'updated_at', 'route', 'endpoint_id', 'mobility',
         'networks', 'site', 'Country']
NAMES = CIVIC + EXTRA

def sel(name):
    # the selector byte is the index modulo len(NAMES); never NUL, which
    # separates fields
    return bytes([NAMES.index(name) or len(NAMES)])

def scalar(v):
    if isinstance(v, str):
        return v.encode('utf-8')
    if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
        return None
    return json.dumps(v).encode()

def pidf_seed(doc, escape_high):
    flags = 0x80 | (0x20 if escape_high else 0)
    geo = b''
    g = doc.get('geo')
    if isinstance(g, dict) and isinstance(g.get('lat'), (int, float)) \
            and isinstance(g.get('lon'), (int, float)):
        flags |= 0x01
        lat = max(-2**31, min(2**31 - 1, round(g['lat'] / 90.0 * 2**31)))
        lon = max(-2**31, min(2**31 - 1, round(g['lon'] / 180.0 * 2**31)))
        r = g.get('radius_m')
        rr = 0
        if isinstance(r, (int, float)) and r > 0:
            flags |= 0x02
            rr = max(0, min(2**32 - 1, round(r * 214.0)))
        geo = struct.pack('<iiI', lat, lon, rr)
    if isinstance(doc.get('validated'), bool):
        flags |= 0x04 | (0x08 if doc['validated'] else 0)
    knob = 1790000000
    if isinstance(doc.get('max_age'), int) and doc['max_age'] >= 0:
        flags |= 0x10
        knob = 1790000000 - 1790000000 % 100000 + doc['max_age'] % 100000
    fields = []
    civic = doc.get('civic')
    if isinstance(civic, dict):
        for k, v in civic.items():
            if k in CIVIC and scalar(v) is not None:
                fields.append(sel(k) + scalar(v))
    for k in ('key', 'callback', 'updated_at', 'endpoint_id', 'mobility'):
        if scalar(doc.get(k)) is not None:
            fields.append(sel(k) + scalar(doc[k]))
    nets = doc.get('networks')
    if isinstance(nets, list) and nets and isinstance(nets[0], str):
        fields.append(sel('networks') + nets[0].encode())
    site = doc.get('site')
    if isinstance(site, dict):
        bits = (1 if site.get('multi_floor') is True else 0) | \
               (2 if site.get('multi_unit') is True else 0)
        fields.append(sel('site') + bytes([0x30 | bits]))
    route = doc.get('route')
    if isinstance(route, dict) and isinstance(route.get('uri'), str):
        fields.append(sel('route') + route['uri'].encode())
    return bytes([flags]) + struct.pack('<I', knob) + geo + b'\0'.join(fields)

reset('fuzz_pidf')
for case, text in valid_json:
    try:
        doc = json.loads(text)
    except ValueError:
        continue
    if not isinstance(doc, dict):
        continue
    blob = pidf_seed(doc, False)
    if b'\0\0' in blob[5:] or len(blob) < 6:
        continue
    seed('fuzz_pidf', case, blob)
    if any(b >= 0x80 for b in blob[5:]):
        seed('fuzz_pidf', case + '_escaped', pidf_seed(doc, True))

# ---- fuzz_dial -------------------------------------------------------------
reset('fuzz_dial')
plans = {
    'default.txt': '911,112\n933\n9\n',
    'countries.txt': '911, 112,999 ,000,110=urn:service:sos.police,'
                     '119=urn:service:sos.fire\n933\n9,0,81\n',
    'urns.txt': '911,112\n933\n9\n',
}
for fname, plan in plans.items():
    lines = []
    for line in read(os.path.join(data, 'dial', fname)).decode().splitlines():
        if not line or line.startswith('#'):
            continue
        dialled = line.split()[0]
        lines.append(dialled)
        seed('fuzz_dial', fname[:-4] + '_' + dialled, (plan + dialled).encode())
    seed('fuzz_dial', fname[:-4] + '_all', (plan + '\n'.join(lines)).encode())
seed('fuzz_dial', 'no_prefixes', b'911\n\n\n911\n9911\n933\n')
# per-country plans: "@CC", prefixes, the plan file, "--", "<cc> <dialled>"
cdir = os.path.join(data, 'dial', 'countries')
for kind in ('valid', 'invalid'):
    kd = os.path.join(cdir, kind)
    if not os.path.isdir(kd):
        continue
    for case in sorted(os.listdir(kd)):
        cf = os.path.join(kd, case, 'cases.txt')
        if not os.path.isfile(cf):
            continue
        default, prefixes, plan, calls = 'US', '', b'', []
        for line in read(cf).decode('utf-8', 'replace').splitlines():
            w = line.split()
            if not w or line.startswith('#'):
                continue
            if w[0] == '@default' and len(w) > 1:
                default = w[1]
            elif w[0] == '@prefixes' and len(w) > 1:
                prefixes = w[1]
            elif w[0] == '@file' and len(w) > 1:
                pf = os.path.join(kd, case, w[1])
                plan = read(pf) if os.path.isfile(pf) else b''
            elif len(w) >= 2:
                calls.append(w[0] + ' ' + w[1])
        if plan and not plan.endswith(b'\n'):
            plan += b'\n'
        blob = ('@%s\n%s\n' % (default, prefixes)).encode() + plan + \
            b'--\n' + '\n'.join(calls).encode()
        seed('fuzz_dial', 'countries_%s_%s' % (kind, case), blob)
for i, bad in enumerate([('91a', '', ''), ('911', '9 3 3', ''),
                         ('911', '933', 'x'), ('1234567890123456', '', ''),
                         ('911=http://x', '', ''),
                         ('911=urn:service:counseling', '', '')]):
    seed('fuzz_dial', 'bad_plan_%d' % i, ('\n'.join(bad) + '\n911').encode())

# ---- fuzz_mime ---------------------------------------------------------------
reset('fuzz_mime')
mdir = os.path.join(data, 'mime')
for case in sorted(os.listdir(mdir)):
    d = os.path.join(mdir, case)
    if not os.path.isfile(os.path.join(d, 'ctype')):
        continue
    ct = read(os.path.join(d, 'ctype'))[:255]
    body = read(os.path.join(d, 'body'))
    seed('fuzz_mime', case, bytes([len(ct)]) + ct + body)
    # the expected result as a body of its own: a multipart/mixed to which
    # a sibling is added
    ex = os.path.join(d, 'expected')
    ect = os.path.join(d, 'expected-ctype')
    if os.path.isfile(ex) and os.path.isfile(ect):
        ct2 = read(ect)[:255] or ct
        seed('fuzz_mime', case + '_again', bytes([len(ct2)]) + ct2 + read(ex))

# ---- fuzz_geoloc ---------------------------------------------------------------
reset('fuzz_geoloc')

def decode(s):
    out = bytearray()
    i = 0
    b = s.encode('utf-8')
    while i < len(b):
        two = b[i:i + 2]
        if two in (b'\\t', b'\\r', b'\\n', b'\\\\'):
            out += {b'\\t': b'\t', b'\\r': b'\r', b'\\n': b'\n',
                    b'\\\\': b'\\'}[two]
            i += 2
        elif two == b'\\x' and re.match(rb'[0-9A-Fa-f]{2}', b[i + 2:i + 4]):
            out.append(int(b[i + 2:i + 4], 16))
            i += 4
        else:
            out.append(b[i])
            i += 1
    return bytes(out)

name = None
for line in read(os.path.join(data, 'geoloc', 'cases.txt')).decode().splitlines():
    if line.startswith('case:'):
        name = line[5:].strip()
    elif line.startswith('in:') and name:
        v = line[3:]
        seed('fuzz_geoloc', name, decode(v[1:] if v.startswith(' ') else v))
for i, line in enumerate(read(os.path.join(data, 'geoloc', 'policy.txt')).decode().splitlines()):
    f = line.split(' | ')
    if len(f) == 3 and f[0] in ('allow', 'deny'):
        seed('fuzz_geoloc', 'policy_%d' % i, ('<%s>' % f[2]).encode())

# ---- fuzz_ruri -------------------------------------------------------------------
reset('fuzz_ruri')
for fname in ('ruri_urns.txt', 'urns.txt', 'default.txt'):
    for i, line in enumerate(read(os.path.join(data, 'dial', fname)).decode().splitlines()):
        if not line.strip() or line.startswith('#'):
            continue
        v = line.split()[0]
        seed('fuzz_ruri', '%s_%d' % (fname[:-4], i), v.encode())
        if not v.startswith('urn:'):
            esc = ''.join('%%%02X' % ord(c) if c.isdigit() else c for c in v)
            seed('fuzz_ruri', '%s_%d_escaped' % (fname[:-4], i), (esc + ';phone-context=+1').encode())
for i, v in enumerate(['%', '%3', '%zz', '%;31', '9%391%31', '%00%39']):
    seed('fuzz_ruri', 'escape_%d' % i, v.encode())
# ---- fuzz_replication: DMQ bodies ---------------------------------------------
reset('fuzz_replication')
for sub in ('valid', 'invalid'):
    d = os.path.join(data, 'replication', sub)
    for c in sorted(os.listdir(d)):
        seed('fuzz_replication', sub + '_' + c, read(os.path.join(d, c, 'body')))
# ---- fuzz_sitemap --------------------------------------------------------------
reset('fuzz_sitemap')
for kind in ('valid', 'invalid'):
    base = os.path.join(data, 'sitemap', kind)
    for case in sorted(os.listdir(base)):
        seed('fuzz_sitemap', kind + '_' + case,
             read(os.path.join(base, case, 'map.json')))

# ---- regressions -----------------------------------------------------------------
for t in sorted(counts):
    rd = os.path.join(fuzz, 'regress', t)
    if os.path.isdir(rd):
        for f in sorted(os.listdir(rd)):
            seed(t, 'regress_' + f, read(os.path.join(rd, f)))

total = 0
for root, _, files in os.walk(corpus):
    total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
for t in sorted(counts):
    print('%-12s %4d seeds' % (t, counts[t]))
print('total %d bytes' % total)
if total > 2 * 1024 * 1024:
    sys.exit('corpus larger than 2 MB')
EOF
