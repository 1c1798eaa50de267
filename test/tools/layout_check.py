#!/usr/bin/env python3
"""Checks the layout of the e911 module (docs/architecture.md):

  python3 test/tools/layout_check.py modules/e911

- the pure core (core/*.c, core/*.h) includes, in quotes, only headers of
  the core itself: no Kamailio header ("../../core/...", "../../modules/...",
  "../../lib/..."), no header or source of the glue beside it;
- the glue (*.c, *.h beside core/) has no include cycle between its
  components (a component is a file stem: e911_lookup.c and e911_lookup.h
  are one), so a file including a header whose .c includes the first
  file's header is a cycle too;
- e911_mod.c (the module's wiring) is included by nobody.

Prints each violation and exits 1; prints a summary and exits 0 otherwise.
"""

import os
import re
import sys

INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
KAMAILIO = re.compile(r"(^|/)(core|modules|lib)/")
WIRING = "e911_mod"


def includes(path):
    """The (quoted, name) includes of a C file, comments left out."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = COMMENT.sub("", f.read())
    return [(m.group(1) == '"', m.group(2).strip()) for m in INCLUDE.finditer(text)]


def c_files(folder):
    return sorted(
        n
        for n in os.listdir(folder)
        if n.endswith((".c", ".h")) and os.path.isfile(os.path.join(folder, n))
    )


def check_core(module, errors):
    core = os.path.join(module, "core")
    own = set(c_files(core))
    glue = set(c_files(module))
    for name in sorted(own):
        for quoted, inc in includes(os.path.join(core, name)):
            where = "core/%s: #include %s" % (name, inc)
            if KAMAILIO.search(inc) or ".." in inc.split("/"):
                errors.append("%s: the core includes no Kamailio header "
                              "and nothing outside core/" % where)
            elif os.path.basename(inc) in glue and inc not in own:
                errors.append("%s: the core includes no glue file" % where)
            elif quoted and inc not in own:
                errors.append("%s: not a header of the core" % where)
    return len(own)


def strongly_connected(graph):
    """Tarjan's strongly connected components of graph (node -> set)."""
    index, low, stack, on_stack, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def check_glue(module, errors):
    files = c_files(module)
    present = set(files)
    graph = {}
    why = {}
    for name in files:
        src = os.path.splitext(name)[0]
        graph.setdefault(src, set())
        for quoted, inc in includes(os.path.join(module, name)):
            if not quoted or "/" in inc or inc not in present:
                continue
            dst = os.path.splitext(inc)[0]
            if dst == WIRING:
                errors.append("%s: #include %s: %s.c only wires, nobody "
                              "includes it" % (name, inc, WIRING))
            if dst != src:
                graph[src].add(dst)
                why.setdefault((src, dst), "%s includes %s" % (name, inc))
    for comp in strongly_connected(graph):
        if len(comp) < 2:
            continue
        members = set(comp)
        edges = sorted(why[(a, b)] for a in comp for b in graph[a] if b in members)
        errors.append("include cycle between %s: %s"
                      % (", ".join(comp), "; ".join(edges)))
    return len(graph), sum(len(v) for v in graph.values())


def main(argv):
    if len(argv) != 2 or not os.path.isdir(os.path.join(argv[1], "core")):
        print("usage: %s MODULE_DIR (the folder holding core/)" % argv[0],
              file=sys.stderr)
        return 2
    module = argv[1]
    errors = []
    ncore = check_core(module, errors)
    ncomp, nedges = check_glue(module, errors)
    for e in errors:
        print("FAIL " + e)
    if errors:
        return 1
    print("ok: %d core files include only the core; %d glue components, "
          "%d include edges, no cycle; %s.c included by nobody"
          % (ncore, ncomp, nedges, WIRING))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
