-- Tokens and cost per turn (issue 7), and customers' feedback on replies.
-- One usage row per turn: per request (request_id) and, summed, per thread and
-- per customer and day (the daily budget). `run_id` is the turn's root run in
-- LangSmith (its trace id); `message_ids` are the assistant messages the turn
-- wrote, so feedback on a message finds its trace.
CREATE TABLE switchboard.usage (
    usage_id          bigserial PRIMARY KEY,
    thread_id         uuid NOT NULL REFERENCES switchboard.threads ON DELETE CASCADE,
    customer_id       text NOT NULL,
    request_id        text NOT NULL,
    client_message_id text,
    run_id            uuid NOT NULL,
    outcome           text NOT NULL,
    input_tokens      integer NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens     integer NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cost_usd          numeric(14, 6) NOT NULL DEFAULT 0,
    -- {"<model>": {calls, input_tokens, output_tokens, cost_usd, estimated}}
    models            jsonb NOT NULL DEFAULT '{}'::jsonb,
    message_ids       text[] NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_thread_idx ON switchboard.usage (thread_id, created_at);
CREATE INDEX usage_customer_day_idx ON switchboard.usage (customer_id, created_at);
CREATE INDEX usage_message_ids_idx ON switchboard.usage USING gin (message_ids);

CREATE TABLE switchboard.feedback (
    thread_id    uuid NOT NULL REFERENCES switchboard.threads ON DELETE CASCADE,
    message_id   text NOT NULL,
    customer_id  text NOT NULL,
    score        text NOT NULL CHECK (score IN ('up', 'down')),
    comment      text,
    run_id       uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, message_id)
);
