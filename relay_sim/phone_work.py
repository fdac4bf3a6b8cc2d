"""The phone's side of a simulated relay: each job worked along its plan, ending in reports.

``SimRelay`` (``relay_sim.relay``) holds the socket and hands each new job
here; ``PhoneWork`` answers it (accept, or reject), hands it to the "carrier"
and reports ``sent``, ``delivered`` or ``failed`` through the current session,
which keeps every report in the ledger's outbox until the hub receipts it.
"""

from __future__ import annotations

import asyncio
import collections
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from protocol import frames as f
from protocol.relay_session import RelayLedger, RelaySession
from protocol.session import Phase
from relay_sim.link import Link
from relay_sim.phone import SimulatedPhone, count_parts
from relay_sim.profiles import JobPlan, Profile

ANDROID_GENERIC_FAILURE: Final = 1  # SmsManager.RESULT_ERROR_GENERIC_FAILURE


@dataclass(slots=True)
class PhoneJob:
    """A job the phone is working on, until it is reported sent or failed."""

    send: f.Send
    plan: JobPlan
    offered_on: RelaySession  # the session whose socket last brought this job
    offered_at: float  # when it did, on the event loop's monotonic clock
    task: asyncio.Task[None] | None = None
    handed_to_carrier: bool = False


class PhoneWork:
    """A mixin for ``SimRelay``: the phone working through its jobs.

    The state it works on is the relay's, declared here for the type checker;
    the relay sets all of it up in its ``__init__``.
    """

    ledger: RelayLedger
    profile: Profile
    sms_sent: collections.Counter[str]
    reports: list[f.Report]
    rejections: list[f.Rejected]
    _session: RelaySession  # the current socket's session, or a closed one between sockets
    _link: Link | None
    _jobs: dict[str, PhoneJob]
    _phone: SimulatedPhone
    _rng: random.Random

    def _changed(self) -> None:
        raise NotImplementedError  # the relay wakes whoever waits on it

    def _flush(self) -> None:
        if self._link is not None:
            self._link.flush()

    async def _work(self, job: PhoneJob) -> None:
        plan = job.plan
        await asyncio.sleep(plan.ack_delay_s)
        if not self._answer(job):
            return
        if plan.disconnect_after_accept and self._link is not None:
            self._link.abort_after_writes()
        await asyncio.sleep(plan.send_latency_s)
        self._hand_to_carrier(job)
        if plan.send_fails:
            message = "the carrier refused the message (simulated)"
            self._report_failed(job, "generic_failure", message, ANDROID_GENERIC_FAILURE)
        elif plan.delivery_delay_s is None:
            self._report_sent(job)
        elif plan.delivered_first:
            # The hub must read a delivery with no `sent` before it as `sent` too.
            await asyncio.sleep(plan.delivery_delay_s)
            self._report_delivered(job)
            self._report_sent(job)
        else:
            self._report_sent(job)
            await asyncio.sleep(plan.delivery_delay_s)
            self._report_delivered(job)

    def _answer(self, job: PhoneJob) -> bool:
        """Accept the job, or reject or forget it; True if the phone goes on to send it."""
        send, session = job.send, self._session
        if not self._still_offered(job):
            # Accepting a job the hub took back could send the SMS twice.
            del self._jobs[send.id]
            del self.ledger.jobs[send.id]
            self._changed()
            return False
        if send.expires_at <= now():
            self._reject(send.id, "expired", f"expired at {send.expires_at.isoformat()}")
            return False
        if send.sim_slot is not None and not self._phone.has_slot(send.sim_slot):
            self._reject(send.id, "no_sim", f"this phone has no SIM in slot {send.sim_slot}")
            return False
        session.accept(send.id)
        self._flush()
        self._changed()
        return True

    def _still_offered(self, job: PhoneJob) -> bool:
        """False once the hub has put the job back in its queue, maybe for another relay.

        It does so when the socket that offered the job ends, or when no answer
        came within ``ack_timeout_s`` of the offer (PROTOCOL.md, delivery guarantees).
        """
        session = self._session
        if job.offered_on is not session or session.phase is not Phase.OPEN:
            return False
        assert session.welcome is not None  # OPEN means welcomed
        return monotonic() - job.offered_at <= session.welcome.ack_timeout_s

    def _reject(self, message_id: str, code: str, message: str) -> None:
        # Never retryable: expiry, a missing SIM and a cancel do not get better elsewhere.
        self._jobs.pop(message_id, None)
        self._session.reject(message_id, code, message, retryable=False)
        rejection = self.ledger.jobs[message_id].rejection
        if rejection is not None:
            self.rejections.append(rejection)
        self._flush()
        self._changed()

    def _hand_to_carrier(self, job: PhoneJob) -> None:
        job.handed_to_carrier = True
        self.sms_sent[job.send.id] += 1
        self._changed()

    def _report_sent(self, job: PhoneJob) -> None:
        send = job.send
        slot = send.sim_slot if send.sim_slot is not None else self._phone.sims[0].slot
        self._jobs.pop(send.id, None)
        self._reported(self._session.report_sent(send.id, now(), count_parts(send.text), slot))

    def _report_delivered(self, job: PhoneJob) -> None:
        self._reported(self._session.report_delivered(job.send.id, now()))

    def _report_failed(
        self, job: PhoneJob, code: str, message: str, android_result: int | None = None
    ) -> None:
        self._jobs.pop(job.send.id, None)
        report = self._session.report_failed(
            job.send.id, now(), code, message, retryable=False, android_result=android_result
        )
        self._reported(report)

    def _reported(self, report: f.Report) -> None:
        self.reports.append(report)
        if self._rng.random() < self.profile.duplicate_report_rate:
            self._session.resend_report(report)
        self._flush()
        self._changed()


def monotonic() -> float:
    return asyncio.get_running_loop().time()


def now() -> datetime:
    return datetime.now(UTC)
