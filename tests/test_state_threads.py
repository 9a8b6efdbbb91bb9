"""The state's one SQLite connection under threads: serve's device API, MQTT port, console and executions
all read it at once. Python 3.13's sqlite3 fails a statement stepped by two threads at once ("bad parameter
or other API misuse", a device write answered 500); every statement now runs whole under the state's lock."""

import threading
from concurrent.futures import ThreadPoolExecutor

from murano_sim.state import State

THREADS = 8
HANG_GUARD = 30


def _filled(rows: int) -> State:
    state = State()
    with state.transaction() as db:
        db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(k, f"v{k}") for k in range(rows)])
    return state


def test_reads_from_many_threads_at_once_each_get_their_own_row():
    state = _filled(64)
    barrier = threading.Barrier(THREADS)

    def read(n: int) -> list[tuple[int, object]]:
        barrier.wait(HANG_GUARD)
        wrong = []
        for j in range(2000):
            k = (n * 7 + j) % 64
            try:
                row = state.db.execute("SELECT v FROM t WHERE k = ?", (k,)).fetchone()
            except Exception as exc:  # noqa: BLE001 - the failure under test is any error at all
                row = exc
            if row != (f"v{k}",):
                wrong.append((k, row))
        return wrong

    with ThreadPoolExecutor(THREADS) as pool:
        assert [w for ws in pool.map(read, range(THREADS)) for w in ws] == []


def test_a_reader_never_sees_half_a_transaction():
    state = _filled(0)
    stop = threading.Event()

    def write() -> None:
        for k in range(300):
            with state.transaction() as db:
                db.execute("INSERT INTO t VALUES (?, 'a')", (2 * k,))
                db.execute("INSERT INTO t VALUES (?, 'b')", (2 * k + 1,))
        stop.set()

    def read() -> list[int]:
        odd = []
        while not stop.is_set():
            (count,) = state.db.execute("SELECT COUNT(*) FROM t").fetchone()
            if count % 2:
                odd.append(count)
        return odd

    with ThreadPoolExecutor(4) as pool:
        readers = [pool.submit(read) for _ in range(3)]
        pool.submit(write).result(HANG_GUARD)
        assert [c for r in readers for c in r.result(HANG_GUARD)] == []
    assert state.db.execute("SELECT COUNT(*) FROM t").fetchone() == (600,)


def test_rows_behave_as_the_cursor_the_services_used():
    state = _filled(3)
    rows = state.db.execute("SELECT k FROM t ORDER BY k")
    assert rows.fetchone() == (0,)
    assert rows.fetchall() == [(1,), (2,)]
    assert rows.fetchone() is None and rows.fetchall() == []
    assert list(state.db.execute("SELECT k FROM t WHERE k > 0 ORDER BY k")) == [(1,), (2,)]
    with state.transaction() as db:
        assert db.execute("INSERT INTO t (v) VALUES ('new')").lastrowid == 3
        assert db.execute("UPDATE t SET v = 'x' WHERE k < 2").rowcount == 2
        assert db.execute("DELETE FROM t WHERE k = 99").rowcount == 0
