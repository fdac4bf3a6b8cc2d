-- relayhub storage schema (PostgreSQL): the same tables, columns and meaning as
-- the SQLite schema.sql, so that the feature modules' SQL serves both. Applied
-- on every start under an advisory lock (hub/store/postgres_migrate.py): idempotent.
--
-- Kept as SQLite keeps them, so the shared SQL compares and sorts alike:
-- times are RFC 3339 UTC text and flags are integers 0/1; every text column
-- sorts bytewise (COLLATE "C", as SQLite's BINARY), whatever the database's
-- locale, so ids and times page in the same order. Integers are bigint (SQLite
-- integers are 64-bit), blobs bytea, AUTOINCREMENT an identity column.

CREATE TABLE IF NOT EXISTS accounts (
    id                       TEXT COLLATE "C" PRIMARY KEY,
    name                     TEXT COLLATE "C" NOT NULL,
    created_at               TEXT COLLATE "C" NOT NULL,
    subscription_expires_at  TEXT COLLATE "C",                  -- NULL: no end
    paused                   BIGINT NOT NULL DEFAULT 0,
    send_per_minute          BIGINT,               -- NULL: [limits] default
    max_queued               BIGINT                -- NULL: [limits] default
);

-- Access tokens: only the SHA-256 of the secret is kept.
CREATE TABLE IF NOT EXISTS tokens (
    id            TEXT COLLATE "C" PRIMARY KEY,
    account_id    TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    name          TEXT COLLATE "C" NOT NULL,
    token_hash    BYTEA NOT NULL UNIQUE,
    scopes        TEXT COLLATE "C" NOT NULL,          -- space-separated
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C",
    revoked_at    TEXT COLLATE "C",
    last_used_at  TEXT COLLATE "C"
);

-- One-time pairing codes; both the short code and the QR secret are hashed.
CREATE TABLE IF NOT EXISTS pairing_codes (
    id           TEXT COLLATE "C" PRIMARY KEY,
    account_id   TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    code_hash    BYTEA NOT NULL UNIQUE,
    qr_hash      BYTEA NOT NULL UNIQUE,
    device_name  TEXT COLLATE "C",
    created_at   TEXT COLLATE "C" NOT NULL,
    expires_at   TEXT COLLATE "C" NOT NULL,
    used_by      TEXT COLLATE "C"                     -- device id once used
);

CREATE TABLE IF NOT EXISTS devices (
    id                TEXT COLLATE "C" PRIMARY KEY,
    account_id        TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    name              TEXT COLLATE "C" NOT NULL,
    token_hash        BYTEA NOT NULL UNIQUE,
    created_at        TEXT COLLATE "C" NOT NULL,
    disabled          BIGINT NOT NULL DEFAULT 0,
    revoked_at        TEXT COLLATE "C",
    model             TEXT COLLATE "C",
    app_version       TEXT COLLATE "C",
    os                TEXT COLLATE "C",
    sims              TEXT COLLATE "C" NOT NULL DEFAULT '[]',   -- JSON from the last hello
    parts_per_minute  BIGINT,
    last_seq          BIGINT NOT NULL DEFAULT 0,   -- highest report seq stored
    last_seen_at      TEXT COLLATE "C",
    battery           BIGINT,
    charging          BIGINT,
    signal            BIGINT,
    network           TEXT COLLATE "C",
    presence          TEXT COLLATE "C" NOT NULL DEFAULT 'offline'  -- last device.online/offline event
);
CREATE INDEX IF NOT EXISTS devices_account ON devices(account_id, id);

CREATE TABLE IF NOT EXISTS messages (
    id                   TEXT COLLATE "C" PRIMARY KEY,       -- req_…
    account_id           TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    to_number            TEXT COLLATE "C" NOT NULL,
    text                 TEXT COLLATE "C" NOT NULL,
    parts                BIGINT NOT NULL,
    encoding             TEXT COLLATE "C" NOT NULL,
    requested_device_id  TEXT COLLATE "C",                   -- manual relay mode
    sim_slot             BIGINT,
    state                TEXT COLLATE "C" NOT NULL,
    device_id            TEXT COLLATE "C",                   -- the device that holds or last held it
    attempts             BIGINT NOT NULL DEFAULT 0,
    error_code           TEXT COLLATE "C",
    error_message        TEXT COLLATE "C",
    queued_at            TEXT COLLATE "C" NOT NULL,
    expires_at           TEXT COLLATE "C" NOT NULL,
    dispatched_at        TEXT COLLATE "C",
    accepted_at          TEXT COLLATE "C",
    sent_at              TEXT COLLATE "C",
    delivered_at         TEXT COLLATE "C",
    failed_at            TEXT COLLATE "C",
    updated_at           TEXT COLLATE "C" NOT NULL,
    kind                 TEXT COLLATE "C" NOT NULL DEFAULT 'sms',  -- sms, otp or list: the queue's priority
    batch_id             TEXT COLLATE "C",                   -- a list send (bat_…)
    -- An OTP's text (it holds the code) only encrypted, and only until a relay
    -- has accepted it; `text` is then empty (hub/otp.py).
    text_sealed          BYTEA,
    -- Several nodes (hub/cluster/): the node whose engine holds this queued
    -- message in memory; NULL while it waits in the shared queue for any node.
    owner_node           TEXT COLLATE "C",
    -- The reaped node a held job (dispatched, accepted, sent) was left by,
    -- until a live node adopts it (hub/cluster/reaper.py); NULL otherwise.
    orphan_of            TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS messages_account ON messages(account_id, id);
CREATE INDEX IF NOT EXISTS messages_batch ON messages(batch_id, state) WHERE batch_id IS NOT NULL;
-- Restart recovery reads only the messages still moving.
CREATE INDEX IF NOT EXISTS messages_live ON messages(state)
    WHERE state IN ('queued', 'dispatched', 'accepted', 'sent');
-- The shared queue of a cluster: what a node with room claims (hub/cluster/queue.py).
CREATE INDEX IF NOT EXISTS messages_shared_queue ON messages(account_id, id)
    WHERE state = 'queued' AND owner_node IS NULL;

-- Orphans of reaped nodes, by phone: empty while no node died, so it costs the
-- message updates nothing.
CREATE INDEX IF NOT EXISTS messages_orphans ON messages(device_id) WHERE orphan_of IS NOT NULL;

-- Every transition of a message with its time and cause.
CREATE TABLE IF NOT EXISTS message_events (
    seq         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,  -- the order they were written
    message_id  TEXT COLLATE "C" NOT NULL,
    at          TEXT COLLATE "C" NOT NULL,
    state       TEXT COLLATE "C" NOT NULL,
    cause       TEXT COLLATE "C" NOT NULL,
    device_id   TEXT COLLATE "C",
    detail      TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS message_events_message ON message_events(message_id);

-- Inbound SMS from relays (`received` frames).
CREATE TABLE IF NOT EXISTS inbound_messages (
    id           TEXT COLLATE "C" PRIMARY KEY,
    account_id   TEXT COLLATE "C" NOT NULL,
    device_id    TEXT COLLATE "C" NOT NULL,
    seq          BIGINT NOT NULL,
    from_number  TEXT COLLATE "C" NOT NULL,
    text         TEXT COLLATE "C" NOT NULL,
    sim_slot     BIGINT,
    received_at  TEXT COLLATE "C" NOT NULL,
    UNIQUE (device_id, seq)                  -- a replayed report is stored once
);

-- Idempotency-Key: the answer to a send, kept 24 h, written in the same
-- transaction as the message itself so a retry can never queue it twice.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    account_id    TEXT COLLATE "C" NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    request_hash  BYTEA NOT NULL,
    status        BIGINT NOT NULL,
    body          BYTEA NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- Webhook endpoints; the signing secret only encrypted (hub/webhooks/secret_box.py).
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    account_id            TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    url                   TEXT COLLATE "C" NOT NULL,
    events                TEXT COLLATE "C" NOT NULL,        -- space-separated event types
    description           TEXT COLLATE "C" NOT NULL DEFAULT '',
    enabled               BIGINT NOT NULL DEFAULT 1,
    disabled_reason       TEXT COLLATE "C",                 -- set when the hub disabled it (410 Gone)
    secret_sealed         BYTEA NOT NULL,
    previous_sealed       BYTEA,                 -- still signs until previous_until
    previous_until        TEXT COLLATE "C",
    created_at            TEXT COLLATE "C" NOT NULL,
    updated_at            TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_account ON webhook_endpoints(account_id, id);

-- The event log: every webhook event, written in the same transaction as the
-- change that caused it, with its deliveries (hub/events/outbox.py). It is the live
-- stream's source (`seq` is its order; AUTOINCREMENT never reuses a pruned seq).
CREATE TABLE IF NOT EXISTS events (
    seq         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id          TEXT COLLATE "C" NOT NULL UNIQUE,           -- evt_…, the webhook-id
    account_id  TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    body        BYTEA NOT NULL,                  -- the JSON sent: {type, timestamp, data}
    -- The writing transaction: seq is handed out at insert, not at commit, so
    -- with several writers a reader could see seq 12 before 11 commits. Readers
    -- follow (xid, seq) and only below the oldest running transaction
    -- (hub/events/order.py), where nothing new can still appear.
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX IF NOT EXISTS events_account ON events(account_id, seq);
CREATE INDEX IF NOT EXISTS events_account_order ON events(account_id, xid, seq);
CREATE INDEX IF NOT EXISTS events_order ON events(xid, seq);

-- One event for one endpoint (the webhook outbox); retried until it succeeds
-- or the schedule ends.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id               TEXT COLLATE "C" PRIMARY KEY,          -- dlv_…
    account_id       TEXT COLLATE "C" NOT NULL,
    endpoint_id      TEXT COLLATE "C" NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id         TEXT COLLATE "C" NOT NULL,
    event_seq        BIGINT,                   -- events.seq: how the sender finds new ones
    event_type       TEXT COLLATE "C" NOT NULL,
    status           TEXT COLLATE "C" NOT NULL,             -- pending, succeeded, failed
    attempt_count    BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TEXT COLLATE "C",                      -- while pending
    redelivery_of    TEXT COLLATE "C",                      -- a manual redeliver: the delivery it repeats
    created_at       TEXT COLLATE "C" NOT NULL,
    updated_at       TEXT COLLATE "C" NOT NULL,
    -- How a sender finds new deliveries in commit order (as events.xid).
    made_xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    -- Several nodes: the node making the current attempt, until when, since when.
    locked_by        TEXT COLLATE "C",
    locked_until     TIMESTAMPTZ,
    locked_at        TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_made ON webhook_deliveries(made_xid, id);
CREATE INDEX IF NOT EXISTS webhook_deliveries_account ON webhook_deliveries(account_id, id);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint
    ON webhook_deliveries(endpoint_id, status);
-- How the sender finds new deliveries, and pruning finds the events still needed.
CREATE INDEX IF NOT EXISTS webhook_deliveries_new ON webhook_deliveries(event_seq, id);
CREATE INDEX IF NOT EXISTS webhook_deliveries_event ON webhook_deliveries(event_id);
-- One delivery per event and endpoint (redelivers aside).
CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_once
    ON webhook_deliveries(event_id, endpoint_id) WHERE redelivery_of IS NULL;

-- The webhook outbox is filled by the event's own insert: one pending delivery
-- per enabled endpoint of the account that subscribes to the event's type, in
-- the same transaction as the event (and so as the change it reports).
-- new_id() makes the hub's ids (hub/ids.py) in SQL: 48 bits of milliseconds,
-- then 80 bits from the server's strong random source (gen_random_uuid), in
-- Crockford base32.
CREATE OR REPLACE FUNCTION new_id(prefix TEXT) RETURNS TEXT
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet CONSTANT TEXT := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    ms BIGINT := floor(extract(epoch FROM clock_timestamp()) * 1000);
    -- Two random UUIDs less their version bytes (6 and 22, half fixed): 30 bytes.
    entropy BYTEA := uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid());
    digits TEXT := '';
    taken INT := 0;
    i INT;
BEGIN
    FOR i IN REVERSE 9..0 LOOP
        digits := digits || substr(alphabet, ((ms >> (5 * i)) & 31)::INT + 1, 1);
    END LOOP;
    i := 0;
    WHILE taken < 16 LOOP
        IF i <> 6 AND i <> 22 THEN
            digits := digits || substr(alphabet, (get_byte(entropy, i) & 31) + 1, 1);
            taken := taken + 1;
        END IF;
        i := i + 1;
    END LOOP;
    RETURN prefix || '_' || digits;
END
$$;

CREATE OR REPLACE FUNCTION events_fan_out() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, event_seq,
        event_type, status, next_attempt_at, created_at, updated_at)
    SELECT new_id('dlv'), e.account_id, e.id, NEW.id, NEW.seq, NEW.type, 'pending',
        NEW.created_at, NEW.created_at, NEW.created_at
    FROM webhook_endpoints e
    WHERE e.account_id = NEW.account_id AND e.enabled = 1
        AND strpos(' ' || e.events || ' ', ' ' || NEW.type || ' ') > 0;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER events_fan_out AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_fan_out();

-- Every try of a delivery: the attempts log.
CREATE TABLE IF NOT EXISTS webhook_attempts (
    delivery_id       TEXT COLLATE "C" NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    n                 BIGINT NOT NULL,
    at                TEXT COLLATE "C" NOT NULL,
    status_code       BIGINT,
    latency_ms        BIGINT NOT NULL,
    error             TEXT COLLATE "C",
    response_excerpt  TEXT COLLATE "C",
    PRIMARY KEY (delivery_id, n)
);

-- One-time passwords. The code only as a keyed HMAC; its SMS is a message.
CREATE TABLE IF NOT EXISTS otps (
    id           TEXT COLLATE "C" PRIMARY KEY,             -- otp_…
    account_id   TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    message_id   TEXT COLLATE "C" NOT NULL,                -- the SMS carrying it (req_…)
    to_number    TEXT COLLATE "C" NOT NULL,
    purpose      TEXT COLLATE "C" NOT NULL,
    locale       TEXT COLLATE "C" NOT NULL,
    code_hash    BYTEA NOT NULL,                -- HMAC-SHA256(otp key, id + code)
    status       TEXT COLLATE "C" NOT NULL,                -- pending, verified, superseded, max_attempts
    wrong_tries  BIGINT NOT NULL DEFAULT 0,
    created_at   TEXT COLLATE "C" NOT NULL,
    expires_at   TEXT COLLATE "C" NOT NULL,
    verified_at  TEXT COLLATE "C"
);
-- Resend limits and supersede look up the number's recent OTPs of a purpose.
CREATE INDEX IF NOT EXISTS otps_recipient ON otps(account_id, to_number, purpose, created_at);

-- Every verify call, whatever it found: the audit trail (and every call
-- writes the same, so no answer is faster than another).
CREATE TABLE IF NOT EXISTS otp_checks (
    otp_id      TEXT COLLATE "C" NOT NULL,
    account_id  TEXT COLLATE "C" NOT NULL,
    at          TEXT COLLATE "C" NOT NULL,
    result      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS otp_checks_otp ON otp_checks(otp_id);

-- Saved recipients. `search` is what the name and number are found by
-- (hub/recipients/search_text.py); a pg_trgm index on it finds any fragment of three
-- characters or more (SQLite's FTS5 trigram table, as a LIKE the index serves).
CREATE TABLE IF NOT EXISTS recipients (
    id          TEXT COLLATE "C" PRIMARY KEY,              -- rcp_…
    account_id  TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    name        TEXT COLLATE "C" NOT NULL DEFAULT '',
    phone       TEXT COLLATE "C" NOT NULL,                 -- E.164
    tags        TEXT COLLATE "C" NOT NULL DEFAULT '[]',    -- JSON array of strings
    metadata    TEXT COLLATE "C" NOT NULL DEFAULT '{}',    -- JSON object of strings and numbers
    search      TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL,
    UNIQUE (account_id, phone)
);
CREATE INDEX IF NOT EXISTS recipients_account ON recipients(account_id, id);
CREATE INDEX IF NOT EXISTS recipients_search ON recipients USING gin (search gin_trgm_ops);

-- Named lists of recipients.
CREATE TABLE IF NOT EXISTS recipient_lists (
    id          TEXT COLLATE "C" PRIMARY KEY,              -- lst_…
    account_id  TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    name        TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS recipient_lists_account ON recipient_lists(account_id, id);
CREATE TABLE IF NOT EXISTS list_members (
    list_id       TEXT COLLATE "C" NOT NULL REFERENCES recipient_lists(id) ON DELETE CASCADE,
    recipient_id  TEXT COLLATE "C" NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
    added_at      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (list_id, recipient_id)
);
CREATE INDEX IF NOT EXISTS list_members_recipient ON list_members(recipient_id);

-- A list send: one message per number, each with batch_id set.
CREATE TABLE IF NOT EXISTS batches (
    id          TEXT COLLATE "C" PRIMARY KEY,              -- bat_…
    account_id  TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    list_id     TEXT COLLATE "C" NOT NULL,
    text        TEXT COLLATE "C" NOT NULL,                 -- the template as sent
    total       BIGINT NOT NULL,              -- messages queued
    skipped     BIGINT NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    cancelled_at TEXT COLLATE "C"
);

-- The schema's version (SQLite keeps it in PRAGMA user_version): one row.
CREATE TABLE IF NOT EXISTS schema_version (
    version  BIGINT NOT NULL
);

-- Several nodes on this database (hub/cluster/). A node is alive while its
-- lease runs; leases are on the database's clock, never a node's.
CREATE TABLE IF NOT EXISTS hub_nodes (
    id           TEXT COLLATE "C" PRIMARY KEY,        -- also its NOTIFY channel: rh_<id>
    started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_until  TIMESTAMPTZ NOT NULL
);

-- Which node holds each device's relay socket now; epoch grows with every hello,
-- so a write fenced by it tells a current session from an older one.
CREATE TABLE IF NOT EXISTS relay_sessions (
    device_id   TEXT COLLATE "C" PRIMARY KEY,
    account_id  TEXT COLLATE "C" NOT NULL,
    node_id     TEXT COLLATE "C" NOT NULL,
    epoch       BIGINT NOT NULL,
    since       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS relay_sessions_account ON relay_sessions(account_id, node_id);

-- Nodes whose lease ran out and that another node reaped (hub/cluster/reaper.py).
-- Their dispatched, accepted and sent messages keep them as owner_node until a
-- node adopts them: the node the phone comes back to, or (a dispatched one
-- only, once rescue_after has passed and no node holds its phone) any node,
-- which requeues it. The row goes when it owns nothing any more.
CREATE TABLE IF NOT EXISTS reaped_nodes (
    id            TEXT COLLATE "C" PRIMARY KEY,
    reaped_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    rescue_after  TIMESTAMPTZ NOT NULL
);

-- Zombie fencing: every group commit of a cluster node runs this just before
-- its COMMIT. It holds the node's row (KEY SHARE: a renewal still goes through,
-- a reap's DELETE waits) until the commit, or fails the whole transaction if
-- the row is gone, so nothing a reaped node decided can commit after the reap.
CREATE OR REPLACE FUNCTION rh_hold_node(node TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM hub_nodes WHERE id = node FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % was reaped (its lease ran out): it may commit nothing more', node
            USING ERRCODE = 'RH001';
    END IF;
END
$$;

-- Limits that hold for the whole cluster (hub/limits/shared.py). A send's rate:
-- GCRA, one row per key; tat (the theoretical arrival time) is epoch seconds on
-- the database's clock, so every node measures time alike.
CREATE TABLE IF NOT EXISTS rate_limits (
    key  TEXT COLLATE "C" PRIMARY KEY,      -- send:<account id>
    tat  DOUBLE PRECISION NOT NULL
);

-- Room a node admitted but has not committed yet: a send's place in the queue,
-- an OTP's turn for its number. The message's own transaction deletes its hold;
-- one whose send never committed lapses at until_ts (database clock).
CREATE TABLE IF NOT EXISTS limit_holds (
    id        TEXT COLLATE "C" PRIMARY KEY,
    scope     TEXT COLLATE "C" NOT NULL,     -- queue:<account> or otp:<account> <to> <purpose>
    n         BIGINT NOT NULL,
    at        TEXT COLLATE "C" NOT NULL,     -- the node's time, as otps.created_at
    until_ts  DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS limit_holds_scope ON limit_holds(scope);
-- max_queued counts an account's queued messages at every send: index only.
CREATE INDEX IF NOT EXISTS messages_queued ON messages(account_id) WHERE state = 'queued';

-- Wrong guesses (tokens, pairing codes) per brake and client, for the cluster's brakes.
CREATE TABLE IF NOT EXISTS guess_failures (
    id      BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    brake   TEXT COLLATE "C" NOT NULL,
    client  TEXT COLLATE "C" NOT NULL,
    at      DOUBLE PRECISION NOT NULL        -- epoch seconds, database clock
);
CREATE INDEX IF NOT EXISTS guess_failures_client ON guess_failures(brake, client, at);

-- Keys every node needs (otp.key, webhook.key), made once by the first node.
-- sealed: wrapped with RELAYHUB_SECRET_KEY (Fernet); else kept as is, and then
-- the database's access rules are all that guards them (docs/operations.md).
CREATE TABLE IF NOT EXISTS hub_secrets (
    name        TEXT COLLATE "C" PRIMARY KEY,
    value       BYTEA NOT NULL,
    sealed      BIGINT NOT NULL,                  -- 1: wrapped, 0: as is
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A send's admission in one round trip (hub/limits/shared.py): the writer runs
-- ops one after another, so each statement's round trip is the whole cluster's
-- time. Under the account's advisory lock (0x7271) it counts the queue (queued
-- messages plus live holds; each query sees commits made while it waited), then
-- takes one from the GCRA row in one INSERT … ON CONFLICT DO UPDATE … WHERE
-- (the compare-and-set), then leaves the hold. queued > max - adding: refused
-- for the queue; wait_s > 0: refused for the rate, nothing taken.
CREATE OR REPLACE FUNCTION rh_admit_send(
    p_account TEXT, p_per_minute BIGINT, p_max_queued BIGINT, p_adding BIGINT,
    p_hold TEXT, p_at TEXT, p_hold_s DOUBLE PRECISION,
    OUT queued BIGINT, OUT wait_s DOUBLE PRECISION
) LANGUAGE plpgsql AS $$
DECLARE
    step DOUBLE PRECISION := 60.0 / p_per_minute;
    span DOUBLE PRECISION := p_per_minute * (60.0 / p_per_minute);
    now_s DOUBLE PRECISION;
    tat_s DOUBLE PRECISION;
BEGIN
    PERFORM pg_advisory_xact_lock(29297, hashtext(p_account));
    now_s := extract(epoch FROM clock_timestamp());
    SELECT count(*) INTO queued FROM messages
        WHERE account_id = p_account AND state = 'queued';
    queued := queued + (SELECT coalesce(sum(n), 0) FROM limit_holds
        WHERE scope = 'queue:' || p_account AND until_ts > now_s);
    wait_s := 0;
    IF queued + p_adding > p_max_queued THEN
        RETURN;
    END IF;
    INSERT INTO rate_limits AS r (key, tat) VALUES ('send:' || p_account, now_s + step)
        ON CONFLICT (key) DO UPDATE SET tat = greatest(r.tat, now_s) + step
        WHERE greatest(r.tat, now_s) + step - now_s <= span
        RETURNING tat INTO tat_s;
    IF tat_s IS NULL THEN  -- refused: the next send fits once tat + step - now <= span
        SELECT r.tat INTO tat_s FROM rate_limits r WHERE r.key = 'send:' || p_account;
        wait_s := greatest(tat_s + step - span - now_s, 0.001);
        RETURN;
    END IF;
    INSERT INTO limit_holds (id, scope, n, at, until_ts)
        VALUES (p_hold, 'queue:' || p_account, p_adding, p_at, now_s + p_hold_s);
END
$$;
