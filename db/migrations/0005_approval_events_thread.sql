-- The shopper's widget hears the approvals on its own conversation as they change
-- (GET /v1/threads/{thread_id}/events). The notification now names the thread, so
-- each API process passes a change only to the streams of that thread, and it is
-- also sent when the customer has been told the outcome (customer_notified_at):
-- only then is the outcome in the conversation's history for the widget to read.
CREATE OR REPLACE FUNCTION switchboard.notify_approval_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(
        'switchboard_approvals',
        json_build_object(
            'approval_id', NEW.approval_id,
            'status', NEW.status,
            'thread_id', NEW.thread_id,
            'answered', NEW.customer_notified_at IS NOT NULL
        )::text
    );
    RETURN NULL;
END;
$$;

DROP TRIGGER approvals_notify ON switchboard.approvals;
CREATE TRIGGER approvals_notify
    AFTER INSERT OR UPDATE OF status, outcome, customer_notified_at ON switchboard.approvals
    FOR EACH ROW EXECUTE FUNCTION switchboard.notify_approval_change();
