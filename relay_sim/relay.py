"""One simulated Android relay: a socket to the hub, and the phone working through its jobs.

The socket side is the four-step loop over ``RelaySession``: feed each frame
that arrived, drain the events, flush what the session wants to send, handle
each event with one small method. Each new job then runs in its own task along
the ``JobPlan`` its profile drew for it (``relay_sim.phone_work``).

Jobs and the report outbox live in a ``RelayLedger`` that outlives sockets: on
every reconnect a NEW session over the SAME ledger says hello, and replays the
outbox after the welcome. Between sockets the relay keeps a closed session, so
reports made offline still land in the outbox.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any, Final

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from protocol import frames as f
from protocol.close_codes import CloseCode
from protocol.relay_session import (
    CancelRequested,
    ErrorReceived,
    JobReceived,
    JobStatus,
    ReceiptReceived,
    RelayEvent,
    RelayLedger,
    RelaySession,
    Welcomed,
)
from relay_sim.backoff import Backoff
from relay_sim.link import MAX_FRAME_BYTES, Link, open_socket
from relay_sim.pairing import PairedDevice
from relay_sim.phone import SimulatedPhone
from relay_sim.phone_work import PhoneJob, PhoneWork, monotonic, now
from relay_sim.profiles import PROFILES, Profile

logger = logging.getLogger(__name__)

TOKEN_REFUSED: Final = frozenset({HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN})
MAX_RETRY_AFTER_S: Final = 300.0


class SimRelay(PhoneWork):
    """A simulated relay for one paired device; ``start`` it, ``stop`` it when done.

    Everything it observed is public, for tests to assert on: ``jobs_received``
    (every ``send`` frame, repeats included), ``sms_sent`` (how often each
    message id reached the "carrier"), ``reports`` (every report created, not
    counting duplicates), ``rejections``, ``errors`` from the hub,
    ``close_codes`` (one per socket that ended, None if it ended without a close
    frame) and ``refusals`` (HTTP status of each refused handshake). Wait for a
    condition with ``wait_until``.

    A handshake refused with 401 or 403 (the device token is unknown, revoked
    or disabled) stops the relay for good: ``refused`` holds the status. A 429
    (braked) waits as long as its ``Retry-After`` asks, then tries again.
    """

    def __init__(
        self,
        device: PairedDevice,
        profile: Profile = PROFILES["ideal"],
        *,
        seed: int | None = None,
        sims: int = 1,
        parts_per_minute: int = 600,
        on_job: Callable[[str, f.Send], None] | None = None,
        on_refused: Callable[[SimRelay, int, float | None], None] | None = None,
        ledger: RelayLedger | None = None,
    ) -> None:
        self.device = device
        self._on_job_seen = on_job  # told of every new job (relay name, send frame)
        # Told when the hub refuses the handshake: (relay, HTTP status, Retry-After
        # seconds of a 429). After a 401 or 403 the relay has stopped trying.
        self._on_refused = on_refused
        self.device_id = device.device_id
        self.name = device.name
        self.profile = profile
        self.parts_per_minute = parts_per_minute
        self.ledger = RelayLedger() if ledger is None else ledger
        self.cut_on_next_job = False
        self.online = False
        self.welcome: f.Welcome | None = None
        self.jobs_received: list[f.Send] = []
        self.sms_sent: collections.Counter[str] = collections.Counter()
        self.reports: list[f.Report] = []
        self.rejections: list[f.Rejected] = []
        self.errors: list[f.Error] = []
        self.close_codes: list[int | None] = []
        self.refusals: list[int] = []
        self.refused: int | None = None  # the 401/403 that made the relay give up
        self._braked = False  # refused with 429 since the last socket that opened
        self._rng = random.Random(seed)
        self._phone = SimulatedPhone(self._rng, sims)
        self._backoff = Backoff(self._rng)
        self._reconnect_at_once = False  # set by drop(): skip the next backoff delay
        self._session = _closed_session(self.ledger)
        self._link: Link | None = None
        self._jobs: dict[str, PhoneJob] = {}
        self._run_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._crashes: list[BaseException] = []
        self._change = asyncio.Event()

    # --- public interface ----------------------------------------------------

    @property
    def outbox_size(self) -> int:
        """Reports not yet covered by a receipt."""
        return len(self.ledger.outbox)

    @property
    def running(self) -> bool:
        """True from ``start`` until ``stop``, or until the hub refused the device token."""
        return self._run_task is not None and not self._run_task.done()

    async def start(self) -> None:
        """Start connecting in the background; ``wait_welcomed`` to know it is online."""
        if self._run_task is not None:
            raise RuntimeError(f"{self.name} is already running")
        self._run_task = self._spawn(self._run())

    async def stop(self) -> None:
        """Cancel every task and close the socket; re-raise what a relay task crashed of."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._run_task = None
        self._jobs.clear()
        if self._crashes:
            raise RuntimeError(f"{self.name}: a relay task crashed") from self._crashes[0]

    async def cut(self) -> None:
        """Drop the TCP connection without a close frame; the relay then reconnects as usual.

        Frames already handed to the socket still go out first. Returns once
        the socket has ended (``close_codes`` then ends with None).
        """
        link = self._link
        if link is None:
            return
        link.abort_after_writes()
        await link.ended.wait()

    def drop(self) -> bool:
        """Abort the socket now and reconnect at once, with no backoff delay.

        As when a phone changes networks: no close frame, and the relay counts
        as offline from this call on. Returns False if there was no socket.
        """
        link = self._link
        if link is None or link.aborting:
            return False
        link.abort_after_writes()
        self.online = False
        self._reconnect_at_once = True
        self._changed()
        return True

    def receive_sms(self, sender: str, text: str, sim_slot: int = 0) -> f.Received:
        """An inbound SMS arrives: report it now, or after the next welcome if offline."""
        report = self._session.report_received(sender, text, now(), sim_slot)
        self._reported(report)
        return report

    # A timeout argument (rather than the caller's asyncio.timeout) lets the
    # TimeoutError say what the relay was doing.
    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10) -> None:  # noqa: ASYNC109
        """Return once ``predicate()`` is true; it is checked again after every change."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    self._raise_if_crashed()
                    await self._change.wait()
        except TimeoutError:
            raise TimeoutError(
                f"{self.name}: condition still false after {timeout:g} s; {self.describe()}"
            ) from None

    async def wait_welcomed(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        await self.wait_until(lambda: self.online, timeout)

    def describe(self) -> str:
        """A one-line state dump for failure messages."""
        reports = " ".join(f"{r.seq}:{type(r).__name__.lower()}" for r in self.reports)
        return (
            f"online={self.online} jobs_received={len(self.jobs_received)} "
            f"sms_sent={dict(self.sms_sent)} reports=[{reports}] outbox={self.outbox_size} "
            f"rejections={[(r.id, r.code) for r in self.rejections]} "
            f"close_codes={self.close_codes} refusals={self.refusals} errors={len(self.errors)}"
        )

    # --- the socket ----------------------------------------------------------

    async def _run(self) -> None:
        while True:
            wait = None
            try:
                ws = await open_socket(self.device)
            except InvalidStatus as exc:
                status = exc.response.status_code
                self.refusals.append(status)
                self._changed()
                if status in TOKEN_REFUSED:
                    # The token will not work on a retry either: stop instead of
                    # hammering the hub (which brakes an address that keeps trying).
                    self.refused = status
                    self._tell_refused(status, None)
                    return
                if status == HTTPStatus.TOO_MANY_REQUESTS:
                    wait = _retry_after(exc.response.headers.get("Retry-After"))
                    if not self._braked:
                        self._braked = True
                        self._tell_refused(status, wait)
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                logger.debug("%s: cannot connect: %s", self.name, exc)
            else:
                self._braked = False
                await self._serve(ws)
            if self._reconnect_at_once:
                self._reconnect_at_once = False
                continue
            delay = self._backoff.next_delay()
            await asyncio.sleep(delay if wait is None else max(wait, delay))

    def _tell_refused(self, status: int, retry_after_s: float | None) -> None:
        if self._on_refused is not None:
            self._on_refused(self, status, retry_after_s)

    async def _serve(self, ws: ClientConnection) -> None:
        session = RelaySession(self.ledger, MAX_FRAME_BYTES)
        link = Link(ws, session)
        self._session, self._link = session, link
        if ws.subprotocol != f.SUBPROTOCOL:
            logger.warning("%s: the hub did not agree to %s", self.name, f.SUBPROTOCOL)
            session.fail(CloseCode.PROTOCOL_ERROR, f"subprotocol {f.SUBPROTOCOL} required")
        else:
            session.send_hello(self._phone.hello(self.parts_per_minute))
            link.flush()
        try:
            while session.close_code is None:
                data = await ws.recv()
                self._note_job_frame(data, session)
                session.receive_text(data)
                for event in session.events_received():
                    self._handle(event, link)
                link.flush()
                self._changed()
            if link.aborting:
                await ws.wait_closed()
            else:
                await ws.close(session.close_code, session.close_reason)
        except ConnectionClosed:
            pass  # closed by the hub, broken or aborted: recorded below
        finally:
            await self._socket_ended(link)

    async def _socket_ended(self, link: Link) -> None:
        self.online = False
        # The socket is gone: nothing more may go out on this session, and any
        # report made from now on waits in the outbox for the next one.
        link.session.fail(CloseCode.GOING_AWAY, "socket ended")
        if self._link is link:
            self._link = None
        await link.stop()
        await link.ws.close(CloseCode.GOING_AWAY)  # returns at once if already closed
        self.close_codes.append(link.close_code_received())
        link.ended.set()
        self._changed()

    def _note_job_frame(self, data: str | bytes, session: RelaySession) -> None:
        # The session answers a repeated job by itself, without an event, so the
        # relay looks at each frame to count repeats and to see which socket
        # last offered a job it is still deciding on.
        try:
            frame = f.decode_hub_frame(data)
        except f.FrameError:
            return  # the session decides what a bad frame means
        if isinstance(frame, f.Send):
            self.jobs_received.append(frame)
            if (job := self._jobs.get(frame.id)) is not None:
                job.offered_on, job.offered_at = session, monotonic()

    # --- events --------------------------------------------------------------

    def _handle(self, event: RelayEvent, link: Link) -> None:
        match event:
            case Welcomed(welcome=welcome):
                self._on_welcomed(welcome, link)
            case JobReceived(job=send):
                self._on_job(send, link)
            case CancelRequested(id=message_id):
                self._on_cancel(message_id)
            case ReceiptReceived():
                pass  # the session has already dropped the covered reports
            case ErrorReceived(error=error):
                logger.warning("%s: hub error %s: %s", self.name, error.code, error.message)
                self.errors.append(error)

    def _on_welcomed(self, welcome: f.Welcome, link: Link) -> None:
        self.welcome = welcome
        self.online = True
        self._backoff.reset()
        if self.profile.heartbeat:
            link.start_heartbeat(welcome.heartbeat_s, self._health)

    def _health(self) -> f.Heartbeat:
        return self._phone.heartbeat(queue=len(self._jobs))

    def _on_job(self, send: f.Send, link: Link) -> None:
        if self.cut_on_next_job:
            # As if the app crashed before storing the job: no trace of it stays.
            self.cut_on_next_job = False
            del self.ledger.jobs[send.id]
            link.abort_after_writes()
            return
        if self._on_job_seen is not None:
            self._on_job_seen(self.name, send)
        plan = self.profile.plan(self._rng)
        job = PhoneJob(send, plan, offered_on=link.session, offered_at=monotonic())
        self._jobs[send.id] = job
        job.task = self._spawn(self._work(job))

    def _on_cancel(self, message_id: str) -> None:
        job = self._jobs.get(message_id)
        if job is None or job.handed_to_carrier:
            return  # too late: the carrier has it, and `sent` is (or will be) reported
        if job.task is not None:
            job.task.cancel()
        del self._jobs[message_id]
        if self.ledger.jobs[message_id].status is JobStatus.NEW:
            # Never accepted, so there is nothing to report on: turn it down.
            self._reject(message_id, "cancelled", "cancelled before it was accepted")
        else:
            self._report_failed(job, "cancelled", "cancelled before it was sent")

    # --- tasks and change notification --------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        crash = None if task.cancelled() else task.exception()
        if crash is not None:
            logger.error("%s: a relay task crashed", self.name, exc_info=crash)
            self._crashes.append(crash)
            self._changed()

    def _raise_if_crashed(self) -> None:
        if self._crashes:
            raise RuntimeError(f"{self.name}: a relay task crashed") from self._crashes[0]

    def _changed(self) -> None:
        # Wake every wait_until; later waiters wait on a fresh event.
        self._change.set()
        self._change = asyncio.Event()


def _closed_session(ledger: RelayLedger) -> RelaySession:
    """A session with no socket: reports made on it only go to the outbox."""
    session = RelaySession(ledger)
    session.fail(CloseCode.GOING_AWAY, "not connected")
    return session


def _retry_after(header: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header in delay form; None if absent or not a number."""
    try:
        seconds = float(header) if header is not None else None
    except ValueError:
        return None
    return None if seconds is None or seconds < 0 else min(seconds, MAX_RETRY_AFTER_S)
