-- Live approval changes for the staff console (api/approval_events.py): every new,
-- decided or expired approval, and every outcome recorded on one, sends a NOTIFY on
-- `switchboard_approvals`. Postgres delivers it on commit to every session listening
-- on the database, so each API process hears the others' changes too.
CREATE FUNCTION switchboard.notify_approval_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(
        'switchboard_approvals',
        json_build_object('approval_id', NEW.approval_id, 'status', NEW.status)::text
    );
    RETURN NULL;
END;
$$;

CREATE TRIGGER approvals_notify
    AFTER INSERT OR UPDATE OF status, outcome ON switchboard.approvals
    FOR EACH ROW EXECUTE FUNCTION switchboard.notify_approval_change();
