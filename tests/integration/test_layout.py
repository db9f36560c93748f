"""The shim's structure (issue 19) as docs/architecture.md draws it: one folder per layer, a folder uses
only the folders below it, the files of a folder never call each other in a circle, and nothing of the
shim sees runtime/lib (only runtime/include/coi-runtime.h and common/). Reads the sources, the build's
compile commands and its object files (nm); runs no binary of coi."""
import functools
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("COI_BUILD_DIR", ROOT / "build"))
SHIM = ROOT / "shim"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_order():
    """The folders of docs/architecture.md's picture ("## The shim's layers"), bottom up."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    section = doc.split("## The shim's layers", 1)[1]
    picture = section.split("```")[1]
    picture = picture[: picture.rindex("\n ─")]  # below the last rule: what the shim stands on
    top_down = re.findall(r"^  ([a-z]+)/ ", picture, re.M)
    assert top_down, "docs/architecture.md: no folders in the picture of the shim's layers"
    return list(reversed(top_down))


def shim_files():
    return sorted(p for p in SHIM.glob("*/*") if p.suffix in (".c", ".h"))


def test_the_picture_is_the_folders():
    order = layer_order()
    folders = sorted({p.parent.name for p in shim_files()})
    assert sorted(order) == folders, f"docs/architecture.md draws {order}, shim/ has {folders}"
    assert not [p.name for p in SHIM.glob("*.[ch]")], "shim/ itself holds no sources: each file is in a layer"
    subdirs = re.findall(r"^subdir\('([a-z]+)'\)", (SHIM / "meson.build").read_text(), re.M)
    assert subdirs == order, f"shim/meson.build builds {subdirs}, the layers bottom up are {order}"


def include_violations(order):
    common = {p.name for p in (ROOT / "common").glob("*.h")}
    runtime_lib = {p.name for p in (ROOT / "runtime" / "lib").glob("*.h")}
    bad = []
    for f in shim_files():
        here = f.parent.name
        text = f.read_text()
        for m in INCLUDE.finditer(text):
            name = m.group(1)
            where = f"shim/{f.relative_to(SHIM)}:{text.count(chr(10), 0, m.start()) + 1}: #include \"{name}\""
            if "/" in name:
                folder, rest = name.split("/", 1)
                if folder not in order or "/" in rest or not (SHIM / folder / rest).is_file():
                    bad.append(f"{where}: not a header of a shim folder")
                elif folder == here:
                    bad.append(f"{where}: its own folder's header is named without the folder")
                elif order.index(folder) > order.index(here):
                    bad.append(f"{where}: {here}/ is below {folder}/, so it may not use it")
            elif (f.parent / name).is_file() or name in common or name == "coi-runtime.h":
                continue
            elif name in runtime_lib:
                bad.append(f"{where}: runtime/lib is the runtime's inside; use coi-runtime.h")
            else:
                bad.append(f"{where}: not in {here}/, common/ or runtime/include/")
    return bad


def test_includes_go_down_the_layers_only():
    assert include_violations(layer_order()) == []


def test_the_check_sees_an_include_against_the_layers(tmp_path, monkeypatch):
    """The check above can fail: a net/ file that includes cli/ and runtime/lib/ headers is caught."""
    fake = tmp_path / "shim"
    for folder in layer_order():
        (fake / folder).mkdir(parents=True)
    (fake / "cli" / "commands.h").write_text("")
    (fake / "net" / "net.c").write_text('#include "cli/commands.h"\n#include "cgroup.h"\n#include "util.h"\n')
    monkeypatch.setattr(sys.modules[__name__], "SHIM", fake)
    bad = include_violations(layer_order())
    assert len(bad) == 2, bad
    assert "net/ is below cli/" in bad[0] and "runtime/lib" in bad[1]


def test_the_shim_compiles_without_runtime_lib_on_its_path():
    db = BUILD / "compile_commands.json"
    if not db.exists():
        pytest.skip(f"{db} is missing: run meson setup {BUILD}")
    lib = str(ROOT / "runtime" / "lib")
    bad = []
    for entry in json.loads(db.read_text()):
        src = (pathlib.Path(entry["directory"]) / entry["file"]).resolve()
        if SHIM in src.parents:
            for inc in re.findall(r"-I\s*(\S+)", entry["command"]):
                if str((pathlib.Path(entry["directory"]) / inc).resolve()) == lib:
                    bad.append(f"{src.relative_to(ROOT)} is compiled with -I{inc}")
    assert bad == []


@functools.lru_cache(maxsize=None)
def symbols():
    """The shim's object files (nm): where each global symbol is defined, what each file uses."""
    # Generated sources (meson-generated_…: the default seccomp profile as C data) belong to no folder.
    objects = sorted(o for o in (BUILD / "shim").glob("*.p/*.c.o") if not o.name.startswith("meson-generated_"))
    defined, used = {}, {}
    for o in objects:
        folder, _, name = o.name[: -len(".c.o")].partition("_")
        node = (folder, name + ".c")
        out = subprocess.run(["nm", str(o)], capture_output=True, text=True, check=True).stdout
        used[node] = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBR":
                defined[parts[2]] = node
            elif len(parts) == 2 and parts[0] == "U":
                used[node].add(parts[1])
    return defined, used


def symbol_graph():
    """Who calls whom among the shim's object files: {(folder, file): set of (folder, file)}."""
    defined, used = symbols()
    if not used:
        pytest.skip(f"no shim objects in {BUILD}/shim: run ninja -C {BUILD}")
    return {node: {defined[s] for s in syms if s in defined and defined[s] != node} for node, syms in used.items()}


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_files_of_a_folder_call_each_other_in_a_circle():
    graph = symbol_graph()
    inside = {v: {w for w in ws if w[0] == v[0]} for v, ws in graph.items()}
    assert [" ↔ ".join(f"{d}/{f}" for d, f in c) for c in cycles(inside)] == []


def test_calls_go_down_the_layers_only():
    order = layer_order()
    bad = [f"{a[0]}/{a[1]} calls {b[0]}/{b[1]}" for a, bs in symbol_graph().items() for b in sorted(bs)
           if order.index(b[0]) > order.index(a[0])]
    assert bad == []


def test_headers_declare_only_what_their_layer_or_below_defines():
    """A folder's header that declares a function of a higher folder (cmd_* in net/net.h) draws a
    dependency upwards that no include shows."""
    order = layer_order()
    symbol_graph()  # skips without a build
    defined, _ = symbols()
    bad = []
    for h in sorted(SHIM.glob("*/*.h")):
        for name in sorted(set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", h.read_text()))):
            if name in defined and order.index(defined[name][0]) > order.index(h.parent.name):
                bad.append(f"shim/{h.relative_to(SHIM)} declares {name}() of {defined[name][0]}/{defined[name][1]}")
    assert bad == []


def test_the_cycle_check_sees_a_circle():
    graph = {("net", "a.c"): {("net", "b.c")}, ("net", "b.c"): {("net", "c.c")}, ("net", "c.c"): {("net", "a.c")},
             ("net", "d.c"): {("net", "a.c")}}
    assert cycles(graph) == [[("net", "a.c"), ("net", "b.c"), ("net", "c.c")]]
