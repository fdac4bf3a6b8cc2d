"""The running hub: every shared resource, built and closed in one place.

``create_app`` makes one ``Hub`` in its lifespan; routes reach it as
``request.app.state.hub``. Nothing here is a module global, so several hubs
can run in one process (the tests do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from hub.accounts.directory import AccountDirectory
from hub.accounts.tokens import TokenAuthority
from hub.clock import Clock
from hub.cluster.coordination import Coordination, coordination_for
from hub.cluster.shared_secrets import load_keys
from hub.config import AuthConfig, Config, PairingConfig
from hub.events.feed import EventFeed
from hub.events.presence import Presence
from hub.events.tail import ClusterTail
from hub.limits import shared as shared_limits
from hub.limits.guess_brakes import GuessBrake
from hub.limits.shared import SharedBrake, SharedLimits
from hub.messaging.batches import Batches
from hub.messaging.engine import Messaging
from hub.messaging.history import MessageHistory
from hub.messaging.idempotency import IdempotencyKeys
from hub.otp import Otps
from hub.recipients.directory import Recipients
from hub.recipients.lists import RecipientLists
from hub.relay.devices import DeviceDirectory
from hub.secret_box import SecretBox
from hub.serving import dashboard_link
from hub.store.interface import StorageUnavailable, Store
from hub.store.open_store import store_for
from hub.webhooks.deliveries import WebhookDeliveries
from hub.webhooks.endpoints import WebhookEndpoints
from hub.webhooks.http import Pool
from hub.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0


@dataclass
class Hub:
    config: Config
    clock: Clock
    store: Store
    auth: TokenAuthority
    devices: DeviceDirectory
    messaging: Messaging  # the SMS engine: queue, relays, lifecycle
    pairing_brake: GuessBrake
    token_brake: GuessBrake
    accounts: AccountDirectory
    idempotency: IdempotencyKeys
    webhook_endpoints: WebhookEndpoints
    feed: EventFeed
    presence: Presence
    webhook_sender: WebhookSender
    webhook_attempts: WebhookDeliveries  # the log of webhook deliveries and their attempts
    otps: Otps
    recipients: Recipients
    lists: RecipientLists
    batches: Batches
    history: MessageHistory
    coordination: Coordination  # what this node tells other nodes (nothing on one node)
    secret_boxes: dict[str, SecretBox] = field(default_factory=dict)  # by key name
    admin_token: str | None = None  # set only on the first start, to show it once
    _timers: list[asyncio.Task[None]] = field(default_factory=list)
    _sweep_waiters: list[asyncio.Future[None]] = field(default_factory=list)

    @classmethod
    def build(cls, config: Config, clock: Clock, *, webhook_pool: Pool | None = None) -> Hub:
        """``webhook_pool``: what webhooks are POSTed through (default: the sender's own)."""
        store = store_for(config)
        cluster = config.cluster.enabled
        boxes = _secret_boxes(config)
        fresh = config.cluster.enabled  # other nodes change accounts, devices and tokens too
        devices = DeviceDirectory(store, clock, config.pairing.code_ttl_s, fresh=fresh)
        feed = EventFeed(store, postgres=config.storage.is_postgres)
        coordination = coordination_for(store, clock, config)
        presence = Presence(
            store, clock, config.relay.offline_grace_s, feed.committed,
            lambda: coordination.node_id,
        )  # fmt: skip
        otps = Otps(
            store,
            clock,
            config.otp,
            boxes["otp.key"],
            feed.committed,
            cluster=cluster,
        )
        messaging = Messaging(
            store, clock, config, devices, presence, feed.committed, otps.unseal, coordination,
        )  # fmt: skip
        lists = RecipientLists(store, clock)
        endpoints = WebhookEndpoints(
            store,
            clock,
            boxes["webhook.key"],
            config.webhooks.rotation_overlap_s,
        )
        return cls(
            config=config,
            clock=clock,
            store=store,
            auth=TokenAuthority(store, clock, fresh=fresh),
            devices=devices,
            messaging=messaging,
            pairing_brake=_brake(store, clock, "pairing", config.pairing, cluster),
            token_brake=_brake(store, clock, "token", config.auth, cluster),
            accounts=AccountDirectory(
                store, clock, config.limits, SharedLimits(store, clock) if cluster else None
            ),
            idempotency=IdempotencyKeys(store, cluster=cluster),
            webhook_endpoints=endpoints,
            feed=feed,
            presence=presence,
            webhook_sender=WebhookSender(
                store,
                clock,
                feed,
                endpoints,
                config.webhooks,
                pool=webhook_pool,
                node_id=coordination.node_id,
            ),
            webhook_attempts=WebhookDeliveries(store, clock),
            otps=otps,
            recipients=Recipients(store, clock),
            lists=lists,
            batches=Batches(store, clock, lists, messaging, config.sms.max_parts),
            history=MessageHistory(store, clock, config.sms.max_ttl_s),
            coordination=coordination,
            secret_boxes=boxes,
        )

    async def start(self, admin_token: str | None, dashboard_origin: str | None = None) -> None:
        """Open the store and resume; ``dashboard_origin``: keep the dashboard
        sign-in link for that origin in the data folder (``relayhub serve``)."""
        if admin_token is not None and len(admin_token) < 16:
            raise ValueError("RELAYHUB_ADMIN_TOKEN must be at least 16 characters")
        await self.store.open()
        if self.config.cluster.enabled:  # keys every node shares: env or database
            await load_keys(self.store, self.secret_boxes)
        self.admin_token = await self.auth.bootstrap(admin_token)
        if dashboard_origin is not None:
            await self._keep_dashboard_link(dashboard_origin)
            self._timers.append(
                asyncio.create_task(self._renew_dashboard_link(dashboard_origin), name="link")
            )
        await self.devices.load()
        await self.accounts.load()
        await self.presence.load()
        await self.messaging.join_cluster()
        resumed = await self.messaging.recover()
        if resumed:
            log.info("resuming %d unfinished message(s)", resumed)
        await self.webhook_sender.start()
        if self.config.cluster.enabled:  # events other nodes commit wake this node's readers
            tail = ClusterTail(self.store, self.clock, self.feed)
            self._timers.append(asyncio.create_task(tail.follow(), name="event-tail"))
        self._timers.append(asyncio.create_task(self._sweep_forever(), name="sweeper"))

    async def refresh_account(self, account_id: str) -> None:
        """A cluster node reads the account and its devices again before a request
        uses them: another node may have made or changed them a moment ago. One
        node owns both, and this returns at once."""
        if self.config.cluster.enabled:
            await self.accounts.refresh(account_id)
            await self.devices.refresh_account(account_id)

    async def _keep_dashboard_link(self, origin: str) -> None:
        path = self.config.data_path / dashboard_link.LINK_FILE
        await dashboard_link.ensure(self.auth, path, origin, self.clock.now())

    async def _renew_dashboard_link(self, origin: str) -> None:
        while True:
            await self.clock.sleep(dashboard_link.CHECK_EVERY_S)
            try:
                await self._keep_dashboard_link(origin)
            except Exception:  # a full disk must not stop the renewals for good
                log.exception("could not renew the dashboard link")

    async def _sweep_forever(self) -> None:
        pruned_at = self.clock.monotonic()
        while True:
            await self.clock.sleep(self.config.relay.sweep_interval_s)
            try:
                self.messaging.sweep()
                self.presence.sweep()
                if self.config.cluster.enabled:  # a dead node's phones; what nobody claimed
                    with contextlib.suppress(StorageUnavailable):
                        await self.presence.sweep_orphans()
                        await self.messaging.expire_shared()
                if self.clock.monotonic() - pruned_at >= PRUNE_EVERY_S:
                    pruned_at = self.clock.monotonic()
                    self._prune()
            except Exception:  # a bug in one sweep must not stop the timers
                log.exception("sweep failed")
            waiters, self._sweep_waiters = self._sweep_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _prune(self) -> None:
        now = self.clock.now()
        self.idempotency.prune(now)
        kept_since = now - timedelta(days=self.config.events.retention_days)
        self.feed.prune(kept_since)
        self.webhook_attempts.prune(kept_since)
        if self.config.cluster.enabled:
            windows = (self.config.auth.failure_window_s, self.config.pairing.failure_window_s)
            shared_limits.prune(self.store, max(windows))

    async def storage_answers(self) -> None:
        """A read round trip for /v1/health; ``StorageUnavailable`` unless the database answers."""
        await self.store.answers()

    async def swept(self) -> None:
        """Wait for the next sweep, then for every write made so far to commit.

        Tests call this after moving a ``ManualClock`` instead of sleeping.
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sweep_waiters.append(waiter)
        await waiter
        await self.store.barrier()

    async def stop(self) -> None:
        self.feed.close()
        await self.webhook_sender.close()
        for task in self._timers:
            task.cancel()
        for task in self._timers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.messaging.close()  # every relay socket closed with 1001 first
        await self.store.close()


def _secret_boxes(config: Config) -> dict[str, SecretBox]:
    """One node: key files in its data folder. A cluster node: keys from the
    environment, or from the database once the store is open (never a file)."""
    envs = {"otp.key": "RELAYHUB_OTP_KEY", "webhook.key": "RELAYHUB_WEBHOOK_KEY"}
    if config.cluster.enabled:
        return {name: SecretBox.from_env(env) for name, env in envs.items()}
    return {name: SecretBox.for_data_dir(config.data_path, name, env) for name, env in envs.items()}


def _brake(
    store: Store, clock: Clock, name: str, limits: PairingConfig | AuthConfig, cluster: bool
) -> GuessBrake:
    shared = SharedBrake(store, name, limits.max_failures, limits.failure_window_s)
    return GuessBrake(
        clock, limits.max_failures, limits.failure_window_s, shared if cluster else None
    )
