"""The team gateway with real HTTP on loopback: fair, blind queueing of sessions, leases that keep a round together,
cancel, keep-alives, and symmetric failures. The upstreams hold their answers until the test releases them, so the
order of service is counted, never timed (a real model round through the gateway is in test_team_servers.py)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from arena.engine.types import Failed, Finished, Queued, TextDelta
from arena.errors import Public
from arena.team.gateway import SERVER_DOWN, SERVER_STOPPED, Gateway, Route, Unavailable
from tests.support.team import HeldUpstream, send, wait_until


@pytest.fixture
def upstreams() -> Iterator[tuple[HeldUpstream, HeldUpstream]]:
    with HeldUpstream() as one, HeldUpstream() as two:
        yield one, two


def gateway_for(upstreams: tuple[HeldUpstream, HeldUpstream], *, grace_s: float = 0.05, keepalive_s: float = 5.0,
                down: set[str] | None = None) -> Gateway:
    routes = {"m1": upstreams[0], "m2": upstreams[1]}

    def resolve(model_id: str) -> Route:
        if down and model_id in down:
            raise Unavailable(SERVER_DOWN)
        return Route(routes[model_id].base_url, "held")

    return Gateway(resolve, ["m1", "m2"], grace_s=grace_s, keepalive_s=keepalive_s, tick_s=0.02).start()


def waiting(gw: Gateway) -> int:
    return int(gw.status()["queue"]["waiting_sessions"])


def queue_places(events: list) -> list[int]:
    return [e.ahead for e in events if isinstance(e, Queued)]


def test_turns_go_round_robin_by_voter_not_by_session(upstreams) -> None:
    up = upstreams[0]
    with gateway_for(upstreams) as gw:
        s0 = send(gw.url, "m1", "s0", "carol", "S0")  # holds the lease until released
        wait_until(lambda: up.arrived("S0"), "S0 upstream")
        s1 = send(gw.url, "m1", "s1", "ann", "S1")
        wait_until(lambda: waiting(gw) == 1, "S1 queued")
        s3 = send(gw.url, "m1", "s3", "ann", "S3")  # ann's second session, queued before bob's
        wait_until(lambda: waiting(gw) == 2, "S3 queued")
        s2 = send(gw.url, "m1", "s2", "bob", "S2")
        wait_until(lambda: waiting(gw) == 3, "S2 queued")
        # What each waiting session is told: the number a session shows as "N rounds ahead of yours". S3 moved back
        # when bob arrived: bob's turn comes first.
        wait_until(lambda: queue_places(s1.events)[-1:] == [1] and queue_places(s2.events)[-1:] == [2]
                   and queue_places(s3.events)[-1:] == [3], "the places to reach the sessions")
        for label, side in (("S0", s0), ("S1", s1), ("S2", s2), ("S3", s3)):
            up.release(label)
            assert isinstance(side.join(), Finished)
        # First come first served would be S1, S3, S2: ann's two sessions would take two turns before bob's one.
        assert up.arrivals == ["S0", "S1", "S2", "S3"]
        assert all(queue_places(s.events)[-1] == 0 for s in (s1, s2, s3))
        assert queue_places(s0.events) == []  # never waited: no queue comments at all
        assert gw.status()["requests"]["queued"] == 3


def test_a_lease_keeps_both_sides_of_a_round_together(upstreams) -> None:
    one, two = upstreams
    # A long grace: the lease may only end early because the round's two requests have run, never by the timer.
    with gateway_for(upstreams, grace_s=3600) as gw:
        # Both at once: side B of s1 comes after s2 started waiting, and still goes first.
        a = send(gw.url, "m1", "s1", "ann", "S1-A")
        wait_until(lambda: one.arrived("S1-A"), "S1-A upstream")
        other = send(gw.url, "m1", "s2", "bob", "S2-A")
        wait_until(lambda: waiting(gw) == 1, "S2 queued")
        b = send(gw.url, "m2", "s1", "ann", "S1-B")
        wait_until(lambda: two.arrived("S1-B"), "S1-B passes the queue")
        assert not one.arrived("S2-A")
        one.release("S1-A")
        two.release("S1-B")
        assert isinstance(a.join(), Finished) and isinstance(b.join(), Finished)
        # Both sides ran: the lease ends at once (not after the grace) and s2 goes.
        wait_until(lambda: one.arrived("S2-A"), "S2 after s1's round", timeout=60)
        # One after the other: s2's side B comes after its side A has finished and s3 waits: s2 keeps the lease.
        s3 = send(gw.url, "m1", "s3", "carol", "S3-A")
        wait_until(lambda: waiting(gw) == 1, "S3 queued")
        one.release("S2-A")
        assert isinstance(other.join(), Finished)
        b2 = send(gw.url, "m2", "s2", "bob", "S2-B")
        wait_until(lambda: two.arrived("S2-B"), "S2-B within its lease")
        assert not one.arrived("S3-A")
        two.release("S2-B")
        assert isinstance(b2.join(), Finished)
        wait_until(lambda: one.arrived("S3-A"), "S3 after s2's round", timeout=60)
        one.release("S3-A")
        assert isinstance(s3.join(), Finished)


def test_a_cancelled_waiting_request_leaves_the_queue(upstreams) -> None:
    up = upstreams[0]
    with gateway_for(upstreams) as gw:
        s0 = send(gw.url, "m1", "s0", "ann", "S0")
        wait_until(lambda: up.arrived("S0"), "S0 upstream")
        s1 = send(gw.url, "m1", "s1", "bob", "S1")
        wait_until(lambda: waiting(gw) == 1, "S1 queued")
        s1.engine.cancel()  # what ctrl+s or leaving the screen does
        final = s1.join()
        assert isinstance(final, Finished) and final.reason == "cancelled"
        wait_until(lambda: waiting(gw) == 0, "the gateway to drop the request")
        up.release("S0")
        s0.join()
        s2 = send(gw.url, "m1", "s2", "carol", "S2")
        up.release("S2")
        assert isinstance(s2.join(), Finished)
        assert up.arrivals == ["S0", "S2"]  # the cancelled request never reached a model


def test_waiting_sides_get_keepalives_and_the_same_place(upstreams) -> None:
    up = upstreams[0]
    with gateway_for(upstreams, keepalive_s=0.01) as gw:
        s0 = send(gw.url, "m1", "s0", "ann", "S0")
        wait_until(lambda: up.arrived("S0"), "S0 upstream")
        a = send(gw.url, "m1", "s1", "bob", "S1-A")
        b = send(gw.url, "m2", "s1", "bob", "S1-B")
        # Keep-alives repeat while the sides wait (counted: at least three each), so no read timeout fires.
        wait_until(lambda: len(queue_places(a.events)) >= 3 and len(queue_places(b.events)) >= 3, "keep-alives")
        up.release("S0")
        s0.join()
        upstreams[0].release("S1-A")
        upstreams[1].release("S1-B")
        fa, fb = a.join(), b.join()
        assert isinstance(fa, Finished) and isinstance(fb, Finished)
        # Both sides were told the same places, in the same order: nothing tells which model was busy.
        assert sorted(set(queue_places(a.events))) == sorted(set(queue_places(b.events))) == [0, 1]
        assert queue_places(a.events)[-1] == queue_places(b.events)[-1] == 0
        assert "".join(e.text for e in a.events if isinstance(e, TextDelta)) == "answer to S1-A done"


def test_a_side_that_breaks_off_fails_both_sides_alike(upstreams) -> None:
    one, two = upstreams
    with gateway_for(upstreams) as gw:
        a = send(gw.url, "m1", "s1", "ann", "S1-A")
        b = send(gw.url, "m2", "s1", "ann", "S1-B")
        wait_until(lambda: one.arrived("S1-A") and two.arrived("S1-B"), "both sides upstream")
        one.break_off("S1-A")  # m1's server dies mid-answer; m2's answer is still running
        fa, fb = a.join(), b.join()
        assert isinstance(fa, Failed) and isinstance(fb, Failed)
        assert fa.error.public == fb.error.public == Public.SERVER_ERROR
        for final in (fa, fb):
            assert final.error.message.endswith(SERVER_STOPPED)
        assert "m1" not in SERVER_STOPPED and "m2" not in SERVER_STOPPED
        # The next round runs normally.
        a2, b2 = send(gw.url, "m1", "s1", "ann", "again-A"), send(gw.url, "m2", "s1", "ann", "again-B")
        one.release("again-A")
        two.release("again-B")
        assert isinstance(a2.join(), Finished) and isinstance(b2.join(), Finished)


def test_a_model_server_that_is_down_fails_the_round_without_naming_it(upstreams) -> None:
    # A long grace: side B, whenever its thread gets to send it, belongs to the round whose side A failed.
    with gateway_for(upstreams, down={"m1"}, grace_s=3600) as gw:
        a = send(gw.url, "m1", "s1", "ann", "S1-A")
        b = send(gw.url, "m2", "s1", "ann", "S1-B")  # held upstream if it got there first: A's failure ends it
        fa, fb = a.join(), b.join()
        assert isinstance(fa, Failed) and isinstance(fb, Failed), (fa, fb)
        assert fa.error.public == fb.error.public == Public.SERVER_ERROR
        assert fa.error.message.endswith(SERVER_DOWN) and fb.error.message.endswith(SERVER_DOWN)
        status = json.loads(urllib.request.urlopen(f"{gw.url}/team/status", timeout=30).read())
        rest = json.dumps({k: v for k, v in status.items() if k != "served"})
        assert "m1" not in rest and "m2" not in rest and "ann" not in rest and "s1" not in rest
        assert status["served"] == ["m1", "m2"]


def test_unknown_model_and_paths_are_refused(upstreams) -> None:
    with gateway_for(upstreams) as gw:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{gw.url}/m/nope/v1/models", timeout=30)
        assert e.value.code == 404
        models = json.loads(urllib.request.urlopen(f"{gw.url}/m/m2/v1/models", timeout=30).read())
        assert models["data"][0]["id"] == "held"
