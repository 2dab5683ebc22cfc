-- v4: operations (alerts sent once; scheduler events such as skipped or missed jobs)
CREATE TABLE IF NOT EXISTS alerts (
    alert_key VARCHAR PRIMARY KEY, kind VARCHAR, subject VARCHAR, body VARCHAR, created_at TIMESTAMPTZ,
    sent_at TIMESTAMPTZ, attempts INTEGER, last_error VARCHAR);
CREATE TABLE IF NOT EXISTS scheduler_events (
    event_at TIMESTAMPTZ, job VARCHAR, event VARCHAR, detail VARCHAR, PRIMARY KEY (event_at, job, event));
