"""Who runs next at the team's model servers: one session's round at a time, round-robin by voter.

Why one round at a time: on this kind of machine (2 cores) two rounds at once are not faster. llama.cpp is bound by
memory bandwidth and CPU, the two models of one round already share every core, and a second round would make both
rounds take about twice as long (DESIGN.md: "both at once finished in about the same wall time as one after the
other"). Serving rounds one after another gives the same throughput, and whoever's round runs gets it at full speed.
A lease also keeps a round's two sides together: they start at the same moment, so the speed-blind display of each
session is not disturbed by another session's round starting in the middle of one side.

The rules:
- A session holds the *lease* while its round runs; the requests of that round pass straight through. A round is what
  the app sends for one turn: one request per side (`ROUND_REQUESTS`), both at once or one after the other.
- The lease ends when nothing is in flight and either the round's requests have all run, or no request came for
  `grace_s` (a one-after-the-other round is then never split; a side that was never sent does not hold the lease).
- Requests of other sessions wait. The next lease goes round-robin by voter: voters with waiting sessions take turns
  in order of arrival, and each voter's sessions take turns within that voter's turns. No voter starves, and a voter
  with three sessions gets one round per turn of the others, not three.
- A waiting request learns how many rounds will run before its own (`ahead`, counting the one running now). It is a
  number per session, so both sides of a round are told the same: a queued side never tells which model is busy.

Textual-free and HTTP-free (`arena.team.gateway` puts it in front of the servers); every method is thread-safe.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

ROUND_REQUESTS = 2  # the app sends one request per side per turn


class Cancelled(Exception):
    """The waiting request gave up (its client went away) or the queue closed."""


@dataclass
class _Lease:
    number: int
    session: str
    voter: str
    idle_since: float
    started: int = 0  # requests that ran under this lease
    in_flight: int = 0


@dataclass(frozen=True)
class Ticket:
    """A request let through: under which lease, and how long it waited for it."""

    lease: int
    session: str
    waited_s: float
    queued: bool  # it had to wait for another session's round


class LeaseQueue:
    def __init__(self, grace_s: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace_s = grace_s
        self._clock = clock
        self._cond = threading.Condition()
        self._lease: _Lease | None = None
        self._turns: deque[str] = deque()  # voters with waiting sessions, in turn order
        self._sessions: dict[str, deque[str]] = {}  # voter -> their waiting sessions, oldest first
        self._waiting: dict[str, int] = {}  # session -> requests waiting
        self._numbers = itertools.count(1)
        self.granted: deque[str] = deque(maxlen=10_000)  # sessions in the order they got the lease (tests)
        self.grants = 0
        self._closed = False
        self._keeper = threading.Thread(target=self._keep, name="arena-team-lease", daemon=True)
        self._keeper.start()

    # -- requests ------------------------------------------------------------------------------------------------------
    def acquire(
        self,
        session: str,
        voter: str,
        *,
        on_wait: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        tick_s: float = 0.2,
    ) -> Ticket:
        """Block until this request may run; every `tick_s` while waiting, `on_wait(ahead)` is called (without the lock
        held: it may write to a socket) and `should_stop()` is asked. Raises Cancelled when it says so."""
        t0 = self._clock()
        with self._cond:
            if self._closed:
                raise Cancelled("the team server is shutting down")
            self._grant_next_if_idle()
            if self._lease is None and not self._turns:
                self._grant(session, voter)
            if self._may_run(session):
                return self._take(t0, queued=False)
            self._enqueue(session, voter)
        try:
            while True:
                with self._cond:
                    if self._closed:
                        raise Cancelled("the team server is shutting down")
                    self._grant_next_if_idle()
                    if self._may_run(session):
                        self._dequeue(session, voter, granted=True)
                        return self._take(t0, queued=True)
                    self._ensure_in_line(session, voter)  # e.g. its session's lease was used up by other requests
                    ahead = self._ahead(session)
                if on_wait is not None:
                    on_wait(ahead)
                if should_stop is not None and should_stop():
                    raise Cancelled("the client went away")
                with self._cond:
                    if not self._may_run(session) and not self._closed:
                        self._cond.wait(tick_s)
        except BaseException:
            with self._cond:
                self._dequeue(session, voter, granted=False)
                self._grant_next_if_idle()
                self._cond.notify_all()
            raise

    def release(self, ticket: Ticket) -> None:
        """The request has ended (finished, failed or cancelled)."""
        with self._cond:
            lease = self._lease
            if lease is None or lease.number != ticket.lease:
                return
            lease.in_flight -= 1
            if lease.in_flight == 0:
                lease.idle_since = self._clock()
                if lease.started >= ROUND_REQUESTS:
                    self._end_lease()
            self._cond.notify_all()

    # -- state (under the lock) --------------------------------------------------------------------------------------
    def _may_run(self, session: str) -> bool:
        lease = self._lease
        return lease is not None and lease.session == session and lease.started < ROUND_REQUESTS

    def _take(self, t0: float, *, queued: bool) -> Ticket:
        lease = self._lease
        assert lease is not None
        lease.started += 1
        lease.in_flight += 1
        return Ticket(lease.number, lease.session, self._clock() - t0, queued)

    def _grant(self, session: str, voter: str) -> None:
        self._lease = _Lease(next(self._numbers), session, voter, idle_since=self._clock())
        self.granted.append(session)
        self.grants += 1

    def _grant_next_if_idle(self) -> None:
        """Nobody holds the lease but someone waits: the head of the line gets it. (A waiting request that stepped
        back into line after its session's unused lease ran out must not leave the queue with no holder.)"""
        if self._lease is None and self._turns:
            self._end_lease()

    def _end_lease(self) -> None:
        self._lease = None
        if self._turns:
            voter = self._turns.popleft()
            sessions = self._sessions[voter]
            session = sessions.popleft()
            if sessions:
                self._turns.append(voter)  # the voter's next session waits for the voter's next turn
            else:
                del self._sessions[voter]
            self._grant(session, voter)
        self._cond.notify_all()

    def _enqueue(self, session: str, voter: str) -> None:
        self._waiting[session] = self._waiting.get(session, 0) + 1
        self._ensure_in_line(session, voter)

    def _ensure_in_line(self, session: str, voter: str) -> None:
        if self._queued_under(session) is not None:
            return  # the session already waits in its voter's line (the other side of its round)
        if voter not in self._sessions:
            self._sessions[voter] = deque()
            self._turns.append(voter)
        self._sessions[voter].append(session)

    def _queued_under(self, session: str) -> str | None:
        for voter, sessions in self._sessions.items():
            if session in sessions:
                return voter
        return None

    def _dequeue(self, session: str, voter: str, *, granted: bool) -> None:
        """One waiting request of `session` stops waiting (granted, or given up)."""
        left = self._waiting.get(session, 0) - 1
        if left > 0:
            self._waiting[session] = left
            return
        self._waiting.pop(session, None)
        if granted:
            return
        owner = self._queued_under(session)
        if owner is not None:  # nobody of this session waits any more: leave the line
            self._sessions[owner].remove(session)
            if not self._sessions[owner]:
                del self._sessions[owner]
                self._turns.remove(owner)

    def _ahead(self, session: str) -> int:
        """Rounds that run before this session's: the running one, then the round-robin order from now."""
        ahead = 1 if self._lease is not None else 0
        turns = deque(self._turns)
        lines = {voter: deque(sessions) for voter, sessions in self._sessions.items()}
        while turns:
            voter = turns.popleft()
            nxt = lines[voter].popleft()
            if nxt == session:
                return ahead
            ahead += 1
            if lines[voter]:
                turns.append(voter)
        return ahead

    # -- the grace timer -----------------------------------------------------------------------------------------------
    def _keep(self) -> None:
        """Ends a lease whose session sent nothing for `grace_s` with nothing in flight."""
        with self._cond:
            while not self._closed:
                lease = self._lease
                if lease is not None and lease.started == 0 and self._waiting.get(lease.session, 0) > 0:
                    # Granted to a request that waits but has not picked it up yet (its thread is writing a keep-alive
                    # or not scheduled): ending the lease now would pass its turn by. It picks it up, or gives up
                    # (client gone), which wakes this thread.
                    self._cond.wait(self.grace_s)
                elif lease is not None and lease.in_flight == 0:
                    left = lease.idle_since + self.grace_s - self._clock()
                    if left <= 0:
                        self._end_lease()
                        continue
                    self._cond.wait(left)
                else:
                    self._cond.wait()

    # -- status and shutdown -------------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, int | bool]:
        """For /team/status: counts only (no session ids, no voter names)."""
        with self._cond:
            return {
                "busy": self._lease is not None,
                "waiting_sessions": sum(len(s) for s in self._sessions.values()),
                "waiting_voters": len(self._turns),
                "rounds_granted": self.grants,
            }

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._keeper.join(timeout=5)
