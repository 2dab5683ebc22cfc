-- v16: the slot (the cron time) a digest or weekly event belongs to, so a restart knows the last slot handled
ALTER TABLE scheduler_events ADD COLUMN IF NOT EXISTS slot_at TIMESTAMPTZ;
