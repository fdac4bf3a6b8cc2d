-- relayhub storage schema (SQLite). Times are RFC 3339 UTC strings; ids are
-- time-sortable text with a type prefix. Applied on every start: idempotent.
-- This is always the current schema; hub/store/migrations.py upgrades an older
-- database (PRAGMA user_version) before it runs.

CREATE TABLE IF NOT EXISTS accounts (
    id                       TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    created_at               TEXT NOT NULL,
    subscription_expires_at  TEXT,                  -- NULL: no end
    paused                   INTEGER NOT NULL DEFAULT 0,
    send_per_minute          INTEGER,               -- NULL: [limits] default
    max_queued               INTEGER                -- NULL: [limits] default
);

-- Access tokens: only the SHA-256 of the secret is kept.
CREATE TABLE IF NOT EXISTS tokens (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    name          TEXT NOT NULL,
    token_hash    BLOB NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,          -- space-separated
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT
);

-- One-time pairing codes; both the short code and the QR secret are hashed.
CREATE TABLE IF NOT EXISTS pairing_codes (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    code_hash    BLOB NOT NULL UNIQUE,
    qr_hash      BLOB NOT NULL UNIQUE,
    device_name  TEXT,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_by      TEXT                     -- device id once used
);

CREATE TABLE IF NOT EXISTS devices (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts(id),
    name              TEXT NOT NULL,
    token_hash        BLOB NOT NULL UNIQUE,
    created_at        TEXT NOT NULL,
    disabled          INTEGER NOT NULL DEFAULT 0,
    revoked_at        TEXT,
    model             TEXT,
    app_version       TEXT,
    os                TEXT,
    sims              TEXT NOT NULL DEFAULT '[]',   -- JSON from the last hello
    parts_per_minute  INTEGER,
    last_seq          INTEGER NOT NULL DEFAULT 0,   -- highest report seq stored
    last_seen_at      TEXT,
    battery           INTEGER,
    charging          INTEGER,
    signal            INTEGER,
    network           TEXT,
    presence          TEXT NOT NULL DEFAULT 'offline'  -- last device.online/offline event
);
CREATE INDEX IF NOT EXISTS devices_account ON devices(account_id, id);

CREATE TABLE IF NOT EXISTS messages (
    id                   TEXT PRIMARY KEY,       -- req_…
    account_id           TEXT NOT NULL REFERENCES accounts(id),
    to_number            TEXT NOT NULL,
    text                 TEXT NOT NULL,
    parts                INTEGER NOT NULL,
    encoding             TEXT NOT NULL,
    requested_device_id  TEXT,                   -- manual relay mode
    sim_slot             INTEGER,
    state                TEXT NOT NULL,
    device_id            TEXT,                   -- the device that holds or last held it
    attempts             INTEGER NOT NULL DEFAULT 0,
    error_code           TEXT,
    error_message        TEXT,
    queued_at            TEXT NOT NULL,
    expires_at           TEXT NOT NULL,
    dispatched_at        TEXT,
    accepted_at          TEXT,
    sent_at              TEXT,
    delivered_at         TEXT,
    failed_at            TEXT,
    updated_at           TEXT NOT NULL,
    kind                 TEXT NOT NULL DEFAULT 'sms',  -- sms, otp or list: the queue's priority
    batch_id             TEXT,                   -- a list send (bat_…)
    -- An OTP's text (it holds the code) only encrypted, and only until a relay
    -- has accepted it; `text` is then empty (hub/otp.py).
    text_sealed          BLOB
);
CREATE INDEX IF NOT EXISTS messages_account ON messages(account_id, id);
CREATE INDEX IF NOT EXISTS messages_batch ON messages(batch_id, state) WHERE batch_id IS NOT NULL;
-- Restart recovery reads only the messages still moving.
CREATE INDEX IF NOT EXISTS messages_live ON messages(state)
    WHERE state IN ('queued', 'dispatched', 'accepted', 'sent');

-- Every transition of a message with its time and cause, in the order written:
-- seq is that order (in SQLite an INTEGER PRIMARY KEY is the rowid itself).
CREATE TABLE IF NOT EXISTS message_events (
    seq         INTEGER PRIMARY KEY,
    message_id  TEXT NOT NULL,
    at          TEXT NOT NULL,
    state       TEXT NOT NULL,
    cause       TEXT NOT NULL,
    device_id   TEXT,
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS message_events_message ON message_events(message_id);

-- Inbound SMS from relays (`received` frames).
CREATE TABLE IF NOT EXISTS inbound_messages (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    from_number  TEXT NOT NULL,
    text         TEXT NOT NULL,
    sim_slot     INTEGER,
    received_at  TEXT NOT NULL,
    UNIQUE (device_id, seq)                  -- a replayed report is stored once
);

-- Idempotency-Key: the answer to a send, kept 24 h, written in the same
-- transaction as the message itself so a retry can never queue it twice.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    account_id    TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  BLOB NOT NULL,
    status        INTEGER NOT NULL,
    body          BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- Webhook endpoints; the signing secret only encrypted (hub/webhooks/secret_box.py).
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id                    TEXT PRIMARY KEY,
    account_id            TEXT NOT NULL REFERENCES accounts(id),
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,        -- space-separated event types
    description           TEXT NOT NULL DEFAULT '',
    enabled               INTEGER NOT NULL DEFAULT 1,
    disabled_reason       TEXT,                 -- set when the hub disabled it (410 Gone)
    secret_sealed         BLOB NOT NULL,
    previous_sealed       BLOB,                 -- still signs until previous_until
    previous_until        TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_account ON webhook_endpoints(account_id, id);

-- The event log: every webhook event, written in the same transaction as the
-- change that caused it, with its deliveries (hub/events/outbox.py). It is the live
-- stream's source (`seq` is its order; AUTOINCREMENT never reuses a pruned seq).
CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,           -- evt_…, the webhook-id
    account_id  TEXT NOT NULL,
    type        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    body        BLOB NOT NULL                   -- the JSON sent: {type, timestamp, data}
);
CREATE INDEX IF NOT EXISTS events_account ON events(account_id, seq);

-- One event for one endpoint (the webhook outbox); retried until it succeeds
-- or the schedule ends.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id               TEXT PRIMARY KEY,          -- dlv_…
    account_id       TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_seq        INTEGER,                   -- events.seq: how the sender finds new ones
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,             -- pending, succeeded, failed
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,                      -- while pending
    redelivery_of    TEXT,                      -- a manual redeliver: the delivery it repeats
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
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
-- new_id() is the hub's id function, registered on its connections. A changed
-- trigger needs a migration step that drops this one (IF NOT EXISTS keeps it).
CREATE TRIGGER IF NOT EXISTS events_fan_out AFTER INSERT ON events
BEGIN
    INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, event_seq,
        event_type, status, next_attempt_at, created_at, updated_at)
    SELECT new_id('dlv'), e.account_id, e.id, NEW.id, NEW.seq, NEW.type, 'pending',
        NEW.created_at, NEW.created_at, NEW.created_at
    FROM webhook_endpoints e
    WHERE e.account_id = NEW.account_id AND e.enabled = 1
        AND instr(' ' || e.events || ' ', ' ' || NEW.type || ' ') > 0;
END;

-- Every try of a delivery: the attempts log.
CREATE TABLE IF NOT EXISTS webhook_attempts (
    delivery_id       TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    n                 INTEGER NOT NULL,
    at                TEXT NOT NULL,
    status_code       INTEGER,
    latency_ms        INTEGER NOT NULL,
    error             TEXT,
    response_excerpt  TEXT,
    PRIMARY KEY (delivery_id, n)
);

-- One-time passwords. The code only as a keyed HMAC; its SMS is a message.
CREATE TABLE IF NOT EXISTS otps (
    id           TEXT PRIMARY KEY,             -- otp_…
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    message_id   TEXT NOT NULL,                -- the SMS carrying it (req_…)
    to_number    TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    locale       TEXT NOT NULL,
    code_hash    BLOB NOT NULL,                -- HMAC-SHA256(otp key, id + code)
    status       TEXT NOT NULL,                -- pending, verified, superseded, max_attempts
    wrong_tries  INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    verified_at  TEXT
);
-- Resend limits and supersede look up the number's recent OTPs of a purpose.
CREATE INDEX IF NOT EXISTS otps_recipient ON otps(account_id, to_number, purpose, created_at);

-- Every verify call, whatever it found: the audit trail (and every call
-- writes the same, so no answer is faster than another).
CREATE TABLE IF NOT EXISTS otp_checks (
    otp_id      TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    at          TEXT NOT NULL,
    result      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS otp_checks_otp ON otp_checks(otp_id);

-- Saved recipients. `search` is what the name and number are found by
-- (hub/recipients/search_text.py); recipients_fts indexes it as trigrams, so any
-- fragment of three characters or more is found through the index.
CREATE TABLE IF NOT EXISTS recipients (
    id          TEXT PRIMARY KEY,              -- rcp_…
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL,                 -- E.164
    tags        TEXT NOT NULL DEFAULT '[]',    -- JSON array of strings
    metadata    TEXT NOT NULL DEFAULT '{}',    -- JSON object of strings and numbers
    search      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (account_id, phone)
);
CREATE INDEX IF NOT EXISTS recipients_account ON recipients(account_id, id);
CREATE VIRTUAL TABLE IF NOT EXISTS recipients_fts USING fts5(
    search, content = 'recipients', content_rowid = 'rowid', tokenize = 'trigram'
);
CREATE TRIGGER IF NOT EXISTS recipients_fts_insert AFTER INSERT ON recipients BEGIN
    INSERT INTO recipients_fts (rowid, search) VALUES (NEW.rowid, NEW.search);
END;
CREATE TRIGGER IF NOT EXISTS recipients_fts_delete AFTER DELETE ON recipients BEGIN
    INSERT INTO recipients_fts (recipients_fts, rowid, search)
        VALUES ('delete', OLD.rowid, OLD.search);
END;
CREATE TRIGGER IF NOT EXISTS recipients_fts_update AFTER UPDATE OF search ON recipients BEGIN
    INSERT INTO recipients_fts (recipients_fts, rowid, search)
        VALUES ('delete', OLD.rowid, OLD.search);
    INSERT INTO recipients_fts (rowid, search) VALUES (NEW.rowid, NEW.search);
END;

-- Named lists of recipients.
CREATE TABLE IF NOT EXISTS recipient_lists (
    id          TEXT PRIMARY KEY,              -- lst_…
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recipient_lists_account ON recipient_lists(account_id, id);
CREATE TABLE IF NOT EXISTS list_members (
    list_id       TEXT NOT NULL REFERENCES recipient_lists(id) ON DELETE CASCADE,
    recipient_id  TEXT NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
    added_at      TEXT NOT NULL,
    PRIMARY KEY (list_id, recipient_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS list_members_recipient ON list_members(recipient_id);

-- A list send: one message per number, each with batch_id set.
CREATE TABLE IF NOT EXISTS batches (
    id          TEXT PRIMARY KEY,              -- bat_…
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    list_id     TEXT NOT NULL,
    text        TEXT NOT NULL,                 -- the template as sent
    total       INTEGER NOT NULL,              -- messages queued
    skipped     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    cancelled_at TEXT
);
