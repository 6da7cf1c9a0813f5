"""Several stations, one catalogue: claims on items, on SQLite and a real PostgreSQL.

Two stations racing for the same items (separate processes, separate engines, released at
the same instant by a barrier, many rounds): exactly one wins each item, the other is told
who holds it and since when.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from datetime import timedelta

import pytest

from headblock.cli import main
from metadata.catalogue import inventory as inv
from metadata.catalogue.claims import (
    STALE_AFTER,
    Claim,
    ClaimedElsewhere,
    claim_item,
    claim_of,
    list_claims,
    release_claim,
    station_name,
)
from metadata.clock import utc_now
from metadata.errors import HeadblockError

ROUNDS = 100


def _listed(library, tmp_path, url, n=3):
    src = tmp_path / "l.csv"
    src.write_text(
        "identifier,title,carrier\n" + "".join(f"IT-{i:03d},T{i},VHS\n" for i in range(n))
    )
    inv.import_list(library, src, url)


def test_one_station_gets_it_the_other_is_told_who(library, tmp_path, catalogue_url, capsys):
    url = catalogue_url
    _listed(library, tmp_path, url)
    held, taken = claim_item(library, "IT-000", "bench-A", url)
    assert (held.station, taken) == ("bench-A", None)
    again, _ = claim_item(library, "IT-000", "bench-A", url)  # its own claim: kept, same time
    assert again.claimed_utc == held.claimed_utc
    with pytest.raises(ClaimedElsewhere) as refused:
        claim_item(library, "IT-000", "bench-B", url)
    assert refused.value.claim.station == "bench-A"
    assert "IT-000 is held by station bench-A since " in str(refused.value)
    assert refused.value.exit_status == 1
    # the list shows who holds what
    rows = {r["item"]: r for r in inv.list_items(library, url)}
    assert rows["IT-000"]["claimed_by"] == "bench-A"
    assert rows["IT-000"]["claimed_utc"] == held.claimed_utc
    assert rows["IT-001"]["claimed_by"] == ""
    # B cannot release A's claim, A can; then B gets it
    with pytest.raises(ClaimedElsewhere):
        release_claim(library, "IT-000", "bench-B", url)
    assert release_claim(library, "IT-000", "bench-A", url).station == "bench-A"
    assert claim_of(library, "IT-000", url) is None
    assert release_claim(library, "IT-000", "bench-A", url) is None
    assert claim_item(library, "IT-000", "bench-B", url)[0].station == "bench-B"
    # take-over names the previous holder
    held, taken = claim_item(library, "IT-000", "bench-C", url, take_over=True)
    assert (held.station, taken.station) == ("bench-C", "bench-B")

    lib = str(library)
    url_args = ["--url", url] if url else []
    assert main(["inventory", "claim", lib, "IT-001", "--station", "bench-A", *url_args]) == 0
    assert "IT-001: claimed by station bench-A since " in capsys.readouterr().out
    assert main(["inventory", "claim", lib, "IT-001", "--station", "bench-B", *url_args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("headblock: IT-001 is held by station bench-A since ")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert main(["inventory", "list", lib, *url_args]) == 0
    assert "held by station bench-A since " in capsys.readouterr().out
    assert main(["inventory", "claims", lib, "--json", *url_args]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["item"], c["station"], c["stale"]) for c in listed] == [
        ("IT-000", "bench-C", False),
        ("IT-001", "bench-A", False),
    ]
    assert main(["inventory", "unclaim", lib, "IT-001", "--station", "bench-B", *url_args]) == 1
    assert (
        main(["inventory", "unclaim", lib, "IT-001", "--station", "B", "--force", *url_args]) == 0
    )
    assert "released by station bench-A" in capsys.readouterr().out
    # bad input: one line, exit 2
    assert main(["inventory", "claim", lib, "NOT-LISTED", *url_args]) == 2
    assert "'NOT-LISTED' is not in the inventory" in capsys.readouterr().err
    assert main(["inventory", "claim", str(tmp_path / "nowhere"), "IT-001"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_stale_claims_and_the_station_name(tmp_path, monkeypatch):
    old = Claim("IT-000", "bench-A", utc_now() - STALE_AFTER - timedelta(minutes=5))
    assert old.stale() and old.since_text().endswith(", stale")
    assert "(12 h 5 min ago" in old.since_text()
    fresh = Claim("IT-000", "bench-A", utc_now() - timedelta(minutes=3))
    assert not fresh.stale() and "(3 min ago)" in fresh.since_text()

    import socket

    assert station_name() == socket.gethostname()  # no settings file
    settings = tmp_path / "s.toml"
    settings.write_text('version = 2\nstation = "Bench  2"\n')
    monkeypatch.setenv("HEADBLOCK_CONFIG", str(settings))
    assert station_name() == "Bench 2"
    assert station_name("given") == "given"
    with pytest.raises(HeadblockError, match="at most 64"):
        station_name("x" * 65)


def _station(name, library, url, items, barrier, out):
    """One station in its own process: its own engine, claiming each item when released."""
    import time

    from metadata.catalogue.claims import ClaimedElsewhere, claim_item

    results, times = [], []
    for item in items:
        barrier.wait(timeout=60)
        t0 = time.perf_counter()
        try:
            held, _ = claim_item(library, item, name, url)
            results.append((item, "won", held.station))
        except ClaimedElsewhere as exc:
            results.append((item, "told", exc.claim.station))
        except Exception as exc:  # reported, so the test names it
            results.append((item, "error", f"{type(exc).__name__}: {exc}"))
        times.append(time.perf_counter() - t0)
    out.put((name, (results, sorted(times)[len(times) // 2])))


def test_two_stations_race_for_the_same_items(library, tmp_path, catalogue_url):
    url = catalogue_url
    _listed(library, tmp_path, url, ROUNDS)
    items = [f"IT-{i:03d}" for i in range(ROUNDS)]
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_station, args=(name, library, url, items, barrier, out))
        for name in ("bench-A", "bench-B")
    ]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
    (a, median_a), (b, median_b) = results["bench-A"], results["bench-B"]
    wins = {"bench-A": 0, "bench-B": 0}
    for (item, got_a, who_a), (_, got_b, who_b) in zip(a, b, strict=True):
        assert "error" not in (got_a, got_b), (item, who_a, who_b)
        assert sorted((got_a, got_b)) == ["told", "won"], item  # exactly one winner
        winner = "bench-A" if got_a == "won" else "bench-B"
        assert who_a == who_b == winner  # the loser is told who holds it
        assert claim_of(library, item, url).station == winner
        wins[winner] += 1
    print(
        f"claims raced over {ROUNDS} rounds: {wins}; median claim "
        f"{1000 * median_a:.1f} / {1000 * median_b:.1f} ms"
    )
    assert sum(wins.values()) == ROUNDS
    assert len(list_claims(library, url)) == ROUNDS
