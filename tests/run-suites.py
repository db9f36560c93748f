#!/usr/bin/python3
"""Builds coi and runs every test suite; the last line is "N passed, N failed, N skipped".

Called by tests/run (which first installs what is missing). Suites:
  format       every C file is clang-format clean (.clang-format at the top)
  unit         cmocka tests, built with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
  integration  pytest: tests/integration and tests/security, driving the real binaries in build/
  toml         toml-test conformance of the config parser (needs ../shared, beside the checkout)
  vm           tests/vm/run inside a qemu guest with a full cgroup-v2 kernel (exit 77 = skipped)
  stress       tests/stress: kill -9 cycles + coi clean, 20 containers at once (short; --full: 500 cycles)
  conformance  OCI runtime-tools validation vs coi-runtime, runc, crun (needs $COI_RUNTIME_TOOLS, else skipped)
  fuzz         tests/fuzz/run: the libFuzzer harnesses (clang, build-fuzz/) replay every crash reproducer
               and fuzz 35 s per target (exit 77 = skipped: no clang/libFuzzer)
A suite that cannot run here is reported as skipped with its reason, never as passed.
"""
import concurrent.futures
import os
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
BUILD_ASAN = ROOT / "build-asan"
SHARED = ROOT.parent / "shared"


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def add(self, suite, passed, failed, skipped, failures=(), note=""):
        self.passed += passed
        self.failed += failed
        self.skipped += skipped
        self.failures += [f"{suite}: {f}" for f in failures]
        extra = f" ({note})" if note else ""
        print(f"== {suite}: {passed} passed, {failed} failed, {skipped} skipped{extra}", flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, **kw)


class BuildFailed(Exception):
    pass


def build(builddir, *opts):
    steps = [["ninja", "-C", str(builddir)]]
    if not (builddir / "build.ninja").exists():
        steps.insert(0, ["meson", "setup", str(builddir), *opts])
    for cmd in steps:
        r = sh(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print((r.stdout + r.stderr)[-6000:], file=sys.stderr)
            raise BuildFailed(f"{' '.join(cmd)} failed")


def suite_format(t):
    files = sh(["git", "ls-files", "*.c", "*.h"], capture_output=True, text=True).stdout.split()
    bad = []
    for f in files:
        r = sh(["clang-format", "--dry-run", "--Werror", f], capture_output=True, text=True)
        if r.returncode != 0:
            bad.append(f"{f} is not clang-format clean (run clang-format -i {f})")
    t.add("format", len(files) - len(bad), len(bad), 0, bad)


TAP_LINE = re.compile(r"^(not ok|ok) \d+ - (.*?)(\s+# SKIP.*)?$")


def run_unit_test(exe, name):
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP", ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    try:
        r = subprocess.run([exe], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return 0, 1, 0, [f"{name}: timed out"], ""
    passed = failed = skipped = 0
    failures = []
    for line in r.stdout.splitlines():
        m = TAP_LINE.match(line.strip())
        if not m:
            continue
        if m.group(3):
            skipped += 1
        elif m.group(1) == "ok":
            passed += 1
        else:
            failed += 1
            failures.append(f"{name}: {m.group(2)}")
    if r.returncode != 0 and failed == 0:
        # A crash, a sanitizer report or a failing setup: count the program as one failure.
        failed += 1
        failures.append(f"{name}: exited {r.returncode}")
    log = r.stdout + r.stderr if (failed or r.returncode) else ""
    return passed, failed, skipped, failures, log


def suite_unit(t):
    import json

    build(BUILD_ASAN, "-Db_sanitize=address,undefined", "-Dbuildtype=debug", "-Db_lundef=false")
    tests = json.loads(sh(["meson", "introspect", "--tests", str(BUILD_ASAN)], capture_output=True,
                          text=True, check=True).stdout)
    tests = [x for x in tests if any(s.split(":")[-1] == "unit" for s in x.get("suite", []))]
    if not tests:
        t.add("unit", 0, 0, 1, note="no unit tests built (cmocka missing?)")
        return
    totals = [0, 0, 0]
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for p, f, s, fl, log in pool.map(lambda x: run_unit_test(x["cmd"][0], x["name"]), tests):
            totals[0] += p
            totals[1] += f
            totals[2] += s
            failures += fl
            if log:
                print(log, flush=True)
    t.add("unit", *totals, failures)


def suite_integration(t, name="integration", dirs=("tests/integration", "tests/security")):
    dirs = [d for d in dirs if any((ROOT / d).glob("test_*.py"))]
    if not dirs:
        t.add(name, 0, 0, 1, note=f"no {name} tests yet")
        return
    junit = BUILD / f"pytest-junit-{name}.xml"
    env = dict(os.environ, COI_BUILD_DIR=str(BUILD), PYTHONDONTWRITEBYTECODE="1")
    r = sh(["/usr/bin/python3", "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider",
            f"--junitxml={junit}", *dirs], env=env)
    if r.returncode == 5 or not junit.exists():
        t.add(name, 0, 0, 1, note="pytest collected nothing")
        return
    passed = failed = skipped = 0
    failures = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            failures.append(test)
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    if r.returncode not in (0, 1) and failed == 0:
        failed += 1
        failures.append(f"pytest exited {r.returncode}")
    t.add(name, passed, failed, skipped, failures)


def suite_stress(t):
    suite_integration(t, "stress", ("tests/stress",))


def suite_toml(t):
    runner = SHARED / "tools" / "toml-conformance.py"
    if not runner.exists():
        t.add("toml", 0, 0, 1, note=f"{runner} is absent (clone made outside the lab): conformance not run")
        return
    decoder = BUILD_ASAN / "tests" / "toml-decode"
    # A sanitizer report must never pass as "rejected invalid input" (ASan's default exit code is 1).
    env = dict(os.environ, ASAN_OPTIONS="exitcode=99", UBSAN_OPTIONS="halt_on_error=1:exitcode=98")
    r = sh(["/usr/bin/python3", str(runner), "--decoder", str(decoder)], capture_output=True, text=True, env=env)
    m = None
    for line in r.stdout.splitlines():
        m = re.match(r"^(\d+) passed, (\d+) failed$", line.strip()) or m
    if not m:
        t.add("toml", 0, 1, 0, [f"conformance runner printed no summary (exit {r.returncode})"])
        print(r.stdout[-3000:], r.stderr[-3000:])
        return
    fails = [line for line in r.stdout.splitlines() if line.startswith("FAIL")][:20]
    t.add("toml", int(m.group(1)), int(m.group(2)), 0, fails)


def suite_vm(t):
    runner = ROOT / "tests" / "vm" / "run"
    if not runner.exists():
        t.add("vm", 0, 0, 1, note="tests/vm/run not written yet")
        return
    r = sh([str(runner), str(BUILD)], capture_output=True, text=True)
    print(r.stdout[-4000:], end="", flush=True)
    if r.returncode == 77:
        reason = (r.stderr.strip().splitlines() or ["no reason given"])[-1]
        t.add("vm", 0, 0, 1, note=f"skipped: {reason}")
        return
    passed = len(re.findall(r"^PASS ", r.stdout, re.M))
    fails = re.findall(r"^FAIL (.*)$", r.stdout, re.M)
    if r.returncode != 0 and not fails:
        fails = [f"tests/vm/run exited {r.returncode}: {r.stderr.strip()[-300:]}"]
    t.add("vm", passed, len(fails), 0, fails)


def suite_conformance(t):
    # coi-runtime alone (the peers are for the table in docs/runtime.md: tests/conformance/run --markdown)
    r = sh([str(ROOT / "tests" / "conformance" / "run"), "--runtimes", "coi"], capture_output=True, text=True)
    print(r.stdout[-6000:], end="", flush=True)
    if r.returncode == 77:
        t.add("conformance", 0, 0, 1, note=(r.stderr.strip().splitlines() or ["skipped"])[-1])
        return
    m = re.search(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", r.stdout, re.M)
    if not m:
        t.add("conformance", 0, 1, 0, [f"tests/conformance/run exited {r.returncode}: {r.stderr.strip()[-300:]}"])
        return
    t.add("conformance", int(m.group(1)), int(m.group(2)), int(m.group(3)),
          re.findall(r"^FAIL (.*)$", r.stdout, re.M))


def suite_fuzz(t):
    r = sh([str(ROOT / "tests" / "fuzz" / "run")], capture_output=True, text=True)
    if r.returncode == 77:
        reason = (r.stderr.strip().splitlines() or ["no reason given"])[-1]
        t.add("fuzz", 0, 0, 1, note=reason)
        return
    passed = len(re.findall(r"^PASS ", r.stdout, re.M))
    fails = re.findall(r"^FAIL (.*)$", r.stdout, re.M)
    if r.returncode != 0 and not fails:
        fails = [f"tests/fuzz/run exited {r.returncode}: {r.stderr.strip()[-300:]}"]
    if fails:
        print(r.stderr[-6000:], end="", flush=True)
    t.add("fuzz", passed, len(fails), 0, fails)


SUITES = {"format": suite_format, "unit": suite_unit, "integration": suite_integration,
          "toml": suite_toml, "vm": suite_vm, "fuzz": suite_fuzz, "stress": suite_stress,
          "conformance": suite_conformance}


def main():
    if "--full" in sys.argv:  # the stress suite's full variant (docs/stress.md)
        sys.argv.remove("--full")
        os.environ["COI_STRESS_FULL"] = "1"
    wanted = sys.argv[1:] or list(SUITES)
    unknown = [s for s in wanted if s not in SUITES]
    if unknown:
        print(f"tests/run: unknown suite {unknown[0]!r}; suites: {' '.join(SUITES)}", file=sys.stderr)
        return 2
    t = Tally()
    try:
        build(BUILD)
        for name in wanted:
            SUITES[name](t)
    except BuildFailed as e:
        t.add("build", 0, 1, 0, [str(e)])
    if t.failures:
        print("\nFailures:")
        for f in t.failures:
            print(f"  {f}")
    print(f"{t.passed} passed, {t.failed} failed, {t.skipped} skipped")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
