"""The lease queue on its own (arena/team/lease.py), on a clock the test moves: no timing decides an outcome."""

from __future__ import annotations

import threading
import time

from arena.team.lease import Cancelled, LeaseQueue, Ticket

HANG_GUARD_S = 60.0


def test_a_granted_request_that_has_not_picked_up_its_lease_keeps_its_turn() -> None:
    """B is given the lease while its thread is busy outside the queue (writing a keep-alive). Grace time passing
    before it picks the lease up must not leave the queue with no holder and B waiting forever."""
    now = [0.0]
    queue = LeaseQueue(grace_s=1.0, clock=lambda: now[0])
    entered, hold, give_up = threading.Event(), threading.Event(), threading.Event()
    got: dict[str, Ticket | str] = {}

    def on_wait(ahead: int) -> None:
        if not entered.is_set():
            entered.set()
            hold.wait(HANG_GUARD_S)  # as a keep-alive write to a slow client would

    def b() -> None:
        try:
            got["B"] = queue.acquire("B", "bob", on_wait=on_wait, should_stop=give_up.is_set, tick_s=0.01)
        except Cancelled as exc:
            got["B"] = f"cancelled: {exc}"

    def advance(seconds: float) -> None:
        now[0] += seconds
        with queue._cond:
            queue._cond.notify_all()

    try:
        a = queue.acquire("A", "alice")
        queue.release(a)  # one side of A's round ran; its lease lasts until the grace time passes
        thread = threading.Thread(target=b)
        thread.start()
        assert entered.wait(HANG_GUARD_S)
        advance(2.0)  # A's grace ends: the lease goes to B, whose thread is still in on_wait
        deadline = time.monotonic() + HANG_GUARD_S
        while list(queue.granted) != ["A", "B"]:
            assert time.monotonic() < deadline, "B was never granted the lease"
            time.sleep(0.005)
        advance(10.0)  # B's own grace passes before it picks the lease up
        time.sleep(0.2)  # a chance for the grace thread to act (a shorter one only makes this test weaker)
        hold.set()
        thread.join(HANG_GUARD_S)
        if thread.is_alive():
            give_up.set()
            thread.join(HANG_GUARD_S)
        ticket = got["B"]
        assert isinstance(ticket, Ticket), ticket
        assert ticket.session == "B" and ticket.queued
        queue.release(ticket)
        advance(2.0)  # B's round had one side: its lease ends after the grace time
        c = queue.acquire("C", "carol")  # and the queue still works for others
        assert c.session == "C"
    finally:
        hold.set()
        give_up.set()
        queue.close()
