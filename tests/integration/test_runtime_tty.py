"""`coi-runtime run` / `exec -t` in the foreground with a terminal and no --console-socket, as a person
at a terminal uses runc: the runtime allocates the pty itself and relays it to the user's terminal."""
from bundle import wait_for
from conftest import run_in_pty


def test_run_with_terminal_relays_the_pty(rt, bundle, ids):
    b = bundle({"process": {"terminal": True, "args": ["sh", "-c", "[ -t 0 ] && tty; read line; echo got:$line; exit 3"]}})
    out, code = run_in_pty(rt.cmd("run", "--bundle", b, ids("tty")), b"hello\n")
    assert "/dev/pts/0" in out
    assert "got:hello" in out
    assert code == 3


def test_exec_t_relays_the_pty(rt, bundle, ids):
    b = bundle({"process": {"args": ["sleep", "300"]}})
    cid = ids("exect")
    assert rt("run", "-d", "--bundle", b, cid).returncode == 0
    wait_for(lambda: rt.state(cid)["status"] == "running", what="running")
    out, code = run_in_pty(rt.cmd("exec", "-t", cid, "sh", "-c", "[ -t 1 ] && echo is-a-tty; exit 5"))
    assert "is-a-tty" in out
    assert code == 5
    r = rt("exec", cid, "sh", "-c", "[ -t 1 ] || echo not-a-tty")
    assert r.stdout.strip() == "not-a-tty"
