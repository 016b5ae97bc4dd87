-- Conversations and their turns. Message content lives in the LangGraph
-- checkpoints; these tables answer "whose thread is this" and "did this
-- client message already run" without reading checkpoints.
CREATE TABLE switchboard.threads (
    thread_id     uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- A lease so one turn runs at a time per thread, across API processes.
    turn_lease    uuid,
    turn_lease_expires_at timestamptz
);
CREATE INDEX threads_customer_idx ON switchboard.threads (customer_id, created_at DESC);

CREATE TABLE switchboard.turns (
    thread_id         uuid NOT NULL REFERENCES switchboard.threads ON DELETE CASCADE,
    client_message_id text NOT NULL,
    status            text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    -- The events a replay of this turn sends (final messages, handoffs, done).
    events            jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz,
    PRIMARY KEY (thread_id, client_message_id)
);
