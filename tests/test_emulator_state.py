"""Seeding, reset, SQLite persistence across restarts, concurrency under load, and main_serve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import requests
from twilio.rest import Client

from murano_sim.config import ConfigError
from murano_sim.services.twilio import Emulator, ManualClock, serve

FROM, TO = "+15005550006", "+15551230000"
SEED = {
    "messages": [
        {"From": FROM, "To": TO, "Body": "seeded one"},
        {"From": FROM, "To": TO, "Body": "with media", "MediaUrl": ["http://127.0.0.1/cat.jpg"], "Status": "sent"},
    ],
    "calls": [{"From": FROM, "To": TO, "Status": "completed", "Duration": 42}],
}
REPO = Path(__file__).resolve().parents[1]


def client_for(emulator: Emulator, url: str) -> Client:
    client = Client(emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"])
    client.api.base_url = url
    return client


def test_seed_mapping_creates_messages_media_and_calls_for_the_primary_account():
    with Emulator({"emulator": {"seed": SEED}}, clock=ManualClock()) as emulator:
        messages = emulator.messages()
        assert [m["body"] for m in messages] == ["seeded one", "with media"]
        assert [m["status"] for m in messages] == ["delivered", "sent"]
        assert messages[1]["sid"].startswith("MM") and messages[1]["num_media"] == "1"
        assert all(m["account_sid"] == emulator.primary_account_sid for m in messages)
        (media,) = emulator.media()
        assert (media["parent_sid"], media["content_type"]) == (messages[1]["sid"], "image/jpeg")
        (call,) = emulator.calls()
        assert (call["status"], call["duration"]) == ("completed", "42")


@pytest.mark.parametrize("suffix, dump", [(".yaml", None), (".json", json.dumps)])
def test_seed_file_is_read_relative_to_the_config_file(tmp_path, suffix, dump):
    import yaml

    (tmp_path / f"seed{suffix}").write_text(dump(SEED) if dump else yaml.safe_dump(SEED), encoding="utf-8")
    (tmp_path / "config.yaml").write_text(f"emulator:\n  seed: seed{suffix}\n", encoding="utf-8")
    with Emulator(str(tmp_path / "config.yaml"), clock=ManualClock()) as emulator:
        assert len(emulator.messages()) == 2 and len(emulator.calls()) == 1


@pytest.mark.parametrize(
    "seed, message",
    [
        ({"messages": [{"From": FROM, "Body": "x"}]}, r"messages\[0\]: To is required"),
        ({"messages": [{"From": FROM, "To": TO}]}, r"messages\[0\]: Body or MediaUrl is required"),
        ({"calls": [{"From": FROM, "To": TO, "Status": "done"}]}, r"calls\[0\]: Status 'done'"),
        ({"texts": []}, "unknown key 'texts'"),
        ("missing-seed.yaml", "cannot read seed file"),
    ],
)
def test_bad_seed_is_a_one_line_config_error(seed, message):
    with pytest.raises(ConfigError, match=message) as info:
        Emulator({"emulator": {"seed": seed}})
    assert "\n" not in str(info.value)


def test_reset_returns_to_exactly_the_seeded_state():
    with Emulator({"emulator": {"seed": SEED}}, clock=ManualClock()) as emulator, serve(emulator) as server:
        before = (emulator.messages(), emulator.calls(), emulator.media())
        client = client_for(emulator, server.url)
        client.messages.create(to=TO, from_=FROM, body="new")
        client.messages(before[0][0]["sid"]).delete()
        emulator.fail_next(500)
        emulator.reset()
        assert (emulator.messages(), emulator.calls(), emulator.media()) == before
        assert len(client.messages.list()) == 2  # the injected failure was cleared too


def test_sqlite_state_survives_a_restart(tmp_path):
    state = tmp_path / "state.db"
    clock = ManualClock()
    with Emulator({"emulator": {"seed": SEED}}, clock=clock, state_path=state) as first, serve(first) as server:
        client = client_for(first, server.url)
        kept = client.messages.create(to=TO, from_=FROM, body="kept", media_url=["http://127.0.0.1/a.png"])
        call = client.calls.create(to=TO, from_=FROM, twiml="<Response/>")
        first.advance(1)
        client.messages(first.messages()[0]["sid"]).delete()
        before = (first.messages(), first.calls(), first.media())
        seeded = first.messages()[0]["sid"]
    with Emulator({"emulator": {"seed": SEED}}, clock=clock, state_path=state) as second:
        assert (second.messages(), second.calls(), second.media()) == before  # and the seed was not re-applied
        assert [m["sid"] for m in second.messages()] == [seeded, kept.sid]
        second.advance(10)  # lifecycles resume after the restart
        assert second.messages()[-1]["status"] == "delivered"
        assert [c["status"] for c in second.calls() if c["sid"] == call.sid] == ["completed"]
        second.reset()
        assert [m["body"] for m in second.messages()] == ["seeded one", "with media"]


def test_unusable_state_path_is_a_usage_error(tmp_path):
    from murano_sim.errors import UsageError

    with pytest.raises(UsageError, match="cannot use as a SQLite state file"):
        Emulator({}, state_path=tmp_path)  # a directory


def test_eight_concurrent_sdk_clients_create_2000_distinct_listable_messages():
    with Emulator({}, clock=ManualClock()) as emulator, serve(emulator) as server:
        sids: list[str] = []
        lock = threading.Lock()
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            client = client_for(emulator, server.url)
            try:
                for i in range(250):
                    sid = client.messages.create(to=TO, from_=FROM, body=f"{n}-{i}").sid
                    with lock:
                        sids.append(sid)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(sids) == len(set(sids)) == 2000
        listed = [m.sid for m in client_for(emulator, server.url).messages.stream(page_size=1000)]
        assert len(listed) == 2000 and set(listed) == set(sids)


def _run_main_serve(tmp_path, sig):
    script = textwrap.dedent("""
        import sys
        from murano_sim.services.twilio import main_serve
        sys.exit(main_serve(None, "127.0.0.1", 0, sys.argv[1]))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "s.db")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        sid = "ACdeadbeefdeadbeefdeadbeefdeadbeef"
        r = requests.get(f"{url}/2010-04-01/Accounts/{sid}/Messages.json",
                         auth=(sid, "murano-sim-demo-token-local-only"), timeout=10)
        assert r.status_code == 200 and r.json()["messages"] == []
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_main_serve_prints_its_url_first_and_exits_0_on_signal(tmp_path, sig):
    _run_main_serve(tmp_path, sig)


def test_auth_token_never_appears_in_reprs_records_or_responses():
    token = "super-secret-token-value"
    config = {"services": {"twilio": {"AuthToken": token}}, "emulator": {"seed": SEED}}
    with Emulator(config, clock=ManualClock()) as emulator, serve(emulator) as server:
        emulator.receive_message(to=FROM, from_=TO, body="x", url="http://127.0.0.1:1/unreachable")
        r = requests.get(f"{server.url}/2010-04-01/Accounts/{emulator.primary_account_sid}/Messages.json",
                         auth=(emulator.primary_account_sid, "wrong"))
        shown = " ".join([repr(emulator), repr(server), repr(list(emulator.deliveries)), r.text,
                          json.dumps(emulator.messages()), json.dumps(emulator.calls())])
        assert token not in shown


# --- one state: the records live in the solution's State ----------------------------------------

SEND = 'return Twilio.postMessage({To = "+15551230000", From = "+15005550006", Body = "in the state"})'


def _rows(path: Path, table: str) -> list[tuple]:
    import sqlite3

    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT * FROM {table}").fetchall()
    finally:
        db.close()


def test_with_a_state_file_the_records_are_written_through_into_the_solutions_one_sqlite(tmp_path):
    from murano_sim import Runtime
    from murano_sim.state import State

    path = tmp_path / "state.db"
    with Runtime({}, state=State(path), clock=ManualClock()) as runtime:
        result = runtime.run(SEND)
        assert result.ok, result.error
        sid = result.response.message["sid"]
        runtime.run('Keystore.set{key = "k", value = "v"}')
        # written at once, before any save: a killed process loses nothing
        assert [json.loads(data)["sid"] for _, _, data in _rows(path, "twilio_records")] == [sid]
        tables = {row[1] for row in _rows(path, "sqlite_master") if row[0] == "table"}
        assert {"twilio_records", "twilio_meta", "keystore"} <= tables and "records" not in tables
    with Runtime({}, state=State(path), clock=ManualClock()) as again:
        assert [m["sid"] for m in again.emulator.messages()] == [sid]


def test_in_memory_the_records_reach_the_state_on_save_and_reset_comes_through_the_state():
    from murano_sim import Runtime
    from murano_sim.state import State

    state = State()
    with Runtime({}, state=state, clock=ManualClock()) as runtime:
        emulator = runtime.emulator  # built on first use: its tables are there from now on
        runtime.state.save()
        before = state.db.execute("SELECT count(*) FROM twilio_records").fetchone()[0]
        emulator._backend.create_message(runtime.emulator.primary_account_sid, _message_request())
        assert state.db.execute("SELECT count(*) FROM twilio_records").fetchone()[0] == before  # not yet
        state.save()
        assert state.db.execute("SELECT count(*) FROM twilio_records").fetchone()[0] == before + 1
        state.reset()  # the solution's reset: the emulator registered with it
        assert runtime.emulator.messages() == []
        state.save()
        assert state.db.execute("SELECT count(*) FROM twilio_records").fetchone()[0] == before


def _message_request():
    from murano_sim.services.twilio.models import MessageRequest

    return MessageRequest(to=TO, from_=FROM, body="x")


def test_an_old_emulator_state_file_is_copied_once_into_the_new_tables(tmp_path, caplog):
    import logging
    import sqlite3

    from murano_sim.services.twilio.models import Message, to_state

    path = tmp_path / "emulator.db"
    with Emulator({}, clock=ManualClock()) as source:
        source._backend.create_message(source.primary_account_sid, _message_request())
        record = source._backend.records("messages", None)[0]
        old = source.messages()
    assert isinstance(record, Message)
    db = sqlite3.connect(path)  # the tables the emulator kept its own file in before issue 20
    db.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, sid TEXT UNIQUE, data TEXT)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO records VALUES (?, ?, ?)", (record.seq, record.sid, json.dumps(to_state(record))))
    db.execute("INSERT INTO meta VALUES ('seed_snapshot', '[]'), ('next_seq', ?)", (str(record.seq + 1),))
    db.commit()
    db.close()
    with caplog.at_level(logging.INFO, logger="murano_sim.emulator"):
        with Emulator({}, clock=ManualClock(), state_path=path) as first:
            assert first.messages() == old
    copied = [r for r in caplog.records if "copied" in r.getMessage()]
    assert len(copied) == 1
    assert [json.loads(row[2])["sid"] for row in _rows(path, "twilio_records")] == [record.sid]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="murano_sim.emulator"):
        with Emulator({}, clock=ManualClock(), state_path=path) as second:
            assert second.messages() == old
            second.reset()  # back to the old file's seed (none)
            assert second.messages() == []
    assert not [r for r in caplog.records if "copied" in r.getMessage()]  # read once


def test_a_twilio_row_that_does_not_decode_is_one_error_and_the_file_is_left_as_it_is(tmp_path):
    import sqlite3

    from murano_sim.errors import UsageError

    path = tmp_path / "state.db"
    with Emulator({}, clock=ManualClock(), state_path=path) as emulator:
        emulator._backend.create_message(emulator.primary_account_sid, _message_request())
    db = sqlite3.connect(path)
    db.execute("UPDATE twilio_records SET data = '{bad'")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(UsageError, match="cannot restore from this state file, left as it is"):
        Emulator({}, clock=ManualClock(), state_path=path)
    assert path.read_bytes() == before
